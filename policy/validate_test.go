package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestValidationErrors(t *testing.T) {
	stmt := func(s string) string { return doc(s) }
	big := func(n int) string { // a valid identity policy with n non-space characters or more
		pad := strings.Repeat("a", n)
		return doc(`{"Sid":"` + pad + `","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`)
	}
	bigTrust := func(n int) string {
		return doc(`{"Sid":"` + strings.Repeat("a", n) + `","Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":"sts:AssumeRole"}`)
	}
	cases := []struct {
		name   string
		source string
		kind   Kind
		opts   ParseOptions
		doc    string
		path   string // expected Error.Path
		msg    string // substring of Error.Msg
	}{
		{"invalid JSON", srcCond, KindIdentity, ParseOptions{}, `{"Version":`, "", "invalid JSON"},
		{"trailing data", srcCond, KindIdentity, ParseOptions{}, doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`) + "{}", "", "after the policy"},
		{"not an object", srcCond, KindIdentity, ParseOptions{}, `[]`, "", "JSON object"},
		{"unknown top-level element", srcCond, KindIdentity, ParseOptions{}, `{"Version":"2012-10-17","Foo":1,"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "Foo", "unknown element"},
		{"bad Version", srcVersion, KindIdentity, ParseOptions{}, `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "Version", "2012-10-17"},
		{"Id not a string", srcCond, KindIdentity, ParseOptions{}, `{"Id":5,"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "Id", "string"},
		{"missing Statement", srcCond, KindIdentity, ParseOptions{}, `{"Version":"2012-10-17"}`, "Statement", "missing"},
		{"empty Statement", srcCond, KindIdentity, ParseOptions{}, `{"Version":"2012-10-17","Statement":[]}`, "Statement", "at least one"},
		{"Statement not object", srcCond, KindIdentity, ParseOptions{}, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},3]}`, "Statement[1]", "JSON object"},
		{"bad Effect", srcEval, KindIdentity, ParseOptions{}, doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"allow","Action":"*","Resource":"*"}`), "Statement[1].Effect", "Allow"},
		{"missing Effect", srcEval, KindIdentity, ParseOptions{}, stmt(`{"Action":"*","Resource":"*"}`), "Statement[0]", "missing Effect"},
		{"unknown statement element", srcCond, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Actions":"*","Resource":"*"}`), "Statement[0].Actions", "unknown element"},
		{"missing Action", srcAction, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Resource":"*"}`), "Statement[0]", "missing Action"},
		{"Action and NotAction", srcNotAct, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}`), "Statement[0]", "both Action and NotAction"},
		{"bad action", srcAction, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":["s3:GetObject","s3GetObject"],"Resource":"*"}`), "Statement[0].Action[1]", "not an action"},
		{"wildcard service in action", srcAction, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"s*:GetObject","Resource":"*"}`), "Statement[0].Action", "service prefix"},
		{"Action not strings", srcAction, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":[1],"Resource":"*"}`), "Statement[0].Action[0]", "string"},
		{"missing Resource in identity policy", srcRes, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*"}`), "Statement[0]", "missing Resource"},
		{"Resource and NotResource", srcNotRes, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}`), "Statement[0]", "both Resource and NotResource"},
		{"bad ARN in Resource", srcRes, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","Resource":"bucket/*"}`), "Statement[0].Resource", "not an ARN"},
		{"bad ARN in Resource list", srcRes, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","Resource":["arn:aws:s3:::a","arn:aws:s3"]}`), "Statement[0].Resource[1]", "not an ARN"},
		{"wildcard in ARN service", srcRes, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s*:::a"}`), "Statement[0].Resource", "service"},
		{"variable outside resource part", srcVars, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:${aws:RequestedRegion}::a"}`), "Statement[0].Resource", "resource part"},
		{"Resource in trust policy", seed + "an example of a simple trust policy", KindTrust, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}`), "Statement[0].Resource", "trust policy"},
		{"missing Principal in trust policy", seed + "an example of a simple trust policy", KindTrust, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), "Statement[0]", "missing Principal"},
		{"NotPrincipal in trust policy", srcNotPrin, KindTrust, ParseOptions{}, stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`), "Statement[0].NotPrincipal", "not allowed"},
		{"Principal in identity policy", srcPrin, KindIdentity, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), "Statement[0].Principal", "an identity-based policy cannot"},
		{"Principal in session policy", srcPrin, KindSession, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), "Statement[0].Principal", "session policy cannot"},
		{"Principal in boundary", srcPrin, KindBoundary, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), "Statement[0].Principal", "permissions boundary cannot"},
		{"missing Principal in resource policy", srcPrin, KindResource, ParseOptions{}, stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`), "Statement[0]", "missing Principal"},
		{"NotPrincipal with Allow", srcNotPrin, KindResource, ParseOptions{}, stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}`), "Statement[0].NotPrincipal", "Allow"},
		{"Principal string other than *", srcPrin, KindResource, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":"111122223333","Action":"*","Resource":"*"}`), "Statement[0].Principal", "must be"},
		{"unknown principal type", srcPrin, KindTrust, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":{"Aws":"*"},"Action":"sts:AssumeRole"}`), "Statement[0].Principal.Aws", "unknown principal type"},
		{"wildcard in principal ARN", seed + "using the Principal element (no wildcards)", KindTrust, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"sts:AssumeRole"}`), "Statement[0].Principal.AWS", "wildcards"},
		{"bad account in principal ARN", srcPrin, KindTrust, ParseOptions{}, stmt(`{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::1234:root"]},"Action":"sts:AssumeRole"}`), "Statement[0].Principal.AWS[1]", "12-digit"},
		{"unknown operator", srcOps, KindIdentity, ParseOptions{}, doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}`), "Statement[2].Condition.StringEqualz", "unknown condition operator"},
		{"unknown qualifier", srcMulti, KindIdentity, ParseOptions{}, allowCond(`"ForSomeValues:StringEquals":{"k":"v"}`), "Statement[0].Condition.ForSomeValues:StringEquals", "unknown condition operator"},
		{"Null with IfExists", srcOps, KindIdentity, ParseOptions{}, allowCond(`"NullIfExists":{"k":"true"}`), "Statement[0].Condition.NullIfExists", "Null"},
		{"non-numeric Numeric value", srcOps, KindIdentity, ParseOptions{}, allowCond(`"NumericLessThan":{"aws:MultiFactorAuthAge":"an hour"}`), "Statement[0].Condition.NumericLessThan.aws:MultiFactorAuthAge", "not a number"},
		{"bad date", srcOps, KindIdentity, ParseOptions{}, allowCond(`"DateGreaterThan":{"aws:CurrentTime":["2020-01-01T00:00:00Z","2020-13-01"]}`), "Statement[0].Condition.DateGreaterThan.aws:CurrentTime[1]", "not a date"},
		{"bad CIDR", srcOps, KindIdentity, ParseOptions{}, allowCond(`"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}`), "Statement[0].Condition.IpAddress.aws:SourceIp", "CIDR"},
		{"bad base64", srcOps, KindIdentity, ParseOptions{}, allowCond(`"BinaryEquals":{"k":"not base64!"}`), "Statement[0].Condition.BinaryEquals.k", "base64"},
		{"non-bool Bool", srcOps, KindIdentity, ParseOptions{}, allowCond(`"Bool":{"aws:SecureTransport":"yes"}`), "Statement[0].Condition.Bool.aws:SecureTransport", "boolean"},
		{"non-bool Null", srcOps, KindIdentity, ParseOptions{}, allowCond(`"Null":{"k":"maybe"}`), "Statement[0].Condition.Null.k", "boolean"},
		{"bad ARN in ArnLike", srcOps, KindIdentity, ParseOptions{}, allowCond(`"ArnLike":{"aws:SourceArn":"arn:aws:sns"}`), "Statement[0].Condition.ArnLike.aws:SourceArn", "not an ARN"},
		{"null condition value", srcCond, KindIdentity, ParseOptions{}, allowCond(`"StringEquals":{"k":null}`), "Statement[0].Condition.StringEquals.k", "string, number or boolean"},
		{"empty condition value list", srcCond, KindIdentity, ParseOptions{}, allowCond(`"StringEquals":{"k":[]}`), "Statement[0].Condition.StringEquals.k", "at least one"},
		{"condition operator not an object", srcCond, KindIdentity, ParseOptions{}, allowCond(`"StringEquals":"k"`), "Statement[0].Condition.StringEquals", "object"},
		{"duplicate Sid", "IAMUG reference_policies_elements_sid.md", KindIdentity, ParseOptions{}, doc(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`), "Statement[1].Sid", "duplicate"},
		{"Sid with a space", "IAMUG reference_policies_elements_sid.md", KindIdentity, ParseOptions{}, stmt(`{"Sid":"Allow all","Effect":"Allow","Action":"*","Resource":"*"}`), "Statement[0].Sid", "ASCII letters"},
		{"trust policy over 2048", "IAMUG reference_iam-quotas.md", KindTrust, ParseOptions{}, bigTrust(2048), "", "limit of 2048"},
		{"trust policy quota above maximum", "IAMUG reference_iam-quotas.md", KindTrust, ParseOptions{MaxSize: 5000}, bigTrust(10), "", "maximum of 4096"},
		{"trust policy over raised quota", "IAMUG reference_iam-quotas.md", KindTrust, ParseOptions{MaxSize: 4096}, bigTrust(4096), "", "limit of 4096"},
		{"managed policy over 6144", "IAMUG reference_iam-quotas.md", KindIdentity, ParseOptions{}, big(6144), "", "managed policy limit of 6144"},
		{"boundary over 6144", "IAMUG reference_iam-quotas.md", KindBoundary, ParseOptions{}, big(6144), "", "limit of 6144"},
		{"inline policy over 10240", "IAMUG reference_iam-quotas.md", KindIdentity, ParseOptions{Inline: true}, big(10240), "", "inline policy limit of 10240"},
		{"session policy over 2048 counting spaces", "IAMUG access_policies.md (Session policies); BOTO-STS sessionPolicyDocumentType", KindSession, ParseOptions{},
			doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`) + strings.Repeat(" ", 2048), "", "session policy limit of 2048"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Kind = tc.kind
			_, err := Parse([]byte(tc.doc), opts)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse error = %v, want an ErrorList (source: %s)", err, tc.source)
			}
			for _, e := range list {
				if e.Path == tc.path && strings.Contains(e.Msg, tc.msg) {
					if !strings.HasPrefix(e.Error(), tc.path) {
						t.Errorf("Error() = %q does not start with the path", e.Error())
					}
					return
				}
			}
			t.Errorf("no error at path %q containing %q; got:\n%v", tc.path, tc.msg, err)
		})
	}
}

func TestSizeLimitsAccept(t *testing.T) {
	// Whitespace is not counted for managed, inline and trust policies.
	spaced := doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`) + strings.Repeat(" \n", 5000)
	for _, opts := range []ParseOptions{{Kind: KindIdentity}, {Kind: KindTrust, MaxSize: -1}} {
		d := spaced
		if opts.Kind == KindTrust {
			d = doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`) + strings.Repeat(" ", 5000)
		}
		if _, err := Parse([]byte(d), opts); err != nil {
			t.Errorf("%v: %v", opts, err)
		}
	}
	pad := strings.Repeat("a", 3000)
	trust := doc(`{"Sid":"` + pad + `","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`)
	if _, err := Parse([]byte(trust), ParseOptions{Kind: KindTrust, MaxSize: TrustPolicyMaxSize}); err != nil {
		t.Errorf("raised trust quota: %v", err)
	}
	if _, err := Parse([]byte(trust), ParseOptions{Kind: KindTrust}); err == nil {
		t.Errorf("default trust quota accepted %d characters", len(trust))
	}
}

func TestParseSeedPolicies(t *testing.T) {
	for _, d := range []string{seedRoot, seedLiJuan, seedSAML, seedOIDC, seedExternalID, seedIP, seedTags, seedOrgDeny,
		seedSourceIdentity, trustDoc(seedTagSessionStmt), trustDoc(seedDenyAdminTagStmt), trustDoc(seedTeamStmts),
		seedRoleID, seedPrincipalArn, seedOpsRoles, seedMulti, rolesAnywhereTrust} {
		if _, err := Parse([]byte(d), ParseOptions{Kind: KindTrust}); err != nil {
			t.Errorf("seed policy rejected: %v\n%s", err, d)
		}
	}
}

func TestErrorListCollectsAll(t *testing.T) {
	_, err := Parse([]byte(doc(`{"Effect":"Maybe","Action":"x","Resource":"nope","Bogus":1}`)), ParseOptions{})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 4 {
		t.Fatalf("want 4 errors, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "4 problems: Statement[0].Effect") {
		t.Errorf("Error() = %q", err.Error())
	}
}
