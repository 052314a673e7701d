package gateway

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

// trustFixture is two client CAs in one bundle file (one with an
// intermediate), a third CA in a second file, and an outsider CA.
type trustFixture struct {
	dir                    string
	caA, caB, caC, outside *testCA
	interA                 *testCA
	bundleAB, bundleC      string
	crlA, crlInter         string
}

func newTrustFixture(t *testing.T) *trustFixture {
	t.Helper()
	f := &trustFixture{dir: t.TempDir()}
	f.caA, f.caB, f.caC = newTestCA(t, "CA A"), newTestCA(t, "CA B"), newTestCA(t, "CA C")
	f.outside = newTestCA(t, "outsider")
	f.interA = f.caA.intermediate(t, "CA A issuing")
	f.bundleAB = filepath.Join(f.dir, "bundle-ab.pem")
	writeFile(t, f.bundleAB, pki.EncodeCertificatesPEM(f.caA.Cert, f.caB.Cert))
	f.bundleC = filepath.Join(f.dir, "bundle-c.pem")
	writeFile(t, f.bundleC, pki.EncodeCertificatesPEM(f.caC.Cert))
	f.crlA = filepath.Join(f.dir, "a.crl")
	writeFile(t, f.crlA, f.caA.crl(t))
	f.crlInter = filepath.Join(f.dir, "inter.crl")
	return f
}

func (f *trustFixture) store(t *testing.T) *TrustStore {
	t.Helper()
	ts, err := NewTrustStore([]string{f.bundleAB, f.bundleC}, []string{f.crlA})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func reason(err error) string {
	var ce *CertError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

// TestTrustStoreVerify: the reasons a certificate is refused, with a
// bundle of several CAs in several files.
func TestTrustStoreVerify(t *testing.T) {
	f := newTrustFixture(t)
	now := time.Now()
	fromA, fromB, fromC := f.caA.client(t, "a"), f.caB.client(t, "b"), f.caC.client(t, "c")
	viaInter := f.interA.client(t, "via-intermediate")
	revokedLeaf := f.caA.client(t, "revoked")
	revokedInter := f.caA.intermediate(t, "revoked intermediate")
	underRevokedInter := revokedInter.client(t, "under-revoked-intermediate")
	expired := f.caA.issue(t, leafOpts{subject: pkix.Name{CommonName: "expired"}, now: now.Add(-10 * 24 * time.Hour), validity: 24 * time.Hour})
	notYet := f.caA.issue(t, leafOpts{subject: pkix.Name{CommonName: "not yet"}, now: now.Add(24 * time.Hour), validity: 24 * time.Hour})
	expiredUntrusted := f.outside.issue(t, leafOpts{subject: pkix.Name{CommonName: "expired outsider"}, now: now.Add(-10 * 24 * time.Hour), validity: 24 * time.Hour})
	expiredRevoked := f.caA.issue(t, leafOpts{subject: pkix.Name{CommonName: "expired and revoked"}, now: now.Add(-10 * 24 * time.Hour), validity: 24 * time.Hour})
	server := f.caA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "server.example"}})
	writeFile(t, f.crlA, f.caA.crl(t, revokedLeaf.cert, revokedInter.Cert, expiredRevoked.cert))
	ts := f.store(t)

	cases := []struct {
		name  string
		certs []*x509.Certificate
		at    time.Time
		want  string // "" for trusted
	}{
		{"first CA of the first file", []*x509.Certificate{fromA.cert}, now, ""},
		{"second CA of the first file", []*x509.Certificate{fromB.cert}, now, ""},
		{"CA of the second file", []*x509.Certificate{fromC.cert}, now, ""},
		{"leaf with its intermediate", []*x509.Certificate{viaInter.cert, f.interA.Cert}, now, ""},
		{"server profile leaf (any EKU is accepted, as CreateSession does)", []*x509.Certificate{server.cert}, now, ""},
		{"no certificate", nil, now, ReasonMissing},
		{"untrusted CA", []*x509.Certificate{f.outside.client(t, "x").cert}, now, ReasonUntrusted},
		{"intermediate not presented", []*x509.Certificate{viaInter.cert}, now, ReasonUntrusted},
		{"a CA presented as the leaf", []*x509.Certificate{f.interA.Cert}, now, ReasonInvalid},
		{"expired", []*x509.Certificate{expired.cert}, now, ReasonExpired},
		{"not yet valid", []*x509.Certificate{notYet.cert}, now, ReasonExpired},
		{"valid now, expired later", []*x509.Certificate{fromA.cert}, now.Add(2 * 365 * 24 * time.Hour), ReasonExpired},
		{"revoked leaf", []*x509.Certificate{revokedLeaf.cert}, now, ReasonRevoked},
		{"revoked intermediate", []*x509.Certificate{underRevokedInter.cert, revokedInter.Cert}, now, ReasonRevoked},
		{"serial revoked by another CA's CRL does not count", []*x509.Certificate{sameSerial(t, f.caB, revokedLeaf.cert)}, now, ""},
		{"expired and untrusted is untrusted", []*x509.Certificate{expiredUntrusted.cert}, now, ReasonUntrusted},
		{"expired and revoked is expired", []*x509.Certificate{expiredRevoked.cert}, now, ReasonExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Twice: the second call is served from the cache and must
			// give the same answer.
			for i := range 2 {
				leaf, err := ts.Verify(c.certs, c.at)
				if got := reason(err); got != c.want {
					t.Fatalf("call %d: reason %q (%v), want %q", i+1, got, err, c.want)
				}
				if c.want == "" && leaf != c.certs[0] {
					t.Fatalf("call %d: leaf %v, want the presented leaf", i+1, leaf)
				}
				if c.want != "" {
					var ce *CertError
					if errors.As(err, &ce); ce.Detail == "" || !strings.Contains(err.Error(), c.want) {
						t.Fatalf("error %q has no detail", err)
					}
				}
			}
		})
	}
}

// sameSerial issues a client certificate from ca with the serial number of
// other.
func sameSerial(t *testing.T, ca *testCA, other *x509.Certificate) *x509.Certificate {
	t.Helper()
	l := ca.client(t, "same-serial")
	tmpl := *l.cert
	tmpl.SerialNumber = other.SerialNumber
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.Cert, l.key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTrustStoreLoad(t *testing.T) {
	f := newTrustFixture(t)
	der := func(p []byte) []byte { b, _ := pem.Decode(p); return b.Bytes }
	cases := []struct {
		name    string
		ca      []byte // bundle; the fixture's A+B bundle if nil
		crl     []byte
		wantErr string
	}{
		{name: "CRL from a CA in the bundle", crl: f.caB.crl(t)},
		{name: "DER CRL from a CA in the bundle", crl: der(f.caA.crl(t))},
		{name: "CRL from a CA not in the bundle", crl: f.outside.crl(t), wantErr: "not issued by a certificate of the trust bundle"},
		{name: "CRL from an intermediate not in the bundle", crl: f.interA.crl(t), wantErr: "not issued by a certificate of the trust bundle"},
		{name: "CRL with a forged issuer name", crl: forgedCRL(t, f.caA), wantErr: "signature does not verify"},
		{name: "CRL that is a certificate", crl: pki.EncodeCertificatesPEM(f.caA.Cert), wantErr: `PEM block "CERTIFICATE", want X509 CRL`},
		{name: "CRL that is garbage", crl: []byte("not a crl"), wantErr: "parse"},
		{name: "bundle that is garbage", ca: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), crl: f.caA.crl(t), wantErr: "trust bundle"},
		{name: "empty bundle", ca: []byte{}, crl: f.caA.crl(t), wantErr: "no certificate"},
		{name: "bundle with a leaf", ca: pki.EncodeCertificatesPEM(f.caA.Cert, f.caA.client(t, "leaf").cert), crl: f.caA.crl(t), wantErr: "is not a CA certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			bundle, crl := filepath.Join(dir, "bundle.pem"), filepath.Join(dir, "c.crl")
			b := c.ca
			if b == nil {
				b = pki.EncodeCertificatesPEM(f.caA.Cert, f.caB.Cert)
			}
			writeFile(t, bundle, b)
			writeFile(t, crl, c.crl)
			ts, err := NewTrustStore([]string{bundle}, []string{crl})
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if ts.Generation() != 1 {
					t.Errorf("generation %d", ts.Generation())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err %v, want %q", err, c.wantErr)
			}
		})
	}
	if _, err := NewTrustStore([]string{filepath.Join(f.dir, "absent.pem")}, nil); err == nil {
		t.Error("a missing bundle file loaded")
	}
}

// forgedCRL is a CRL from another CA with victim's name.
func forgedCRL(t *testing.T, victim *testCA) []byte {
	t.Helper()
	impostor := newTestCA(t, victim.Cert.Subject.CommonName)
	if string(impostor.Cert.RawSubject) != string(victim.Cert.RawSubject) {
		t.Fatal("impostor has another name")
	}
	return impostor.crl(t)
}

// TestTrustStoreReload: a changed bundle or CRL is picked up; unchanged
// files are not reloaded; a bad new file keeps the old bundle in use.
func TestTrustStoreReload(t *testing.T) {
	f := newTrustFixture(t)
	ts := f.store(t)
	now := time.Now()
	fromA, fromOutside := f.caA.client(t, "a"), f.outside.client(t, "o")
	verify := func(l *testLeaf) string { _, err := ts.Verify([]*x509.Certificate{l.cert}, now); return reason(err) }

	steps := []struct {
		name        string
		do          func()
		force       bool
		wantChanged bool
		wantErr     string
		wantGen     uint64
		wantA       string // the reason for fromA
		wantOutside string // the reason for fromOutside
	}{
		{name: "nothing changed", do: func() {}, wantGen: 1, wantOutside: ReasonUntrusted},
		{name: "same content rewritten", do: func() { replaceFile(t, f.crlA, readFile(t, f.crlA)) }, wantGen: 1, wantOutside: ReasonUntrusted},
		{name: "forced reload", do: func() {}, force: true, wantChanged: true, wantGen: 2, wantOutside: ReasonUntrusted},
		{name: "CRL revokes A's leaf", do: func() { replaceFile(t, f.crlA, f.caA.crl(t, fromA.cert)) }, wantChanged: true, wantGen: 3, wantA: ReasonRevoked, wantOutside: ReasonUntrusted},
		{name: "bad CRL keeps the old one", do: func() { replaceFile(t, f.crlA, []byte("-----BEGIN X509 CRL-----\ntruncated")) }, wantErr: "crl", wantGen: 3, wantA: ReasonRevoked, wantOutside: ReasonUntrusted},
		{name: "CRL from an outsider keeps the old one", do: func() { replaceFile(t, f.crlA, f.outside.crl(t)) }, wantErr: "not issued by", wantGen: 3, wantA: ReasonRevoked, wantOutside: ReasonUntrusted},
		{name: "the error is reported on every poll", do: func() {}, wantErr: "not issued by", wantGen: 3, wantA: ReasonRevoked, wantOutside: ReasonUntrusted},
		{name: "good CRL again", do: func() { replaceFile(t, f.crlA, f.caA.crl(t)) }, wantChanged: true, wantGen: 4, wantOutside: ReasonUntrusted},
		{name: "bad bundle keeps the old one", do: func() { replaceFile(t, f.bundleC, []byte("garbage")) }, wantErr: "trust bundle", wantGen: 4, wantOutside: ReasonUntrusted},
		{name: "deleted bundle keeps the old one", do: func() { removeFile(t, f.bundleC) }, wantErr: "no such file", wantGen: 4, wantOutside: ReasonUntrusted},
		{name: "new bundle adds the outsider", do: func() { replaceFile(t, f.bundleC, pki.EncodeCertificatesPEM(f.caC.Cert, f.outside.Cert)) }, wantChanged: true, wantGen: 5},
		{name: "bundle without A", do: func() { replaceFile(t, f.bundleAB, pki.EncodeCertificatesPEM(f.caB.Cert)) }, wantErr: "not issued by", wantGen: 5},
		{name: "bundle without A and no CRL of A", do: func() { replaceFile(t, f.crlA, f.caB.crl(t)) }, wantChanged: true, wantGen: 6, wantA: ReasonUntrusted},
	}
	for _, s := range steps {
		s.do()
		changed, err := ts.Reload(s.force)
		if changed != s.wantChanged || (err == nil) != (s.wantErr == "") || err != nil && !strings.Contains(err.Error(), s.wantErr) {
			t.Fatalf("%s: Reload = %v, %v; want %v, %q", s.name, changed, err, s.wantChanged, s.wantErr)
		}
		if g := ts.Generation(); g != s.wantGen {
			t.Fatalf("%s: generation %d, want %d", s.name, g, s.wantGen)
		}
		if got := verify(fromA); got != s.wantA {
			t.Fatalf("%s: A's leaf: %q, want %q", s.name, got, s.wantA)
		}
		if got := verify(fromOutside); got != s.wantOutside {
			t.Fatalf("%s: outsider's leaf: %q, want %q", s.name, got, s.wantOutside)
		}
	}
}
