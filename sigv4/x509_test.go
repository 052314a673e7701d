package sigv4

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	helper "github.com/aws/rolesanywhere-credential-helper/aws_signing_helper"
)

// testPKI is a CA and a leaf certificate written to files the official
// helper can read.
type testPKI struct {
	ca, leaf                     *x509.Certificate
	key                          crypto.Signer
	keyPath, certPath, chainPath string
}

func newPKI(t testing.TB, kind string, serial *big.Int) *testPKI {
	t.Helper()
	gen := func() crypto.Signer {
		var k crypto.Signer
		var err error
		if kind == "rsa" {
			k, err = rsa.GenerateKey(rand.Reader, 2048)
		} else {
			k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := gen(), gen()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: kind + "-client.example.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	dir := t.TempDir()
	p := &testPKI{ca: ca, leaf: leaf, key: leafKey,
		keyPath:   filepath.Join(dir, "key.pem"),
		certPath:  filepath.Join(dir, "cert.pem"),
		chainPath: filepath.Join(dir, "chain.pem"),
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.keyPath, "PRIVATE KEY", pkcs8)
	write(p.certPath, "CERTIFICATE", leafDER)
	write(p.chainPath, "CERTIFICATE", caDER)
	return p
}

// captured is a CreateSession request as the server saw it.
type captured struct {
	r    *http.Request
	body []byte
	err  error // VerifyX509's verdict at receipt
}

// captureHelperRequest runs the official helper's GenerateCredentials
// against a test server that verifies with VerifyX509, and returns what the
// server received.
func captureHelperRequest(t *testing.T, p *testPKI, withChain bool) captured {
	t.Helper()
	got := make(chan captured, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		leaf, _, err := ParseCertificateHeaders(r.Header)
		if err == nil {
			_, err = VerifyX509(r, body, leaf, time.Now(), &X509Options{Region: "us-east-1"})
		}
		got <- captured{r.Clone(r.Context()), body, err}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"credentialSet":[{"credentials":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"s","sessionToken":"t","expiration":"2026-11-30T16:20:04Z"}}]}`)
	}))
	defer srv.Close()
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	chain := ""
	if withChain {
		chain = p.chainPath
	}
	signer, alg, err := helper.GetFileSystemSigner(p.keyPath, p.certPath, chain, false)
	if err != nil {
		t.Fatal(err)
	}
	opts := &helper.CredentialsOpts{
		CertificateId:     p.certPath,
		PrivateKeyId:      p.keyPath,
		RoleArn:           "arn:aws:iam::123456789012:role/TestRole",
		ProfileArnStr:     "arn:aws:rolesanywhere:us-east-1:123456789012:profile/66666666-7777-8888-9999-000000000000",
		TrustAnchorArnStr: "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/11111111-2222-3333-4444-555555555555",
		SessionDuration:   900,
		RoleSessionName:   "my session  name",
		Endpoint:          srv.URL,
		Version:           "test",
	}
	out, err := helper.GenerateCredentials(opts, signer, alg)
	c := <-got
	if err != nil {
		t.Fatalf("helper GenerateCredentials: %v (server verdict: %v)", err, c.err)
	}
	if c.err != nil || out.AccessKeyId != "ASIAEXAMPLE" {
		t.Fatalf("server verdict %v, output %+v", c.err, out)
	}
	return c
}

// replay copies c into a fresh server-side request.
func (c captured) replay() (*http.Request, []byte) {
	r := c.r.Clone(c.r.Context())
	u := *c.r.URL
	r.URL = &u
	return r, append([]byte(nil), c.body...)
}

func (c captured) signedAt(t testing.TB) time.Time {
	ts, err := time.Parse(TimeFormat, c.r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestHelperInterop(t *testing.T) {
	for _, tc := range []struct {
		kind      string
		serial    *big.Int
		withChain bool
	}{
		{"ec", big.NewInt(0x1234), false},
		{"ec", new(big.Int).SetBytes([]byte{0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93}), true},
		{"rsa", new(big.Int).SetBytes([]byte{0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93}), true},
		{"rsa", big.NewInt(77), false},
	} {
		name := tc.kind
		if tc.withChain {
			name += "+chain"
		}
		t.Run(name, func(t *testing.T) {
			p := newPKI(t, tc.kind, tc.serial)
			c := captureHelperRequest(t, p, tc.withChain)
			if got := c.r.Header.Get(HeaderX509Chain) != ""; got != tc.withChain {
				t.Fatalf("chain header present = %v", got)
			}
			testTamper(t, c, p)
			testSignX509MatchesHelper(t, c, p)
		})
	}
}

func testTamper(t *testing.T, c captured, p *testPKI) {
	at := c.signedAt(t)
	kind := "ec"
	if _, ok := p.key.(*rsa.PrivateKey); ok {
		kind = "rsa"
	}
	other := newPKI(t, kind, p.leaf.SerialNumber) // same serial, other key
	authz := c.r.Header.Get("Authorization")
	tests := []struct {
		name   string
		mod    func(r *http.Request, body *[]byte)
		leaf   *x509.Certificate
		now    time.Time
		code   string
		target error
	}{
		{name: "untouched", mod: func(*http.Request, *[]byte) {}},
		{name: "body changed", mod: func(_ *http.Request, b *[]byte) { *b = []byte(`{"durationSeconds":43200}`) },
			code: CodeSignatureDoesNotMatch, target: ErrSignature},
		{name: "x-amz-date changed", mod: func(r *http.Request, _ *[]byte) {
			d := at.Add(time.Second)
			if d.Day() != at.Day() {
				d = at.Add(-time.Second)
			}
			r.Header.Set("X-Amz-Date", d.Format(TimeFormat))
		},
			code: CodeSignatureDoesNotMatch, target: ErrSignature},
		{name: "content-type changed", mod: func(r *http.Request, _ *[]byte) { r.Header.Set("Content-Type", "text/plain") },
			code: CodeSignatureDoesNotMatch, target: ErrSignature},
		{name: "query changed", mod: func(r *http.Request, _ *[]byte) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "TestRole", "Admin", 1)
		}, code: CodeSignatureDoesNotMatch, target: ErrSignature},
		{name: "host changed", mod: func(r *http.Request, _ *[]byte) { r.Host = "evil.example:443" },
			code: CodeSignatureDoesNotMatch, target: ErrSignature},
		{name: "unsigned header added", mod: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Forwarded-For", "1.2.3.4") }},
		{name: "wrong serial", mod: func(r *http.Request, _ *[]byte) {
			serial := p.leaf.SerialNumber.String()
			bumped := new(big.Int).Add(p.leaf.SerialNumber, big.NewInt(1)).String()
			r.Header.Set("Authorization", strings.Replace(authz, "Credential="+serial+"/", "Credential="+bumped+"/", 1))
		}, code: CodeSignatureDoesNotMatch, target: ErrSerialMismatch},
		{name: "hex serial", mod: func(r *http.Request, _ *[]byte) {
			serial := p.leaf.SerialNumber.String()
			r.Header.Set("Authorization", strings.Replace(authz, "Credential="+serial+"/", "Credential="+p.leaf.SerialNumber.Text(16)+"/", 1))
		}, code: CodeSignatureDoesNotMatch, target: ErrSerialMismatch},
		{name: "wrong alg for key", mod: func(r *http.Request, _ *[]byte) {
			a := strings.Replace(authz, string(X509ECDSASHA256), "X", 1)
			a = strings.Replace(a, string(X509RSASHA256), string(X509ECDSASHA256), 1)
			r.Header.Set("Authorization", strings.Replace(a, "X ", string(X509RSASHA256)+" ", 1))
		}, code: CodeSignatureDoesNotMatch, target: ErrAlgorithmMismatch},
		{name: "HMAC alg", mod: func(r *http.Request, _ *[]byte) {
			_, rest, _ := strings.Cut(authz, " ")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 "+rest)
		}, code: CodeIncompleteSignature, target: ErrUnsupportedAlg},
		{name: "X-Amz-X509 unsigned", mod: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(authz, ";x-amz-x509", "", 1))
		}, code: CodeIncompleteSignature, target: ErrHeaderNotSigned},
		{name: "x-amz-date unsigned", mod: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(authz, ";x-amz-date", "", 1))
		}, code: CodeIncompleteSignature, target: ErrHeaderNotSigned},
		{name: "chain added unsigned", mod: func(r *http.Request, _ *[]byte) {
			if r.Header.Get(HeaderX509Chain) != "" {
				r.Header.Set("Authorization", strings.Replace(authz, ";x-amz-x509-chain", "", 1))
			} else {
				r.Header.Set(HeaderX509Chain, r.Header.Get(HeaderX509))
			}
		}, code: CodeIncompleteSignature, target: ErrHeaderNotSigned},
		{name: "X-Amz-X509 swapped", mod: func(r *http.Request, _ *[]byte) {}, leaf: other.leaf,
			code: CodeSignatureDoesNotMatch, target: ErrCertificateMismatch},
		{name: "stale date", mod: func(*http.Request, *[]byte) {}, now: at.Add(5*time.Minute + time.Second),
			code: CodeSignatureDoesNotMatch, target: ErrTimeSkew},
		{name: "future date", mod: func(*http.Request, *[]byte) {}, now: at.Add(-5*time.Minute - time.Second),
			code: CodeSignatureDoesNotMatch, target: ErrTimeSkew},
		{name: "no authorization", mod: func(r *http.Request, _ *[]byte) { r.Header.Del("Authorization") },
			code: CodeMissingAuthenticationToken, target: ErrMissingAuth},
		{name: "scope date mismatch", mod: func(r *http.Request, _ *[]byte) {
			d := at.Format(DateFormat)
			r.Header.Set("Authorization", strings.Replace(authz, "/"+d+"/", "/"+at.AddDate(0, 0, 1).Format(DateFormat)+"/", 1))
		}, code: CodeSignatureDoesNotMatch, target: ErrScope},
		{name: "wrong service", mod: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(authz, "/rolesanywhere/", "/sts/", 1))
		}, code: CodeSignatureDoesNotMatch, target: ErrScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := c.replay()
			tt.mod(r, &body)
			leaf := p.leaf
			if tt.leaf != nil {
				leaf = tt.leaf
			}
			now := tt.now
			if now.IsZero() {
				now = at.Add(time.Second)
			}
			_, err := VerifyX509(r, body, leaf, now, &X509Options{Region: "us-east-1"})
			if tt.target == nil {
				if err != nil {
					t.Fatalf("VerifyX509 = %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || !errors.Is(err, tt.target) {
				t.Fatalf("VerifyX509 = %v, want code %s cause %v", err, tt.code, tt.target)
			}
			if strings.Contains(e.Message, "Signature=") {
				t.Errorf("message leaks the authorization: %q", e.Message)
			}
		})
	}
}

// testSignX509MatchesHelper re-signs the helper's request with SignX509 at
// the same instant and compares.
func testSignX509MatchesHelper(t *testing.T, c captured, p *testPKI) {
	at := c.signedAt(t)
	r, body := c.replay()
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-X509", "X-Amz-X509-Chain", "Accept-Encoding"} {
		r.Header.Del(h)
	}
	var chain []*x509.Certificate
	if c.r.Header.Get(HeaderX509Chain) != "" {
		chain = []*x509.Certificate{p.ca}
	}
	if err := SignX509(r, body, p.key, p.leaf, chain, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"X-Amz-Date", "X-Amz-X509", "X-Amz-X509-Chain"} {
		if r.Header.Get(h) != c.r.Header.Get(h) {
			t.Errorf("%s differs from the helper's", h)
		}
	}
	mine, err := ParseX509Authorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ParseX509Authorization(c.r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if mine.Algorithm != theirs.Algorithm || mine.Credential != theirs.Credential || mine.SignedHeaders != theirs.SignedHeaders {
		t.Errorf("Authorization differs:\n mine   %s\n helper %s", r.Header.Get("Authorization"), c.r.Header.Get("Authorization"))
	}
	if mine.Algorithm == X509RSASHA256 && r.Header.Get("Authorization") != c.r.Header.Get("Authorization") {
		t.Errorf("RSA PKCS#1 v1.5 is deterministic, yet the Authorization headers differ")
	}
	crMine, _, err := CanonicalX509(r, body, mine, nil)
	if err != nil {
		t.Fatal(err)
	}
	crTheirs, _, err := CanonicalX509(c.r, c.body, theirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if crMine != crTheirs {
		t.Errorf("canonical requests differ:\n mine   %q\n helper %q", crMine, crTheirs)
	}
	if _, err := VerifyX509(r, body, p.leaf, at, nil); err != nil {
		t.Errorf("SignX509 output does not verify: %v", err)
	}
}

func TestSignX509RawECDSA(t *testing.T) {
	p := newPKI(t, "ec", big.NewInt(99))
	r := httptest.NewRequest("POST", "https://ra.example:8443/sessions?roleArn=a&profileArn=b", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/json")
	now := time.Now()
	if err := SignX509(r, []byte("{}"), rawSigner{p.key.(*ecdsa.PrivateKey)}, p.leaf, nil, "eu-west-1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyX509(r, []byte("{}"), p.leaf, now, &X509Options{Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
}

// rawSigner returns raw r||s ECDSA signatures, as PKCS#11 tokens do.
type rawSigner struct{ k *ecdsa.PrivateKey }

func (s rawSigner) Public() crypto.PublicKey { return &s.k.PublicKey }

func (s rawSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, ss, err := ecdsa.Sign(rand.Reader, s.k, digest)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	ss.FillBytes(out[32:])
	return out, nil
}

// TestVerifyX509LeafOptions: LeafSerial replaces the serial computation and
// LeafFromHeader skips the header comparison, but a serial mismatch is still
// caught.
func TestVerifyX509LeafOptions(t *testing.T) {
	p := newPKI(t, "ec", big.NewInt(4242))
	other := newPKI(t, "ec", big.NewInt(4243))
	now := time.Now()
	body := []byte(`{"durationSeconds":3600}`)
	req := httptest.NewRequest(http.MethodPost, "https://roam.example/sessions", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if err := SignX509(req, body, p.key, p.leaf, nil, "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	a, err := ParseX509Authorization(req.Header.Get(HeaderAuthorization))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyX509(req, body, p.leaf, now, &X509Options{LeafFromHeader: true, LeafSerial: "4242"}); err != nil {
		t.Fatalf("verify with cached serial: %v", err)
	}
	// The header comparison is skipped, the serial check is not.
	if err := a.VerifyX509(req, body, other.leaf, now, &X509Options{LeafFromHeader: true}); !errors.Is(err, ErrSerialMismatch) {
		t.Fatalf("err = %v, want ErrSerialMismatch", err)
	}
	if err := a.VerifyX509(req, body, p.leaf, now, &X509Options{LeafFromHeader: true, LeafSerial: "4243"}); !errors.Is(err, ErrSerialMismatch) {
		t.Fatalf("err = %v, want ErrSerialMismatch", err)
	}
	// Without LeafFromHeader a certificate other than the header's is caught.
	if err := a.VerifyX509(req, body, other.leaf, now, &X509Options{LeafSerial: "4242"}); !errors.Is(err, ErrCertificateMismatch) {
		t.Fatalf("err = %v, want ErrCertificateMismatch", err)
	}
}
