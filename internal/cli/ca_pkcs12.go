package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/pki/cadir"
	"github.com/spf13/cobra"
)

func newCAExportPKCS12Command(env *Env) *cobra.Command {
	var (
		certFile, keyFile, chainFile, out string
		passwordFile, keyPasswordFile     string
		legacy, noPassword, force         bool
	)
	cmd := &cobra.Command{
		Use:   "export-pkcs12",
		Short: "Bundle a certificate, its key and chain into a PKCS#12 (.p12/.pfx) file",
		Long: `Write a PKCS#12 file holding the certificate, its private key and the chain.
By default it is encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and
MACed with HMAC-SHA-256, which OpenSSL 1.1.1+, Java 12+ and Windows Server
2019+ read. --legacy uses 3DES and an SHA-1 MAC for older software.`,
		Example: `  roam ca export-pkcs12 --cert app.pem --key app.key --chain app.chain.pem --out app.p12 --password-file p12.pw`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if certFile == "" || keyFile == "" || out == "" {
				return errors.New("--cert, --key and --out are required")
			}
			if noPassword == (passwordFile != "") {
				return errors.New("give exactly one of --password-file and --insecure-no-password")
			}
			if err := cadir.CheckWritable(force, out); err != nil {
				return err
			}
			certs, err := readCertificates(certFile)
			if err != nil {
				return err
			}
			chain := certs[1:]
			if chainFile != "" {
				more, err := readCertificates(chainFile)
				if err != nil {
					return err
				}
				chain = append(chain, more...)
			}
			keyData, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("read key: %w", err)
			}
			var keyPassword []byte
			if pki.IsEncryptedKeyPEM(keyData) {
				keyPassword, err = env.readPassword(passwordRequest{what: "private key", file: keyPasswordFile})
				if err != nil {
					return fmt.Errorf("%s is encrypted: %w", keyFile, err)
				}
			}
			key, err := pki.ParsePrivateKeyPEM(keyData, keyPassword)
			if err != nil {
				return fmt.Errorf("%s: %w", keyFile, err)
			}
			var password string
			if !noPassword {
				pw, err := readPasswordFile(passwordFile)
				if err != nil {
					return err
				}
				password = string(pw)
			}
			p12, err := pki.EncodePKCS12(key, certs[0], chain, password, legacy)
			if err != nil {
				return err
			}
			if err := cadir.WriteFile(out, p12, 0o600, force); err != nil {
				return err
			}
			kind := "AES-256-CBC/PBKDF2-SHA256, HMAC-SHA256 MAC"
			if legacy {
				kind = "legacy 3DES, HMAC-SHA1 MAC"
			}
			fmt.Fprintf(env.Stdout, "Wrote %s (%s; %d chain certificate(s))\n", out, kind, len(chain))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&certFile, "cert", "", "certificate (PEM; further certificates in it are added to the chain)")
	f.StringVar(&keyFile, "key", "", "private key (PEM)")
	f.StringVar(&keyPasswordFile, "key-password-file", "", "password of an encrypted --key")
	f.StringVar(&chainFile, "chain", "", "intermediate certificates (PEM)")
	f.StringVar(&out, "out", "", "output file")
	f.StringVar(&passwordFile, "password-file", "", "file holding the PKCS#12 password")
	f.BoolVar(&noPassword, "insecure-no-password", false, "write the PKCS#12 with an empty password")
	f.BoolVar(&legacy, "legacy", false, "use 3DES and SHA-1 (for old software) instead of AES-256 and SHA-256")
	f.BoolVar(&force, "force", false, "overwrite --out if it exists")
	return cmd
}

// readCertificates reads every certificate in a PEM (or DER) file.
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	certs, err := pki.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}
