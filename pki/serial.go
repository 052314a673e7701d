package pki

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// serialBits is the size of random serial numbers. 128 random bits with the
// top bit cleared give a positive INTEGER of at most 16 content bytes, well
// inside RFC 5280's 20-octet limit.
const serialBits = 128

// RandomSerial returns a random positive serial number of up to 128 bits read
// from r (crypto/rand.Reader if nil). The most significant bit is cleared so
// the DER encoding needs no leading zero byte, and zero is never returned.
func RandomSerial(r io.Reader) (*big.Int, error) {
	if r == nil {
		r = rand.Reader
	}
	buf := make([]byte, serialBits/8)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("read random serial: %w", err)
		}
		buf[0] &= 0x7f
		n := new(big.Int).SetBytes(buf)
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// maxSerialDigits bounds the length of a serial number accepted by
// ParseSerial: 20 octets in hex with colons is 59 characters.
const maxSerialDigits = 64

// ParseSerial parses a certificate serial number written in decimal
// ("1234"), hex with a 0x prefix ("0x4d2"), or hex with colons as openssl and
// `roam ca inspect` print it ("04:d2"). A bare string containing hex letters
// is read as hex; a bare string of decimal digits is always decimal, so a
// one-octet serial printed as "14" must be given as 0x14. Serials must be
// positive and at most 20 octets.
func ParseSerial(s string) (*big.Int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, fmt.Errorf("empty serial number")
	}
	if len(t) > maxSerialDigits {
		return nil, fmt.Errorf("serial number %.20q... is too long", t)
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.Contains(t, ":"):
		parts := strings.Split(t, ":")
		for _, p := range parts {
			if len(p) == 0 || len(p) > 2 {
				return nil, fmt.Errorf("serial number %q: colon-separated form needs 1-2 hex digits between colons", s)
			}
		}
		base, t = 16, strings.Join(parts, "")
	case strings.ContainsAny(t, "abcdefABCDEF"):
		base = 16
	}
	if t == "" {
		return nil, fmt.Errorf("serial number %q has no digits", s)
	}
	for _, c := range t {
		if !isDigit(c, base) {
			return nil, fmt.Errorf("serial number %q: %q is not a base-%d digit", s, c, base)
		}
	}
	n, ok := new(big.Int).SetString(t, base)
	if !ok {
		return nil, fmt.Errorf("serial number %q is not a number", s)
	}
	if n.Sign() <= 0 {
		return nil, fmt.Errorf("serial number %q must be positive", s)
	}
	if len(n.Bytes()) > 20 {
		return nil, fmt.Errorf("serial number %q is longer than 20 octets", s)
	}
	return n, nil
}

func isDigit(c rune, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	case base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
		return true
	}
	return false
}

// FormatSerialHex formats n as lower-case colon-separated hex octets, the
// way openssl prints serial numbers ("04:d2").
func FormatSerialHex(n *big.Int) string {
	b := n.Bytes()
	if len(b) == 0 {
		return "00"
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

// SerialKey returns the canonical map key of n: plain lower-case hex.
func SerialKey(n *big.Int) string { return n.Text(16) }
