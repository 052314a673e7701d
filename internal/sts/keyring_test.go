package sts

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

func TestOpenCreatesFirstKey(t *testing.T) {
	kr, ks, _, _ := newTestKeyring(t, Options{})
	ids := ks.ids()
	if len(ids) != 1 || ids[0] != kr.ActiveKeyID() || len(ids[0]) != keyIDLen {
		t.Fatalf("store ids %v, active %q", ids, kr.ActiveKeyID())
	}
	rec := ks.recs[ids[0]]
	if !rec.CreatedAt.Equal(t0) || !rec.ActiveUntil.Equal(t0.Add(24*time.Hour)) ||
		!rec.RetireAt.Equal(t0.Add(24*time.Hour+time.Hour+12*time.Hour+retireMargin)) {
		t.Fatalf("record times %v %v %v", rec.CreatedAt, rec.ActiveUntil, rec.RetireAt)
	}
	if len(rec.Sealed) != 1+12+32+16 {
		t.Fatalf("sealed record is %d bytes", len(rec.Sealed))
	}
	keys := kr.Keys()
	if len(keys) != 1 || !keys[0].Sealing {
		t.Fatalf("Keys() = %+v", keys)
	}
}

func TestRestart(t *testing.T) {
	kr, ks, clk, master := newTestKeyring(t, Options{})
	c := mustMint(t, kr, testSpec(t0))

	// Same master key: the old token still validates, and no key is added.
	kr2, err := OpenKeyring(ctx, ks, master, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr2.Validate(c.AccessKeyID, c.SessionToken, t0.Add(time.Minute)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if len(ks.ids()) != 1 || kr2.ActiveKeyID() != kr.ActiveKeyID() {
		t.Fatalf("restart changed the keys: %v", ks.ids())
	}

	// Another master key: a clear error, nothing written.
	_, err = OpenKeyring(ctx, ks, newMaster(t), Options{Now: clk.Now})
	if !errors.Is(err, ErrWrongMasterKey) || !strings.Contains(err.Error(), kr.ActiveKeyID()) {
		t.Fatalf("other master: err = %v", err)
	}
	if len(ks.ids()) != 1 {
		t.Fatal("failed open wrote to the store")
	}
	// Bad master key length.
	if _, err := OpenKeyring(ctx, ks, master[:16], Options{}); err == nil {
		t.Fatal("short master key accepted")
	}
}

func TestOpenStoreError(t *testing.T) {
	ks := newMemKeyStore()
	ks.listErr = errors.New("database is locked")
	if _, err := OpenKeyring(ctx, ks, newMaster(t), Options{}); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("err = %v", err)
	}
	ks = newMemKeyStore()
	ks.putErr = errors.New("disk full")
	if _, err := OpenKeyring(ctx, ks, newMaster(t), Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

func TestRotateAndPrune(t *testing.T) {
	kr, ks, clk, _ := newTestKeyring(t, Options{})
	old := kr.ActiveKeyID()
	cOld := mustMint(t, kr, testSpec(t0))

	clk.Advance(time.Hour)
	if err := kr.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	cur := kr.ActiveKeyID()
	if cur == old || len(ks.ids()) != 2 {
		t.Fatalf("after rotate: active %s (old %s), store %v", cur, old, ks.ids())
	}
	cNew := mustMint(t, kr, testSpec(clk.Now()))
	sNew, err := kr.Validate(cNew.AccessKeyID, cNew.SessionToken, clk.Now())
	if err != nil || sNew.KeyID != cur {
		t.Fatalf("new token: key %v, err %v", sNew, err)
	}
	sOld, err := kr.Validate(cOld.AccessKeyID, cOld.SessionToken, t0.Add(30*time.Minute))
	if err != nil || sOld.KeyID != old {
		t.Fatalf("old token after rotate: %v", err)
	}

	// Pruning before RetireAt keeps the old key.
	var oldInfo KeyInfo
	for _, k := range kr.Keys() {
		if k.ID == old {
			oldInfo = k
		}
	}
	if err := kr.Prune(ctx, oldInfo.RetireAt.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Validate(cOld.AccessKeyID, cOld.SessionToken, t0.Add(30*time.Minute)); err != nil {
		t.Fatalf("old token before RetireAt: %v", err)
	}
	// At RetireAt it goes, from memory and store; its tokens are unknown.
	if err := kr.Prune(ctx, oldInfo.RetireAt); err != nil {
		t.Fatal(err)
	}
	if ids := ks.ids(); len(ids) != 1 || ids[0] != cur {
		t.Fatalf("store after prune: %v", ids)
	}
	_, err = kr.Validate(cOld.AccessKeyID, cOld.SessionToken, t0.Add(30*time.Minute))
	wantTokenErr(t, err, ErrUnknownKey)
	if _, err := kr.Validate(cNew.AccessKeyID, cNew.SessionToken, clk.Now()); err != nil {
		t.Fatal(err)
	}
	// The sealing key is never pruned, even past its RetireAt.
	if err := kr.Prune(ctx, t0.Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != cur || len(ks.ids()) != 1 {
		t.Fatal("sealing key pruned")
	}
}

// The retention guarantee: a token minted with a key at the last moment the
// key may seal, with the longest lifetime, expires before the key retires.
func TestRetentionCoversLongestToken(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	k := kr.Keys()[0]
	last := k.ActiveUntil.Add(DefaultRotationGrace - time.Millisecond)
	spec := testSpec(last)
	spec.Expiration = last.Add(DefaultMaxSessionLifetime)
	c := mustMint(t, kr, spec)
	if c.Expiration.After(k.RetireAt) {
		t.Fatalf("token expires %v after key retires %v", c.Expiration, k.RetireAt)
	}
	// Past ActiveUntil+grace the key refuses to seal.
	_, err := kr.Mint(testSpec(k.ActiveUntil.Add(DefaultRotationGrace)))
	if !errors.Is(err, ErrNoSealingKey) {
		t.Fatalf("overdue key sealed: %v", err)
	}
}

func TestMaybeRotate(t *testing.T) {
	opts := Options{RotateEvery: 6 * time.Hour, MaxSessionLifetime: 2 * time.Hour, RotationGrace: 30 * time.Minute}
	kr, ks, clk, _ := newTestKeyring(t, opts)
	first := kr.ActiveKeyID()
	c := mustMint(t, kr, testSpec(t0))

	rotated, err := kr.MaybeRotate(ctx, t0.Add(6*time.Hour-time.Second))
	if err != nil || rotated {
		t.Fatalf("early: rotated=%v err=%v", rotated, err)
	}
	rotated, err = kr.MaybeRotate(ctx, t0.Add(6*time.Hour))
	if err != nil || !rotated || kr.ActiveKeyID() == first {
		t.Fatalf("due: rotated=%v err=%v", rotated, err)
	}
	second := kr.ActiveKeyID()
	// first retires at 6h + 30m + 2h + 5m.
	retire := t0.Add(6*time.Hour + 30*time.Minute + 2*time.Hour + retireMargin)
	if _, err := kr.MaybeRotate(ctx, retire.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0.Add(time.Minute)); err != nil {
		t.Fatalf("first key pruned early: %v", err)
	}
	if _, err := kr.MaybeRotate(ctx, retire); err != nil {
		t.Fatal(err)
	}
	if ids := ks.ids(); len(ids) != 1 || ids[0] != second {
		t.Fatalf("store %v, want [%s]", ids, second)
	}
	_, err = kr.Validate(c.AccessKeyID, c.SessionToken, t0.Add(time.Minute))
	wantTokenErr(t, err, ErrUnknownKey)
	_ = clk
}

// Two replicas share a store: one rotates, the other learns the new key on
// Refresh (and MaybeRotate on the second replica does not rotate again).
func TestRefreshAcrossReplicas(t *testing.T) {
	a, ks, clk, master := newTestKeyring(t, Options{})
	b, err := OpenKeyring(ctx, ks, master, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if a.ActiveKeyID() != b.ActiveKeyID() {
		t.Fatal("replicas disagree on the first key")
	}
	clk.Advance(24 * time.Hour)
	if rotated, err := a.MaybeRotate(ctx, clk.Now()); err != nil || !rotated {
		t.Fatalf("a: rotated=%v err=%v", rotated, err)
	}
	c := mustMint(t, a, testSpec(clk.Now()))
	_, err = b.Validate(c.AccessKeyID, c.SessionToken, clk.Now())
	wantTokenErr(t, err, ErrUnknownKey)
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Validate(c.AccessKeyID, c.SessionToken, clk.Now()); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
	if b.ActiveKeyID() != a.ActiveKeyID() {
		t.Fatal("b does not seal with the new key")
	}
	if rotated, err := b.MaybeRotate(ctx, clk.Now()); err != nil || rotated {
		t.Fatalf("b rotated again: rotated=%v err=%v", rotated, err)
	}
	if n := len(ks.ids()); n != 2 {
		t.Fatalf("store has %d keys, want 2", n)
	}

	// A failing store leaves the keys in memory untouched.
	ks.mu.Lock()
	ks.listErr = errors.New("connection refused")
	ks.mu.Unlock()
	if err := b.Refresh(ctx); err == nil {
		t.Fatal("Refresh ignored the store error")
	}
	if _, err := b.Validate(c.AccessKeyID, c.SessionToken, clk.Now()); err != nil {
		t.Fatal(err)
	}
	ks.mu.Lock()
	ks.listErr = nil
	ks.mu.Unlock()

	// A key sealed under another master key makes Refresh fail, keeping the
	// current keys.
	other, err := OpenKeyring(ctx, ks, newMaster(t), Options{Now: clk.Now})
	if err == nil {
		t.Fatal("opened a keyring with the wrong master key")
	}
	_ = other
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// An emptied store is refused by Refresh.
	for _, id := range ks.ids() {
		ks.DeleteKey(ctx, id)
	}
	if err := b.Refresh(ctx); err == nil {
		t.Fatal("Refresh accepted an empty store")
	}
	if _, err := b.Validate(c.AccessKeyID, c.SessionToken, clk.Now()); err != nil {
		t.Fatal(err)
	}
}

// Validate and Mint run while keys rotate, refresh and prune.
func TestConcurrentValidateDuringRotate(t *testing.T) {
	kr, ks, clk, master := newTestKeyring(t, Options{})
	peer, err := OpenKeyring(ctx, ks, master, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := mustMint(t, kr, testSpec(t0))
	now := t0.Add(time.Minute)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var validated atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, now); err != nil {
					t.Error(err)
					return
				}
				if _, err := peer.Validate(c.AccessKeyID, c.SessionToken, now); err != nil {
					t.Error(err)
					return
				}
				nc, err := kr.Mint(testSpec(now))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := kr.Validate(nc.AccessKeyID, nc.SessionToken, now); err != nil {
					t.Error(err)
					return
				}
				validated.Add(1)
			}
		})
	}
	for range 50 {
		if err := kr.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := peer.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.MaybeRotate(ctx, now); err != nil {
			t.Fatal(err)
		}
		if err := kr.Prune(ctx, now); err != nil {
			t.Fatal(err)
		}
		// Let the readers run between rotations.
		for seen, deadline := validated.Load(), time.Now().Add(5*time.Second); validated.Load() == seen && time.Now().Before(deadline); {
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wg.Wait()
	if validated.Load() == 0 {
		t.Fatal("no validation ran")
	}
	if n := len(kr.Keys()); n != 51 {
		t.Fatalf("%d keys, want 51", n)
	}
}

// A store holding only retired keys: open makes a new key and prunes them.
func TestOpenAfterLongDowntime(t *testing.T) {
	kr, ks, clk, master := newTestKeyring(t, Options{})
	old := kr.ActiveKeyID()
	clk.Advance(30 * 24 * time.Hour)
	kr2, err := OpenKeyring(ctx, ks, master, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if ids := ks.ids(); len(ids) != 1 || ids[0] == old || ids[0] != kr2.ActiveKeyID() {
		t.Fatalf("store %v, active %s, old %s", ids, kr2.ActiveKeyID(), old)
	}
	mustMint(t, kr2, testSpec(clk.Now()))
}

// Two replicas prune the same retired key; the second sees ErrNotFound from
// the store and does not report it.
func TestPruneRace(t *testing.T) {
	ks := notFoundOnMissing{newMemKeyStore()}
	clk := &fakeClock{t: t0}
	master := newMaster(t)
	a, err := OpenKeyring(ctx, ks, master, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := OpenKeyring(ctx, ks, master, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	late := t0.Add(1000 * time.Hour)
	if err := a.Prune(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := b.Prune(ctx, late); err != nil {
		t.Fatalf("second prune: %v", err)
	}
	if len(ks.ids()) != 1 || len(b.Keys()) != 1 {
		t.Fatalf("store %v, b %d keys", ks.ids(), len(b.Keys()))
	}
}
