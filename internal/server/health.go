package server

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDBGrace is how long the server keeps serving from its snapshot while
// the database is unreachable, when Config.DBGrace is zero.
const DefaultDBGrace = 5 * time.Minute

// ErrDatabaseUnavailable is what Available and the readiness check report once
// the database has been unreachable for longer than the grace time.
var ErrDatabaseUnavailable = errors.New("database unreachable")

// DBHealth is the database health as the server last saw it.
type DBHealth struct {
	// LastContact is the last time the database answered (or the server
	// started, if it has not been probed yet).
	LastContact time.Time
	// Err is the error of the last probe; nil when it succeeded.
	Err error
	// Grace is how long the server serves from its snapshot after
	// LastContact once probes fail.
	Grace time.Duration
	// FailedClosed reports whether the grace time is over: requests other
	// than /healthz, /readyz and /metrics are answered 503.
	FailedClosed bool
}

// healthTracker records the outcome of database probes and decides whether
// the server may serve: while the database answers, always; once it stops
// answering, for grace after the last successful contact, then not until it
// answers again. It is safe for concurrent use; available, on every request,
// costs one atomic load while the database is healthy.
type healthTracker struct {
	grace time.Duration
	now   func() time.Time
	// onFailClosed, if set, is called once per outage, by the first
	// available call that finds the grace time over.
	onFailClosed func(error)

	// failing is nil while the last probe succeeded.
	failing atomic.Pointer[failure]

	mu     sync.Mutex
	lastOK time.Time
}

// failure is an outage in progress: the last successful contact before it and
// the latest error.
type failure struct {
	lastOK time.Time
	err    error
	// closed is set by the first available call that failed closed.
	closed atomic.Bool
}

func newHealthTracker(grace time.Duration, now func() time.Time) *healthTracker {
	if now == nil {
		now = time.Now
	}
	return &healthTracker{grace: grace, now: now, lastOK: now()}
}

// transition is what an observation changed.
type transition int

const (
	unchanged transition = iota
	// wentDown: the first failed probe after a successful one.
	wentDown
	// recovered: the first successful probe after failed ones.
	recovered
)

// observe records the outcome of one contact with the database.
func (h *healthTracker) observe(err error) transition {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastOK = h.now()
		if h.failing.Swap(nil) != nil {
			return recovered
		}
		return unchanged
	}
	f := &failure{lastOK: h.lastOK, err: err}
	prev := h.failing.Swap(f)
	if prev == nil {
		return wentDown
	}
	if prev.closed.Load() {
		f.closed.Store(true) // the same outage: reported already
	}
	return unchanged
}

// available returns nil unless the database has been unreachable for longer
// than the grace time; then an error wrapping ErrDatabaseUnavailable that says
// since when and why (no secrets: store errors redact their DSN).
func (h *healthTracker) available() error {
	f := h.failing.Load()
	if f == nil {
		return nil
	}
	down := h.now().Sub(f.lastOK)
	if down <= h.grace {
		return nil
	}
	err := fmt.Errorf("%w for %s (grace %s): %v", ErrDatabaseUnavailable, down.Round(time.Second), h.grace, f.err)
	if !f.closed.Load() && f.closed.CompareAndSwap(false, true) && h.onFailClosed != nil {
		h.onFailClosed(err)
	}
	return err
}

// status returns the current health.
func (h *healthTracker) status() DBHealth {
	h.mu.Lock()
	st := DBHealth{LastContact: h.lastOK, Grace: h.grace}
	h.mu.Unlock()
	if f := h.failing.Load(); f != nil {
		st.LastContact, st.Err = f.lastOK, f.err
		st.FailedClosed = h.available() != nil
	}
	return st
}
