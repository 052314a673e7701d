package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // crypto.SHA384 and crypto.SHA512
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/internal/helper/pkcs11/softhsmtest"
	"github.com/roam-project/roam/pki"
)

const (
	testToken = "roam-test"
	testPIN   = "4321"
)

// testCA is a root and an intermediate CA.
type testCA struct {
	root, inter *pki.Issuer
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	rootKey, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootCert, err := pki.NewRootCA(rootKey, pki.CAOptions{Subject: pkix.Name{CommonName: name + " root"}, MaxPathLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	root := &pki.Issuer{Cert: rootCert, Key: rootKey}
	interKey, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	interCert, _, err := root.NewIntermediateCA(interKey.Public(), pki.CAOptions{Subject: pkix.Name{CommonName: name + " intermediate"}})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{root: root, inter: &pki.Issuer{Cert: interCert, Key: interKey}}
}

func issue(t *testing.T, iss *pki.Issuer, cn string, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	is, err := iss.Issue(pki.LeafRequest{Profile: pki.ProfileClient, Subject: pkix.Name{CommonName: cn}, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	return is.Cert
}

// fixture is a SoftHSM token holding:
//
//	id 01 "rsa-gen"      RSA-2048 generated on the token, certificate "rsa-gen" id 01
//	id 02 "ec-gen"       EC P-256 generated on the token, certificate "ec-gen" id 02
//	id 03 "imported-key" RSA-2048 imported; its certificate is "imported-cert" id 03
//	id 05 "orphan-key"   EC imported; its certificate is "orphan-cert" id 06
//	id 07 "private"      EC generated; its certificate "private" id 07 is CKA_PRIVATE
//	"root-ca", "intermediate-ca", "unrelated-ca", and "other-leaf" (issued by the root)
//
// Leaves are issued by the intermediate.
type fixture struct {
	tok   *softhsmtest.Token
	ca    *testCA
	certs map[string]*x509.Certificate
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tok := softhsmtest.New(t, testToken, testPIN)
	f := &fixture{tok: tok, ca: newTestCA(t, "pkcs11 test"), certs: map[string]*x509.Certificate{}, dir: t.TempDir()}
	leaf := func(name string, id []byte, pub crypto.PublicKey, certLabel string, certID []byte, private bool) {
		c := issue(t, f.ca.inter, name, pub)
		tok.WriteCertificate(t, c, certID, certLabel, private)
		f.certs[name] = c
	}
	leaf("rsa-gen", []byte{1}, tok.GenerateKey(t, "rsa:2048", []byte{1}, "rsa-gen"), "rsa-gen", []byte{1}, false)
	leaf("ec-gen", []byte{2}, tok.GenerateKey(t, "EC:prime256v1", []byte{2}, "ec-gen"), "ec-gen", []byte{2}, false)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok.ImportKey(t, rsaKey, []byte{3}, "imported-key")
	leaf("imported", []byte{3}, rsaKey.Public(), "imported-cert", []byte{3}, false)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok.ImportKey(t, ecKey, []byte{5}, "orphan-key")
	leaf("orphan", []byte{5}, ecKey.Public(), "orphan-cert", []byte{6}, false)

	leaf("private", []byte{7}, tok.GenerateKey(t, "EC:prime256v1", []byte{7}, "private"), "private", []byte{7}, true)

	tok.WriteCertificate(t, f.ca.root.Cert, nil, "root-ca", false)
	tok.WriteCertificate(t, f.ca.inter.Cert, nil, "intermediate-ca", false)
	other := newTestCA(t, "unrelated")
	tok.WriteCertificate(t, other.root.Cert, nil, "unrelated-ca", false)
	tok.WriteCertificate(t, issue(t, f.ca.root, "other-leaf", ecKey.Public()), []byte{9}, "other-leaf", false)
	return f
}

func (f *fixture) opts(cert, key string) *helper.SignerOptions {
	return &helper.SignerOptions{Certificate: cert, PrivateKey: key, PKCS11Lib: f.tok.Module}
}

// writePEM writes certs to a file in the fixture's directory.
func (f *fixture) writePEM(t *testing.T, name string, certs ...*x509.Certificate) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, pki.EncodeCertificatesPEM(certs...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkSigns signs a digest of each hash with s and verifies it with the
// certificate's public key.
func checkSigns(t *testing.T, s helper.Signer, hashes ...crypto.Hash) {
	t.Helper()
	if len(hashes) == 0 {
		hashes = []crypto.Hash{crypto.SHA256}
	}
	for _, h := range hashes {
		msg := []byte("roam pkcs11 test " + h.String())
		hh := h.New()
		hh.Write(msg)
		digest := hh.Sum(nil)
		sig, err := s.Sign(rand.Reader, digest, h)
		if err != nil {
			t.Fatalf("Sign(%v): %v", h, err)
		}
		switch pub := s.Certificate().PublicKey.(type) {
		case *rsa.PublicKey:
			if err := rsa.VerifyPKCS1v15(pub, h, digest, sig); err != nil {
				t.Fatalf("RSA %v signature does not verify with the certificate: %v", h, err)
			}
		case *ecdsa.PublicKey:
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				t.Fatalf("ECDSA %v signature (%x) does not verify with the certificate", h, sig)
			}
		default:
			t.Fatalf("certificate key %T", pub)
		}
	}
	if err := helper.CheckSigner(s); err != nil {
		t.Fatal(err)
	}
}

func sameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func names(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestOpenSoftHSM(t *testing.T) {
	f := newFixture(t)
	tokenChain := []*x509.Certificate{f.ca.inter.Cert, f.ca.root.Cert}
	interFile := f.writePEM(t, "inter.pem", f.ca.inter.Cert)
	tests := []struct {
		name      string
		opts      func() *helper.SignerOptions
		wantCert  string
		wantChain []*x509.Certificate
		hashes    []crypto.Hash
	}{
		{
			name: "RSA generated on the token, official URI form with pin-value",
			opts: func() *helper.SignerOptions {
				return f.opts("pkcs11:token=roam-test;object=rsa-gen;type=cert?pin-value="+testPIN, "")
			},
			wantCert: "rsa-gen", wantChain: tokenChain,
			hashes: []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512},
		},
		{
			name: "EC generated on the token, --pkcs11-pin",
			opts: func() *helper.SignerOptions {
				o := f.opts("pkcs11:token=roam-test;object=ec-gen", "")
				o.PKCS11PIN = testPIN
				return o
			},
			wantCert: "ec-gen", wantChain: tokenChain,
			hashes: []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512},
		},
		{
			name:     "select by CKA_ID only",
			opts:     func() *helper.SignerOptions { return f.opts("pkcs11:token=roam-test;id=%02?pin-value="+testPIN, "") },
			wantCert: "ec-gen", wantChain: tokenChain,
		},
		{
			name: "key label differs from the certificate's: found by the certificate's CKA_ID",
			opts: func() *helper.SignerOptions {
				return f.opts("pkcs11:token=roam-test;object=imported-cert?pin-value="+testPIN, "")
			},
			wantCert: "imported", wantChain: tokenChain,
		},
		{
			name: "neither label nor ID shared: found by public key",
			opts: func() *helper.SignerOptions {
				return f.opts("pkcs11:token=roam-test;object=orphan-cert?pin-value="+testPIN, "")
			},
			wantCert: "orphan", wantChain: tokenChain,
		},
		{
			name: "private certificate: found after login",
			opts: func() *helper.SignerOptions {
				return f.opts("pkcs11:token=roam-test;object=private?pin-value="+testPIN, "")
			},
			wantCert: "private", wantChain: tokenChain,
		},
		{
			name: "certificate file and key URI",
			opts: func() *helper.SignerOptions {
				return f.opts(f.writePEM(t, "rsa-gen.pem", f.certs["rsa-gen"]), "pkcs11:token=roam-test;object=rsa-gen;type=private?pin-value="+testPIN)
			},
			wantCert: "rsa-gen", wantChain: nil,
		},
		{
			name: "certificate file, key URI without object: the key is found by public key",
			opts: func() *helper.SignerOptions {
				o := f.opts(f.writePEM(t, "orphan.pem", f.certs["orphan"]), "pkcs11:token=roam-test")
				o.PKCS11PIN = testPIN
				return o
			},
			wantCert: "orphan", wantChain: nil,
		},
		{
			name: "certificate URI and key URI",
			opts: func() *helper.SignerOptions {
				return f.opts("pkcs11:token=roam-test;object=ec-gen;type=cert", "pkcs11:token=roam-test;id=%02;type=private?pin-value="+testPIN)
			},
			wantCert: "ec-gen", wantChain: tokenChain,
		},
		{
			name: "--intermediates replaces the token's chain",
			opts: func() *helper.SignerOptions {
				o := f.opts("pkcs11:token=roam-test;object=rsa-gen?pin-value="+testPIN, "")
				o.Intermediates = interFile
				return o
			},
			wantCert: "rsa-gen", wantChain: []*x509.Certificate{f.ca.inter.Cert},
		},
		{
			name: "module from the URI's module-path",
			opts: func() *helper.SignerOptions {
				o := f.opts("pkcs11:token=roam-test;object=ec-gen?module-path="+f.tok.Module+"&pin-value="+testPIN, "")
				o.PKCS11Lib = ""
				return o
			},
			wantCert: "ec-gen", wantChain: tokenChain,
		},
		{
			name: "PIN from pin-source",
			opts: func() *helper.SignerOptions {
				p := filepath.Join(f.dir, "pin.txt")
				if err := os.WriteFile(p, []byte(testPIN+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return f.opts("pkcs11:token=roam-test;object=ec-gen?pin-source=file:"+p, "")
			},
			wantCert: "ec-gen", wantChain: tokenChain,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.opts())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !s.Certificate().Equal(f.certs[tt.wantCert]) {
				t.Fatalf("certificate %q, want %q", s.Certificate().Subject.CommonName, tt.wantCert)
			}
			if !sameCerts(s.Chain(), tt.wantChain) {
				t.Errorf("chain %q, want %q", names(s.Chain()), names(tt.wantChain))
			}
			checkSigns(t, s, tt.hashes...)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256); !errors.Is(err, ErrClosed) {
				t.Fatalf("Sign after Close: %v, want ErrClosed", err)
			}
			if n := modules.refs(f.tok.Module); n != 0 {
				t.Fatalf("module still has %d users after Close", n)
			}
		})
	}
}

func TestOpenSoftHSMErrors(t *testing.T) {
	f := newFixture(t)
	const wrongPIN = "987654"
	tests := []struct {
		name    string
		opts    *helper.SignerOptions
		is      error
		want    string
		notWant []string
	}{
		{
			name: "wrong pin-value",
			opts: f.opts("pkcs11:token=roam-test;object=rsa-gen?pin-value="+wrongPIN, ""),
			is:   ErrIncorrectPIN, want: `token "roam-test"`, notWant: []string{wrongPIN},
		},
		{
			name: "wrong --pkcs11-pin",
			opts: func() *helper.SignerOptions {
				o := f.opts("pkcs11:token=roam-test;object=private", "")
				o.PKCS11PIN = wrongPIN
				return o
			}(),
			is: ErrIncorrectPIN, notWant: []string{wrongPIN},
		},
		{
			name: "no such object",
			opts: f.opts("pkcs11:token=roam-test;object=nope?pin-value="+testPIN, ""),
			is:   ErrNotFound, want: "object=nope", notWant: []string{testPIN},
		},
		{
			name: "no such token",
			opts: f.opts("pkcs11:token=elsewhere;object=rsa-gen", ""),
			is:   ErrNotFound, want: `tokens present: "roam-test"`,
		},
		{
			name: "private certificate and no PIN, no terminal",
			opts: f.opts("pkcs11:token=roam-test;object=private", ""),
			is:   ErrPINRequired, want: "--pkcs11-pin",
		},
		{
			name: "public certificate, key needs a PIN that was not given",
			opts: f.opts("pkcs11:token=roam-test;object=ec-gen", ""),
			is:   ErrPINRequired,
		},
		{
			name: "several certificates match",
			opts: f.opts("pkcs11:token=roam-test?pin-value="+testPIN, ""),
			is:   ErrNotFound, want: "certificates match", notWant: []string{testPIN},
		},
		{
			name: "key URI names a key that is not the certificate's",
			opts: f.opts(f.writePEM(t, "ec.pem", f.certs["ec-gen"]), "pkcs11:token=roam-test;object=rsa-gen?pin-value="+testPIN),
			is:   ErrNotFound, want: "belongs to the certificate",
		},
		{
			name: "missing module",
			opts: &helper.SignerOptions{Certificate: "pkcs11:token=roam-test", PKCS11Lib: "/nonexistent/libp11.so"},
			want: "/nonexistent/libp11.so",
		},
		{
			name: "malformed URI with a PIN",
			opts: f.opts("pkcs11:token=roam-test?pin-value="+wrongPIN+"%zz", ""),
			is:   ErrMalformedURI, notWant: []string{wrongPIN},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
			for _, nw := range tt.notWant {
				if strings.Contains(err.Error(), nw) {
					t.Errorf("err = %v shows a secret", err)
				}
			}
			if n := modules.refs(f.tok.Module); n != 0 {
				t.Fatalf("module still has %d users after a failed Open", n)
			}
		})
	}
}

// recordingPrompt answers with answers in turn and records the questions.
type recordingPrompt struct {
	mu      sync.Mutex
	answers []string
	asked   []string
}

func (p *recordingPrompt) prompt(_ context.Context, what string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, what)
	if len(p.asked) > len(p.answers) {
		return "", errors.New("no more answers")
	}
	return p.answers[len(p.asked)-1], nil
}

func TestPINPrompt(t *testing.T) {
	f := newFixture(t)
	t.Run("asked once, after the public search", func(t *testing.T) {
		p := &recordingPrompt{answers: []string{testPIN}}
		o := f.opts("pkcs11:token=roam-test;object=ec-gen", "")
		o.Prompt = p.prompt
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkSigns(t, s)
		checkSigns(t, s)
		if len(p.asked) != 1 || !strings.Contains(p.asked[0], `user PIN for token "roam-test"`) {
			t.Fatalf("prompts = %q, want one for the user PIN", p.asked)
		}
	})
	t.Run("mistyped, then right", func(t *testing.T) {
		p := &recordingPrompt{answers: []string{"0000", testPIN}}
		o := f.opts("pkcs11:token=roam-test;object=private", "")
		o.Prompt = p.prompt
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkSigns(t, s)
		if len(p.asked) != 2 {
			t.Fatalf("prompts = %q, want 2", p.asked)
		}
	})
	t.Run("wrong three times", func(t *testing.T) {
		p := &recordingPrompt{answers: []string{"0000", "1111", "2222", testPIN}}
		o := f.opts("pkcs11:token=roam-test;object=private", "")
		o.Prompt = p.prompt
		_, err := Open(context.Background(), o)
		if !errors.Is(err, ErrIncorrectPIN) || len(p.asked) != promptAttempts {
			t.Fatalf("err = %v after %d prompts; want ErrIncorrectPIN after %d", err, len(p.asked), promptAttempts)
		}
	})
	t.Run("a given PIN is not retried", func(t *testing.T) {
		p := &recordingPrompt{answers: []string{testPIN}}
		o := f.opts("pkcs11:token=roam-test;object=private?pin-value=0000", "")
		o.Prompt = p.prompt
		_, err := Open(context.Background(), o)
		if !errors.Is(err, ErrIncorrectPIN) || len(p.asked) != 0 {
			t.Fatalf("err = %v after %d prompts; want ErrIncorrectPIN and no prompt", err, len(p.asked))
		}
	})
}

// createAlwaysAuthKey creates an EC key pair with CKA_ALWAYS_AUTHENTICATE
// on the private key through the PKCS#11 API (pkcs11-tool cannot set it)
// and returns its public key.
func createAlwaysAuthKey(t *testing.T, tok *softhsmtest.Token, id []byte, label string) *ecdsa.PublicKey {
	t.Helper()
	mod, release, err := modules.acquire(tok.Module)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	slots, err := listSlots(mod)
	if err != nil {
		t.Fatal(err)
	}
	sl := matchSlots(slots, &URI{Token: tok.Label})
	if len(sl) != 1 {
		t.Fatalf("%d slots for %q", len(sl), tok.Label)
	}
	sh, err := mod.OpenSession(sl[0].id, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.CloseSession(sh)
	if err := mod.Login(sh, p11.CKU_USER, tok.PIN); err != nil {
		t.Fatal(err)
	}
	params, _ := curveOID(elliptic.P256())
	pubH, _, err := mod.GenerateKeyPair(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)},
		[]*p11.Attribute{
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_VERIFY, true),
			p11.NewAttribute(p11.CKA_EC_PARAMS, params),
			p11.NewAttribute(p11.CKA_ID, id),
			p11.NewAttribute(p11.CKA_LABEL, label),
		},
		[]*p11.Attribute{
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_SIGN, true),
			p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, true),
			p11.NewAttribute(p11.CKA_ID, id),
			p11.NewAttribute(p11.CKA_LABEL, label),
		})
	if err != nil {
		t.Fatalf("generate always-authenticate key: %v", err)
	}
	point, ok := attr(mod, sh, pubH, p11.CKA_EC_POINT)
	if !ok {
		t.Fatal("no CKA_EC_POINT")
	}
	var raw []byte
	if _, err := asn1.Unmarshal(point, &raw); err != nil {
		t.Fatal(err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestAlwaysAuthenticate(t *testing.T) {
	f := newFixture(t)
	pub := createAlwaysAuthKey(t, f.tok, []byte{0x0a}, "always")
	f.tok.WriteCertificate(t, issue(t, f.ca.inter, "always", pub), []byte{0x0a}, "always", false)
	uri := "pkcs11:token=roam-test;object=always?pin-value=" + testPIN

	t.Run("SoftHSM enforces it: no signature without the context login", func(t *testing.T) {
		o := f.opts(uri, "")
		o.ReusePIN = true
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ps := s.(*Signer)
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if err := ps.mod.SignInit(ps.sess, []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}, ps.key.handle); err != nil {
			t.Fatal(err)
		}
		_, err = ps.mod.Sign(ps.sess, make([]byte, 32))
		var ce p11.Error
		if !errors.As(err, &ce) || ce != p11.CKR_USER_NOT_LOGGED_IN {
			t.Fatalf("raw C_Sign without context login: %v, want CKR_USER_NOT_LOGGED_IN", err)
		}
		ps.dropSession()
	})

	t.Run("--reuse-pin: the user PIN logs in before every signature", func(t *testing.T) {
		o := f.opts(uri, "")
		o.ReusePIN = true
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !s.(*Signer).key.alwaysAuth {
			t.Fatal("key not seen as CKA_ALWAYS_AUTHENTICATE")
		}
		for range 3 {
			checkSigns(t, s)
		}
	})
	t.Run("no --reuse-pin, no terminal: a clear error", func(t *testing.T) {
		s, err := Open(context.Background(), f.opts(uri, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
		if !errors.Is(err, ErrPINRequired) || !strings.Contains(err.Error(), "--reuse-pin") || strings.Contains(err.Error(), testPIN) {
			t.Fatalf("err = %v, want ErrPINRequired mentioning --reuse-pin", err)
		}
		// The failed attempt leaves the Signer usable.
		s.(*Signer).reusePIN = true
		checkSigns(t, s)
	})
	t.Run("prompted once, then remembered", func(t *testing.T) {
		p := &recordingPrompt{answers: []string{testPIN}}
		o := f.opts(uri, "")
		o.Prompt = p.prompt
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkSigns(t, s)
		checkSigns(t, s)
		if len(p.asked) != 1 || !strings.Contains(p.asked[0], "context-specific PIN") {
			t.Fatalf("prompts = %q, want one for the context-specific PIN", p.asked)
		}
	})
	t.Run("wrong context PIN", func(t *testing.T) {
		p := &recordingPrompt{answers: []string{"0000", "1111", "2222"}}
		o := f.opts(uri, "")
		o.Prompt = p.prompt
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
		if !errors.Is(err, ErrIncorrectPIN) {
			t.Fatalf("err = %v, want ErrIncorrectPIN", err)
		}
	})
}

// TestSessionRecovery: a Signer whose session the module dropped opens a
// new one and signs.
func TestSessionRecovery(t *testing.T) {
	f := newFixture(t)
	s, err := Open(context.Background(), f.opts("pkcs11:token=roam-test;object=rsa-gen?pin-value="+testPIN, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps := s.(*Signer)
	checkSigns(t, s)
	if err := ps.mod.CloseAllSessions(ps.slot.id); err != nil {
		t.Fatal(err)
	}
	checkSigns(t, s)
	if err := ps.mod.CloseAllSessions(ps.slot.id); err != nil {
		t.Fatal(err)
	}
	checkSigns(t, s)
}

// TestConcurrentSign: one Signer used from several goroutines.
func TestConcurrentSign(t *testing.T) {
	f := newFixture(t)
	for _, obj := range []string{"ec-gen", "rsa-gen"} {
		s, err := Open(context.Background(), f.opts("pkcs11:token=roam-test;object="+obj+"?pin-value="+testPIN, ""))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for g := range 8 {
			wg.Go(func() {
				for i := range 5 {
					d := sha256.Sum256([]byte{byte(g), byte(i)})
					sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
					if err == nil && !verify(s.Public(), d[:], sig) {
						err = errors.New("signature does not verify")
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", obj, err)
		}
		s.Close()
	}
	if n := modules.refs(f.tok.Module); n != 0 {
		t.Fatalf("module has %d users", n)
	}
}

// TestTwoSignersShareTheModule: two Signers on the same module; closing one
// leaves the other working (one C_Initialize, C_Finalize at the last Close).
func TestTwoSignersShareTheModule(t *testing.T) {
	f := newFixture(t)
	a, err := Open(context.Background(), f.opts("pkcs11:token=roam-test;object=ec-gen?pin-value="+testPIN, ""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), f.opts("pkcs11:token=roam-test;object=rsa-gen?pin-value="+testPIN, ""))
	if err != nil {
		t.Fatal(err)
	}
	if n := modules.refs(f.tok.Module); n != 2 {
		t.Fatalf("module users = %d, want 2", n)
	}
	a.Close()
	checkSigns(t, b)
	b.Close()
	if n := modules.refs(f.tok.Module); n != 0 {
		t.Fatalf("module users = %d, want 0", n)
	}
}
