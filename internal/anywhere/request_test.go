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
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		r, err := ParseRequest(q, []byte(body))
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
