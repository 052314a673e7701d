package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// tenStatementPolicy is one identity policy of 10 statements with
// conditions, the shape of a typical hand-written role policy.
const tenStatementPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
     "Resource": "arn:aws:s3:::data-bucket/${aws:PrincipalTag/team}/*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/env": ["prod", "staging"]},
                   "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]},
                   "Bool": {"aws:SecureTransport": "true"},
                   "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}},
    {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data-bucket",
     "Condition": {"StringLike": {"s3:prefix": ["${aws:PrincipalTag/team}/*"]}}},
    {"Sid": "WriteOwnPrefix", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
     "Resource": "arn:aws:s3:::data-bucket/${aws:PrincipalTag/team}/*",
     "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
    {"Sid": "Queues", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
     "Resource": "arn:aws:sqs:*:111122223333:app-*"},
    {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": "arn:aws:logs:*:111122223333:log-group:/app/*"},
    {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/*",
     "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}},
    {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
     "Condition": {"ArnLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::data-bucket/*"}}},
    {"Sid": "Describe", "Effect": "Allow", "Action": ["ec2:Describe*", "cloudwatch:Get*"], "Resource": "*"},
    {"Sid": "NoUnencrypted", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*",
     "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}},
    {"Sid": "OnlyFromVpn", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}, "BoolIfExists": {"aws:ViaAWSService": "false"}}}
  ]
}`

// tenStatementRequest is allowed by statement ReadOwnPrefix.
func tenStatementRequest() *Request {
	ctx := NewContext().
		Set("aws:PrincipalTag/team", "blue").
		Set("aws:PrincipalTag/env", "prod").
		Set("aws:SourceIp", "10.1.2.3").
		Set("aws:SecureTransport", "true").
		Set("aws:CurrentTime", "2026-11-30T12:00:00Z").
		Set("aws:ViaAWSService", "false").
		Set("aws:PrincipalArn", "arn:aws:iam::111122223333:role/app")
	return &Request{
		Principal: PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/app/s1"),
		Action:    "s3:GetObject",
		Resource:  "arn:aws:s3:::data-bucket/blue/reports/2026.csv",
		Context:   ctx,
	}
}

func BenchmarkEvaluate10Statements(b *testing.B) {
	set := &PolicySet{Identity: []*Policy{mustParse(b, KindIdentity, "app", tenStatementPolicy)}}
	req := tenStatementRequest()
	if d := set.Evaluate(req); d != Allow {
		b.Fatalf("decision %v, want Allow", d)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		set.Evaluate(req)
	}
	reportCPU(b, cpu)
}

// reportCPU reports the process CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	if d := processCPU() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkEvaluate10StatementsDeny(b *testing.B) {
	set := &PolicySet{Identity: []*Policy{mustParse(b, KindIdentity, "app", tenStatementPolicy)}}
	req := tenStatementRequest()
	req.Context.Set("aws:SourceIp", "198.51.100.1")
	if d := set.Evaluate(req); d != ExplicitDeny {
		b.Fatalf("decision %v, want ExplicitDeny", d)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		set.Evaluate(req)
	}
	reportCPU(b, cpu)
}

func BenchmarkExplain10Statements(b *testing.B) {
	set := &PolicySet{Identity: []*Policy{mustParse(b, KindIdentity, "app", tenStatementPolicy)}}
	req := tenStatementRequest()
	b.ReportAllocs()
	for b.Loop() {
		set.Explain(req)
	}
}

func BenchmarkParse10Statements(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse([]byte(tenStatementPolicy), ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Synthetic policy sets for the scaling benchmarks. Policy i belongs to
// service svcNNN (i mod 200, about the number of AWS services a large
// account touches); it allows one exact action on its own resources under
// two conditions, and "svcNNN:List*" on everything. Every 200th policy
// also carries a "*" Deny guard (a fallback-bucket statement).

func synthService(i int) string { return fmt.Sprintf("svc%03d", i%200) }

func synthIAM(i int) string {
	svc := synthService(i)
	guard := ""
	if i%200 == 0 {
		guard = `,{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`
	}
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"%[1]s:Action%[2]d","Resource":"arn:aws:%[1]s:::res/%[2]d/*",
	   "Condition":{"StringEquals":{"aws:PrincipalTag/team":"team%[2]d"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
	  {"Effect":"Allow","Action":"%[1]s:List*","Resource":"*"}%[3]s]}`, svc, i, guard)
}

func synthCedar(i int) string {
	svc := synthService(i)
	s := fmt.Sprintf(`permit (principal, action == Action::"%[1]s:Action%[2]d", resource)
when { context.resource like "arn:aws:%[1]s:::res/%[2]d/*" && context.team == "team%[2]d" && context.sourceIp.isInRange(ip("10.0.0.0/8")) };
permit (principal, action, resource) when { context.action like "%[1]s:List*" };
`, svc, i)
	if i%200 == 0 {
		s += `forbid (principal, action, resource) unless { context.sourceIp.isInRange(ip("10.0.0.0/8")) };
`
	}
	return s
}

func synthSet(tb testing.TB, n int) *PolicySet {
	set := &PolicySet{}
	for i := range n {
		set.Identity = append(set.Identity, mustParse(tb, KindIdentity, fmt.Sprintf("p%d", i), synthIAM(i)))
	}
	return set
}

func synthCedarSet(tb testing.TB, n int) *cedar.PolicySet {
	var b strings.Builder
	for i := range n {
		b.WriteString(synthCedar(i))
	}
	ps, err := cedar.NewPolicySetFromBytes("synth.cedar", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// synthRequest targets policy i (allowed when ip is inside 10/8 and team
// matches).
func synthRequest(i int, action, ip, team string) *Request {
	if action == "" {
		action = fmt.Sprintf("%s:Action%d", synthService(i), i)
	}
	return &Request{
		Principal: PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/app/s1"),
		Action:    action,
		Resource:  fmt.Sprintf("arn:aws:%s:::res/%d/obj", synthService(i), i),
		Context:   NewContext().Set("aws:PrincipalTag/team", team).Set("aws:SourceIp", ip),
	}
}

func cedarRequest(tb testing.TB, r *Request) cedar.Request {
	team, _ := r.Context.Get("aws:PrincipalTag/team")
	ip, _ := r.Context.Get("aws:SourceIp")
	addr, err := types.ParseIPAddr(ip[0])
	if err != nil {
		tb.Fatal(err)
	}
	return cedar.Request{
		Principal: cedar.NewEntityUID("Role", "app"),
		Action:    cedar.NewEntityUID("Action", cedar.String(r.Action)),
		Resource:  cedar.NewEntityUID("Resource", cedar.String(r.Resource)),
		Context: cedar.NewRecord(cedar.RecordMap{
			"action":   cedar.String(r.Action),
			"resource": cedar.String(r.Resource),
			"team":     cedar.String(team[0]),
			"sourceIp": addr,
		}),
	}
}

// timeEach returns the mean time of one call of f over rounds×inner calls.
func timeEach(rounds, inner int, f func()) time.Duration {
	start := time.Now()
	for range rounds {
		for range inner {
			f()
		}
	}
	return time.Since(start) / time.Duration(rounds*inner)
}

// BenchmarkIndexScaling evaluates the same kind of request against 10 and
// 1,000 policies in one run and reports both costs and their ratio
// (target: ratio ≤ 3).
func BenchmarkIndexScaling(b *testing.B) {
	small, large := synthSet(b, 10), synthSet(b, 1000)
	reqSmall := synthRequest(7, "", "10.9.9.9", "team7")
	reqLarge := synthRequest(907, "", "10.9.9.9", "team907")
	if small.Evaluate(reqSmall) != Allow || large.Evaluate(reqLarge) != Allow {
		b.Fatal("synthetic requests are not allowed")
	}
	var tSmall, tLarge time.Duration
	b.ReportAllocs()
	for b.Loop() {
		tSmall += timeEach(1, 200, func() { small.Evaluate(reqSmall) })
		tLarge += timeEach(1, 200, func() { large.Evaluate(reqLarge) })
	}
	n := float64(b.N)
	b.ReportMetric(float64(tSmall.Nanoseconds())/n, "ns/eval@10")
	b.ReportMetric(float64(tLarge.Nanoseconds())/n, "ns/eval@1000")
	b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio")
}

// BenchmarkVersusCedar makes the same decisions with roam and cedar-go on
// 100 equivalent policies and reports the cost of each and cedar/roam.
func BenchmarkVersusCedar(b *testing.B) {
	const n = 100
	set, cset := synthSet(b, n), synthCedarSet(b, n)
	reqs := []*Request{
		synthRequest(42, "", "10.9.9.9", "team42"),
		synthRequest(42, "", "10.9.9.9", "team41"),
		synthRequest(42, "svc042:ListThings", "10.9.9.9", "x"),
		synthRequest(42, "", "192.0.2.1", "team42"),
	}
	creqs := make([]cedar.Request, len(reqs))
	for i, r := range reqs {
		creqs[i] = cedarRequest(b, r)
		rd := set.Evaluate(r)
		cd, _ := cedar.Authorize(cset, cedar.EntityMap{}, creqs[i])
		if (rd == Allow) != (cd == cedar.Allow) {
			b.Fatalf("request %d: roam %v, cedar %v", i, rd, cd)
		}
	}
	entities := cedar.EntityMap{}
	var tRoam, tCedar time.Duration
	for b.Loop() {
		for i := range reqs {
			tRoam += timeEach(1, 50, func() { set.Evaluate(reqs[i]) })
			tCedar += timeEach(1, 50, func() { cedar.Authorize(cset, entities, creqs[i]) })
		}
	}
	per := float64(b.N * len(reqs))
	b.ReportMetric(float64(tRoam.Nanoseconds())/per, "ns/eval-roam")
	b.ReportMetric(float64(tCedar.Nanoseconds())/per, "ns/eval-cedar")
	b.ReportMetric(float64(tCedar)/float64(tRoam), "ratio")
}
