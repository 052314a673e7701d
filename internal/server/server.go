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
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/api"
	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/bootstrap"
	"github.com/roam-project/roam/internal/metrics"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/storeopen"
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
	// ReloadInterval is how often the configuration version is polled when
	// the store cannot push changes, and how often the database is probed
	// for health; 0 means one second.
	ReloadInterval time.Duration
	// WatchReloadInterval is how often the configuration version is polled
	// when the store pushes changes (store.ConfigWatcher: PostgreSQL's
	// LISTEN/NOTIFY), a safety net for lost notifications; 0 means 30
	// seconds.
	WatchReloadInterval time.Duration
	// DBGrace is how long CreateSession and STS keep serving from the
	// snapshot once the database stops answering; after it every request
	// but /healthz, /readyz and /metrics is answered 503 until the
	// database answers again. 0 means DefaultDBGrace.
	DBGrace time.Duration
	// Skew is the allowed clock skew of signed requests; 0 means 5 minutes.
	Skew time.Duration
	// AuditFile, if set, receives every audit event as a JSON line besides
	// the store: a file (appended to, mode 0600) or "-" for stdout.
	AuditFile string
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
	audit    *audit.Recorder
	metrics  *metrics.Metrics
	health   *healthTracker
	http     *http.Server
	ln       net.Listener
	// Bootstrap is what the bootstrap file declared, when one was applied.
	Bootstrap *bootstrap.Result

	// snapConfirmed is when a reload last found the snapshot current (Unix
	// ns), for the snapshot age metric.
	snapConfirmed atomic.Int64

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
	if cfg.WatchReloadInterval == 0 {
		cfg.WatchReloadInterval = defaultWatchReloadInterval
	}
	if cfg.DBGrace == 0 {
		cfg.DBGrace = DefaultDBGrace
	}
	if cfg.ReloadInterval < 0 || cfg.WatchReloadInterval < 0 || cfg.DBGrace < 0 {
		return nil, errors.New("reload intervals and the database grace time must not be negative")
	}
	if !cfg.InsecureHTTP && (cfg.TLSCertFile == "" || cfg.TLSKeyFile == "") {
		return nil, errors.New("a TLS certificate and key are required (--tls-cert, --tls-key); --insecure-http is for tests only")
	}
	srv := &Server{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), health: newHealthTracker(cfg.DBGrace, time.Now)}
	s = srv
	srv.health.onFailClosed = func(err error) {
		srv.log.Error("database grace time over; answering 503 until it is back", "err", err)
	}
	defer func() {
		// srv, not s: the error returns set s to nil.
		if err != nil {
			srv.close()
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
	if err := s.openObservability(); err != nil {
		return nil, err
	}
	s.sessions = anywhere.NewService(anywhere.Config{
		Minter: s.keyring, RecordSubject: s.subjects.add, Skew: cfg.Skew, Logger: s.log,
		Observe: api.SessionObserver(s.audit, s.metrics),
	})
	if err := s.reload(ctx); err != nil {
		return nil, err
	}

	handler := api.New(api.Config{Sessions: s.sessions, Logger: s.log, Ready: s.ready,
		Verifier: sts.NewVerifier(s.keyring, cfg.Skew), Keyring: s.keyring,
		// The control plane: every committed change reloads the snapshot
		// at once, not at the next version poll.
		Store: s.store, MasterKey: master, Reload: s.reload,
		// Fail closed once the database has been unreachable for longer
		// than the grace time.
		Available: s.health.available,
		Audit:     s.audit, Metrics: s.metrics})
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
	wg.Add(3)
	go func() { defer wg.Done(); s.audit.Run(bg) }()
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
	s.flushAudit(shutCtx)
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
	if s.audit != nil {
		s.audit.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

// reload rebuilds the snapshot if the configuration version changed.
func (s *Server) reload(ctx context.Context) (err error) {
	defer s.confirmSnapshot(&err)
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

// defaultWatchReloadInterval is Config.WatchReloadInterval's default.
const defaultWatchReloadInterval = 30 * time.Second

// keyringCheckEvery is how often the keyring is asked to rotate (and prune)
// its keys; it rotates only once its sealing key is due.
const keyringCheckEvery = time.Minute

// probeTimeout bounds one database health probe, so that a database that
// stops answering (rather than refusing connections) is noticed.
const probeTimeout = 3 * time.Second

// reloadLoop keeps the snapshot current and watches the database's health
// until ctx ends. With a store that pushes changes (store.ConfigWatcher) it
// reloads as soon as a new version is announced and polls the version every
// WatchReloadInterval as a safety net; otherwise it polls every
// ReloadInterval. Either way it probes the database every ReloadInterval,
// and reloads when the database answers again after an outage.
func (s *Server) reloadLoop(ctx context.Context) {
	var notes <-chan int64
	poll := s.cfg.ReloadInterval
	if w, ok := s.store.(store.ConfigWatcher); ok {
		ch, err := w.WatchConfig(ctx)
		if err != nil {
			s.log.Warn("configuration watch could not start; polling instead", "err", err, "every", poll)
		} else {
			notes, poll = ch, s.cfg.WatchReloadInterval
		}
	}
	pollT := time.NewTicker(poll)
	defer pollT.Stop()
	probeT := time.NewTicker(s.cfg.ReloadInterval)
	defer probeT.Stop()
	rotateT := time.NewTicker(keyringCheckEvery)
	defer rotateT.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case v, ok := <-notes:
			if !ok {
				// The watch ends only with ctx; poll meanwhile.
				notes = nil
				pollT.Reset(s.cfg.ReloadInterval)
				continue
			}
			if v != s.loadedVersion() {
				s.reloadLogged(ctx, "notification")
			}
		case <-pollT.C:
			s.reloadLogged(ctx, "poll")
		case <-probeT.C:
			if s.probe(ctx) == recovered {
				// Notifications sent during the outage are lost.
				s.reloadLogged(ctx, "recovery")
			}
		case <-rotateT.C:
			if s.health.failing.Load() != nil {
				continue
			}
			if _, err := s.keyring.MaybeRotate(ctx, time.Now()); err != nil {
				s.log.Error("keyring rotation failed", "err", err)
			}
		}
	}
}

// reloadLogged reloads the snapshot, logging a failure only while the
// database is believed healthy (the probe reports outages once).
func (s *Server) reloadLogged(ctx context.Context, why string) {
	if err := s.reload(ctx); err != nil {
		if s.health.failing.Load() == nil {
			s.log.Error("configuration reload failed", "trigger", why, "err", err)
		} else {
			s.log.Debug("configuration reload failed", "trigger", why, "err", err)
		}
	}
}

// pinger is implemented by stores that can check their connection cheaply.
type pinger interface {
	Ping(ctx context.Context) error
}

// probe contacts the database once, records the outcome and logs the
// transitions: outage begins, grace time over (failing closed), recovered.
func (s *Server) probe(ctx context.Context) transition {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var err error
	if p, ok := s.store.(pinger); ok {
		err = p.Ping(pctx)
	} else {
		_, err = s.store.ConfigVersion(pctx)
	}
	if ctx.Err() != nil {
		return unchanged // shutting down: not the database's fault
	}
	tr := s.health.observe(err)
	switch tr {
	case wentDown:
		s.log.Error("database unreachable; serving from the configuration snapshot", "grace", s.cfg.DBGrace, "err", err)
	case recovered:
		s.log.Info("database reachable again")
	}
	// Fail closed (and log it) at the latest here, should no request ask.
	_ = s.health.available()
	return tr
}

// loadedVersion returns the config version of the current snapshot.
func (s *Server) loadedVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadedVer
}

// DBHealth reports the database health the server last saw.
func (s *Server) DBHealth() DBHealth { return s.health.status() }

// ready reports whether the server can serve: its snapshot is loaded and the
// database answers, or stopped answering less than the grace time ago.
func (s *Server) ready(ctx context.Context) error {
	if s.sessions.Snapshot() == nil {
		return errors.New("configuration not loaded")
	}
	return s.health.available()
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
// postgresql:// URL, otherwise the SQLite database file at that path (the
// gateway opens its store the same way).
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	return storeopen.Open(ctx, dsn)
}
