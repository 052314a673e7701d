package cli

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/roam-project/roam/pki"
	"github.com/spf13/cobra"
)

func newCAInspectCommand(env *Env) *cobra.Command {
	var (
		passwordFile string
		noPassword   bool
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Describe a certificate, CSR, CRL or PKCS#12 file",
		Long: `Detect what FILE holds (PEM or DER certificate, CSR or CRL, or a PKCS#12
bundle) and print a readable summary. Certificates get the Roles Anywhere
lint verdict. A PKCS#12 file needs --password-file or --insecure-no-password.`,
		Example: `  roam ca inspect client.pem
  roam ca inspect crl.pem
  roam ca inspect app.p12 --password-file p12.pw`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read %s: %w", args[0], err)
			}
			obj, err := pki.Decode(data)
			if errors.Is(err, pki.ErrNeedsPassword) {
				var password []byte
				switch {
				case passwordFile != "":
					if password, err = readPasswordFile(passwordFile); err != nil {
						return err
					}
				case !noPassword:
					return fmt.Errorf("%s is a PKCS#12 file: give --password-file or --insecure-no-password", args[0])
				}
				obj, err = pki.DecodePKCS12(data, string(password))
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			printObject(env.Stdout, obj, time.Now())
			return nil
		},
	}
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "PKCS#12 password file")
	cmd.Flags().BoolVar(&noPassword, "insecure-no-password", false, "open a PKCS#12 file with an empty password")
	return cmd
}

func printObject(w io.Writer, obj *pki.Object, now time.Time) {
	switch obj.Kind {
	case pki.KindCertificate:
		for i, c := range obj.Certificates {
			if i > 0 {
				fmt.Fprintln(w)
			}
			printCertificate(w, c, now)
		}
	case pki.KindCSR:
		printCSR(w, obj.CSR)
	case pki.KindCRL:
		printCRL(w, obj.CRL, now)
	case pki.KindPKCS12:
		fmt.Fprintf(w, "PKCS#12 bundle: private key %s, %d certificate(s)\n", describeKey(obj.Key), len(obj.Certificates))
		if len(obj.Certificates) > 0 {
			if s, ok := obj.Key.(crypto.Signer); ok {
				fmt.Fprintf(w, "  key matches certificate: %v\n", pki.KeyMatchesCertificate(s, obj.Certificates[0]))
			}
		}
		for _, c := range obj.Certificates {
			fmt.Fprintln(w)
			printCertificate(w, c, now)
		}
	}
}

func describeKey(k any) string {
	if s, ok := k.(crypto.Signer); ok {
		return pki.DescribePublicKey(s.Public())
	}
	return "none"
}

func printCertificate(w io.Writer, c *x509.Certificate, now time.Time) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-22s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w, "Certificate")
	line("Subject", "%s", nameOrEmpty(c.Subject.String()))
	line("Issuer", "%s", nameOrEmpty(c.Issuer.String()))
	line("Version", "v%d", c.Version)
	line("Serial", "%s (decimal %s)", pki.FormatSerialHex(c.SerialNumber), c.SerialNumber)
	line("Not before", "%s", c.NotBefore.UTC().Format(time.RFC3339))
	line("Not after", "%s (%s)", c.NotAfter.UTC().Format(time.RFC3339), timeLeft(c.NotAfter, now))
	line("Public key", "%s", pki.DescribePublicKey(c.PublicKey))
	line("Signature", "%s", c.SignatureAlgorithm)
	if c.BasicConstraintsValid {
		bc := "CA:FALSE"
		if c.IsCA {
			bc = "CA:TRUE"
			if c.MaxPathLen > 0 || c.MaxPathLenZero {
				bc += fmt.Sprintf(", pathlen:%d", c.MaxPathLen)
			}
		}
		line("Basic constraints", "%s", bc)
	} else {
		line("Basic constraints", "(absent)")
	}
	line("Key usage", "%s", listOrAbsent(pki.KeyUsageNames(c.KeyUsage)))
	line("Extended key usage", "%s", listOrAbsent(pki.ExtKeyUsageNames(c)))
	line("SANs", "%s", listOrAbsent(pki.CertificateSANs(c).Strings()))
	line("Subject key ID", "%s", hexOrAbsent(c.SubjectKeyId))
	line("Authority key ID", "%s", hexOrAbsent(c.AuthorityKeyId))
	sum := sha256.Sum256(c.Raw)
	line("SHA-256 fingerprint", "%s", colonHex(sum[:]))
	if c.IsCA {
		line("Roles Anywhere", "CA certificate (usable as a trust anchor or intermediate, not as a signing certificate)")
		return
	}
	ps := pki.CheckLeaf(c, now)
	if len(ps) == 0 {
		line("Roles Anywhere", "acceptable signing certificate (chain not checked; see roam ca lint --anchor)")
		return
	}
	line("Roles Anywhere", "NOT acceptable:")
	for _, p := range ps {
		fmt.Fprintf(w, "    - %s\n", p)
	}
}

func printCSR(w io.Writer, csr *x509.CertificateRequest) {
	fmt.Fprintln(w, "Certificate request")
	fmt.Fprintf(w, "  %-22s %s\n", "Subject:", nameOrEmpty(csr.Subject.String()))
	fmt.Fprintf(w, "  %-22s %s\n", "Public key:", pki.DescribePublicKey(csr.PublicKey))
	fmt.Fprintf(w, "  %-22s %s\n", "Signature:", csr.SignatureAlgorithm)
	sig := "valid"
	if err := csr.CheckSignature(); err != nil {
		sig = "INVALID: " + err.Error()
	}
	fmt.Fprintf(w, "  %-22s %s\n", "Self-signature:", sig)
	fmt.Fprintf(w, "  %-22s %s\n", "SANs:", listOrAbsent(pki.CSRSANs(csr).Strings()))
	if _, err := pki.ParseCSR(csr.Raw); err != nil {
		fmt.Fprintf(w, "  %-22s %v\n", "roam ca issue:", err)
	}
}

func printCRL(w io.Writer, crl *x509.RevocationList, now time.Time) {
	fmt.Fprintln(w, "Certificate revocation list")
	fmt.Fprintf(w, "  %-22s %s\n", "Issuer:", crl.Issuer)
	num := "(absent)"
	if crl.Number != nil {
		num = crl.Number.String()
	}
	fmt.Fprintf(w, "  %-22s %s\n", "CRL number:", num)
	fmt.Fprintf(w, "  %-22s %s\n", "This update:", crl.ThisUpdate.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  %-22s %s (%s)\n", "Next update:", crl.NextUpdate.UTC().Format(time.RFC3339), timeLeft(crl.NextUpdate, now))
	fmt.Fprintf(w, "  %-22s %s\n", "Authority key ID:", hexOrAbsent(crl.AuthorityKeyId))
	fmt.Fprintf(w, "  %-22s %d\n", "Revoked:", len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		fmt.Fprintf(w, "    %s  revoked %s  reason %s\n", pki.FormatSerialHex(e.SerialNumber), e.RevocationTime.UTC().Format(time.RFC3339), pki.RevocationReason(e.ReasonCode))
	}
}

func timeLeft(t, now time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return "expired " + roughDuration(-d) + " ago"
	}
	return roughDuration(d) + " left"
}

func roughDuration(d time.Duration) string {
	switch {
	case d >= 2*pki.Day:
		return fmt.Sprintf("%d days", d/pki.Day)
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

func nameOrEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

func listOrAbsent(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func hexOrAbsent(b []byte) string {
	if len(b) == 0 {
		return "(absent)"
	}
	return colonHex(b)
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}
