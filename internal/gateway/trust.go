package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/pki"
)

// Why a client certificate was refused, as reported to the client and in
// metrics.
const (
	ReasonMissing   = "missing"
	ReasonExpired   = "expired"
	ReasonUntrusted = "untrusted"
	ReasonRevoked   = "revoked"
	ReasonInvalid   = "invalid"
)

// CertError is a refused client certificate. Reason is one of the Reason*
// constants; Detail is safe to return to the client.
type CertError struct {
	Reason string
	Detail string
}

func (e *CertError) Error() string { return "client certificate " + e.Reason + ": " + e.Detail }

// bundle is one immutable generation of a trust bundle and its CRLs.
type bundle struct {
	gen     uint64
	anchors []*x509.Certificate
	roots   *x509.CertPool
	// revoked holds issuer-qualified serials from the CRLs.
	revoked map[revokedKey]struct{}
	// crlNextUpdate is the earliest NextUpdate of the CRLs (zero if none).
	crlNextUpdate time.Time
	// cache holds verified chains by SHA-256 of the presented DER chain.
	cache sync.Map // [32]byte → *verified
	size  atomic.Int64
}

type revokedKey struct {
	issuer string
	serial string
}

// verified is a certificate chain that verified against a bundle.
type verified struct {
	leaf     *x509.Certificate
	chain    []*x509.Certificate // the presented certificates after the leaf
	notAfter time.Time           // earliest NotAfter along the verified chain
	notBefor time.Time           // latest NotBefore along the verified chain
	revoked  bool
	issuer   []*x509.Certificate
}

const maxVerifiedCache = 10000

// fileStamp is what change detection compares.
type fileStamp struct {
	mod  time.Time
	size int64
	sum  [32]byte
	info os.FileInfo // a file renamed into place is a different file
}

// TrustStore is a hot-reloaded trust bundle (CA files) with CRLs. Verify is
// lock-free; Reload swaps in a new bundle atomically and keeps the old one
// if any file is bad.
type TrustStore struct {
	caFiles, crlFiles []string
	cur               atomic.Pointer[bundle]
	mu                sync.Mutex // serialises Reload
	stamps            map[string]fileStamp
	gen               uint64
}

// NewTrustStore loads the CA and CRL files; it fails if they do not load.
func NewTrustStore(caFiles, crlFiles []string) (*TrustStore, error) {
	ts := &TrustStore{caFiles: caFiles, crlFiles: crlFiles}
	if _, err := ts.Reload(true); err != nil {
		return nil, err
	}
	return ts, nil
}

// Generation returns the generation of the bundle in use (1 after load).
func (ts *TrustStore) Generation() uint64 { return ts.cur.Load().gen }

// Reload re-reads the files if any changed (or always with force). It
// reports whether a new bundle was installed. On error the old bundle stays.
func (ts *TrustStore) Reload(force bool) (bool, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	files := append(append([]string(nil), ts.caFiles...), ts.crlFiles...)
	stamps := make(map[string]fileStamp, len(files))
	contents := make(map[string][]byte, len(files))
	changed := force || ts.stamps == nil
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return false, fmt.Errorf("trust bundle: %w", err)
		}
		old, seen := ts.stamps[f]
		if !changed && seen && st.ModTime().Equal(old.mod) && st.Size() == old.size && os.SameFile(st, old.info) {
			stamps[f] = old
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return false, fmt.Errorf("trust bundle: %w", err)
		}
		s := fileStamp{mod: st.ModTime(), size: st.Size(), sum: sha256.Sum256(b), info: st}
		if !seen || s.sum != old.sum {
			changed = true
		}
		stamps[f] = s
		contents[f] = b
	}
	if !changed {
		ts.stamps = stamps // remember new mtimes of identical content
		return false, nil
	}
	for _, f := range files {
		if contents[f] == nil {
			b, err := os.ReadFile(f)
			if err != nil {
				return false, fmt.Errorf("trust bundle: %w", err)
			}
			contents[f] = b
		}
	}
	b := &bundle{roots: x509.NewCertPool(), revoked: map[revokedKey]struct{}{}}
	for _, f := range ts.caFiles {
		certs, err := pki.ParseCertificatesPEM(contents[f])
		if err != nil {
			return false, fmt.Errorf("trust bundle %s: %w", f, err)
		}
		if len(certs) == 0 {
			return false, fmt.Errorf("trust bundle %s: no certificate", f)
		}
		for _, c := range certs {
			if !c.IsCA {
				return false, fmt.Errorf("trust bundle %s: %s is not a CA certificate", f, c.Subject)
			}
			b.anchors = append(b.anchors, c)
			b.roots.AddCert(c)
		}
	}
	for _, f := range ts.crlFiles {
		if err := b.addCRL(contents[f]); err != nil {
			return false, fmt.Errorf("crl %s: %w", f, err)
		}
	}
	ts.gen++
	b.gen = ts.gen
	ts.cur.Store(b)
	ts.stamps = stamps
	return true, nil
}

// addCRL adds the revoked serials of a PEM or DER CRL. A CRL issued by a
// bundle certificate must verify with it; other CRLs (from intermediates)
// are checked against the issuing certificate when a chain uses them.
func (b *bundle) addCRL(data []byte) error {
	der := data
	if p, _ := pem.Decode(data); p != nil {
		if p.Type != "X509 CRL" {
			return fmt.Errorf("PEM block %q, want X509 CRL", p.Type)
		}
		der = p.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	signed := false
	for _, c := range b.anchors {
		if bytes.Equal(c.RawSubject, crl.RawIssuer) {
			if err := crl.CheckSignatureFrom(c); err != nil {
				return fmt.Errorf("signature does not verify with %s: %w", c.Subject, err)
			}
			signed = true
		}
	}
	if !signed {
		return errors.New("not issued by a certificate of the trust bundle")
	}
	if !crl.NextUpdate.IsZero() && (b.crlNextUpdate.IsZero() || crl.NextUpdate.Before(b.crlNextUpdate)) {
		b.crlNextUpdate = crl.NextUpdate
	}
	for _, e := range crl.RevokedCertificateEntries {
		b.revoked[revokedKey{issuer: string(crl.RawIssuer), serial: e.SerialNumber.String()}] = struct{}{}
	}
	return nil
}

// Verify checks a presented certificate list (leaf first, as in
// tls.ConnectionState.PeerCertificates) at now: leaf rules, a chain to the
// bundle (the rest of the list as an unordered pool), validity and
// revocation of every certificate in the chain. Results are cached per
// bundle generation by the SHA-256 of the presented certificates; validity
// is re-checked on every call.
func (ts *TrustStore) Verify(certs []*x509.Certificate, now time.Time) (*x509.Certificate, error) {
	if len(certs) == 0 {
		return nil, &CertError{Reason: ReasonMissing, Detail: "no client certificate was presented"}
	}
	b := ts.cur.Load()
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
	}
	var key [32]byte
	h.Sum(key[:0])
	var v *verified
	if e, ok := b.cache.Load(key); ok {
		v = e.(*verified)
	} else {
		var err error
		if v, err = b.verify(certs, now); err != nil {
			return nil, err
		}
		if b.size.Add(1) <= maxVerifiedCache {
			b.cache.Store(key, v)
		}
	}
	if now.After(v.notAfter) {
		return nil, &CertError{Reason: ReasonExpired, Detail: "certificate " + v.leaf.Subject.String() + " (or its chain) expired at " + v.notAfter.UTC().Format(time.RFC3339)}
	}
	if now.Before(v.notBefor) {
		return nil, &CertError{Reason: ReasonExpired, Detail: "certificate " + v.leaf.Subject.String() + " is not valid before " + v.notBefor.UTC().Format(time.RFC3339)}
	}
	if v.revoked {
		return nil, &CertError{Reason: ReasonRevoked, Detail: "certificate serial " + pki.FormatSerialHex(v.leaf.SerialNumber) + " (or its chain) is revoked"}
	}
	return v.leaf, nil
}

func (b *bundle) verify(certs []*x509.Certificate, now time.Time) (*verified, error) {
	leaf := certs[0]
	v := &verified{leaf: leaf, chain: certs[1:]}
	// The same leaf rules as CreateSession, except validity, which is
	// reported as "expired" below with the chain's bounds.
	for _, p := range pki.CheckLeaf(leaf, now) {
		if p.Rule == pki.RuleValidity {
			continue
		}
		return nil, &CertError{Reason: ReasonInvalid, Detail: p.Message}
	}
	// The same chain logic as pki.CheckChain (anchors trusted as given, an
	// unordered intermediate pool, any extended key usage), with the
	// bundle's prebuilt root pool. Validity is checked at a time inside
	// the leaf's window so an expired leaf is reported as expired, not
	// untrusted.
	pool := x509.NewCertPool()
	for _, c := range certs[1:] {
		pool.AddCert(c)
	}
	at := now
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		at = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: b.roots, Intermediates: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, &CertError{Reason: ReasonExpired, Detail: "a certificate in the chain is outside its validity period"}
		}
		return nil, &CertError{Reason: ReasonUntrusted, Detail: "no chain to a trusted CA: " + err.Error()}
	}
	// Pick the chain with the latest expiry; check revocation along it.
	best := -1
	for i, ch := range chains {
		na, nb := chainWindow(ch)
		if best < 0 || na.After(v.notAfter) {
			best, v.notAfter, v.notBefor = i, na, nb
		}
	}
	ch := chains[best]
	v.issuer = ch[1:]
	if len(b.revoked) > 0 {
		for _, c := range ch[:len(ch)-1] { // the anchor itself is trusted as given
			if _, ok := b.revoked[revokedKey{issuer: string(c.RawIssuer), serial: c.SerialNumber.String()}]; ok {
				v.revoked = true
			}
		}
	}
	return v, nil
}

func chainWindow(ch []*x509.Certificate) (notAfter, notBefore time.Time) {
	for i, c := range ch {
		if i == 0 || c.NotAfter.Before(notAfter) {
			notAfter = c.NotAfter
		}
		if i == 0 || c.NotBefore.After(notBefore) {
			notBefore = c.NotBefore
		}
	}
	return notAfter, notBefore
}
