package helper

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-project/roam/credentials"
)

func TestCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var calls atomic.Int32
	fetch := func(ctx context.Context) (credentials.Credentials, error) {
		calls.Add(1)
		return credentials.Credentials{AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T", Expiration: clk.Now().Add(time.Hour)}, nil
	}
	c := &Cache{Dir: dir, Now: clk.Now}
	k := CacheKey{TrustAnchorARN: "ta", ProfileARN: "p", RoleARN: "r", Endpoint: "e", DurationSeconds: 3600}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.Get(context.Background(), k, fetch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d CreateSession calls for 16 concurrent invocations, want 1", calls.Load())
	}
	if _, hit, _ := c.Get(context.Background(), k, fetch); !hit {
		t.Fatal("warm cache missed")
	}
	other := k
	other.RoleARN = "r2"
	if _, hit, _ := c.Get(context.Background(), other, fetch); hit {
		t.Fatal("another role hit the cache")
	}
	fi, _ := os.Stat(dir)
	entry, _ := os.Stat(filepath.Join(dir, k.Name()+".json"))
	if fi.Mode().Perm() != 0o700 || entry.Mode().Perm() != 0o600 {
		t.Fatalf("modes dir %v file %v", fi.Mode(), entry.Mode())
	}
	clk.Add(56 * time.Minute) // less than 5 min left
	if _, hit, _ := c.Get(context.Background(), k, fetch); hit {
		t.Fatal("credentials with < 5 min left were reused")
	}
}
