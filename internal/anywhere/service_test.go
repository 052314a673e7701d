package anywhere

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/policy"
)

func TestHeaderSum(t *testing.T) {
	for _, tc := range [][2]string{{"", ""}, {"a", ""}, {"", "a"}, {"leaf", "chain"}, {strings.Repeat("x", 5000), strings.Repeat("y", 3000)}} {
		if got, want := headerSum(tc[0], tc[1]), sha256.Sum256([]byte(tc[0]+"\x00"+tc[1])); got != want {
			t.Errorf("headerSum(%d bytes, %d bytes) = %x, want %x", len(tc[0]), len(tc[1]), got, want)
		}
	}
	leaf := strings.Repeat("x", 2000)
	if n := testing.AllocsPerRun(100, func() { headerSum(leaf, "chain") }); n != 0 {
		t.Errorf("headerSum allocates %v times", n)
	}
}

func TestReadsRequestKeys(t *testing.T) {
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{``, false},
		{`"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/x"}},`, false},
		{`"Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"vm","aws:SourceAccount":"000000000000"}},`, false},
		{`"Condition":{"IpAddress":{"AWS:SOURCEIP":"10.0.0.0/8"}},`, true},
		{`"Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}},`, true},
		{`"Condition":{"NumericLessThan":{"aws:EpochTime":"1900000000"}},`, true},
		{`"Condition":{"Bool":{"aws:SecureTransport":"true"}},`, true},
		{`"Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"${aws:SourceIp}"}},`, true},
	} {
		src := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},` +
			tc.cond + `"Action":"sts:AssumeRole"}]}`
		p, err := policy.Parse([]byte(src), policy.ParseOptions{Kind: policy.KindTrust})
		if err != nil {
			t.Fatal(err)
		}
		if got := readsRequestKeys(p); got != tc.want {
			t.Errorf("readsRequestKeys(%s) = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

// trustCall is a CreateSession with certificate cert from remote, which
// should fail with an error containing want, or succeed when want is "".
type trustCall struct {
	cert   int
	remote string
	want   string
}

// TestTrustOutcomeCache checks that cached trust-policy decisions are the
// decisions a fresh evaluation gives: per certificate for policies on
// certificate attributes, per request for policies on per-request keys.
func TestTrustOutcomeCache(t *testing.T) {
	const allowAll = `"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]`
	trust := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	const prin = `"Principal":{"Service":"rolesanywhere.amazonaws.com"}`
	tests := []struct {
		name   string
		policy string
		calls  []trustCall // made in order, each twice
	}{
		{"source ip is per request", trust(`{"Effect":"Allow",` + prin + `,` + allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`),
			[]trustCall{{0, "10.1.2.3:1000", ""}, {0, "192.0.2.7:1000", "does not allow sts:AssumeRole"}, {0, "10.9.9.9:1000", ""}, {1, "192.0.2.7:1000", "does not allow sts:AssumeRole"}}},
		{"deny by CN is per certificate", trust(`{"Effect":"Allow",`+prin+`,`+allowAll+`}`,
			`{"Effect":"Deny",`+prin+`,"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"workload-00001"}}}`),
			[]trustCall{{0, "10.0.0.1:1", ""}, {1, "10.0.0.1:1", "does not allow sts:AssumeRole"}, {0, "10.0.0.2:1", ""}, {1, "10.0.0.2:1", "does not allow sts:AssumeRole"}}},
		{"missing TagSession", trust(`{"Effect":"Allow",` + prin + `,"Action":["sts:AssumeRole","sts:SetSourceIdentity"]}`),
			[]trustCall{{0, "10.0.0.1:1", "does not allow sts:TagSession"}, {1, "10.0.0.1:1", "does not allow sts:TagSession"}}},
		{"source identity variable", trust(`{"Effect":"Allow",` + prin + `,` + allowAll + `,"Condition":{"StringEquals":{"sts:SourceIdentity":"CN=${aws:PrincipalTag/x509Subject/CN}"}}}`),
			[]trustCall{{0, "10.0.0.1:1", ""}, {1, "10.0.0.1:1", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPipelineFixture(t, pki.ECP256, 2, tt.policy)
			for _, c := range tt.calls {
				for range 2 {
					r := f.reqs[c.cert]
					r.RemoteAddr = c.remote
					_, err := f.svc.CreateSession(context.Background(), r, f.body)
					switch {
					case c.want == "" && err != nil:
						t.Fatalf("cert %d from %s: %v", c.cert, c.remote, err)
					case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
						t.Fatalf("cert %d from %s: err = %v, want %q", c.cert, c.remote, err, c.want)
					}
				}
			}
		})
	}
}
