package api

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// memKeyStore is an in-memory sts.KeyStore.
type memKeyStore struct {
	mu   sync.Mutex
	recs []store.KeyRecord
}

func (m *memKeyStore) ListKeys(context.Context) ([]store.KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs), nil
}

func (m *memKeyStore) PutKey(_ context.Context, rec store.KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, rec)
	return nil
}

func (m *memKeyStore) DeleteKey(context.Context, string) error { return nil }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const acct = "000000000000"

func roleARN(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

func trust(principal string, actions ...string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":["` + strings.Join(actions, `","`) + `"]}]}`
}

var allSTS = []string{"sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"}

// testRoles are the roles of the STS tests.
func testRoles() []*store.Role {
	ra := trust(`{"Service":"rolesanywhere.amazonaws.com"}`, allSTS...)
	return []*store.Role{
		{Name: "base", ID: "AROABASEROLE000000001", AssumeRolePolicy: ra, MaxSessionDuration: 3600, Tags: map[string]string{"team": "platform"}},
		{Name: "with-policy", ID: "AROAWITHPOLICY0000001", AssumeRolePolicy: ra, InlinePolicies: map[string]string{
			"assume": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}]}`}},
		{Name: "chain-ok", ID: "AROACHAINOK000000001", MaxSessionDuration: 7200,
			AssumeRolePolicy: trust(`{"AWS":"`+roleARN("base")+`"}`, allSTS...)},
		{Name: "chain-next", ID: "AROACHAINNEXT0000001",
			AssumeRolePolicy: trust(`{"AWS":"`+roleARN("chain-ok")+`"}`, allSTS...)},
		{Name: "chain-no", ID: "AROACHAINNO000000001",
			AssumeRolePolicy: trust(`{"AWS":"`+roleARN("with-policy")+`"}`, allSTS...)},
		{Name: "chain-account", ID: "AROACHAINACCOUNT0001",
			AssumeRolePolicy: trust(`{"AWS":"`+acct+`"}`, allSTS...)},
		{Name: "chain-no-si", ID: "AROACHAINNOSI0000001",
			AssumeRolePolicy: trust(`{"AWS":"`+roleARN("base")+`"}`, "sts:AssumeRole", "sts:TagSession")},
	}
}

// stsEnv is an API handler with a real keyring, a snapshot of testRoles and
// a fake clock.
type stsEnv struct {
	t    *testing.T
	clk  *clock
	kr   *sts.Keyring
	svc  *anywhere.Service
	h    *Handler
	cfg  store.Config
	logs strings.Builder
}

func newSTSEnv(t *testing.T) *stsEnv {
	t.Helper()
	e := &stsEnv{t: t, clk: &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}}
	e.cfg = store.Config{Version: 1, Settings: map[string]string{}, Roles: testRoles()}
	e.svc = anywhere.NewService(anywhere.Config{Now: e.clk.Now})
	e.svc.SetSnapshot(anywhere.NewSnapshot(&e.cfg))
	if p := e.svc.Snapshot().Problems; len(p) > 0 {
		t.Fatalf("snapshot problems: %v", p)
	}
	master := make([]byte, sts.MasterKeySize)
	rev := sts.RevocationFunc(func(arn string) (time.Time, bool) { return e.svc.Snapshot().CutoffFor(arn) })
	kr, err := sts.OpenKeyring(context.Background(), &memKeyStore{}, master, sts.Options{Now: e.clk.Now, Revocation: rev})
	if err != nil {
		t.Fatal(err)
	}
	e.kr = kr
	e.h = New(Config{Sessions: e.svc, Verifier: sts.NewVerifier(kr, 0), Keyring: kr, Now: e.clk.Now})
	return e
}

// mint issues a session for role as CreateSession would.
func (e *stsEnv) mint(role string, life time.Duration) sts.Credentials {
	e.t.Helper()
	now := e.clk.Now()
	ri, ok := e.svc.Snapshot().Role(roleARN(role))
	if !ok {
		e.t.Fatalf("no role %s", role)
	}
	c, err := e.kr.Mint(sts.SessionSpec{RoleARN: ri.ARN, RoleID: ri.Record.ID, SessionName: "61d5692c1982239b",
		SourceIdentity: "CN=workload", Tags: []sts.Tag{{Key: "x509Subject/CN", Value: "workload"}},
		IssuedAt: now, Expiration: now.Add(life)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func creds(c sts.Credentials) sigv4.Credentials {
	return sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

// post builds a form POST to / signed with c for service at the clock's time.
func (e *stsEnv) post(c sigv4.Credentials, service string, form url.Values) *http.Request {
	e.t.Helper()
	body := form.Encode()
	r := httptest.NewRequest("POST", "https://127.0.0.1:9443/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.SignHMAC(r, sigv4.HashPayload([]byte(body)), c, service, "us-east-1", e.clk.Now()); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func gci() url.Values { return url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}} }

// response is a decoded awsQuery response.
type response struct {
	status int
	date   string
	raw    string
	err    struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}
}

func (e *stsEnv) do(r *http.Request) *response {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	out := &response{status: res.StatusCode, date: res.Header.Get("Date"), raw: string(b)}
	if res.StatusCode != http.StatusOK {
		if err := xml.Unmarshal(b, &out.err); err != nil {
			e.t.Fatalf("status %d, body is not an ErrorResponse: %v\n%s", res.StatusCode, err, b)
		}
		if out.err.Xmlns != STSNamespace || out.err.RequestID == "" || out.err.Type != "Sender" {
			e.t.Errorf("error envelope: %+v", out.err)
		}
	}
	if out.date == "" {
		e.t.Error("no Date header")
	}
	return out
}

func (r *response) want(t *testing.T, status int, code, msgPrefix string) {
	t.Helper()
	if r.status != status || r.err.Code != code || !strings.HasPrefix(r.err.Message, msgPrefix) {
		t.Fatalf("got %d %s %q, want %d %s %q…\n%s", r.status, r.err.Code, r.err.Message, status, code, msgPrefix, r.raw)
	}
}

type callerIdentity struct {
	Arn     string `xml:"GetCallerIdentityResult>Arn"`
	UserID  string `xml:"GetCallerIdentityResult>UserId"`
	Account string `xml:"GetCallerIdentityResult>Account"`
	ReqID   string `xml:"ResponseMetadata>RequestId"`
}

func (r *response) identity(t *testing.T) callerIdentity {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	var ci callerIdentity
	if err := xml.Unmarshal([]byte(r.raw), &ci); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.raw, `<GetCallerIdentityResponse xmlns="`+STSNamespace+`">`) || ci.ReqID == "" {
		t.Errorf("envelope: %s", r.raw)
	}
	return ci
}

func TestGetCallerIdentity(t *testing.T) {
	e := newSTSEnv(t)
	c := e.mint("base", time.Hour)
	ci := e.do(e.post(creds(c), "sts", gci())).identity(t)
	want := callerIdentity{Arn: "arn:aws:sts::000000000000:assumed-role/base/61d5692c1982239b", UserID: "AROABASEROLE000000001:61d5692c1982239b", Account: acct}
	ci.ReqID = ""
	if ci != want {
		t.Fatalf("got %+v, want %+v", ci, want)
	}

	// Presigned GET, as Vault- and EKS-style authenticators send it.
	r := httptest.NewRequest("GET", "https://127.0.0.1:9443/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if err := sigv4.PresignHMAC(r, sigv4.EmptyPayloadHash, creds(c), "sts", "us-east-1", 60*time.Second, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := e.do(r).identity(t); got.Arn != want.Arn {
		t.Fatalf("presigned: %+v", got)
	}
	e.clk.Advance(61 * time.Second)
	e.do(r).want(t, http.StatusForbidden, "AccessDenied", "Request has expired")

	// Any region (clients sign with whatever region they have).
	body := gci().Encode()
	r = httptest.NewRequest("POST", "https://127.0.0.1:9443/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sigv4.SignHMAC(r, sigv4.HashPayload([]byte(body)), creds(c), "sts", "eu-west-3", e.clk.Now())
	e.do(r).identity(t)
}

func TestSTSNegative(t *testing.T) {
	e := newSTSEnv(t)
	c := e.mint("base", time.Hour)
	other := e.mint("base", time.Hour)
	const (
		msgSig     = "The request signature we calculated does not match the signature you provided."
		msgInvalid = "The security token included in the request is invalid."
	)
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
		msg    string
	}{
		{"tampered signature", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			r.Header.Set("Authorization", a[:len(a)-1]+map[bool]string{true: "1", false: "0"}[last == '0'])
			return r
		}, 403, "SignatureDoesNotMatch", msgSig},
		{"tampered body", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Body = io.NopCloser(strings.NewReader("Action=GetCallerIdentity&Version=2011-06-16"))
			return r
		}, 403, "SignatureDoesNotMatch", msgSig},
		{"wrong secret", func() *http.Request {
			cr := creds(c)
			cr.SecretAccessKey = other.SecretAccessKey
			return e.post(cr, "sts", gci())
		}, 403, "SignatureDoesNotMatch", msgSig},
		{"token of another session", func() *http.Request {
			cr := creds(c)
			cr.SessionToken = other.SessionToken
			return e.post(cr, "sts", gci())
		}, 403, "InvalidClientTokenId", msgInvalid},
		{"no token", func() *http.Request {
			cr := creds(c)
			cr.SessionToken = ""
			return e.post(cr, "sts", gci())
		}, 403, "InvalidClientTokenId", msgInvalid},
		{"long-term access key", func() *http.Request {
			return e.post(sigv4.Credentials{AccessKeyID: "AKIAEXAMPLEEXAMPLE00", SecretAccessKey: "x", SessionToken: c.SessionToken}, "sts", gci())
		}, 403, "InvalidClientTokenId", msgInvalid},
		{"skewed date (6 min behind)", func() *http.Request {
			e.clk.Advance(-6 * time.Minute)
			defer e.clk.Advance(6 * time.Minute)
			return e.post(creds(c), "sts", gci())
		}, 403, "SignatureDoesNotMatch", "Signature expired: 20261130T115400Z is now earlier than 20261130T115500Z (20261130T120000Z - 5 min.)"},
		{"skewed date (6 min ahead)", func() *http.Request {
			e.clk.Advance(6 * time.Minute)
			defer e.clk.Advance(-6 * time.Minute)
			return e.post(creds(c), "sts", gci())
		}, 403, "SignatureDoesNotMatch", "Signature not yet current: 20261130T120600Z is still later than 20261130T120500Z (20261130T120000Z + 5 min.)"},
		{"scope for another service", func() *http.Request { return e.post(creds(c), "s3", gci()) },
			403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'."},
		{"scope with a bad terminator", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/aws4_request", "/aws5_request", 1))
			return r
		}, 403, "SignatureDoesNotMatch", "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{"scope date not the request date", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20261130/", "/20261129/", 1))
			return r
		}, 403, "SignatureDoesNotMatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261129' != '20261130', from '20261130T120000Z'."},
		{"no authentication", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Del("Authorization")
			return r
		}, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		{"malformed: no Credential", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00")
			return r
		}, 400, "IncompleteSignature", "Authorization header requires 'Credential' parameter."},
		{"malformed: missing equal sign", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=00")
			return r
		}, 400, "IncompleteSignature", "Authorization header format error: 'Credential' is not a valid key=value pair."},
		{"malformed: bad credential", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.AccessKeyID+"/20261130/us-east-1/sts, SignedHeaders=host;x-amz-date, Signature=00")
			return r
		}, 400, "IncompleteSignature", `The Credential is malformed; expecting "<ID>/YYYYMMDD/REGION/SERVICE/aws4_request".`},
		{"malformed: unsorted signed headers", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-type;host", "SignedHeaders=host;content-type", 1))
			return r
		}, 400, "IncompleteSignature", "SignedHeaders must be a sorted"},
		{"malformed: signature not hex", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2]+"zz")
			return r
		}, 400, "IncompleteSignature", "The Signature is not a valid hex string."},
		{"malformed: unknown algorithm", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1))
			return r
		}, 400, "IncompleteSignature", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'."},
		{"x-amz header not signed", func() *http.Request {
			r := e.post(creds(c), "sts", gci())
			r.Header.Set("X-Amz-Meta", "x")
			return r
		}, 400, "IncompleteSignature", "There were headers present in the request which were not signed: x-amz-meta"},
		{"unknown action", func() *http.Request {
			return e.post(creds(c), "sts", url.Values{"Action": {"GetSessionToken"}, "Version": {"2011-06-15"}})
		}, 400, "InvalidAction", "Could not find operation GetSessionToken for version 2011-06-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.req()).want(t, tt.status, tt.code, tt.msg)
		})
	}
	// Control: the credentials the failures started from work.
	e.do(e.post(creds(c), "sts", gci())).identity(t)
}

func TestSTSExpiredSession(t *testing.T) {
	e := newSTSEnv(t)
	c := e.mint("base", 15*time.Minute)
	e.do(e.post(creds(c), "sts", gci())).identity(t) // warms the token cache
	e.clk.Advance(15 * time.Minute)
	e.do(e.post(creds(c), "sts", gci())).want(t, http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired")
	// Cold cache too.
	e.h = New(Config{Sessions: e.svc, Verifier: sts.NewVerifier(e.kr, 0), Keyring: e.kr, Now: e.clk.Now})
	e.do(e.post(creds(c), "sts", gci())).want(t, http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired")
}

func TestSTSRevokedSession(t *testing.T) {
	e := newSTSEnv(t)
	c := e.mint("base", time.Hour)
	e.do(e.post(creds(c), "sts", gci())).identity(t)
	e.clk.Advance(time.Second)
	// roam sessions revoke: a cutoff on the role, picked up by the snapshot.
	cfg := e.cfg
	cfg.Version++
	cfg.Roles = testRoles()
	cfg.Roles[0].SessionsRevokedBefore = e.clk.Now()
	e.svc.SetSnapshot(anywhere.NewSnapshot(&cfg))
	e.clk.Advance(time.Second)
	e.do(e.post(creds(c), "sts", gci())).want(t, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	// A session issued after the cutoff works; another role is unaffected.
	e.do(e.post(creds(e.mint("base", time.Hour)), "sts", gci())).identity(t)
	e.clk.Advance(-2 * time.Second)
	wp := e.mint("with-policy", time.Hour)
	e.clk.Advance(2 * time.Second)
	e.do(e.post(creds(wp), "sts", gci())).identity(t)
}

type assumeRoleResponse struct {
	SourceIdentity string `xml:"AssumeRoleResult>SourceIdentity"`
	Arn            string `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	AssumedRoleID  string `xml:"AssumeRoleResult>AssumedRoleUser>AssumedRoleId"`
	AccessKeyID    string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	Secret         string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
	Token          string `xml:"AssumeRoleResult>Credentials>SessionToken"`
	Expiration     string `xml:"AssumeRoleResult>Credentials>Expiration"`
	Packed         int    `xml:"AssumeRoleResult>PackedPolicySize"`
}

func (e *stsEnv) assumeRole(c sigv4.Credentials, role, name string, extra url.Values) (*response, assumeRoleResponse) {
	e.t.Helper()
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN(role)}, "RoleSessionName": {name}}
	for k, v := range extra {
		form[k] = v
	}
	r := e.do(e.post(c, "sts", form))
	var out assumeRoleResponse
	if r.status == http.StatusOK {
		if err := xml.Unmarshal([]byte(r.raw), &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return r, out
}

func TestAssumeRole(t *testing.T) {
	e := newSTSEnv(t)
	base := creds(e.mint("base", time.Hour))

	r, ar := e.assumeRole(base, "chain-ok", "second", url.Values{
		"DurationSeconds":            {"900"},
		"Tags.member.1.Key":          {"project"},
		"Tags.member.1.Value":        {"roam"},
		"Tags.member.2.Key":          {"step"},
		"Tags.member.2.Value":        {"one"},
		"TransitiveTagKeys.member.1": {"project"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("AssumeRole: %d %s", r.status, r.raw)
	}
	if ar.Arn != "arn:aws:sts::000000000000:assumed-role/chain-ok/second" || ar.AssumedRoleID != "AROACHAINOK000000001:second" ||
		ar.SourceIdentity != "CN=workload" || !strings.HasPrefix(ar.AccessKeyID, "ASIA") || ar.Secret == "" || ar.Packed < 1 ||
		ar.Expiration != e.clk.Now().Add(15*time.Minute).Format(time.RFC3339) {
		t.Fatalf("AssumeRole result %+v", ar)
	}
	second := sigv4.Credentials{AccessKeyID: ar.AccessKeyID, SecretAccessKey: ar.Secret, SessionToken: ar.Token}
	if ci := e.do(e.post(second, "sts", gci())).identity(t); ci.Arn != ar.Arn || ci.UserID != ar.AssumedRoleID {
		t.Fatalf("GetCallerIdentity with chained credentials: %+v", ci)
	}

	// Chain again: the transitive tag and the source identity carry over,
	// the non-transitive ones do not.
	r, ar3 := e.assumeRole(second, "chain-next", "third", nil)
	if r.status != http.StatusOK {
		t.Fatalf("second hop: %d %s", r.status, r.raw)
	}
	s, err := e.kr.Validate(ar3.AccessKeyID, ar3.Token, e.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Tags, []sts.Tag{{Key: "project", Value: "roam", Transitive: true}}) || s.SourceIdentity != "CN=workload" || !s.Chained ||
		s.RoleARN != roleARN("chain-next") || s.Expiration.Sub(s.IssuedAt) > time.Hour {
		t.Fatalf("third session: tags %+v, source identity %q, chained %v, role %s", s.Tags, s.SourceIdentity, s.Chained, s.RoleARN)
	}

	withPolicy := creds(e.mint("with-policy", time.Hour))
	const denied = "User: arn:aws:sts::000000000000:assumed-role/base/61d5692c1982239b is not authorized to perform: sts:AssumeRole on resource: "
	for _, tc := range []struct {
		name   string
		c      sigv4.Credentials
		role   string
		extra  url.Values
		status int
		code   string
		msg    string
	}{
		{"trust names another role", base, "chain-no", nil, 403, "AccessDenied", denied + roleARN("chain-no")},
		{"no such role", base, "nope", nil, 403, "AccessDenied", denied + roleARN("nope")},
		{"trust names the account, no identity policy", base, "chain-account", nil, 403, "AccessDenied", denied + roleARN("chain-account")},
		{"trust lacks sts:SetSourceIdentity", base, "chain-no-si", nil, 403, "AccessDenied",
			"User: arn:aws:sts::000000000000:assumed-role/base/61d5692c1982239b is not authorized to perform: sts:SetSourceIdentity on resource: " + roleARN("chain-no-si")},
		{"chained duration above an hour", base, "chain-ok", url.Values{"DurationSeconds": {"3601"}}, 400, "ValidationError", sts.MsgChainedDuration},
		{"duration below 900", base, "chain-ok", url.Values{"DurationSeconds": {"899"}}, 400, "ValidationError",
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"bad session name", base, "chain-ok", url.Values{"RoleSessionName": {"a b"}}, 400, "ValidationError",
			"1 validation error detected: Value 'a b' at 'roleSessionName'"},
		{"source identity changed", base, "chain-ok", url.Values{"SourceIdentity": {"someone-else"}}, 400, "ValidationError", "The source identity of the calling session cannot be changed once set."},
		{"transitive key not among tags", base, "chain-ok", url.Values{"TransitiveTagKeys.member.1": {"x"}}, 400, "InvalidParameterValue", "The specified transitive tag key must be included in the requested tags."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.extra
			if form == nil {
				form = url.Values{}
			}
			name := "s2"
			if n := form.Get("RoleSessionName"); n != "" {
				name = n
				delete(form, "RoleSessionName")
			}
			r, _ := e.assumeRole(tc.c, tc.role, name, form)
			r.want(t, tc.status, tc.code, tc.msg)
		})
	}
	// The account-principal trust policy works for a caller whose identity
	// policy allows sts:AssumeRole.
	if r, _ := e.assumeRole(withPolicy, "chain-account", "acct", nil); r.status != http.StatusOK {
		t.Fatalf("account trust with identity policy: %d %s", r.status, r.raw)
	}
}
