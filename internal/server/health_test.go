package server

import (
	"errors"
	"testing"
	"time"
)

// fakeClock is a settable clock for the health tracker.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestHealthTracker walks the tracker through outages with a fake clock: it
// serves while probes succeed, through the grace time measured from the last
// successful contact, fails closed after it, and recovers on the first
// successful probe.
func TestHealthTracker(t *testing.T) {
	errDown := errors.New("connection refused")
	type step struct {
		advance    time.Duration
		probe      error // nil: a successful probe
		noProbe    bool  // only advance the clock
		want       transition
		wantClosed bool
	}
	tests := []struct {
		name  string
		grace time.Duration
		steps []step
	}{
		{"healthy", 2 * time.Second, []step{
			{advance: time.Second, want: unchanged},
			// No probe for a long time is not an outage.
			{advance: time.Hour, noProbe: true},
			{advance: time.Second, want: unchanged},
		}},
		{"outage within grace", 2 * time.Second, []step{
			{advance: time.Second, want: unchanged},
			{advance: time.Second, probe: errDown, want: wentDown},
			{advance: 900 * time.Millisecond, probe: errDown, want: unchanged},
			// 1.9 s after the last contact.
			{advance: 0, noProbe: true},
			{advance: time.Second, probe: nil, want: recovered},
		}},
		{"outage past grace, then recovery", 2 * time.Second, []step{
			{advance: time.Second, probe: errDown, want: wentDown},
			{advance: time.Second, probe: errDown, want: unchanged},
			// Exactly the grace time after the last contact: still serving.
			{advance: 0, noProbe: true},
			{advance: time.Millisecond, noProbe: true, wantClosed: true},
			{advance: time.Minute, probe: errDown, want: unchanged, wantClosed: true},
			{advance: time.Second, probe: nil, want: recovered},
			// A new outage is measured from the new last contact.
			{advance: time.Second, probe: errDown, want: wentDown},
			{advance: time.Second, noProbe: true},
			{advance: 2 * time.Second, noProbe: true, wantClosed: true},
		}},
		{"fails closed without a probe after the outage began", 5 * time.Minute, []step{
			{advance: time.Second, probe: errDown, want: wentDown},
			{advance: 5*time.Minute + time.Second, noProbe: true, wantClosed: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			h := newHealthTracker(tt.grace, clk.now)
			for i, st := range tt.steps {
				clk.advance(st.advance)
				if !st.noProbe {
					if got := h.observe(st.probe); got != st.want {
						t.Fatalf("step %d: observe(%v) = %v, want %v", i, st.probe, got, st.want)
					}
				}
				err := h.available()
				if closed := err != nil; closed != st.wantClosed {
					t.Fatalf("step %d: available() = %v, want closed %v", i, err, st.wantClosed)
				}
				if err != nil && (!errors.Is(err, ErrDatabaseUnavailable)) {
					t.Fatalf("step %d: %v does not wrap ErrDatabaseUnavailable", i, err)
				}
				if got := h.status(); got.FailedClosed != st.wantClosed || got.Grace != tt.grace {
					t.Fatalf("step %d: status %+v, want FailedClosed %v", i, got, st.wantClosed)
				}
			}
		})
	}
}

// TestHealthTrackerReason: the error names the cause and the grace time, and
// the status the last contact.
func TestHealthTrackerReason(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := newHealthTracker(time.Second, clk.now)
	clk.advance(time.Second)
	h.observe(nil)
	contact := clk.t
	clk.advance(time.Second)
	h.observe(errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
	clk.advance(2 * time.Second)
	err := h.available()
	want := "database unreachable for 3s (grace 1s): dial tcp 127.0.0.1:5432: connect: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("available() = %v, want %q", err, want)
	}
	st := h.status()
	if !st.LastContact.Equal(contact) || st.Err == nil || !st.FailedClosed {
		t.Fatalf("status = %+v, want last contact %s, an error, failed closed", st, contact)
	}
}

// TestHealthTrackerFailClosedOnce: onFailClosed is called once per outage,
// however many requests and probes find the grace time over.
func TestHealthTrackerFailClosedOnce(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := newHealthTracker(time.Second, clk.now)
	var calls int
	h.onFailClosed = func(error) { calls++ }
	down := errors.New("connection refused")
	for outage := 1; outage <= 2; outage++ {
		h.observe(down)
		h.available()
		clk.advance(2 * time.Second)
		for range 3 {
			h.available()
			h.observe(down)
			h.available()
		}
		if calls != outage {
			t.Fatalf("outage %d: onFailClosed called %d times in all, want %d", outage, calls, outage)
		}
		h.observe(nil)
		clk.advance(time.Second)
	}
}
