package credentials

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)

const goodResponse = `{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::000000000000:assumed-role/r/s","assumedRoleId":"AROA:s"},` +
	`"credentials":{"accessKeyId":"ASIAAAAAAAAAAAAAAAAA","secretAccessKey":"SECRETSECRETSECRET","sessionToken":"TOKEN","expiration":"2026-11-30T16:00:00Z"},` +
	`"packedPolicySize":0,"roleArn":"arn:aws:iam::000000000000:role/r","sourceIdentity":"cn"}],"subjectArn":"arn:x"}`

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string // "" = success
	}{
		{"good", goodResponse, ""},
		{"minimal", `{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"2026-11-30T16:00:00.141Z"}}]}`, ""},
		{"empty body", ``, "empty body"},
		{"html", `<html>`, "invalid JSON"},
		{"not an object", `[]`, "expected"},
		{"empty set", `{"credentialSet":[]}`, "no credentialSet"},
		{"no set", `{}`, "no credentialSet"},
		{"no credentials object", `{"credentialSet":[{}]}`, "has no credentials"},
		{"null credentials", `{"credentialSet":[{"credentials":null}]}`, "has no credentials"},
		{"missing fields", `{"credentialSet":[{"credentials":{"accessKeyId":"A","expiration":"2026-11-30T16:00:00Z"}}]}`, "lack secretAccessKey, sessionToken"},
		{"empty secret", `{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"","sessionToken":"T","expiration":"2026-11-30T16:00:00Z"}}]}`, "lack secretAccessKey"},
		{"wrong type", `{"credentialSet":[{"credentials":{"accessKeyId":5,"secretAccessKey":"S","sessionToken":"T","expiration":"2026-11-30T16:00:00Z"}}]}`, "expected string"},
		{"epoch expiration", `{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"1900000000"}}]}`, "not an RFC 3339 time"},
		{"garbage expiration", `{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"tomorrow"}}]}`, "not an RFC 3339 time"},
		{"past expiration", `{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"2026-11-30T14:00:00Z"}}]}`, "not in the future"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseResponse([]byte(tc.body), testNow)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || !c.Expiration.After(testNow) {
					t.Fatalf("incomplete credentials %+v", c)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want ErrMalformedResponse containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestParseAPIError(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		code, msg string
		retry     bool
	}{
		{"header code", 403, http.Header{"X-Amzn-Errortype": {"AccessDeniedException:http://internal"}, "X-Amzn-Requestid": {"rid"}}, `{"message":"Untrusted signing certificate."}`, "AccessDeniedException", "Untrusted signing certificate.", false},
		{"body type", 403, http.Header{}, `{"__type":"ns#AccessDeniedException","Message":"Invalid signature"}`, "AccessDeniedException", "Invalid signature", false},
		{"500", 500, http.Header{}, `{"message":"internal"}`, "", "internal", true},
		{"throttle 400", 400, http.Header{}, `{"code":"ThrottlingException","message":"Rate exceeded"}`, "ThrottlingException", "Rate exceeded", true},
		{"html", 403, http.Header{}, `<html>`, "", "non-JSON error body", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := parseAPIError(tc.status, tc.header, []byte(tc.body))
			if e.Code != tc.code || e.Message != tc.msg || e.Retryable() != tc.retry {
				t.Fatalf("got %+v retry=%v", e, e.Retryable())
			}
		})
	}
}

func TestResolveEndpoint(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name, flag, region string
		getenv             func(string) string
		want               string
	}{
		{"flag wins over env", "https://roam:8443", "us-east-1", env("AWS_ENDPOINT_URL_ROLESANYWHERE", "https://other"), "https://roam:8443"},
		{"service env", "", "us-east-1", env("AWS_ENDPOINT_URL_ROLESANYWHERE", "https://svc", "AWS_ENDPOINT_URL", "https://global"), "https://svc"},
		{"global env", "", "us-east-1", env("AWS_ENDPOINT_URL", "https://global"), "https://global"},
		{"region", "", "eu-west-2", env(), "https://rolesanywhere.eu-west-2.amazonaws.com"},
		{"china", "", "cn-north-1", env(), "https://rolesanywhere.cn-north-1.amazonaws.com.cn"},
		{"fips env", "", "us-east-1", env("AWS_USE_FIPS_ENDPOINT", "true"), "https://rolesanywhere-fips.us-east-1.amazonaws.com"},
		{"fips region", "", "fips-us-east-1", env(), "https://rolesanywhere-fips.us-east-1.amazonaws.com"},
		{"dualstack", "", "us-east-1", env("AWS_USE_DUALSTACK_ENDPOINT", "true"), "https://rolesanywhere.us-east-1.api.aws"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ResolveEndpoint(tc.flag, tc.region, tc.getenv); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzParseResponse: untrusted server bytes never panic, and a success
// always has all four fields and a future expiration.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(goodResponse))
	f.Add([]byte(`{"credentialSet":[{}]}`))
	f.Add([]byte(`{"credentialSet":[{"credentials":{"expiration":"1900000000"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseResponse(body, testNow)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("error does not wrap ErrMalformedResponse: %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || !c.Expiration.After(testNow) {
			t.Fatalf("accepted incomplete credentials %+v", c)
		}
	})
}
