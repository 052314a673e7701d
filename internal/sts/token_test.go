package sts

import (
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMintValidateRoundTrip(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	spec := testSpec(t0.Add(123456789 * time.Nanosecond))
	spec.Chained = true
	c := mustMint(t, kr, spec)

	if len(c.AccessKeyID) != 20 || !strings.HasPrefix(c.AccessKeyID, "ASIA") || !validAccessKeyID(c.AccessKeyID) {
		t.Errorf("access key id %q", c.AccessKeyID)
	}
	if len(c.SecretAccessKey) != 40 || strings.Trim(c.SecretAccessKey, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != "" {
		t.Errorf("secret %q", c.SecretAccessKey)
	}
	if _, err := base64.StdEncoding.DecodeString(c.SessionToken); err != nil {
		t.Errorf("token is not std base64: %v", err)
	}
	if !c.Expiration.Equal(t0.Add(time.Hour)) {
		t.Errorf("expiration %v", c.Expiration)
	}
	t.Logf("token: %d characters", len(c.SessionToken))

	s, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := &Session{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Account:         "000000000000",
		RoleARN:         spec.RoleARN,
		RoleID:          spec.RoleID,
		RoleName:        "deploy",
		SessionName:     spec.SessionName,
		SourceIdentity:  spec.SourceIdentity,
		Tags:            spec.Tags,
		SessionPolicy:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		PolicyARNs:      spec.PolicyARNs,
		IssuedAt:        t0.Add(123 * time.Millisecond),
		Expiration:      c.Expiration,
		Chained:         true,
		TrustAnchorARN:  spec.TrustAnchorARN,
		ProfileARN:      spec.ProfileARN,
		KeyID:           kr.ActiveKeyID(),
		partition:       "aws",
		certSerial:      string(spec.CertSerial.Bytes()),
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("session\n got %+v\nwant %+v", s, want)
	}
	if s.CertSerial().Cmp(spec.CertSerial) != 0 {
		t.Errorf("serial %v", s.CertSerial())
	}
	if got := s.AssumedRoleARN(); got != "arn:aws:sts::000000000000:assumed-role/deploy/61d5692c1982239b82255b38e6ced2aa34712ff0" {
		t.Errorf("AssumedRoleARN %q", got)
	}
	if got := s.UserID(); got != "AROAEXAMPLEROLEID0001:61d5692c1982239b82255b38e6ced2aa34712ff0" {
		t.Errorf("UserID %q", got)
	}
}

func TestMintMinimal(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	c := mustMint(t, kr, SessionSpec{
		RoleARN: "arn:aws:iam::123456789012:role/r", RoleID: "AROA1", SessionName: "s1",
		IssuedAt: t0, Expiration: t0.Add(15 * time.Minute),
	})
	s, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tags != nil || s.PolicyARNs != nil || s.SessionPolicy != "" || s.SourceIdentity != "" || s.CertSerial() != nil || s.Chained {
		t.Fatalf("unexpected optional fields: %+v", s)
	}
	if s.AssumedRoleARN() != "arn:aws:sts::123456789012:assumed-role/r/s1" {
		t.Fatal(s.AssumedRoleARN())
	}
}

func TestCertSerialEdgeCases(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	for _, n := range []*big.Int{big.NewInt(0), big.NewInt(-291), big.NewInt(1)} {
		spec := testSpec(t0)
		spec.CertSerial = n
		c := mustMint(t, kr, spec)
		s, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0)
		if err != nil {
			t.Fatal(err)
		}
		if s.CertSerial().Cmp(n) != 0 {
			t.Errorf("serial %v, want %v", s.CertSerial(), n)
		}
	}
}

func wantTokenErr(t *testing.T, err error, want *TokenError) {
	t.Helper()
	if err != want {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("%v is not a *TokenError", err)
	}
}

func TestValidateFailures(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	spec := testSpec(t0)
	c := mustMint(t, kr, spec)
	other := mustMint(t, kr, spec)
	now := t0.Add(time.Minute)
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	reenc := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	unknownKey := append([]byte(nil), raw...)
	copy(unknownKey[1:headerLen], "zzzzzzzz")
	badVersion := append([]byte(nil), raw...)
	badVersion[0] = 2

	tests := []struct {
		name     string
		akid, tk string
		want     *TokenError
	}{
		{"empty token", c.AccessKeyID, "", ErrMalformedToken},
		{"empty access key id", "", c.SessionToken, ErrMalformedToken},
		{"garbage", c.AccessKeyID, "this is not a token at all, not even base64!!", ErrMalformedToken},
		{"garbage base64", c.AccessKeyID, base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 200))), ErrMalformedToken},
		{"truncated by 4 chars", c.AccessKeyID, c.SessionToken[:len(c.SessionToken)-4], ErrUnauthenticToken},
		{"truncated by 1 char", c.AccessKeyID, c.SessionToken[:len(c.SessionToken)-1], ErrMalformedToken},
		{"truncated to header", c.AccessKeyID, reenc(raw[:headerLen+nonceLen]), ErrMalformedToken},
		{"unpadded", c.AccessKeyID, strings.TrimRight(c.SessionToken, "="), ErrMalformedToken},
		{"url alphabet", c.AccessKeyID, strings.NewReplacer("+", "-", "/", "_").Replace(c.SessionToken), ErrMalformedToken},
		{"too long", c.AccessKeyID, strings.Repeat("A", MaxSessionTokenLen+4), ErrMalformedToken},
		{"with newline", c.AccessKeyID, c.SessionToken[:8] + "\n" + c.SessionToken[8:len(c.SessionToken)-4] + "\r\n\r\n" + c.SessionToken[len(c.SessionToken)-4:], ErrMalformedToken},
		{"another access key id", other.AccessKeyID, c.SessionToken, ErrUnauthenticToken},
		{"AKIA access key id", "AKIA" + c.AccessKeyID[4:], c.SessionToken, ErrMalformedToken},
		{"lower-case access key id", strings.ToLower(c.AccessKeyID), c.SessionToken, ErrMalformedToken},
		{"unknown key id", c.AccessKeyID, reenc(unknownKey), ErrUnknownKey},
		{"unknown version", c.AccessKeyID, reenc(badVersion), ErrMalformedToken},
		{"swapped tokens", c.AccessKeyID, other.SessionToken, ErrUnauthenticToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := kr.Validate(tt.akid, tt.tk, now)
			if s != nil {
				t.Fatal("session returned with error")
			}
			wantTokenErr(t, err, tt.want)
		})
	}
	// The good ones still work.
	if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, now); err != nil {
		t.Fatal(err)
	}
}

// Every single-bit flip anywhere in the raw token, and every substitution of
// a character of the text, is rejected with InvalidClientTokenId.
func TestValidateTampered(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	c := mustMint(t, kr, testSpec(t0))
	now := t0.Add(time.Minute)
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	for i := range raw {
		for bit := range 8 {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			_, err := kr.Validate(c.AccessKeyID, base64.StdEncoding.EncodeToString(b), now)
			var te *TokenError
			if !errors.As(err, &te) || te.Code() != CodeInvalidClientTokenID {
				t.Fatalf("byte %d bit %d: err = %v", i, bit, err)
			}
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \x00"
	for i := range len(c.SessionToken) {
		for _, r := range []byte(alphabet) {
			if r == c.SessionToken[i] {
				continue
			}
			tk := c.SessionToken[:i] + string(r) + c.SessionToken[i+1:]
			if _, err := kr.Validate(c.AccessKeyID, tk, now); err == nil {
				t.Fatalf("char %d -> %q accepted", i, r)
			}
		}
	}
	for i := range len(c.AccessKeyID) {
		ak := []byte(c.AccessKeyID)
		ak[i] ^= 1
		if _, err := kr.Validate(string(ak), c.SessionToken, now); err == nil {
			t.Fatalf("access key id byte %d flip accepted", i)
		}
	}
}

func TestValidateExpired(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	spec := testSpec(t0)
	c := mustMint(t, kr, spec)
	if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, spec.Expiration.Add(-time.Nanosecond)); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	for _, now := range []time.Time{spec.Expiration, spec.Expiration.Add(time.Hour)} {
		_, err := kr.Validate(c.AccessKeyID, c.SessionToken, now)
		wantTokenErr(t, err, ErrExpiredToken)
	}
	// An expired token that was also altered is invalid, not expired.
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	raw[len(raw)-1] ^= 1
	_, err := kr.Validate(c.AccessKeyID, base64.StdEncoding.EncodeToString(raw), spec.Expiration.Add(time.Hour))
	wantTokenErr(t, err, ErrUnauthenticToken)
}

func TestValidateRevoked(t *testing.T) {
	var cutoff time.Time
	opts := Options{Revocation: RevocationFunc(func(roleARN string) (time.Time, bool) {
		if roleARN == "arn:aws:iam::000000000000:role/team/ci/deploy" && !cutoff.IsZero() {
			return cutoff, true
		}
		return time.Time{}, false
	})}
	kr, _, _, _ := newTestKeyring(t, opts)
	before := mustMint(t, kr, testSpec(t0))
	after := mustMint(t, kr, testSpec(t0.Add(10*time.Second+time.Millisecond)))
	otherSpec := testSpec(t0)
	otherSpec.RoleARN = "arn:aws:iam::000000000000:role/other"
	other := mustMint(t, kr, otherSpec)
	cutoff = t0.Add(10 * time.Second) // revoke: sessions issued before t0+10s

	now := t0.Add(time.Minute)
	_, err := kr.Validate(before.AccessKeyID, before.SessionToken, now)
	wantTokenErr(t, err, ErrRevokedToken)
	if err.(*TokenError).Code() != CodeInvalidClientTokenID {
		t.Fatal("revoked must answer InvalidClientTokenId")
	}
	if _, err := kr.Validate(after.AccessKeyID, after.SessionToken, now); err != nil {
		t.Fatalf("issued after the cutoff: %v", err)
	}
	if _, err := kr.Validate(other.AccessKeyID, other.SessionToken, now); err != nil {
		t.Fatalf("other role: %v", err)
	}
}

func TestTokenErrorSurface(t *testing.T) {
	for _, e := range []*TokenError{ErrMalformedToken, ErrUnknownKey, ErrUnauthenticToken, ErrUndecodableToken, ErrRevokedToken} {
		if e.Code() != "InvalidClientTokenId" || e.JSONCode() != "UnrecognizedClientException" ||
			e.Message() != "The security token included in the request is invalid." || e.HTTPStatus() != http.StatusForbidden {
			t.Errorf("%v: %s %s %q %d", e, e.Code(), e.JSONCode(), e.Message(), e.HTTPStatus())
		}
		if !strings.HasSuffix(e.Error(), "(InvalidClientTokenId)") {
			t.Errorf("Error() = %q", e.Error())
		}
	}
	e := ErrExpiredToken
	if e.Code() != "ExpiredToken" || e.JSONCode() != "ExpiredTokenException" ||
		e.Message() != "The security token included in the request is expired" || e.HTTPStatus() != http.StatusBadRequest {
		t.Errorf("%v: %s %s %q %d", e, e.Code(), e.JSONCode(), e.Message(), e.HTTPStatus())
	}
}

func TestMintRejects(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	mod := func(f func(*SessionSpec)) SessionSpec { s := testSpec(t0); f(&s); return s }
	manyTags := make([]Tag, 51)
	for i := range manyTags {
		manyTags[i] = Tag{Key: strings.Repeat("k", i+1), Value: "v"}
	}
	tests := map[string]SessionSpec{
		"bad role ARN":          mod(func(s *SessionSpec) { s.RoleARN = "arn:aws:iam::000000000000:user/bob" }),
		"not an ARN":            mod(func(s *SessionSpec) { s.RoleARN = "deploy" }),
		"account mismatch":      mod(func(s *SessionSpec) { s.Account = "111111111111" }),
		"role name mismatch":    mod(func(s *SessionSpec) { s.RoleName = "ci" }),
		"no role id":            mod(func(s *SessionSpec) { s.RoleID = "" }),
		"short session name":    mod(func(s *SessionSpec) { s.SessionName = "x" }),
		"long session name":     mod(func(s *SessionSpec) { s.SessionName = strings.Repeat("x", 65) }),
		"slash in session name": mod(func(s *SessionSpec) { s.SessionName = "a/b" }),
		"long source identity":  mod(func(s *SessionSpec) { s.SourceIdentity = strings.Repeat("x", 65) }),
		"51 tags":               mod(func(s *SessionSpec) { s.Tags = manyTags }),
		"empty tag key":         mod(func(s *SessionSpec) { s.Tags = []Tag{{Key: ""}} }),
		"long tag value":        mod(func(s *SessionSpec) { s.Tags = []Tag{{Key: "k", Value: strings.Repeat("v", 257)}} }),
		"duplicate tag":         mod(func(s *SessionSpec) { s.Tags = []Tag{{Key: "Team"}, {Key: "team"}} }),
		"policy not JSON":       mod(func(s *SessionSpec) { s.SessionPolicy = "{" }),
		"policy too long":       mod(func(s *SessionSpec) { s.SessionPolicy = `"` + strings.Repeat("x", 2047) + `"` }),
		"11 policy ARNs":        mod(func(s *SessionSpec) { s.PolicyARNs = make([]string, 11) }),
		"policy ARN not ARN":    mod(func(s *SessionSpec) { s.PolicyARNs = []string{"ReadOnly"} }),
		"expiry before issue":   mod(func(s *SessionSpec) { s.Expiration = s.IssuedAt }),
		"over 12h":              mod(func(s *SessionSpec) { s.Expiration = s.IssuedAt.Add(12*time.Hour + time.Second) }),
		"chained over 1h":       mod(func(s *SessionSpec) { s.Chained = true; s.Expiration = s.IssuedAt.Add(time.Hour + time.Second) }),
		"no expiration":         mod(func(s *SessionSpec) { s.Expiration = time.Time{} }),
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := kr.Mint(spec); !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("err = %v, want ErrInvalidSpec", err)
			}
		})
	}
	// Limits are inclusive.
	ok := mod(func(s *SessionSpec) {
		s.Expiration = s.IssuedAt.Add(12 * time.Hour)
		s.Tags = manyTags[:50]
		s.SessionName = strings.Repeat("x", 64)
	})
	if _, err := kr.Mint(ok); err != nil {
		t.Fatal(err)
	}
}

// A session at every STS limit at once still fits in a token.
func TestMintLargestSession(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	spec := testSpec(t0)
	spec.Tags = make([]Tag, 50)
	for i := range spec.Tags {
		spec.Tags[i] = Tag{Key: strings.Repeat("k", 126) + string(rune('A'+i/26)) + string(rune('a'+i%26)), Value: strings.Repeat("v", 256)}
	}
	c, err := kr.Mint(spec)
	if err == nil {
		t.Fatalf("%d-character token minted; expected the size cap to refuse it", len(c.SessionToken))
	}
	if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "characters") {
		t.Fatalf("err = %v", err)
	}
	spec.Tags = spec.Tags[:25]
	c = mustMint(t, kr, spec)
	t.Logf("25 maximal tags: %d-character token", len(c.SessionToken))
	if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0); err != nil {
		t.Fatal(err)
	}
}

// No error from Validate or Mint mentions the secret or the token.
func TestErrorsCarryNoSecrets(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	c := mustMint(t, kr, testSpec(t0))
	for _, now := range []time.Time{t0, t0.Add(2 * time.Hour)} {
		for _, tk := range []string{c.SessionToken, c.SessionToken[:len(c.SessionToken)-4], c.SessionToken + "AAAA"} {
			_, err := kr.Validate(c.AccessKeyID, tk, now)
			if err == nil {
				continue
			}
			msg := err.Error()
			if strings.Contains(msg, c.SecretAccessKey) || strings.Contains(msg, c.SessionToken[:20]) {
				t.Fatalf("error leaks: %q", msg)
			}
		}
	}
}
