// Package audit records who did what to roam: every CreateSession (allowed
// or refused, with the reason), every control-plane change (with the record
// before and after it) and every gateway decision. Events fan out to sinks:
// the store (store.Store.AppendAudit, queried by `roam audit`) and an
// optional JSON-lines file or stdout.
//
// # Two ways to record, and what "acknowledged" means
//
// A control-plane change is recorded with RecordSync, in the request that
// made it, after the change committed and before the 2xx response is
// written: RecordSync returns once every sink has the event durably (the
// store's transaction committed; the JSON-lines file written and fsynced).
// If it fails the request is answered with a 500, not a 2xx. So an event is
// acknowledged when the client has received the 2xx of the change it
// records, and an acknowledged event survives the server being killed
// (SIGKILL) at any moment after that.
//
// CreateSession outcomes and gateway decisions are on the hot path: Record
// queues them without blocking and never touches a sink. A background loop
// (Run) writes them in batches every FlushEvery or every BatchMax events. The
// queue is bounded: when it is full an event is dropped and counted
// (Dropped, exported as a metric), because audit must never slow
// authentication down. On graceful shutdown (Flush, after the HTTP server has
// finished its requests) everything queued is written; a SIGKILL loses at
// most the events of the last FlushEvery.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// Event is one audit event: the stored record plus structured details that
// are encoded into Details off the request path.
type Event struct {
	store.AuditEvent
	// Detail holds event-specific fields; when any is set they are encoded
	// as Details (a JSON object) by the writer, not by the caller.
	Detail Detail
}

// Detail is the event-specific part of an Event. Nothing secret: an access
// key id is an identifier, never its secret.
type Detail struct {
	TrustAnchorARN  string   `json:"trustAnchorArn,omitempty"`
	ProfileARN      string   `json:"profileArn,omitempty"`
	RoleSessionName string   `json:"roleSessionName,omitempty"`
	SerialNumber    string   `json:"serialNumber,omitempty"`
	SourceIdentity  string   `json:"sourceIdentity,omitempty"`
	AccessKeyID     string   `json:"accessKeyId,omitempty"`
	Route           string   `json:"route,omitempty"`
	Authorization   string   `json:"authorization,omitempty"`
	Method          string   `json:"method,omitempty"`
	Path            string   `json:"path,omitempty"`
	Status          int      `json:"status,omitempty"`
	Resources       []string `json:"resources,omitempty"`
}

// Sink is where events go. Write must be safe for concurrent use and
// durable when it returns nil.
type Sink interface {
	// Name identifies the sink in logs and metrics ("store", "file", ...).
	Name() string
	Write(ctx context.Context, events []store.AuditEvent) error
	Close() error
}

// Options tune a Recorder; zero values take the defaults.
type Options struct {
	// QueueLen bounds the events Record queues between two drains
	// (default 8192).
	QueueLen int
	// BatchMax is the most events one sink write carries (default 512).
	BatchMax int
	// FlushEvery is how often queued events are written (default 200ms).
	FlushEvery time.Duration
	// Logger receives write failures and drop counts; nil discards.
	Logger *slog.Logger
}

// Recorder fans events out to its sinks.
type Recorder struct {
	sinks  []Sink
	opts   Options
	log    *slog.Logger
	q      chan Event
	mu     sync.Mutex // serialises drain and write (Run, Flush)
	states []sinkState

	dropped   atomic.Int64 // total, for metrics
	unlogged  atomic.Int64 // since the last drop warning
	failures  atomic.Int64 // failed sink writes
	written   atomic.Int64 // events written to every sink
	closeOnce sync.Once
}

// sinkState is the batch a sink has yet to take: events that failed to be
// written are retried at the next flush (IDs make retries idempotent in the
// store).
type sinkState struct {
	pending []store.AuditEvent
}

// NewRecorder returns a Recorder writing to sinks. Call Run to write queued
// events, and Flush and Close on shutdown.
func NewRecorder(opts Options, sinks ...Sink) *Recorder {
	if opts.QueueLen <= 0 {
		opts.QueueLen = 8192
	}
	if opts.BatchMax <= 0 {
		opts.BatchMax = 512
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 200 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{sinks: sinks, opts: opts, log: log, q: make(chan Event, opts.QueueLen), states: make([]sinkState, len(sinks))}
}

// Record queues e without blocking; when the queue is full e is dropped and
// counted. A nil Recorder records nothing.
func (r *Recorder) Record(e Event) {
	if r == nil {
		return
	}
	select {
	case r.q <- e:
	default:
		r.dropped.Add(1)
		r.unlogged.Add(1)
	}
}

// RecordSync writes e to every sink now and returns when each has it
// durably, or the first error. See the package comment: a control-plane
// change is acknowledged only if this returned nil. A nil Recorder records
// nothing and returns nil.
func (r *Recorder) RecordSync(ctx context.Context, e Event) error {
	if r == nil {
		return nil
	}
	ev := prepare(e)
	batch := []store.AuditEvent{ev}
	var errs []error
	for _, s := range r.sinks {
		if err := s.Write(ctx, batch); err != nil {
			r.failures.Add(1)
			errs = append(errs, fmt.Errorf("audit sink %s: %w", s.Name(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.written.Add(1)
	return nil
}

// QueueDepth returns how many events are queued.
func (r *Recorder) QueueDepth() int { return len(r.q) }

// QueueCapacity returns the queue's bound.
func (r *Recorder) QueueCapacity() int { return cap(r.q) }

// Dropped returns how many events were dropped because the queue was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// WriteFailures returns how many sink writes failed.
func (r *Recorder) WriteFailures() int64 { return r.failures.Load() }

// Written returns how many events every sink has taken.
func (r *Recorder) Written() int64 { return r.written.Load() }

// Run writes queued events every FlushEvery until ctx is done, then writes
// what is queued once more (with ctx's values but not its cancellation).
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			r.Flush(ctx)
		}
	}
}

// Flush writes every queued event (and any batch a sink failed to take
// before) and returns the first write error. It is what a graceful shutdown
// calls once the HTTP server has finished its requests.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var firstErr error
	for {
		batch := r.drain()
		err := r.write(ctx, batch)
		if firstErr == nil {
			firstErr = err
		}
		if len(batch) < r.opts.BatchMax || err != nil || ctx.Err() != nil {
			break
		}
	}
	if n := r.unlogged.Swap(0); n > 0 {
		r.log.Warn("audit events dropped: queue full", "count", n)
	}
	return firstErr
}

// drain takes up to BatchMax queued events.
func (r *Recorder) drain() []store.AuditEvent {
	var batch []store.AuditEvent
	for len(batch) < r.opts.BatchMax {
		select {
		case e := <-r.q:
			batch = append(batch, prepare(e))
		default:
			return batch
		}
	}
	return batch
}

// write hands batch (after any pending retry) to every sink.
func (r *Recorder) write(ctx context.Context, batch []store.AuditEvent) error {
	var firstErr error
	allOK := true
	for i, s := range r.sinks {
		st := &r.states[i]
		st.pending = append(st.pending, batch...)
		if len(st.pending) == 0 {
			continue
		}
		if over := len(st.pending) - 4*r.opts.BatchMax; over > 0 {
			// A sink that keeps failing must not hold memory without
			// bound: its oldest events are dropped and counted.
			st.pending = append(st.pending[:0], st.pending[over:]...)
			r.dropped.Add(int64(over))
			r.unlogged.Add(int64(over))
		}
		if err := s.Write(ctx, st.pending); err != nil {
			r.failures.Add(1)
			allOK = false
			r.log.Error("audit write failed; will retry", "sink", s.Name(), "count", len(st.pending), "err", err)
			if firstErr == nil {
				firstErr = fmt.Errorf("audit sink %s: %w", s.Name(), err)
			}
			continue
		}
		st.pending = st.pending[:0]
	}
	if allOK {
		r.written.Add(int64(len(batch)))
	}
	return firstErr
}

// Close closes every sink. Flush first.
func (r *Recorder) Close() error {
	if r == nil {
		return nil
	}
	var errs []error
	r.closeOnce.Do(func() {
		for _, s := range r.sinks {
			if err := s.Close(); err != nil {
				errs = append(errs, fmt.Errorf("audit sink %s: %w", s.Name(), err))
			}
		}
	})
	return errors.Join(errs...)
}

// prepare completes e for writing: an id, a time, the source address
// without its port, and the details encoded.
func prepare(e Event) store.AuditEvent {
	ev := e.AuditEvent
	if ev.ID == "" {
		ev.ID = NewID()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC().Round(0)
	if host, _, err := net.SplitHostPort(ev.SourceIP); err == nil {
		ev.SourceIP = host
	}
	if ev.Details == "" && !e.Detail.isZero() {
		if b, err := json.Marshal(e.Detail); err == nil {
			ev.Details = string(b)
		}
	}
	return ev
}

func (d *Detail) isZero() bool {
	return d.TrustAnchorARN == "" && d.ProfileARN == "" && d.RoleSessionName == "" && d.SerialNumber == "" &&
		d.SourceIdentity == "" && d.AccessKeyID == "" && d.Route == "" && d.Authorization == "" &&
		d.Method == "" && d.Path == "" && d.Status == 0 && len(d.Resources) == 0
}

// NewID returns a time-ordered (version 7) UUID: 48 bits of Unix
// milliseconds, then random bits. Events recorded later sort later, so the
// store appends to the end of its id index instead of inserting at random
// places (measurably cheaper per event on the CreateSession path).
func NewID() string {
	var b [16]byte
	rand.Read(b[6:])
	ms := uint64(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
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
