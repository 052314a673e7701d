package sigv4

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "ASIAEXAMPLEEXAMPLE01"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars"
)

// wire sends req to a capturing test server and returns the request as the
// server received it, with its body.
type wire struct {
	srv *httptest.Server
	got chan captured
}

func newWire(t *testing.T) *wire {
	w := &wire{got: make(chan captured, 1)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.got <- captured{r: r.Clone(context.Background()), body: body}
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *wire) send(t *testing.T, req *http.Request) captured {
	t.Helper()
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-w.got
}

// sdkCase is one request signed by aws-sdk-go-v2.
type sdkCase struct {
	name     string
	method   string
	path     string // escaped path as sent
	query    string
	body     string
	header   map[string]string
	service  string
	region   string
	s3       bool
	presign  time.Duration // > 0: presigned with this X-Amz-Expires
	unsigned bool          // S3 UNSIGNED-PAYLOAD
}

var sdkCases = []sdkCase{
	{name: "sts POST form", method: "POST", path: "/", body: "Action=GetCallerIdentity&Version=2011-06-15",
		header:  map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
		service: "sts", region: "us-east-1"},
	{name: "iam other region", method: "POST", path: "/", body: "Action=ListRoles&Version=2010-05-08&PathPrefix=%2Fa%20b%2F",
		header:  map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		service: "iam", region: "eu-central-1"},
	{name: "rolesanywhere json spaces", method: "GET", path: "/trustanchors", query: "maxResults=10&nextToken=a+b%2Fc",
		header:  map[string]string{"X-Amz-Meta-Note": "  two  spaces   here "},
		service: "rolesanywhere", region: "us-east-1"},
	{name: "non-S3 path double encoded", method: "GET", path: "/a%20b/c%2Fd/%C3%BC", query: "z=1&a=2&a=1&empty=",
		service: "execute-api", region: "us-east-1"},
	{name: "s3 unsigned payload encoded path", method: "PUT", path: "/bucket/my%20key/%C3%BC%2B%21.txt", body: "hello world",
		service: "s3", region: "us-east-1", s3: true, unsigned: true},
	{name: "s3 signed payload", method: "PUT", path: "/bucket/k", query: "x-id=PutObject", body: "data",
		header:  map[string]string{"Content-Type": "text/plain"},
		service: "s3", region: "us-east-1", s3: true},
	{name: "sts presigned GetCallerIdentity", method: "GET", path: "/", query: "Action=GetCallerIdentity&Version=2011-06-15",
		service: "sts", region: "us-east-1", presign: 900 * time.Second},
	{name: "s3 presigned GET", method: "GET", path: "/bucket/dir/a%20b.txt", query: "response-content-type=text%2Fplain",
		service: "s3", region: "us-west-2", s3: true, unsigned: true, presign: time.Hour},
}

func (c sdkCase) opts() *HMACOptions {
	return &HMACOptions{Service: c.service, Region: c.region, S3: c.s3, Keys: NewKeyCache(16)}
}

// signWithSDK builds and signs the request with aws-sdk-go-v2 and sends it.
func signWithSDK(t *testing.T, w *wire, c sdkCase, at time.Time) captured {
	t.Helper()
	u := w.srv.URL + c.path
	if c.query != "" {
		u += "?" + c.query
	}
	req, err := http.NewRequest(c.method, u, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	ph := HashPayload([]byte(c.body))
	if c.unsigned {
		ph = UnsignedPayload
	}
	if c.s3 && c.presign == 0 {
		req.Header.Set(HeaderContentSHA256, ph)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = c.s3 })
	if c.presign > 0 {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(int(c.presign/time.Second)))
		req.URL.RawQuery = q.Encode()
		signed, hdr, err := signer.PresignHTTP(context.Background(), creds, req, ph, c.service, c.region, at)
		if err != nil {
			t.Fatal(err)
		}
		req, err = http.NewRequest(c.method, signed, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			if !strings.EqualFold(k, "host") {
				req.Header[k] = v
			}
		}
	} else if err := signer.SignHTTP(context.Background(), creds, req, ph, c.service, c.region, at); err != nil {
		t.Fatal(err)
	}
	return w.send(t, req)
}

func TestHMACSDKInterop(t *testing.T) {
	w := newWire(t)
	at := time.Now().UTC().Truncate(time.Second)
	for _, c := range sdkCases {
		t.Run(c.name, func(t *testing.T) {
			got := signWithSDK(t, w, c, at)
			r, body := got.replay()
			p, err := ParseRequest(r, at.Add(time.Minute), c.opts())
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if p.AccessKeyID() != testKeyID || p.SecurityToken != testToken || !p.TokenSigned || p.Presigned != (c.presign > 0) {
				t.Fatalf("parsed %+v", p)
			}
			if err := p.Verify([]byte(testSecret), body); err != nil {
				t.Fatalf("Verify: %v\nrequest %s %s %v", err, r.Method, r.URL, r.Header)
			}
			if err := p.Verify([]byte(testSecret), body); err != nil { // cached key
				t.Fatalf("Verify (cached): %v", err)
			}
			if c.s3 && !c.unsigned && c.presign == 0 {
				if err := p.VerifyStreaming([]byte(testSecret)); err != nil {
					t.Fatalf("VerifyStreaming: %v", err)
				}
			}
			testHMACFailures(t, c, got, at)
		})
	}
}

func testHMACFailures(t *testing.T, c sdkCase, got captured, at time.Time) {
	type failure struct {
		name    string
		mod     func(r *http.Request, body *[]byte, o *HMACOptions, now *time.Time, secret *string)
		code    string
		target  error
		message string // exact, when set
	}
	setAuth := func(r *http.Request, from, to string) {
		if c.presign > 0 {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, url.QueryEscape(from), url.QueryEscape(to), 1)
		} else {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), from, to, 1))
		}
	}
	date := at.Format(DateFormat)
	amz := at.Format(TimeFormat)
	fails := []failure{
		{name: "wrong secret", mod: func(_ *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, s *string) { *s = "not-the-secret" },
			code: CodeSignatureDoesNotMatch, target: ErrSignature, message: msgSignatureDoesNotMatch},
		{name: "wrong service", mod: func(_ *http.Request, _ *[]byte, o *HMACOptions, _ *time.Time, _ *string) { o.Service = "sqs" },
			code: CodeSignatureDoesNotMatch, target: ErrScope, message: "Credential should be scoped to correct service: 'sqs'."},
		{name: "wrong region", mod: func(_ *http.Request, _ *[]byte, o *HMACOptions, _ *time.Time, _ *string) { o.Region = "ap-south-1" },
			code: CodeSignatureDoesNotMatch, target: ErrScope, message: "Credential should be scoped to a valid region, not '" + c.region + "'."},
		{name: "wrong scope date", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
			setAuth(r, "/"+date+"/", "/20200101/")
		}, code: CodeSignatureDoesNotMatch, target: ErrScope,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '" + date + "', from '" + amz + "'."},
		{name: "wrong terminator", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
			setAuth(r, "/aws4_request", "/aws5_request")
		}, code: CodeSignatureDoesNotMatch, target: ErrScope,
			message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "not yet current", mod: func(_ *http.Request, _ *[]byte, _ *HMACOptions, now *time.Time, _ *string) {
			*now = at.Add(-6 * time.Minute)
		},
			code: CodeSignatureDoesNotMatch, target: ErrTimeSkew,
			message: "Signature not yet current: " + amz + " is still later than " + at.Add(-time.Minute).Format(TimeFormat) + " (" + at.Add(-6*time.Minute).Format(TimeFormat) + " + 5 min.)"},
		{name: "unsigned x-amz header", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
			r.Header.Set("X-Amz-Meta-Extra", "1")
		}, code: CodeIncompleteSignature, target: ErrHeaderNotSigned},
		{name: "no auth", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
			r.Header.Del("Authorization")
			q := r.URL.Query()
			for k := range q {
				if strings.HasPrefix(k, "X-Amz-") {
					q.Del(k)
				}
			}
			r.URL.RawQuery = q.Encode()
		}, code: CodeMissingAuthenticationToken, target: ErrMissingAuth, message: "Request is missing Authentication Token"},
	}
	if c.presign > 0 {
		fails = append(fails,
			failure{name: "presign expired", mod: func(_ *http.Request, _ *[]byte, _ *HMACOptions, now *time.Time, _ *string) {
				*now = at.Add(c.presign + time.Second)
			}, code: CodeAccessDenied, target: ErrExpired, message: "Request has expired"},
			failure{name: "expires too long", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=", "X-Amz-Expires=604801&X=", 1)
			}, code: CodeAuthorizationQueryParametersError, target: ErrMalformed,
				message: "X-Amz-Expires must be less than a week (in seconds) that is; 604800"},
			failure{name: "expires zero", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=", "X-Amz-Expires=0&X=", 1)
			}, code: CodeAuthorizationQueryParametersError, target: ErrMalformed},
			failure{name: "header and query auth", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
			}, code: CodeInvalidArgument, target: ErrAmbiguousAuth},
			failure{name: "query tampered", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				r.URL.RawQuery += "&extra=1"
			}, code: CodeSignatureDoesNotMatch, target: ErrSignature},
			failure{name: "still valid late within expiry", mod: func(_ *http.Request, _ *[]byte, _ *HMACOptions, now *time.Time, _ *string) {
				*now = at.Add(c.presign - time.Second)
			}},
		)
	} else {
		fails = append(fails,
			failure{name: "stale", mod: func(_ *http.Request, _ *[]byte, _ *HMACOptions, now *time.Time, _ *string) {
				*now = at.Add(6 * time.Minute)
			},
				code: CodeSignatureDoesNotMatch, target: ErrTimeSkew,
				message: "Signature expired: " + amz + " is now earlier than " + at.Add(time.Minute).Format(TimeFormat) + " (" + at.Add(6*time.Minute).Format(TimeFormat) + " - 5 min.)"},
			failure{name: "skew configurable", mod: func(_ *http.Request, _ *[]byte, o *HMACOptions, now *time.Time, _ *string) {
				*now, o.MaxSkew = at.Add(14*time.Minute), 15*time.Minute
			}},
			failure{name: "any region", mod: func(_ *http.Request, _ *[]byte, o *HMACOptions, _ *time.Time, _ *string) { o.Region = "" }},
			failure{name: "missing date", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) { r.Header.Del("X-Amz-Date") },
				code: CodeIncompleteSignature, target: ErrMalformed,
				message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
			failure{name: "missing signature component", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				a, _, _ := strings.Cut(r.Header.Get("Authorization"), ", Signature=")
				r.Header.Set("Authorization", a)
			}, code: CodeIncompleteSignature, target: ErrMalformed, message: "Authorization header requires 'Signature' parameter."},
			failure{name: "body tampered", mod: func(_ *http.Request, b *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				*b = append(*b, 'x')
			}, code: CodeSignatureDoesNotMatch, target: ErrSignature},
			failure{name: "header and query auth", mod: func(r *http.Request, _ *[]byte, _ *HMACOptions, _ *time.Time, _ *string) {
				r.URL.RawQuery += "&X-Amz-Signature=00"
			}, code: CodeInvalidArgument, target: ErrAmbiguousAuth},
		)
		if c.s3 && !c.unsigned {
			fails[len(fails)-2].code, fails[len(fails)-2].target = CodeXAmzContentSHA256Mismatch, ErrPayloadHash
		}
		if c.body == "" {
			fails[len(fails)-2].code, fails[len(fails)-2].target = CodeSignatureDoesNotMatch, ErrSignature
		}
		if c.s3 && c.unsigned {
			fails[len(fails)-2].code, fails[len(fails)-2].target = "", nil // body not covered
			fails = append(fails, failure{name: "unsigned payload outside S3", mod: func(_ *http.Request, _ *[]byte, o *HMACOptions, _ *time.Time, _ *string) {
				o.S3 = false
			}, code: CodeInvalidRequest, target: ErrPayloadHash})
		}
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			r, body := got.replay()
			o, now, secret := c.opts(), at.Add(time.Minute), testSecret
			f.mod(r, &body, o, &now, &secret)
			p, err := ParseRequest(r, now, o)
			if err == nil {
				err = p.Verify([]byte(secret), body)
			}
			if f.target == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != f.code || !errors.Is(err, f.target) {
				t.Fatalf("got %v, want code %s cause %v", err, f.code, f.target)
			}
			if f.message != "" && e.Message != f.message {
				t.Errorf("message\n got %q\nwant %q", e.Message, f.message)
			}
			if strings.Contains(e.Error(), testSecret) {
				t.Errorf("error leaks the secret")
			}
		})
	}
}

// TestSignHMACMatchesSDK checks that SignHMAC and PresignHMAC produce
// what aws-sdk-go-v2 produces, and that both verify.
func TestSignHMACMatchesSDK(t *testing.T) {
	at := time.Date(2026, 11, 30, 15, 20, 7, 0, time.UTC)
	creds := Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken}
	sdkCreds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken}
	newReq := func() *http.Request {
		r := httptest.NewRequest("GET", "https://sts.example:8443/a%20b/?Version=2011-06-15&Action=GetCallerIdentity", nil)
		r.Header = http.Header{"X-Amz-Meta-A": {"b  c"}}
		r.RequestURI = ""
		return r
	}
	mine, theirs := newReq(), newReq()
	if err := SignHMAC(mine, EmptyPayloadHash, creds, "sts", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), sdkCreds, theirs, EmptyPayloadHash, "sts", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	if m, s := mine.Header.Get("Authorization"), theirs.Header.Get("Authorization"); m != s {
		t.Errorf("Authorization:\n mine %s\n sdk  %s", m, s)
	}
	o := &HMACOptions{Service: "sts", Region: "us-east-1"}
	p, err := ParseRequest(mine, at, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify([]byte(testSecret), nil); err != nil {
		t.Fatal(err)
	}

	pm := newReq()
	if err := PresignHMAC(pm, EmptyPayloadHash, creds, "sts", "us-east-1", 900*time.Second, at); err != nil {
		t.Fatal(err)
	}
	p, err = ParseRequest(pm, at, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify([]byte(testSecret), nil); err != nil {
		t.Fatal(err)
	}
	ps := newReq()
	ps.Header = http.Header{}
	pm2 := newReq()
	pm2.Header = http.Header{}
	q := ps.URL.Query()
	q.Set("X-Amz-Expires", "900")
	ps.URL.RawQuery = q.Encode()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), sdkCreds, ps, EmptyPayloadHash, "sts", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if err := PresignHMAC(pm2, EmptyPayloadHash, creds, "sts", "us-east-1", 900*time.Second, at); err != nil {
		t.Fatal(err)
	}
	su, _ := url.Parse(u)
	if a, b := su.Query().Get(QuerySignature), pm2.URL.Query().Get(QuerySignature); a != b {
		t.Errorf("presigned signature differs: sdk %s mine %s", a, b)
	}
}

func TestHMACTokenUnsigned(t *testing.T) {
	at := time.Now()
	r := httptest.NewRequest("POST", "https://iam.example/", strings.NewReader("Action=GetUser"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := SignHMAC(r, HashPayload([]byte("Action=GetUser")), Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, "iam", "us-west-2", at); err != nil {
		t.Fatal(err)
	}
	r.Header.Set(HeaderSecurityToken, testToken) // appended after signing
	p, err := ParseRequest(r, at, &HMACOptions{Service: "iam"})
	if err != nil {
		t.Fatal(err)
	}
	if p.SecurityToken != testToken || p.TokenSigned {
		t.Fatalf("token %q signed %v", p.SecurityToken, p.TokenSigned)
	}
	if err := p.Verify([]byte(testSecret), []byte("Action=GetUser")); err != nil {
		t.Fatal(err)
	}
}

func TestKeyCache(t *testing.T) {
	c := NewKeyCache(2)
	sc := NewScope("20261130", "us-east-1", "sts")
	k1 := c.SigningKey("A", []byte("s1"), sc)
	if k1 != DeriveSigningKey([]byte("s1"), "20261130", "us-east-1", "sts") {
		t.Fatal("cached key differs from derived key")
	}
	if c.SigningKey("A", []byte("s2"), sc) == k1 {
		t.Fatal("rotated secret reused a stale key")
	}
	c.SigningKey("B", []byte("s"), sc)
	c.SigningKey("C", []byte("s"), sc)
	if c.Len() > 2 {
		t.Fatalf("cache holds %d keys, bound is 2", c.Len())
	}
	// AWS's documented example key derivation.
	got := DeriveSigningKey([]byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "20120215", "us-east-1", "iam")
	if want := "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"; HashPayload(nil) == "" || hexOf(got[:]) != want {
		t.Fatalf("DeriveSigningKey = %x, want %s", got, want)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
