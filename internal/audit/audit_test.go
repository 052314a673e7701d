package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// memSink records what it is given; fail makes writes fail.
type memSink struct {
	mu     sync.Mutex
	fail   bool
	writes int
	events []store.AuditEvent
}

func (m *memSink) Name() string { return "mem" }
func (m *memSink) Close() error { return nil }
func (m *memSink) Write(_ context.Context, es []store.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if m.fail {
		return errors.New("sink down")
	}
	m.events = append(m.events, es...)
	return nil
}

func (m *memSink) ids() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, e := range m.events {
		out[e.ID]++
	}
	return out
}

func ev(id string) Event {
	return Event{AuditEvent: store.AuditEvent{ID: id, Action: "rolesanywhere:CreateSession", Outcome: store.OutcomeAllowed}}
}

func TestRecorder(t *testing.T) {
	ctx := context.Background()
	t.Run("queue bound drops and counts", func(t *testing.T) {
		s := &memSink{}
		r := NewRecorder(Options{QueueLen: 4, BatchMax: 2}, s)
		for i := range 6 {
			r.Record(ev(fmt.Sprint(i))) // never blocks, even with no Run
		}
		if r.QueueDepth() != 4 || r.Dropped() != 2 {
			t.Fatalf("depth %d dropped %d, want 4 and 2", r.QueueDepth(), r.Dropped())
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got := s.ids()
		if len(got) != 4 || got["0"] != 1 || got["3"] != 1 || r.QueueDepth() != 0 || r.Written() != 4 {
			t.Fatalf("flushed %v, depth %d, written %d", got, r.QueueDepth(), r.Written())
		}
		if s.writes != 2 {
			t.Errorf("%d writes of BatchMax 2 for 4 events, want 2", s.writes)
		}
	})
	t.Run("failed batches are retried to the failing sink only", func(t *testing.T) {
		good, bad := &memSink{}, &memSink{fail: true}
		r := NewRecorder(Options{}, good, bad)
		r.Record(ev("a"))
		if err := r.Flush(ctx); err == nil {
			t.Fatal("Flush hid the sink failure")
		}
		r.Record(ev("b"))
		bad.mu.Lock()
		bad.fail = false
		bad.mu.Unlock()
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]*memSink{"good": good, "bad": bad} {
			if got := s.ids(); len(got) != 2 || got["a"] != 1 || got["b"] != 1 {
				t.Errorf("%s sink has %v, want a and b once each", name, got)
			}
		}
		if r.WriteFailures() != 1 {
			t.Errorf("WriteFailures %d, want 1", r.WriteFailures())
		}
	})
	t.Run("RecordSync reports a sink failure", func(t *testing.T) {
		s := &memSink{fail: true}
		r := NewRecorder(Options{}, &memSink{}, s)
		if err := r.RecordSync(ctx, ev("x")); err == nil || !strings.Contains(err.Error(), "sink down") {
			t.Fatalf("RecordSync = %v, want the sink's error", err)
		}
		s.fail = false
		if err := r.RecordSync(ctx, ev("y")); err != nil {
			t.Fatal(err)
		}
		if got := s.ids(); got["y"] != 1 || r.QueueDepth() != 0 {
			t.Errorf("sink %v, depth %d", got, r.QueueDepth())
		}
	})
	t.Run("Run flushes on stop", func(t *testing.T) {
		s := &memSink{}
		r := NewRecorder(Options{FlushEvery: time.Hour}, s)
		rc, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { r.Run(rc); close(done) }()
		for i := range 100 {
			r.Record(ev(fmt.Sprint(i)))
		}
		stop()
		<-done
		if got := s.ids(); len(got) != 100 {
			t.Fatalf("%d events after stop, want 100", len(got))
		}
	})
	t.Run("prepare fills id, time, address and details", func(t *testing.T) {
		e := Event{AuditEvent: store.AuditEvent{SourceIP: "192.0.2.1:5555", Action: "a", Outcome: store.OutcomeDenied},
			Detail: Detail{TrustAnchorARN: "arn:x", Status: 403}}
		p := prepare(e)
		if len(p.ID) != 36 || p.Time.IsZero() || p.Time.Location() != time.UTC || p.SourceIP != "192.0.2.1" ||
			p.Details != `{"trustAnchorArn":"arn:x","status":403}` || store.CheckAuditEvent(&p) != nil {
			t.Fatalf("prepare = %+v", p)
		}
		if p2 := prepare(Event{AuditEvent: store.AuditEvent{SourceIP: "2001:db8::1"}}); p2.SourceIP != "2001:db8::1" || p2.Details != "" {
			t.Errorf("prepare without port = %+v", p2)
		}
	})
}

func TestJSONLinesSink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	// An existing file with a loose mode is narrowed to 0600.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	r := NewRecorder(Options{}, s)
	var wg sync.WaitGroup
	const writers, each = 8, 50
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := ev(fmt.Sprintf("%d-%d", w, i))
				e.After = `{"roleName":"r","big":"` + strings.Repeat("x", 4096) + `"}`
				if err := r.RecordSync(context.Background(), e); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var l struct {
			ID    string          `json:"id"`
			After json.RawMessage `json:"after"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("torn or bad line: %v: %.80s", err, sc.Text())
		}
		if !strings.HasPrefix(string(l.After), `{"roleName":"r"`) {
			t.Fatalf("after is not embedded JSON: %.80s", l.After)
		}
		seen[l.ID] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*each)
	}
}

func TestDocumentRedacts(t *testing.T) {
	type key struct {
		ID           string
		SealedSecret []byte
	}
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, ""},
		{"secrets", map[string]any{"SecretAccessKey": "s", "sessionToken": "t", "Password": "p", "privateKey": "k",
			"keys": []any{key{ID: "AKIA1", SealedSecret: []byte("x")}}, "name": "n"},
			`{"Password":"[redacted]","SecretAccessKey":"[redacted]","keys":[{"ID":"AKIA1","SealedSecret":"[redacted]"}],"name":"n","privateKey":"[redacted]","sessionToken":"[redacted]"}`},
		{"crl data", map[string]any{"crl": map[string]any{"crlData": "AAAA", "crlArn": "arn"}},
			`{"crl":{"crlArn":"arn","crlData":"[4 bytes]"}}`},
	} {
		if got := Document(tc.in); got != tc.want {
			t.Errorf("%s: Document = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestOpenFileLeavesDevicesAlone: a device such as /dev/null is written to
// but its mode is not changed (a chmod of /dev/null breaks every other
// program on the machine).
func TestOpenFileLeavesDevicesAlone(t *testing.T) {
	before, err := os.Stat(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	s, err := OpenFile(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []store.AuditEvent{{ID: "e1", Time: time.Now(), Action: "test"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	after, err := os.Stat(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if before.Mode() != after.Mode() {
		t.Fatalf("mode of %s changed from %v to %v", os.DevNull, before.Mode(), after.Mode())
	}
}
