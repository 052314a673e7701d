package cli

import (
	"context"
	"crypto"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/pki/cadir"
	"github.com/spf13/cobra"
)

type caIssueFlags struct {
	df              caDirFlags
	profile, cn     string
	sans, ous, orgs []string
	validity        string
	keyType         string
	csr             string
	out             string
	keyPasswordFile string
	force           bool
}

func newCAIssueCommand(env *Env) *cobra.Command {
	var fl caIssueFlags
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a client or server certificate",
		Long: `Issue a certificate from the CA in --dir. Without --csr a new key is made and
written to PREFIX.key (PKCS#8, unencrypted unless --key-password-file is
given, mode 0600); with --csr the request's signature is checked and its
public key certified (a CSR asking for CA:TRUE is refused).

Writes PREFIX.pem (the certificate) and, when the CA has an intermediate,
PREFIX.chain.pem (the intermediate, for aws_signing_helper --intermediates
or X-Amz-X509-Chain). When the root issues directly no chain file is
written.

Client certificates meet every Roles Anywhere rule (v3, CA:FALSE,
digitalSignature, SHA-256+, random 128-bit serial) and carry clientAuth;
server certificates carry serverAuth and the SANs (the CN when none given).
The validity never runs past the issuing CA's.`,
		Example: `  roam ca issue --profile client --cn workload-1 --out workload-1
  roam ca issue --profile client --cn build --san uri:spiffe://example.org/ci --validity 24h --out build
  roam ca issue --profile server --cn roam.example.com --san dns:roam.example.com --san ip:10.0.0.5 --out server
  roam ca issue --profile client --csr app.csr --out app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCAIssue(cmd.Context(), env, &fl)
		},
	}
	fl.df.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&fl.profile, "profile", "client", "certificate profile: client or server")
	f.StringVar(&fl.cn, "cn", "", "subject common name (required unless the CSR has one)")
	f.StringArrayVar(&fl.sans, "san", nil, "subject alternative name: dns:NAME, ip:ADDR, email:ADDR, uri:URI (repeatable)")
	f.StringArrayVar(&fl.ous, "ou", nil, "subject organizational unit (repeatable)")
	f.StringArrayVar(&fl.orgs, "o", nil, "subject organization (repeatable)")
	f.StringVar(&fl.validity, "validity", "", "validity (default 30d client, 90d server; Go duration or Nd / Ny)")
	f.StringVar(&fl.keyType, "key-type", string(pki.ECP256), "key type for the new key: ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096")
	f.StringVar(&fl.csr, "csr", "", "sign this CSR (PEM or DER) instead of making a key")
	f.StringVar(&fl.out, "out", "", "output prefix: writes PREFIX.pem, PREFIX.key, PREFIX.chain.pem (required)")
	f.StringVar(&fl.keyPasswordFile, "key-password-file", "", "encrypt PREFIX.key with the password in this file")
	f.BoolVar(&fl.force, "force", false, "overwrite existing output files")
	return cmd
}

func runCAIssue(ctx context.Context, env *Env, fl *caIssueFlags) error {
	// Check every input before anything is read from the CA or written.
	if fl.out == "" {
		return errors.New("--out PREFIX is required")
	}
	profile, err := pki.ParseProfile(fl.profile)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	kt, err := pki.ParseKeyType(fl.keyType)
	if err != nil {
		return fmt.Errorf("--key-type: %w", err)
	}
	validity, err := parseValidityFlag("validity", fl.validity, profile.DefaultValidity())
	if err != nil {
		return err
	}
	sans, err := pki.ParseSANs(fl.sans)
	if err != nil {
		return fmt.Errorf("--san: %w", err)
	}
	subject := pkix.Name{CommonName: fl.cn, OrganizationalUnit: fl.ous, Organization: fl.orgs}
	var pub crypto.PublicKey
	if fl.csr != "" {
		if fl.keyPasswordFile != "" {
			return errors.New("--key-password-file makes no sense with --csr (no key is generated)")
		}
		data, err := os.ReadFile(fl.csr)
		if err != nil {
			return fmt.Errorf("read CSR: %w", err)
		}
		csr, err := pki.ParseCSR(data)
		if err != nil {
			return fmt.Errorf("%s: %w", fl.csr, err)
		}
		pub = csr.PublicKey
		if fl.cn == "" {
			subject = csr.Subject
			if len(fl.ous) > 0 {
				subject.OrganizationalUnit = fl.ous
			}
			if len(fl.orgs) > 0 {
				subject.Organization = fl.orgs
			}
		}
		sans = pki.CSRSANs(csr).Merge(sans)
	}
	if subject.CommonName == "" {
		return errors.New("--cn is required (Roles Anywhere rejects certificates with an empty subject)")
	}
	var keyPassword []byte
	if fl.keyPasswordFile != "" {
		if keyPassword, err = readPasswordFile(fl.keyPasswordFile); err != nil {
			return err
		}
	}

	dir, err := cadir.Open(ctx, fl.df.dir)
	if err != nil {
		return err
	}
	chain, err := dir.Chain()
	if err != nil {
		return err
	}
	certPath, keyPath, chainPath := fl.out+".pem", fl.out+".key", fl.out+".chain.pem"
	outputs := []string{certPath}
	if pub == nil {
		outputs = append(outputs, keyPath)
	}
	if len(chain) > 0 {
		outputs = append(outputs, chainPath)
	}
	if err := cadir.CheckWritable(fl.force, outputs...); err != nil {
		return err
	}
	iss, err := loadIssuer(ctx, env, dir, fl.df.passwordFile)
	if err != nil {
		return err
	}

	var keyPEM []byte
	if pub == nil {
		key, err := pki.GenerateKey(kt, nil)
		if err != nil {
			return fmt.Errorf("generate key: %w", err)
		}
		pub = key.Public()
		if keyPEM, err = pki.MarshalPrivateKeyPEM(key, keyPassword, 0); err != nil {
			return err
		}
	}
	issued, err := iss.Issue(pki.LeafRequest{Profile: profile, Subject: subject, SANs: sans, PublicKey: pub, Validity: validity})
	if err != nil {
		return fmt.Errorf("issue certificate: %w", err)
	}
	cert := issued.Cert
	if issued.Clamped {
		fmt.Fprintf(env.Stderr, "warning: requested validity %s runs past the issuing CA's notAfter; certificate clamped to expire %s\n",
			fl.validityOr(validity), cert.NotAfter.Format(time.RFC3339))
	}
	if err := dir.Record(ctx, cert, profile); err != nil {
		return fmt.Errorf("record certificate in index: %w", err)
	}
	if keyPEM != nil {
		if err := cadir.WriteFile(keyPath, keyPEM, 0o600, fl.force); err != nil {
			return err
		}
	}
	if err := cadir.WriteFile(certPath, pki.EncodeCertificatesPEM(cert), 0o644, fl.force); err != nil {
		return err
	}
	if len(chain) > 0 {
		if err := cadir.WriteFile(chainPath, pki.EncodeCertificatesPEM(chain...), 0o644, fl.force); err != nil {
			return err
		}
	}
	w := env.Stdout
	fmt.Fprintf(w, "Issued %s certificate %s\n", profile, cert.Subject)
	fmt.Fprintf(w, "  serial:  %s (%s)\n", pki.FormatSerialHex(cert.SerialNumber), cert.SerialNumber)
	fmt.Fprintf(w, "  expires: %s\n", cert.NotAfter.Format(time.RFC3339))
	if s := pki.CertificateSANs(cert).Strings(); len(s) > 0 {
		fmt.Fprintf(w, "  SANs:    %v\n", s)
	}
	fmt.Fprintf(w, "  wrote:   %s", certPath)
	if keyPEM != nil {
		fmt.Fprintf(w, ", %s", keyPath)
	}
	if len(chain) > 0 {
		fmt.Fprintf(w, ", %s", chainPath)
	}
	fmt.Fprintln(w)
	return nil
}

func (fl *caIssueFlags) validityOr(d time.Duration) string {
	if fl.validity != "" {
		return fl.validity
	}
	return d.String()
}

// loadIssuer opens the issuing CA, asking for the password only when its
// key is encrypted.
func loadIssuer(ctx context.Context, env *Env, dir *cadir.Dir, passwordFile string) (*pki.Issuer, error) {
	enc, err := dir.IssuerKeyEncrypted()
	if err != nil {
		return nil, err
	}
	var password []byte
	if enc {
		password, err = env.readPassword(passwordRequest{what: "CA key", file: passwordFile, envVar: caPasswordEnv})
		if err != nil {
			return nil, err
		}
	}
	return dir.Issuer(ctx, password)
}
