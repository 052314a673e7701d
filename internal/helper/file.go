package helper

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/roam-project/roam/pki"
)

// fileSigner is a key held in memory, read from a PEM key file, a combined
// PEM file or a PKCS#12 file.
type fileSigner struct {
	crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
}

func (s *fileSigner) Certificate() *x509.Certificate { return s.cert }
func (s *fileSigner) Chain() []*x509.Certificate     { return s.chain }
func (s *fileSigner) Close() error                   { return nil }

// NewSigner wraps an in-memory key and its certificate (and the
// intermediates to send) as a Signer. It fails if the key is not the
// certificate's.
func NewSigner(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate) (Signer, error) {
	s := &fileSigner{Signer: key, cert: cert, chain: chain}
	if err := CheckSigner(s); err != nil {
		return nil, err
	}
	return s, nil
}

// openFileSigner opens the file key source: --certificate as PEM/DER (with
// the key from --private-key, or in the same PEM file) or PKCS#12.
func openFileSigner(o *SignerOptions) (Signer, error) {
	if o.Certificate == "" {
		return nil, ErrNoCertificate
	}
	data, err := os.ReadFile(o.Certificate)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	var (
		key   crypto.Signer
		certs []*x509.Certificate
	)
	obj, derr := pki.Decode(data)
	switch {
	case derr == nil && obj.Kind == pki.KindCertificate && len(obj.Certificates) > 0:
		certs = obj.Certificates
		keyData, keyName := data, o.Certificate
		if o.PrivateKey != "" {
			if keyData, err = os.ReadFile(o.PrivateKey); err != nil {
				return nil, fmt.Errorf("read private key: %w", err)
			}
			keyName = o.PrivateKey
		} else if !hasPEMKey(data) {
			return nil, fmt.Errorf("no private key: give --private-key, or a certificate file that holds the key too")
		}
		if key, err = o.parseKeyPEM(keyData); err != nil {
			return nil, fmt.Errorf("private key %s: %w", keyName, err)
		}
	case errors.Is(derr, pki.ErrNeedsPassword) || (derr != nil && o.PrivateKey == ""):
		if o.PrivateKey != "" {
			return nil, errors.New("--private-key cannot be used with a PKCS#12 certificate file")
		}
		if key, certs, err = o.openPKCS12(data); err != nil {
			return nil, fmt.Errorf("certificate %s: %w", o.Certificate, err)
		}
	case derr != nil:
		return nil, fmt.Errorf("certificate %s: %w", o.Certificate, derr)
	default:
		return nil, fmt.Errorf("certificate %s: holds a %s, not a certificate", o.Certificate, obj.Kind)
	}
	chain := certs[1:]
	if o.Intermediates != "" {
		extra, err := LoadIntermediates(o.Intermediates)
		if err != nil {
			return nil, err
		}
		// --intermediates replaces the other certificates of a PEM bundle
		// given as --certificate, as the official helper sends only the file.
		if obj != nil && obj.Kind == pki.KindCertificate {
			chain = extra
		} else {
			chain = append(chain, extra...)
		}
	} else if obj != nil && obj.Kind == pki.KindCertificate {
		// The official helper sends no chain for a PEM certificate without
		// --intermediates, even when the file is a bundle.
		chain = nil
	}
	if len(chain) == 0 {
		chain = nil
	}
	return NewSigner(key, certs[0], chain)
}

// hasPEMKey reports whether data has a PEM private key block.
func hasPEMKey(data []byte) bool {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		switch b.Type {
		case "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			return true
		}
	}
}

// parseKeyPEM parses a PEM key, asking for the password only when the key is
// encrypted.
func (o *SignerOptions) parseKeyPEM(data []byte) (crypto.Signer, error) {
	pw, err := o.password(false)
	if err != nil {
		return nil, err
	}
	key, err := pki.ParsePrivateKeyPEM(data, pw)
	if errors.Is(err, pki.ErrPasswordRequired) && o.Prompt != nil {
		if pw, err = o.password(true); err != nil {
			return nil, err
		}
		key, err = pki.ParsePrivateKeyPEM(data, pw)
	}
	if errors.Is(err, pki.ErrPasswordRequired) {
		return nil, fmt.Errorf("%w: give --private-key-password-file or --pkcs8-password", err)
	}
	if errors.Is(err, pki.ErrDecrypt) {
		return nil, errors.New("incorrect private key password")
	}
	return key, err
}

// openPKCS12 opens a PKCS#12 file, first with the given password (or none),
// then, if that fails and a prompt is available, with a prompted one.
func (o *SignerOptions) openPKCS12(data []byte) (crypto.Signer, []*x509.Certificate, error) {
	pw, err := o.password(false)
	if err != nil {
		return nil, nil, err
	}
	obj, err := pki.DecodePKCS12(data, string(pw))
	if err != nil && len(pw) == 0 && o.Prompt != nil {
		if pw, err = o.password(true); err != nil {
			return nil, nil, err
		}
		obj, err = pki.DecodePKCS12(data, string(pw))
	}
	if err != nil {
		if len(pw) == 0 {
			return nil, nil, fmt.Errorf("%w (if it has a password, give --private-key-password-file)", err)
		}
		return nil, nil, err
	}
	key, ok := obj.Key.(crypto.Signer)
	if !ok || len(obj.Certificates) == 0 {
		return nil, nil, errors.New("PKCS#12 file has no usable key and certificate")
	}
	return key, obj.Certificates, nil
}

// password returns the key password: the first line of PasswordFile, else
// PKCS8Password, else (when prompt is true and a Prompt is set) the user's
// answer. It returns nil when there is none.
func (o *SignerOptions) password(prompt bool) ([]byte, error) {
	switch {
	case o.PasswordFile != "":
		return ReadPasswordFile(o.PasswordFile)
	case o.PKCS8Password != "":
		return []byte(o.PKCS8Password), nil
	case prompt && o.Prompt != nil:
		pw, err := o.Prompt(context.Background(), "private key password")
		if err != nil {
			return nil, fmt.Errorf("read private key password: %w", err)
		}
		return []byte(pw), nil
	}
	return nil, nil
}

// ReadPasswordFile returns the first line of the file at path, without its
// line ending.
func ReadPasswordFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 64<<10)).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// LoadIntermediates reads a PEM bundle of certificates (--intermediates).
// Every block must be a CERTIFICATE, as the official helper requires.
func LoadIntermediates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read intermediates: %w", err)
	}
	var certs []*x509.Certificate
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("intermediates %s: invalid certificate chain (only PEM CERTIFICATE blocks are allowed)", path)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("intermediates %s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("intermediates %s: no certificates", path)
	}
	return certs, nil
}
