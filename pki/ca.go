package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"time"
)

// Default validity periods.
const (
	DefaultRootValidity         = 10 * Year
	DefaultIntermediateValidity = 5 * Year
	DefaultClientValidity       = 30 * Day
	DefaultServerValidity       = 90 * Day
)

// Backdate is how far before "now" new certificates start, to tolerate clock
// skew between the CA and the machines that check the certificate.
const Backdate = 5 * time.Minute

// CAOptions describes a CA certificate to create.
type CAOptions struct {
	Subject    pkix.Name
	Validity   time.Duration // DefaultRootValidity / DefaultIntermediateValidity if zero
	MaxPathLen int           // 0 means the CA may only issue leaves
	Now        time.Time     // time.Now() if zero
	Rand       io.Reader     // crypto/rand.Reader if nil
}

// Issuer is a CA certificate with its private key.
type Issuer struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewRootCA creates a self-signed root CA certificate for key.
func NewRootCA(key crypto.Signer, opts CAOptions) (*x509.Certificate, error) {
	if opts.Validity == 0 {
		opts.Validity = DefaultRootValidity
	}
	tmpl, err := caTemplate(key.Public(), opts)
	if err != nil {
		return nil, err
	}
	tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	return sign(tmpl, tmpl, key.Public(), key, opts.Rand)
}

// NewIntermediateCA creates a CA certificate for pub signed by parent. Its
// validity is clamped to the parent's; clamped reports whether that happened.
func (parent *Issuer) NewIntermediateCA(pub crypto.PublicKey, opts CAOptions) (cert *x509.Certificate, clamped bool, err error) {
	if opts.Validity == 0 {
		opts.Validity = DefaultIntermediateValidity
	}
	tmpl, err := caTemplate(pub, opts)
	if err != nil {
		return nil, false, err
	}
	clamped, err = parent.clamp(tmpl)
	if err != nil {
		return nil, false, err
	}
	cert, err = sign(tmpl, parent.Cert, pub, parent.Key, opts.Rand)
	return cert, clamped, err
}

func caTemplate(pub crypto.PublicKey, opts CAOptions) (*x509.Certificate, error) {
	if len(opts.Subject.ToRDNSequence()) == 0 {
		return nil, errors.New("CA subject must not be empty")
	}
	if opts.Validity < 0 {
		return nil, errors.New("validity must be positive")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	serial, err := RandomSerial(opts.Rand)
	if err != nil {
		return nil, err
	}
	skid, err := PublicKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               opts.Subject,
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(opts.Validity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            opts.MaxPathLen,
		MaxPathLenZero:        opts.MaxPathLen == 0,
		SubjectKeyId:          skid,
	}, nil
}

// clamp keeps tmpl's validity inside the issuer's. It reports whether
// notAfter was shortened, and fails if the issuer has already expired.
func (iss *Issuer) clamp(tmpl *x509.Certificate) (bool, error) {
	if !tmpl.NotBefore.Before(iss.Cert.NotAfter) {
		return false, fmt.Errorf("issuing CA %q expired on %s", iss.Cert.Subject.CommonName, iss.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if tmpl.NotBefore.Before(iss.Cert.NotBefore) {
		tmpl.NotBefore = iss.Cert.NotBefore
	}
	if tmpl.NotAfter.After(iss.Cert.NotAfter) {
		tmpl.NotAfter = iss.Cert.NotAfter
		return true, nil
	}
	return false, nil
}

// sign creates the certificate and parses it back.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer, r io.Reader) (*x509.Certificate, error) {
	if r == nil {
		r = rand.Reader
	}
	tmpl.SignatureAlgorithm = SignatureAlgorithmFor(key.Public())
	der, err := x509.CreateCertificate(r, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate: %w", err)
	}
	return cert, nil
}
