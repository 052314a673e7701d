package sts

import (
	"encoding/base64"
	"slices"
	"time"
)

// Session token layout (all versions start with the version byte):
//
//	version (1) || key id (8, ASCII) || nonce (12) || AES-256-GCM(claims) (len(claims)+16)
//
// The AEAD's associated data is version || key id || access key id, so a
// token only opens for the access key id it was minted with and its header
// cannot be altered. The whole is encoded with standard, padded base64, the
// alphabet AWS's own session tokens use.
const (
	tokenVersion   = 1
	headerLen      = 1 + keyIDLen
	nonceLen       = 12
	gcmTagLen      = 16
	accessKeyIDLen = 20
	secretLen      = 40

	// MaxSessionTokenLen is the longest session token Mint produces and
	// Validate accepts, in characters.
	MaxSessionTokenLen = 16384
)

var tokenEncoding = base64.StdEncoding.Strict()

// Limits enforced by Mint; the decoder enforces the counts too.
const (
	maxTags           = 50   // STS: at most 50 session tags
	maxTagKeyLen      = 128  // characters
	maxTagValueLen    = 256  // characters
	maxPolicyARNs     = 10   // STS: at most 10 managed session policies
	maxPolicyLen      = 2048 // STS: inline session policy, characters
	maxARNLen         = 2048
	maxNameLen        = 64 // role session name and source identity
	maxRoleIDLen      = 128
	maxSerialLen      = 64 // bytes; RFC 5280 says 20, tolerate more
	maxUnixMilli      = 253402300799999
	minClaimsLen      = 1 + 1 + 1 + secretLen + 8 + 2
	minTokenRawLen    = headerLen + nonceLen + minClaimsLen + gcmTagLen
	minTokenEncLen    = (minTokenRawLen + 2) / 3 * 4
	flagChained       = 1 << 0
	flagNegSerial     = 1 << 1
	tagFlagTransitive = 1 << 0
)

// Claims (the AEAD plaintext), version 1. uv = unsigned varint; str = uv
// length followed by that many bytes.
//
//	flags            1 byte: bit 0 chained, bit 1 negative certificate serial
//	issued at        uv, Unix milliseconds
//	expiration       uv, Unix seconds
//	secret           40 bytes, the secret access key as given to the client
//	role ARN         str (account, partition and role name are derived from it)
//	role id          str
//	session name     str
//	source identity  str
//	trust anchor ARN str
//	profile ARN      str
//	cert serial      str, big-endian magnitude
//	session policy   str, compacted inline JSON ("" if none)
//	policy ARNs      uv count, then str each
//	tags             uv count, then key str, value str, flags byte (bit 0 transitive) each
//
// Nothing may follow the last tag.

// appendClaims appends the encoded claims of s to dst.
func appendClaims(dst []byte, s *Session) []byte {
	var flags byte
	if s.Chained {
		flags |= flagChained
	}
	if s.certSerialNeg {
		flags |= flagNegSerial
	}
	dst = append(dst, flags)
	dst = appendUvarint(dst, uint64(s.IssuedAt.UnixMilli()))
	dst = appendUvarint(dst, uint64(s.Expiration.Unix()))
	dst = append(dst, s.SecretAccessKey...)
	for _, f := range [...]string{s.RoleARN, s.RoleID, s.SessionName, s.SourceIdentity, s.TrustAnchorARN, s.ProfileARN, s.certSerial, s.SessionPolicy} {
		dst = appendString(dst, f)
	}
	dst = appendUvarint(dst, uint64(len(s.PolicyARNs)))
	for _, a := range s.PolicyARNs {
		dst = appendString(dst, a)
	}
	dst = appendUvarint(dst, uint64(len(s.Tags)))
	for _, t := range s.Tags {
		dst = appendString(dst, t.Key)
		dst = appendString(dst, t.Value)
		var tf byte
		if t.Transitive {
			tf |= tagFlagTransitive
		}
		dst = append(dst, tf)
	}
	return dst
}

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendString(dst []byte, s string) []byte {
	return append(appendUvarint(dst, uint64(len(s))), s...)
}

// claimReader decodes claims from a string without copying: every decoded
// string is a substring of the plaintext. It advances an integer offset
// rather than reslicing, so that reading costs no GC write barriers.
type claimReader struct {
	s   string
	off int
	ok  bool
}

func (r *claimReader) byte() byte {
	if !r.ok || r.off >= len(r.s) {
		r.ok = false
		return 0
	}
	b := r.s[r.off]
	r.off++
	return b
}

func (r *claimReader) uvarint() uint64 {
	if r.ok && r.off < len(r.s) && r.s[r.off] < 0x80 { // fast path: one byte
		v := uint64(r.s[r.off])
		r.off++
		return v
	}
	var v uint64
	for i := 0; i < 10 && r.ok && r.off < len(r.s); i++ {
		b := r.s[r.off]
		r.off++
		if i == 9 && b > 1 {
			break // overflows 64 bits
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if b == 0 && i > 0 {
				break // non-minimal encoding
			}
			return v
		}
	}
	r.ok = false
	return 0
}

// remaining is the number of unread bytes.
func (r *claimReader) remaining() int { return len(r.s) - r.off }

func (r *claimReader) fixed(n int) string {
	if !r.ok || r.remaining() < n {
		r.ok = false
		return ""
	}
	v := r.s[r.off : r.off+n]
	r.off += n
	return v
}

func (r *claimReader) str() string {
	n := r.uvarint()
	if !r.ok || n > uint64(r.remaining()) {
		r.ok = false
		return ""
	}
	return r.fixed(int(n))
}

// peekTimes returns the issue time (Unix ms) and expiry (Unix s) at the head
// of encoded claims, so that an expired token is rejected before anything is
// allocated.
func peekTimes(p []byte) (issuedMs, expSec uint64, ok bool) {
	// Decoding the two varints by hand over the byte slice keeps this
	// allocation-free.
	if len(p) < 3 {
		return 0, 0, false
	}
	i := 1
	next := func() (uint64, bool) {
		var v uint64
		for sh := uint(0); sh < 64 && i < len(p); sh += 7 {
			b := p[i]
			i++
			v |= uint64(b&0x7f) << sh
			if b < 0x80 {
				return v, true
			}
		}
		return 0, false
	}
	if issuedMs, ok = next(); !ok {
		return 0, 0, false
	}
	if expSec, ok = next(); !ok {
		return 0, 0, false
	}
	return issuedMs, expSec, true
}

// decodeClaims decodes p. It never panics; any structural problem yields
// false. On success every string in the result is a substring of p.
//
// The Session is built in locals and returned by value, and the tag and
// policy slices are filled on the stack and copied to the heap in one go:
// writes through heap pointers would each pay a GC write barrier.
func decodeClaims(p string) (s Session, ok bool) {
	r := claimReader{s: p, ok: true}
	flags := r.byte()
	issuedMs := r.uvarint()
	expSec := r.uvarint()
	s.SecretAccessKey = r.fixed(secretLen)
	s.RoleARN = r.str()
	s.RoleID = r.str()
	s.SessionName = r.str()
	s.SourceIdentity = r.str()
	s.TrustAnchorARN = r.str()
	s.ProfileARN = r.str()
	s.certSerial = r.str()
	s.SessionPolicy = r.str()
	if !r.ok || flags&^(flagChained|flagNegSerial) != 0 || issuedMs > maxUnixMilli || expSec > maxUnixMilli/1000 {
		return Session{}, false
	}
	s.Chained = flags&flagChained != 0
	s.certSerialNeg = flags&flagNegSerial != 0
	s.IssuedAt = time.UnixMilli(int64(issuedMs)).UTC()
	s.Expiration = time.Unix(int64(expSec), 0).UTC()

	n := r.uvarint()
	if !r.ok || n > maxPolicyARNs || n > uint64(r.remaining()) {
		return Session{}, false
	}
	var arns [maxPolicyARNs]string
	nARNs := int(n)
	for i := range arns[:nARNs] {
		arns[i] = r.str()
	}
	n = r.uvarint()
	if !r.ok || n > maxTags || n > uint64(r.remaining()) {
		return Session{}, false
	}
	var tags [maxTags]Tag
	nTags := int(n)
	for i := range tags[:nTags] {
		tags[i].Key = r.str()
		tags[i].Value = r.str()
		tf := r.byte()
		if tf&^tagFlagTransitive != 0 {
			return Session{}, false
		}
		tags[i].Transitive = tf&tagFlagTransitive != 0
	}
	if !r.ok || r.remaining() != 0 {
		return Session{}, false
	}
	part, acct, name, ok := parseRoleARN(s.RoleARN)
	if !ok {
		return Session{}, false
	}
	s.partition, s.Account, s.RoleName = part, acct, name
	if nARNs > 0 {
		s.PolicyARNs = slices.Clone(arns[:nARNs])
	}
	if nTags > 0 {
		s.Tags = slices.Clone(tags[:nTags])
	}
	return s, true
}
