package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"sync"
	"sync/atomic"
)

// DeriveSigningKey returns the SigV4 signing key
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func DeriveSigningKey(secret []byte, date, region, service string) [32]byte {
	k := make([]byte, 0, 4+len(secret))
	k = append(append(k, "AWS4"...), secret...)
	var out [32]byte
	step := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(out[:0])
	}
	kd := step(k, date)
	kd = step(append([]byte(nil), kd...), region)
	kd = step(append([]byte(nil), kd...), service)
	step(append([]byte(nil), kd...), Terminator)
	clear(k)
	return out
}

// KeyCache is a small, bounded, concurrency-safe cache of derived signing
// keys, keyed by access key id, date, region and service. An entry is only
// used when the secret it was derived from equals the secret presented, so
// a rotated secret never matches a stale key. The zero value is not usable;
// call NewKeyCache.
type KeyCache struct {
	mu  sync.RWMutex
	max int
	m   map[keyCacheKey]*keyCacheEntry
}

type keyCacheKey struct{ id, date, region, service string }

type keyCacheEntry struct {
	k      keyCacheKey
	secret []byte
	key    [32]byte
	// macs holds *keyedMAC values keyed with key, so that verifying a
	// signature does not set up the HMAC (two SHA-256 blocks and several
	// allocations) every time.
	macs sync.Pool
}

// keyedMAC is an HMAC-SHA256 keyed with a signing key, with a buffer for
// the string to sign (a buffer passed to hash.Hash.Write escapes, so it
// lives here rather than on the caller's stack).
type keyedMAC struct {
	h    hash.Hash
	buf  []byte
	out  [sha256.Size]byte
	pool *sync.Pool // where release puts it back; nil if not pooled
}

// stringToSignCap fits the string to sign of any usual scope.
const stringToSignCap = 192

// sum returns the MAC of m.buf, valid until release.
func (m *keyedMAC) sum() []byte {
	m.h.Write(m.buf)
	return m.h.Sum(m.out[:0])
}

// release returns m to its pool; m must not be used afterwards.
func (m *keyedMAC) release() {
	if m.pool == nil {
		return
	}
	m.h.Reset()
	m.buf = m.buf[:0]
	m.pool.Put(m)
}

// NewKeyCache returns a cache holding at most max keys (at least 1).
// A key is valid for one day, so max should be about the number of access
// keys in active use times the regions and services they sign for.
func NewKeyCache(max int) *KeyCache {
	if max < 1 {
		max = 1
	}
	return &KeyCache{max: max, m: make(map[keyCacheKey]*keyCacheEntry, min(max, 1024))}
}

// SigningKey returns the signing key for secret and scope, from the cache
// when possible. The cache is consulted under the access key id; a nil
// *KeyCache derives the key every time.
func (c *KeyCache) SigningKey(accessKeyID string, secret []byte, sc Scope) [32]byte {
	if c == nil {
		return DeriveSigningKey(secret, sc.Date, sc.Region, sc.Service)
	}
	return c.entry(accessKeyID, secret, sc).key
}

// mac returns an HMAC-SHA256 keyed with the signing key for secret and
// scope; call its release method when done with it. With a nil *KeyCache
// the key is derived and the hash built every time.
//
// slot, when not nil, remembers the cache entry used, so that the next call
// with the same slot, access key id, secret and scope skips the cache's
// map (see VerifyRequestSlot).
func (c *KeyCache) mac(accessKeyID string, secret []byte, sc Scope, slot *KeySlot) *keyedMAC {
	if c == nil {
		key := DeriveSigningKey(secret, sc.Date, sc.Region, sc.Service)
		return &keyedMAC{h: hmac.New(sha256.New, key[:]), buf: make([]byte, 0, stringToSignCap)}
	}
	var e *keyCacheEntry
	if slot != nil {
		if e = slot.e.Load(); e != nil && !e.matches(accessKeyID, secret, sc) {
			e = nil
		}
	}
	if e == nil {
		e = c.entry(accessKeyID, secret, sc)
		if slot != nil {
			slot.e.Store(e)
		}
	}
	m, _ := e.macs.Get().(*keyedMAC)
	if m == nil {
		m = &keyedMAC{h: hmac.New(sha256.New, e.key[:]), buf: make([]byte, 0, stringToSignCap), pool: &e.macs}
	}
	return m
}

// KeySlot remembers the signing key cache entry last used for one
// credential (say, a session held in a token cache), so that verifying the
// next request signed with it needs no cache lookup. An entry is used only
// for the access key id, secret and scope it was derived for; the slot
// never keeps an entry out of the cache's bound for long, since it holds
// one entry and is replaced with its owner. The zero value is empty and
// ready for use; safe for concurrent use.
type KeySlot struct {
	e atomic.Pointer[keyCacheEntry]
}

// matches reports whether e is the entry for accessKeyID, secret and sc
// (the secret compared in constant time).
func (e *keyCacheEntry) matches(accessKeyID string, secret []byte, sc Scope) bool {
	return e.k.id == accessKeyID && e.k.date == sc.Date && e.k.region == sc.Region &&
		e.k.service == sc.Service && subtle.ConstantTimeCompare(e.secret, secret) == 1
}

func (c *KeyCache) entry(accessKeyID string, secret []byte, sc Scope) *keyCacheEntry {
	k := keyCacheKey{accessKeyID, sc.Date, sc.Region, sc.Service}
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil && subtle.ConstantTimeCompare(e.secret, secret) == 1 {
		return e
	}
	e = &keyCacheEntry{
		k:      k,
		secret: append([]byte(nil), secret...),
		key:    DeriveSigningKey(secret, sc.Date, sc.Region, sc.Service),
	}
	c.mu.Lock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m { // evict an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
	c.mu.Unlock()
	return e
}

// Len returns the number of cached keys.
func (c *KeyCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
