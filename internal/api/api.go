// Package api is roam's HTTP edge: it routes requests to the service that
// answers them (Roles Anywhere CreateSession and control plane, STS, IAM),
// encodes responses and errors in each protocol's wire format, and stamps
// every response with a request id and a Date header.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/metrics"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
)

// MaxHeaderBytes bounds the request headers the server accepts. CreateSession
// headers are about 1–4 KiB with RSA and EC keys and about 20 KiB with
// ML-DSA-87; anything over 64 KiB is refused.
const MaxHeaderBytes = 64 << 10

// maxBodyBytes bounds any request body read by the API.
const maxBodyBytes = 1 << 20

// Config is what the API serves.
type Config struct {
	// Sessions answers CreateSession; its snapshot also serves STS.
	Sessions *anywhere.Service
	// Verifier authenticates requests signed with roam session credentials
	// (STS, and later IAM and the control plane); nil refuses them with 503.
	Verifier *sts.Verifier
	// Keyring mints the sessions of AssumeRole (role chaining).
	Keyring *sts.Keyring
	// Store is the configuration store the control plane (IAM and Roles
	// Anywhere APIs) reads and writes; nil refuses control-plane calls.
	Store store.Store
	// MasterKey unseals the secrets of admin users' access keys (AKIA…).
	MasterKey []byte
	// Reload rebuilds the configuration snapshot at once; the control
	// plane calls it after every successful mutation so that the change is
	// visible to CreateSession, STS and the gateway immediately. nil leaves
	// it to the server's version poll.
	Reload func(context.Context) error
	// Ready reports whether the server can serve (for /readyz); nil means
	// always ready.
	Ready func(context.Context) error
	// Available, if set, is asked before every request except /healthz,
	// /readyz and /metrics; while it returns an error the request is
	// answered 503 ServiceUnavailable in its protocol's error format
	// (available.go). The server fails closed this way once its database
	// has been unreachable for longer than its grace time.
	Available func() error
	// Audit, if set, records CreateSession failures (successes go through
	// the Service's observer, see SessionObserver) and control-plane changes;
	// a change whose audit event cannot be written is answered 500.
	Audit *audit.Recorder
	// Metrics, if set, counts requests and is served at GET /metrics.
	Metrics *metrics.Metrics
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves roam's HTTP API.
type Handler struct {
	cfg      Config
	mux      *http.ServeMux
	services map[string]*service
}

// New returns the API handler for cfg.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), services: services()}
	h.mux.HandleFunc("POST /sessions", h.createSession)
	// Query APIs (STS now; IAM and the control plane later), routed by the
	// credential scope's service name.
	h.mux.HandleFunc("POST /{$}", h.root)
	h.mux.HandleFunc("GET /{$}", h.root)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if cfg.Metrics != nil {
		h.mux.Handle("GET /metrics", cfg.Metrics.Handler()) // unauthenticated, like /healthz
	}
	// The Roles Anywhere control plane (REST paths; rolesanywhere*.go).
	h.routeRolesAnywhere(nil)
	return h
}

type ctxKey struct{}

// RequestID returns the id ServeHTTP gave the request in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ServeHTTP stamps the request id and Date header, then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("X-Amzn-Requestid", id)
	w.Header().Set("Date", h.cfg.Now().UTC().Format(http.TimeFormat))
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	if h.cfg.Available != nil && !alwaysAvailable(r.URL.Path) {
		if err := h.cfg.Available(); err != nil {
			h.unavailable(w, r, err)
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"ok"}`+"\n")
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if h.cfg.Ready != nil {
		if err := h.cfg.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	io.WriteString(w, `{"status":"ready"}`+"\n")
}

func (h *Handler) createSession(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := readBody(r)
	if err != nil {
		h.sessionFailed(r, nil, err, start)
		h.restJSONError(w, r, err)
		return
	}
	resp, err := h.cfg.Sessions.CreateSession(r.Context(), r, body)
	if err != nil {
		h.sessionFailed(r, body, err, start)
		h.restJSONError(w, r, err)
		return
	}
	h.cfg.Metrics.Observe(opCreateSession, true, time.Since(start))
	// AppendJSON writes what writeJSON would, without reflection.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(resp.AppendJSON(make([]byte, 0, resp.JSONSizeHint())))
}

// readBody reads at most maxBodyBytes of r's body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.Validation("Request body is larger than %d bytes.", maxBodyBytes)
		}
		return nil, apierr.Validation("Could not read the request body.").WithCause(err)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// restJSONError writes err in the restJson1 error format: X-Amzn-ErrorType
// and {"__type","message"}. Errors that are not API errors are logged with
// the request id and answered with a generic 500.
func (h *Handler) restJSONError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := apierr.As(err)
	if !ok {
		h.cfg.Logger.ErrorContext(r.Context(), "internal error", "request_id", RequestID(r.Context()), "path", r.URL.Path, "err", err)
		ae = apierr.New("InternalServerException", http.StatusInternalServerError, "An internal error occurred. Request id %s.", RequestID(r.Context()))
	} else {
		h.cfg.Logger.InfoContext(r.Context(), "request refused", "request_id", RequestID(r.Context()), "path", r.URL.Path, "code", ae.Code, "message", ae.Message, "cause", errString(ae.Cause))
	}
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	writeJSON(w, ae.Status, struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{ae.Code, ae.Message})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
