package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/youmark/pkcs8"
)

// DefaultKDFIterations is the PBKDF2-HMAC-SHA256 iteration count used when
// encrypting private keys. It trades brute-force cost against the time every
// `roam ca issue` spends opening the CA key: 200,000 iterations take about
// 35 ms on a 2020s x86-64 core with SHA-NI (OWASP's 2023 figure of 600,000
// takes over 100 ms). Key files record their own count, so raising this later
// keeps old files readable.
const DefaultKDFIterations = 200_000

// maxKDFIterations bounds the iteration count accepted from a key file so a
// corrupted or hostile file cannot stall the process.
const maxKDFIterations = 10_000_000

// PEM block types of private key files.
const (
	pemPrivateKey          = "PRIVATE KEY"
	pemEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY"
)

// ErrPasswordRequired is returned by ParsePrivateKeyPEM when the key is
// encrypted and no password was given.
var ErrPasswordRequired = errors.New("key is encrypted and no password was given")

// ErrDecrypt is returned when an encrypted key cannot be opened: the password
// is wrong or the file is corrupted (the two cannot be told apart).
var ErrDecrypt = errors.New("wrong password or corrupted key")

// MarshalPrivateKeyPEM encodes key as PKCS#8 PEM. With a non-empty password
// the key is encrypted with PBES2 (PBKDF2-HMAC-SHA256, iterations as given or
// DefaultKDFIterations when iterations <= 0, 16-byte salt) and AES-256-CBC,
// which `openssl pkey -passin` reads.
func MarshalPrivateKeyPEM(key crypto.Signer, password []byte, iterations int) ([]byte, error) {
	if len(password) == 0 {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("marshal private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
	}
	if iterations <= 0 {
		iterations = DefaultKDFIterations
	}
	opts := &pkcs8.Opts{
		Cipher: pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{
			SaltSize:       16,
			IterationCount: iterations,
			HMACHash:       crypto.SHA256,
		},
	}
	der, err := pkcs8.MarshalPrivateKey(key, password, opts)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedPrivateKey, Bytes: der}), nil
}

// IsEncryptedKeyPEM reports whether data holds an encrypted PKCS#8 key.
func IsEncryptedKeyPEM(data []byte) bool {
	b, _ := pem.Decode(data)
	return b != nil && b.Type == pemEncryptedPrivateKey
}

// ParsePrivateKeyPEM decodes the first private key in data: PKCS#8
// (encrypted with password, or plain), PKCS#1 RSA or SEC 1 EC. Errors never
// contain key material or the password.
func ParsePrivateKeyPEM(data, password []byte) (crypto.Signer, error) {
	var block *pem.Block
	rest := data
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key block found (file truncated or not a key)")
		}
		switch block.Type {
		case pemPrivateKey, pemEncryptedPrivateKey, "RSA PRIVATE KEY", "EC PRIVATE KEY":
		default:
			continue
		}
		break
	}
	if _, ok := block.Headers["DEK-Info"]; ok {
		return nil, errors.New("legacy PEM encryption (DEK-Info) is not supported; convert with `openssl pkcs8 -topk8`")
	}
	var (
		k   any
		err error
	)
	switch block.Type {
	case pemEncryptedPrivateKey:
		if len(password) == 0 {
			return nil, ErrPasswordRequired
		}
		if err := checkKDFIterations(block.Bytes); err != nil {
			return nil, err
		}
		k, err = pkcs8.ParsePKCS8PrivateKey(block.Bytes, password)
		if err != nil {
			return nil, ErrDecrypt
		}
	case pemPrivateKey:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, errors.New("malformed private key (file corrupted or truncated)")
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T (want RSA or ECDSA)", k)
}

// KeyMatchesCertificate reports whether key is the private half of cert's
// public key.
func KeyMatchesCertificate(key crypto.Signer, cert *x509.Certificate) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	return ok && pub.Equal(cert.PublicKey)
}

// PublicKeyID returns the subject key identifier for pub: the leftmost 160
// bits of the SHA-256 hash of the subjectPublicKey bits (RFC 7093 method 1).
func PublicKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	bits, err := subjectPublicKeyBits(spki)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bits)
	return sum[:20], nil
}
