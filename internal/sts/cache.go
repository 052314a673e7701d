package sts

import (
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/roam-project/roam/sigv4"
)

// DefaultTokenCacheSize is the number of sessions a TokenCache holds when
// NewTokenCache is given no size.
const DefaultTokenCacheSize = 16384

// TokenCache remembers sessions already unsealed, so that a client signing
// many requests with the same credentials pays for opening its token once.
// It is keyed by access key id, and an entry is used only for the exact
// session token it was opened from (compared in constant time), only while
// the session has not expired and is not revoked (both are checked on every
// hit, against the keyring's RevocationSource), so the cache never extends
// what a token grants. It is bounded: when full, an arbitrary half is
// dropped. Safe for concurrent use.
type TokenCache struct {
	kr  *Keyring
	max int

	mu sync.RWMutex
	m  map[string]*cachedSession // by access key id
}

// cachedSession is a cache entry: the token it was opened from, the session
// and its secret as bytes, as signature verification wants it.
type cachedSession struct {
	token  string
	s      *Session
	secret []byte
	// keys remembers the signing key last derived from secret.
	keys sigv4.KeySlot
}

// NewTokenCache returns a cache in front of kr holding at most max sessions
// (DefaultTokenCacheSize if max < 1).
func NewTokenCache(kr *Keyring, max int) *TokenCache {
	if max < 1 {
		max = DefaultTokenCacheSize
	}
	return &TokenCache{kr: kr, max: max, m: make(map[string]*cachedSession, min(max, 1024))}
}

// Validate is Keyring.Validate through the cache. It returns the same errors;
// the Session it returns is shared with other callers and must not be
// modified.
func (c *TokenCache) Validate(accessKeyID, sessionToken string, now time.Time) (*Session, error) {
	e, err := c.lookup(accessKeyID, sessionToken, now)
	if err != nil {
		return nil, err
	}
	return e.s, nil
}

func (c *TokenCache) lookup(accessKeyID, sessionToken string, now time.Time) (*cachedSession, error) {
	if len(accessKeyID) != accessKeyIDLen {
		return nil, ErrMalformedToken
	}
	c.mu.RLock()
	e := c.m[accessKeyID]
	c.mu.RUnlock()
	if e != nil && sameToken(e.token, sessionToken) {
		if !now.Before(e.s.Expiration) {
			c.mu.Lock()
			if c.m[accessKeyID] == e {
				delete(c.m, accessKeyID)
			}
			c.mu.Unlock()
			return nil, ErrExpiredToken
		}
		if c.kr.revoked(e.s) {
			return nil, ErrRevokedToken
		}
		return e, nil
	}
	s, err := c.kr.Validate(accessKeyID, sessionToken, now)
	if err != nil {
		return nil, err
	}
	// Copies, so that the entry does not keep the request's header alive.
	k := strings.Clone(accessKeyID)
	e = &cachedSession{token: strings.Clone(sessionToken), s: s, secret: []byte(s.SecretAccessKey)}
	c.mu.Lock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		n := 0
		for old := range c.m {
			delete(c.m, old)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[k] = e
	c.mu.Unlock()
	return e, nil
}

// Len returns the number of cached sessions.
func (c *TokenCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// sameToken reports whether a and b are equal, in time that depends only on
// their lengths.
func sameToken(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := []byte(a), []byte(b) // only read: the compiler does not copy them
	var v uint64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v |= binary.LittleEndian.Uint64(x[i:]) ^ binary.LittleEndian.Uint64(y[i:])
	}
	for ; i < len(x); i++ {
		v |= uint64(x[i] ^ y[i])
	}
	return v == 0
}

// revoked reports whether s was issued before its role's revocation cutoff.
func (kr *Keyring) revoked(s *Session) bool {
	if rev := kr.opts.Revocation; rev != nil {
		if cutoff, ok := rev.CutoffFor(s.RoleARN); ok && s.IssuedAt.Before(cutoff) {
			return true
		}
	}
	return false
}
