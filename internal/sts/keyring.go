package sts

import (
	"cmp"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// KeyStore is where the keyring keeps its keys. Records are immutable once
// written: the keyring only ever adds a new key (PutKey) and deletes retired
// ones (DeleteKey). Several replicas may prune the same key, so DeleteKey of
// an id that is already gone may return store.ErrNotFound (ignored) or nil.
type KeyStore interface {
	ListKeys(ctx context.Context) ([]store.KeyRecord, error)
	PutKey(ctx context.Context, rec store.KeyRecord) error
	DeleteKey(ctx context.Context, id string) error
}

// RevocationSource tells the validator the revocation cutoff of a role:
// sessions of the role issued before the cutoff are rejected. It is called on
// every validation, so it must be fast and safe for concurrent use (a lookup
// in the caller's in-memory snapshot).
type RevocationSource interface {
	CutoffFor(roleARN string) (cutoff time.Time, ok bool)
}

// RevocationFunc adapts a function to a RevocationSource.
type RevocationFunc func(roleARN string) (time.Time, bool)

// CutoffFor calls f.
func (f RevocationFunc) CutoffFor(roleARN string) (time.Time, bool) { return f(roleARN) }

// Defaults for Options.
const (
	DefaultRotateEvery        = 24 * time.Hour
	DefaultRotationGrace      = time.Hour
	DefaultMaxSessionLifetime = 12 * time.Hour
	DefaultMaxChainedLifetime = time.Hour
)

// retireMargin is added to every key's retirement time to absorb clock skew
// between replicas.
const retireMargin = 5 * time.Minute

// keyIDLen is the length of a key id: 8 characters of lower-case base32
// (40 random bits), written verbatim into every session token.
const keyIDLen = 8

var keyIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Options configure a Keyring. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// RotateEvery is how long a key seals new tokens before MaybeRotate
	// replaces it. Default 24h.
	RotateEvery time.Duration
	// RotationGrace is how long past its planned rotation a key may still
	// seal tokens, so that a late MaybeRotate (or a replica that has not yet
	// seen another's new key) does not stop minting. Default 1h.
	RotationGrace time.Duration
	// MaxSessionLifetime is the longest lifetime Mint accepts for a session
	// (Roles Anywhere: 12h). Default 12h.
	MaxSessionLifetime time.Duration
	// MaxChainedLifetime is the longest lifetime Mint accepts for a chained
	// session (role chaining: 1h). Default 1h.
	MaxChainedLifetime time.Duration
	// Revocation, if set, supplies per-role revocation cutoffs to Validate.
	Revocation RevocationSource
	// Now is the clock used by Rotate, Refresh and OpenKeyring. Default
	// time.Now.
	Now func() time.Time
	// Rand is the source of key material, key ids, nonces, access key ids
	// and secrets. Default crypto/rand.Reader. Only tests set it.
	Rand io.Reader
}

func (o Options) withDefaults() Options {
	if o.RotateEvery <= 0 {
		o.RotateEvery = DefaultRotateEvery
	}
	if o.RotationGrace <= 0 {
		o.RotationGrace = DefaultRotationGrace
	}
	if o.MaxSessionLifetime <= 0 {
		o.MaxSessionLifetime = DefaultMaxSessionLifetime
	}
	if o.MaxChainedLifetime <= 0 {
		o.MaxChainedLifetime = DefaultMaxChainedLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// maxLifetime is the longest any token sealed by a key can live.
func (o Options) maxLifetime() time.Duration {
	return max(o.MaxSessionLifetime, o.MaxChainedLifetime)
}

// key is one unsealed keyring key. It is immutable once published.
type key struct {
	id          string
	aead        cipher.AEAD
	sealed      []byte
	createdAt   time.Time
	activeUntil time.Time // planned end of sealing; Mint tolerates RotationGrace past it
	retireAt    time.Time // every token this key sealed has expired by then
}

// keySet is an immutable snapshot of the keyring, swapped atomically.
type keySet struct {
	byID   map[string]*key
	newest *key // the sealing key: latest CreatedAt (ties: greatest id)
}

func newKeySet(keys []*key) *keySet {
	s := &keySet{byID: make(map[string]*key, len(keys))}
	for _, k := range keys {
		s.byID[k.id] = k
		if s.newest == nil || newer(k, s.newest) {
			s.newest = k
		}
	}
	return s
}

func newer(a, b *key) bool {
	if c := a.createdAt.Compare(b.createdAt); c != 0 {
		return c > 0
	}
	return a.id > b.id
}

// Keyring holds the keys that seal and open session tokens. Mint and
// Validate are lock-free and safe for concurrent use with each other and with
// Rotate, Refresh, MaybeRotate and Prune, which serialise among themselves.
type Keyring struct {
	ks     KeyStore
	master []byte
	opts   Options

	mu   sync.Mutex // serialises writers (Rotate, Refresh, Prune)
	keys atomic.Pointer[keySet]

	bufs sync.Pool // *tokenBuf, scratch space for Validate
}

// KeyInfo describes one keyring key, for listing. It holds no key material.
type KeyInfo struct {
	ID          string
	CreatedAt   time.Time
	ActiveUntil time.Time
	RetireAt    time.Time
	Sealing     bool // the key new tokens are sealed with
}

// OpenKeyring loads the keyring from ks, unsealing every key with master. A
// key that does not unseal fails the open with an error wrapping
// ErrWrongMasterKey. If there is no key, or the newest key is due for
// rotation, a new key is created and stored. Retired keys are pruned.
func OpenKeyring(ctx context.Context, ks KeyStore, master []byte, opts Options) (*Keyring, error) {
	if ks == nil {
		return nil, errors.New("keyring: nil KeyStore")
	}
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("keyring: master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	kr := &Keyring{ks: ks, master: slices.Clone(master), opts: opts.withDefaults()}
	kr.bufs.New = func() any { return new(tokenBuf) }
	kr.keys.Store(newKeySet(nil))

	kr.mu.Lock()
	defer kr.mu.Unlock()
	now := kr.opts.Now()
	if err := kr.refreshLocked(ctx, true); err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	if s := kr.keys.Load(); s.newest == nil || !now.Before(s.newest.activeUntil) {
		if _, err := kr.rotateLocked(ctx, now); err != nil {
			return nil, fmt.Errorf("open keyring: %w", err)
		}
	}
	// Best effort: MaybeRotate prunes again and reports errors.
	_ = kr.pruneLocked(ctx, now)
	return kr, nil
}

// Refresh reloads the keys from the store, so that keys created or pruned by
// other replicas become known. Keys already unsealed are reused. On error the
// current keys stay in use.
func (kr *Keyring) Refresh(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.refreshLocked(ctx, false); err != nil {
		return fmt.Errorf("refresh keyring: %w", err)
	}
	return nil
}

// refreshLocked mirrors the store into the published key set. Retired keys are
// loaded too (their tokens have all expired); pruneLocked deletes them. With
// allowEmpty false, an empty store is an error and the current set is kept.
func (kr *Keyring) refreshLocked(ctx context.Context, allowEmpty bool) error {
	recs, err := kr.ks.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	cur := kr.keys.Load()
	keys := make([]*key, 0, len(recs))
	for _, rec := range recs {
		if k, ok := cur.byID[rec.ID]; ok && slices.Equal(k.sealed, rec.Sealed) && k.createdAt.Equal(rec.CreatedAt) &&
			k.activeUntil.Equal(rec.ActiveUntil) && k.retireAt.Equal(rec.RetireAt) {
			keys = append(keys, k)
			continue
		}
		k, err := kr.unsealRecord(rec)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 && !allowEmpty {
		return errors.New("store holds no key; keeping the keys in memory")
	}
	kr.keys.Store(newKeySet(keys))
	return nil
}

func (kr *Keyring) unsealRecord(rec store.KeyRecord) (*key, error) {
	if len(rec.ID) != keyIDLen {
		return nil, fmt.Errorf("keyring key %q: malformed id", rec.ID)
	}
	material, err := unsealKeyMaterial(kr.master, rec.ID, rec.Sealed)
	if err != nil {
		return nil, err
	}
	defer clear(material)
	aead, err := newAEAD(material)
	if err != nil {
		return nil, fmt.Errorf("keyring key %q: %w", rec.ID, err)
	}
	return &key{
		id:          rec.ID,
		aead:        aead,
		sealed:      slices.Clone(rec.Sealed),
		createdAt:   rec.CreatedAt.UTC(),
		activeUntil: rec.ActiveUntil.UTC(),
		retireAt:    rec.RetireAt.UTC(),
	}, nil
}

// Rotate creates a new key, stores it and makes it the sealing key. Older keys
// keep verifying until their RetireAt.
func (kr *Keyring) Rotate(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if _, err := kr.rotateLocked(ctx, kr.opts.Now()); err != nil {
		return fmt.Errorf("rotate keyring: %w", err)
	}
	return nil
}

func (kr *Keyring) rotateLocked(ctx context.Context, now time.Time) (*key, error) {
	cur := kr.keys.Load()
	var raw [5]byte
	var id string
	for {
		if _, err := io.ReadFull(kr.opts.Rand, raw[:]); err != nil {
			return nil, fmt.Errorf("random key id: %w", err)
		}
		id = keyIDEncoding.EncodeToString(raw[:])
		if _, dup := cur.byID[id]; !dup {
			break
		}
	}
	material := make([]byte, MasterKeySize)
	defer clear(material)
	if _, err := io.ReadFull(kr.opts.Rand, material); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	sealed, err := sealKeyMaterial(kr.master, id, material, kr.opts.Rand)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(material)
	if err != nil {
		return nil, err
	}
	// Whole seconds, so that any store round-trips the times exactly.
	created := now.UTC().Truncate(time.Second)
	activeUntil := created.Add(kr.opts.RotateEvery)
	k := &key{
		id:          id,
		aead:        aead,
		sealed:      sealed,
		createdAt:   created,
		activeUntil: activeUntil,
		retireAt:    activeUntil.Add(kr.opts.RotationGrace + kr.opts.maxLifetime() + retireMargin),
	}
	// A clock that went backwards must not leave the new key older than the
	// current sealing key.
	if cur.newest != nil && !newer(k, cur.newest) {
		k.createdAt = cur.newest.createdAt.Add(time.Second)
	}
	rec := store.KeyRecord{ID: k.id, Sealed: k.sealed, CreatedAt: k.createdAt, ActiveUntil: k.activeUntil, RetireAt: k.retireAt}
	if err := kr.ks.PutKey(ctx, rec); err != nil {
		return nil, fmt.Errorf("store key %s: %w", k.id, err)
	}
	keys := make([]*key, 0, len(cur.byID)+1)
	for _, old := range cur.byID {
		keys = append(keys, old)
	}
	keys = append(keys, k)
	kr.keys.Store(newKeySet(keys))
	return k, nil
}

// MaybeRotate is what the server calls periodically (every minute, say). It
// reloads the keys from the store, rotates if the sealing key has reached its
// ActiveUntil (unless another replica already did), and prunes retired keys.
// It reports whether this call created a key.
func (kr *Keyring) MaybeRotate(ctx context.Context, now time.Time) (rotated bool, err error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.refreshLocked(ctx, true); err != nil {
		return false, fmt.Errorf("maybe rotate keyring: %w", err)
	}
	if s := kr.keys.Load(); s.newest == nil || !now.Before(s.newest.activeUntil) {
		if _, err := kr.rotateLocked(ctx, now); err != nil {
			return false, fmt.Errorf("maybe rotate keyring: %w", err)
		}
		rotated = true
	}
	if err := kr.pruneLocked(ctx, now); err != nil {
		return rotated, fmt.Errorf("maybe rotate keyring: %w", err)
	}
	return rotated, nil
}

// Prune deletes from the store and from memory every key whose RetireAt is
// not after now, except the sealing key. Tokens those keys sealed have all
// expired. A key is dropped from memory even if deleting it from the store
// fails; the error is returned.
func (kr *Keyring) Prune(ctx context.Context, now time.Time) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.pruneLocked(ctx, now); err != nil {
		return fmt.Errorf("prune keyring: %w", err)
	}
	return nil
}

func (kr *Keyring) pruneLocked(ctx context.Context, now time.Time) error {
	cur := kr.keys.Load()
	var keep []*key
	var errs []error
	for _, k := range cur.byID {
		if k == cur.newest || k.retireAt.After(now) {
			keep = append(keep, k)
			continue
		}
		// Another replica may have pruned it first.
		if err := kr.ks.DeleteKey(ctx, k.id); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete key %s: %w", k.id, err))
		}
	}
	if len(keep) != len(cur.byID) {
		kr.keys.Store(newKeySet(keep))
	}
	return errors.Join(errs...)
}

// ActiveKeyID returns the id of the key new tokens are sealed with.
func (kr *Keyring) ActiveKeyID() string {
	if k := kr.keys.Load().newest; k != nil {
		return k.id
	}
	return ""
}

// Keys lists the keys in memory, oldest first.
func (kr *Keyring) Keys() []KeyInfo {
	s := kr.keys.Load()
	out := make([]KeyInfo, 0, len(s.byID))
	for _, k := range s.byID {
		out = append(out, KeyInfo{ID: k.id, CreatedAt: k.createdAt, ActiveUntil: k.activeUntil, RetireAt: k.retireAt, Sealing: k == s.newest})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}
