package sts

import (
	"reflect"
	"testing"
	"time"
)

func TestConditionValues(t *testing.T) {
	kr, _, _, _ := newTestKeyring(t, Options{})
	spec := testSpec(t0.Add(1500 * time.Millisecond))
	c := mustMint(t, kr, spec)
	s, err := kr.Validate(c.AccessKeyID, c.SessionToken, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := s.ConditionValues([]Tag{
		{Key: "X509SUBJECT/cn", Value: "role tag, overridden"},
		{Key: "team", Value: "platform"},
	})
	want := map[string][]string{
		"aws:userid":                      {"AROAEXAMPLEROLEID0001:61d5692c1982239b82255b38e6ced2aa34712ff0"},
		"aws:PrincipalArn":                {"arn:aws:iam::000000000000:role/team/ci/deploy"},
		"aws:PrincipalAccount":            {"000000000000"},
		"aws:PrincipalType":               {"AssumedRole"},
		"aws:TokenIssueTime":              {"2026-11-30T12:00:01Z"},
		"aws:SourceIdentity":              {"CN=runner-01.example.com"},
		"aws:PrincipalTag/x509Subject/CN": {"runner-01.example.com"},
		"aws:PrincipalTag/x509Subject/OU": {"Security/Engineering"},
		"aws:PrincipalTag/x509Issuer/CN":  {"roam root CA"},
		"aws:PrincipalTag/team":           {"platform"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}

	s.SourceIdentity = ""
	if _, ok := s.ConditionValues(nil)["aws:SourceIdentity"]; ok {
		t.Fatal("aws:SourceIdentity present without a source identity")
	}
}

func TestParseRoleARN(t *testing.T) {
	tests := []struct {
		arn, part, acct, name string
		ok                    bool
	}{
		{"arn:aws:iam::123456789012:role/r", "aws", "123456789012", "r", true},
		{"arn:aws-cn:iam::123456789012:role/a/b:c/name", "aws-cn", "123456789012", "name", true},
		{"arn:aws:iam::123456789012:role/", "", "", "", false},
		{"arn:aws:iam::123456789012:role/path/", "", "", "", false},
		{"arn:aws:iam::123456789012:user/u", "", "", "", false},
		{"arn:aws:sts::123456789012:role/r", "", "", "", false},
		{"arn:aws:iam:us-east-1:123456789012:role/r", "", "", "", false},
		{"arn::iam::123456789012:role/r", "", "", "", false},
		{"arn:aws:iam:::role/r", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		p, a, n, ok := parseRoleARN(tt.arn)
		if ok != tt.ok || p != tt.part || a != tt.acct || n != tt.name {
			t.Errorf("parseRoleARN(%q) = %q %q %q %v", tt.arn, p, a, n, ok)
		}
	}
}
