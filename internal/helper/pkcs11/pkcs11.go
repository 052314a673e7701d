// Package pkcs11 is roam's PKCS#11 key source: the certificate and private
// key of a CreateSession signer on a smart card, HSM or software token,
// selected by RFC 7512 URIs as the official aws_signing_helper does
// (protocol.md §6):
//
//	roam credential-process --certificate 'pkcs11:token=t;object=k?pin-value=1234' --pkcs11-lib /usr/lib/softhsm/libsofthsm2.so …
//	roam credential-process --certificate cert.pem --private-key 'pkcs11:token=t;id=%01' …
//
// The certificate is searched without logging in first, then, if exactly
// one token matches, after logging in (draft-woodhouse-cert-best-practice
// §8.1). The key is searched with the key URI (by default the certificate's
// URI), then by the certificate's CKA_ID, then among all private keys of the
// token, and always checked against the certificate's public key (§8.2).
// RSA keys sign with CKM_RSA_PKCS over a DigestInfo, EC keys with CKM_ECDSA
// (the raw r||s is converted to DER). The chain sent beside the
// certificate is --intermediates if given, else the certificates on the
// token that actually issued it, nearest first.
//
// A Signer keeps one logged-in session open until Close and re-opens it if
// the module drops it (token re-inserted, session closed underneath).
package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/pki"
)

// Errors callers may test for with errors.Is.
var (
	// ErrIncorrectPIN: the token refused the PIN.
	ErrIncorrectPIN = errors.New("incorrect PKCS#11 PIN")
	// ErrPINRequired: a PIN is needed and none was given nor could be asked.
	ErrPINRequired = errors.New("PKCS#11 PIN required")
	// ErrNotFound: no token, certificate or key matches.
	ErrNotFound = errors.New("PKCS#11 object not found")
	// ErrClosed: the Signer was closed.
	ErrClosed = errors.New("pkcs11: signer is closed")
)

// promptAttempts is how often a prompted PIN may be mistyped.
const promptAttempts = 3

// Signer is a private key on a PKCS#11 token with its certificate. It
// implements helper.Signer and is safe for concurrent use (operations on the
// token are serialised).
type Signer struct {
	mu      sync.Mutex
	mod     *p11.Ctx
	release func()
	closed  bool

	slot    slot
	sess    p11.SessionHandle // 0 when there is no open session
	key     keyObject
	ecBytes int // byte length of the EC key's order; 0 for RSA

	pin        string // user PIN, kept to log in again after a lost session
	ctxPIN     string // context-specific PIN learnt from the prompt
	reusePIN   bool
	prompt     func(context.Context, string) (string, error)
	cert       *x509.Certificate
	chain      []*x509.Certificate
	publicKey  crypto.PublicKey
	signingAlg string
}

var _ helper.Signer = (*Signer)(nil)

// Open opens the PKCS#11 key source that opts select: a PKCS#11 URI in
// opts.PrivateKey and/or opts.Certificate (a certificate file with a key
// URI is allowed), the module opts.PKCS11Lib (else the URI's module-path,
// else p11-kit's proxy), and the user PIN from opts.PKCS11PIN, else the
// key URI's then the certificate URI's pin-value or pin-source, else
// opts.Prompt. Its signature is helper.OpenFunc.
func Open(ctx context.Context, opts *helper.SignerOptions) (helper.Signer, error) {
	s, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// opener holds the state of one Open.
type opener struct {
	ctx     context.Context
	opts    *helper.SignerOptions
	mod     *p11.Ctx
	certURI *URI // nil when the certificate is a file
	keyURI  *URI // nil: derived from certURI
	pin     string
	hasPIN  bool
}

func open(ctx context.Context, opts *helper.SignerOptions) (_ *Signer, err error) {
	o := &opener{ctx: ctx, opts: opts}
	var certFile *x509.Certificate
	switch {
	case helper.IsPKCS11URI(opts.Certificate):
		if o.certURI, err = ParseURI(opts.Certificate); err != nil {
			return nil, fmt.Errorf("--certificate: %w", err)
		}
	case opts.Certificate != "":
		if certFile, err = loadCertificate(opts.Certificate); err != nil {
			return nil, err
		}
	}
	switch {
	case helper.IsPKCS11URI(opts.PrivateKey):
		if o.keyURI, err = ParseURI(opts.PrivateKey); err != nil {
			return nil, fmt.Errorf("--private-key: %w", err)
		}
	case opts.PrivateKey != "":
		return nil, fmt.Errorf("pkcs11: --private-key %q is not a PKCS#11 URI", opts.PrivateKey)
	}
	if o.certURI == nil && o.keyURI == nil {
		return nil, errors.New("pkcs11: neither --certificate nor --private-key is a PKCS#11 URI")
	}
	if certFile == nil && o.certURI == nil {
		return nil, helper.ErrNoCertificate
	}
	if err := o.initialPIN(); err != nil {
		return nil, err
	}

	modPath := opts.PKCS11Lib
	for _, u := range []*URI{o.keyURI, o.certURI} {
		if modPath == "" && u != nil {
			modPath = u.ModulePath
		}
	}
	if modPath == "" {
		modPath = DefaultModule()
	}
	mod, release, err := modules.acquire(modPath)
	if err != nil {
		return nil, err
	}
	o.mod = mod
	s := &Signer{mod: mod, release: release, reusePIN: opts.ReusePIN, prompt: opts.Prompt}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	slots, err := listSlots(mod)
	if err != nil {
		return nil, err
	}
	var certSess *tokenSession
	if o.certURI != nil {
		co, ts, err := o.findCertificate(slots)
		if err != nil {
			return nil, err
		}
		certSess = ts
		s.cert = co.cert
		defer func() {
			if certSess != nil && (s.sess != certSess.h) {
				certSess.close()
			}
		}()
		if o.keyURI == nil {
			// The key is looked for where the certificate is, with the
			// certificate's URI, then its CKA_ID (draft §8.2).
			k, err := o.findKey(ts, s.cert, o.certURI, co.id, true)
			if err != nil {
				return nil, err
			}
			s.adopt(ts, k, o)
		}
	} else {
		s.cert = certFile
	}
	if o.keyURI != nil {
		ts := certSess
		matched := matchSlots(slots, o.keyURI)
		if !matchLibrary(mod, o.keyURI) {
			matched = nil
		}
		switch {
		case ts != nil && slices.ContainsFunc(matched, func(sl slot) bool { return sl.id == ts.slot.id }):
			// The key URI also matches the certificate's token: use it.
		case len(matched) == 1:
			if ts, err = o.openSession(matched[0]); err != nil {
				return nil, err
			}
			defer func() {
				if s.sess != ts.h {
					ts.close()
				}
			}()
		case len(matched) == 0:
			return nil, fmt.Errorf("%w: no token matches --private-key %s (%s)", ErrNotFound, o.keyURI, tokenLabels(slots))
		default:
			return nil, fmt.Errorf("%w: %d tokens match --private-key %s; add token= or serial= to select one", ErrNotFound, len(matched), o.keyURI)
		}
		k, err := o.findKey(ts, s.cert, o.keyURI, nil, false)
		if err != nil {
			return nil, err
		}
		s.adopt(ts, k, o)
	}

	switch {
	case opts.Intermediates != "":
		if s.chain, err = helper.LoadIntermediates(opts.Intermediates); err != nil {
			return nil, err
		}
	case certSess != nil:
		// The token's certificates that issued the leaf (protocol.md
		// §1.4: the official helper's inverted test appends unrelated
		// certificates instead).
		all, err := findObjects(mod, certSess.h, objectTemplate(p11.CKO_CERTIFICATE, nil))
		if err != nil {
			return nil, err
		}
		var pool []*x509.Certificate
		for _, c := range readCerts(mod, certSess.h, all) {
			pool = append(pool, c.cert)
		}
		s.chain = buildChain(s.cert, pool)
	}
	if len(s.chain) == 0 {
		s.chain = nil
	}
	return s, nil
}

// initialPIN picks the user PIN given up front: --pkcs11-pin, then the key
// URI's PIN, then the certificate URI's.
func (o *opener) initialPIN() error {
	if o.opts.PKCS11PIN != "" {
		o.pin, o.hasPIN = o.opts.PKCS11PIN, true
		return nil
	}
	for _, u := range []*URI{o.keyURI, o.certURI} {
		if u == nil {
			continue
		}
		if pin, ok := u.PIN(); ok {
			o.pin, o.hasPIN = pin, true
			return nil
		}
		if u.PINSource != "" {
			pin, err := readPINSource(u.PINSource)
			if err != nil {
				return err
			}
			o.pin, o.hasPIN = pin, true
			return nil
		}
	}
	return nil
}

// readPINSource reads the PIN from a pin-source attribute: a file name or a
// file: URI (RFC 7512 §2.4); the first line is the PIN.
func readPINSource(src string) (string, error) {
	path := src
	if len(path) > 5 && path[:5] == "file:" {
		path = path[5:]
		for len(path) > 1 && path[0] == '/' && path[1] == '/' {
			path = path[1:]
		}
	}
	pin, err := helper.ReadPasswordFile(path)
	if err != nil {
		return "", fmt.Errorf("pkcs11: pin-source: %w", err)
	}
	return string(pin), nil
}

// userPIN returns the user PIN for the token in sl: the one given, else
// one read with the prompt.
func (o *opener) userPIN(sl slot) (string, error) {
	if o.hasPIN {
		return o.pin, nil
	}
	if o.opts.Prompt == nil {
		return "", fmt.Errorf("%w for token %q: put pin-value in the URI or pass --pkcs11-pin (there is no terminal to ask on)", ErrPINRequired, sl.label())
	}
	pin, err := o.opts.Prompt(o.ctx, fmt.Sprintf("PKCS#11 user PIN for token %q", sl.label()))
	if err != nil {
		return "", fmt.Errorf("pkcs11: read user PIN: %w", err)
	}
	return pin, nil
}

// tokenSession is an open session on a token.
type tokenSession struct {
	mod      *p11.Ctx
	slot     slot
	h        p11.SessionHandle
	loggedIn bool
}

func (o *opener) openSession(sl slot) (*tokenSession, error) {
	h, err := o.mod.OpenSession(sl.id, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: open session on token %q: %w", sl.label(), err)
	}
	return &tokenSession{mod: o.mod, slot: sl, h: h}, nil
}

func (t *tokenSession) close() {
	if t.h != 0 {
		t.mod.CloseSession(t.h)
		t.h = 0
	}
}

// login logs the user in with the PIN given, or prompts for it (a mistyped
// prompted PIN may be retyped). It remembers the PIN that worked in o.
func (o *opener) login(t *tokenSession) error {
	if t.loggedIn {
		return nil
	}
	if ti, err := o.mod.GetTokenInfo(t.slot.id); err == nil && ti.Flags&p11.CKF_LOGIN_REQUIRED == 0 {
		t.loggedIn = true
		return nil
	}
	for attempt := 1; ; attempt++ {
		pin, err := o.userPIN(t.slot)
		if err != nil {
			return err
		}
		err = loginUser(o.mod, t.h, p11.CKU_USER, pin, t.slot.label())
		if err == nil {
			o.pin, o.hasPIN = pin, true
			t.loggedIn = true
			return nil
		}
		if !errors.Is(err, ErrIncorrectPIN) || o.hasPIN || attempt >= promptAttempts {
			return err
		}
	}
}

// loginUser calls C_Login and turns its errors into messages without the
// PIN. CKR_USER_ALREADY_LOGGED_IN is success: logins are per application
// and token, not per session.
func loginUser(mod *p11.Ctx, sh p11.SessionHandle, userType uint, pin, token string) error {
	err := mod.Login(sh, userType, pin)
	var ce p11.Error
	if err == nil || errors.As(err, &ce) && ce == p11.CKR_USER_ALREADY_LOGGED_IN {
		return nil
	}
	who := "user"
	if userType == p11.CKU_CONTEXT_SPECIFIC {
		who = "context-specific"
	}
	if errors.As(err, &ce) {
		switch ce {
		case p11.CKR_PIN_INCORRECT:
			return fmt.Errorf("pkcs11: %s login to token %q: %w", who, token, ErrIncorrectPIN)
		case p11.CKR_PIN_LOCKED:
			return fmt.Errorf("pkcs11: %s login to token %q: the PIN is locked", who, token)
		case p11.CKR_PIN_LEN_RANGE:
			return fmt.Errorf("pkcs11: %s login to token %q: %w (wrong length)", who, token, ErrIncorrectPIN)
		}
	}
	return fmt.Errorf("pkcs11: %s login to token %q: %w", who, token, err)
}

// findCertificate finds the one certificate that the certificate URI
// selects and returns it with an open session on its token (logged in if
// the search needed it).
func (o *opener) findCertificate(slots []slot) (certObject, *tokenSession, error) {
	u := o.certURI
	matched := matchSlots(slots, u)
	if !matchLibrary(o.mod, u) {
		matched = nil
	}
	if len(matched) == 0 {
		return certObject{}, nil, fmt.Errorf("%w: no token matches --certificate %s (%s)", ErrNotFound, u, tokenLabels(slots))
	}
	type found struct {
		c  certObject
		ts *tokenSession
	}
	var hits []found
	var sessions []*tokenSession
	closeAll := func(keep *tokenSession) {
		for _, ts := range sessions {
			if ts != keep {
				ts.close()
			}
		}
	}
	search := func(ts *tokenSession) error {
		hs, err := findObjects(o.mod, ts.h, objectTemplate(p11.CKO_CERTIFICATE, u))
		if err != nil {
			return err
		}
		for _, c := range readCerts(o.mod, ts.h, hs) {
			hits = append(hits, found{c, ts})
		}
		return nil
	}
	// First without logging in, in every matching token (§8.1).
	for _, sl := range matched {
		ts, err := o.openSession(sl)
		if err != nil {
			continue
		}
		sessions = append(sessions, ts)
		if err := search(ts); err != nil {
			closeAll(nil)
			return certObject{}, nil, err
		}
	}
	// Then, if exactly one token matches, after logging in to it.
	if len(hits) == 0 && len(matched) == 1 && len(sessions) == 1 {
		if err := o.login(sessions[0]); err != nil {
			closeAll(nil)
			return certObject{}, nil, err
		}
		if err := search(sessions[0]); err != nil {
			closeAll(nil)
			return certObject{}, nil, err
		}
	}
	switch {
	case len(hits) == 0 && len(matched) > 1:
		closeAll(nil)
		return certObject{}, nil, fmt.Errorf("%w: no public certificate matches --certificate %s in %d tokens (name one token to search its private objects too)", ErrNotFound, u, len(matched))
	case len(hits) == 0:
		closeAll(nil)
		return certObject{}, nil, fmt.Errorf("%w: no certificate on token %q matches --certificate %s", ErrNotFound, matched[0].label(), u)
	case len(hits) > 1:
		closeAll(nil)
		return certObject{}, nil, fmt.Errorf("%w: %d certificates match --certificate %s; add object= or id= to select one", ErrNotFound, len(hits), u)
	}
	closeAll(hits[0].ts)
	return hits[0].c, hits[0].ts, nil
}

// findKey finds the private key for cert on the token of ts, logging in. It
// searches with the object attributes of u; when derived is true (u is the
// certificate's URI), then with the certificate's CKA_ID certID, then among
// all private keys of the token. Every candidate is checked against cert.
func (o *opener) findKey(ts *tokenSession, cert *x509.Certificate, u *URI, certID []byte, derived bool) (keyObject, error) {
	if err := o.login(ts); err != nil {
		return keyObject{}, err
	}
	searches := [][]*p11.Attribute{objectTemplate(p11.CKO_PRIVATE_KEY, u)}
	if derived {
		if len(certID) > 0 {
			searches = append(searches, objectTemplate(p11.CKO_PRIVATE_KEY, &URI{ID: certID}))
		}
		searches = append(searches, objectTemplate(p11.CKO_PRIVATE_KEY, nil))
	}
	seen := map[p11.ObjectHandle]bool{}
	candidates := 0
	for _, tmpl := range searches {
		hs, err := findObjects(o.mod, ts.h, tmpl)
		if err != nil {
			return keyObject{}, err
		}
		for _, h := range hs {
			if seen[h] {
				continue
			}
			seen[h] = true
			k, ok := readKey(o.mod, ts.h, h)
			if !ok {
				continue
			}
			candidates++
			ok, err := o.keyIsCertificates(ts, k, cert)
			if err != nil {
				return keyObject{}, err
			}
			if ok {
				return k, nil
			}
		}
	}
	if candidates == 0 {
		return keyObject{}, fmt.Errorf("%w: no private key on token %q matches %s", ErrNotFound, ts.slot.label(), u)
	}
	return keyObject{}, fmt.Errorf("%w: none of the %d private keys found on token %q for %s belongs to the certificate (serial %s)",
		ErrNotFound, candidates, ts.slot.label(), u, cert.SerialNumber)
}

// keyIsCertificates decides whether k is cert's key: from its public
// attributes when the token exposes them, else by a test signature verified
// with the certificate's key.
func (o *opener) keyIsCertificates(ts *tokenSession, k keyObject, cert *x509.Certificate) (bool, error) {
	switch publicKeyMatches(o.mod, ts.h, k, cert.PublicKey) {
	case keyMatches:
		return true, nil
	case keyDiffers:
		return false, nil
	}
	// The probe runs on a session of its own: a failed signature may leave
	// an operation active, and signOnce then closes the session.
	h, err := o.mod.OpenSession(ts.slot.id, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return false, fmt.Errorf("pkcs11: open session on token %q: %w", ts.slot.label(), err)
	}
	probe := &Signer{
		mod: o.mod, slot: ts.slot, sess: h, key: k, ecBytes: ecBytes(cert.PublicKey),
		pin: o.pin, reusePIN: o.opts.ReusePIN, prompt: o.opts.Prompt,
	}
	defer probe.dropSession()
	var challenge [32]byte
	if _, err := io.ReadFull(rand.Reader, challenge[:]); err != nil {
		return false, err
	}
	digest := sha256.Sum256(challenge[:])
	sig, err := probe.signOnce(digest[:], crypto.SHA256)
	if err != nil {
		if errors.Is(err, ErrIncorrectPIN) || errors.Is(err, ErrPINRequired) {
			return false, err
		}
		return false, nil
	}
	return verify(cert.PublicKey, digest[:], sig), nil
}

// adopt makes k on ts the Signer's key and ts its session.
func (s *Signer) adopt(ts *tokenSession, k keyObject, o *opener) {
	s.slot, s.sess, s.key = ts.slot, ts.h, k
	s.pin = o.pin
	s.publicKey = s.cert.PublicKey
	s.ecBytes = ecBytes(s.cert.PublicKey)
}

// ecBytes returns the byte length of an EC key's order, or 0.
func ecBytes(pub crypto.PublicKey) int {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		return (k.Curve.Params().N.BitLen() + 7) / 8
	}
	return 0
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

// Public returns the certificate's public key, which Open checked is the
// token key's.
func (s *Signer) Public() crypto.PublicKey { return s.publicKey }

// Certificate returns the leaf certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Chain returns the certificates sent beside the leaf: --intermediates, or
// the token's certificates on the leaf's issuing path, nearest first.
func (s *Signer) Chain() []*x509.Certificate { return s.chain }

// Sign signs digest (already hashed with opts.HashFunc(): SHA-256, SHA-384
// or SHA-512) with the token key: a PKCS#1 v1.5 signature for RSA, ASN.1
// DER for ECDSA.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.sess == 0 {
		if err := s.reopenLocked(); err != nil {
			return nil, err
		}
	}
	sig, err := s.signOnce(digest, opts)
	if err != nil && sessionLost(err) {
		// The module dropped the session or the login (token removed and
		// re-inserted, another application logged out): start again once.
		if rerr := s.reopenLocked(); rerr != nil {
			return nil, fmt.Errorf("%w (re-opening the session: %v)", err, rerr)
		}
		sig, err = s.signOnce(digest, opts)
	}
	return sig, err
}

// signOnce runs one signature on the current session. If anything fails
// after C_SignInit, the session is closed (an operation may still be
// active on it) and the next Sign opens a new one.
func (s *Signer) signOnce(digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	mech, data, err := signInput(s.key.keyType, digest, opts, s.ecBytes)
	if err != nil {
		return nil, err
	}
	if err := s.mod.SignInit(s.sess, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, s.key.handle); err != nil {
		return nil, fmt.Errorf("pkcs11: sign with key %s: %w", s.key.describe(), err)
	}
	defer func() {
		if err != nil && !sessionLost(err) {
			s.dropSession()
		}
	}()
	if s.key.alwaysAuth {
		if err := s.contextLogin(); err != nil {
			return nil, err
		}
	}
	sig, err = s.mod.Sign(s.sess, data)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign with key %s: %w", s.key.describe(), err)
	}
	if mech == p11.CKM_ECDSA {
		return ecdsaRawToDER(sig)
	}
	return sig, nil
}

// contextLogin gives the context-specific PIN that a CKA_ALWAYS_AUTHENTICATE
// key needs before each signature: the one that worked last time, else the
// user PIN with --reuse-pin, else the user's answer to the prompt.
func (s *Signer) contextLogin() error {
	label := s.slot.label()
	if s.ctxPIN != "" {
		if err := loginUser(s.mod, s.sess, p11.CKU_CONTEXT_SPECIFIC, s.ctxPIN, label); err == nil {
			return nil
		}
		s.ctxPIN = ""
	}
	var lastErr error
	if s.reusePIN && s.pin != "" {
		lastErr = loginUser(s.mod, s.sess, p11.CKU_CONTEXT_SPECIFIC, s.pin, label)
		if lastErr == nil {
			s.ctxPIN = s.pin
			return nil
		}
	}
	if s.prompt == nil {
		if lastErr != nil {
			return lastErr
		}
		return fmt.Errorf("%w: key %s on token %q needs its PIN for every signature (CKA_ALWAYS_AUTHENTICATE): pass --reuse-pin to use the user PIN, or run in a terminal",
			ErrPINRequired, s.key.describe(), label)
	}
	for attempt := 0; attempt < promptAttempts; attempt++ {
		pin, err := s.prompt(context.Background(), fmt.Sprintf("PKCS#11 context-specific PIN for key %s on token %q", s.key.describe(), label))
		if err != nil {
			return fmt.Errorf("pkcs11: read context-specific PIN: %w", err)
		}
		if lastErr = loginUser(s.mod, s.sess, p11.CKU_CONTEXT_SPECIFIC, pin, label); lastErr == nil {
			s.ctxPIN = pin
			return nil
		}
		if !errors.Is(lastErr, ErrIncorrectPIN) {
			break
		}
	}
	return lastErr
}

// sessionLost reports whether err means the session or its login is gone.
func sessionLost(err error) bool {
	var ce p11.Error
	if !errors.As(err, &ce) {
		return false
	}
	switch ce {
	case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_USER_NOT_LOGGED_IN,
		p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID, p11.CKR_TOKEN_NOT_PRESENT,
		p11.CKR_DEVICE_REMOVED:
		return true
	}
	return false
}

// dropSession closes the current session; the next Sign opens a new one.
func (s *Signer) dropSession() {
	if s.sess != 0 {
		s.mod.CloseSession(s.sess)
		s.sess = 0
	}
}

// reopenLocked opens a new session on the key's token (found again by
// serial number and label, as its slot may have changed), logs in with the
// PIN used at Open, and finds the key again by CKA_ID, label and type.
func (s *Signer) reopenLocked() error {
	s.dropSession()
	slots, err := listSlots(s.mod)
	if err != nil {
		return err
	}
	var sl *slot
	for i := range slots {
		if slots[i].token.SerialNumber == s.slot.token.SerialNumber && slots[i].token.Label == s.slot.token.Label {
			sl = &slots[i]
			break
		}
	}
	if sl == nil {
		return fmt.Errorf("%w: token %q is no longer present", ErrNotFound, s.slot.label())
	}
	h, err := s.mod.OpenSession(sl.id, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("pkcs11: open session on token %q: %w", sl.label(), err)
	}
	if err := loginUser(s.mod, h, p11.CKU_USER, s.pin, sl.label()); err != nil {
		s.mod.CloseSession(h)
		return err
	}
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, uint(s.key.keyType)),
		p11.NewAttribute(p11.CKA_ID, s.key.id),
		p11.NewAttribute(p11.CKA_LABEL, s.key.label),
	}
	hs, err := findObjects(s.mod, h, tmpl)
	if err != nil {
		s.mod.CloseSession(h)
		return err
	}
	for _, kh := range hs {
		k, ok := readKey(s.mod, h, kh)
		if ok && publicKeyMatches(s.mod, h, k, s.publicKey) != keyDiffers {
			s.slot, s.sess, s.key = *sl, h, k
			return nil
		}
	}
	s.mod.CloseSession(h)
	return fmt.Errorf("%w: key %s is no longer on token %q", ErrNotFound, s.key.describe(), sl.label())
}

// Close closes the session and releases the module (finalised
// when its last user closes). It is safe to call more than once.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	// Closing the application's last session on the token logs it out
	// (PKCS#11 v2.40 §5.6); an explicit C_Logout would also log out other
	// Signers on the same token.
	s.dropSession()
	s.pin, s.ctxPIN = "", ""
	if s.release != nil {
		s.release()
	}
	return nil
}
