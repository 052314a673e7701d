package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/pki/cadir"
	"github.com/spf13/cobra"
)

func newCARevokeCommand(env *Env) *cobra.Command {
	var (
		df             caDirFlags
		serial, reason string
	)
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Mark an issued certificate as revoked",
		Long: `Mark a certificate issued by this CA as revoked. The serial may be decimal,
0x-prefixed hex, or colon-separated hex as openssl and roam ca inspect print
it. Publish the revocation with roam ca crl.`,
		Example: `  roam ca revoke --serial 5f:1c:...:9a --reason keyCompromise
  roam ca revoke --serial 0x5f1c...9a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := pki.ParseSerial(serial)
			if err != nil {
				return fmt.Errorf("--serial: %w", err)
			}
			r, err := pki.ParseRevocationReason(reason)
			if err != nil {
				return fmt.Errorf("--reason: %w", err)
			}
			dir, err := cadir.Open(cmd.Context(), df.dir)
			if err != nil {
				return err
			}
			rec, err := dir.Revoke(cmd.Context(), n, r, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Revoked %s (%s), reason %s. Run `roam ca crl` to publish.\n", pki.FormatSerialHex(n), rec.Subject, r)
			return nil
		},
	}
	df.register(cmd, false)
	cmd.Flags().StringVar(&serial, "serial", "", "serial number of the certificate (decimal, 0xHEX or hex with colons)")
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold or unspecified")
	_ = cmd.MarkFlagRequired("serial")
	return cmd
}

func newCACRLCommand(env *Env) *cobra.Command {
	var (
		df              caDirFlags
		out, nextUpdate string
		force           bool
	)
	cmd := &cobra.Command{
		Use:   "crl",
		Short: "Publish a CRL of revoked certificates",
		Long: `Sign a v2 CRL with the issuing CA (the intermediate if there is one) listing
every revoked certificate with its reason, with an incrementing CRL number
and the authority key identifier. Import it with
aws rolesanywhere import-crl or roam's CRL API.`,
		Example: `  roam ca crl --out crl.pem --next-update 7d --force`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			next, err := parseValidityFlag("next-update", nextUpdate, 7*pki.Day)
			if err != nil {
				return err
			}
			dir, err := cadir.Open(ctx, df.dir)
			if err != nil {
				return err
			}
			if err := cadir.CheckWritable(force, out); err != nil {
				return err
			}
			iss, err := loadIssuer(ctx, env, dir, df.passwordFile)
			if err != nil {
				return err
			}
			// Take the CRL number (and with it the directory lock) before
			// reading the revocations, so no revoke can land between the
			// two; sign before the counter moves so a failure leaves no gap.
			num, err := dir.PeekCRLNumber(ctx)
			if err != nil {
				return err
			}
			defer dir.ReleaseCRLNumber()
			revoked, err := dir.Revoked(ctx)
			if err != nil {
				return err
			}
			der, err := iss.CreateCRL(revoked, pki.CRLOptions{Number: num, NextUpdate: next})
			if err != nil {
				return err
			}
			if err := cadir.WriteFile(out, pki.EncodeCRLPEM(der), 0o644, force); err != nil {
				return err
			}
			if err := dir.CommitCRLNumber(ctx, num); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Wrote CRL number %s with %d revoked certificate(s) to %s (next update %s)\n",
				num, len(revoked), out, time.Now().Add(next).UTC().Format(time.RFC3339))
			return nil
		},
	}
	df.register(cmd, true)
	cmd.Flags().StringVar(&out, "out", "", "output file (PEM)")
	cmd.Flags().StringVar(&nextUpdate, "next-update", "7d", "time until nextUpdate")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite --out if it exists")
	return cmd
}

func newCAListCommand(env *Env) *cobra.Command {
	var (
		df     caDirFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List issued certificates and their status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cadir.Open(cmd.Context(), df.dir)
			if err != nil {
				return err
			}
			recs, err := dir.Records(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			for i := range recs {
				recs[i].Status = recs[i].StatusAt(now)
			}
			if asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(recs)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tSTATUS\tPROFILE\tNOT AFTER\tSUBJECT\tSANS")
			for _, r := range recs {
				status := r.Status
				if r.Reason != "" {
					status += " (" + r.Reason + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", r.Serial, status, r.Profile, r.NotAfter.Format(time.DateOnly), r.Subject, r.SANs)
			}
			return tw.Flush()
		},
	}
	df.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
