package helper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/roam-project/roam/credentials"
)

// FetchFunc obtains fresh credentials (usually (*credentials.Provider).CreateSession).
type FetchFunc func(ctx context.Context) (credentials.Credentials, error)

// ErrNoCredentials is returned by Refresher.Get when no valid credentials
// are held and the last attempt to get some failed.
var ErrNoCredentials = errors.New("no valid credentials")

// RefreshAt returns when credentials obtained at obtained and expiring at
// exp should be refreshed: at half their lifetime or five minutes before
// expiry, whichever is sooner, but never before a quarter of their lifetime
// (so very short credentials do not cause a refresh per request).
func RefreshAt(obtained, exp time.Time) time.Time {
	life := exp.Sub(obtained)
	at := obtained.Add(life / 2)
	if early := exp.Add(-5 * time.Minute); early.Before(at) {
		at = early
	}
	if floor := obtained.Add(life / 4); at.Before(floor) {
		at = floor
	}
	return at
}

// Refresher holds the last good credentials and refreshes them early. It
// never hands out empty or expired credentials: while a refresh fails it
// keeps serving the last good set until it expires, retrying with
// exponential backoff. Concurrent callers share one CreateSession.
type Refresher struct {
	fetch FetchFunc
	log   *slog.Logger
	now   func() time.Time

	mu       sync.Mutex
	cur      credentials.Credentials
	has      bool
	obtained time.Time
	lastErr  error
	failures int
	nextTry  time.Time     // no new attempt before this after a failure
	inflight chan struct{} // closed when the running fetch ends
	fetches  int
}

// NewRefresher returns a Refresher that calls fetch. logger may be nil; now
// nil means time.Now.
func NewRefresher(fetch FetchFunc, logger *slog.Logger, now func() time.Time) *Refresher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Refresher{fetch: fetch, log: logger, now: now}
}

// Fetches reports how many CreateSession calls the Refresher made.
func (r *Refresher) Fetches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetches
}

// Get returns valid credentials. When the held set is due for refresh it
// starts one in the background and still returns the held set at once; only
// when nothing valid is held does it wait for a CreateSession.
func (r *Refresher) Get(ctx context.Context) (credentials.Credentials, error) {
	r.mu.Lock()
	now := r.now()
	if r.has && now.Before(r.cur.Expiration) {
		c := r.cur
		if !now.Before(RefreshAt(r.obtained, c.Expiration)) && !now.Before(r.nextTry) {
			r.startLocked()
		}
		r.mu.Unlock()
		return c, nil
	}
	if r.inflight == nil && now.Before(r.nextTry) {
		err := r.lastErr
		r.mu.Unlock()
		return credentials.Credentials{}, fmt.Errorf("%w: %v", ErrNoCredentials, err)
	}
	done := r.startLocked()
	r.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return credentials.Credentials{}, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.has && r.now().Before(r.cur.Expiration) {
		return r.cur, nil
	}
	return credentials.Credentials{}, fmt.Errorf("%w: %v", ErrNoCredentials, r.lastErr)
}

// startLocked starts a fetch unless one is running and returns the channel
// closed when it ends. r.mu must be held.
func (r *Refresher) startLocked() <-chan struct{} {
	if r.inflight != nil {
		return r.inflight
	}
	done := make(chan struct{})
	r.inflight = done
	r.fetches++
	go r.run(done)
	return done
}

// fetchTimeout bounds one refresh, retries included.
const fetchTimeout = 2 * time.Minute

func (r *Refresher) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	c, err := r.fetch(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if err == nil && !c.Expiration.After(now) {
		err = fmt.Errorf("credentials already expired at %s", c.Expiration.Format(time.RFC3339))
	}
	if err != nil {
		r.failures++
		r.lastErr = err
		r.nextTry = now.Add(credentials.Backoff(r.failures, time.Second, time.Minute))
		attrs := []any{"error", err, "failures", r.failures, "retry_in", r.nextTry.Sub(now).Round(time.Millisecond)}
		if r.has && now.Before(r.cur.Expiration) {
			attrs = append(attrs, "serving_previous_until", r.cur.Expiration)
		}
		r.log.Warn("refreshing credentials failed", attrs...)
	} else {
		r.cur, r.has, r.obtained = c, true, now
		r.failures, r.lastErr, r.nextTry = 0, nil, time.Time{}
		r.log.Info("obtained credentials", "access_key_id", c.AccessKeyID, "expiration", c.Expiration, "refresh_at", RefreshAt(now, c.Expiration))
	}
	r.inflight = nil
	close(done)
}

// Run refreshes proactively until ctx ends: it gets credentials, then wakes
// at the refresh time (or after the backoff when a refresh failed) and
// refreshes. Get works without Run, refreshing on demand.
func (r *Refresher) Run(ctx context.Context) {
	for {
		r.mu.Lock()
		var wait time.Duration
		now := r.now()
		switch {
		case r.inflight != nil:
			wait = -1
		case r.failures > 0:
			wait = r.nextTry.Sub(now)
		case r.has:
			wait = RefreshAt(r.obtained, r.cur.Expiration).Sub(now)
		}
		var done <-chan struct{}
		if wait == -1 {
			done = r.inflight
		} else if wait <= 0 {
			done = r.startLocked()
		}
		r.mu.Unlock()
		if done == nil {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-done:
		}
	}
}

// Current returns the held credentials and whether they are still valid.
func (r *Refresher) Current() (credentials.Credentials, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.has && r.now().Before(r.cur.Expiration)
}
