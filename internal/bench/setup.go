package bench

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-project/roam/pki"
)

// client is one benchmark client certificate with its key.
type client struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// rootKeyType is the key type of the anchor that issues leaves of type kt:
// EC P-256 leaves under an EC P-256 root, RSA-2048 leaves under RSA-4096.
func rootKeyType(kt pki.KeyType) pki.KeyType {
	if strings.HasPrefix(string(kt), "rsa") {
		return pki.RSA4096
	}
	return kt
}

// newRoot makes a self-signed root CA with a key of type kt.
func newRoot(kt pki.KeyType, name string) (*pki.Issuer, error) {
	key, err := pki.GenerateKey(kt, rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := pki.NewRootCA(key, pki.CAOptions{Subject: pkix.Name{CommonName: name, Organization: []string{"roam bench"}}})
	if err != nil {
		return nil, err
	}
	return &pki.Issuer{Cert: cert, Key: key}, nil
}

// issueClients issues n client certificates with keys of type kt from iss,
// generating keys in parallel (RSA key generation is slow).
func issueClients(ctx context.Context, iss *pki.Issuer, kt pki.KeyType, n int) ([]client, error) {
	out := make([]client, n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := issueClient(iss, kt, i)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				out[i] = c
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, ctx.Err()
}

func issueClient(iss *pki.Issuer, kt pki.KeyType, i int) (client, error) {
	key, err := pki.GenerateKey(kt, rand.Reader)
	if err != nil {
		return client{}, err
	}
	is, err := iss.Issue(pki.LeafRequest{
		Profile:   pki.ProfileClient,
		Subject:   pkix.Name{CommonName: fmt.Sprintf("bench-workload-%05d", i), Organization: []string{"roam bench"}, OrganizationalUnit: []string{"load"}},
		PublicKey: key.Public(),
	})
	if err != nil {
		return client{}, err
	}
	return client{cert: is.Cert, key: key}, nil
}

// Names in the generated bootstrap file.
const (
	benchAccount = "000000000000"
	benchRegion  = "us-east-1"
	benchRole    = "bench-role"
	benchProfile = "bench"
	benchAnchor  = "bench"
	// dbAnchorID is the trust anchor id of runs on a database the caller
	// gives (Options.DB), the same every run.
	dbAnchorID = "6d2c0b9e-3f41-4c1a-9b7e-0be4c5a7d001"
)

// bootstrapYAML is the generated bootstrap file: one anchor (root.pem), one
// role whose trust policy admits rolesanywhere.amazonaws.com only for that
// anchor (ArnEquals aws:SourceArn), one profile.
func bootstrapYAML(anchorID string) string {
	return `account: "` + benchAccount + `"
region: ` + benchRegion + `
trustAnchors:
  - name: ` + benchAnchor + `
    id: ` + anchorID + `
    certificateBundle: file:root.pem
    enabled: true
roles:
  - name: ` + benchRole + `
    maxSessionDuration: 3600
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
          Condition:
            ArnEquals:
              aws:SourceArn: ` + trustAnchorARN(anchorID) + `
    inlinePolicies:
      read-only:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: ["s3:GetObject", "s3:ListBucket"], Resource: "*"}
profiles:
  - name: ` + benchProfile + `
    roles: [` + benchRole + `]
    durationSeconds: 3600
    enabled: true
`
}

func trustAnchorARN(id string) string {
	return "arn:aws:rolesanywhere:" + benchRegion + ":" + benchAccount + ":trust-anchor/" + id
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// childServer is a `roam server` child process.
type childServer struct {
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	stderr   *tailBuffer
	addr     string
	profile  string // profile ARN from the bootstrap log line
	anchor   string // trust anchor ARN from the bootstrap log line
	stopOnce sync.Once
}

var listenRE = regexp.MustCompile(`roam server listening on (\S+)`)

// startChild writes the server's files into dir and starts argv + `server …`
// on 127.0.0.1:0 with the database db ("" means dir/roam.db) and the master
// key file masterKey ("" means dir/master.key). It returns once the server
// listens. The caller must call stop on every path.
func startChild(ctx context.Context, argv, env, extra []string, db, masterKey, dir string, tlsCA *pki.Issuer, anchorRoot *x509.Certificate, anchorID string) (*childServer, error) {
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		return nil, err
	}
	sans, err := pki.ParseSANs([]string{"ip:127.0.0.1", "dns:localhost"})
	if err != nil {
		return nil, err
	}
	is, err := tlsCA.Issue(pki.LeafRequest{Profile: pki.ProfileServer, Subject: pkix.Name{CommonName: "localhost"}, SANs: sans, PublicKey: key.Public()})
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.MarshalPrivateKeyPEM(key, nil, 0)
	if err != nil {
		return nil, err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	if db == "" {
		db = p("roam.db")
	}
	if masterKey == "" {
		masterKey = p("master.key")
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"tls.pem", pki.EncodeCertificatesPEM(is.Cert)},
		{"tls.key", keyPEM},
		{"root.pem", pki.EncodeCertificatesPEM(anchorRoot)},
		{"roam.yaml", []byte(bootstrapYAML(anchorID))},
	} {
		if err := os.WriteFile(p(f.name), f.data, 0o600); err != nil {
			return nil, err
		}
	}
	args := append(append([]string(nil), argv[1:]...), "server", "--listen", "127.0.0.1:0",
		"--tls-cert", p("tls.pem"), "--tls-key", p("tls.key"),
		"--db", db, "--master-key-file", masterKey,
		"--bootstrap", p("roam.yaml"), "--log-level", "info")
	args = append(args, extra...)
	cmd := exec.Command(argv[0], args...)
	cmd.Env = env
	cmd.Dir = dir
	setChildAttrs(cmd)
	pr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s := &childServer{cmd: cmd, exited: make(chan struct{}), stderr: &tailBuffer{max: 64 << 10}}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w", argv[0], err)
	}
	found := make(chan struct{})
	var profile, anchor string
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		listening := false
		for sc.Scan() {
			line := sc.Text()
			s.stderr.WriteString(line + "\n")
			if listening {
				continue
			}
			var rec struct {
				Msg, Name, ARN string
			}
			if json.Unmarshal([]byte(line), &rec) == nil {
				switch {
				case rec.Msg == "bootstrap profile" && rec.Name == benchProfile:
					profile = rec.ARN
				case rec.Msg == "bootstrap trust anchor" && rec.Name == benchAnchor:
					// On a database used before, the anchor keeps its id.
					anchor = rec.ARN
				}
			}
			if m := listenRE.FindStringSubmatch(line); m != nil {
				s.addr = m[1]
				listening = true
				close(found)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()
	select {
	case <-found:
		s.profile, s.anchor = profile, anchor
		if s.profile == "" || s.anchor == "" {
			s.stop()
			return nil, fmt.Errorf("the server did not log the profile and trust anchor ARNs:\n%s", s.stderr.String())
		}
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("roam server exited: %v\n%s", s.waitErr, s.stderr.String())
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("roam server did not start in 60s:\n%s", s.stderr.String())
	}
}

func (s *childServer) pid() int { return s.cmd.Process.Pid }

// stop asks the server to shut down (SIGTERM) and kills it if it has not
// exited after 10 seconds. It is safe to call more than once.
func (s *childServer) stop() {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// alive reports an error if the server has exited.
func (s *childServer) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("roam server exited: %v\n%s", s.waitErr, s.stderr.String())
	default:
		return nil
	}
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) WriteString(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, s...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var errNoCPU = errors.New("server CPU time is not available")
