package gateway

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// isolateAWSEnv points the AWS SDK at dir/credentials and dir/config with
// profile, and hides every other source of the default chain (the
// environment's own keys, web identity, container and instance roles).
func isolateAWSEnv(t *testing.T, dir, profile string) (credentialsFile, configFile string) {
	t.Helper()
	credentialsFile, configFile = filepath.Join(dir, "aws-credentials"), filepath.Join(dir, "aws-config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credentialsFile)
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_PROFILE", profile)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k) // t.Setenv restores it
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return credentialsFile, configFile
}

// verifyingBackend is an S3 backend that checks every request's SigV4
// signature (region eu-west-3) with the secret of the access key it
// names, and records who signed.
type verifyingBackend struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]string // access key id → secret
	signers []string          // access key ids of verified requests
	tokens  []string          // their X-Amz-Security-Token
	errs    []error
}

func newVerifyingBackend(t *testing.T, secrets map[string]string) *verifyingBackend {
	b := &verifyingBackend{secrets: secrets}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := func() error {
			p, err := sigv4.ParseRequest(r, time.Now(), &sigv4.HMACOptions{Service: "s3", Region: "eu-west-3", S3: true})
			if err != nil {
				return err
			}
			secret, ok := b.secrets[p.AccessKeyID()]
			if !ok {
				return fmt.Errorf("unknown access key %q", p.AccessKeyID())
			}
			if p.Verify([]byte("not-"+secret), body) == nil {
				return errors.New("the signature verifies with a wrong secret")
			}
			if err := p.Verify([]byte(secret), body); err != nil {
				return err
			}
			b.mu.Lock()
			b.signers = append(b.signers, p.AccessKeyID())
			b.tokens = append(b.tokens, p.SecurityToken)
			b.mu.Unlock()
			return nil
		}()
		if err != nil {
			b.mu.Lock()
			b.errs = append(b.errs, fmt.Errorf("%s %s: %w", r.Method, r.URL, err))
			b.mu.Unlock()
			http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *verifyingBackend) seen() (signers, tokens []string, errs []error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.signers...), append([]string(nil), b.tokens...), append([]error(nil), b.errs...)
}

// chainGateway starts a gateway with one mTLS route in front of backend,
// an S3 backend in region eu-west-3 re-signed with credentials from the
// AWS SDK default chain, and returns a request function for a trusted
// client.
func chainGateway(t *testing.T, dir, backend string) func(method, path, body string) int {
	t.Helper()
	tlsCA, clients := newTestCA(t, "gateway tls"), newTestCA(t, "clients")
	tlsCA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "127.0.0.1"}}).writeKeyPair(t, dir, "gw")
	writeFile(t, filepath.Join(dir, "ca.pem"), pki.EncodeCertificatesPEM(clients.Cert))
	g := startGateway(t, dir, fmt.Sprintf(`routes:
  - name: s3
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: require, caFiles: [ca.pem]}
    authorization: mtls
    backend: {url: %q, s3: true, region: eu-west-3, credentials: {chain: default}}
`, backend))
	client := httpsClient(certPool(tlsCA.Cert), false, clients.client(t, "workload").tlsCert())
	return func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+g.Addr("s3").String()+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
}

// TestBackendCredentialsDefaultChain: with credentials: {chain: default}
// the gateway re-signs S3 requests with what the AWS SDK default chain
// finds — here the AWS_PROFILE profile of the shared credentials file,
// session token included — for the route's backend region.
func TestBackendCredentialsDefaultChain(t *testing.T) {
	dir := t.TempDir()
	credsFile, configFile := isolateAWSEnv(t, dir, "roam-backend")
	writeFile(t, credsFile, []byte("[default]\naws_access_key_id = AKIAWRONGPROFILE\naws_secret_access_key = wrong\n\n"+
		"[roam-backend]\naws_access_key_id = AKIACHAINBACKEND\naws_secret_access_key = chain-secret\naws_session_token = chain-token\n"))
	writeFile(t, configFile, []byte("[profile roam-backend]\nregion = ap-south-1\n"))
	backend := newVerifyingBackend(t, map[string]string{"AKIACHAINBACKEND": "chain-secret", "AKIAWRONGPROFILE": "wrong"})
	do := chainGateway(t, dir, backend.URL)

	for _, r := range []struct{ method, path, body string }{
		{"GET", "/bucket/a.txt", ""},
		{"PUT", "/bucket/b.txt", "hello"},
		{"GET", "/bucket?list-type=2&prefix=p%2F", ""},
	} {
		if code := do(r.method, r.path, r.body); code != 200 {
			t.Errorf("%s %s: %d", r.method, r.path, code)
		}
	}
	signers, tokens, errs := backend.seen()
	for _, err := range errs {
		t.Errorf("backend: %v", err)
	}
	if len(signers) != 3 {
		t.Fatalf("backend verified %d requests, want 3", len(signers))
	}
	for i := range signers {
		if signers[i] != "AKIACHAINBACKEND" || tokens[i] != "chain-token" {
			t.Errorf("request %d signed by %s with token %q, want AKIACHAINBACKEND with chain-token", i, signers[i], tokens[i])
		}
	}
}

// TestBackendCredentialsChainRefresh: credentials from the chain are asked
// for on every re-signing, so when they expire the SDK's refreshed ones
// are used without a restart (credential_process here, as an SSO or role
// source would).
func TestBackendCredentialsChainRefresh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh for credential_process")
	}
	dir := t.TempDir()
	_, configFile := isolateAWSEnv(t, dir, "rotating")
	current := filepath.Join(dir, "current.json")
	writeCreds := func(id, secret string, expires time.Time) {
		replaceFile(t, current, fmt.Appendf(nil, `{"Version":1,"AccessKeyId":%q,"SecretAccessKey":%q,"SessionToken":"tok-%s","Expiration":%q}`,
			id, secret, id, expires.UTC().Format(time.RFC3339Nano)))
	}
	firstExpiry := time.Now().Add(3 * time.Second)
	writeCreds("AKIAFIRSTKEY", "first-secret", firstExpiry)
	writeFile(t, configFile, fmt.Appendf(nil, "[profile rotating]\ncredential_process = %s -c 'cat %s'\n", sh, current))
	backend := newVerifyingBackend(t, map[string]string{"AKIAFIRSTKEY": "first-secret", "AKIASECONDKEY": "second-secret"})
	do := chainGateway(t, dir, backend.URL)

	if code := do("GET", "/bucket/a.txt", ""); code != 200 {
		t.Fatalf("first GET: %d", code)
	}
	writeCreds("AKIASECONDKEY", "second-secret", time.Now().Add(time.Hour))
	time.Sleep(time.Until(firstExpiry) + 100*time.Millisecond)
	if code := do("GET", "/bucket/a.txt", ""); code != 200 {
		t.Fatalf("GET after expiry: %d", code)
	}
	signers, tokens, errs := backend.seen()
	for _, err := range errs {
		t.Errorf("backend: %v", err)
	}
	if want := []string{"AKIAFIRSTKEY", "AKIASECONDKEY"}; !slices.Equal(signers, want) || tokens[len(tokens)-1] != "tok-AKIASECONDKEY" {
		t.Errorf("signed by %v (tokens %v), want %v", signers, tokens, want)
	}
}
