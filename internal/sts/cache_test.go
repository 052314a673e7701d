package sts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestTokenCacheKeepsEntryOnWrongToken checks that a request naming a
// cached access key id with another token neither hits nor evicts the
// entry: the cache is keyed by access key id and matches the token exactly.
func TestTokenCacheKeepsEntryOnWrongToken(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	creds := mustMint(t, kr, testSpec(t0))
	other := mustMint(t, kr, testSpec(t0))
	c := NewTokenCache(kr, 4)
	now := t0.Add(time.Minute)
	s1, err := c.Validate(creds.AccessKeyID, creds.SessionToken, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Validate(creds.AccessKeyID, other.SessionToken, now); !errors.Is(err, ErrUnauthenticToken) {
		t.Fatalf("another session's token: %v", err)
	}
	// Same length, one byte different.
	bad := creds.SessionToken[:len(creds.SessionToken)-2] + flip(creds.SessionToken[len(creds.SessionToken)-2]) + creds.SessionToken[len(creds.SessionToken)-1:]
	if _, err := c.Validate(creds.AccessKeyID, bad, now); err == nil {
		t.Fatal("altered token accepted")
	}
	if s2, err := c.Validate(creds.AccessKeyID, creds.SessionToken, now); err != nil || s2 != s1 || c.Len() != 1 {
		t.Fatalf("after wrong tokens: %v, same session %v, Len %d; want a hit", err, s2 == s1, c.Len())
	}
}

func TestSameToken(t *testing.T) {
	long := strings.Repeat("abcdefgh", 40) + "xyz"
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"", "", true}, {"a", "a", true}, {"a", "b", false}, {"a", "ab", false},
		{long, long, true}, {long, long[:len(long)-1] + "Z", false}, {long, "Z" + long[1:], false},
		{long, long[:100] + "Q" + long[101:], false},
	} {
		if got := sameToken(tt.a, tt.b); got != tt.want {
			t.Errorf("sameToken(%.10q…, %.10q…) = %v", tt.a, tt.b, got)
		}
	}
}
