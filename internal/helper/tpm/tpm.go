// Package tpm is roam's TPM 2.0 key source: a CreateSession signer whose
// private key never leaves a TPM, as the official aws_signing_helper
// supports (protocol.md §6):
//
//	roam credential-process --certificate cert.pem --private-key key.tss.pem …
//	roam credential-process --certificate cert.pem --private-key handle:0x81000002 --no-tpm-key-password …
//
// The key is a "TSS2 PRIVATE KEY" file (see KeyFile) loaded under its
// parent — a persistent key such as the SRK at 0x81000001, or the primary
// storage key that the standard template makes under a hierarchy — or a key
// already persistent in the TPM. RSA keys sign with RSASSA-PKCS1-v1_5, EC
// keys with ECDSA, over the digest the caller hashed.
//
// The TPM is opened for each signature and every object roam loads is
// flushed before it returns, so a Signer holds nothing in the TPM between
// signatures and works with or without a resource manager. The TPM is
// TPMDevice, $TPM_DEVICE, /dev/tpmrm0 or /dev/tpm0; a swtpm simulator is
// reached through its unix socket or as "swtpm:host=H,port=P".
package tpm

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpmutil"

	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/pki"
)

// Errors callers may test for with errors.Is.
var (
	// ErrIncorrectPassword: the TPM refused the key password.
	ErrIncorrectPassword = errors.New("incorrect TPM key password")
	// ErrPasswordRequired: the key needs a password and none was given.
	ErrPasswordRequired = errors.New("TPM key password required")
	// ErrClosed: the Signer was closed.
	ErrClosed = errors.New("tpm: signer is closed")
)

// promptAttempts is how often a prompted password may be mistyped.
const promptAttempts = 3

// srkTemplates returns the templates tried, in order, for the primary
// storage key made under a hierarchy parent. The first is the TCG
// provisioning guidance's SRK template (ECC P-256, or RSA-2048 when the key
// file says rsaParent), which the TSS2 key format, the OpenSSL tpm2 provider
// and the official helper use. The second is tpm2_createprimary's default,
// which lacks noDA: tpm2_encodeobject names the owner hierarchy as parent
// whatever template made the real parent, so keys made under such a primary
// load only with it.
func srkTemplates(rsaParent bool) []tpm2.Public {
	std := tpm2.FlagFixedTPM | tpm2.FlagFixedParent | tpm2.FlagSensitiveDataOrigin |
		tpm2.FlagUserWithAuth | tpm2.FlagNoDA | tpm2.FlagRestricted | tpm2.FlagDecrypt
	var out []tpm2.Public
	for _, attrs := range []tpm2.KeyProp{std, std &^ tpm2.FlagNoDA} {
		sym := &tpm2.SymScheme{Alg: tpm2.AlgAES, KeyBits: 128, Mode: tpm2.AlgCFB}
		if rsaParent {
			out = append(out, tpm2.Public{
				Type: tpm2.AlgRSA, NameAlg: tpm2.AlgSHA256, Attributes: attrs,
				RSAParameters: &tpm2.RSAParams{Symmetric: sym, KeyBits: 2048},
			})
			continue
		}
		out = append(out, tpm2.Public{
			Type: tpm2.AlgECC, NameAlg: tpm2.AlgSHA256, Attributes: attrs,
			ECCParameters: &tpm2.ECCParams{
				Symmetric: sym,
				Sign:      &tpm2.SigScheme{Alg: tpm2.AlgNull},
				CurveID:   tpm2.CurveNISTP256,
				KDF:       &tpm2.KDFScheme{Alg: tpm2.AlgNull},
			},
		})
	}
	return out
}

// Signer is a TPM 2.0 key with its certificate. It implements helper.Signer
// and is safe for concurrent use (signatures are serialised).
type Signer struct {
	mu     sync.Mutex
	closed bool

	device   string
	keyFile  *KeyFile       // nil for a persistent handle
	template int            // index in srkTemplates of the parent that loads the key
	handle   tpmutil.Handle // the persistent key, when keyFile is nil
	password string
	public   tpm2.Public
	pub      crypto.PublicKey
	cert     *x509.Certificate
	chain    []*x509.Certificate
}

var _ helper.Signer = (*Signer)(nil)

// Open opens the TPM key source that opts select: opts.PrivateKey is a
// TSS2 key file or "handle:0x81xxxxxx", opts.Certificate the certificate
// file, opts.Intermediates the chain. The key password is
// opts.TPMKeyPassword; with opts.NoTPMKeyPassword the key has none; else a
// key file's emptyAuth decides, and a key that needs a password gets it
// from opts.Prompt (checked with a test signature, and asked again if
// mistyped). Its signature is helper.OpenFunc.
func Open(ctx context.Context, opts *helper.SignerOptions) (helper.Signer, error) {
	s, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, opts *helper.SignerOptions) (*Signer, error) {
	if opts.Certificate == "" {
		return nil, helper.ErrNoCertificate
	}
	if opts.TPMKeyPassword != "" && opts.NoTPMKeyPassword {
		return nil, errors.New("tpm: --tpm-key-password and --no-tpm-key-password are mutually exclusive")
	}
	dev, err := resolveDevice(opts.TPMDevice)
	if err != nil {
		return nil, err
	}
	s := &Signer{device: dev}
	if s.cert, err = loadCertificate(opts.Certificate); err != nil {
		return nil, err
	}
	if opts.Intermediates != "" {
		if s.chain, err = helper.LoadIntermediates(opts.Intermediates); err != nil {
			return nil, err
		}
	}

	needPassword := true
	if h, ok := strings.CutPrefix(opts.PrivateKey, "handle:"); ok {
		if s.handle, err = parseHandle(h); err != nil {
			return nil, err
		}
		if err := s.withTPM(func(rw io.ReadWriter) error {
			pub, _, _, err := tpm2.ReadPublic(rw, s.handle)
			if err != nil {
				return fmt.Errorf("tpm: read public area of %#x: %w", uint32(s.handle), err)
			}
			s.public = pub
			return nil
		}); err != nil {
			return nil, err
		}
	} else {
		data, err := os.ReadFile(opts.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("read private key: %w", err)
		}
		if s.keyFile, err = ParseKeyFile(data); err != nil {
			return nil, fmt.Errorf("private key %s: %w", opts.PrivateKey, err)
		}
		if s.public, err = tpm2.DecodePublic(s.keyFile.Public); err != nil {
			return nil, fmt.Errorf("private key %s: %w: public area: %v", opts.PrivateKey, ErrMalformedKeyFile, err)
		}
		needPassword = !s.keyFile.EmptyAuth
		if s.keyFile.EmptyAuth && opts.TPMKeyPassword != "" {
			// Trying it would only count against the dictionary-attack
			// lockout.
			return nil, errors.New("tpm: --tpm-key-password given, but the key file says the key has no password (emptyAuth)")
		}
	}
	if err := checkSigningKey(s.public); err != nil {
		return nil, err
	}
	if s.pub, err = s.public.Key(); err != nil {
		return nil, fmt.Errorf("tpm: key's public area: %w", err)
	}
	if err := helper.CheckSigner(s); err != nil {
		return nil, err
	}

	switch {
	case opts.TPMKeyPassword != "":
		s.password = opts.TPMKeyPassword
	case opts.NoTPMKeyPassword, !needPassword:
	case opts.Prompt == nil:
		return nil, fmt.Errorf("%w: pass --tpm-key-password, or --no-tpm-key-password if the key has none (there is no terminal to ask on)", ErrPasswordRequired)
	default:
		if err := s.promptPassword(ctx, opts.Prompt); err != nil {
			return nil, err
		}
		return s, nil
	}
	// Load the key once now, so that a wrong parent or a key from another
	// TPM fails here rather than at the first signature.
	if err := s.withTPM(func(rw io.ReadWriter) error {
		_, flush, err := s.load(rw)
		if err == nil {
			flush()
		}
		return err
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// promptPassword asks for the key password and checks it with a test
// signature, asking again when it is wrong.
func (s *Signer) promptPassword(ctx context.Context, prompt func(context.Context, string) (string, error)) error {
	var err error
	for range promptAttempts {
		var pw string
		if pw, err = prompt(ctx, "TPM key password"); err != nil {
			return fmt.Errorf("tpm: read key password: %w", err)
		}
		s.password = pw
		digest := sha256.Sum256([]byte("roam TPM key password check"))
		if _, err = s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, ErrIncorrectPassword) {
			return err
		}
	}
	s.password = ""
	return err
}

// parseHandle parses the hex handle of "handle:0x81000002".
func parseHandle(h string) (tpmutil.Handle, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(h), "0x"), 16, 32)
	if err != nil {
		return 0, fmt.Errorf("tpm: bad handle %q: want handle:0x81xxxxxx", h)
	}
	if v>>24 != 0x81 {
		return 0, fmt.Errorf("tpm: handle %#x is not a persistent object (0x81xxxxxx)", v)
	}
	return tpmutil.Handle(v), nil
}

// checkSigningKey accepts unrestricted RSA and ECC signing keys: a
// restricted key signs only digests the TPM computed itself.
func checkSigningKey(p tpm2.Public) error {
	if p.Type != tpm2.AlgRSA && p.Type != tpm2.AlgECC {
		return fmt.Errorf("tpm: unsupported key type %v (want RSA or ECC)", p.Type)
	}
	if p.Attributes&tpm2.FlagSign == 0 {
		return errors.New("tpm: the key is not a signing key (its sign attribute is clear)")
	}
	if p.Attributes&tpm2.FlagRestricted != 0 {
		return errors.New("tpm: the key is restricted and cannot sign external data")
	}
	return nil
}

// loadCertificate reads the first certificate of a PEM or DER file.
func loadCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	obj, err := pki.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	if obj.Kind != pki.KindCertificate || len(obj.Certificates) == 0 {
		return nil, fmt.Errorf("certificate %s: holds a %s, not a certificate", path, obj.Kind)
	}
	return obj.Certificates[0], nil
}

// withTPM opens the TPM, runs f and closes it.
func (s *Signer) withTPM(f func(rw io.ReadWriter) error) error {
	rw, err := openDevice(s.device)
	if err != nil {
		return err
	}
	defer rw.Close()
	return f(rw)
}

// load makes the key usable in the TPM and returns its handle with a
// function that flushes what load created: the key and, for a hierarchy
// parent, the primary key.
func (s *Signer) load(rw io.ReadWriter) (tpmutil.Handle, func(), error) {
	if s.keyFile == nil {
		return s.handle, func() {}, nil
	}
	if s.keyFile.Parent>>24 == 0x81 {
		h, _, err := tpm2.Load(rw, tpmutil.Handle(s.keyFile.Parent), "", s.keyFile.Public, s.keyFile.Private)
		if err != nil {
			return 0, nil, loadError(s.keyFile.Parent, err)
		}
		return h, func() { tpm2.FlushContext(rw, h) }, nil
	}
	templates := srkTemplates(s.keyFile.RSAParent)
	var firstErr error
	for i := s.template; i < len(templates); i++ {
		parent, _, err := createPrimary(rw, s.keyFile.Parent, templates[i])
		if err != nil {
			return 0, nil, err
		}
		h, _, err := tpm2.Load(rw, parent, "", s.keyFile.Public, s.keyFile.Private)
		if err == nil {
			s.template = i
			return h, func() { tpm2.FlushContext(rw, h); tpm2.FlushContext(rw, parent) }, nil
		}
		tpm2.FlushContext(rw, parent)
		if firstErr == nil {
			firstErr = err
		}
		if !integrityError(err) {
			break
		}
	}
	return 0, nil, loadError(s.keyFile.Parent, firstErr)
}

// integrityError reports whether err is TPM_RC_INTEGRITY: the private area
// was not wrapped by this parent.
func integrityError(err error) bool {
	var pe tpm2.ParameterError
	return errors.As(err, &pe) && pe.Code == tpm2.RCIntegrity
}

func loadError(parent uint32, err error) error {
	return fmt.Errorf("tpm: load the key under parent %#x (is it from this TPM and this parent?): %w", parent, err)
}

// createPrimary creates the primary storage key of hierarchy from
// template; the caller flushes it.
func createPrimary(rw io.ReadWriter, hierarchy uint32, template tpm2.Public) (tpmutil.Handle, crypto.PublicKey, error) {
	h, pub, err := tpm2.CreatePrimary(rw, tpmutil.Handle(hierarchy), tpm2.PCRSelection{}, "", "", template)
	if err != nil {
		return 0, nil, fmt.Errorf("tpm: create the primary storage key under hierarchy %#x: %w", hierarchy, err)
	}
	return h, pub, nil
}

// Public returns the key's public key (checked at Open to be the
// certificate's).
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Certificate returns the leaf certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Chain returns the certificates of --intermediates (nil without).
func (s *Signer) Chain() []*x509.Certificate { return s.chain }

// Sign signs digest (already hashed with opts.HashFunc(): SHA-256, SHA-384
// or SHA-512) in the TPM: RSASSA-PKCS1-v1_5 for RSA keys, ECDSA (returned as
// ASN.1 DER) for EC keys.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, errors.New("tpm: RSA-PSS is not supported")
	}
	h := opts.HashFunc()
	var alg tpm2.Algorithm
	switch h {
	case crypto.SHA256:
		alg = tpm2.AlgSHA256
	case crypto.SHA384:
		alg = tpm2.AlgSHA384
	case crypto.SHA512:
		alg = tpm2.AlgSHA512
	default:
		return nil, fmt.Errorf("tpm: unsupported hash %v", h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("tpm: digest is %d bytes, want %d for %v", len(digest), h.Size(), h)
	}
	scheme := &tpm2.SigScheme{Alg: tpm2.AlgRSASSA, Hash: alg}
	if s.public.Type == tpm2.AlgECC {
		scheme.Alg = tpm2.AlgECDSA
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var sig *tpm2.Signature
	err := s.withTPM(func(rw io.ReadWriter) error {
		key, flush, err := s.load(rw)
		if err != nil {
			return err
		}
		defer flush()
		sig, err = tpm2.Sign(rw, key, s.password, digest, nil, scheme)
		return signError(err)
	})
	if err != nil {
		return nil, err
	}
	switch {
	case scheme.Alg == tpm2.AlgECDSA && sig.ECC != nil:
		return asn1.Marshal(struct{ R, S *big.Int }{sig.ECC.R, sig.ECC.S})
	case scheme.Alg == tpm2.AlgRSASSA && sig.RSA != nil:
		return sig.RSA.Signature, nil
	}
	return nil, fmt.Errorf("tpm: unexpected signature algorithm %v", sig.Alg)
}

// signError explains TPM errors about the key's authorisation without
// showing the password.
func signError(err error) error {
	if err == nil {
		return nil
	}
	var se tpm2.SessionError
	if errors.As(err, &se) && (se.Code == tpm2.RCAuthFail || se.Code == tpm2.RCBadAuth) {
		return ErrIncorrectPassword
	}
	var w tpm2.Warning
	if errors.As(err, &w) && w.Code == tpm2.RCLockout {
		return errors.New("tpm: the TPM is in dictionary-attack lockout after too many wrong passwords")
	}
	return fmt.Errorf("tpm: sign: %w", err)
}

// Close forgets the password. It is safe to call more than once; the
// Signer holds no TPM resources between signatures.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.password = ""
	return nil
}
