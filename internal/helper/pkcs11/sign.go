package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	p11 "github.com/miekg/pkcs11"
)

// digestInfoPrefix is the DER DigestInfo header (RFC 8017 §9.2, note 1) that
// goes before a digest signed with CKM_RSA_PKCS.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// ErrUnsupportedHash is returned for a hash other than SHA-256, SHA-384 or
// SHA-512, or for RSA-PSS, which CreateSession does not use.
var ErrUnsupportedHash = errors.New("pkcs11: unsupported hash or padding")

// signInput returns the mechanism and data for signing digest with a key of
// type keyType: CKM_RSA_PKCS over DigestInfo||digest for RSA (a
// crypto.Signer gets the digest, so the hashing CKM_SHA256_RSA_PKCS cannot be
// used), and CKM_ECDSA over the digest for EC (SoftHSM 2.6 has no
// CKM_ECDSA_SHA256 anyway). curveBytes is the byte length of the EC key's
// order; the digest is cut to it as ECDSA requires.
func signInput(keyType uint64, digest []byte, opts crypto.SignerOpts, curveBytes int) (uint, []byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return 0, nil, ErrUnsupportedHash
	}
	h := opts.HashFunc()
	prefix, ok := digestInfoPrefix[h]
	if !ok {
		return 0, nil, fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	if len(digest) != h.Size() {
		return 0, nil, fmt.Errorf("pkcs11: digest is %d bytes, want %d for %v", len(digest), h.Size(), h)
	}
	switch keyType {
	case p11.CKK_RSA:
		return p11.CKM_RSA_PKCS, append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...), nil
	case p11.CKK_EC:
		if curveBytes > 0 && len(digest) > curveBytes {
			digest = digest[:curveBytes]
		}
		return p11.CKM_ECDSA, digest, nil
	}
	return 0, nil, fmt.Errorf("pkcs11: unsupported key type %#x", keyType)
}

// ecdsaRawToDER converts a CKM_ECDSA signature (r||s, each half the same
// length) to the ASN.1 DER SEQUENCE{r, s} that crypto.Signer returns.
func ecdsaRawToDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("pkcs11: ECDSA signature of odd length %d", len(raw))
	}
	n := len(raw) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(raw[:n]),
		new(big.Int).SetBytes(raw[n:]),
	})
}

// verify checks a signature made by signOnce over digest (SHA-256) with pub.
func verify(pub crypto.PublicKey, digest, sig []byte) bool {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, digest, sig)
	}
	return false
}
