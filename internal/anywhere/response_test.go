package anywhere

import (
	"encoding/json"
	"strings"
	"testing"
)

func sampleResponse(s string) *Response {
	return &Response{
		CredentialSet: []CredentialSetItem{{
			AssumedRoleUser:  AssumedRoleUser{ARN: "arn:aws:sts::000000000000:assumed-role/r/" + s, AssumedRoleID: "AROA:" + s},
			Credentials:      ResponseCredentials{AccessKeyID: "ASIA" + s, Expiration: "2026-11-30T12:00:00Z", SecretAccessKey: s + "/+=", SessionToken: s},
			PackedPolicySize: len(s),
			RoleARN:          "arn:aws:iam::000000000000:role/" + s,
			SourceIdentity:   "CN=" + s,
		}},
		SubjectARN: "arn:aws:rolesanywhere:us-east-1:000000000000:subject/" + s,
	}
}

func TestResponseAppendJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "ctl \x00\x01\b\f\n\r\t\x1f\x7f",
		"utf-8 é ✓ 😀", "line sep \u2028 para sep \u2029", "bad \xff \xc3 utf-8 \xed\xa0\x80", strings.Repeat("x", 3000),
	} {
		checkAppendJSON(t, sampleResponse(s))
	}
	checkAppendJSON(t, &Response{})
	checkAppendJSON(t, &Response{CredentialSet: []CredentialSetItem{}})
	two := sampleResponse("a")
	two.CredentialSet = append(two.CredentialSet, sampleResponse("b").CredentialSet...)
	checkAppendJSON(t, two)
}

func FuzzResponseAppendJSON(f *testing.F) {
	f.Add("plain")
	f.Add("<\u2028\xff\x00>")
	f.Fuzz(func(t *testing.T, s string) { checkAppendJSON(t, sampleResponse(s)) })
}

func checkAppendJSON(t *testing.T, r *Response) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got := r.AppendJSON([]byte("prefix"))
	if string(got) != "prefix"+string(want) {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
	}
}
