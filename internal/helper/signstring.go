package helper

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/roam-project/roam/pki"
)

// signTestPrefix starts the fixed message sign-string signs.
const signTestPrefix = "AWS Roles Anywhere Credential Helper Signing Test" + "1"

// SignStringMessage returns the fixed message `sign-string` signs, as the
// official helper builds it: the test prefix, then SHA-256("IAM RA" ||
// PUBKEY), PUBKEY being the uncompressed EC point or the PKCS#1 RSAPublicKey
// DER.
func SignStringMessage(pub crypto.PublicKey) ([]byte, error) {
	var pk []byte
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		pk = b
	case *rsa.PublicKey:
		pk = x509.MarshalPKCS1PublicKey(k)
	default:
		return nil, fmt.Errorf("unsupported key type %T", pub)
	}
	h := sha256.Sum256(append([]byte("IAM RA"), pk...))
	return append([]byte(signTestPrefix), h[:]...), nil
}

// ParseDigest maps --digest (SHA256, SHA384, SHA512; exact case, as the
// official helper) to a hash.
func ParseDigest(s string) (crypto.Hash, error) {
	switch s {
	case "SHA256":
		return crypto.SHA256, nil
	case "SHA384":
		return crypto.SHA384, nil
	case "SHA512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("invalid digest %q: use SHA256, SHA384 or SHA512", s)
}

// SignString signs the fixed test message with s and hash h and formats the
// signature: "json" (a JSON string of the hex, the default), "text" (bare
// hex) or "bin" (raw bytes). There is no trailing newline.
func SignString(s crypto.Signer, h crypto.Hash, format string) ([]byte, error) {
	msg, err := SignStringMessage(s.Public())
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(msg)
	sig, err := s.Sign(rand.Reader, hh.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	switch format {
	case "", "json":
		return json.Marshal(hex.EncodeToString(sig))
	case "text":
		return []byte(hex.EncodeToString(sig)), nil
	case "bin":
		return sig, nil
	}
	return nil, fmt.Errorf("invalid format %q: use json, text or bin", format)
}

// CertificateData is the read-certificate-data output, keys in the
// official helper's order.
type CertificateData struct {
	KeyType             string   `json:"keyType"`
	CertificateData     string   `json:"certificateData"`
	SerialNumber        string   `json:"serialNumber"`
	SupportedAlgorithms []string `json:"supportedAlgorithms"`
}

// NewCertificateData describes cert.
func NewCertificateData(cert *x509.Certificate) (CertificateData, error) {
	d := CertificateData{
		CertificateData: base64.StdEncoding.EncodeToString(cert.Raw),
		SerialNumber:    cert.SerialNumber.String(),
	}
	switch cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		d.KeyType = "EC"
		d.SupportedAlgorithms = []string{"ECSHA256", "ECSHA384", "ECSHA512"}
	case *rsa.PublicKey:
		d.KeyType = "RSA"
		d.SupportedAlgorithms = []string{"RSASHA256", "RSASHA384", "RSASHA512"}
	default:
		return d, fmt.Errorf("unsupported certificate key type %T", cert.PublicKey)
	}
	return d, nil
}

// ReadCertificateData reads the first certificate of a PEM or DER file (or
// PKCS#12 file, with the password options of o; the official helper rejects
// PKCS#12) and describes it.
func ReadCertificateData(o *SignerOptions) (CertificateData, error) {
	if o.Certificate == "" {
		return CertificateData{}, ErrNoCertificate
	}
	data, err := os.ReadFile(o.Certificate)
	if err != nil {
		return CertificateData{}, fmt.Errorf("read certificate: %w", err)
	}
	obj, err := pki.Decode(data)
	var certs []*x509.Certificate
	switch {
	case errors.Is(err, pki.ErrNeedsPassword):
		if _, certs, err = o.openPKCS12(data); err != nil {
			return CertificateData{}, err
		}
	case err != nil:
		return CertificateData{}, fmt.Errorf("certificate %s: %w", o.Certificate, err)
	default:
		certs = obj.Certificates
	}
	if len(certs) == 0 {
		return CertificateData{}, fmt.Errorf("certificate %s: no certificate", o.Certificate)
	}
	return NewCertificateData(certs[0])
}
