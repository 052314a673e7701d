package e2e

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

const stsYAML = `account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: ` + anchorID + `, certificateBundle: file:root.pem, enabled: true}
roles:
  - name: base
    maxSessionDuration: 3600
    trustPolicy:` + fullTrust + `
  - name: chain-ok
    maxSessionDuration: 7200
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {AWS: "arn:aws:iam::000000000000:role/base"}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
  - name: chain-no
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {AWS: "arn:aws:iam::000000000000:role/chain-ok"}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
profiles:
  - {name: main, roles: [base], durationSeconds: 3600, enabled: true}
`

// stsFixture is a running server, a client certificate and a
// credential_process profile that runs the official helper with it.
type stsFixture struct {
	srv        *server
	dir        string
	root       *ca
	leaf       *leaf
	profileARN string
	awsConfig  string // AWS_CONFIG_FILE with [profile roam]
	wantARN    string // the assumed-role ARN of the helper's sessions
}

func newSTSFixture(t *testing.T) *stsFixture {
	t.Helper()
	dir := t.TempDir()
	f := &stsFixture{dir: dir, root: newCA(t, "e2e root", pki.ECP256)}
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(f.root.iss.Cert))
	f.srv = startServer(t, dir, f.root, stsYAML)
	f.profileARN = profileARNs(t, f.srv)["main"]
	f.leaf = f.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "sts-workload"})
	certPath, keyPath := f.leaf.write(t, dir, "workload")
	f.wantARN = "arn:aws:sts::000000000000:assumed-role/base/" + anywhere.HexSerial(f.leaf.cert.SerialNumber)
	f.awsConfig = filepath.Join(dir, "aws-config")
	writeFile(t, f.awsConfig, []byte("[profile roam]\nregion = us-east-1\ncredential_process = "+strings.Join([]string{
		bins.helper, "credential-process", "--endpoint", f.srv.Endpoint, "--certificate", certPath, "--private-key", keyPath,
		"--trust-anchor-arn", anchorARN, "--profile-arn", f.profileARN, "--role-arn", roleARN("base")}, " ")+"\n"))
	return f
}

// awsEnv is a clean environment for the AWS CLI and boto3: nothing from the
// developer's environment, the test CA for TLS (AWS_CA_BUNDLE for botocore,
// SSL_CERT_FILE for the helper the credential_process runs).
func (f *stsFixture) awsEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_CONFIG_FILE="+f.awsConfig, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(f.dir, "no-credentials"),
		"AWS_CA_BUNDLE="+f.srv.CAFile, "SSL_CERT_FILE="+f.srv.CAFile, "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
	return append(env, extra...)
}

// cli runs /usr/bin/aws (Debian's AWS CLI v2) and returns stdout, stderr.
func (f *stsFixture) cli(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/aws", append(args, "--endpoint-url", f.srv.Endpoint, "--output", "json")...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// helperCredentials gets a session with the official helper.
func (f *stsFixture) helperCredentials(t *testing.T) aws.Credentials {
	t.Helper()
	certPath, keyPath := f.leaf.write(t, f.dir, "workload")
	out, errOut, err := runHelper(t, f.srv, "--certificate", certPath, "--private-key", keyPath,
		"--trust-anchor-arn", anchorARN, "--profile-arn", f.profileARN, "--role-arn", roleARN("base"))
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, errOut)
	}
	var pc processCredentials
	if err := json.Unmarshal([]byte(out), &pc); err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: pc.AccessKeyID, SecretAccessKey: pc.SecretAccessKey, SessionToken: pc.SessionToken, Source: "roam"}
}

// stsClient is an aws-sdk-go-v2 STS client for creds against the server.
func (f *stsFixture) stsClient(creds aws.Credentials) *awssts.Client {
	return awssts.New(awssts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.srv.Endpoint),
		HTTPClient:       f.srv.Client,
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		RetryMaxAttempts: 1,
	})
}

func callerARN(t *testing.T, c *awssts.Client) (string, error) {
	t.Helper()
	out, err := c.GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSTSClients: credentials from CreateSession work with the AWS CLI v2
// (credential_process running the official helper), boto3 and
// aws-sdk-go-v2; GetCallerIdentity names the role and the certificate's
// serial in lower-case hex.
func TestSTSClients(t *testing.T) {
	f := newSTSFixture(t)
	t.Run("aws-cli-v2 credential_process", func(t *testing.T) {
		out, errOut, err := f.cli(t, f.awsEnv(), "--profile", "roam", "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws: %v\n%s\nserver:\n%s", err, errOut, f.srv.stderr.String())
		}
		var id struct{ Arn, UserId, Account string }
		if err := json.Unmarshal([]byte(out), &id); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if id.Arn != f.wantARN || id.Account != acct || !strings.HasSuffix(id.UserId, ":"+anywhere.HexSerial(f.leaf.cert.SerialNumber)) {
			t.Fatalf("identity %+v, want Arn %s", id, f.wantARN)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		script := `import boto3, sys
s = boto3.Session(profile_name="roam")
c = s.client("sts", endpoint_url=sys.argv[1], verify=sys.argv[2], region_name="us-east-1")
print(c.get_caller_identity()["Arn"])`
		cmd := exec.Command("/usr/bin/python3", "-c", script, f.srv.Endpoint, f.srv.CAFile)
		cmd.Env = f.awsEnv()
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != f.wantARN {
			t.Fatalf("boto3: %v\n%s\nwant %s", err, out, f.wantARN)
		}
	})
	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		arn, err := callerARN(t, f.stsClient(f.helperCredentials(t)))
		if err != nil || arn != f.wantARN {
			t.Fatalf("GetCallerIdentity = %q, %v; want %s", arn, err, f.wantARN)
		}
	})
}

// TestSTSAssumeRole: role chaining with `aws sts assume-role`.
func TestSTSAssumeRole(t *testing.T) {
	f := newSTSFixture(t)
	out, errOut, err := f.cli(t, f.awsEnv(), "--profile", "roam", "sts", "assume-role",
		"--role-arn", roleARN("chain-ok"), "--role-session-name", "second", "--duration-seconds", "1800")
	if err != nil {
		t.Fatalf("assume-role: %v\n%s", err, errOut)
	}
	var ar struct {
		Credentials struct {
			AccessKeyId, SecretAccessKey, SessionToken, Expiration string
		}
		AssumedRoleUser struct{ Arn, AssumedRoleId string }
		SourceIdentity  string
	}
	if err := json.Unmarshal([]byte(out), &ar); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wantARN := "arn:aws:sts::000000000000:assumed-role/chain-ok/second"
	if ar.AssumedRoleUser.Arn != wantARN || ar.SourceIdentity != "CN=sts-workload" || !strings.HasPrefix(ar.Credentials.AccessKeyId, "ASIA") {
		t.Fatalf("assume-role output %s", out)
	}
	if exp, err := time.Parse(time.RFC3339, ar.Credentials.Expiration); err != nil || time.Until(exp) > 31*time.Minute || time.Until(exp) < 29*time.Minute {
		t.Errorf("Expiration %s, want about 30 minutes away", ar.Credentials.Expiration)
	}
	// The chained credentials work.
	chained := f.awsEnv("AWS_ACCESS_KEY_ID="+ar.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+ar.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN="+ar.Credentials.SessionToken, "AWS_DEFAULT_REGION=us-east-1")
	out, errOut, err = f.cli(t, chained, "sts", "get-caller-identity")
	if err != nil || !strings.Contains(out, `"Arn": "`+wantARN+`"`) {
		t.Fatalf("get-caller-identity with chained credentials: %v\n%s%s", err, out, errOut)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		code, want string
	}{
		{"trust does not allow the role", []string{"--role-arn", roleARN("chain-no"), "--role-session-name", "x2"},
			"An error occurred (AccessDenied) when calling the AssumeRole operation", "User: " + f.wantARN + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN("chain-no")},
		{"chained duration above an hour", []string{"--role-arn", roleARN("chain-ok"), "--role-session-name", "x3", "--duration-seconds", "3601"},
			"An error occurred (ValidationError) when calling the AssumeRole operation", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := f.cli(t, f.awsEnv(), append([]string{"--profile", "roam", "sts", "assume-role"}, tc.args...)...)
			if err == nil || !strings.Contains(errOut, tc.code) || !strings.HasSuffix(strings.TrimSpace(errOut), ": "+tc.want) {
				t.Fatalf("err %v, stderr %q; want %q … %q", err, errOut, tc.code, tc.want)
			}
		})
	}
}

// TestSTSNegativeWire: authentication failures over the wire, as the Go SDK
// sees them (the full matrix is in internal/api's tests).
func TestSTSNegativeWire(t *testing.T) {
	f := newSTSFixture(t)
	good := f.helperCredentials(t)
	other := f.helperCredentials(t)

	send := func(t *testing.T, r *http.Request) (int, string, string, string) {
		t.Helper()
		resp, err := f.srv.Client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		xml.Unmarshal(b, &e)
		return resp.StatusCode, e.Code, e.Message, resp.Header.Get("Date")
	}
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	post := func(c aws.Credentials, service string, now time.Time) *http.Request {
		r, _ := http.NewRequest("POST", f.srv.Endpoint+"/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if err := sigv4.SignHMAC(r, sigv4.HashPayload([]byte(body)), sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, service, "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
		msg    string
	}{
		{"tampered signature", func() *http.Request {
			r := post(good, "sts", time.Now())
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
			return r
		}, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"},
		{"wrong secret", func() *http.Request {
			c := good
			c.SecretAccessKey = other.SecretAccessKey
			return post(c, "sts", time.Now())
		}, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"},
		{"token of another session", func() *http.Request {
			c := good
			c.SessionToken = other.SessionToken
			return post(c, "sts", time.Now())
		}, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"skewed date", func() *http.Request { return post(good, "sts", time.Now().Add(-10*time.Minute)) },
			403, "SignatureDoesNotMatch", "Signature expired: "},
		{"scope for another service", func() *http.Request { return post(good, "ec2", time.Now()) },
			403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'."},
		{"malformed Authorization", func() *http.Request {
			r := post(good, "sts", time.Now())
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+good.AccessKeyID+"/20261130/us-east-1/sts/aws4_request SignedHeaders=host Signature=00")
			return r
		}, 400, "IncompleteSignature", "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."},
		{"presigned URL past X-Amz-Expires", func() *http.Request {
			r, _ := http.NewRequest("GET", f.srv.Endpoint+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
			if err := sigv4.PresignHMAC(r, sigv4.EmptyPayloadHash, sigv4.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey, SessionToken: good.SessionToken},
				"sts", "us-east-1", 60*time.Second, time.Now().Add(-2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			return r
		}, 403, "AccessDenied", "Request has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, msg, date := send(t, tt.req())
			if status != tt.status || code != tt.code || !strings.HasPrefix(msg, tt.msg) || date == "" {
				t.Fatalf("got %d %s %q (Date %q), want %d %s %q", status, code, msg, date, tt.status, tt.code, tt.msg)
			}
		})
	}
	// Control: a fresh presigned URL works.
	r, _ := http.NewRequest("GET", f.srv.Endpoint+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	sigv4.PresignHMAC(r, sigv4.EmptyPayloadHash, sigv4.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey, SessionToken: good.SessionToken}, "sts", "us-east-1", 60*time.Second, time.Now())
	if status, code, _, _ := send(t, r); status != 200 {
		t.Fatalf("fresh presigned URL: %d %s", status, code)
	}
}

// TestSTSRevokeAndRestart: `roam sessions revoke` refuses sessions issued
// before the cutoff on the running server; credentials issued before a
// restart keep working after it.
func TestSTSRevokeAndRestart(t *testing.T) {
	f := newSTSFixture(t)
	creds := f.helperCredentials(t)
	if arn, err := callerARN(t, f.stsClient(creds)); err != nil || arn != f.wantARN {
		t.Fatalf("before restart: %q, %v", arn, err)
	}

	f.srv.restart(t) // listens on a new port
	before := f.stsClient(creds)
	if arn, err := callerARN(t, before); err != nil || arn != f.wantARN {
		t.Fatalf("credentials issued before a restart, after it: %q, %v", arn, err)
	}

	time.Sleep(10 * time.Millisecond)
	out, err := exec.Command(bins.roam, "sessions", "revoke", "--role", "base", "--db", filepath.Join(f.dir, "roam.db")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "role base: sessions issued before ") {
		t.Fatalf("roam sessions revoke: %v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := callerARN(t, before)
		if apiErrorCode(err) == "InvalidClientTokenId" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked session still answers: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A session issued after the cutoff works.
	time.Sleep(10 * time.Millisecond)
	after := f.helperCredentials(t)
	if arn, err := callerARN(t, f.stsClient(after)); err != nil || arn != f.wantARN {
		t.Fatalf("session issued after the cutoff: %q, %v", arn, err)
	}
	// The cutoff survives a restart that re-applies the bootstrap file.
	f.srv.restart(t)
	if _, err := callerARN(t, f.stsClient(creds)); apiErrorCode(err) != "InvalidClientTokenId" {
		t.Fatalf("revoked session after a restart: %v", err)
	}
	if arn, err := callerARN(t, f.stsClient(after)); err != nil || arn != f.wantARN {
		t.Fatalf("session issued after the cutoff, after a restart: %q, %v", arn, err)
	}
	// Unknown role.
	if out, err := exec.Command(bins.roam, "sessions", "revoke", "--role", "nope", "--db", filepath.Join(f.dir, "roam.db")).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), `no role named "nope"`) {
		t.Fatalf("revoke of an unknown role: %v %s", err, out)
	}
}
