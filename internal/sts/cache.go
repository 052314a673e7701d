package sts

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultTokenCacheSize is the number of sessions a TokenCache holds when
// NewTokenCache is given no size.
const DefaultTokenCacheSize = 16384

// TokenCache remembers sessions already unsealed, so that a client signing
// many requests with the same credentials pays for opening its token once.
// It is keyed by SHA-256 of the access key id and the session token; an
// entry is used only while the session has not expired and is not revoked
// (both are checked on every hit, against the keyring's RevocationSource),
// so the cache never extends what a token grants. It is bounded: when full,
// an arbitrary half is dropped. Safe for concurrent use.
type TokenCache struct {
	kr  *Keyring
	max int

	mu sync.RWMutex
	m  map[[sha256.Size]byte]*cachedSession
}

// cachedSession is a cache entry: the session and its secret as bytes, as
// signature verification wants it.
type cachedSession struct {
	s      *Session
	secret []byte
}

// NewTokenCache returns a cache in front of kr holding at most max sessions
// (DefaultTokenCacheSize if max < 1).
func NewTokenCache(kr *Keyring, max int) *TokenCache {
	if max < 1 {
		max = DefaultTokenCacheSize
	}
	return &TokenCache{kr: kr, max: max, m: make(map[[sha256.Size]byte]*cachedSession, min(max, 1024))}
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
	k := tokenCacheKey(accessKeyID, sessionToken)
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil {
		if !now.Before(e.s.Expiration) {
			c.mu.Lock()
			delete(c.m, k)
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
	e = &cachedSession{s: s, secret: []byte(s.SecretAccessKey)}
	c.mu.Lock()
	if len(c.m) >= c.max {
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

// tokenCacheKey is SHA-256(access key id || token); the access key id has a
// fixed length, so the concatenation is unambiguous.
func tokenCacheKey(accessKeyID, token string) [sha256.Size]byte {
	var buf [1024]byte // typical tokens fit: no allocation
	return sha256.Sum256(append(append(buf[:0], accessKeyID...), token...))
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
