package e2e

import (
	"bufio"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/pki"
)

// keySource is one way of giving roam's helper a key. extraKeySources is
// the hook for the PKCS#11 (SoftHSM) and TPM (swtpm) sources: their test
// files append to it from an init function, and every helper mode then
// runs with them too.
type keySource struct {
	name string
	// args returns the key flags for a leaf issued by f's root; it may
	// skip t when the source is not available.
	args func(t *testing.T, f *fixture) []string
	// allClients runs the AWS CLI and boto3 too (they are slow); the others
	// use aws-sdk-go-v2 only.
	allClients bool
}

var extraKeySources []keySource

func baseKeySources() []keySource {
	return []keySource{
		{name: "file-rsa", allClients: true, args: func(t *testing.T, f *fixture) []string {
			l := f.root.issue(t, pki.ProfileClient, pki.RSA2048, pkix.Name{CommonName: "helper-file-rsa"})
			c, k := l.write(t, f.dir, "helper-file-rsa")
			return []string{"--certificate", c, "--private-key", k}
		}},
		{name: "pkcs12-modern-password", allClients: true, args: func(t *testing.T, f *fixture) []string {
			l := f.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "helper-p12"})
			p12, err := pki.EncodePKCS12(l.key, l.cert, nil, "p12 secret", false)
			if err != nil {
				t.Fatal(err)
			}
			p, pw := filepath.Join(f.dir, "helper.p12"), filepath.Join(f.dir, "helper.p12.pw")
			writeFile(t, p, p12)
			writeFile(t, pw, []byte("p12 secret\n"))
			return []string{"--certificate", p, "--private-key-password-file", pw}
		}},
		{name: "pkcs12-legacy-nopassword", args: func(t *testing.T, f *fixture) []string {
			l := f.root.issue(t, pki.ProfileClient, pki.RSA2048, pkix.Name{CommonName: "helper-p12-legacy"})
			p12, err := pki.EncodePKCS12(l.key, l.cert, nil, "", true)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(f.dir, "helper-legacy.p12")
			writeFile(t, p, p12)
			return []string{"--certificate", p}
		}},
		{name: "file-ec-encrypted-pkcs8", args: func(t *testing.T, f *fixture) []string {
			l := f.inter.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "helper-enc"})
			keyPEM, err := pki.MarshalPrivateKeyPEM(l.key, []byte("pw"), 1000)
			if err != nil {
				t.Fatal(err)
			}
			c, k, chain := filepath.Join(f.dir, "enc.pem"), filepath.Join(f.dir, "enc.key"), filepath.Join(f.dir, "enc-chain.pem")
			writeFile(t, c, pki.EncodeCertificatesPEM(l.cert))
			writeFile(t, k, keyPEM)
			writeFile(t, chain, pki.EncodeCertificatesPEM(f.inter.iss.Cert))
			return []string{"--certificate", c, "--private-key", k, "--pkcs8-password", "pw", "--intermediates", chain}
		}},
	}
}

// roamHelper runs `roam <args>` with env added to a clean environment.
func roamHelper(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bins.roam, args...)
	cmd.Env = append(cleanEnv(), env...)
	return cmd
}

// cleanEnv is the process environment without AWS_* and HOME, so that
// nothing of the machine's configuration leaks into a test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// helperArgs are the session flags for role s3-writer.
func (f *fixture) helperArgs(key []string) []string {
	return append([]string{"--endpoint", f.srv.Endpoint, "--ca-bundle", f.srv.CAFile,
		"--trust-anchor-arn", anchorARN, "--profile-arn", f.profileARN, "--role-arn", roleARN("s3-writer")}, key...)
}

// runningServe is a `roam serve` process.
type runningServe struct {
	addr, tokenFile string
	stderr          *lockedBuffer
}

var serveRE = regexp.MustCompile(`Local server started on (\S+)`)

func startServe(t *testing.T, f *fixture, home string, args []string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningServe{tokenFile: filepath.Join(home, "container-token"), stderr: &lockedBuffer{}}
	cmd := roamHelper(ctx, []string{"HOME=" + home}, append([]string{"serve", "--port", "0", "--container-token-file", rs.tokenFile}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(rs.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); pw.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cancel()
			<-exited
		}
		cancel()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := serveRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case rs.addr = <-found:
	case <-exited:
		t.Fatalf("roam serve exited:\n%s", rs.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("roam serve did not start:\n%s", rs.stderr.String())
	}
	return rs
}

// mode prepares how a client finds credentials: extra environment and a
// profile ("" for the default chain).
type mode struct {
	env     []string
	profile string
	// direct are the credentials as the mode hands them out, fetched without
	// an AWS client, to check their shape in-process.
	direct credentials.Credentials
}

func modes(t *testing.T, f *fixture, key []string) map[string]func(t *testing.T) mode {
	args := f.helperArgs(key)
	return map[string]func(t *testing.T) mode{
		"credential_process": func(t *testing.T) mode {
			home := t.TempDir()
			cfg := filepath.Join(home, "config")
			// The SDKs split the command line like a shell (aws-sdk-go-v2
			// runs it with sh -c, botocore with shlex): quote every word,
			// since a PKCS#11 URI holds ';'.
			quoted := make([]string, len(args))
			for i, a := range args {
				quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
			}
			writeFile(t, cfg, []byte("[profile roam]\nregion = us-east-1\ncredential_process = "+bins.roam+" credential-process "+strings.Join(quoted, " ")+"\n"))
			out, err := roamHelper(context.Background(), []string{"HOME=" + home}, append([]string{"credential-process"}, args...)...).Output()
			if err != nil {
				t.Fatalf("roam credential-process: %v\n%s", err, stderrOf(err))
			}
			var po helper.ProcessOutput
			if err := json.Unmarshal(out, &po); err != nil || po.Version != 1 {
				t.Fatalf("credential-process output %q: %v", out, err)
			}
			c, err := po.Credentials()
			if err != nil {
				t.Fatal(err)
			}
			return mode{env: []string{"HOME=" + home, "AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}, profile: "roam", direct: c}
		},
		"serve-imds": func(t *testing.T) mode {
			home := t.TempDir()
			rs := startServe(t, f, home, args)
			return mode{env: []string{"HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
				"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + rs.addr + "/", "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1"},
				direct: imdsGet(t, rs.addr)}
		},
		"serve-container": func(t *testing.T) mode {
			home := t.TempDir()
			rs := startServe(t, f, home, args)
			tok, err := os.ReadFile(rs.tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			if fi, _ := os.Stat(rs.tokenFile); fi.Mode().Perm() != 0o600 {
				t.Errorf("token file mode %v", fi.Mode())
			}
			return mode{env: []string{"HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
				"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://" + rs.addr + helper.ContainerPath, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + strings.TrimSpace(string(tok)),
				"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}}
		},
		"update": func(t *testing.T) mode {
			home := t.TempDir() // no ~/.aws: update creates it
			out, err := roamHelper(context.Background(), []string{"HOME=" + home}, append([]string{"update", "--once", "--profile", "roam"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("roam update: %v\n%s", err, out)
			}
			path := filepath.Join(home, ".aws", "credentials")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "aws_expiration = ") {
				t.Errorf("no aws_expiration in\n%s", b)
			}
			return mode{env: []string{"HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + path, "AWS_DEFAULT_REGION=us-east-1"}, profile: "roam"}
		},
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// imdsGet fetches credentials from a serve instance as IMDSv2 clients do.
func imdsGet(t *testing.T, addr string) credentials.Credentials {
	t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+addr+"/latest/api/token", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60")
	tok := mustBody(t, req, 200)
	req, _ = http.NewRequest("GET", "http://"+addr+"/latest/meta-data/iam/security-credentials/s3-writer", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token", tok)
	var doc struct{ AccessKeyId, SecretAccessKey, Token, Expiration, Code string }
	if err := json.Unmarshal([]byte(mustBody(t, req, 200)), &doc); err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse(time.RFC3339, doc.Expiration)
	if err != nil || doc.Code != "Success" {
		t.Fatalf("IMDS document %+v: %v", doc, err)
	}
	return credentials.Credentials{AccessKeyID: doc.AccessKeyId, SecretAccessKey: doc.SecretAccessKey, SessionToken: doc.Token, Expiration: exp}
}

func mustBody(t *testing.T, req *http.Request, want int) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, b)
	}
	return string(b)
}

// checkShape asserts what roam's credentials look like.
func checkShape(t *testing.T, c credentials.Credentials) {
	t.Helper()
	checkCredentials(t, &processCredentials{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339)})
}

var arnRE = regexp.MustCompile(`arn:aws:sts::000000000000:assumed-role/s3-writer/\S+`)

// stsAvailable reports whether the server answers STS GetCallerIdentity.
func stsAvailable(t *testing.T, f *fixture) bool {
	resp, err := f.srv.Client.Post(f.srv.Endpoint+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed
}

// TestHelperModes: the AWS CLI v2, boto3 and aws-sdk-go-v2 call STS
// GetCallerIdentity on roam with credentials from every mode of roam's
// helper (credential_process, serve's IMDSv2 and container endpoints, a
// file written by update), for every key source.
func TestHelperModes(t *testing.T) {
	f := newFixture(t)
	haveSTS := stsAvailable(t, f)
	for _, ks := range append(baseKeySources(), extraKeySources...) {
		t.Run(ks.name, func(t *testing.T) {
			key := ks.args(t, f)
			ms := modes(t, f, key)
			for _, mname := range []string{"credential_process", "serve-imds", "serve-container", "update"} {
				t.Run(mname, func(t *testing.T) {
					m := ms[mname](t)
					if m.direct.AccessKeyID != "" {
						checkShape(t, m.direct)
					}
					if !haveSTS {
						t.Skip("roam server answers STS GetCallerIdentity with 404/405: STS not available yet; credentials shape checked only")
					}
					clients := []string{"aws-sdk-go-v2"}
					if ks.allClients {
						clients = append(clients, "aws-cli-v2", "boto3")
					}
					for _, c := range clients {
						t.Run(c, func(t *testing.T) {
							out, err := callerIdentity(t, c, f, m)
							if err != nil {
								t.Fatalf("%v\n%s", err, out)
							}
							if !arnRE.MatchString(out) {
								t.Fatalf("caller identity does not name the role:\n%s", out)
							}
						})
					}
				})
			}
		})
	}
}

func callerIdentity(t *testing.T, client string, f *fixture, m mode) (string, error) {
	env := append(append(cleanEnv(), "AWS_CA_BUNDLE="+f.srv.CAFile, "AWS_MAX_ATTEMPTS=1"), m.env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch client {
	case "aws-cli-v2":
		args := []string{"sts", "get-caller-identity", "--endpoint-url", f.srv.Endpoint, "--region", "us-east-1", "--output", "json"}
		if m.profile != "" {
			args = append(args, "--profile", m.profile)
		}
		cmd := exec.CommandContext(ctx, "/usr/bin/aws", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	case "boto3":
		script := `import boto3, json, sys
p = sys.argv[2] or None
s = boto3.Session(profile_name=p, region_name="us-east-1")
print(json.dumps(s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"]))
print(s.get_credentials().method)`
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", script, f.srv.Endpoint, m.profile)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	default:
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, "AWS_") || k == "HOME" {
				t.Setenv(k, v)
			}
		}
		opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion("us-east-1")}
		if m.profile != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(m.profile))
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return "", err
		}
		out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(f.srv.Endpoint) }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			var re *smithyhttp.ResponseError
			if errors.As(err, &re) && (re.HTTPStatusCode() == 404 || re.HTTPStatusCode() == 405) {
				t.Skipf("STS GetCallerIdentity not available: %v", err)
			}
			return "", err
		}
		return aws.ToString(out.Arn), nil
	}
}

// standIn is a tiny CreateSession stand-in for malformed responses only
// (roam itself never sends them). It counts requests.
func standIn(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// TestHelperMalformedResponses: a bad expiration or missing fields make
// credential-process exit 1 with a clear message (the official helper
// panics, exit 2, or passes a bad expiration through), and make update back
// off instead of looping.
func TestHelperMalformedResponses(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, "malformed root", pki.ECP256)
	l := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "malformed"})
	c, k := l.write(t, dir, "m")
	profile := "arn:aws:rolesanywhere:us-east-1:000000000000:profile/p"
	base := []string{"--certificate", c, "--private-key", k, "--trust-anchor-arn", anchorARN, "--profile-arn", profile, "--role-arn", roleARN("r")}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, body, want string
	}{
		{"epoch expiration", `{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"1900000000"}}]}`, "is not an RFC 3339 time"},
		{"missing credentials", `{"credentialSet":[{}]}`, "has no credentials"},
		{"missing fields", `{"credentialSet":[{"credentials":{"accessKeyId":"A","expiration":"` + future + `"}}]}`, "lack secretAccessKey, sessionToken"},
		{"empty set", `{"credentialSet":[]}`, "no credentialSet"},
		{"not json", `oops`, "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, n := standIn(t, tc.body)
			cmd := roamHelper(context.Background(), []string{"HOME=" + dir}, append([]string{"credential-process", "--endpoint", ts.URL}, base...)...)
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want 1; stderr %s", err, errb.String())
			}
			if out.Len() != 0 || !strings.Contains(errb.String(), tc.want) || strings.Contains(errb.String(), "panic") {
				t.Fatalf("stdout %q stderr %q; want an error containing %q", out.String(), errb.String(), tc.want)
			}
			if n.Load() != 1 {
				t.Fatalf("%d requests; a malformed response must not be retried", n.Load())
			}
		})
	}
	t.Run("update backs off on bad expiration", func(t *testing.T) {
		ts, n := standIn(t, tests[0].body)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		home := t.TempDir()
		cmd := roamHelper(ctx, []string{"HOME=" + home}, append([]string{"update", "--endpoint", ts.URL}, base...)...)
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		out, _ := cmd.CombinedOutput()
		// The official helper made 268 requests in 3 s; with backoff from 1s
		// there are at most 3.
		if got := n.Load(); got < 1 || got > 3 {
			t.Fatalf("%d CreateSession requests in 3s; want 1..3\n%s", got, out)
		}
		if _, err := os.Stat(filepath.Join(home, ".aws", "credentials")); err == nil {
			t.Fatal("credentials file written from a malformed response")
		}
	})
}

// TestHelperUpdateFile: the official helper's credentials-file defects,
// against roam's update: the last profile keeps its last line, a missing
// ~/.aws is created 0700 with the file 0600, other sections stay intact.
func TestHelperUpdateFile(t *testing.T) {
	f := newFixture(t)
	l := f.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "update-file"})
	c, k := l.write(t, f.dir, "update-file")
	args := f.helperArgs([]string{"--certificate", c, "--private-key", k})

	t.Run("missing ~/.aws", func(t *testing.T) {
		home := t.TempDir()
		if out, err := roamHelper(context.Background(), []string{"HOME=" + home}, append([]string{"update", "--once"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for p, want := range map[string]os.FileMode{filepath.Join(home, ".aws"): os.ModeDir | 0o700, filepath.Join(home, ".aws", "credentials"): 0o600} {
			fi, err := os.Stat(p)
			if err != nil || fi.Mode() != want {
				t.Errorf("%s: %v %v, want %v", p, fi.Mode(), err, want)
			}
		}
	})
	t.Run("last profile keeps its last line", func(t *testing.T) {
		home := t.TempDir()
		path := filepath.Join(home, "creds")
		orig := "[default]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = keep\n\n[roam]\nregion = us-east-1\noutput = json"
		writeFile(t, path, []byte(orig))
		env := []string{"HOME=" + home, "AWS_SHARED_CREDENTIALS_FILE=" + path}
		if out, err := roamHelper(context.Background(), env, append([]string{"update", "--once", "--profile", "roam"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		b, _ := os.ReadFile(path)
		s := string(b)
		if !strings.HasPrefix(s, "[default]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = keep\n\n[roam]\nregion = us-east-1\noutput = json\naws_access_key_id = ASIA") {
			t.Fatalf("file damaged:\n%s", s)
		}
		for _, key := range []string{"aws_secret_access_key", "aws_session_token", "aws_expiration"} {
			if strings.Count(s, key+" = ") != map[bool]int{true: 2, false: 1}[key == "aws_secret_access_key"] {
				t.Errorf("%s count wrong:\n%s", key, s)
			}
		}
	})
}

// TestHelperServeResilience: with the roam server stopped, a refresh fails
// and serve keeps handing out the last good credentials (never 200 with
// empty ones); N concurrent IMDS requests share one session.
func TestHelperServeResilience(t *testing.T) {
	f := newFixture(t)
	l := f.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "resilience"})
	c, k := l.write(t, f.dir, "resilience")
	rs := startServe(t, f, t.TempDir(), f.helperArgs([]string{"--certificate", c, "--private-key", k}))

	t.Run("concurrent IMDS requests", func(t *testing.T) {
		var wg sync.WaitGroup
		keys := make(chan string, 32)
		for range 32 {
			wg.Add(1)
			go func() { defer wg.Done(); keys <- imdsGet(t, rs.addr).AccessKeyID }()
		}
		wg.Wait()
		close(keys)
		var all []string
		for k := range keys {
			all = append(all, k)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(all)))) != 1 {
			t.Fatalf("concurrent requests got different sessions: %v", all)
		}
	})

	t.Run("server stopped", func(t *testing.T) {
		before := imdsGet(t, rs.addr)
		// In-process, with a clock pushed past the refresh time, the same
		// Refresher + Provider stack as serve against the now stopped server.
		signer, err := credentials.NewSigner(l.key, l.cert)
		if err != nil {
			t.Fatal(err)
		}
		client, _ := credentials.NewHTTPClient(credentials.HTTPOptions{CABundle: f.srv.CAFile})
		p, err := credentials.New(credentials.Options{Signer: signer, TrustAnchorARN: anchorARN, ProfileARN: f.profileARN,
			RoleARN: roleARN("s3-writer"), Endpoint: f.srv.Endpoint, HTTPClient: client, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		var skew atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		ref := helper.NewRefresher(p.CreateSession, nil, now)
		good, err := ref.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.srv.stop()
		skew.Store(int64(40 * time.Minute)) // past RefreshAt, before expiry
		got, err := ref.Get(context.Background())
		if err != nil || got != good {
			t.Fatalf("during the outage got %v, %v; want the last good set", got.AccessKeyID, err)
		}
		waitFor(t, func() bool { return ref.Fetches() == 2 })
		time.Sleep(100 * time.Millisecond) // let the failed refresh settle
		if got, err := ref.Get(context.Background()); err != nil || got != good {
			t.Fatalf("after the failed refresh got %v, %v", got.AccessKeyID, err)
		}
		skew.Store(int64(2 * time.Hour)) // expired, server still down
		if _, err := ref.Get(context.Background()); !errors.Is(err, helper.ErrNoCredentials) {
			t.Fatalf("after expiry err = %v, want ErrNoCredentials", err)
		}
		// And the real serve process still answers with the set it holds.
		if after := imdsGet(t, rs.addr); after.AccessKeyID != before.AccessKeyID {
			t.Fatalf("serve changed credentials while the server is down")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkHelper measures, in one run against the same roam server:
// wall time per `roam credential-process` invocation vs the official
// helper's (ratio roam/official), with `--cache` warm, and the latency of a
// credentials GET served from serve's cache (p50/p99).
//
//	go test ./e2e -run '^$' -bench BenchmarkHelper -benchtime 20x
func BenchmarkHelper(b *testing.B) {
	dir := b.TempDir()
	root := newCA(b, "bench root", pki.ECP256)
	writeFile(b, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	writeFile(b, filepath.Join(dir, "other-root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	srv := startServer(b, dir, root, fixtureYAML)
	f := &fixture{srv: srv, dir: dir, root: root}
	f.profileARN = profileARNFromLogTB(b, srv)
	l := root.issue(b, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "bench"})
	c, k := l.write(b, dir, "bench")
	key := []string{"--certificate", c, "--private-key", k}
	args := f.helperArgs(key)
	cacheDir := filepath.Join(dir, "cache")
	run := func(bin string, env []string, a ...string) time.Duration {
		start := time.Now()
		cmd := exec.Command(bin, a...)
		cmd.Env = append(cleanEnv(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", bin, err, out)
		}
		return time.Since(start)
	}
	officialArgs := append([]string{"credential-process", "--endpoint", srv.Endpoint, "--trust-anchor-arn", anchorARN,
		"--profile-arn", f.profileARN, "--role-arn", roleARN("s3-writer")}, key...)
	officialEnv := []string{"SSL_CERT_FILE=" + srv.CAFile, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + dir}
	roamEnv := []string{"HOME=" + dir}
	run(bins.roam, roamEnv, append([]string{"credential-process", "--cache", cacheDir}, args...)...) // warm the cache
	var roamT, offT, cachedT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Interleaved so that both see the same machine load.
		roamT += run(bins.roam, roamEnv, append([]string{"credential-process"}, args...)...)
		offT += run(bins.helper, officialEnv, officialArgs...)
		cachedT += run(bins.roam, roamEnv, append([]string{"credential-process", "--cache", cacheDir}, args...)...)
	}
	b.StopTimer()
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / n / float64(time.Millisecond) }
	b.ReportMetric(ms(roamT), "roam-ms/op")
	b.ReportMetric(ms(offT), "official-ms/op")
	b.ReportMetric(ms(roamT)/ms(offT), "roam/official")
	b.ReportMetric(ms(cachedT), "roam-cached-ms/op")

	// serve: credentials GETs from cache.
	home := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := roamHelper(ctx, []string{"HOME=" + home}, append([]string{"serve", "--port", "0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	var addr string
	for sc.Scan() {
		if m := serveRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	if addr == "" {
		b.Fatal("serve did not start")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	req, _ := http.NewRequest("PUT", "http://"+addr+"/latest/api/token", nil)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	get := func() time.Duration {
		req, _ := http.NewRequest("GET", "http://"+addr+"/latest/meta-data/iam/security-credentials/s3-writer", nil)
		req.Header.Set("X-Aws-Ec2-Metadata-Token", string(tok))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return d
	}
	for range 100 {
		get()
	}
	lat := make([]time.Duration, 5000)
	for i := range lat {
		lat[i] = get()
	}
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(lat[len(lat)/2]), "serve-p50-µs")
	b.ReportMetric(us(lat[len(lat)*99/100]), "serve-p99-µs")
}

// profileARNFromLogTB is profileARNFromLog for benchmarks.
func profileARNFromLogTB(b *testing.B, s *server) string {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct{ Msg, Name, ARN string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bootstrap profile" && rec.Name == "onprem" {
				return rec.ARN
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("no profile ARN in the server log")
	return ""
}
