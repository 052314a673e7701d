package sts

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/policy"
	"github.com/roam-project/roam/sigv4"
)

// cutoffs is a settable RevocationSource.
type cutoffs struct{ t atomic.Pointer[time.Time] }

func (c *cutoffs) CutoffFor(string) (time.Time, bool) {
	if t := c.t.Load(); t != nil {
		return *t, true
	}
	return time.Time{}, false
}

func TestTokenCache(t *testing.T) {
	rev := &cutoffs{}
	kr, _, _, _ := newTestKeyring(t, Options{Revocation: rev})
	spec := testSpec(t0)
	creds := mustMint(t, kr, spec)
	other := mustMint(t, kr, spec)
	c := NewTokenCache(kr, 4)

	s1, err := c.Validate(creds.AccessKeyID, creds.SessionToken, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.Validate(creds.AccessKeyID, creds.SessionToken, t0.Add(2*time.Minute))
	if err != nil || s2 != s1 {
		t.Fatalf("second Validate: %v, same session %v; want a cache hit", err, s2 == s1)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
	tests := []struct {
		name        string
		akid, token string
		now         time.Time
		revokeAt    *time.Time
		want        error
	}{
		{"token of another session", other.AccessKeyID, creds.SessionToken, t0.Add(time.Minute), nil, ErrUnauthenticToken},
		{"access key id of another session", creds.AccessKeyID, other.SessionToken, t0.Add(time.Minute), nil, ErrUnauthenticToken},
		{"altered token", creds.AccessKeyID, creds.SessionToken[:40] + flip(creds.SessionToken[40]) + creds.SessionToken[41:], t0.Add(time.Minute), nil, ErrUnauthenticToken},
		{"revoked on hit", creds.AccessKeyID, creds.SessionToken, t0.Add(time.Minute), ptr(t0.Add(time.Second)), ErrRevokedToken},
		{"cutoff before issue keeps it", creds.AccessKeyID, creds.SessionToken, t0.Add(time.Minute), ptr(t0.Add(-time.Second)), nil},
		{"expired on hit", creds.AccessKeyID, creds.SessionToken, t0.Add(time.Hour), nil, ErrExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev.t.Store(tt.revokeAt)
			defer rev.t.Store(nil)
			_, err := c.Validate(tt.akid, tt.token, tt.now)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// The expired entry was dropped.
	if _, err := c.Validate(creds.AccessKeyID, creds.SessionToken, t0.Add(time.Hour)); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("after expiry: %v", err)
	}
	// Bounded.
	for range 10 {
		cr := mustMint(t, kr, spec)
		if _, err := c.Validate(cr.AccessKeyID, cr.SessionToken, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() > 4 {
		t.Fatalf("Len = %d, want at most 4", c.Len())
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func ptr[T any](v T) *T { return &v }

func signedSTSRequest(t *testing.T, creds Credentials, secret string, now time.Time) *http.Request {
	t.Helper()
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	r := httptest.NewRequest("POST", "https://127.0.0.1:9443/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.SignHMAC(r, sigv4.HashPayload([]byte(body)), sigv4.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: secret, SessionToken: creds.SessionToken}, "sts", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifierAuthenticate(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	spec := testSpec(t0)
	creds := mustMint(t, kr, spec)
	v := NewVerifier(kr, 0)
	now := t0.Add(10 * time.Minute)
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")

	r := signedSTSRequest(t, creds, creds.SecretAccessKey, now)
	r.RemoteAddr = "192.0.2.10:5555"
	r.TLS = &tls.ConnectionState{}
	rc, err := v.Authenticate(r, body, "sts", "", now, []Tag{{Key: "team", Value: "platform"}, {Key: "x509Subject/CN", Value: "role-tag-overridden"}})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := map[string][]string{
		"aws:PrincipalArn":                {spec.RoleARN},
		"aws:userid":                      {"AROAEXAMPLEROLEID0001:" + spec.SessionName},
		"aws:PrincipalAccount":            {"000000000000"},
		"aws:PrincipalType":               {"AssumedRole"},
		"aws:TokenIssueTime":              {"2026-11-30T12:00:00Z"},
		"aws:SourceIdentity":              {"CN=runner-01.example.com"},
		"aws:PrincipalTag/x509Subject/CN": {"runner-01.example.com"},
		"aws:PrincipalTag/x509Subject/OU": {"Security/Engineering"},
		"aws:PrincipalTag/team":           {"platform"},
		"aws:CurrentTime":                 {"2026-11-30T12:10:00Z"},
		"aws:EpochTime":                   {strconv.FormatInt(now.Unix(), 10)},
		"aws:SourceIp":                    {"192.0.2.10"},
		"aws:SecureTransport":             {"true"},
	}
	for k, w := range want {
		got, ok := rc.Context.Get(k)
		if !ok || !slices.Equal(got, w) {
			t.Errorf("%s = %q, want %q", k, got, w)
		}
	}
	if rc.Service != "sts" || rc.Region != "us-east-1" {
		t.Errorf("scope %s/%s", rc.Service, rc.Region)
	}
	if rc.Principal.ARN != "arn:aws:sts::000000000000:assumed-role/deploy/"+spec.SessionName || rc.Principal.RoleARN != spec.RoleARN {
		t.Errorf("principal %+v", rc.Principal)
	}
	// The context drives policy evaluation as the gateway will use it.
	p, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/x509Subject/CN}/*","Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := &policy.PolicySet{Identity: []*policy.Policy{p}}
	for _, tc := range []struct {
		res  string
		want policy.Decision
	}{
		{"arn:aws:s3:::b/runner-01.example.com/x", policy.Allow},
		{"arn:aws:s3:::b/other/x", policy.ImplicitDeny},
	} {
		if d := ps.Evaluate(&policy.Request{Principal: rc.Principal, Action: "s3:GetObject", Resource: tc.res, Context: rc.Context}); d != tc.want {
			t.Errorf("%s: %s, want %s", tc.res, d, tc.want)
		}
	}

	// Plain HTTP, no source port.
	r = signedSTSRequest(t, creds, creds.SecretAccessKey, now)
	r.RemoteAddr = "bad"
	r.TLS = nil
	rc, err = v.Authenticate(r, body, "sts", "", now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := rc.Context.Get("aws:SecureTransport"); !slices.Equal(v, []string{"false"}) {
		t.Errorf("aws:SecureTransport = %q over plain HTTP", v)
	}
	if _, ok := rc.Context.Get("aws:SourceIp"); ok {
		t.Error("aws:SourceIp set without a peer address")
	}

	// Failures keep their kind.
	var te *TokenError
	var se *sigv4.Error
	if _, _, err := v.Verify(signedSTSRequest(t, creds, "wrong-secret-wrong-secret-wrong-secret-xx", now), body, "sts", "", now); !errors.As(err, &se) || se.Code != sigv4.CodeSignatureDoesNotMatch {
		t.Errorf("wrong secret: %v", err)
	}
	noToken := signedSTSRequest(t, Credentials{AccessKeyID: creds.AccessKeyID}, creds.SecretAccessKey, now)
	if _, _, err := v.Verify(noToken, body, "sts", "", now); !errors.As(err, &te) || te.Code() != CodeInvalidClientTokenID {
		t.Errorf("no token: %v", err)
	}
}

func TestChainSpec(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	parentCreds := mustMint(t, kr, testSpec(t0))
	parent, err := kr.Validate(parentCreds.AccessKeyID, parentCreds.SessionToken, t0)
	if err != nil {
		t.Fatal(err)
	}
	req := ChainRequest{RoleARN: "arn:aws:iam::000000000000:role/next", RoleID: "AROANEXTROLE00000001", SessionName: "chained",
		Duration: time.Hour, Tags: []Tag{{Key: "project", Value: "roam", Transitive: true}, {Key: "once", Value: "x"}}, IssuedAt: t0.Add(time.Minute)}
	spec, err := kr.ChainSpec(parent, req)
	if err != nil {
		t.Fatal(err)
	}
	wantTags := []Tag{{Key: "x509Subject/CN", Value: "runner-01.example.com", Transitive: true}, {Key: "project", Value: "roam", Transitive: true}, {Key: "once", Value: "x"}}
	if !slices.Equal(spec.Tags, wantTags) || spec.SourceIdentity != parent.SourceIdentity || !spec.Chained ||
		spec.Expiration.Sub(spec.IssuedAt) > time.Hour || spec.ProfileARN != parent.ProfileARN {
		t.Fatalf("spec = %+v", spec)
	}
	c := mustMint(t, kr, spec)
	s, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0.Add(2*time.Minute))
	if err != nil || !s.Chained || !slices.Equal(s.Tags, wantTags) {
		t.Fatalf("chained session %+v, %v", s, err)
	}

	for _, tc := range []struct {
		name   string
		mutate func(*ChainRequest)
		want   string
	}{
		{"longer than an hour", func(r *ChainRequest) { r.Duration = time.Hour + time.Second }, MsgChainedDuration},
		{"override transitive tag", func(r *ChainRequest) { r.Tags = []Tag{{Key: "X509SUBJECT/cn", Value: "evil"}} }, "transitive"},
		{"change source identity", func(r *ChainRequest) { r.SourceIdentity = "someone-else" }, "cannot be changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.mutate(&r)
			_, err := kr.ChainSpec(parent, r)
			ae, ok := apierr.As(err)
			if !ok || ae.Code != CodeValidationError || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, tc.want) {
				t.Fatalf("err = %v, want ValidationError containing %q", err, tc.want)
			}
		})
	}
	// The same source identity may be restated.
	r := req
	r.SourceIdentity = parent.SourceIdentity
	if _, err := kr.ChainSpec(parent, r); err != nil {
		t.Fatalf("restating the source identity: %v", err)
	}
}

// TestVerifierCachedSigningKey: the signing key a cached session remembers
// is used only for the scope it was derived for; a request for another day
// or region still verifies (with a freshly derived key), and a wrong secret
// never verifies, however warm the caches are.
func TestVerifierCachedSigningKey(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	issued := t0.Add(11*time.Hour + 30*time.Minute) // 23:30 UTC, valid for an hour
	creds := mustMint(t, kr, testSpec(issued))
	v := NewVerifier(kr, 0)
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	day1 := issued.Add(10 * time.Minute)
	day2 := issued.Add(40 * time.Minute) // 00:10 UTC the next day
	if day1.YearDay() == day2.YearDay() {
		t.Fatalf("test times %v and %v are on the same day", day1, day2)
	}
	sign := func(secret, region string, at time.Time) *http.Request {
		r := httptest.NewRequest("POST", "https://127.0.0.1:9443/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if err := sigv4.SignHMAC(r, sigv4.HashPayload(body), sigv4.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: secret, SessionToken: creds.SessionToken}, "sts", region, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name   string
		secret string
		region string
		at     time.Time
		ok     bool
	}{
		{"cold", creds.SecretAccessKey, "us-east-1", day1, true},
		{"warm", creds.SecretAccessKey, "us-east-1", day1, true},
		{"warm, wrong secret", "wrong-secret-wrong-secret-wrong-secret-xx", "us-east-1", day1, false},
		{"other region", creds.SecretAccessKey, "eu-west-1", day1, true},
		{"next day", creds.SecretAccessKey, "us-east-1", day2, true},
		{"next day, warm", creds.SecretAccessKey, "us-east-1", day2, true},
		{"back to the first scope", creds.SecretAccessKey, "us-east-1", day1.Add(time.Minute), true},
		{"next day, wrong secret", "wrong-secret-wrong-secret-wrong-secret-xx", "us-east-1", day2, false},
	}
	for _, s := range steps {
		_, _, err := v.Verify(sign(s.secret, s.region, s.at), body, "sts", "", s.at)
		if s.ok && err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		var se *sigv4.Error
		if !s.ok && (!errors.As(err, &se) || se.Code != sigv4.CodeSignatureDoesNotMatch) {
			t.Errorf("%s: err = %v, want SignatureDoesNotMatch", s.name, err)
		}
	}
}
