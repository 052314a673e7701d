package e2e

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/roam-project/roam/pki"
)

// iamYAML bootstraps an anchor and a profile that lists a role, "late",
// that does not exist yet: the test creates it through the IAM API and
// uses it at once.
const iamYAML = `account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: ` + anchorID + `, certificateBundle: file:root.pem, enabled: true}
roles:
  - name: base
    trustPolicy:` + fullTrust + `
profiles:
  - {name: main, roles: [base, late], durationSeconds: 3600, enabled: true}
`

const (
	iamTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	iamS3Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::data bucket/*"}]}`
	iamListOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`
)

// TestIAMWithAWSCLI: `roam server init --key-file` makes an admin key; the
// AWS CLI v2 creates a role with a trust policy and an inline S3 policy and
// a managed policy attached to it, reads them back (documents decode),
// CreateSession with the new role works at once, the role's own session
// can list but not create, aws-sdk-go-v2 pages through the roles, and
// everything is deleted.
func TestIAMWithAWSCLI(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Skip("no /usr/bin/aws")
	}
	dir := t.TempDir()
	root := newCA(t, "e2e root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	srv := startServer(t, dir, root, iamYAML)
	profileARN := profileARNs(t, srv)["main"]
	leaf := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "iam-workload"})
	certPath, keyPath := leaf.write(t, dir, "workload")

	// The first admin, written as a shared-credentials profile.
	keyFile := filepath.Join(dir, "admin-credentials")
	initArgs := []string{"server", "init", "--db", filepath.Join(dir, "roam.db"), "--master-key-file", filepath.Join(dir, "master.key"), "--key-file", keyFile}
	if out, err := exec.Command(bins.roam, initArgs...).CombinedOutput(); err != nil {
		t.Fatalf("roam server init: %v\n%s", err, out)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if out, err := exec.Command(bins.roam, initArgs...).CombinedOutput(); err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("second init: %v\n%s", err, out)
	}

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_SHARED_CREDENTIALS_FILE="+keyFile, "AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"),
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CA_BUNDLE="+srv.CAFile, "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
	aws_ := func(args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/usr/bin/aws", append(args, "--endpoint-url", srv.Endpoint, "--output", "json")...)
		cmd.Env = env
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		m := map[string]any{}
		if s := strings.TrimSpace(out.String()); s != "" {
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, s)
			}
		}
		return m
	}
	helper := func(role string) (string, error) {
		out, errOut, err := runHelper(t, srv, "--certificate", certPath, "--private-key", keyPath,
			"--trust-anchor-arn", anchorARN, "--profile-arn", profileARN, "--role-arn", roleARN(role))
		if err != nil {
			return errOut, err
		}
		return out, nil
	}
	if _, err := helper("late"); err == nil {
		t.Fatal("CreateSession with a role that does not exist yet succeeded")
	}

	cr := aws_("iam", "create-role", "--role-name", "late", "--assume-role-policy-document", iamTrust, "--description", "made by the CLI")
	role := cr["Role"].(map[string]any)
	if role["Arn"] != roleARN("late") || !strings.HasPrefix(role["RoleId"].(string), "AROA") {
		t.Fatalf("create-role: %v", cr)
	}
	// The CLI decodes the URL-encoded document into JSON.
	if doc, ok := role["AssumeRolePolicyDocument"].(map[string]any); !ok || doc["Version"] != "2012-10-17" {
		t.Errorf("trust policy as the CLI sees it: %#v", role["AssumeRolePolicyDocument"])
	}
	// CreateSession with the new role at once (the snapshot reloads on
	// commit, not at the next poll).
	if out, err := helper("late"); err != nil {
		t.Fatalf("CreateSession right after CreateRole: %v\n%s", err, out)
	}

	aws_("iam", "put-role-policy", "--role-name", "late", "--policy-name", "s3-read", "--policy-document", iamS3Policy)
	aws_("iam", "put-role-policy", "--role-name", "late", "--policy-name", "iam-list", "--policy-document", iamListOnly)
	cp := aws_("iam", "create-policy", "--policy-name", "extra", "--policy-document", iamS3Policy)
	parn := cp["Policy"].(map[string]any)["Arn"].(string)
	aws_("iam", "attach-role-policy", "--role-name", "late", "--policy-arn", parn)

	gp := aws_("iam", "get-role-policy", "--role-name", "late", "--policy-name", "s3-read")
	if doc, ok := gp["PolicyDocument"].(map[string]any); !ok || !strings.Contains(mustJSON(t, doc), "data bucket") {
		t.Errorf("get-role-policy: %#v", gp)
	}
	la := aws_("iam", "list-attached-role-policies", "--role-name", "late")
	if ps := la["AttachedPolicies"].([]any); len(ps) != 1 || ps[0].(map[string]any)["PolicyArn"] != parn {
		t.Errorf("list-attached-role-policies: %v", la)
	}
	lr := aws_("iam", "list-roles")
	if rs := lr["Roles"].([]any); len(rs) != 2 {
		t.Errorf("list-roles: %v", lr)
	}
	pv := aws_("iam", "get-policy-version", "--policy-arn", parn, "--version-id", "v1")
	if doc, ok := pv["PolicyVersion"].(map[string]any)["Document"].(map[string]any); !ok || doc["Version"] != "2012-10-17" {
		t.Errorf("get-policy-version: %v", pv)
	}

	// The role's own session (ASIA credentials) can list but not create.
	out, err := helper("late")
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var pc processCredentials
	if err := json.Unmarshal([]byte(out), &pc); err != nil {
		t.Fatal(err)
	}
	session := iamClient(srv, credentials.NewStaticCredentialsProvider(pc.AccessKeyID, pc.SecretAccessKey, pc.SessionToken))
	ctx := context.Background()
	if _, err := session.ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Errorf("session ListRoles: %v", err)
	}
	if _, err := session.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(iamTrust)}); apiErrorCode(err) != "AccessDenied" {
		t.Errorf("session CreateRole: %v", err)
	}

	// aws-sdk-go-v2 with the admin key, paging one role at a time.
	admin := iamClient(srv, adminCredentials(t, keyFile))
	var names []string
	for p := awsiam.NewListRolesPaginator(admin, &awsiam.ListRolesInput{MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if strings.Join(names, ",") != "base,late" {
		t.Errorf("paged roles: %v", names)
	}
	// base is still used by the profile.
	if _, err := admin.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("base")}); apiErrorCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole of a role in a profile: %v", err)
	}

	// Delete everything with the CLI.
	aws_("iam", "detach-role-policy", "--role-name", "late", "--policy-arn", parn)
	aws_("iam", "delete-role-policy", "--role-name", "late", "--policy-name", "s3-read")
	aws_("iam", "delete-role-policy", "--role-name", "late", "--policy-name", "iam-list")
	aws_("iam", "delete-policy", "--policy-arn", parn)
	if _, err := admin.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("late")}); apiErrorCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole of late, still in profile main: %v", err)
	}
	lp := aws_("iam", "list-policies", "--scope", "Local")
	for _, p := range lp["Policies"].([]any) {
		if p.(map[string]any)["PolicyName"] == "extra" {
			t.Errorf("policy extra still listed")
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func iamClient(srv *server, creds aws.CredentialsProvider) *awsiam.Client {
	return awsiam.New(awsiam.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), HTTPClient: srv.Client,
		Credentials: creds, RetryMaxAttempts: 1})
}

// adminCredentials reads the access key `roam server init --key-file` wrote.
func adminCredentials(t *testing.T, path string) aws.CredentialsProvider {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var id, secret string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(id, "AKIA") || secret == "" {
		t.Fatalf("no access key in %s", path)
	}
	return credentials.NewStaticCredentialsProvider(id, secret, "")
}
