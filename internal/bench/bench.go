// Package bench measures the CreateSession hot path of a real roam server:
// throughput, latency and the server's CPU time per session, set against the
// CPU time of a trivial request (GET /healthz) and of the one public-key
// operation a session cannot avoid, verifying the request signature with the
// leaf's key.
//
// By default Run starts `roam server` as a child process (the current
// executable) on 127.0.0.1 over TLS, with a generated CA, server certificate
// and bootstrap file, so the server's CPU time can be read exactly from
// /proc/PID. With Options.Endpoint it drives a server that is already
// running instead.
package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/store/postgres"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// Defaults and targets.
const (
	DefaultCerts       = 200
	DefaultRequests    = 20000
	DefaultDuration    = 20 * time.Second
	DefaultConcurrency = 32
	DefaultVerifyN     = 2000

	// TargetRatio is the most (server CPU per session − server CPU per
	// healthz) may be, in leaf signature verifications.
	TargetRatio = 3.0
	// TargetSessionsPerSec is the least throughput.
	TargetSessionsPerSec = 3000.0
)

// resignAfter is how old pre-signed requests may get before they are signed
// again: X-Amz-Date must stay within the server's 5-minute window.
const resignAfter = 3 * time.Minute

// settle is how long to wait after a phase before reading the server's CPU
// time, so that work the phase queued (subject sightings are written in
// batches every 500 ms) is counted in it. Both measured phases wait the same.
const settle = 700 * time.Millisecond

// Options configure a benchmark run.
type Options struct {
	// KeyType is the client key type: pki.ECP256 (leaves under an EC P-256
	// root) or pki.RSA2048 (leaves under an RSA-4096 root).
	KeyType pki.KeyType
	// Certs is the number of distinct client certificates.
	Certs int
	// Requests bounds the timed phase in requests, Duration in time.
	Requests int
	Duration time.Duration
	// Concurrency is the number of requests in flight.
	Concurrency int
	// HTTP2 uses HTTP/2 instead of HTTP/1.1 keep-alive connections.
	HTTP2 bool
	// VerifyN is the number of signature verifications timed.
	VerifyN int

	// Command is the argv prefix that runs roam (`server …` is appended);
	// nil means the current executable. Env is its environment; nil means
	// this process's.
	Command []string
	Env     []string
	// ServerArgs are appended to the child's `server` arguments (e.g. a
	// CPU profile flag).
	ServerArgs []string
	// DB is the child's --db: "" means a SQLite file in the run's temporary
	// directory; a postgres:// URL runs the child on that PostgreSQL
	// database (its bootstrap file is applied by name, so a database used
	// before is reused).
	DB string
	// MasterKeyFile is the child's --master-key-file; "" means a new key in
	// the run's temporary directory. A PostgreSQL database keeps the
	// keyring sealed under the master key of its first run: later runs on
	// it must use the same file.
	MasterKeyFile string

	// Endpoint, if set, is a running server to drive instead of a child.
	// Issuer issues the client certificates (its certificate must be, or
	// chain to, the trust anchor; Chain is sent as X-Amz-X509-Chain).
	// RootCAs verifies the server's TLS certificate (nil: the system
	// pool). ServerPID, if not 0, is the server's process id, for CPU
	// figures.
	Endpoint       string
	Issuer         *pki.Issuer
	Chain          []*x509.Certificate
	RootCAs        *x509.CertPool
	TrustAnchorARN string
	ProfileARN     string
	RoleARN        string
	ServerPID      int

	// Progress, if set, receives one line per step.
	Progress io.Writer
}

// Result is what a run measured. Times are in microseconds (µs) or
// milliseconds (ms) as the field names say.
type Result struct {
	KeyType     string `json:"keyType"`
	RootKeyType string `json:"rootKeyType,omitempty"`
	Protocol    string `json:"protocol"`
	Certs       int    `json:"certs"`
	Concurrency int    `json:"concurrency"`
	Endpoint    string `json:"endpoint"`
	// Database is the child server's store: "sqlite" or the PostgreSQL URL
	// with any password redacted.
	Database    string    `json:"database,omitempty"`
	ServerPID   int       `json:"serverPid,omitempty"`
	ChildServer bool      `json:"childServer"`
	CPUs        int       `json:"cpus"`
	LoadBefore  []float64 `json:"loadAverageBefore,omitempty"`
	LoadAfter   []float64 `json:"loadAverageAfter,omitempty"`

	Warmup   Phase `json:"warmup"`
	Sessions Phase `json:"sessions"`
	Healthz  Phase `json:"healthz"`

	// SessionsPerSec is the timed phase's successful sessions per second.
	SessionsPerSec float64 `json:"sessionsPerSec"`
	// ServerCPUPerSessionUs and ServerCPUPerHealthzUs are the server
	// process's CPU time (user + system) per request of each phase;
	// CPUSource says how it was read ("schedstat", "stat"), empty when it
	// was not available.
	ServerCPUPerSessionUs float64 `json:"serverCpuPerSessionUs"`
	ServerCPUPerHealthzUs float64 `json:"serverCpuPerHealthzUs"`
	CPUSource             string  `json:"cpuSource,omitempty"`
	// ClientCPUPerSessionUs is this process's CPU time per session.
	ClientCPUPerSessionUs float64 `json:"clientCpuPerSessionUs"`
	// VerifyUs is one leaf signature verification (SHA-256 digest), timed
	// over VerifyN calls in thread CPU time (wall time where that is not
	// available): the best of three rounds.
	VerifyUs     float64 `json:"verifyUs"`
	VerifyN      int     `json:"verifyN"`
	VerifyMethod string  `json:"verifyMethod"`
	// Ratio is (ServerCPUPerSessionUs − ServerCPUPerHealthzUs) / VerifyUs.
	Ratio float64 `json:"ratio"`

	TargetRatio          float64 `json:"targetRatio"`
	TargetSessionsPerSec float64 `json:"targetSessionsPerSec"`
	RatioPass            bool    `json:"ratioPass"`
	ThroughputPass       bool    `json:"throughputPass"`
	// Pass is RatioPass && ThroughputPass and no request failed.
	Pass bool `json:"pass"`
}

// Phase is one phase of a run.
type Phase struct {
	Requests   int     `json:"requests"` // sent and answered
	OK         int     `json:"ok"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"firstError,omitempty"`
	Seconds    float64 `json:"seconds"`
	PerSec     float64 `json:"perSec"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	ServerCPUs float64 `json:"serverCpuSeconds,omitempty"`
	ClientCPUs float64 `json:"clientCpuSeconds,omitempty"`
}

// target is the server a run drives.
type target struct {
	endpoint   string
	roots      *x509.CertPool
	pid        int
	region     string
	anchorARN  string
	profileARN string
	roleARN    string
	issuer     *pki.Issuer
	chain      []*x509.Certificate
}

func (o *Options) defaults() error {
	if o.KeyType == "" {
		o.KeyType = pki.ECP256
	}
	switch o.KeyType {
	case pki.ECP256, pki.RSA2048:
	default:
		return fmt.Errorf("key type %q: want %s or %s", o.KeyType, pki.ECP256, pki.RSA2048)
	}
	if o.Certs == 0 {
		o.Certs = DefaultCerts
	}
	if o.Requests == 0 {
		o.Requests = DefaultRequests
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.VerifyN == 0 {
		o.VerifyN = DefaultVerifyN
	}
	if o.Certs < 1 || o.Requests < 1 || o.Duration <= 0 || o.Concurrency < 1 || o.VerifyN < 1 {
		return errors.New("certificates, requests, duration, concurrency and verifications must be positive")
	}
	if o.Endpoint != "" {
		if o.DB != "" {
			return errors.New("the database is the running server's business: no database with an endpoint")
		}
		if o.Issuer == nil {
			return errors.New("with an endpoint, a CA certificate and key that issue client certificates are required")
		}
		if o.TrustAnchorARN == "" || o.ProfileARN == "" || o.RoleARN == "" {
			return errors.New("with an endpoint, the trust anchor, profile and role ARNs are required")
		}
	}
	return nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Run runs the benchmark: it issues the client certificates, starts (or
// reaches) the server, pre-signs one request per certificate, warms up
// (each certificate once, every connection opened), runs the timed
// CreateSession phase and a GET /healthz phase of as many requests, and
// times one signature verification. The child server is stopped on every
// path.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	res := &Result{
		KeyType: string(opts.KeyType), Certs: opts.Certs, Concurrency: opts.Concurrency,
		CPUs: runtime.NumCPU(), LoadBefore: loadAverage(),
		TargetRatio: TargetRatio, TargetSessionsPerSec: TargetSessionsPerSec, VerifyN: opts.VerifyN,
		Protocol: "HTTP/1.1",
	}
	if opts.HTTP2 {
		res.Protocol = "HTTP/2"
	}

	var tgt target
	if opts.Endpoint == "" {
		res.ChildServer = true
		rkt := rootKeyType(opts.KeyType)
		res.RootKeyType = string(rkt)
		opts.logf("generating the %s trust anchor and the TLS CA", rkt)
		root, err := newRoot(rkt, "roam bench root")
		if err != nil {
			return nil, err
		}
		tlsCA, err := newRoot(pki.ECP256, "roam bench TLS CA")
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "roam-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		argv, env := opts.Command, opts.Env
		if len(argv) == 0 {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("find the roam executable: %w", err)
			}
			argv = []string{exe}
		}
		if env == nil {
			env = os.Environ()
		}
		anchorID := newUUID()
		if opts.DB != "" {
			// A database given by the caller may hold the anchor of an
			// earlier run: the bootstrap file keeps its id, which the
			// role's trust policy names.
			anchorID = dbAnchorID
		}
		res.Database = "sqlite"
		if opts.DB != "" {
			res.Database = postgres.Redact(opts.DB)
		}
		srv, err := startChild(ctx, argv, env, opts.ServerArgs, opts.DB, opts.MasterKeyFile, dir, tlsCA, root.Cert, anchorID)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		pool := x509.NewCertPool()
		pool.AddCert(tlsCA.Cert)
		tgt = target{
			endpoint: "https://" + srv.addr, roots: pool, pid: srv.pid(), region: benchRegion,
			anchorARN: srv.anchor, profileARN: srv.profile,
			roleARN: "arn:aws:iam::" + benchAccount + ":role/" + benchRole, issuer: root,
		}
		opts.logf("roam server (pid %d) listening on %s", tgt.pid, srv.addr)
		defer func() {
			if err := srv.alive(); err != nil {
				opts.logf("%v", err)
			}
		}()
	} else {
		tgt = target{
			endpoint: strings.TrimSuffix(opts.Endpoint, "/"), roots: opts.RootCAs, pid: opts.ServerPID,
			region: regionOf(opts.TrustAnchorARN), anchorARN: opts.TrustAnchorARN,
			profileARN: opts.ProfileARN, roleARN: opts.RoleARN, issuer: opts.Issuer, chain: opts.Chain,
		}
	}
	res.Endpoint, res.ServerPID = tgt.endpoint, tgt.pid

	opts.logf("issuing %d %s client certificates", opts.Certs, opts.KeyType)
	clients, err := issueClients(ctx, tgt.issuer, opts.KeyType, opts.Certs)
	if err != nil {
		return nil, fmt.Errorf("issue client certificates: %w", err)
	}

	r := &runner{opts: &opts, tgt: &tgt}
	if err := r.init(clients); err != nil {
		return nil, err
	}
	defer r.close()
	rsCtx, stopResign := context.WithCancel(ctx)
	defer stopResign()
	go r.resignLoop(rsCtx)

	if err := r.probe(ctx); err != nil {
		return nil, err
	}
	opts.logf("warm-up")
	warm := max(opts.Certs, opts.Concurrency)
	res.Warmup = r.phase(ctx, warm, time.Minute, r.sessionRequest, http.StatusCreated, false)
	if res.Warmup.Errors > 0 {
		return res, fmt.Errorf("warm-up: %d of %d requests failed: %s", res.Warmup.Errors, res.Warmup.Requests, res.Warmup.FirstError)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	opts.logf("timed phase: %d sessions at most, %s at most, concurrency %d, %s", opts.Requests, opts.Duration, opts.Concurrency, res.Protocol)
	res.Sessions = r.phase(ctx, opts.Requests, opts.Duration, r.sessionRequest, http.StatusCreated, true)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if res.Sessions.OK == 0 {
		return res, fmt.Errorf("no session succeeded: %s", res.Sessions.FirstError)
	}
	opts.logf("healthz phase: %d requests", res.Sessions.Requests)
	res.Healthz = r.phase(ctx, res.Sessions.Requests, opts.Duration, r.healthzRequest, http.StatusOK, true)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	opts.logf("timing %d signature verifications", opts.VerifyN)
	v, method, err := verifyTime(clients[0], opts.VerifyN)
	if err != nil {
		return nil, err
	}
	res.VerifyUs, res.VerifyMethod = us(v), method
	res.LoadAfter = loadAverage()

	res.SessionsPerSec = res.Sessions.PerSec
	res.CPUSource = r.cpuSource
	if r.cpuSource != "" {
		res.ServerCPUPerSessionUs = res.Sessions.ServerCPUs * 1e6 / float64(res.Sessions.Requests)
		if res.Healthz.Requests > 0 {
			res.ServerCPUPerHealthzUs = res.Healthz.ServerCPUs * 1e6 / float64(res.Healthz.Requests)
		}
		res.Ratio = (res.ServerCPUPerSessionUs - res.ServerCPUPerHealthzUs) / res.VerifyUs
		res.RatioPass = res.Ratio <= TargetRatio
	}
	res.ClientCPUPerSessionUs = res.Sessions.ClientCPUs * 1e6 / float64(res.Sessions.Requests)
	res.ThroughputPass = res.SessionsPerSec >= TargetSessionsPerSec
	res.Pass = res.RatioPass && res.ThroughputPass && res.Sessions.Errors == 0 && res.Healthz.Errors == 0
	return res, nil
}

func regionOf(arn string) string {
	if f := strings.Split(arn, ":"); len(f) > 3 && f[3] != "" {
		return f[3]
	}
	return benchRegion
}

// runner drives the requests of a run.
type runner struct {
	opts      *Options
	tgt       *target
	clients   []client
	body      []byte
	sessURL   string
	healthURL string
	http      *http.Client
	tr        *http.Transport
	signed    atomic.Pointer[signedSet]
	cpuSource string
}

// signedSet is one pre-signed request (its headers) per client.
type signedSet struct {
	at      time.Time
	headers []http.Header
}

func (r *runner) init(clients []client) error {
	r.clients = clients
	body, err := json.Marshal(map[string]any{
		"trustAnchorArn": r.tgt.anchorARN, "profileArn": r.tgt.profileARN,
		"roleArn": r.tgt.roleARN, "durationSeconds": 3600,
	})
	if err != nil {
		return err
	}
	r.body = body
	r.sessURL = r.tgt.endpoint + "/sessions"
	r.healthURL = r.tgt.endpoint + "/healthz"
	var protos http.Protocols
	if r.opts.HTTP2 {
		protos.SetHTTP2(true)
	} else {
		protos.SetHTTP1(true)
	}
	r.tr = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: r.tgt.roots},
		Protocols:           &protos,
		MaxIdleConns:        r.opts.Concurrency,
		MaxIdleConnsPerHost: r.opts.Concurrency,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
	}
	r.http = &http.Client{Transport: r.tr, Timeout: 30 * time.Second}
	set, err := r.sign(time.Now())
	if err != nil {
		return err
	}
	r.signed.Store(set)
	return nil
}

func (r *runner) close() { r.tr.CloseIdleConnections() }

// sign signs one CreateSession request per client at now.
func (r *runner) sign(now time.Time) (*signedSet, error) {
	set := &signedSet{at: now, headers: make([]http.Header, len(r.clients))}
	for i, c := range r.clients {
		req, err := http.NewRequest(http.MethodPost, r.sessURL, bytes.NewReader(r.body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if err := sigv4.SignX509(req, r.body, c.key, c.cert, r.tgt.chain, r.tgt.region, now); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		set.headers[i] = req.Header
	}
	return set, nil
}

// resignLoop signs the requests again before X-Amz-Date leaves the
// server's window.
func (r *runner) resignLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(r.signed.Load().at) < resignAfter {
				continue
			}
			if set, err := r.sign(now); err == nil {
				r.signed.Store(set)
			} else {
				r.opts.logf("re-signing failed: %v", err)
			}
		}
	}
}

func (r *runner) sessionRequest(ctx context.Context, i int) (*http.Request, error) {
	set := r.signed.Load()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.sessURL, bytes.NewReader(r.body))
	if err != nil {
		return nil, err
	}
	// Shared read-only: RoundTrip does not modify the request.
	req.Header = set.headers[i%len(set.headers)]
	return req, nil
}

func (r *runner) healthzRequest(ctx context.Context, _ int) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, r.healthURL, nil)
}

// probe sends one CreateSession request and checks that it returns
// credentials, so that a misconfiguration is reported with the server's
// answer.
func (r *runner) probe(ctx context.Context) error {
	req, err := r.sessionRequest(ctx, 0)
	if err != nil {
		return err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("CreateSession: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("CreateSession answered %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var out struct {
		CredentialSet []struct {
			Credentials struct {
				AccessKeyID string `json:"accessKeyId"`
			} `json:"credentials"`
		} `json:"credentialSet"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.CredentialSet) == 0 || out.CredentialSet[0].Credentials.AccessKeyID == "" {
		return fmt.Errorf("CreateSession answered 201 without credentials: %.200s", b)
	}
	return nil
}

// phase sends up to n requests (stopping after d) with the configured
// concurrency and measures them; with measure, it also reads the server's
// and this process's CPU time around the phase.
func (r *runner) phase(ctx context.Context, n int, d time.Duration, mk func(context.Context, int) (*http.Request, error), want int, measure bool) Phase {
	lat := make([]time.Duration, n)
	okFlag := make([]bool, n)
	var (
		next     atomic.Int64
		errMu    sync.Mutex
		firstErr string
		wg       sync.WaitGroup
	)
	setErr := func(s string) {
		errMu.Lock()
		if firstErr == "" {
			firstErr = s
		}
		errMu.Unlock()
	}

	var cpu0 time.Duration
	var cpuErr error
	var cli0 time.Duration
	if measure && r.tgt.pid != 0 {
		cpu0, r.cpuSource, cpuErr = processCPU(r.tgt.pid)
	}
	cli0 = selfCPU()
	start := time.Now()
	deadline := start.Add(d)
	for range min(r.opts.Concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || time.Now().After(deadline) {
					return
				}
				req, err := mk(ctx, i)
				if err != nil {
					setErr(err.Error())
					lat[i] = -1
					continue
				}
				t0 := time.Now()
				resp, err := r.http.Do(req)
				if err != nil {
					lat[i] = time.Since(t0)
					setErr(err.Error())
					continue
				}
				var b []byte
				if resp.StatusCode != want {
					b, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode == want {
					okFlag[i] = true
				} else {
					setErr(fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(b)))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cliUsed := selfCPU() - cli0

	var p Phase
	oks := make([]time.Duration, 0, n)
	for i, l := range lat {
		if l == 0 {
			continue // not sent
		}
		p.Requests++
		if okFlag[i] {
			p.OK++
			oks = append(oks, l)
		} else {
			p.Errors++
		}
	}
	p.FirstError = firstErr
	p.Seconds = elapsed.Seconds()
	p.PerSec = float64(p.OK) / elapsed.Seconds()
	slices.Sort(oks)
	p.P50Ms = ms(percentile(oks, 0.50))
	p.P99Ms = ms(percentile(oks, 0.99))
	p.ClientCPUs = cliUsed.Seconds()
	if measure && r.tgt.pid != 0 && cpuErr == nil {
		select {
		case <-time.After(settle):
		case <-ctx.Done():
		}
		cpu1, src, err := processCPU(r.tgt.pid)
		if err == nil && src == r.cpuSource {
			p.ServerCPUs = (cpu1 - cpu0).Seconds()
		} else {
			r.cpuSource = ""
		}
	} else if measure {
		r.cpuSource = ""
	}
	return p
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// verifyTime times n verifications of a SHA-256 digest signed with c's key,
// the operation VerifyX509 performs once per session: the best of three
// rounds, in thread CPU time where available.
func verifyTime(c client, n int) (time.Duration, string, error) {
	digest := sha256.Sum256([]byte("AWS4-X509-ECDSA-SHA256\n20260101T000000Z\n20260101/us-east-1/rolesanywhere/aws4_request\n" + strings.Repeat("0", 64)))
	sig, err := c.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return 0, "", err
	}
	var verify func() bool
	switch pub := c.cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		verify = func() bool { return ecdsa.VerifyASN1(pub, digest[:], sig) }
	case *rsa.PublicKey:
		verify = func() bool { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil }
	default:
		return 0, "", fmt.Errorf("unsupported leaf key %T", pub)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range 50 {
		verify()
	}
	method := "thread CPU time"
	if _, ok := threadCPU(); !ok {
		method = "wall time"
	}
	clock := func() time.Duration {
		if t, ok := threadCPU(); ok {
			return t
		}
		return time.Duration(time.Now().UnixNano())
	}
	best := time.Duration(math.MaxInt64)
	for range 3 {
		t0 := clock()
		for range n {
			if !verify() {
				return 0, "", errors.New("signature verification failed")
			}
		}
		best = min(best, (clock()-t0)/time.Duration(n))
	}
	return best, method, nil
}
