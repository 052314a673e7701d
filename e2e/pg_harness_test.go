package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	roamcreds "github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/pki"
)

// pgCluster is a throwaway PostgreSQL cluster of one test, made by
// scripts/pg-test-cluster.sh on 127.0.0.1. It is stopped and removed when the
// test ends (and by the script's watcher should the test binary die).
type pgCluster struct {
	DSN  string
	dir  string
	port string
	bin  string
}

// pgScript is the cluster script, relative to the e2e package directory.
const pgScript = "../scripts/pg-test-cluster.sh"

// startPGCluster starts a cluster for t, or skips t when there are no
// PostgreSQL binaries.
func startPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		t.Skipf("PostgreSQL tests need initdb and pg_ctl: %v", err)
	}
	// The cluster's owner (postgres, when we are root) must reach DIR: a
	// directory directly under the temp root, which the script creates.
	dir, err := os.MkdirTemp("", "roam-pg-e2e.")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dir)
	c := &pgCluster{dir: dir, bin: bin}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", pgScript, "start", dir, "--owner-pid", strconv.Itoa(os.Getpid()))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Cleanup(func() {
		if out, err := exec.Command("bash", pgScript, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stop the PostgreSQL cluster in %s: %v\n%s", dir, err, out)
		}
	})
	if err != nil {
		t.Fatalf("start a PostgreSQL cluster: %v\n%s", err, stderr.String())
	}
	c.DSN = strings.TrimSpace(string(out))
	u, err := url.Parse(c.DSN)
	if err != nil || u.Port() == "" {
		t.Fatalf("cluster DSN %q: %v", c.DSN, err)
	}
	c.port = u.Port()
	return c
}

// pgBin finds the PostgreSQL binaries as the script does: $PG_BIN, the
// newest /usr/lib/postgresql/*/bin, or PATH.
func pgBin() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	p, err := exec.LookPath("pg_ctl")
	if err != nil {
		return "", errors.New("no pg_ctl in /usr/lib/postgresql/*/bin or PATH")
	}
	return filepath.Dir(p), nil
}

// pgCtl runs pg_ctl on the cluster as its owner.
func (c *pgCluster) pgCtl(t *testing.T, args ...string) {
	t.Helper()
	argv := append([]string{filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data")}, args...)
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// stopFast stops PostgreSQL as an operator would (pg_ctl stop -m fast):
// sessions are disconnected, new connections refused.
func (c *pgCluster) stopFast(t *testing.T) {
	t.Helper()
	c.pgCtl(t, "-w", "-t", "60", "stop", "-m", "fast")
}

// startAgain starts the stopped cluster on the same port with the settings
// the script uses.
func (c *pgCluster) startAgain(t *testing.T) {
	t.Helper()
	c.pgCtl(t, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start", "-o",
		"-p "+c.port+" -k "+c.dir+" -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
}

// startServerOn runs `roam server` on the database dsn with the master key
// file masterKey (shared by replicas), serving TLS with a certificate from
// tlsCA. With bootstrapYAML it is written to dir/roam.yaml and applied at
// start. The server is stopped at the end of the test.
func startServerOn(t *testing.T, dir string, tlsCA *ca, dsn, masterKey, bootstrapYAML string, extra ...string) *server {
	t.Helper()
	srvLeaf := tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "localhost"}, "ip:127.0.0.1", "dns:localhost")
	certPath, keyPath := srvLeaf.write(t, dir, "tls-server")
	caFile := filepath.Join(dir, "tls-ca.pem")
	writeFile(t, caFile, pki.EncodeCertificatesPEM(tlsCA.iss.Cert))
	s := &server{CAFile: caFile, dir: dir}
	s.args = []string{"server", "--listen", "127.0.0.1:0", "--tls-cert", certPath, "--tls-key", keyPath,
		"--db", dsn, "--master-key-file", masterKey}
	if bootstrapYAML != "" {
		boot := filepath.Join(dir, "roam.yaml")
		writeFile(t, boot, []byte(bootstrapYAML))
		s.args = append(s.args, "--bootstrap", boot)
	}
	s.args = append(s.args, extra...)
	s.start(t)
	pool := x509.NewCertPool()
	pool.AddCert(tlsCA.iss.Cert)
	s.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
	}}
	return s
}

// kill ends the server with SIGKILL: no shutdown, no flush.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if s.cmd == nil || s.cmd.Process == nil {
		t.Fatal("kill: the server is not running")
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	<-s.exited
	s.cmd = nil
}

// dropBootstrap removes --bootstrap from the arguments of later starts, so
// that a restart does not apply the file again over changes made since.
func (s *server) dropBootstrap() {
	if i := slices.Index(s.args, "--bootstrap"); i >= 0 {
		s.args = slices.Delete(s.args, i, i+2)
	}
}

// running reports whether the server process is still up.
func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// sessionProvider returns a CreateSession client of s for leaf l, which
// tries each request once.
func sessionProvider(t *testing.T, s *server, l *leaf, profileARN, role string) *roamcreds.Provider {
	t.Helper()
	signer, err := roamcreds.NewSigner(l.key, l.cert)
	if err != nil {
		t.Fatal(err)
	}
	p, err := roamcreds.New(roamcreds.Options{Signer: signer, TrustAnchorARN: anchorARN, ProfileARN: profileARN,
		RoleARN: roleARN(role), Endpoint: s.Endpoint, HTTPClient: s.Client, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stsCallerARN calls STS GetCallerIdentity on s with c through aws-sdk-go-v2.
func stsCallerARN(ctx context.Context, s *server, c roamcreds.Credentials) (string, error) {
	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), HTTPClient: s.Client,
		RetryMaxAttempts: 1, Credentials: awscreds.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)})
	out, err := client.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// readyz returns the status code and body of GET /readyz.
func readyz(t *testing.T, s *server) (int, string) {
	t.Helper()
	resp, err := s.Client.Get(s.Endpoint + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// pollUntil calls cond every interval until it returns true or d has passed
// since start; it returns the time it first returned true, or an error.
func pollUntil(start time.Time, d, interval time.Duration, cond func() bool) (time.Duration, error) {
	for {
		if cond() {
			return time.Since(start), nil
		}
		if time.Since(start) > d {
			return 0, fmt.Errorf("condition not reached within %s", d)
		}
		time.Sleep(interval)
	}
}
