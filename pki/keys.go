package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
)

// KeyType names a supported private key algorithm and size.
type KeyType string

// The supported key types. ECP256 is the default.
const (
	ECP256  KeyType = "ec-p256"
	ECP384  KeyType = "ec-p384"
	RSA2048 KeyType = "rsa-2048"
	RSA3072 KeyType = "rsa-3072"
	RSA4096 KeyType = "rsa-4096"
)

// KeyTypes lists every supported key type, default first.
var KeyTypes = []KeyType{ECP256, ECP384, RSA2048, RSA3072, RSA4096}

// ParseKeyType returns the KeyType named s (case-insensitive).
func ParseKeyType(s string) (KeyType, error) {
	k := KeyType(strings.ToLower(strings.TrimSpace(s)))
	for _, t := range KeyTypes {
		if t == k {
			return t, nil
		}
	}
	names := make([]string, len(KeyTypes))
	for i, t := range KeyTypes {
		names[i] = string(t)
	}
	return "", fmt.Errorf("unknown key type %q (want one of %s)", s, strings.Join(names, ", "))
}

// GenerateKey makes a new private key of type t using randomness from r
// (crypto/rand.Reader if r is nil).
func GenerateKey(t KeyType, r io.Reader) (crypto.Signer, error) {
	if r == nil {
		r = rand.Reader
	}
	switch t {
	case ECP256:
		return ecdsa.GenerateKey(elliptic.P256(), r)
	case ECP384:
		return ecdsa.GenerateKey(elliptic.P384(), r)
	case RSA2048:
		return rsa.GenerateKey(r, 2048)
	case RSA3072:
		return rsa.GenerateKey(r, 3072)
	case RSA4096:
		return rsa.GenerateKey(r, 4096)
	}
	return nil, fmt.Errorf("unknown key type %q", string(t))
}

// SignatureAlgorithmFor returns the signature algorithm a CA holding pub
// signs with: SHA-384 for P-384 keys, SHA-256 otherwise.
func SignatureAlgorithmFor(pub crypto.PublicKey) x509.SignatureAlgorithm {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P384() {
			return x509.ECDSAWithSHA384
		}
		if k.Curve == elliptic.P521() {
			return x509.ECDSAWithSHA512
		}
		return x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	}
	return x509.UnknownSignatureAlgorithm
}

// DescribePublicKey returns a short description of pub such as
// "ECDSA P-256" or "RSA 2048".
func DescribePublicKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case nil:
		return "unknown"
	}
	return fmt.Sprintf("%T", pub)
}
