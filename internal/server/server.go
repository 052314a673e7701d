// Package server assembles a running roam server: the store, the master key
// and credential keyring, the bootstrap file, the configuration snapshot that
// the hot path reads, the subject recorder and the HTTPS listener.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/api"
	"github.com/roam-project/roam/internal/bootstrap"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/postgres"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/policy"
)

// Config configures a server.
type Config struct {
	// Listen is the address to listen on, e.g. 127.0.0.1:9443.
	Listen string
	// TLSCertFile and TLSKeyFile are the server certificate (with any
	// intermediates) and key. Required unless InsecureHTTP.
	TLSCertFile, TLSKeyFile string
	// InsecureHTTP serves plain HTTP. For tests only.
	InsecureHTTP bool
	// DBPath is the SQLite database file, or a postgres:// (postgresql://)
	// URL of a PostgreSQL database; see openStore.
	DBPath string
	// MasterKeyFile holds the master key that seals the keyring; it is
	// created (0600) if absent.
	MasterKeyFile string
	// BootstrapFile, if set, is applied at start.
	BootstrapFile string
	// ReloadInterval is how often the configuration version is polled;
	// 0 means one second.
	ReloadInterval time.Duration
	// Skew is the allowed clock skew of signed requests; 0 means 5 minutes.
	Skew time.Duration
	// Logger receives structured logs; nil discards.
	Logger *slog.Logger
}

// Server is a running roam server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	keyring  *sts.Keyring
	sessions *anywhere.Service
	subjects *subjectBatcher
	http     *http.Server
	ln       net.Listener
	// Bootstrap is what the bootstrap file declared, when one was applied.
	Bootstrap *bootstrap.Result

	mu        sync.Mutex
	loadedVer int64
	done      chan struct{}
	serveErr  error
}

// New opens the store, the keyring and the bootstrap file, builds the first
// snapshot, and listens. Call Serve to answer requests.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReloadInterval == 0 {
		cfg.ReloadInterval = time.Second
	}
	if !cfg.InsecureHTTP && (cfg.TLSCertFile == "" || cfg.TLSKeyFile == "") {
		return nil, errors.New("a TLS certificate and key are required (--tls-cert, --tls-key); --insecure-http is for tests only")
	}
	s = &Server{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	master, err := sts.LoadOrCreateMasterKey(cfg.MasterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if s.store, err = openStore(ctx, cfg.DBPath); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if cfg.BootstrapFile != "" {
		f, err := bootstrap.Load(cfg.BootstrapFile)
		if err != nil {
			return nil, err
		}
		if s.Bootstrap, err = bootstrap.Apply(ctx, s.store, f, CheckPolicy); err != nil {
			return nil, fmt.Errorf("apply %s: %w", cfg.BootstrapFile, err)
		}
		for _, kind := range []struct {
			msg   string
			items []bootstrap.Named
		}{{"bootstrap trust anchor", s.Bootstrap.TrustAnchors}, {"bootstrap role", s.Bootstrap.Roles}, {"bootstrap profile", s.Bootstrap.Profiles}} {
			for _, n := range kind.items {
				s.log.Info(kind.msg, "name", n.Name, "arn", n.ARN)
			}
		}
	}
	// Revocation cutoffs come from the current snapshot, so a `roam sessions
	// revoke` reaches every replica with its next configuration reload.
	revocation := sts.RevocationFunc(func(roleARN string) (time.Time, bool) {
		if snap := s.sessions.Snapshot(); snap != nil {
			return snap.CutoffFor(roleARN)
		}
		return time.Time{}, false
	})
	if s.keyring, err = sts.OpenKeyring(ctx, s.store, master, sts.Options{Revocation: revocation}); err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	s.subjects = newSubjectBatcher(s.store, s.log)
	s.sessions = anywhere.NewService(anywhere.Config{
		Minter: s.keyring, RecordSubject: s.subjects.add, Skew: cfg.Skew, Logger: s.log,
	})
	if err := s.reload(ctx); err != nil {
		return nil, err
	}

	handler := api.New(api.Config{Sessions: s.sessions, Logger: s.log, Ready: s.ready,
		Verifier: sts.NewVerifier(s.keyring, cfg.Skew), Keyring: s.keyring,
		// The control plane: every committed change reloads the snapshot
		// at once, not at the next version poll.
		Store: s.store, MasterKey: master, Reload: s.reload})
	s.http = &http.Server{
		Handler:           handler,
		MaxHeaderBytes:    api.MaxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if !cfg.InsecureHTTP {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		ln = tls.NewListener(ln, s.http.TLSConfig)
	}
	s.ln = ln
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }

// Keyring returns the server's credential keyring.
func (s *Server) Keyring() *sts.Keyring { return s.keyring }

// Serve answers requests until ctx is done, then shuts down gracefully:
// open requests finish, pending subjects are written, the store is closed.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(2)
	go func() { defer wg.Done(); s.subjects.run(bg) }()
	go func() { defer wg.Done(); s.reloadLoop(bg) }()

	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	s.log.Info("roam server listening", "addr", s.ln.Addr().String(), "tls", !s.cfg.InsecureHTTP)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := s.http.Shutdown(shutCtx); serr != nil && err == nil {
		err = serr
	}
	stopBG()
	wg.Wait()
	s.subjects.flush(shutCtx)
	s.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) close() {
	if s.ln != nil {
		s.ln.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

// reload rebuilds the snapshot if the configuration version changed.
func (s *Server) reload(ctx context.Context) error {
	ver, err := s.store.ConfigVersion(ctx)
	if err != nil {
		return fmt.Errorf("read config version: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions.Snapshot() != nil && ver == s.loadedVer {
		return nil
	}
	cfg, err := s.store.LoadConfig(ctx)
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if err := s.keyring.Refresh(ctx); err != nil {
		return fmt.Errorf("refresh keyring: %w", err)
	}
	snap := anywhere.NewSnapshot(cfg)
	for _, p := range snap.Problems {
		s.log.Warn("configuration entry left out", "problem", p)
	}
	s.sessions.SetSnapshot(snap)
	s.loadedVer = cfg.Version
	return nil
}

func (s *Server) reloadLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.keyring.MaybeRotate(ctx, time.Now()); err != nil {
				s.log.Error("keyring rotation failed", "err", err)
			}
			if err := s.reload(ctx); err != nil {
				s.log.Error("configuration reload failed", "err", err)
			}
		}
	}
}

func (s *Server) ready(ctx context.Context) error {
	if s.sessions.Snapshot() == nil {
		return errors.New("configuration not loaded")
	}
	return nil
}

// CheckPolicy validates a policy document of kind for the bootstrap file.
func CheckPolicy(kind, name, document string) error {
	k, err := policy.ParseKind(kind)
	if err != nil {
		return err
	}
	_, err = policy.Parse([]byte(document), policy.ParseOptions{Kind: k, Name: name, Inline: kind == "identity"})
	return err
}

// openStore opens the store dsn names: PostgreSQL for a postgres:// or
// postgresql:// URL, otherwise the SQLite database file at that path.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}
