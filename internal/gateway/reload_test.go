package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/pki"
)

func TestCertLoaderReload(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "tls")
	server := func(cn string) *testLeaf {
		return ca.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: cn}})
	}
	first := server("first.test")
	certFile, keyFile := first.writeKeyPair(t, dir, "srv")
	l, err := NewCertLoader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	second, third := server("second.test"), server("third.test")
	keyOf := func(x *testLeaf) []byte { b, _ := pki.MarshalPrivateKeyPEM(x.key, nil, 0); return b }
	steps := []struct {
		name        string
		do          func()
		force       bool
		wantChanged bool
		wantErr     string
		wantServed  *testLeaf
	}{
		{name: "unchanged", do: func() {}, wantServed: first},
		{name: "forced", do: func() {}, force: true, wantChanged: true, wantServed: first},
		{name: "new certificate, old key: keeps the old pair", do: func() { replaceFile(t, certFile, pki.EncodeCertificatesPEM(second.cert)) },
			wantErr: "private key does not match", wantServed: first},
		{name: "the key follows", do: func() { replaceFile(t, keyFile, keyOf(second)) }, wantChanged: true, wantServed: second},
		{name: "garbage certificate keeps the old pair", do: func() { replaceFile(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nAA")) },
			wantErr: "server certificate", wantServed: second},
		{name: "missing key keeps the old pair", do: func() { removeFile(t, keyFile) }, wantErr: "server key", wantServed: second},
		{name: "both replaced", do: func() { third.writeKeyPair(t, dir, "srv") }, wantChanged: true, wantServed: third},
	}
	for _, s := range steps {
		s.do()
		changed, err := l.Reload(s.force)
		if changed != s.wantChanged || (err == nil) != (s.wantErr == "") || err != nil && !strings.Contains(err.Error(), s.wantErr) {
			t.Fatalf("%s: Reload = %v, %v; want %v, %q", s.name, changed, err, s.wantChanged, s.wantErr)
		}
		c, _ := l.GetCertificate(nil)
		if c == nil || string(c.Certificate[0]) != string(s.wantServed.cert.Raw) {
			t.Fatalf("%s: serving the wrong certificate", s.name)
		}
	}
}

// reloadFixture is a running gateway with one verify-at-http route whose
// server certificate the test replaces.
type reloadFixture struct {
	g              *runningGateway
	dir            string
	tlsCA          *testCA
	client         *testLeaf
	roots          *x509.CertPool
	first          *testLeaf
	certFile, keyF string
}

func newReloadFixture(t *testing.T, reloadInterval string) *reloadFixture {
	t.Helper()
	f := &reloadFixture{dir: t.TempDir(), tlsCA: newTestCA(t, "gateway tls")}
	clients := newTestCA(t, "clients")
	f.client = clients.client(t, "workload")
	writeFile(t, filepath.Join(f.dir, "ca.pem"), pki.EncodeCertificatesPEM(clients.Cert))
	f.first = f.serverCert(t)
	f.certFile, f.keyF = f.first.writeKeyPair(t, f.dir, "gw")
	f.roots = certPool(f.tlsCA.Cert)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	f.g = startGateway(t, f.dir, fmt.Sprintf(`reloadInterval: %s
routes:
  - name: r
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: verify-at-http, caFiles: [ca.pem]}
    authorization: mtls
    backend: {url: %q}
`, reloadInterval, backend.URL))
	return f
}

func (f *reloadFixture) serverCert(t *testing.T) *testLeaf {
	return f.tlsCA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "127.0.0.1"}})
}

// servedToNewConnection returns the certificate a new TLS connection gets.
func (f *reloadFixture) servedToNewConnection(t *testing.T) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", f.g.Addr("r").String(), &tls.Config{RootCAs: f.roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{f.client.tlsCert()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// get makes a request with c and reports the server certificate and
// whether the connection was reused.
func (f *reloadFixture) get(t *testing.T, c *http.Client) (*x509.Certificate, bool) {
	t.Helper()
	var reused bool
	req, _ := http.NewRequest("GET", "https://"+f.g.Addr("r").String()+"/x", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.TLS.PeerCertificates[0], reused
}

func same(a, b *x509.Certificate) bool { return string(a.Raw) == string(b.Raw) }

// TestServerCertificateReloadOnChange: a certificate replaced on disk is
// served to new connections after the next poll, and a kept-alive
// connection made before keeps working.
func TestServerCertificateReloadOnChange(t *testing.T) {
	f := newReloadFixture(t, "20ms")
	old := httpsClient(f.roots, false, f.client.tlsCert())
	if got, _ := f.get(t, old); !same(got, f.first.cert) {
		t.Fatal("not serving the first certificate")
	}
	second := f.serverCert(t)
	second.writeKeyPair(t, f.dir, "gw")
	eventually(t, "the new certificate served to a new connection", func() bool {
		return same(f.servedToNewConnection(t), second.cert)
	})
	got, reused := f.get(t, old)
	if !reused || !same(got, f.first.cert) {
		t.Fatalf("kept-alive connection: reused %v, first certificate %v; want the old connection still working", reused, same(got, f.first.cert))
	}
	if !strings.Contains(f.g.log.String(), `"kind":"server-certificate"`) {
		t.Error("the reload was not logged")
	}
}

// TestServerCertificateReloadOnSIGHUP: with polling effectively off, a
// replaced certificate is picked up when Reload is called, which is what
// `roam gateway` does on SIGHUP; a file that does not load on SIGHUP keeps
// the current certificate and is logged.
func TestServerCertificateReloadOnSIGHUP(t *testing.T) {
	f := newReloadFixture(t, "1h")
	old := httpsClient(f.roots, false, f.client.tlsCert())
	if got, _ := f.get(t, old); !same(got, f.first.cert) {
		t.Fatal("not serving the first certificate")
	}

	// A broken certificate file on SIGHUP: the first one stays.
	replaceFile(t, f.certFile, []byte("-----BEGIN CERTIFICATE-----\ntruncated"))
	f.g.Reload()
	eventually(t, "the failed reload logged", func() bool {
		return strings.Contains(f.g.log.String(), "reload failed; keeping the previous files in use")
	})
	if !same(f.servedToNewConnection(t), f.first.cert) {
		t.Fatal("a broken certificate file replaced the served certificate")
	}

	second := f.serverCert(t)
	second.writeKeyPair(t, f.dir, "gw")
	// Without SIGHUP nothing changes: the next poll is an hour away.
	if !same(f.servedToNewConnection(t), f.first.cert) {
		t.Fatal("the certificate changed before SIGHUP")
	}
	f.g.Reload()
	eventually(t, "the new certificate served after SIGHUP", func() bool {
		return same(f.servedToNewConnection(t), second.cert)
	})
	got, reused := f.get(t, old)
	if !reused || !same(got, f.first.cert) {
		t.Fatalf("kept-alive connection: reused %v, first certificate %v; want the old connection still working", reused, same(got, f.first.cert))
	}
	// A fresh client gets the new certificate over HTTP too.
	if got, _ := f.get(t, httpsClient(f.roots, true, f.client.tlsCert())); !same(got, second.cert) {
		t.Error("a new HTTP client did not get the new certificate")
	}
}
