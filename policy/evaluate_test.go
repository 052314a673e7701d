package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	cedar "github.com/cedar-policy/cedar-go"
)

func TestEvaluateAllowPathAllocatesNothing(t *testing.T) {
	set := &PolicySet{Identity: []*Policy{mustParse(t, KindIdentity, "app", tenStatementPolicy)}}
	req := tenStatementRequest()
	if d := set.Evaluate(req); d != Allow {
		t.Fatalf("decision %v, want Allow\n%s", d, set.Explain(req).String())
	}
	if n := testing.AllocsPerRun(100, func() { set.Evaluate(req) }); n != 0 {
		t.Errorf("Evaluate allocates %v times per call on the Allow path", n)
	}
	large := synthSet(t, 1000)
	lreq := synthRequest(907, "", "10.9.9.9", "team907")
	if n := testing.AllocsPerRun(100, func() { large.Evaluate(lreq) }); n != 0 {
		t.Errorf("Evaluate over 1,000 policies allocates %v times per call", n)
	}
}

func TestTenStatementPolicyDecisions(t *testing.T) {
	set := &PolicySet{Identity: []*Policy{mustParse(t, KindIdentity, "app", tenStatementPolicy)}}
	for _, tc := range []struct {
		action, resource string
		kv               []string
		want             Decision
	}{
		{"s3:GetObject", "arn:aws:s3:::data-bucket/blue/x", nil, Allow},
		{"s3:GetObject", "arn:aws:s3:::data-bucket/red/x", nil, ImplicitDeny},
		{"s3:PutObject", "arn:aws:s3:::data-bucket/blue/x", []string{"aws:MultiFactorAuthAge", "10"}, ExplicitDeny},
		{"s3:PutObject", "arn:aws:s3:::data-bucket/blue/x", []string{"aws:MultiFactorAuthAge", "10", "s3:x-amz-server-side-encryption", "aws:kms"}, Allow},
		{"sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:app-jobs", nil, Allow},
		{"ec2:DescribeInstances", "*", nil, Allow},
		{"ec2:RunInstances", "*", nil, ImplicitDeny},
		{"ec2:DescribeInstances", "*", []string{"aws:SourceIp", "198.51.100.1"}, ExplicitDeny},
		{"kms:GenerateDataKeyWithoutPlaintext", "arn:aws:kms:us-east-1:111122223333:key/k", []string{"kms:EncryptionContext:aws:s3:arn", "arn:aws:s3:::data-bucket/blue/x"}, Allow},
	} {
		req := tenStatementRequest()
		req.Action, req.Resource = tc.action, tc.resource
		for i := 0; i+1 < len(tc.kv); i += 2 {
			req.Context.Set(tc.kv[i], tc.kv[i+1])
		}
		if got := set.Evaluate(req); got != tc.want {
			t.Errorf("%s %s %v: %v, want %v\n%s", tc.action, tc.resource, tc.kv, got, tc.want, set.Explain(req).String())
		}
	}
}

// TestIndexMatchesLinearScan checks the index against a plain scan of
// every statement on the synthetic set, for many actions.
func TestIndexMatchesLinearScan(t *testing.T) {
	set := synthSet(t, 300)
	linear := func(r *Request) Decision {
		allowed := false
		for _, p := range set.Identity {
			for _, st := range p.stmts {
				if ok, _ := st.applies(r); ok {
					if st.effect == EffectDeny {
						return ExplicitDeny
					}
					allowed = true
				}
			}
		}
		if allowed {
			return Allow
		}
		return ImplicitDeny
	}
	for i := 0; i < 300; i += 7 {
		for _, action := range []string{"", fmt.Sprintf("%s:ListX", synthService(i)), fmt.Sprintf("%s:Action%d", synthService(i+1), i+1), "other:Thing", "SVC000:LISTALL"} {
			for _, ip := range []string{"10.0.0.1", "192.0.2.1"} {
				r := synthRequest(i, action, ip, fmt.Sprintf("team%d", i))
				if got, want := set.Evaluate(r), linear(r); got != want {
					t.Errorf("policy %d action %q ip %s: index %v, scan %v", i, r.Action, ip, got, want)
				}
			}
		}
	}
}

// TestCedarAgrees checks that the Cedar translation used by the
// benchmark makes the same decisions as roam.
func TestCedarAgrees(t *testing.T) {
	set, cset := synthSet(t, 100), synthCedarSet(t, 100)
	for i := 0; i < 100; i += 3 {
		for _, r := range []*Request{
			synthRequest(i, "", "10.9.9.9", fmt.Sprintf("team%d", i)),
			synthRequest(i, "", "10.9.9.9", "nobody"),
			synthRequest(i, fmt.Sprintf("%s:ListAll", synthService(i)), "10.9.9.9", "nobody"),
			synthRequest(i, fmt.Sprintf("%s:ListAll", synthService(i)), "192.0.2.1", "nobody"),
			synthRequest(i, "", "192.0.2.1", fmt.Sprintf("team%d", i)),
		} {
			rd := set.Evaluate(r)
			cd, _ := cedar.Authorize(cset, cedar.EntityMap{}, cedarRequest(t, r))
			if (rd == Allow) != (cd == cedar.Allow) {
				t.Errorf("%s %s: roam %v, cedar %v", r.Action, r.Resource, rd, cd)
			}
		}
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	set := &PolicySet{Identity: []*Policy{mustParse(t, KindIdentity, "app", tenStatementPolicy)}}
	req := tenStatementRequest()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if d := set.Evaluate(req); d != Allow {
				t.Errorf("decision %v", d)
			}
		})
	}
	wg.Wait()
}

func TestExplainText(t *testing.T) {
	id := mustParse(t, KindIdentity, "app", doc(`{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	sess := mustParse(t, KindSession, "profile-session", doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`))
	set := &PolicySet{Identity: []*Policy{id}, Session: []*Policy{sess}}
	req := &Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}
	ex := set.Explain(req)
	s := ex.String()
	for _, want := range []string{"Deny (implicit)", `allowed by identity-based policy "app" Statement[0] (Sid "S3")`, "no session policy allows"} {
		if !strings.Contains(s, want) {
			t.Errorf("explanation lacks %q:\n%s", want, s)
		}
	}
	deny := mustParse(t, KindBoundary, "guard", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:Put*","Resource":"*"}}`)
	set = &PolicySet{Identity: []*Policy{id}, Boundary: []*Policy{deny}}
	s = set.Explain(req).String()
	if !strings.Contains(s, `denied by permissions boundary "guard" Statement`) || !strings.Contains(s, "overridden") {
		t.Errorf("explicit deny explanation:\n%s", s)
	}
}

func TestContext(t *testing.T) {
	c := NewContext().Set("AWS:SourceIp", "1.2.3.4").Add("aws:TagKeys", "a").Add("AWS:TAGKEYS", "b")
	if v, ok := c.Get("aws:sourceip"); !ok || v[0] != "1.2.3.4" {
		t.Errorf("Get sourceip = %v %v", v, ok)
	}
	if v, _ := c.Get("aws:tagkeys"); len(v) != 2 {
		t.Errorf("multi-valued key = %v", v)
	}
	var nilCtx *Context
	if _, ok := nilCtx.Get("x"); ok {
		t.Error("nil context has keys")
	}
	var zero Context
	zero.Set("k", "v")
	if len(zero.Keys()) != 1 {
		t.Error("zero Context not usable")
	}
}

func TestPrincipalFromARN(t *testing.T) {
	p := PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/App/s1")
	if p.Account != "111122223333" || p.RoleARN != "arn:aws:iam::111122223333:role/App" {
		t.Errorf("%+v", p)
	}
	if s := ServicePrincipal("rolesanywhere.amazonaws.com").String(); s != "rolesanywhere.amazonaws.com" {
		t.Error(s)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{KindIdentity, KindTrust, KindResource, KindSession, KindBoundary} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("scp"); err == nil {
		t.Error("ParseKind accepted scp")
	}
}

func TestAccessorsAndJSON(t *testing.T) {
	p := mustParse(t, KindTrust, "t", `{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`)
	if p.Name() != "t" || p.Kind() != KindTrust || p.Version() != Version2012 || p.ID() != "x" || p.Len() != 1 {
		t.Errorf("accessors: %q %v %q %q %d", p.Name(), p.Kind(), p.Version(), p.ID(), p.Len())
	}
	ex := ExplainTrust(p, &Request{Action: "sts:AssumeRole"})
	b, err := json.Marshal(ex)
	if err != nil || string(b) != `{"decision":"allowed","allowed":[{"kind":"trust","policy":"t","index":-1,"path":"Statement","effect":"Allow"}]}` {
		t.Errorf("json %s %v", b, err)
	}
	if EvaluateTrust(nil, &Request{}) != ImplicitDeny || ExplainTrust(nil, &Request{}).Decision != ImplicitDeny {
		t.Error("nil trust policy allowed")
	}
}
