package cadir

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

// TestConcurrentRecords: 16 goroutines, each with a Dir of its own, record
// certificates in the same directory at once; the directory lock makes
// them take turns, so the index ends with all 16.
func TestConcurrentRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ca")
	if _, err := Init(ctx, path, InitOptions{Name: "T"}); err != nil {
		t.Fatal(err)
	}
	d0, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := d0.Issuer(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			key, _ := pki.GenerateKey(pki.ECP256, nil)
			is, err := iss.Issue(pki.LeafRequest{Subject: pkixName("leaf"), PublicKey: key.Public()})
			if err != nil {
				errs <- err
				return
			}
			d, err := Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			<-start
			if err := d.Record(ctx, is.Cert, pki.ProfileClient); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs, err := d0.Records(ctx)
	if err != nil || len(recs) != n {
		t.Fatalf("index has %d records (%v), want %d", len(recs), err, n)
	}
	fi, err := os.Stat(filepath.Join(path, LockFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v", fi, err)
	}
}

// TestCRLNumberLock: PeekCRLNumber holds the directory lock until
// CommitCRLNumber, so a second publisher waits and gets the next number;
// ReleaseCRLNumber gives the number back; a commit never lowers the
// counter; a waiting change gives up when its context ends.
func TestCRLNumberLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ca")
	if _, err := Init(ctx, path, InitOptions{Name: "T"}); err != nil {
		t.Fatal(err)
	}
	d1, _ := Open(ctx, path)
	d2, _ := Open(ctx, path)
	n1, err := d1.PeekCRLNumber(ctx)
	if err != nil || n1.Int64() != 1 {
		t.Fatalf("peek = %v, %v", n1, err)
	}
	if again, err := d1.PeekCRLNumber(ctx); err != nil || again.Cmp(n1) != 0 {
		t.Fatalf("second peek on the same Dir = %v, %v; want %v", again, err, n1)
	}
	// While d1 holds the lock, d1 may still change the directory...
	if _, err := d1.Revoke(ctx, big.NewInt(7), pki.ReasonUnspecified, time.Now()); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("revoke on the holding Dir: %v", err)
	}
	// ...but d2 waits, and gives up when its context ends.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = d2.Revoke(short, big.NewInt(7), pki.ReasonUnspecified, time.Now())
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("revoke while another Dir holds the lock: %v", err)
	}
	got := make(chan *big.Int, 1)
	go func() {
		n, err := d2.PeekCRLNumber(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	select {
	case n := <-got:
		t.Fatalf("second publisher got number %v while the first held the lock", n)
	case <-time.After(100 * time.Millisecond):
	}
	if err := d1.CommitCRLNumber(ctx, n1); err != nil {
		t.Fatal(err)
	}
	n2 := <-got
	if n2 == nil || n2.Int64() != 2 {
		t.Fatalf("second publisher got %v, want 2", n2)
	}
	d2.ReleaseCRLNumber()
	if n, err := d1.PeekCRLNumber(ctx); err != nil || n.Int64() != 2 {
		t.Fatalf("after release: peek = %v, %v; want 2", n, err)
	}
	if err := d1.CommitCRLNumber(ctx, big.NewInt(1)); err == nil {
		t.Error("committed a CRL number below the counter")
	}
	// The failed commit released the lock too.
	short, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if n, err := d2.PeekCRLNumber(short); err != nil || n.Int64() != 2 {
		t.Fatalf("peek after a failed commit = %v, %v", n, err)
	}
	d2.ReleaseCRLNumber()
}
