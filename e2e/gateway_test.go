package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

// countingBackend is an HTTP backend that counts requests and keeps the
// headers of the last one.
type countingBackend struct {
	*httptest.Server
	n    atomic.Int64
	mu   sync.Mutex
	last http.Header
}

func newCountingBackend(t testing.TB) *countingBackend {
	b := &countingBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.n.Add(1)
		b.mu.Lock()
		b.last = r.Header.Clone()
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *countingBackend) lastHeader() http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// gatewayProc is a running `roam gateway`.
type gatewayProc struct {
	addrs  map[string]string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error
}

var gatewayRouteRE = regexp.MustCompile(`roam gateway route (\S+) listening on (127\.0\.0\.1:\d+)`)

func startGateway(t testing.TB, configPath string, routes int, env ...string) *gatewayProc {
	t.Helper()
	g := &gatewayProc{addrs: map[string]string{}, stderr: &lockedBuffer{}}
	g.cmd = exec.Command(bins.roam, "gateway", "--config", configPath)
	g.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	g.cmd.Stderr = io.MultiWriter(g.stderr, pw)
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g.exited = make(chan error, 1)
	found := make(chan [2]string, routes)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := gatewayRouteRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- [2]string{m[1], m[2]}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { err := g.cmd.Wait(); pw.Close(); g.exited <- err }()
	t.Cleanup(g.stop)
	for len(g.addrs) < routes {
		select {
		case m := <-found:
			g.addrs[m[0]] = m[1]
		case err := <-g.exited:
			g.cmd = nil
			t.Fatalf("roam gateway exited: %v\n%s", err, g.stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("roam gateway did not start:\n%s", g.stderr.String())
		}
	}
	return g
}

func (g *gatewayProc) stop() {
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	g.cmd.Process.Signal(os.Interrupt)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
	}
	g.cmd = nil
}

// expiredLeaf issues a client certificate that expired a day ago.
func expiredLeaf(t testing.TB, c *ca, cn string) *leaf {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := pki.RandomSerial(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.iss.Cert, key.Public(), c.iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &leaf{cert: cert, key: key}
}

func crlPEM(t testing.TB, c *ca, number int64, revoked ...*leaf) []byte {
	t.Helper()
	var entries []pki.RevokedCert
	for _, l := range revoked {
		entries = append(entries, pki.RevokedCert{Serial: l.cert.SerialNumber, RevokedAt: time.Now().Add(-time.Minute)})
	}
	der, err := c.iss.CreateCRL(entries, pki.CRLOptions{Number: big.NewInt(number)})
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCRLPEM(der)
}

// writeAtomic replaces path as deployment tools do: write a temporary file,
// then rename it into place.
func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// seed004 is the setup of seed 004: a customer-information API behind the
// gateway, client certificates from a private CA.
type seed004 struct {
	dir                    string
	tlsCA, clientCA, other *ca
	trusted, revoked       *leaf
	expired, untrusted     *leaf
	backend                *countingBackend
	gw                     *gatewayProc
	tlsCAFile, bundle, crl string
}

func newSeed004(t *testing.T) *seed004 {
	t.Helper()
	s := &seed004{dir: t.TempDir()}
	s.tlsCA = newCA(t, "gateway tls", pki.ECP256)
	s.clientCA = newCA(t, "customer api clients", pki.ECP256)
	s.other = newCA(t, "someone else", pki.ECP256)
	s.trusted = s.clientCA.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "billing-service", Organization: []string{"Example"}}, "dns:billing.internal", "uri:spiffe://example.org/billing")
	s.revoked = s.clientCA.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "stolen-laptop"})
	s.expired = expiredLeaf(t, s.clientCA, "old-service")
	s.untrusted = s.other.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "billing-service"})
	srv := s.tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "localhost"}, "ip:127.0.0.1", "dns:localhost")
	srv.write(t, s.dir, "gw-tls")
	s.tlsCAFile = filepath.Join(s.dir, "gw-tls-ca.pem")
	writeFile(t, s.tlsCAFile, pki.EncodeCertificatesPEM(s.tlsCA.iss.Cert))
	s.bundle = filepath.Join(s.dir, "client-ca.pem")
	writeFile(t, s.bundle, pki.EncodeCertificatesPEM(s.clientCA.iss.Cert))
	s.crl = filepath.Join(s.dir, "client-ca.crl")
	writeFile(t, s.crl, crlPEM(t, s.clientCA, 1, s.revoked))
	for name, l := range map[string]*leaf{"trusted": s.trusted, "revoked": s.revoked, "expired": s.expired, "untrusted": s.untrusted} {
		l.write(t, s.dir, name)
	}
	s.backend = newCountingBackend(t)
	cfg := `reloadInterval: 200ms
routes:
` + s.route("require", "require", "mtls") + s.route("verify", "verify-at-http", "mtls") + s.route("policy", "require", "mtls-policy") + `    api:
      - {pattern: "GET /customers/{id}", action: "api:GetCustomer", resource: "arn:roam:api:::customers/{id}"}
      - {pattern: "DELETE /customers/{id}", action: "api:DeleteCustomer", resource: "arn:roam:api:::customers/{id}"}
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: api:GetCustomer
          Resource: "arn:roam:api:::customers/*"
          Condition:
            StringEquals: {aws:PrincipalTag/x509Subject/CN: billing-service}
        - Effect: Deny
          Action: "api:*"
          Resource: "arn:roam:api:::customers/vip-*"
`
	path := filepath.Join(s.dir, "gateway.yaml")
	writeFile(t, path, []byte(cfg))
	s.gw = startGateway(t, path, 3)
	return s
}

func (s *seed004) route(name, mode, authz string) string {
	return fmt.Sprintf(`  - name: %s
    listen: 127.0.0.1:0
    tls: {cert: gw-tls.pem, key: gw-tls.key}
    clientAuth: {mode: %s, caFiles: [client-ca.pem], crlFiles: [client-ca.crl]}
    authorization: %s
    backend: {url: %q}
`, name, mode, authz, s.backend.URL)
}

// curl runs curl against the gateway route with the named client
// certificate ("" for none) and spoofed identity headers; it returns the
// HTTP status ("000" when the handshake failed), the body and curl's error.
func (s *seed004) curl(t *testing.T, route, cert, method, path string) (status, body string, err error) {
	t.Helper()
	args := []string{"-sS", "--max-time", "10", "--cacert", s.tlsCAFile, "-X", method,
		"-H", "X-Roam-Client-Subject: CN=admin", "-H", "Client-Cert: :AAAA:", "-H", "X-Forwarded-Client-Cert: Hash=spoofed",
		"-H", "X-Roam-Principal: arn:aws:iam::000000000000:role/admin", "-H", "X-Roam-Client-Serial: 01",
		"-o", "-", "-w", "\n%{http_code}"}
	if cert != "" {
		args = append(args, "--cert", filepath.Join(s.dir, cert+".pem"), "--key", filepath.Join(s.dir, cert+".key"))
	}
	args = append(args, "https://"+s.gw.addrs[route]+path)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", args...)
	out, err := cmd.Output()
	text := string(out)
	i := strings.LastIndexByte(text, '\n')
	if i < 0 {
		return text, "", err
	}
	return text[i+1:], text[:i], err
}

// TestGatewaySeed004Curl: seed 004's customer API behind the gateway, driven
// with curl. No certificate, an untrusted, an expired and a revoked one are
// refused in both modes before the backend sees anything; the trusted one
// gets 200 and the backend sees the gateway's identity headers, never the
// spoofed ones.
func TestGatewaySeed004Curl(t *testing.T) {
	s := newSeed004(t)
	refused := []struct{ cert, reason string }{
		{"", "missing"}, {"untrusted", "untrusted"}, {"expired", "expired"}, {"revoked", "revoked"},
	}
	for _, c := range refused {
		t.Run("require/"+c.reason, func(t *testing.T) {
			status, _, err := s.curl(t, "require", c.cert, "GET", "/customers/42")
			if err == nil || status != "000" {
				t.Fatalf("require mode: status %s err %v, want a failed handshake", status, err)
			}
		})
		t.Run("verify-at-http/"+c.reason, func(t *testing.T) {
			status, body, err := s.curl(t, "verify", c.cert, "GET", "/customers/42")
			if err != nil || status != "403" {
				t.Fatalf("verify-at-http: status %s err %v body %s, want 403", status, err, body)
			}
			var e struct {
				Error struct{ Code, Reason, Message string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("403 body is not JSON: %v: %s", err, body)
			}
			if e.Error.Reason != c.reason || e.Error.Code != "AccessDenied" || !strings.Contains(e.Error.Message, c.reason) {
				t.Errorf("403 body %s, want reason %q", body, c.reason)
			}
		})
	}
	if n := s.backend.n.Load(); n != 0 {
		t.Fatalf("backend was called %d times by refused requests", n)
	}
	for _, route := range []string{"require", "verify"} {
		status, body, err := s.curl(t, route, "trusted", "GET", "/customers/42")
		if err != nil || status != "200" || !strings.Contains(body, "/customers/42") {
			t.Fatalf("%s: trusted client: status %s err %v body %s", route, status, err, body)
		}
		h := s.backend.lastHeader()
		want := map[string]string{
			"X-Roam-Client-Subject": "CN=billing-service,O=Example",
			"X-Roam-Client-Serial":  pki.FormatSerialHex(s.trusted.cert.SerialNumber),
			"X-Roam-Client-San":     "DNS:billing.internal, URI:spiffe://example.org/billing",
		}
		for k, v := range want {
			if got := h.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s: backend saw %s = %q, want exactly %q", route, k, got, v)
			}
		}
		if got := h.Values("Client-Cert"); len(got) != 1 || got[0] == ":AAAA:" || !strings.HasPrefix(got[0], ":MII") {
			t.Errorf("%s: Client-Cert = %q, want the real certificate only", route, got)
		}
		if got := h.Values("X-Forwarded-Client-Cert"); len(got) != 1 || !strings.HasPrefix(got[0], "Hash=") || strings.Contains(got[0], "spoofed") ||
			!strings.Contains(got[0], `Subject="CN=billing-service,O=Example"`) || !strings.Contains(got[0], "URI=spiffe://example.org/billing") {
			t.Errorf("%s: XFCC = %q", route, got)
		}
		if got := h.Values("X-Roam-Principal"); len(got) != 0 {
			t.Errorf("%s: spoofed X-Roam-Principal reached the backend: %q", route, got)
		}
		if fp := h.Get("X-Roam-Client-Fingerprint"); len(fp) != 64 {
			t.Errorf("%s: fingerprint %q", route, fp)
		}
	}
	// mtls-policy: certificate attributes decide through the route's policy.
	n0 := s.backend.n.Load()
	for _, c := range []struct {
		method, path, status string
	}{
		{"GET", "/customers/42", "200"},
		{"DELETE", "/customers/42", "403"},    // no Allow
		{"GET", "/customers/vip-7", "403"},    // explicit Deny
		{"GET", "/orders/1", "403"},           // no route
		{"GET", "/customers/42/extra", "403"}, // no route
	} {
		status, body, err := s.curl(t, "policy", "trusted", c.method, c.path)
		if err != nil || status != c.status {
			t.Errorf("mtls-policy %s %s: status %s (err %v) body %s, want %s", c.method, c.path, status, err, body, c.status)
		}
	}
	if n := s.backend.n.Load() - n0; n != 1 {
		t.Errorf("backend saw %d mtls-policy requests, want 1", n)
	}
	log := s.gw.stderr.String()
	for _, want := range []string{`"decision":"deny","reason":"explicit-deny"`, `"decision":"deny","reason":"implicit-deny"`, `"decision":"allow","reason":"policy-allow"`, `"certificate":"revoked"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log has no %s", want)
		}
	}
}

// TestGatewayTrustReload: replacing the trust bundle and the CRL on disk
// takes effect within 2 s, without a restart, while requests keep flowing
// with none failing; a broken bundle keeps the previous one.
func TestGatewayTrustReload(t *testing.T) {
	s := newSeed004(t)
	newCA := newCA(t, "new client CA", pki.ECP256)
	fresh := newCA.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "new-service"})
	pool := x509.NewCertPool()
	pool.AddCert(s.tlsCA.iss.Cert)
	client := func(l *leaf, keepAlive bool) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: !keepAlive,
			TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{{
				Certificate: [][]byte{l.cert.Raw}, PrivateKey: l.key, Leaf: l.cert}}},
		}}
	}
	get := func(c *http.Client, route string) (int, error) {
		resp, err := c.Get("https://" + s.gw.addrs[route] + "/customers/1")
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Requests with the trusted certificate run through every swap, over
	// kept-alive and over new connections, in both modes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for _, route := range []string{"require", "verify"} {
		for _, ka := range []bool{true, false} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := client(s.trusted, ka)
				for {
					select {
					case <-stop:
						return
					default:
					}
					code, err := get(c, route)
					if err != nil || code != 200 {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%s keepalive=%v: %d %v", route, ka, code, err))
					} else {
						ok.Add(1)
					}
				}
			}()
		}
	}
	waitFor := func(what string, cond func() bool) time.Duration {
		start := time.Now()
		for time.Since(start) < 2*time.Second {
			if cond() {
				return time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s did not take effect within 2 s", what)
		return 0
	}
	freshVerify := client(fresh, false)
	if code, _ := get(freshVerify, "verify"); code != 403 {
		t.Fatalf("certificate of the new CA before the swap: %d, want 403", code)
	}
	// A broken bundle (a half-written file) keeps the old one.
	writeAtomic(t, s.bundle, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"))
	time.Sleep(600 * time.Millisecond)
	if code, err := get(client(s.trusted, false), "verify"); code != 200 {
		t.Fatalf("after a broken bundle: %d %v, want the old bundle kept", code, err)
	}
	// The new bundle: both CAs.
	writeAtomic(t, s.bundle, append(pki.EncodeCertificatesPEM(s.clientCA.iss.Cert), pki.EncodeCertificatesPEM(newCA.iss.Cert)...))
	d1 := waitFor("bundle replacement", func() bool { c, _ := get(freshVerify, "verify"); return c == 200 })
	d2 := waitFor("bundle replacement (require)", func() bool { c, _ := get(client(fresh, false), "require"); return c == 200 })
	// A new CRL revoking the trusted certificate's neighbour: a new leaf
	// of the client CA is refused within 2 s, on a kept-alive connection
	// too.
	victim := s.clientCA.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "to-be-revoked"})
	victimClient := client(victim, true)
	if code, err := get(victimClient, "require"); code != 200 {
		t.Fatalf("victim before revocation: %d %v", code, err)
	}
	writeAtomic(t, s.crl, crlPEM(t, s.clientCA, 2, s.revoked, victim))
	d3 := waitFor("CRL replacement", func() bool { c, _ := get(victimClient, "require"); return c == 403 })
	close(stop)
	wg.Wait()
	t.Logf("bundle took effect after %v (verify) / %v (require), CRL after %v; %d requests succeeded through the swaps", d1, d1+d2, d3, ok.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during the swaps; first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() < 20 {
		t.Fatalf("only %d requests ran through the swaps", ok.Load())
	}
	if !strings.Contains(s.gw.stderr.String(), "reload failed; keeping the previous files in use") {
		t.Errorf("the broken bundle was not logged")
	}
}
