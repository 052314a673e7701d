package anywhere

import (
	"net/url"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/apierr"
)

const (
	testAnchorARN  = "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/0b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	testProfileARN = "arn:aws:rolesanywhere:us-east-1:000000000000:profile/1b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	testRoleARN    = "arn:aws:iam::000000000000:role/s3-writer"
)

func TestParseRequest(t *testing.T) {
	q := url.Values{"trustAnchorArn": {testAnchorARN}, "profileArn": {testProfileARN}, "roleArn": {testRoleARN}}
	tests := []struct {
		name    string
		query   url.Values
		body    string
		want    Request
		wantErr string
	}{
		{name: "helper form: ARNs in query", query: q, body: `{"durationSeconds":3600}`,
			want: Request{TrustAnchorARN: testAnchorARN, ProfileARN: testProfileARN, RoleARN: testRoleARN, DurationSeconds: 3600, HasDuration: true}},
		{name: "docs form: ARNs in body", body: `{"trustAnchorArn":"` + testAnchorARN + `","profileArn":"` + testProfileARN + `","roleArn":"` + testRoleARN + `","roleSessionName":"my-session"}`,
			want: Request{TrustAnchorARN: testAnchorARN, ProfileARN: testProfileARN, RoleARN: testRoleARN, RoleSessionName: "my-session"}},
		{name: "empty body", query: q, want: Request{TrustAnchorARN: testAnchorARN, ProfileARN: testProfileARN, RoleARN: testRoleARN}},
		{name: "role path", query: url.Values{"trustAnchorArn": {testAnchorARN}, "profileArn": {testProfileARN}, "roleArn": {"arn:aws:iam::000000000000:role/team/app/writer"}},
			want: Request{TrustAnchorARN: testAnchorARN, ProfileARN: testProfileARN, RoleARN: "arn:aws:iam::000000000000:role/team/app/writer"}},
		{name: "duration too short", query: q, body: `{"durationSeconds":50}`, wantErr: "durationSeconds"},
		{name: "duration too long", query: q, body: `{"durationSeconds":43201}`, wantErr: "durationSeconds"},
		{name: "duration not an integer", query: q, body: `{"durationSeconds":900.5}`, wantErr: "durationSeconds"},
		{name: "duration a string", query: q, body: `{"durationSeconds":"900"}`, wantErr: "durationSeconds"},
		{name: "session name a number", query: q, body: `{"roleSessionName":12}`, wantErr: "wrong type"},
		{name: "malformed json", query: q, body: `{"durationSeconds":`, wantErr: "not valid JSON"},
		{name: "trailing json", query: q, body: `{} {}`, wantErr: "trailing data"},
		{name: "empty role ARN as the helper sends it", query: url.Values{"trustAnchorArn": {testAnchorARN}, "profileArn": {testProfileARN}, "roleArn": {""}}, wantErr: "'roleArn'"},
		{name: "bad role ARN", query: url.Values{"trustAnchorArn": {testAnchorARN}, "profileArn": {testProfileARN}, "roleArn": {"arn:aws:s3:::bucket"}}, wantErr: "'roleArn'"},
		{name: "profile ARN in anchor slot", query: url.Values{"trustAnchorArn": {testProfileARN}, "profileArn": {testProfileARN}, "roleArn": {testRoleARN}}, wantErr: "'trustAnchorArn'"},
		{name: "anchor id not a uuid", query: url.Values{"trustAnchorArn": {strings.TrimSuffix(testAnchorARN, "6f") + "ZZ"}, "profileArn": {testProfileARN}, "roleArn": {testRoleARN}}, wantErr: "'trustAnchorArn'"},
		{name: "missing profile", query: url.Values{"trustAnchorArn": {testAnchorARN}, "roleArn": {testRoleARN}}, wantErr: "'profileArn'"},
		{name: "session name too short", query: q, body: `{"roleSessionName":"a"}`, wantErr: "roleSessionName"},
		{name: "session name with space", query: q, body: `{"roleSessionName":"my  session"}`, wantErr: "roleSessionName"},
		{name: "body too large", query: q, body: `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest(tt.query, []byte(tt.body))
			if tt.wantErr != "" {
				ae, ok := apierr.As(err)
				if !ok || ae.Code != "ValidationException" || ae.Status != 400 || !strings.Contains(ae.Message, tt.wantErr) {
					t.Fatalf("err = %v, want ValidationException containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.TrustAnchorID, got.ProfileID = "", ""
			if *got != tt.want {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("trustAnchorArn="+url.QueryEscape(testAnchorARN)+"&profileArn="+url.QueryEscape(testProfileARN)+"&roleArn="+url.QueryEscape(testRoleARN), `{"durationSeconds":3600}`)
	f.Add("", `{"durationSeconds":900,"roleSessionName":"my session  name"}`)
	f.Add("roleArn=", `{"instanceProperties":{"a":"b"}}`)
	for _, body := range parseEquivalenceBodies {
		f.Add("", body)
	}
	for _, arn := range arnEquivalenceCases {
		f.Add("trustAnchorArn="+url.QueryEscape(arn)+"&profileArn="+url.QueryEscape(testProfileARN)+"&roleArn="+url.QueryEscape(arn), `{}`)
	}
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		r, err := ParseRequest(q, []byte(body))
		checkSameAsReference(t, q, body, r, err)
		if err != nil {
			if _, ok := apierr.As(err); !ok {
				t.Fatalf("error is not an API error: %v", err)
			}
			return
		}
		if r.TrustAnchorID == "" || r.ProfileID == "" || r.RoleARN == "" {
			t.Fatalf("accepted request without ids: %+v", r)
		}
	})
}

// checkSameAsReference fails t unless ParseRequest's answer (r, err) is
// parseRequestRef's: the same request or the same error.
func checkSameAsReference(t *testing.T, q url.Values, body string, r *Request, err error) {
	t.Helper()
	want, wantErr := parseRequestRef(q, []byte(body))
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("query %v body %q: err = %v, reference err = %v", q, body, err, wantErr)
	}
	if err != nil {
		ae, _ := apierr.As(err)
		we, _ := apierr.As(wantErr)
		if ae == nil || we == nil || ae.Code != we.Code || ae.Status != we.Status || ae.Message != we.Message {
			t.Fatalf("query %v body %q: err = %v, reference err = %v", q, body, err, wantErr)
		}
		return
	}
	if *r != *want {
		t.Fatalf("query %v body %q:\ngot       %+v\nreference %+v", q, body, *r, *want)
	}
}

// parseEquivalenceBodies are bodies around the edges of the simple-body fast
// path, each sent with the ARNs in the query.
var parseEquivalenceBodies = []string{
	``, ` `, "\v", "\t\r\n", `{}`, ` { } `, `{} `, `{}x`, `{}]`, `{} {}`, `[]`, `null`, `"x"`, `1`, `{`, `{"`, `{"durationSeconds"`,
	`{"durationSeconds":3600}`, `{"durationSeconds": 3600 }`, "{\n\t\"durationSeconds\" :\r 3600\n}\n",
	`{"durationSeconds":0900}`, `{"durationSeconds":-900}`, `{"durationSeconds":-0}`, `{"durationSeconds":900.0}`, `{"durationSeconds":9e2}`,
	`{"durationSeconds":900E0}`, `{"durationSeconds":"900"}`, `{"durationSeconds":null}`, `{"durationSeconds":true}`, `{"durationSeconds":-}`,
	`{"durationSeconds":3600,"durationSeconds":null}`, `{"durationSeconds":null,"durationSeconds":1200}`, `{"durationSeconds":99999999999999999999}`,
	`{"DurationSeconds":1200}`, `{"durationseconds":1200}`, `{"durationSeconds":1200,}`, `{,"durationSeconds":1200}`, `{"durationSeconds":1200 "roleArn":"x"}`,
	`{"roleSessionName":"my-session"}`, `{"roleSessionName":"a"}`, `{"roleSessionName":null}`, `{"roleSessionName":"x y"}`, `{"roleSessionName":"caf\u00e9"}`,
	`{"roleSessionName":"café"}`, `{"roleSessionName":"tab\there"}`, "{\"roleSessionName\":\"tab\there\"}", `{"roleSessionName":"ok","roleSessionName":null}`,
	`{"roleSessionName":12}`, `{"sessionName":"ignored"}`, `{"sessionName":null,"roleSessionName":"ab"}`,
	`{"trustAnchorArn":"` + testAnchorARN + `","profileArn":"` + testProfileARN + `","roleArn":"` + testRoleARN + `","durationSeconds":3600}`,
	`{"roleArn":"arn:aws:iam::000000000000:role/other"}`, `{"roleArn":null}`, `{"roleArn":"x","roleArn":null}`, `{"roleArn":""}`, `{"roleArn":5}`,
	`{"instanceProperties":{"a":"b"}}`, `{"instanceProperties":null}`, `{"unknown":1}`, `{"durationSeconds":1200,"unknown":[1,2]}`,
	`{"roleSessionName":"` + strings.Repeat("a", 64) + `"}`, `{"roleSessionName":"` + strings.Repeat("a", 65) + `"}`, `{"roleSessionName":"a+=,.@-_Z9"}`,
	"{\"roleSessionName\":\"ab\x7f\"}", "{\"roleSessionName\":\"ab\x00\"}", "{\"roleSessionName\":\"ab\xff\"}",
}

// arnEquivalenceCases are ARNs around the edges of the hand-written checks.
var arnEquivalenceCases = []string{
	testAnchorARN, testProfileARN, testRoleARN, "", "arn", "arn:aws", "arn:aws:", "arn:aws-:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID,
	"arn:aws-cn:rolesanywhere:cn-north-1:000000000000:trust-anchor/" + testUUID, "arn:aws-us-gov:iam::000000000000:role/x",
	"arn:aws-CN:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID, "arn:awsx:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID,
	"arn:aws--:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID, "arn:aws:rolesanywhere::000000000000:trust-anchor/" + testUUID,
	"arn:aws:rolesanywhere:US-east-1:000000000000:trust-anchor/" + testUUID, "arn:aws:rolesanywhere:us-east-1:00000000000:trust-anchor/" + testUUID,
	"arn:aws:rolesanywhere:us-east-1:0000000000000:trust-anchor/" + testUUID, "arn:aws:rolesanywhere:us-east-1:00000000000a:trust-anchor/" + testUUID,
	"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + strings.ToUpper(testUUID), "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID + "\n",
	"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID + "0", "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + testUUID[1:],
	"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/g1b2c3d4-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/a1b2c3d4-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
	"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/a1b2c3d4_zzzz-zzzz-zzzz-zzzzzzzzzzzz", "arn:aws:rolesanywhere:us-east-1:000000000000:profile/" + testUUID,
	"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor" + testUUID, "arn:aws:rolesanywhere:us:east:1:000000000000:trust-anchor/" + testUUID,
	"arn:aws:iam::000000000000:role/", "arn:aws:iam::000000000000:role/a\nb", "arn:aws:iam::000000000000:role/\xff", "arn:aws:iam::000000000000:role//",
	"arn:aws:iam:us-east-1:000000000000:role/x", "arn:aws:iam::000000000000:user/x", "arn:aws:iam::000000000000:rolex", "arn:aws:iam::00000000000:role/x",
	"arn:aws:iam::000000000000:role/" + strings.Repeat("p", 1000),
}

const testUUID = "0b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"

// TestParseRequestMatchesReference checks the hand-written ARN, session name
// and body parsing against the regular expressions and encoding/json they
// replace.
func TestParseRequestMatchesReference(t *testing.T) {
	q := url.Values{"trustAnchorArn": {testAnchorARN}, "profileArn": {testProfileARN}, "roleArn": {testRoleARN}}
	for _, body := range parseEquivalenceBodies {
		r, err := ParseRequest(q, []byte(body))
		checkSameAsReference(t, q, body, r, err)
		r, err = ParseRequest(url.Values{}, []byte(body))
		checkSameAsReference(t, url.Values{}, body, r, err)
	}
	for _, arn := range arnEquivalenceCases {
		for _, q := range []url.Values{
			{"trustAnchorArn": {arn}, "profileArn": {testProfileARN}, "roleArn": {testRoleARN}},
			{"trustAnchorArn": {testAnchorARN}, "profileArn": {arn}, "roleArn": {testRoleARN}},
			{"trustAnchorArn": {testAnchorARN}, "profileArn": {testProfileARN}, "roleArn": {arn}},
		} {
			r, err := ParseRequest(q, nil)
			checkSameAsReference(t, q, "", r, err)
		}
	}
}

// TestParseSimpleTakesCommonBodies checks that the bodies clients send take
// the fast path.
func TestParseSimpleTakesCommonBodies(t *testing.T) {
	for _, body := range []string{
		`{"durationSeconds":3600}`,
		`{"durationSeconds":3600,"profileArn":"` + testProfileARN + `","roleArn":"` + testRoleARN + `","trustAnchorArn":"` + testAnchorARN + `"}`,
		"{\n  \"durationSeconds\": 900,\n  \"roleSessionName\": \"my-session\"\n}\n",
		`{}`,
	} {
		var b requestBody
		if !b.parseSimple([]byte(body)) {
			t.Errorf("parseSimple(%q) = false", body)
		}
	}
}
