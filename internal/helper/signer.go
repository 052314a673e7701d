package helper

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Signer is a private key that signs CreateSession requests, together with
// the certificate it belongs to and the intermediates sent beside it in
// X-Amz-X509-Chain. Every key source (file, PKCS#12, PKCS#11, TPM) provides
// one.
//
// Sign follows crypto.Signer: digest is already hashed with opts.HashFunc()
// (SHA-256 for CreateSession; SHA-384 and SHA-512 are also used by
// sign-string). RSA keys return a PKCS#1 v1.5 signature, ECDSA keys an ASN.1
// DER SEQUENCE{r, s} (a source that produces raw r||s must convert it).
//
// Certificate returns the leaf; Chain returns the other certificates to send,
// in the order they should be sent (nil for none). Both are immutable for the
// Signer's lifetime. Close releases sessions, handles and the like; it is
// safe to call more than once. A Signer must be safe for concurrent use.
type Signer interface {
	crypto.Signer
	Certificate() *x509.Certificate
	Chain() []*x509.Certificate
	Close() error
}

// OpenFunc opens a Signer from opts. The PKCS#11 and TPM sources are
// OpenFuncs living in their own packages (internal/helper/pkcs11 and
// internal/helper/tpm, each exporting
// `func Open(ctx context.Context, opts *helper.SignerOptions) (helper.Signer, error)`);
// the CLI plugs them into SignerOptions so that this package does not import
// them.
type OpenFunc func(ctx context.Context, opts *SignerOptions) (Signer, error)

// SignerOptions selects and unlocks a key. The fields mirror the flags of
// the official aws_signing_helper (see docs/protocol.md §6 and the appendix)
// plus roam's additions.
type SignerOptions struct {
	// Certificate is --certificate: a PEM or DER certificate file, a file
	// with the certificate and the key (combined PEM), a PKCS#12 file, or a
	// PKCS#11 URI ("pkcs11:...").
	Certificate string
	// PrivateKey is --private-key: a PEM key file (PKCS#1, SEC 1, PKCS#8,
	// encrypted PKCS#8), a PKCS#11 URI, a TPM persistent handle
	// ("handle:0x81000001") or a TPM key file ("-----BEGIN TSS2 PRIVATE
	// KEY-----").
	PrivateKey string
	// Intermediates is --intermediates: a PEM bundle sent as
	// X-Amz-X509-Chain, in file order. Sources read it with
	// LoadIntermediates.
	Intermediates string

	// PKCS8Password is the official --pkcs8-password: the password of an
	// encrypted PKCS#8 key. roam also uses it for a PKCS#12 file.
	PKCS8Password string
	// PasswordFile is roam's --private-key-password-file: a file whose
	// first line is the password of an encrypted PKCS#8 key or of a PKCS#12
	// file. It keeps the password out of the process list.
	PasswordFile string

	// PKCS11Lib is --pkcs11-lib, the PKCS#11 module to load ("" means the
	// official default, p11-kit-proxy.so).
	PKCS11Lib string
	// PKCS11PIN is roam's --pkcs11-pin: the user PIN, when it is not in the
	// URI's pin-value attribute.
	PKCS11PIN string
	// ReusePIN is --reuse-pin: use the user PIN for CKA_ALWAYS_AUTHENTICATE
	// keys instead of prompting.
	ReusePIN bool

	// TPMKeyPassword is --tpm-key-password.
	TPMKeyPassword string
	// NoTPMKeyPassword is --no-tpm-key-password: the TPM key has no
	// password (never prompt).
	NoTPMKeyPassword bool
	// TPMDevice is the TPM to use: a device path or a swtpm unix socket.
	// "" means $TPM_DEVICE, then /dev/tpmrm0, then /dev/tpm0.
	TPMDevice string

	// Prompt asks the user for a secret (PIN, password) when none was
	// given; nil means there is no terminal and the open must fail with a
	// clear error instead.
	Prompt func(ctx context.Context, what string) (string, error)

	// OpenPKCS11 opens PKCS#11 URIs; nil means PKCS#11 is not available.
	OpenPKCS11 OpenFunc
	// OpenTPM opens TPM handles and TSS2 key files; nil means TPM is not
	// available.
	OpenTPM OpenFunc
}

// Source is the kind of key source SignerOptions select.
type Source string

// Key sources.
const (
	SourceFile   Source = "file"   // PEM key file, combined PEM or PKCS#12
	SourcePKCS11 Source = "pkcs11" // PKCS#11 URI in --certificate or --private-key
	SourceTPM    Source = "tpm"    // TPM handle or TSS2 key file
)

// ErrNoCertificate is returned when no certificate was given.
var ErrNoCertificate = errors.New("no certificate given (--certificate)")

// ErrKeyMismatch is returned when the private key is not the certificate's.
var ErrKeyMismatch = errors.New("private key does not match the certificate")

// IsPKCS11URI reports whether s is a PKCS#11 URI (RFC 7512).
func IsPKCS11URI(s string) bool { return strings.HasPrefix(s, "pkcs11:") }

// IsTPMHandle reports whether s names a TPM persistent handle
// ("handle:0x81000001").
func IsTPMHandle(s string) bool { return strings.HasPrefix(s, "handle:") }

// tss2PEMHeader starts a TPM 2.0 key file.
const tss2PEMHeader = "-----BEGIN TSS2 PRIVATE KEY-----"

// Source reports which key source o selects, following the official
// helper's order: a PKCS#11 URI in --private-key (or in --certificate with no
// key), then a TPM handle or TSS2 key file, then files.
func (o *SignerOptions) Source() (Source, error) {
	switch {
	case IsPKCS11URI(o.PrivateKey), o.PrivateKey == "" && IsPKCS11URI(o.Certificate):
		return SourcePKCS11, nil
	case IsTPMHandle(o.PrivateKey):
		return SourceTPM, nil
	case o.PrivateKey != "":
		data, err := os.ReadFile(o.PrivateKey)
		if err != nil {
			return "", fmt.Errorf("read private key: %w", err)
		}
		if strings.Contains(string(data), tss2PEMHeader) {
			return SourceTPM, nil
		}
	}
	if o.Certificate == "" {
		return "", ErrNoCertificate
	}
	return SourceFile, nil
}

// OpenSigner opens the Signer that o selects and checks that its key
// belongs to its certificate (the official helper does not, and signs with
// a mismatched pair).
func OpenSigner(ctx context.Context, o *SignerOptions) (Signer, error) {
	src, err := o.Source()
	if err != nil {
		return nil, err
	}
	var s Signer
	switch src {
	case SourcePKCS11:
		if o.OpenPKCS11 == nil {
			return nil, errors.New("PKCS#11 keys are not supported by this build")
		}
		s, err = o.OpenPKCS11(ctx, o)
	case SourceTPM:
		if o.OpenTPM == nil {
			return nil, errors.New("TPM keys are not supported by this build")
		}
		s, err = o.OpenTPM(ctx, o)
	default:
		s, err = openFileSigner(o)
	}
	if err != nil {
		return nil, err
	}
	if err := CheckSigner(s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// CheckSigner checks that s has a certificate and that its public key is the
// certificate's.
func CheckSigner(s Signer) error {
	cert := s.Certificate()
	if cert == nil {
		return ErrNoCertificate
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := s.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("%w (certificate serial %s)", ErrKeyMismatch, cert.SerialNumber)
	}
	return nil
}
