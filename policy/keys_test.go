package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestConditionKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"no conditions", doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), nil},
		{"condition keys lower-cased, sorted, deduplicated", doc(
			`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/Team":"a","AWS:SourceAccount":"1"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`,
			`{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:principaltag/team":"b*"}}}`),
			[]string{"aws:principaltag/team", "aws:sourceaccount", "aws:sourceip"}},
		{"variables in resources and condition values", doc(
			`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}`,
			`{"Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"${aws:PrincipalTag/Dept, 'none'}"},"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:userid}"}}}`),
			[]string{"aws:principaltag/dept", "aws:userid", "aws:username", "aws:sourcearn", "s3:prefix"}},
		{"escapes are not variables", doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${*}${?}${$}"}`), nil},
		{"variables are literal before 2012-10-17", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}"}]}`, nil},
		{"Null and Bool conditions", doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"},"Bool":{"aws:SecureTransport":"${aws:MultiFactorAuthPresent}"}}}`),
			[]string{"aws:multifactorauthpresent", "aws:securetransport", "aws:tokenissuetime"}},
	}
	var nilPolicy *Policy
	if keys := nilPolicy.ConditionKeys(); keys != nil {
		t.Errorf("nil policy: %q", keys)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, KindIdentity, "p", tt.src).ConditionKeys()
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("ConditionKeys() = %q, want %q", got, want)
			}
		})
	}
}

// TestConditionKeysSuffice checks ConditionKeys against the conformance
// table: evaluating every case with a Context cut down to the keys its
// policies report gives the expected decision.
func TestConditionKeysSuffice(t *testing.T) {
	for _, tc := range conformanceCases() {
		if len(tc.ctx) == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var pols []*Policy
			var set *PolicySet
			var trust *Policy
			if tc.trust != "" && !tc.trustSet {
				trust = mustParse(t, KindTrust, "trust", tc.trust)
				pols = append(pols, trust)
			} else {
				set = &PolicySet{
					Identity:    parseAll(t, KindIdentity, tc.identity),
					Boundary:    parseAll(t, KindBoundary, tc.boundary),
					HasBoundary: tc.hasBoundary,
					Session:     parseAll(t, KindSession, tc.session),
					HasSession:  tc.hasSession,
					Resource:    parseAll(t, KindResource, tc.resourcePols),
				}
				if tc.trust != "" {
					set.Trust = mustParse(t, KindTrust, "trust", tc.trust)
					pols = append(pols, set.Trust)
				}
				for _, ps := range [][]*Policy{set.Identity, set.Boundary, set.Session, set.Resource} {
					pols = append(pols, ps...)
				}
			}
			read := map[string]bool{}
			for _, p := range pols {
				for _, k := range p.ConditionKeys() {
					read[k] = true
				}
			}
			var kv []string
			for i := 0; i+1 < len(tc.ctx); i += 2 {
				if read[strings.ToLower(tc.ctx[i])] {
					kv = append(kv, tc.ctx[i], tc.ctx[i+1])
				}
			}
			req := &Request{Principal: tc.principal, Action: tc.action, Resource: tc.resource, Context: ctxOf(kv...)}
			if req.Action == "" {
				req.Action = "s3:GetObject"
			}
			if req.Resource == "" {
				req.Resource = "arn:aws:s3:::bucket/key"
			}
			if req.Principal == (Principal{}) {
				req.Principal = session
			}
			var got Decision
			if trust != nil {
				got = EvaluateTrust(trust, req)
			} else {
				got = set.Evaluate(req)
			}
			if got != tc.want {
				t.Errorf("with only the keys %v: decision = %v, want %v", slices.Sorted(func(yield func(string) bool) {
					for k := range read {
						if !yield(k) {
							return
						}
					}
				}), got, tc.want)
			}
		})
	}
}

func TestContextClone(t *testing.T) {
	base := NewContext().Set("aws:SourceArn", "arn:a").Set("aws:TagKeys", "x", "y").Set("aws:EpochTime", "100")
	c := base.Clone()
	c.Set("aws:SourceIp", "10.1.2.3").Add("aws:TagKeys", "z").Set("aws:SourceArn", "arn:b")
	check := func(ctx *Context, key string, want ...string) {
		t.Helper()
		got, _ := ctx.Get(key)
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	check(base, "aws:sourcearn", "arn:a")
	check(base, "aws:tagkeys", "x", "y")
	check(base, "aws:sourceip")
	check(c, "aws:sourcearn", "arn:b")
	check(c, "aws:tagkeys", "x", "y", "z")
	check(c, "aws:sourceip", "10.1.2.3")
	check(c, "aws:epochtime", "100")
	// Typed values come along: a numeric and an IP condition still match.
	p := mustParse(t, KindIdentity, "p", allowCond(`"NumericEquals":{"aws:EpochTime":"100"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`))
	req := &Request{Principal: session, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: c}
	if d := (&PolicySet{Identity: []*Policy{p}}).Evaluate(req); d != Allow {
		t.Errorf("clone: %v, want Allow", d)
	}
	// Adding to a key the base shares leaves the base's slice alone even
	// when it has spare capacity.
	b2 := NewContext().Add("k", "1").Add("k", "2").Add("k", "3")
	c2 := b2.Clone().Add("k", "4")
	c3 := b2.Clone().Add("k", "5")
	check(b2, "k", "1", "2", "3")
	check(c2, "k", "1", "2", "3", "4")
	check(c3, "k", "1", "2", "3", "5")
	var nilCtx *Context
	if n := nilCtx.Clone(); n == nil || len(n.Keys()) != 0 {
		t.Errorf("nil clone = %v", n)
	}
}
