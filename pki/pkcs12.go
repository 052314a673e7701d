package pki

import (
	"crypto"
	"crypto/x509"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// EncodePKCS12 bundles key, cert and the chain certificates into a PKCS#12
// file protected by password. By default it uses PBES2 (PBKDF2-HMAC-SHA256,
// AES-256-CBC) with an HMAC-SHA-256 MAC, which OpenSSL 1.1.1+ and Java 12+
// read; legacy selects 3DES and an HMAC-SHA-1 MAC for older software.
func EncodePKCS12(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string, legacy bool) ([]byte, error) {
	if !KeyMatchesCertificate(key, cert) {
		return nil, fmt.Errorf("private key does not match the certificate's public key")
	}
	enc := pkcs12.Modern
	if legacy {
		enc = pkcs12.LegacyDES
	}
	der, err := enc.Encode(key, cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#12: %w", err)
	}
	return der, nil
}
