package api

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// iamEnv is an API handler over a real SQLite store and keyring, with an
// admin user created by InitAdmin, served by httptest.
type iamEnv struct {
	t       *testing.T
	st      store.Store
	svc     *anywhere.Service
	h       *Handler
	srv     *httptest.Server
	master  []byte
	admin   *AdminKey
	reloads atomic.Int32
}

func newIAMEnv(t *testing.T) *iamEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &iamEnv{t: t, st: st, master: make([]byte, sts.MasterKeySize)}
	rand.Read(e.master)
	kr, err := sts.OpenKeyring(ctx, st, e.master, sts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = anywhere.NewService(anywhere.Config{Minter: kr})
	reload := func(ctx context.Context) error {
		e.reloads.Add(1)
		cfg, err := st.LoadConfig(ctx)
		if err != nil {
			return err
		}
		e.svc.SetSnapshot(anywhere.NewSnapshot(cfg))
		return nil
	}
	if e.admin, err = InitAdmin(ctx, st, e.master, InitAdminOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := reload(ctx); err != nil {
		t.Fatal(err)
	}
	e.h = New(Config{Sessions: e.svc, Verifier: sts.NewVerifier(kr, 0), Keyring: kr, Store: st, MasterKey: e.master, Reload: reload})
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *iamEnv) client(key, secret string) *awsiam.Client {
	return awsiam.New(awsiam.Options{
		Region: "eu-west-3", BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
}

func (e *iamEnv) adminClient() *awsiam.Client {
	return e.client(e.admin.AccessKeyID, e.admin.SecretAccessKey)
}

// raw posts form signed with key and secret (unsigned when key is "") and
// returns the status and the error code, if any.
func (e *iamEnv) raw(form, key, secret string) (int, string, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if key != "" {
		if err := sigv4.SignHMAC(req, sigv4.HashPayload([]byte(form)), sigv4.Credentials{AccessKeyID: key, SecretAccessKey: secret}, "iam", "us-east-1", time.Now()); err != nil {
			e.t.Fatal(err)
		}
	} else {
		// A scope naming IAM without a signature still reaches IAM.
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/iam/aws4_request")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er queryErrorResponse
	xml.Unmarshal(b, &er)
	return resp.StatusCode, er.Error.Code, string(b)
}

func (e *iamEnv) version() int64 {
	v, err := e.st.ConfigVersion(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

const (
	raTrust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	s3Policy = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::my bucket","arn:aws:s3:::my bucket/*"]}]}`
	denyAll  = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode()
}

func decode(t *testing.T, s *string) string {
	t.Helper()
	d, err := url.QueryUnescape(aws.ToString(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestIAMSDKWalkthrough drives the IAM subset with aws-sdk-go-v2: a role
// with a trust policy and an inline S3 policy, a managed policy with
// versions attached to it, tags, the simulator, lists with paginators, and
// deletion of everything.
func TestIAMSDKWalkthrough(t *testing.T) {
	e := newIAMEnv(t)
	c := e.adminClient()
	ctx := context.Background()

	cr, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), Path: aws.String("/team/"),
		AssumeRolePolicyDocument: aws.String(raTrust), Description: aws.String("the app"), MaxSessionDuration: aws.Int32(7200),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(cr.Role.Arn); arn != "arn:aws:iam::000000000000:role/team/app" || !strings.HasPrefix(aws.ToString(cr.Role.RoleId), "AROA") {
		t.Fatalf("role %s id %s", arn, aws.ToString(cr.Role.RoleId))
	}
	// Visible to CreateSession and STS at once.
	if _, ok := e.svc.Snapshot().Role("arn:aws:iam::000000000000:role/team/app"); !ok {
		t.Fatal("role not in the snapshot right after CreateRole")
	}
	if _, err := c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("s3-read"), PolicyDocument: aws.String(s3Policy)}); err != nil {
		t.Fatal(err)
	}
	cp, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("no-delete"), PolicyDocument: aws.String(denyAll)})
	if err != nil {
		t.Fatal(err)
	}
	parn := aws.ToString(cp.Policy.Arn)
	if !strings.HasPrefix(aws.ToString(cp.Policy.PolicyId), "ANPA") || aws.ToString(cp.Policy.DefaultVersionId) != "v1" {
		t.Fatalf("policy %+v", cp.Policy)
	}
	if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(parn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(parn), PolicyDocument: aws.String(denyAll), SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}

	gr, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, gr.Role.AssumeRolePolicyDocument); got != raTrust {
		t.Errorf("trust policy round trip:\n got %s\nwant %s", got, raTrust)
	}
	if aws.ToInt32(gr.Role.MaxSessionDuration) != 7200 || aws.ToString(gr.Role.Description) != "the app" || len(gr.Role.Tags) != 1 || gr.Role.CreateDate == nil {
		t.Errorf("role %+v", gr.Role)
	}
	gp, err := c.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("s3-read")})
	if err != nil {
		t.Fatal(err)
	}
	if raw := aws.ToString(gp.PolicyDocument); strings.Contains(raw, " ") || strings.Contains(raw, "+") || !strings.Contains(raw, "%20") {
		t.Errorf("policy document not percent-encoded with %%20: %s", raw)
	}
	if got := decode(t, gp.PolicyDocument); got != s3Policy {
		t.Errorf("inline policy round trip: %s", got)
	}
	lp, err := c.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: aws.String("app")})
	if err != nil || len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "s3-read" {
		t.Fatalf("ListRolePolicies %v %v", lp, err)
	}
	la, err := c.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("app")})
	if err != nil || len(la.AttachedPolicies) != 1 || aws.ToString(la.AttachedPolicies[0].PolicyArn) != parn {
		t.Fatalf("ListAttachedRolePolicies %v %v", la, err)
	}
	pv, err := c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(parn), VersionId: aws.String("v2")})
	if err != nil || !pv.PolicyVersion.IsDefaultVersion || decode(t, pv.PolicyVersion.Document) != denyAll {
		t.Fatalf("GetPolicyVersion %+v %v", pv, err)
	}
	if _, err := c.TagRole(ctx, &awsiam.TagRoleInput{RoleName: aws.String("app"), Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagRole(ctx, &awsiam.UntagRoleInput{RoleName: aws.String("app"), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListRoleTags(ctx, &awsiam.ListRoleTagsInput{RoleName: aws.String("app")})
	if err != nil || len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Key) != "env" {
		t.Fatalf("ListRoleTags %+v %v", lt, err)
	}

	// The simulator: the inline policy allows reads, the managed one denies
	// deletes, nothing allows writes.
	sim, err := c.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{
		PolicySourceArn: gr.Role.Arn, ActionNames: []string{"s3:GetObject", "s3:DeleteObject", "s3:PutObject"},
		ResourceArns: []string{"arn:aws:s3:::my bucket/k"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []iamtypes.PolicyEvaluationDecisionType{"allowed", "explicitDeny", "implicitDeny"}
	for i, r := range sim.EvaluationResults {
		if r.EvalDecision != want[i] {
			t.Errorf("%s: %s, want %s", aws.ToString(r.EvalActionName), r.EvalDecision, want[i])
		}
	}
	cs, err := c.SimulateCustomPolicy(ctx, &awsiam.SimulateCustomPolicyInput{PolicyInputList: []string{s3Policy}, ActionNames: []string{"s3:ListBucket"},
		ResourceArns: []string{"arn:aws:s3:::my bucket"}})
	if err != nil || len(cs.EvaluationResults) != 1 || cs.EvaluationResults[0].EvalDecision != "allowed" {
		t.Fatalf("SimulateCustomPolicy %+v %v", cs, err)
	}

	// Pagination: three roles, one per page.
	for _, n := range []string{"b", "c"} {
		if _, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(raTrust)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	for p := awsiam.NewListRolesPaginator(c, &awsiam.ListRolesInput{MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if strings.Join(names, ",") != "app,b,c" || pages < 3 {
		t.Errorf("paginated roles %v in %d pages", names, pages)
	}
	var versions int
	for p := awsiam.NewListPolicyVersionsPaginator(c, &awsiam.ListPolicyVersionsInput{PolicyArn: aws.String(parn), MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		versions += len(out.Versions)
	}
	if versions != 2 {
		t.Errorf("%d policy versions listed, want 2", versions)
	}

	// Delete everything, in Terraform's order.
	if _, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("app")}); apiCode(t, err) != "DeleteConflict" {
		t.Errorf("DeleteRole with policies: %v", err)
	}
	if _, err := c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(parn)}); apiCode(t, err) != "DeleteConflict" {
		t.Errorf("DeletePolicy while attached: %v", err)
	}
	steps := []func() error{
		func() error {
			_, err := c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(parn)})
			return err
		},
		func() error {
			_, err := c.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("s3-read")})
			return err
		},
		func() error {
			_, err := c.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(parn), VersionId: aws.String("v1")})
			return err
		},
		func() error {
			_, err := c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(parn)})
			return err
		},
		func() error {
			_, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
			return err
		},
		func() error {
			_, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("b")})
			return err
		},
		func() error {
			_, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("c")})
			return err
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("delete step %d: %v", i, err)
		}
	}
	if _, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("app")}); apiCode(t, err) != "NoSuchEntity" {
		t.Errorf("GetRole after delete: %v", err)
	}
	if _, ok := e.svc.Snapshot().Role("arn:aws:iam::000000000000:role/team/app"); ok {
		t.Error("deleted role still in the snapshot")
	}
}

// TestIAMAuthentication: unauthenticated, wrongly signed, unknown and
// inactive keys are refused with the codes AWS clients expect.
func TestIAMAuthentication(t *testing.T) {
	e := newIAMEnv(t)
	ctx := context.Background()
	// A second key, made inactive.
	rec, secret, err := NewAccessKey(e.master, e.admin.UserName)
	if err != nil {
		t.Fatal(err)
	}
	rec.Status = store.AccessKeyInactive
	if _, err := e.st.CreateAccessKey(ctx, rec); err != nil {
		t.Fatal(err)
	}
	const form = "Action=ListRoles&Version=2010-05-08"
	for _, tc := range []struct {
		name, key, secret string
		status            int
		code              string
	}{
		{"unsigned", "", "", 400, "IncompleteSignature"},
		{"wrong secret", e.admin.AccessKeyID, "not-the-secret", 403, "SignatureDoesNotMatch"},
		{"unknown key", "AKIAUNKNOWN000000000", "x", 403, "InvalidClientTokenId"},
		{"inactive key", rec.ID, secret, 403, "InvalidClientTokenId"},
		{"temporary key without token", "ASIAUNKNOWN000000000", "x", 403, "InvalidClientTokenId"},
		{"admin", e.admin.AccessKeyID, e.admin.SecretAccessKey, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, body := e.raw(form, tc.key, tc.secret)
			if status != tc.status || code != tc.code {
				t.Errorf("got %d %s, want %d %s\n%s", status, code, tc.status, tc.code, body)
			}
			if strings.Contains(body, e.admin.SecretAccessKey) {
				t.Error("response contains the secret")
			}
		})
	}
	// No authentication at all.
	resp, err := http.Post(e.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("no auth: %d", resp.StatusCode)
	}
}

// TestIAMUnderPrivileged: an admin limited to iam:List* can list but not
// create; an explicit deny wins over AdministratorAccess.
func TestIAMUnderPrivileged(t *testing.T) {
	e := newIAMEnv(t)
	c := e.adminClient()
	ctx := context.Background()
	cp, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("list-only"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("reader"), PolicyArn: cp.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	ak, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("reader")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(ak.AccessKey.AccessKeyId), "AKIA") || len(aws.ToString(ak.AccessKey.SecretAccessKey)) != 40 {
		t.Fatalf("access key %+v", ak.AccessKey)
	}
	lk, err := c.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("reader")})
	if err != nil || len(lk.AccessKeyMetadata) != 1 {
		t.Fatalf("ListAccessKeys %+v %v", lk, err)
	}
	reader := e.client(aws.ToString(ak.AccessKey.AccessKeyId), aws.ToString(ak.AccessKey.SecretAccessKey))
	if _, err := reader.ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Errorf("reader ListRoles: %v", err)
	}
	if _, err := reader.ListPolicies(ctx, &awsiam.ListPoliciesInput{}); err != nil {
		t.Errorf("reader ListPolicies: %v", err)
	}
	v := e.version()
	_, err = reader.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("nope"), AssumeRolePolicyDocument: aws.String(raTrust)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" ||
		!strings.HasPrefix(ae.ErrorMessage(), "User: arn:aws:iam::000000000000:user/reader is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::000000000000:role/nope") {
		t.Fatalf("reader CreateRole: %v", err)
	}
	if e.version() != v {
		t.Error("a refused call changed the configuration")
	}
	// Explicit deny wins over AdministratorAccess.
	deny, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("no-roles"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateRole","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String(e.admin.UserName), PolicyArn: deny.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("nope"), AssumeRolePolicyDocument: aws.String(raTrust)})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "explicit deny") {
		t.Fatalf("admin CreateRole with a deny: %v", err)
	}
	// Deactivating a key takes effect on the next request.
	if _, err := c.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("reader"), AccessKeyId: ak.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.ListRoles(ctx, &awsiam.ListRolesInput{}); apiCode(t, err) != "InvalidClientTokenId" {
		t.Errorf("inactive reader: %v", err)
	}
}

// TestIAMBadRequests: each malformed or refused request gets AWS's error and
// changes nothing.
func TestIAMBadRequests(t *testing.T) {
	e := newIAMEnv(t)
	ctx := context.Background()
	c := e.adminClient()
	if _, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("used"), AssumeRolePolicyDocument: aws.String(raTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateProfile(ctx, &store.Profile{Name: "p1", RoleARNs: []string{"arn:aws:iam::000000000000:role/used"}, DurationSeconds: 3600}); err != nil {
		t.Fatal(err)
	}
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("a", 7000) + `"}]}`
	enc := url.QueryEscape
	for _, tc := range []struct {
		name, form string
		status     int
		code       string
	}{
		{"malformed body", "Action=ListRoles&Version=2010-05-08&x=%zz", 400, "MalformedQueryString"},
		{"unknown parameter", "Action=ListRoles&Version=2010-05-08&Bogus=1", 400, "ValidationError"},
		{"unknown nested parameter", "Action=CreateRole&Version=2010-05-08&RoleName=x&AssumeRolePolicyDocument=" + enc(raTrust) + "&Tags.member.1.Key=a&Tags.member.1.Colour=b", 400, "ValidationError"},
		{"list index gap", "Action=UntagRole&Version=2010-05-08&RoleName=used&TagKeys.member.1=a&TagKeys.member.3=b", 400, "ValidationError"},
		{"unknown action", "Action=CreateGroup&Version=2010-05-08", 400, "InvalidAction"},
		{"missing name", "Action=CreateRole&Version=2010-05-08&AssumeRolePolicyDocument=" + enc(raTrust), 400, "ValidationError"},
		{"bad name", "Action=CreateRole&Version=2010-05-08&RoleName=a%2Fb&AssumeRolePolicyDocument=" + enc(raTrust), 400, "ValidationError"},
		{"malformed trust policy", "Action=CreateRole&Version=2010-05-08&RoleName=x&AssumeRolePolicyDocument=" + enc(`{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`), 400, "MalformedPolicyDocument"},
		{"not JSON", "Action=CreateRole&Version=2010-05-08&RoleName=x&AssumeRolePolicyDocument=%7B", 400, "MalformedPolicyDocument"},
		{"oversized managed policy", "Action=CreatePolicy&Version=2010-05-08&PolicyName=big&PolicyDocument=" + enc(big), 409, "LimitExceeded"},
		{"oversized inline policy", "Action=PutRolePolicy&Version=2010-05-08&RoleName=used&PolicyName=big&PolicyDocument=" + enc(strings.Replace(big, strings.Repeat("a", 7000), strings.Repeat("a", 11000), 1)), 409, "LimitExceeded"},
		{"duplicate role", "Action=CreateRole&Version=2010-05-08&RoleName=USED&AssumeRolePolicyDocument=" + enc(raTrust), 409, "EntityAlreadyExists"},
		{"role used by a profile", "Action=DeleteRole&Version=2010-05-08&RoleName=used", 409, "DeleteConflict"},
		{"no such role", "Action=GetRole&Version=2010-05-08&RoleName=ghost", 404, "NoSuchEntity"},
		{"attach missing policy", "Action=AttachRolePolicy&Version=2010-05-08&RoleName=used&PolicyArn=" + enc("arn:aws:iam::000000000000:policy/ghost"), 404, "NoSuchEntity"},
		{"bad max session duration", "Action=UpdateRole&Version=2010-05-08&RoleName=used&MaxSessionDuration=60", 400, "ValidationError"},
		{"duplicate tag keys", "Action=TagRole&Version=2010-05-08&RoleName=used&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=A&Tags.member.2.Value=2", 400, "InvalidInput"},
		{"wrong version", "Action=ListRoles&Version=2011-06-15", 400, "InvalidAction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := e.version()
			status, code, body := e.raw(tc.form, e.admin.AccessKeyID, e.admin.SecretAccessKey)
			if status != tc.status || code != tc.code {
				t.Errorf("got %d %s, want %d %s\n%s", status, code, tc.status, tc.code, body)
			}
			if !strings.Contains(body, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`) || !strings.Contains(body, "<RequestId>") {
				t.Errorf("not an IAM error response: %s", body)
			}
			if e.version() != v {
				t.Error("the configuration changed")
			}
		})
	}
	// Duplicate policy name through the SDK; the first one is unchanged.
	if _, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("dup"), PolicyDocument: aws.String(denyAll)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("dup"), Path: aws.String("/other/"), PolicyDocument: aws.String(s3Policy)}); apiCode(t, err) != "EntityAlreadyExists" {
		t.Errorf("duplicate policy: %v", err)
	}
	// Five versions at most.
	parn := "arn:aws:iam::000000000000:policy/dup"
	for i := 0; i < 4; i++ {
		if _, err := c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(parn), PolicyDocument: aws.String(denyAll)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(parn), PolicyDocument: aws.String(denyAll)}); apiCode(t, err) != "LimitExceeded" {
		t.Errorf("sixth version: %v", err)
	}
	if _, err := c.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(parn), VersionId: aws.String("v1")}); apiCode(t, err) != "DeleteConflict" {
		t.Errorf("deleting the default version: %v", err)
	}
}

func TestURLEncodeDocument(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": "b+c"}`: `%7B%22a%22%3A%20%22b%2Bc%22%7D`,
		"é/~-_.":       `%C3%A9%2F~-_.`,
	} {
		if got := urlEncodeDocument(in); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
		if back, _ := url.QueryUnescape(urlEncodeDocument(in)); back != in {
			t.Errorf("%q does not round-trip through QueryUnescape: %q", in, back)
		}
	}
}

func TestInitAdminRefusesTwice(t *testing.T) {
	e := newIAMEnv(t)
	ctx := context.Background()
	if _, err := InitAdmin(ctx, e.st, e.master, InitAdminOptions{}); !errors.Is(err, ErrAdminExists) {
		t.Fatalf("second init: %v", err)
	}
	k, err := InitAdmin(ctx, e.st, e.master, InitAdminOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Replaced) != 1 || k.Replaced[0] != e.admin.AccessKeyID {
		t.Errorf("replaced %v", k.Replaced)
	}
	// The old key no longer works, the new one does.
	if status, code, _ := e.raw("Action=ListRoles", e.admin.AccessKeyID, e.admin.SecretAccessKey); status != 403 || code != "InvalidClientTokenId" {
		t.Errorf("old key: %d %s", status, code)
	}
	if status, _, body := e.raw("Action=ListRoles", k.AccessKeyID, k.SecretAccessKey); status != 200 {
		t.Errorf("new key: %d %s", status, body)
	}
}
