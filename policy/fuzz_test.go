package policy

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse for every kind. A document
// that parses must evaluate and explain without panicking, and Evaluate
// must agree with Explain.
func FuzzParse(f *testing.F) {
	for _, s := range []string{seedRoot, seedSAML, seedTags, seedMulti, tenStatementPolicy} {
		f.Add([]byte(s))
	}
	reqs := []*Request{
		tenStatementRequest(),
		{Principal: liJuan, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/T",
			Context: ctxOf("aws:SourceIp", "203.0.113.9", "aws:PrincipalTag/department", "finance", "aws:ResourceTag/owningDepartment", "finance",
				"aws:RequestTag/Admin", "x", "sts:TransitiveTagKeys", "Project", "sts:TransitiveTagKeys", "Department")},
		{Principal: rolesAny, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/a/b", Context: ctxOf("aws:CurrentTime", "1700000000", "k", "v")},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{KindIdentity, KindTrust, KindResource, KindSession, KindBoundary} {
			p, err := Parse(data, ParseOptions{Kind: kind, MaxSize: -1})
			if err != nil {
				if el, ok := err.(ErrorList); !ok || len(el) == 0 {
					t.Fatalf("Parse error %T %v is not a non-empty ErrorList", err, err)
				}
				if strings.TrimSpace(err.Error()) == "" {
					t.Fatal("empty error message")
				}
				continue
			}
			set := &PolicySet{}
			switch kind {
			case KindIdentity:
				set.Identity = []*Policy{p}
			case KindTrust:
				set.Trust = p
			case KindResource:
				set.Resource = []*Policy{p}
			case KindSession:
				set.Session = []*Policy{p}
			case KindBoundary:
				set.Boundary = []*Policy{p}
			}
			for _, r := range reqs {
				d := set.Evaluate(r)
				if ex := set.Explain(r); ex.Decision != d {
					t.Fatalf("%v: Explain %v != Evaluate %v", kind, ex.Decision, d)
				}
				if kind == KindTrust {
					if ExplainTrust(p, r).Decision != EvaluateTrust(p, r) {
						t.Fatal("ExplainTrust disagrees with EvaluateTrust")
					}
				}
			}
		}
	})
}

// FuzzEvaluate fuzzes the request side (action, resource and condition
// values) against the fixed ten-statement policy and a trust policy.
func FuzzEvaluate(f *testing.F) {
	f.Add("s3:GetObject", "arn:aws:s3:::data-bucket/blue/x", "blue", "10.1.2.3", "2026-01-01T00:00:00Z", "3600")
	f.Add("S3:PUTOBJECT", "arn:aws:s3:::data-bucket/${x}/x", "*", "::ffff:10.0.0.1", "1700000000", "1e3")
	f.Add("*", "*", "", "not-an-ip", "2026-13-45", "NaN")
	set := &PolicySet{Identity: []*Policy{mustParse(f, KindIdentity, "app", tenStatementPolicy)}}
	trust := mustParse(f, KindTrust, "trust", seedMulti)
	f.Fuzz(func(t *testing.T, action, resource, team, ip, date, num string) {
		req := &Request{Principal: exampleRole, Action: action, Resource: resource, Context: NewContext().
			Set("aws:PrincipalTag/team", team).Set("aws:SourceIp", ip).Set("aws:CurrentTime", date).
			Set("aws:MultiFactorAuthAge", num).Set("aws:SecureTransport", "true").Set("aws:PrincipalTag/env", "prod")}
		if d, ex := set.Evaluate(req), set.Explain(req); d != ex.Decision {
			t.Fatalf("Evaluate %v != Explain %v", d, ex.Decision)
		}
		EvaluateTrust(trust, req)
	})
}
