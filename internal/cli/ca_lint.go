package cli

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/pki/rfclint"
	"github.com/spf13/cobra"
)

// lintReport is the --json output of `roam ca lint`.
type lintReport struct {
	Acceptable   bool              `json:"acceptable"`
	ChainChecked bool              `json:"chain_checked"`
	Problems     []pki.Problem     `json:"problems"`
	Warnings     []rfclint.Finding `json:"warnings"`
}

func newCALintCommand(env *Env) *cobra.Command {
	var (
		chainFile, anchorFile string
		asJSON                bool
	)
	cmd := &cobra.Command{
		Use:   "lint CERT",
		Short: "Say whether Roles Anywhere would accept a certificate, and why not",
		Long: `Check CERT against IAM Roles Anywhere's rules for a CreateSession signing
certificate and list every rule it breaks: X.509 v3, basicConstraints
present with CA:FALSE, keyUsage with digitalSignature, SHA-256 or stronger
signature, RSA >= 2048 or ECDSA P-256/P-384 key, non-empty subject, within
its validity period, and (with --anchor) a chain to the trust anchor through
the certificates in --chain (and any after the first in CERT).

zlint's RFC 5280 findings are listed as warnings; they do not change the
verdict. Exit status: 0 acceptable, 1 not acceptable, 2 usage or I/O error.`,
		Example: `  roam ca lint client.pem --anchor roam-ca/root.pem --chain client.chain.pem
  roam ca lint client.pem --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			certs, err := readCertificates(args[0])
			if err != nil {
				return err
			}
			leaf, pool := certs[0], certs[1:]
			if chainFile != "" {
				more, err := readCertificates(chainFile)
				if err != nil {
					return err
				}
				pool = append(pool, more...)
			}
			var anchors []*x509.Certificate
			if anchorFile != "" {
				if anchors, err = readCertificates(anchorFile); err != nil {
					return err
				}
			}
			rep := lintCertificate(leaf, pool, anchors, time.Now())
			if asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printLintReport(env.Stdout, args[0], rep)
			}
			if !rep.Acceptable {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&chainFile, "chain", "", "intermediate certificates (PEM), as sent in X-Amz-X509-Chain")
	cmd.Flags().StringVar(&anchorFile, "anchor", "", "trust anchor certificate(s) (PEM); without it the chain is not checked")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"acceptable":…,"problems":[…],"warnings":[…]}`)
	return cmd
}

// lintCertificate applies the Roles Anywhere rules and zlint.
func lintCertificate(leaf *x509.Certificate, pool, anchors []*x509.Certificate, now time.Time) lintReport {
	rep := lintReport{Problems: pki.CheckLeaf(leaf, now), Warnings: []rfclint.Finding{}}
	if len(anchors) > 0 {
		rep.ChainChecked = true
		if p := pki.CheckChain(leaf, pool, anchors, now); p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	if rep.Problems == nil {
		rep.Problems = []pki.Problem{}
	}
	rep.Acceptable = len(rep.Problems) == 0
	if ws, err := rfclint.Lint(leaf); err == nil {
		rep.Warnings = append(rep.Warnings, ws...)
	} else {
		rep.Warnings = append(rep.Warnings, rfclint.Finding{Lint: "zlint", Level: "warn", Message: err.Error()})
	}
	return rep
}

func printLintReport(w io.Writer, name string, rep lintReport) {
	if rep.Acceptable {
		fmt.Fprintf(w, "%s: ACCEPTABLE as a Roles Anywhere signing certificate\n", name)
	} else {
		fmt.Fprintf(w, "%s: NOT ACCEPTABLE as a Roles Anywhere signing certificate (%d problem(s))\n", name, len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  - %s: %s\n", p.Rule, p.Message)
		}
	}
	if !rep.ChainChecked {
		fmt.Fprintln(w, "  note: chain not checked (give --anchor CA.pem)")
	}
	if len(rep.Warnings) > 0 {
		fmt.Fprintln(w, "Warnings (zlint; they do not affect the verdict):")
		for _, f := range rep.Warnings {
			fmt.Fprintf(w, "  - [%s] %s: %s\n", f.Level, f.Lint, f.Message)
		}
	}
}
