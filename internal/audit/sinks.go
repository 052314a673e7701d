package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/roam-project/roam/internal/store"
)

// Appender is the part of store.Store the store sink uses.
type Appender interface {
	AppendAudit(ctx context.Context, events []store.AuditEvent) error
}

// StoreSink writes events to the store, one transaction per batch.
type StoreSink struct{ st Appender }

// NewStoreSink returns a sink on st. Closing it does not close st.
func NewStoreSink(st Appender) *StoreSink { return &StoreSink{st: st} }

// Name returns "store".
func (s *StoreSink) Name() string { return "store" }

// Write appends events in one transaction.
func (s *StoreSink) Write(ctx context.Context, events []store.AuditEvent) error {
	return s.st.AppendAudit(ctx, events)
}

// Close does nothing: the store belongs to the caller.
func (s *StoreSink) Close() error { return nil }

// JSONLinesSink writes one JSON object per event and line. A batch is
// written with a single write call under a lock, so lines from concurrent
// writers (and, with O_APPEND, from other processes) never interleave.
type JSONLinesSink struct {
	name  string
	mu    sync.Mutex
	w     io.Writer
	f     *os.File // nil for a plain writer
	close bool
	buf   bytes.Buffer
}

// OpenFile returns a sink appending to path, created with mode 0600 (and an
// existing file's mode narrowed to 0600: audit lines name principals and
// resources). Every write is fsynced before it returns.
func OpenFile(path string) (*JSONLinesSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		// A device or pipe (e.g. /dev/null, a FIFO to a log shipper) is
		// written as is: its mode is not ours to change, and it cannot be
		// fsynced.
		return &JSONLinesSink{name: "file", w: f, close: true}, nil
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit file: %w", err)
	}
	return &JSONLinesSink{name: "file", w: f, f: f, close: true}, nil
}

// NewWriterSink returns a sink writing to w (e.g. os.Stdout), which it never
// closes. If w is an *os.File that is a regular file, writes are fsynced.
func NewWriterSink(w io.Writer) *JSONLinesSink {
	s := &JSONLinesSink{name: "stdout", w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			s.f = f
		}
	}
	return s
}

// Name returns "file" or "stdout".
func (s *JSONLinesSink) Name() string { return s.name }

// Write writes events as JSON lines in one write call, then fsyncs a file.
func (s *JSONLinesSink) Write(_ context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	for i := range events {
		if err := enc.Encode(lineOf(&events[i])); err != nil { // Encode ends each with \n
			return fmt.Errorf("encode audit event %s: %w", events[i].ID, err)
		}
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return fmt.Errorf("write audit lines: %w", err)
	}
	if s.f != nil {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("sync audit file: %w", err)
		}
	}
	return nil
}

// Close closes the file OpenFile opened.
func (s *JSONLinesSink) Close() error {
	if !s.close {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}

// line is an event as a JSON line: Before, After and Details are embedded
// as JSON rather than as strings holding JSON.
type line struct {
	*store.AuditEvent
	Before  json.RawMessage `json:"before,omitempty"`
	After   json.RawMessage `json:"after,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
}

func lineOf(e *store.AuditEvent) line {
	return line{AuditEvent: e, Before: raw(e.Before), After: raw(e.After), Details: raw(e.Details)}
}

// raw returns s as raw JSON, or nil if it is empty or not valid JSON (then
// it is lost from the line rather than breaking it; the store keeps it).
func raw(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// MarshalLine returns e as the JSON object a JSON-lines sink writes (without
// the newline); `roam audit --json` prints the same.
func MarshalLine(e *store.AuditEvent) ([]byte, error) {
	return json.Marshal(lineOf(e))
}
