package e2e

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

// controlPlane is a running server with an admin access key in a shared
// credentials file, as `roam server init --key-file` writes it.
type controlPlane struct {
	srv   *server
	dir   string
	creds string
	root  *ca
}

func newControlPlane(t *testing.T) *controlPlane {
	t.Helper()
	dir := t.TempDir()
	cp := &controlPlane{dir: dir, root: newCA(t, "control plane root", pki.ECP256)}
	cp.srv = startServer(t, dir, cp.root, "account: \"000000000000\"\nregion: us-east-1\n")
	cp.creds = filepath.Join(dir, "credentials")
	out, err := exec.Command(bins.roam, "server", "init", "--db", filepath.Join(dir, "roam.db"),
		"--master-key-file", filepath.Join(dir, "master.key"), "--key-file", cp.creds).CombinedOutput()
	if err != nil {
		t.Fatalf("roam server init: %v\n%s", err, out)
	}
	time.Sleep(1500 * time.Millisecond) // the server's version poll picks the user up
	return cp
}

func (cp *controlPlane) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_SHARED_CREDENTIALS_FILE="+cp.creds, "AWS_CONFIG_FILE=/dev/null",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_CA_BUNDLE="+cp.srv.CAFile, "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
}

// aws runs /usr/bin/aws against the server and decodes its JSON output.
func (cp *controlPlane) aws(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/aws", append(args, "--endpoint-url", cp.srv.Endpoint, "--output", "json")...)
	cmd.Env = cp.env()
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, &awsError{args: args, stderr: string(ee.Stderr)}
		}
		return nil, err
	}
	m := map[string]any{}
	if len(strings.TrimSpace(string(out))) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
	}
	return m, nil
}

type awsError struct {
	args   []string
	stderr string
}

func (e *awsError) Error() string { return "aws " + strings.Join(e.args, " ") + ": " + e.stderr }

func (cp *controlPlane) mustAWS(t *testing.T, args ...string) map[string]any {
	t.Helper()
	m, err := cp.aws(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func cpField(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// TestControlPlaneAWSCLIWalkthrough is seed 001's walkthrough with the AWS
// CLI only: trust anchor from a PEM bundle, role and S3 policy with `aws
// iam`, profile created disabled then enabled, credentials from the
// official helper, subjects, disabling the profile, revoking with a CRL,
// and deleting everything.
func TestControlPlaneAWSCLIWalkthrough(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Skip("no /usr/bin/aws")
	}
	cp := newControlPlane(t)
	dir := cp.dir
	in := filepath.Join(dir, "anchor.json")
	b, _ := json.Marshal(map[string]any{"name": "onprem", "enabled": true, "source": map[string]any{
		"sourceType": "CERTIFICATE_BUNDLE", "sourceData": map[string]any{"x509CertificateData": string(pki.EncodeCertificatesPEM(cp.root.iss.Cert))}}})
	writeFile(t, in, b)
	ta := cp.mustAWS(t, "rolesanywhere", "create-trust-anchor", "--cli-input-json", "file://"+in)
	anchorARN := cpField(ta, "trustAnchor", "trustAnchorArn").(string)
	anchorID := cpField(ta, "trustAnchor", "trustAnchorId").(string)

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"MyOnpremVM"}}}]}`
	writeFile(t, filepath.Join(dir, "trust.json"), []byte(trust))
	writeFile(t, filepath.Join(dir, "s3.json"), []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/folder/*"}]}`))
	role := cp.mustAWS(t, "iam", "create-role", "--role-name", "s3-read", "--assume-role-policy-document", "file://"+filepath.Join(dir, "trust.json"))
	roleARN := cpField(role, "Role", "Arn").(string)
	cp.mustAWS(t, "iam", "put-role-policy", "--role-name", "s3-read", "--policy-name", "s3", "--policy-document", "file://"+filepath.Join(dir, "s3.json"))

	prof := cp.mustAWS(t, "rolesanywhere", "create-profile", "--name", "s3-read", "--role-arns", roleARN)
	if cpField(prof, "profile", "enabled") != false {
		t.Fatalf("profile created enabled: %v", prof)
	}
	profileARN := cpField(prof, "profile", "profileArn").(string)
	profileID := cpField(prof, "profile", "profileId").(string)
	cp.mustAWS(t, "rolesanywhere", "enable-profile", "--profile-id", profileID)

	leaf := cp.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "MyOnpremVM"})
	certPath, keyPath := leaf.write(t, dir, "vm")
	helper := func() error {
		_, stderr, err := runHelper(t, cp.srv, "--certificate", certPath, "--private-key", keyPath,
			"--trust-anchor-arn", anchorARN, "--profile-arn", profileARN, "--role-arn", roleARN)
		if err != nil {
			return &awsError{args: []string{"helper"}, stderr: stderr}
		}
		return nil
	}
	if err := helper(); err != nil {
		t.Fatalf("credentials with an enabled profile: %v", err)
	}
	var subjects []any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		subjects, _ = cpField(cp.mustAWS(t, "rolesanywhere", "list-subjects"), "subjects").([]any)
		if len(subjects) > 0 {
			break
		}
	}
	if len(subjects) != 1 || !strings.Contains(subjects[0].(map[string]any)["x509Subject"].(string), "MyOnpremVM") {
		t.Fatalf("subjects = %v", subjects)
	}
	subjectID := subjects[0].(map[string]any)["subjectId"].(string)
	cp.mustAWS(t, "rolesanywhere", "get-subject", "--subject-id", subjectID)

	cp.mustAWS(t, "rolesanywhere", "disable-profile", "--profile-id", profileID)
	if err := helper(); err == nil {
		t.Fatal("CreateSession succeeded with a disabled profile")
	}
	cp.mustAWS(t, "rolesanywhere", "enable-profile", "--profile-id", profileID)
	der, err := cp.root.iss.CreateCRL([]pki.RevokedCert{{Serial: leaf.cert.SerialNumber, RevokedAt: time.Now().Add(-time.Minute)}}, pki.CRLOptions{Number: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	crlPath := filepath.Join(dir, "crl.pem")
	writeFile(t, crlPath, pki.EncodeCRLPEM(der))
	crl := cp.mustAWS(t, "rolesanywhere", "import-crl", "--name", "revoked", "--crl-data", "fileb://"+crlPath, "--trust-anchor-arn", anchorARN, "--enabled")
	if err := helper(); err == nil {
		t.Fatal("CreateSession succeeded with a revoked certificate")
	}

	cp.mustAWS(t, "rolesanywhere", "delete-crl", "--crl-id", cpField(crl, "crl", "crlId").(string))
	cp.mustAWS(t, "rolesanywhere", "delete-profile", "--profile-id", profileID)
	cp.mustAWS(t, "rolesanywhere", "delete-trust-anchor", "--trust-anchor-id", anchorID)
	cp.mustAWS(t, "iam", "delete-role-policy", "--role-name", "s3-read", "--policy-name", "s3")
	cp.mustAWS(t, "iam", "delete-role", "--role-name", "s3-read")
	if _, err := cp.aws(t, "rolesanywhere", "get-profile", "--profile-id", profileID); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("get-profile after delete: %v", err)
	}
	for _, l := range []string{"list-trust-anchors", "list-profiles", "list-crls"} {
		m := cp.mustAWS(t, "rolesanywhere", l)
		for k, v := range m {
			if arr, ok := v.([]any); ok && len(arr) != 0 {
				t.Errorf("%s after deleting everything: %s = %v", l, k, arr)
			}
		}
	}
}

// TestControlPlaneApplyTwice applies a bootstrap file with `roam apply`
// twice: the first run creates everything, the second changes nothing and
// says so; `roam get` then lists what was created.
func TestControlPlaneApplyTwice(t *testing.T) {
	cp := newControlPlane(t)
	writeFile(t, filepath.Join(cp.dir, "apply-root.pem"), pki.EncodeCertificatesPEM(cp.root.iss.Cert))
	file := filepath.Join(cp.dir, "apply.yaml")
	writeFile(t, file, []byte(`account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, certificateBundle: file:apply-root.pem, tags: {team: infra}}
policies:
  - name: s3-read
    document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
roles:
  - name: workload
    trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: rolesanywhere.amazonaws.com}, Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]}]}
    inlinePolicies:
      logs: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "logs:*", Resource: "*"}]}
    managedPolicies: [s3-read]
profiles:
  - name: main
    roles: [workload]
    durationSeconds: 1800
    attributeMappings:
      - {certificateField: x509Subject, specifiers: [CN, OU]}
`))
	roam := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bins.roam, append(args, "--endpoint-url", cp.srv.Endpoint, "--ca-bundle", cp.srv.CAFile)...)
		cmd.Env = cp.env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("roam %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	dry := roam("apply", "-f", file, "--dry-run")
	if !strings.Contains(dry, `+ trust anchor "onprem"`) || !strings.Contains(dry, "Dry run") {
		t.Fatalf("dry run:\n%s", dry)
	}
	first := roam("apply", "-f", file)
	for _, want := range []string{`+ trust anchor "onprem"`, `+ policy "s3-read"`, `+ role "workload"`, `+ profile "main"`, "Applied 4 change(s)."} {
		if !strings.Contains(first, want) {
			t.Errorf("first apply lacks %q:\n%s", want, first)
		}
	}
	second := roam("apply", "-f", file)
	if !strings.Contains(second, "No changes") || strings.Contains(second, "Applied") {
		t.Errorf("second apply changed something:\n%s", second)
	}
	got := roam("get", "profiles")
	if !strings.Contains(got, "main") || !strings.Contains(got, "1800") {
		t.Errorf("roam get profiles:\n%s", got)
	}
	// An edit is an update, shown as a field diff.
	edited := strings.Replace(cpReadFile(t, file), "durationSeconds: 1800", "durationSeconds: 900", 1)
	writeFile(t, file, []byte(edited))
	third := roam("apply", "-f", file)
	if !strings.Contains(third, `~ profile "main"`) || !strings.Contains(third, "durationSeconds: 1800 -> 900") {
		t.Errorf("update apply:\n%s", third)
	}
	if again := roam("apply", "-f", file); !strings.Contains(again, "No changes") {
		t.Errorf("apply after the update changed something:\n%s", again)
	}
}

func cpReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
