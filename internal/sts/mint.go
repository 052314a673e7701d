package sts

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidSpec reports a SessionSpec Mint refuses (wrapped with the reason).
var ErrInvalidSpec = errors.New("invalid session spec")

// ErrNoSealingKey reports that the keyring has no key that may seal the
// token: rotation is overdue (MaybeRotate has not run for longer than
// RotationGrace), or the token would outlive the newest key.
var ErrNoSealingKey = errors.New("keyring has no key that may seal this token (rotation overdue?)")

// SessionSpec is everything a session is minted from. The caller (the
// CreateSession pipeline) has already checked the request against the trust
// policy and decided the duration; Mint checks only what the token format and
// the keyring's lifetime guarantees need, plus the STS size limits.
type SessionSpec struct {
	// RoleARN is arn:aws:iam::ACCOUNT:role/[PATH/]NAME.
	RoleARN string
	// Account and RoleName are optional; if set they must agree with
	// RoleARN, from which they are derived.
	Account  string
	RoleName string
	RoleID   string // AROA…
	// SessionName is the role session name (2–64 characters).
	SessionName string
	// SourceIdentity is optional (at most 64 characters).
	SourceIdentity string
	// Tags are the session tags, in order (at most 50, unique keys ignoring
	// case, key 1–128 and value 0–256 characters).
	Tags []Tag
	// SessionPolicy is the inline session policy JSON, if any. It is stored
	// compacted in the token (at most 2048 characters compacted).
	SessionPolicy string
	// PolicyARNs are managed session policies (at most 10), stored by
	// reference and resolved by the policy evaluator.
	PolicyARNs []string
	// IssuedAt defaults to the keyring's clock; it is kept to the
	// millisecond. Expiration is truncated to the second and must be after
	// IssuedAt, within MaxSessionLifetime (MaxChainedLifetime if Chained).
	IssuedAt   time.Time
	Expiration time.Time
	// For audit.
	TrustAnchorARN string
	ProfileARN     string
	CertSerial     *big.Int
	// Chained marks a session minted by role chaining.
	Chained bool
}

// Credentials are what the client receives.
type Credentials struct {
	AccessKeyID     string // ASIA + 16 base32 characters
	SecretAccessKey string // 40 characters of [A-Za-z0-9+/]
	SessionToken    string // standard base64, at most MaxSessionTokenLen characters
	Expiration      time.Time
}

// Mint seals a new session with the keyring's newest key and returns its
// credentials. Nothing is stored: the secret travels inside the sealed token.
func (kr *Keyring) Mint(spec SessionSpec) (Credentials, error) {
	s, err := kr.sessionFromSpec(&spec)
	if err != nil {
		return Credentials{}, fmt.Errorf("mint: %w", err)
	}
	k := kr.keys.Load().newest
	if k == nil || !s.IssuedAt.Before(k.activeUntil.Add(kr.opts.RotationGrace)) || s.Expiration.After(k.retireAt) {
		return Credentials{}, fmt.Errorf("mint: %w", ErrNoSealingKey)
	}

	// One read for access key id (10), secret (30) and nonce (12).
	var rnd [10 + 30 + nonceLen]byte
	if _, err := io.ReadFull(kr.opts.Rand, rnd[:]); err != nil {
		return Credentials{}, fmt.Errorf("mint: random: %w", err)
	}
	var akid [accessKeyIDLen]byte
	copy(akid[:], "ASIA")
	base32.StdEncoding.Encode(akid[4:], rnd[:10])
	var secret [secretLen]byte
	base64.StdEncoding.Encode(secret[:], rnd[10:40])
	s.SecretAccessKey = string(secret[:])

	raw := make([]byte, headerLen+nonceLen, headerLen+nonceLen+claimsSizeHint(s)+gcmTagLen)
	raw[0] = tokenVersion
	copy(raw[1:headerLen], k.id)
	copy(raw[headerLen:], rnd[40:])
	raw = appendClaims(raw, s)
	var aad [headerLen + accessKeyIDLen]byte
	copy(aad[:], raw[:headerLen])
	copy(aad[headerLen:], akid[:])
	pt := raw[headerLen+nonceLen:]
	raw = k.aead.Seal(raw[:headerLen+nonceLen], raw[headerLen:headerLen+nonceLen], pt, aad[:])
	if tokenEncoding.EncodedLen(len(raw)) > MaxSessionTokenLen {
		return Credentials{}, fmt.Errorf("mint: %w: session token would be %d characters, more than %d (too many or too large tags and policies)",
			ErrInvalidSpec, tokenEncoding.EncodedLen(len(raw)), MaxSessionTokenLen)
	}
	return Credentials{
		AccessKeyID:     string(akid[:]),
		SecretAccessKey: s.SecretAccessKey,
		SessionToken:    tokenEncoding.EncodeToString(raw),
		Expiration:      s.Expiration,
	}, nil
}

// sessionFromSpec checks spec and builds the claims to seal (without secret).
func (kr *Keyring) sessionFromSpec(spec *SessionSpec) (*Session, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))
	}
	part, acct, name, ok := parseRoleARN(spec.RoleARN)
	if !ok || len(spec.RoleARN) > maxARNLen {
		return nil, bad("role ARN %q is not arn:PARTITION:iam::ACCOUNT:role/NAME", spec.RoleARN)
	}
	if spec.Account != "" && spec.Account != acct {
		return nil, bad("account %q does not match role ARN %q", spec.Account, spec.RoleARN)
	}
	if spec.RoleName != "" && spec.RoleName != name {
		return nil, bad("role name %q does not match role ARN %q", spec.RoleName, spec.RoleARN)
	}
	if spec.RoleID == "" || len(spec.RoleID) > maxRoleIDLen {
		return nil, bad("role id must be 1–%d characters", maxRoleIDLen)
	}
	if n := utf8.RuneCountInString(spec.SessionName); n < 2 || n > maxNameLen || strings.Contains(spec.SessionName, "/") {
		return nil, bad("session name %q must be 2–%d characters, without '/'", spec.SessionName, maxNameLen)
	}
	if utf8.RuneCountInString(spec.SourceIdentity) > maxNameLen {
		return nil, bad("source identity longer than %d characters", maxNameLen)
	}
	if len(spec.Tags) > maxTags {
		return nil, bad("%d session tags, at most %d", len(spec.Tags), maxTags)
	}
	for i, t := range spec.Tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > maxTagKeyLen {
			return nil, bad("tag key %q must be 1–%d characters", t.Key, maxTagKeyLen)
		}
		if utf8.RuneCountInString(t.Value) > maxTagValueLen {
			return nil, bad("tag %q: value longer than %d characters", t.Key, maxTagValueLen)
		}
		for _, u := range spec.Tags[:i] {
			if strings.EqualFold(t.Key, u.Key) {
				return nil, bad("duplicate tag key %q", t.Key)
			}
		}
	}
	if len(spec.PolicyARNs) > maxPolicyARNs {
		return nil, bad("%d managed session policies, at most %d", len(spec.PolicyARNs), maxPolicyARNs)
	}
	for _, a := range spec.PolicyARNs {
		if !strings.HasPrefix(a, "arn:") || len(a) > maxARNLen {
			return nil, bad("managed session policy %q is not an ARN", a)
		}
	}
	policy := ""
	if spec.SessionPolicy != "" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(spec.SessionPolicy)); err != nil {
			return nil, bad("session policy is not valid JSON: %v", err)
		}
		if n := utf8.RuneCount(buf.Bytes()); n > maxPolicyLen {
			return nil, bad("session policy is %d characters, at most %d", n, maxPolicyLen)
		}
		policy = buf.String()
	}
	if len(spec.TrustAnchorARN) > maxARNLen || len(spec.ProfileARN) > maxARNLen {
		return nil, bad("trust anchor or profile ARN too long")
	}
	var serial string
	var neg bool
	if spec.CertSerial != nil {
		b := spec.CertSerial.Bytes()
		if len(b) > maxSerialLen {
			return nil, bad("certificate serial longer than %d bytes", maxSerialLen)
		}
		if len(b) == 0 {
			b = []byte{0}
		}
		serial, neg = string(b), spec.CertSerial.Sign() < 0
	}

	issued := spec.IssuedAt
	if issued.IsZero() {
		issued = kr.opts.Now()
	}
	issued = time.UnixMilli(issued.UnixMilli()).UTC()
	exp := time.Unix(spec.Expiration.Unix(), 0).UTC()
	if issued.UnixMilli() < 0 || exp.Unix()*1000 > maxUnixMilli {
		return nil, bad("times out of range")
	}
	if !exp.After(issued) {
		return nil, bad("expiration %s is not after issue time %s", exp.Format(time.RFC3339), issued.Format(time.RFC3339))
	}
	maxLife := kr.opts.MaxSessionLifetime
	if spec.Chained {
		maxLife = kr.opts.MaxChainedLifetime
	}
	if life := exp.Sub(issued); life > maxLife {
		return nil, bad("lifetime %s exceeds the maximum %s", life, maxLife)
	}

	return &Session{
		Account:        acct,
		RoleARN:        spec.RoleARN,
		RoleID:         spec.RoleID,
		RoleName:       name,
		SessionName:    spec.SessionName,
		SourceIdentity: spec.SourceIdentity,
		Tags:           spec.Tags,
		SessionPolicy:  policy,
		PolicyARNs:     spec.PolicyARNs,
		IssuedAt:       issued,
		Expiration:     exp,
		Chained:        spec.Chained,
		TrustAnchorARN: spec.TrustAnchorARN,
		ProfileARN:     spec.ProfileARN,
		partition:      part,
		certSerial:     serial,
		certSerialNeg:  neg,
	}, nil
}

// claimsSizeHint is an upper bound of the encoded size of s's claims.
func claimsSizeHint(s *Session) int {
	n := 1 + 2*10 + secretLen + 2*lenVarintMax
	for _, f := range [...]string{s.RoleARN, s.RoleID, s.SessionName, s.SourceIdentity, s.TrustAnchorARN, s.ProfileARN, s.certSerial, s.SessionPolicy} {
		n += lenVarintMax + len(f)
	}
	for _, a := range s.PolicyARNs {
		n += lenVarintMax + len(a)
	}
	for _, t := range s.Tags {
		n += 2*lenVarintMax + len(t.Key) + len(t.Value) + 1
	}
	return n
}

// lenVarintMax bounds the varint of a length or count in claims: Mint's
// limits keep them below 2^21.
const lenVarintMax = 3
