package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runRoam runs roam with args and returns the exit code and outputs.
func runRoam(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writePolicy(t *testing.T, dir, name, doc string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	cliIdentity = `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"},
	  {"Sid":"Guard","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	cliSession = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	cliTrust   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},
	  "Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
	  "Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"app"}}}]}`
	cliBad = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
	  {"Effect":"Allow","Action":"*","Resource":"*"},
	  {"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":"v"},"NumericLessThan":{"aws:MultiFactorAuthAge":"an hour"}}}]}`
)

func TestPolicyValidate(t *testing.T) {
	dir := t.TempDir()
	good := writePolicy(t, dir, "good.json", cliIdentity)
	bad := writePolicy(t, dir, "bad.json", cliBad)
	trust := writePolicy(t, dir, "trust.json", cliTrust)

	code, out, _ := runRoam(t, "", "policy", "validate", good)
	if code != 0 || out != good+": OK\n" {
		t.Errorf("valid: code %d, out %q", code, out)
	}
	code, out, _ = runRoam(t, "", "policy", "validate", good, bad)
	if code != 1 || !strings.Contains(out, good+": OK") ||
		!strings.Contains(out, bad+": Statement[2].Condition.NumericLessThan.aws:MultiFactorAuthAge: NumericLessThan: \"an hour\" is not a number") {
		t.Errorf("invalid: code %d, out %q", code, out)
	}
	code, out, _ = runRoam(t, "", "policy", "validate", trust)
	if code != 1 || !strings.Contains(out, trust+": Statement[0].Principal: an identity-based policy cannot have a Principal element") {
		t.Errorf("trust as identity: code %d, out %q", code, out)
	}
	code, out, _ = runRoam(t, "", "policy", "validate", "--kind", "trust", trust)
	if code != 0 {
		t.Errorf("trust: code %d, out %q", code, out)
	}
	code, out, _ = runRoam(t, cliSession, "policy", "validate", "--kind", "session", "-")
	if code != 0 || out != "-: OK\n" {
		t.Errorf("stdin: code %d, out %q", code, out)
	}
	if code, _, _ = runRoam(t, "", "policy", "validate", "--kind", "scp", good); code != 2 {
		t.Errorf("bad kind: code %d, want 2", code)
	}
	if code, _, _ = runRoam(t, "", "policy", "validate"); code != 2 {
		t.Errorf("no files: code %d, want 2", code)
	}
	if code, _, _ = runRoam(t, "", "policy", "validate", filepath.Join(dir, "missing.json")); code != 2 {
		t.Errorf("missing file: code %d, want 2", code)
	}
}

func TestPolicySimulate(t *testing.T) {
	dir := t.TempDir()
	id := writePolicy(t, dir, "role.json", cliIdentity)
	sess := writePolicy(t, dir, "session.json", cliSession)
	trust := writePolicy(t, dir, "trust.json", cliTrust)
	base := []string{"policy", "simulate", "--policy", id, "--session-policy", sess,
		"--principal", "arn:aws:sts::000000000000:assumed-role/app/s1",
		"--context", "aws:PrincipalTag/team=blue", "--context", "aws:SourceIp=10.1.1.1"}

	code, out, errOut := runRoam(t, "", append(base, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::bucket/blue/x")...)
	if code != 0 || !strings.HasPrefix(out, "Allow\n") || !strings.Contains(out, `allowed by identity-based policy "`+id+`" Statement[0] (Sid "Read")`) {
		t.Errorf("allow: code %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runRoam(t, "", append(base, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::bucket/blue/x")...)
	if code != 1 || !strings.Contains(out, "Deny (implicit)") || !strings.Contains(out, "no session policy allows") {
		t.Errorf("session narrows: code %d\n%s", code, out)
	}
	code, out, _ = runRoam(t, "", append(base, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::bucket/blue/x", "--context", "aws:SourceIp=192.0.2.1", "--json")...)
	var res struct {
		Decision string `json:"decision"`
		Denied   []struct {
			Sid  string `json:"sid"`
			Path string `json:"path"`
		} `json:"denied"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	// aws:SourceIp has two values now: 10.1.1.1 is inside 10/8, so
	// NotIpAddress (NOR over the request's values) does not hold.
	if code != 0 || res.Decision != "allowed" {
		t.Errorf("multi-valued context: code %d %+v", code, res)
	}
	code, out, _ = runRoam(t, "", "policy", "simulate", "--policy", id, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::bucket/blue/x",
		"--context", "aws:PrincipalTag/team=blue", "--context", "aws:SourceIp=192.0.2.1", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != 1 || res.Decision != "explicitDeny" || len(res.Denied) != 1 || res.Denied[0].Sid != "Guard" || res.Denied[0].Path != "Statement[1]" {
		t.Errorf("explicit deny: code %d %+v", code, res)
	}

	code, out, _ = runRoam(t, "", "policy", "simulate", "--trust", trust, "--principal", "rolesanywhere.amazonaws.com",
		"--action", "sts:AssumeRole", "--context", "aws:PrincipalTag/x509Subject/CN=app")
	if code != 0 || !strings.Contains(out, "role trust policy") {
		t.Errorf("trust: code %d\n%s", code, out)
	}
	code, _, _ = runRoam(t, "", "policy", "simulate", "--trust", trust, "--principal", "ec2.amazonaws.com",
		"--action", "sts:AssumeRole", "--context", "aws:PrincipalTag/x509Subject/CN=app")
	if code != 1 {
		t.Errorf("trust other service: code %d", code)
	}

	for _, args := range [][]string{
		{"policy", "simulate", "--policy", id, "--resource", "*"},                                        // no --action
		{"policy", "simulate", "--action", "s3:GetObject", "--resource", "*"},                            // no policies
		{"policy", "simulate", "--policy", id, "--action", "s3:GetObject"},                               // no --resource
		{"policy", "simulate", "--policy", id, "--action", "a:b", "--resource", "*", "--context", "k"},   // bad context
		{"policy", "simulate", "--policy", id, "--action", "a:b", "--resource", "*", "--principal", "x"}, // bad principal
		{"policy", "simulate", "--policy", trust, "--action", "a:b", "--resource", "*"},                  // invalid policy
	} {
		if code, _, _ := runRoam(t, "", args...); code != 2 {
			t.Errorf("%v: code %d, want 2", args, code)
		}
	}
}
