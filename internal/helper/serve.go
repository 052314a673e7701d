package helper

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// IMDS and container endpoint constants.
const (
	DefaultServePort = 9911
	DefaultHopLimit  = 64
	ContainerPath    = "/v1/credentials"
	tokenPath        = "/latest/api/token"
	credsPath        = "/latest/meta-data/iam/security-credentials"
	headerTokenTTL   = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	headerToken      = "X-Aws-Ec2-Metadata-Token"
	maxTokenTTL      = 21600
	maxTokens        = 256
	tokenBytes       = 75 // 100 base64 characters, as the official helper
)

// ServerOptions configure a Server.
type ServerOptions struct {
	// Creds supplies the credentials; required.
	Creds *Refresher
	// RoleName is the IMDS role name: the last path segment of the role ARN.
	RoleName string
	// RoleARN is reported by the container endpoint.
	RoleARN string
	// ContainerToken enables the ECS-style endpoint at ContainerPath when
	// not empty: a GET must carry "Authorization: <ContainerToken>".
	ContainerToken string
	// Logger may be nil.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server answers IMDSv2 credential requests (as the official `serve`) and,
// optionally, ECS-style container credential requests.
type Server struct {
	opts ServerOptions
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex
	tokens map[[32]byte]time.Time // SHA-256 of token -> expiry
}

// NewServer returns a Server.
func NewServer(opts ServerOptions) *Server {
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now, tokens: map[[32]byte]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+tokenPath, s.putToken)
	mux.HandleFunc("PUT "+tokenPath+"/", s.putToken)
	mux.HandleFunc("GET "+credsPath, s.listRoles)
	mux.HandleFunc("GET "+credsPath+"/", s.listRoles)
	mux.HandleFunc("GET "+credsPath+"/{role}", s.getIMDS)
	mux.HandleFunc("GET "+credsPath+"/{role}/", s.getIMDS)
	if s.opts.ContainerToken != "" {
		mux.HandleFunc("GET "+ContainerPath, s.getContainer)
	}
	return mux
}

func (s *Server) putToken(w http.ResponseWriter, r *http.Request) {
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		http.Error(w, "unable to process requests with X-Forwarded-For header", http.StatusBadRequest)
		return
	}
	ttl := maxTokenTTL
	if v := r.Header.Get(headerTokenTTL); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTokenTTL {
			http.Error(w, "invalid token TTL", http.StatusBadRequest)
			return
		}
		ttl = n
	}
	raw := make([]byte, tokenBytes)
	rand.Read(raw)
	tok := base64.StdEncoding.EncodeToString(raw)
	now := s.now()
	s.mu.Lock()
	for h, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, h)
		}
	}
	if len(s.tokens) >= maxTokens {
		var oldest [32]byte
		var oldestExp time.Time
		for h, exp := range s.tokens {
			if oldestExp.IsZero() || exp.Before(oldestExp) {
				oldest, oldestExp = h, exp
			}
		}
		delete(s.tokens, oldest)
		s.log.Info("evicted the earliest-expiring IMDS token", "tokens", maxTokens)
	}
	s.tokens[sha256.Sum256([]byte(tok))] = now.Add(time.Duration(ttl) * time.Second)
	s.mu.Unlock()
	w.Header().Set(headerTokenTTL, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(tok))
}

// checkToken reports whether r carries a live IMDSv2 token, answering 401
// when not. Tokens are kept as SHA-256 digests, so a lookup reveals nothing
// about stored values through timing.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request) (remaining time.Duration, ok bool) {
	tok := r.Header.Get(headerToken)
	if tok == "" {
		http.Error(w, "no token provided", http.StatusUnauthorized)
		return 0, false
	}
	now := s.now()
	s.mu.Lock()
	exp, found := s.tokens[sha256.Sum256([]byte(tok))]
	s.mu.Unlock()
	if !found || !now.Before(exp) {
		http.Error(w, "invalid token provided", http.StatusUnauthorized)
		return 0, false
	}
	return exp.Sub(now), true
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
	rem, ok := s.checkToken(w, r)
	if !ok {
		return
	}
	w.Header().Set(headerTokenTTL, strconv.Itoa(int(rem/time.Second)))
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(s.opts.RoleName))
}

// imdsCredentials is the IMDS credentials document, keys in the official
// helper's order.
type imdsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Code            string `json:"Code"`
	Type            string `json:"Type"`
	Expiration      string `json:"Expiration"`
	LastUpdated     string `json:"LastUpdated"`
}

func (s *Server) getIMDS(w http.ResponseWriter, r *http.Request) {
	rem, ok := s.checkToken(w, r)
	if !ok {
		return
	}
	if r.PathValue("role") != s.opts.RoleName {
		http.NotFound(w, r)
		return
	}
	c, err := s.opts.Creds.Get(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set(headerTokenTTL, strconv.Itoa(int(rem/time.Second)))
	writeJSON(w, imdsCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Code:            "Success",
		Type:            "AWS-HMAC",
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
		LastUpdated:     s.now().UTC().Format(time.RFC3339),
	})
}

// containerCredentials is the ECS container credentials document.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn,omitempty"`
}

func (s *Server) getContainer(w http.ResponseWriter, r *http.Request) {
	got := r.Header.Get("Authorization")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.ContainerToken)) != 1 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"code":"Unauthorized","message":"missing or invalid authorization token"}` + "\n"))
		return
	}
	c, err := s.opts.Creds.Get(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	writeJSON(w, containerCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
		RoleArn:         s.opts.RoleARN,
	})
}

func (s *Server) unavailable(w http.ResponseWriter, err error) {
	s.log.Error("no valid credentials to serve", "error", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(`{"Code":"Failure","Message":"no valid credentials: the last CreateSession failed; see the helper's log"}` + "\n"))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// Listen opens the TCP listener for serve on host:port (host "" means
// 127.0.0.1) and sets the IP TTL / IPv6 hop limit of every accepted
// connection to hopLimit (1 keeps responses from leaving the host, as IMDS
// does).
func Listen(ctx context.Context, host string, port, hopLimit int) (net.Listener, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	if hopLimit < 1 || hopLimit > 255 {
		return nil, fmt.Errorf("hop limit %d is not in 1..255", hopLimit)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return &ttlListener{Listener: ln, hops: hopLimit}, nil
}

type ttlListener struct {
	net.Listener
	hops int
}

func (l *ttlListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := setHopLimit(c, l.hops); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func setHopLimit(c net.Conn, hops int) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	v6 := false
	if a, ok := tc.LocalAddr().(*net.TCPAddr); ok && a.IP.To4() == nil {
		v6 = true
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		if v6 {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS, hops)
		} else {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL, hops)
		}
	})
	return errors.Join(err, serr)
}

// HopLimit returns the IP TTL (or IPv6 hop limit) of a connection, for
// tests and diagnostics.
func HopLimit(c net.Conn) (int, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, errors.New("not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	v6 := false
	if a, ok := tc.LocalAddr().(*net.TCPAddr); ok && a.IP.To4() == nil {
		v6 = true
	}
	var n int
	var serr error
	err = raw.Control(func(fd uintptr) {
		if v6 {
			n, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS)
		} else {
			n, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL)
		}
	})
	return n, errors.Join(err, serr)
}

// Serve runs the server on ln until ctx ends, then shuts down gracefully.
// It also runs the Refresher's proactive refresh loop.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.opts.Creds.Run(ctx) }()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// RoleName returns the last path segment of a role ARN.
func RoleName(roleARN string) string {
	if i := strings.LastIndexByte(roleARN, '/'); i >= 0 {
		return roleARN[i+1:]
	}
	return roleARN
}
