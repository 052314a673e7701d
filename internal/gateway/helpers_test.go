package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

// testCA is a CA for the tests, its certificate valid from a month ago.
type testCA struct {
	*pki.Issuer
	crlNumber int64
}

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.NewRootCA(key, pki.CAOptions{Subject: pkix.Name{CommonName: cn}, MaxPathLen: 1, Now: time.Now().Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{Issuer: &pki.Issuer{Cert: cert, Key: key}}
}

// intermediate returns a CA signed by c.
func (c *testCA) intermediate(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := c.NewIntermediateCA(key.Public(), pki.CAOptions{Subject: pkix.Name{CommonName: cn}, Now: time.Now().Add(-29 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{Issuer: &pki.Issuer{Cert: cert, Key: key}}
}

// testLeaf is a certificate and its key.
type testLeaf struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// leafOpts shape a test leaf.
type leafOpts struct {
	profile  pki.Profile // client by default
	subject  pkix.Name
	sans     []string
	now      time.Time // issue time; time.Now() if zero
	validity time.Duration
}

func (c *testCA) issue(t testing.TB, o leafOpts) *testLeaf {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sans, err := pki.ParseSANs(o.sans)
	if err != nil {
		t.Fatal(err)
	}
	if o.subject.CommonName == "" {
		o.subject.CommonName = "workload"
	}
	is, err := c.Issue(pki.LeafRequest{Profile: o.profile, Subject: o.subject, SANs: sans, PublicKey: key.Public(), Now: o.now, Validity: o.validity})
	if err != nil {
		t.Fatal(err)
	}
	return &testLeaf{cert: is.Cert, key: key}
}

func (c *testCA) client(t testing.TB, cn string) *testLeaf {
	return c.issue(t, leafOpts{subject: pkix.Name{CommonName: cn}})
}

// crl returns a PEM CRL of c revoking leaves, each CRL with a new number.
func (c *testCA) crl(t testing.TB, revoked ...*x509.Certificate) []byte {
	t.Helper()
	c.crlNumber++
	var entries []pki.RevokedCert
	for _, r := range revoked {
		entries = append(entries, pki.RevokedCert{Serial: r.SerialNumber, RevokedAt: time.Now().Add(-time.Minute)})
	}
	der, err := c.CreateCRL(entries, pki.CRLOptions{Number: big.NewInt(c.crlNumber)})
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCRLPEM(der)
}

func (l *testLeaf) tlsCert(chain ...*x509.Certificate) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{l.cert.Raw}, PrivateKey: l.key, Leaf: l.cert}
	for _, ch := range chain {
		c.Certificate = append(c.Certificate, ch.Raw)
	}
	return c
}

// writeKeyPair writes l's certificate and key to dir/name.pem and
// dir/name.key.
func (l *testLeaf) writeKeyPair(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	kp, err := pki.MarshalPrivateKeyPEM(l.key, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writeFile(t, certFile, pki.EncodeCertificatesPEM(l.cert))
	writeFile(t, keyFile, kp)
	return certFile, keyFile
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile replaces path the way deployment tools do: a new file renamed
// into place.
func replaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	writeFile(t, path+".new", data)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func removeFile(t testing.TB, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningGateway is an in-process gateway serving on 127.0.0.1.
type runningGateway struct {
	*Gateway
	log *logBuffer
}

// startGateway parses yamlText (relative names resolved against dir),
// builds the gateway and serves it until the test ends.
func startGateway(t testing.TB, dir, yamlText string) *runningGateway {
	t.Helper()
	cfg, err := ParseConfig([]byte(yamlText), dir)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	lb := &logBuffer{}
	g, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(lb, nil))})
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &runningGateway{Gateway: g, log: lb}
}

// eventually polls cond until it holds or a generous deadline passes (the
// deadline only bounds a hung test; nothing asserts how long it took).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// httpsClient trusts roots and presents certs; keep-alive unless noReuse.
func httpsClient(roots *x509.CertPool, noReuse bool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: noReuse,
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: certs, ServerName: "127.0.0.1"},
	}}
}

func certPool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
