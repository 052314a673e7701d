package helper

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-project/roam/credentials"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRefreshAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		life, want time.Duration
	}{
		{time.Hour, 30 * time.Minute}, // half is sooner
		{15 * time.Minute, 7*time.Minute + 30*time.Second},
		{8 * time.Minute, 3 * time.Minute}, // 5 min before expiry is sooner
		{4 * time.Minute, time.Minute},     // floor: a quarter of the lifetime
	} {
		if got := RefreshAt(t0, t0.Add(tc.life)).Sub(t0); got != tc.want {
			t.Errorf("life %s: refresh after %s, want %s", tc.life, got, tc.want)
		}
	}
}

// TestRefresherSingleflight: N concurrent Gets with nothing cached make one
// CreateSession.
func TestRefresherSingleflight(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	r := NewRefresher(func(ctx context.Context) (credentials.Credentials, error) {
		calls.Add(1)
		<-release
		return credentials.Credentials{AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T", Expiration: time.Now().Add(time.Hour)}, nil
	}, nil, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := r.Get(context.Background())
			if err == nil && c.AccessKeyID != "A" {
				err = errors.New("wrong credentials")
			}
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them pile up on the in-flight call
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("%d CreateSession calls for %d concurrent requests, want 1", got, n)
	}
}

// TestRefresherKeepsLastGood: when refreshing fails, the last good set is
// served until it expires, refreshes back off, and afterwards Get fails
// (never empty credentials).
func TestRefresherKeepsLastGood(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var fail atomic.Bool
	var calls atomic.Int32
	r := NewRefresher(func(ctx context.Context) (credentials.Credentials, error) {
		calls.Add(1)
		if fail.Load() {
			return credentials.Credentials{}, errors.New("server down")
		}
		return credentials.Credentials{AccessKeyID: "GOOD", SecretAccessKey: "S", SessionToken: "T", Expiration: clk.Now().Add(time.Hour)}, nil
	}, nil, clk.Now)
	ctx := context.Background()
	first, err := r.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	clk.Add(40 * time.Minute) // past the refresh time (30 min)
	c, err := r.Get(ctx)
	if err != nil || c != first {
		t.Fatalf("during a failing refresh got %+v, %v; want the last good set", c, err)
	}
	waitFor(t, func() bool { _, _, f := r.state(); return f == 1 })
	// Within the backoff window no new CreateSession is attempted.
	for range 10 {
		if c, err := r.Get(ctx); err != nil || c != first {
			t.Fatalf("got %+v, %v", c, err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls; want 2 (no retry inside the backoff window)", calls.Load())
	}
	clk.Add(21 * time.Minute) // expired
	if c, err := r.Get(ctx); !errors.Is(err, ErrNoCredentials) || c.AccessKeyID != "" {
		t.Fatalf("after expiry got %+v, %v; want ErrNoCredentials", c, err)
	}
	// Recovery.
	fail.Store(false)
	clk.Add(2 * time.Minute) // past the backoff
	if c, err := r.Get(ctx); err != nil || c.AccessKeyID != "GOOD" {
		t.Fatalf("after recovery got %+v, %v", c, err)
	}
}

// state exposes counters for tests.
func (r *Refresher) state() (has bool, inflight bool, failures int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.has, r.inflight != nil, r.failures
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
