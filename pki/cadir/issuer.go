package cadir

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/roam-project/roam/pki"
)

// Root returns the root CA certificate.
func (d *Dir) Root() (*x509.Certificate, error) {
	return d.readCert(RootCertFile)
}

// Chain returns the certificates between a leaf and the root, issuing CA
// first: the intermediate, or nothing when the root issues directly.
func (d *Dir) Chain() ([]*x509.Certificate, error) {
	if !d.Config.HasIntermediate {
		return nil, nil
	}
	c, err := d.readCert(IntermediateCertFile)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{c}, nil
}

// IssuerKeyEncrypted reports whether the issuing CA's key file is encrypted,
// so a caller knows whether to ask for a password.
func (d *Dir) IssuerKeyEncrypted() (bool, error) {
	_, keyFile := d.issuerFiles()
	data, err := os.ReadFile(d.file(keyFile))
	if err != nil {
		return false, fmt.Errorf("read CA key: %w", err)
	}
	return pki.IsEncryptedKeyPEM(data), nil
}

func (d *Dir) issuerFiles() (cert, key string) {
	if d.Config.HasIntermediate {
		return IntermediateCertFile, IntermediateKeyFile
	}
	return RootCertFile, RootKeyFile
}

// Issuer loads the issuing CA (the intermediate if there is one, else the
// root) and decrypts its key with password.
func (d *Dir) Issuer(ctx context.Context, password []byte) (*pki.Issuer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	certFile, keyFile := d.issuerFiles()
	cert, err := d.readCert(certFile)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(d.file(keyFile))
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	key, err := pki.ParsePrivateKeyPEM(data, password)
	switch {
	case errors.Is(err, pki.ErrPasswordRequired):
		return nil, fmt.Errorf("CA key %s is encrypted: give --password-file or set ROAM_CA_PASSWORD", keyFile)
	case errors.Is(err, pki.ErrDecrypt):
		return nil, fmt.Errorf("cannot decrypt CA key %s: wrong password or corrupted key file", keyFile)
	case err != nil:
		return nil, fmt.Errorf("read CA key %s: %w", keyFile, err)
	}
	if !pki.KeyMatchesCertificate(key, cert) {
		return nil, fmt.Errorf("CA key %s does not match certificate %s", keyFile, certFile)
	}
	return &pki.Issuer{Cert: cert, Key: key}, nil
}

func (d *Dir) readCert(name string) (*x509.Certificate, error) {
	data, err := os.ReadFile(d.file(name))
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	certs, err := pki.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return certs[0], nil
}
