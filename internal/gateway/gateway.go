package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roam-project/roam/pki"
)

// Options are the parts of a Gateway that are not configuration.
type Options struct {
	// Logger receives operational logs and one audit line per decision;
	// default slog.Default().
	Logger *slog.Logger
	// Registry, if set, receives the gateway's metrics; a new registry is
	// used otherwise (see Gateway.Registry).
	Registry *prometheus.Registry
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Getenv reads backend credentials from the environment; default
	// os.Getenv.
	Getenv func(string) string
}

// Gateway is a running set of routes.
type Gateway struct {
	cfg     *Config
	log     *slog.Logger
	now     func() time.Time
	reg     *prometheus.Registry
	metrics *metrics
	routes  []*routeServer
	store   *storeSource  // nil without sigv4 routes
	audit   *gatewayAudit // nil without an audit section
	metSrv  *http.Server
	metLn   net.Listener
	metCert *CertLoader
	reload  chan struct{}
	closeMu sync.Once
}

// routeServer is one route's listener, TLS state, authorizer and proxy.
type routeServer struct {
	g        *Gateway
	cfg      *Route
	cert     *CertLoader
	trust    *TrustStore // nil with client auth none
	ln       net.Listener
	srv      *http.Server
	proxy    *httputil.ReverseProxy
	backend  backendCredentials // S3 re-signing credentials, nil if none
	lastErrs map[string]string  // reload errors already logged, by item
}

// New builds the gateway from cfg: it loads every certificate, bundle, CRL
// and credential, opens the store for sigv4 routes and binds every
// listener. Nothing is served until Serve.
func New(ctx context.Context, cfg *Config, opts Options) (g *Gateway, err error) {
	g = &Gateway{cfg: cfg, log: opts.Logger, now: opts.Now, reg: opts.Registry, reload: make(chan struct{}, 1)}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.reg == nil {
		g.reg = prometheus.NewRegistry()
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if g.metrics, err = newMetrics(g.reg); err != nil {
		return nil, err
	}
	defer func(g *Gateway) { // g: the result is nil by the time this runs
		if err != nil {
			g.Close()
		}
	}(g)
	for _, r := range cfg.Routes {
		if r.Authorization == AuthSigV4 && g.store == nil {
			if g.store, err = openStoreSource(ctx, cfg.Store, g.log); err != nil {
				return nil, err
			}
		}
	}
	if g.audit, err = openAudit(ctx, cfg, g); err != nil {
		return nil, err
	}
	for _, rc := range cfg.Routes {
		rs, err := g.newRoute(rc, getenv)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rc.Name, err)
		}
		g.routes = append(g.routes, rs)
	}
	if m := cfg.Metrics; m != nil {
		if g.metCert, err = NewCertLoader(m.TLS.Cert, m.TLS.Key); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		ln, err := net.Listen("tcp", m.Listen)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		g.metLn = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: g.metCert.GetCertificate})
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{}))
		g.metSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelDebug)}
	}
	return g, nil
}

func (g *Gateway) newRoute(rc *Route, getenv func(string) string) (*routeServer, error) {
	rs := &routeServer{g: g, cfg: rc, lastErrs: map[string]string{}}
	var err error
	if rs.cert, err = NewCertLoader(rc.TLS.Cert, rc.TLS.Key); err != nil {
		return nil, err
	}
	if rc.ClientAuth.Mode != ModeNone {
		if rs.trust, err = NewTrustStore(rc.ClientAuth.CAFiles, rc.ClientAuth.CRLFiles); err != nil {
			return nil, err
		}
	}
	if rc.Backend.Credentials != nil {
		c, err := newBackendCredentials(context.Background(), rc.Backend.Credentials, rc.Backend.Region, getenv)
		if err != nil {
			return nil, err
		}
		rs.backend = c
	}
	tr, err := backendTransport(rc.Backend)
	if err != nil {
		return nil, err
	}
	rs.proxy = &httputil.ReverseProxy{
		Rewrite:      rs.rewrite,
		Transport:    tr,
		ErrorHandler: rs.backendError,
		ErrorLog:     slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: rs.cert.GetCertificate, NextProtos: []string{"h2", "http/1.1"}}
	switch rc.ClientAuth.Mode {
	case ModeRequire:
		tc.ClientAuth = tls.RequireAnyClientCert
		tc.VerifyConnection = rs.verifyHandshake
	case ModeVerifyAtHTTP:
		tc.ClientAuth = tls.RequestClientCert
	}
	ln, err := net.Listen("tcp", rc.Listen)
	if err != nil {
		return nil, err
	}
	rs.ln = tls.NewListener(ln, tc)
	rs.srv = &http.Server{
		Handler:           rs,
		TLSConfig:         tc,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	return rs, nil
}

// verifyHandshake refuses the handshake of a require-mode route without a
// trusted certificate.
func (rs *routeServer) verifyHandshake(cs tls.ConnectionState) error {
	if _, err := rs.trust.Verify(cs.PeerCertificates, rs.g.now()); err != nil {
		reason := ReasonInvalid
		var ce *CertError
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		rs.g.metrics.certRejections.WithLabelValues(rs.cfg.Name, reason, "handshake").Inc()
		rs.g.log.Info("client certificate refused at handshake", "route", rs.cfg.Name, "reason", reason, "detail", err.Error())
		return err
	}
	return nil
}

// Addr returns the listening address of route name, or nil.
func (g *Gateway) Addr(name string) net.Addr {
	for _, r := range g.routes {
		if r.cfg.Name == name {
			return r.ln.Addr()
		}
	}
	return nil
}

// MetricsAddr returns the metrics listener's address, or nil.
func (g *Gateway) MetricsAddr() net.Addr {
	if g.metLn == nil {
		return nil
	}
	return g.metLn.Addr()
}

// Registry returns the registry the gateway's metrics are in.
func (g *Gateway) Registry() *prometheus.Registry { return g.reg }

// Reload asks the gateway to re-read certificates, bundles and CRLs now
// (what SIGHUP does). It does not block.
func (g *Gateway) Reload() {
	select {
	case g.reload <- struct{}{}:
	default:
	}
}

// Serve serves every route until ctx is done, then shuts down gracefully
// (in-flight requests get up to 10 s). It polls files for changes every
// ReloadInterval and on Reload.
func (g *Gateway) Serve(ctx context.Context) error {
	errc := make(chan error, len(g.routes)+1)
	for _, r := range g.routes {
		go func() { errc <- r.srv.Serve(r.ln) }()
		g.log.Info("roam gateway listening", "route", r.cfg.Name, "addr", r.ln.Addr().String(),
			"authorization", r.cfg.Authorization, "clientAuth", r.cfg.ClientAuth.Mode, "backend", r.cfg.backend.Redacted())
	}
	if g.metSrv != nil {
		go func() { errc <- g.metSrv.Serve(g.metLn) }()
		g.log.Info("roam gateway metrics listening", "addr", g.metLn.Addr().String())
	}
	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); g.reloadLoop(loopCtx) }()
	if g.store != nil {
		wg.Add(1)
		go func() { defer wg.Done(); g.store.loop(loopCtx, time.Duration(g.cfg.Store.PollInterval)) }()
	}
	if g.audit != nil {
		wg.Add(1)
		go func() { defer wg.Done(); g.audit.rec.Run(loopCtx) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("gateway listener: %w", err)
	}
	stopLoops()
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, r := range g.routes {
		r.srv.Shutdown(sctx)
	}
	if g.metSrv != nil {
		g.metSrv.Shutdown(sctx)
	}
	if ferr := g.audit.flush(sctx); ferr != nil {
		g.log.Error("audit events not written at shutdown", "err", ferr)
	}
	g.Close()
	return err
}

// Close releases listeners and the store. Serve calls it on return.
func (g *Gateway) Close() {
	g.closeMu.Do(func() {
		for _, r := range g.routes {
			r.srv.Close()
			r.ln.Close()
			if t, ok := r.proxy.Transport.(*http.Transport); ok {
				t.CloseIdleConnections()
			}
		}
		if g.metLn != nil {
			g.metLn.Close()
		}
		if g.store != nil {
			g.store.close()
		}
		g.audit.close()
	})
}

func (g *Gateway) reloadLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(g.cfg.ReloadInterval))
	defer t.Stop()
	for {
		force := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.reload:
			force = true
			g.log.Info("reload requested")
		}
		for _, r := range g.routes {
			r.reloadFiles(force)
		}
		if g.metCert != nil {
			if _, err := g.metCert.Reload(force); err != nil {
				g.log.Warn("metrics certificate reload failed; keeping the old one", "err", err)
			}
		}
	}
}

func (rs *routeServer) reloadFiles(force bool) {
	report := func(kind string, changed bool, err error) {
		if err != nil {
			rs.g.metrics.reloads.WithLabelValues(rs.cfg.Name, kind, "error").Inc()
			if rs.lastErrs[kind] != err.Error() || force {
				rs.g.log.Error("reload failed; keeping the previous files in use", "route", rs.cfg.Name, "kind", kind, "err", err)
			}
			rs.lastErrs[kind] = err.Error()
			return
		}
		delete(rs.lastErrs, kind)
		if changed {
			rs.g.metrics.reloads.WithLabelValues(rs.cfg.Name, kind, "ok").Inc()
			rs.g.log.Info("reloaded", "route", rs.cfg.Name, "kind", kind)
		}
	}
	changed, err := rs.cert.Reload(force)
	report("server-certificate", changed, err)
	if rs.trust != nil {
		changed, err := rs.trust.Reload(force)
		if changed {
			rs.g.log.Info("trust bundle generation", "route", rs.cfg.Name, "generation", rs.trust.Generation())
		}
		report("trust-bundle", changed, err)
	}
}

// backendTransport returns the transport to the backend: keep-alive, TLS
// verified with the system roots or backend.caFile.
func backendTransport(b Backend) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	tr.DisableCompression = true
	tr.Proxy = nil
	if b.CAFile != "" {
		data, err := os.ReadFile(b.CAFile)
		if err != nil {
			return nil, fmt.Errorf("backend CA: %w", err)
		}
		certs, err := pki.ParseCertificatesPEM(data)
		if err != nil {
			return nil, fmt.Errorf("backend CA %s: %w", b.CAFile, err)
		}
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}
