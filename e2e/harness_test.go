// Package e2e runs the real roam binary on 127.0.0.1 and drives it with real
// clients: AWS's official credential helper, aws-sdk-go-v2, openssl.
package e2e

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

// bins holds the binaries TestMain builds once.
var bins struct {
	roam, helper string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roam-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.roam = filepath.Join(dir, "roam")
	bins.helper = filepath.Join(dir, "aws_signing_helper")
	for _, b := range []struct{ out, pkg string }{
		{bins.roam, "github.com/roam-project/roam/cmd/roam"},
		{bins.helper, "github.com/aws/rolesanywhere-credential-helper"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", b.pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ca is a test CA.
type ca struct {
	iss *pki.Issuer
}

func newCA(t testing.TB, name string, kt pki.KeyType) *ca {
	t.Helper()
	key, err := pki.GenerateKey(kt, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.NewRootCA(key, pki.CAOptions{Subject: pkix.Name{CommonName: name, Organization: []string{"roam e2e"}}, MaxPathLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &ca{iss: &pki.Issuer{Cert: cert, Key: key}}
}

func (c *ca) intermediate(t testing.TB, name string, kt pki.KeyType) *ca {
	t.Helper()
	key, err := pki.GenerateKey(kt, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := c.iss.NewIntermediateCA(key.Public(), pki.CAOptions{Subject: pkix.Name{CommonName: name}})
	if err != nil {
		t.Fatal(err)
	}
	return &ca{iss: &pki.Issuer{Cert: cert, Key: key}}
}

// leaf is an issued certificate with its key.
type leaf struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (c *ca) issue(t testing.TB, profile pki.Profile, kt pki.KeyType, subject pkix.Name, sans ...string) *leaf {
	t.Helper()
	key, err := pki.GenerateKey(kt, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := pki.ParseSANs(sans)
	if err != nil {
		t.Fatal(err)
	}
	is, err := c.iss.Issue(pki.LeafRequest{Profile: profile, Subject: subject, SANs: parsed, PublicKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return &leaf{cert: is.Cert, key: key}
}

// write stores the leaf as NAME.pem and NAME.key in dir and returns the paths.
func (l *leaf) write(t testing.TB, dir, name string) (certPath, keyPath string) {
	t.Helper()
	certPath = filepath.Join(dir, name+".pem")
	keyPath = filepath.Join(dir, name+".key")
	keyPEM, err := pki.MarshalPrivateKeyPEM(l.key, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certPath, pki.EncodeCertificatesPEM(l.cert))
	writeFile(t, keyPath, keyPEM)
	return certPath, keyPath
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// server is a running `roam server`.
type server struct {
	Endpoint string
	CAFile   string // the CA that signed the server's TLS certificate
	dir      string
	args     []string
	cmd      *exec.Cmd
	exited   chan error
	stderr   *lockedBuffer
	Client   *http.Client
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listenRE = regexp.MustCompile(`roam server listening on (127\.0\.0\.1:\d+)`)

// startServer runs `roam server` with bootstrapYAML (written to dir/roam.yaml)
// on 127.0.0.1 with a TLS certificate from tlsCA. The server is stopped at
// the end of the test.
func startServer(t testing.TB, dir string, tlsCA *ca, bootstrapYAML string, extra ...string) *server {
	t.Helper()
	srvLeaf := tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "localhost"}, "ip:127.0.0.1", "dns:localhost")
	certPath, keyPath := srvLeaf.write(t, dir, "tls-server")
	caFile := filepath.Join(dir, "tls-ca.pem")
	writeFile(t, caFile, pki.EncodeCertificatesPEM(tlsCA.iss.Cert))
	boot := filepath.Join(dir, "roam.yaml")
	writeFile(t, boot, []byte(bootstrapYAML))
	s := &server{CAFile: caFile, dir: dir}
	s.args = append([]string{"server", "--listen", "127.0.0.1:0", "--tls-cert", certPath, "--tls-key", keyPath,
		"--db", filepath.Join(dir, "roam.db"), "--master-key-file", filepath.Join(dir, "master.key"),
		"--bootstrap", boot}, extra...)
	s.start(t)
	pool := x509.NewCertPool()
	pool.AddCert(tlsCA.iss.Cert)
	s.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
	}}
	return s
}

func (s *server) start(t testing.TB) {
	t.Helper()
	s.stderr = &lockedBuffer{}
	s.cmd = exec.Command(bins.roam, s.args...)
	pr, pw := io.Pipe()
	s.cmd.Stderr = io.MultiWriter(s.stderr, pw)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	exited := make(chan error, 1)
	s.exited = exited
	go func() { err := s.cmd.Wait(); pw.Close(); exited <- err }()
	select {
	case addr := <-found:
		s.Endpoint = "https://" + addr
	case err := <-exited:
		s.cmd = nil
		t.Fatalf("roam server exited: %v\n%s", err, s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("roam server did not start in 30s:\n%s", s.stderr.String())
	}
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// restart stops and starts the server with the same arguments and files.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

// runHelper runs the official helper's credential-process and returns
// stdout, stderr and the exit error.
func runHelper(t testing.TB, s *server, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.helper, append([]string{"credential-process", "--endpoint", s.Endpoint}, args...)...)
	// The official helper ignores AWS_CA_BUNDLE; Go reads SSL_CERT_FILE.
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+s.CAFile, "AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}
