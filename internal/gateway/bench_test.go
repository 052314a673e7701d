package gateway

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// memKeys is an in-memory sts.KeyStore.
type memKeys struct {
	mu   sync.Mutex
	keys []store.KeyRecord
}

func (m *memKeys) ListKeys(context.Context) ([]store.KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.KeyRecord(nil), m.keys...), nil
}
func (m *memKeys) PutKey(_ context.Context, k store.KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k)
	return nil
}
func (m *memKeys) DeleteKey(context.Context, string) error { return nil }

type benchPKI struct {
	dir               string
	ca                *pki.Issuer
	serverCert        tls.Certificate
	clientCert        tls.Certificate
	pool              *x509.CertPool
	certFile, keyFile string
	caFile            string
}

func newBenchPKI(tb testing.TB) *benchPKI {
	tb.Helper()
	p := &benchPKI{dir: tb.TempDir(), pool: x509.NewCertPool()}
	key, _ := pki.GenerateKey(pki.ECP256, rand.Reader)
	cert, err := pki.NewRootCA(key, pki.CAOptions{Subject: pkix.Name{CommonName: "bench CA"}})
	if err != nil {
		tb.Fatal(err)
	}
	p.ca = &pki.Issuer{Cert: cert, Key: key}
	p.pool.AddCert(cert)
	issue := func(profile pki.Profile, cn string, sans ...string) tls.Certificate {
		k, _ := pki.GenerateKey(pki.ECP256, rand.Reader)
		s, _ := pki.ParseSANs(sans)
		is, err := p.ca.Issue(pki.LeafRequest{Profile: profile, Subject: pkix.Name{CommonName: cn}, SANs: s, PublicKey: k.Public()})
		if err != nil {
			tb.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{is.Cert.Raw}, PrivateKey: k, Leaf: is.Cert}
	}
	p.serverCert = issue(pki.ProfileServer, "localhost", "ip:127.0.0.1")
	p.clientCert = issue(pki.ProfileClient, "bench-client")
	p.certFile, p.keyFile, p.caFile = filepath.Join(p.dir, "srv.pem"), filepath.Join(p.dir, "srv.key"), filepath.Join(p.dir, "ca.pem")
	kp, _ := pki.MarshalPrivateKeyPEM(p.serverCert.PrivateKey.(crypto.Signer), nil, 0)
	os.WriteFile(p.keyFile, kp, 0o600)
	os.WriteFile(p.certFile, pki.EncodeCertificatesPEM(p.serverCert.Leaf), 0o600)
	os.WriteFile(p.caFile, pki.EncodeCertificatesPEM(cert), 0o600)
	return p
}

// tenStatementPolicy is an identity policy of 10 statements; the request
// the benchmark makes is allowed by the last one.
func tenStatementPolicy() string {
	var st []string
	for i := 0; i < 9; i++ {
		st = append(st, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-%d/prefix-%d/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"team-%d"}}}`, i, i, i, i))
	}
	st = append(st, `{"Sid":"Bench","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/objects/*"}`)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

// newBenchGateway returns a gateway with one sigv4 S3 route in front of
// backend, its client and a signed request template.
func newBenchGateway(tb testing.TB, p *benchPKI, backend string) (*Gateway, sts.Credentials) {
	tb.Helper()
	ctx := context.Background()
	master := make([]byte, 32)
	rand.Read(master)
	kr, err := sts.OpenKeyring(ctx, &memKeys{}, master, sts.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := &store.Config{Version: 1, Settings: map[string]string{}, Roles: []*store.Role{{
		Name: "bench", Path: "/", InlinePolicies: map[string]string{"ten": tenStatementPolicy()},
	}}}
	now := time.Now()
	creds, err := kr.Mint(sts.SessionSpec{RoleARN: "arn:aws:iam::000000000000:role/bench", Account: "000000000000", RoleName: "bench",
		RoleID: "AROABENCHBENCHBENCH01", SessionName: "bench", IssuedAt: now, Expiration: now.Add(time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	src := &storeSource{kr: kr, tokens: sts.NewTokenCache(kr, 0), keys: sigv4.NewKeyCache(64), log: slog.New(slog.DiscardHandler)}
	src.snap.Store(&storeSnapshot{version: 1, perms: iam.NewPermissions(cfg)})
	gcfg, err := ParseConfig([]byte(fmt.Sprintf(`store: {db: unused.db, masterKeyFile: unused.key}
routes:
  - name: bench
    listen: 127.0.0.1:0
    tls: {cert: %s, key: %s}
    clientAuth: {mode: none}
    authorization: sigv4
    backend: {url: %q, s3: true, credentials: {accessKeyIdEnv: K, secretAccessKeyEnv: S}}
`, p.certFile, p.keyFile, backend)), "")
	if err != nil {
		tb.Fatal(err)
	}
	gcfg.Store = &StoreConfig{PollInterval: Duration(time.Hour)}
	// Audit lines are formatted as JSON, as in production, and discarded.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	g := &Gateway{cfg: gcfg, log: log, now: time.Now, reload: make(chan struct{}, 1), store: src}
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	g.metrics = m
	rs, err := g.newRoute(gcfg.Routes[0], func(k string) string { return map[string]string{"K": "AKIABACKEND", "S": "backend-secret"}[k] })
	if err != nil {
		tb.Fatal(err)
	}
	g.routes = []*routeServer{rs}
	return g, creds
}

// BenchmarkSigV4VsPlainProxy compares, in one run, a plain
// httputil.ReverseProxy behind TLS with the gateway in sigv4 mode (token
// validation, SigV4 verification, S3 mapping, a 10-statement policy,
// re-signing, audit line, metrics), both in front of the same trivial
// backend over keep-alive connections. It reports both throughputs and
// their ratio.
func BenchmarkSigV4VsPlainProxy(b *testing.B) {
	p := newBenchPKI(b)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	bu, _ := url.Parse(backend.URL)

	plain := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(bu) }})
	plain.TLS = &tls.Config{Certificates: []tls.Certificate{p.serverCert}}
	plain.StartTLS()
	defer plain.Close()

	g, creds := newBenchGateway(b, p, backend.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	gwURL := "https://" + g.Addr("bench").String() + "/bench/objects/a.txt"

	// One signed request, replayed (SigV4 allows it within the skew).
	req, _ := http.NewRequest(http.MethodGet, gwURL, nil)
	if err := sigv4.SignHMAC(req, sigv4.UnsignedPayload, sigv4.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}, "s3", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	signed := req.Header.Clone()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}, MaxIdleConnsPerHost: 64}}
	do := func(u string, h http.Header) {
		r, _ := http.NewRequest(http.MethodGet, u, nil)
		if h != nil {
			r.Header = h.Clone()
		}
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", u, resp.StatusCode)
		}
	}
	do(plain.URL+"/bench/objects/a.txt", nil)
	do(gwURL, signed)
	var plainNS, gwNS atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			do(plain.URL+"/bench/objects/a.txt", nil)
			t1 := time.Now()
			do(gwURL, signed)
			plainNS.Add(int64(t1.Sub(t0)))
			gwNS.Add(int64(time.Since(t1)))
		}
	})
	b.StopTimer()
	plainRate := float64(b.N) / (float64(plainNS.Load()) / 1e9)
	gwRate := float64(b.N) / (float64(gwNS.Load()) / 1e9)
	b.ReportMetric(plainRate, "plain-req/s/worker")
	b.ReportMetric(gwRate, "gateway-req/s/worker")
	b.ReportMetric(gwRate/plainRate, "gateway/plain")
}

// BenchmarkMTLSHandshakes compares, in one run, full TLS 1.3 handshakes
// with a client certificate (no resumption) against a bare crypto/tls
// server (RequireAndVerifyClientCert) and against a gateway route in
// require mode, same certificates. It reports handshakes/s and the ratio.
func BenchmarkMTLSHandshakes(b *testing.B) {
	p := newBenchPKI(b)
	bare, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool})
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	go acceptHandshakes(bare)

	cfg, err := ParseConfig([]byte(fmt.Sprintf(`routes:
  - name: hs
    listen: 127.0.0.1:0
    tls: {cert: %s, key: %s}
    clientAuth: {mode: require, caFiles: [%s]}
    authorization: mtls
    backend: {url: "http://127.0.0.1:1"}
`, p.certFile, p.keyFile, p.caFile)), "")
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	// Handshakes only: accept on the route's TLS listener directly.
	go acceptHandshakes(g.routes[0].ln)

	ccfg := &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.clientCert}, ServerName: "127.0.0.1"}
	hs := func(addr string) {
		c, err := tls.Dial("tcp", addr, ccfg)
		if err != nil {
			b.Fatal(err)
		}
		// Read the server's NewSessionTicket/verdict so a refused client
		// certificate surfaces as an error.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte{0})
		var one [1]byte
		if _, err := c.Read(one[:]); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	bareAddr, gwAddr := bare.Addr().String(), g.routes[0].ln.Addr().String()
	hs(bareAddr)
	hs(gwAddr)
	var bareNS, gwNS atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			hs(bareAddr)
			t1 := time.Now()
			hs(gwAddr)
			bareNS.Add(int64(t1.Sub(t0)))
			gwNS.Add(int64(time.Since(t1)))
		}
	})
	b.StopTimer()
	bareRate := float64(b.N) / (float64(bareNS.Load()) / 1e9)
	gwRate := float64(b.N) / (float64(gwNS.Load()) / 1e9)
	b.ReportMetric(bareRate, "bare-hs/s/worker")
	b.ReportMetric(gwRate, "gateway-hs/s/worker")
	b.ReportMetric(gwRate/bareRate, "gateway/bare")
}

// acceptHandshakes completes the handshake of every connection, echoes one
// byte and closes.
func acceptHandshakes(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var one [1]byte
			if _, err := c.Read(one[:]); err == nil {
				c.Write(one[:])
			}
		}()
	}
}
