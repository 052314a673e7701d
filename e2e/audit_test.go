package e2e

import (
	"bufio"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/pki"
)

// auditLine is one line of `roam audit --json` and of the --audit-file sink.
type auditLine struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	RequestID string          `json:"requestId"`
	SourceIP  string          `json:"sourceIp"`
	Principal string          `json:"principal"`
	Action    string          `json:"action"`
	Resource  string          `json:"resource"`
	Outcome   string          `json:"outcome"`
	ErrorCode string          `json:"errorCode"`
	Reason    string          `json:"reason"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	Details   struct {
		TrustAnchorARN string `json:"trustAnchorArn"`
		ProfileARN     string `json:"profileArn"`
		AccessKeyID    string `json:"accessKeyId"`
		SerialNumber   string `json:"serialNumber"`
	} `json:"details"`
}

// roamAudit runs `roam audit --json --db dir/roam.db args…`.
func roamAudit(t *testing.T, dir string, args ...string) []auditLine {
	t.Helper()
	out, err := exec.Command(bins.roam, append([]string{"audit", "--json", "--db", filepath.Join(dir, "roam.db")}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("roam audit: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("roam audit: %v", err)
	}
	return parseAuditLines(t, out)
}

func parseAuditLines(t *testing.T, b []byte) []auditLine {
	t.Helper()
	var out []auditLine
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

// waitAudit polls `roam audit` until pred holds for its events.
func waitAudit(t *testing.T, dir string, pred func([]auditLine) bool, args ...string) []auditLine {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := roamAudit(t, dir, args...)
		if pred(ev) {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit events never matched; have %d:\n%s", len(ev), mustJSON(t, ev))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// initAdmin runs `roam server init --key-file` and returns an IAM client
// signing as the new admin.
func initAdmin(t *testing.T, srv *server, dir string) *awsiam.Client {
	t.Helper()
	keyFile := filepath.Join(dir, "admin-credentials")
	if out, err := exec.Command(bins.roam, "server", "init", "--db", filepath.Join(dir, "roam.db"),
		"--master-key-file", filepath.Join(dir, "master.key"), "--key-file", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("roam server init: %v\n%s", err, out)
	}
	return iamClient(srv, adminCredentials(t, keyFile))
}

// auditSessionProvider returns a CreateSession client for l through the onprem
// anchor and profile.
func auditSessionProvider(t *testing.T, srv *server, l *leaf, profileARN, role string) *credentials.Provider {
	t.Helper()
	signer, err := credentials.NewSigner(l.key, l.cert)
	if err != nil {
		t.Fatal(err)
	}
	p, err := credentials.New(credentials.Options{Signer: signer, TrustAnchorARN: anchorARN, ProfileARN: profileARN,
		RoleARN: roleARN(role), Endpoint: srv.Endpoint, HTTPClient: srv.Client, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuditAndMetrics: an allowed and a refused CreateSession (through
// AWS's helper) and an IAM CreateRole (aws-sdk-go-v2) are audit events in
// the store, as `roam audit` shows them, and in the --audit-file sink (mode
// 0600); --outcome denied selects the refusal; /metrics, unauthenticated on
// the same TLS listener, counts them by operation, trust anchor and error
// type, with the latency histogram, snapshot age, audit queue depth and
// database health.
func TestAuditAndMetrics(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, "e2e root", pki.ECP256)
	other := newCA(t, "other root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	writeFile(t, filepath.Join(dir, "other-root.pem"), pki.EncodeCertificatesPEM(other.iss.Cert))
	auditFile := filepath.Join(dir, "audit.jsonl")
	srv := startServer(t, dir, root, fixtureYAML, "--audit-file", auditFile)
	f := &fixture{srv: srv, dir: dir, root: root, otherRoot: other, profileARN: profileARNFromLog(t, srv)}
	admin := initAdmin(t, srv, dir)

	good := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "audit-good"})
	if _, errOut, err := f.helper(t, good, "good", nil, anchorARN, "s3-writer"); err != nil {
		t.Fatalf("good CreateSession: %v\n%s", err, errOut)
	}
	// onprem-vm trusts only CN=MyOnpremVM: refused by the trust policy.
	bad := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "audit-bad"})
	if _, errOut, err := f.helper(t, bad, "bad", nil, anchorARN, "onprem-vm"); err == nil || !strings.Contains(errOut, "AccessDeniedException") {
		t.Fatalf("refused CreateSession: err %v, stderr %s", err, errOut)
	}
	ctx := context.Background()
	if _, err := admin.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("audited"),
		AssumeRolePolicyDocument: aws.String(iamTrust), Description: aws.String("made for the audit test")}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}

	find := func(ev []auditLine, action, outcome string) *auditLine {
		for i := range ev {
			if ev[i].Action == action && ev[i].Outcome == outcome {
				return &ev[i]
			}
		}
		return nil
	}
	all := waitAudit(t, dir, func(ev []auditLine) bool {
		return find(ev, "rolesanywhere:CreateSession", "allowed") != nil && find(ev, "rolesanywhere:CreateSession", "denied") != nil
	}, "--since", "1h")

	allowed := find(all, "rolesanywhere:CreateSession", "allowed")
	denied := find(all, "rolesanywhere:CreateSession", "denied")
	created := find(all, "iam:CreateRole", "allowed")
	if created == nil {
		t.Fatalf("no iam:CreateRole event:\n%s", mustJSON(t, all))
	}
	adminARN := "arn:aws:iam::" + acct + ":user/"
	for _, c := range []struct {
		name      string
		e         *auditLine
		principal string // prefix
		resource  string
		code      string
		reason    string // substring
	}{
		{"allowed CreateSession", allowed, "CN=audit-good", roleARN("s3-writer"), "", ""},
		{"denied CreateSession", denied, "CN=audit-bad", roleARN("onprem-vm"), "AccessDeniedException", "trust policy of role onprem-vm"},
		{"CreateRole", created, adminARN, roleARN("audited"), "", ""},
	} {
		e := c.e
		if e.ID == "" || e.RequestID == "" || e.SourceIP != "127.0.0.1" || time.Since(e.Time) > time.Minute || time.Since(e.Time) < 0 {
			t.Errorf("%s: id %q, request id %q, source ip %q, time %v", c.name, e.ID, e.RequestID, e.SourceIP, e.Time)
		}
		if !strings.HasPrefix(e.Principal, c.principal) || e.Resource != c.resource || e.ErrorCode != c.code || !strings.Contains(e.Reason, c.reason) {
			t.Errorf("%s: principal %q resource %q code %q reason %q; want %q… %q %q …%q…", c.name,
				e.Principal, e.Resource, e.ErrorCode, e.Reason, c.principal, c.resource, c.code, c.reason)
		}
	}
	if allowed.Details.TrustAnchorARN != anchorARN || allowed.Details.ProfileARN != f.profileARN || allowed.Details.SerialNumber != good.cert.SerialNumber.String() {
		t.Errorf("allowed details: %+v", allowed.Details)
	}
	if denied.Details.TrustAnchorARN != anchorARN {
		t.Errorf("denied details: %+v", denied.Details)
	}
	if !strings.HasPrefix(created.Details.AccessKeyID, "AKIA") || len(created.Before) != 0 {
		t.Errorf("CreateRole: access key %q, before %s", created.Details.AccessKeyID, created.Before)
	}
	var after struct{ Name, Description, AssumeRolePolicy string }
	if err := json.Unmarshal(created.After, &after); err != nil || after.Name != "audited" || after.Description != "made for the audit test" || !strings.Contains(after.AssumeRolePolicy, "rolesanywhere.amazonaws.com") {
		t.Errorf("CreateRole after = %s (%v)", created.After, err)
	}

	// --outcome denied selects exactly the refusal.
	deniedOnly := roamAudit(t, dir, "--since", "1h", "--outcome", "denied")
	if len(deniedOnly) != 1 || deniedOnly[0].ID != denied.ID {
		t.Errorf("--outcome denied: %s", mustJSON(t, deniedOnly))
	}
	if p := roamAudit(t, dir, "--principal", created.Principal); len(p) != 1 || p[0].ID != created.ID {
		t.Errorf("--principal: %s", mustJSON(t, p))
	}
	if old := roamAudit(t, dir, "--until", "1h"); len(old) != 0 {
		t.Errorf("--until 1h: %d events", len(old))
	}

	// The JSON-lines sink has the same events, privately.
	fi, err := os.Stat(auditFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit file: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(auditFile)
	fileEvents := map[string]bool{}
	for _, l := range parseAuditLines(t, raw) {
		fileEvents[l.ID] = true
	}
	for _, e := range []*auditLine{allowed, denied, created} {
		if !fileEvents[e.ID] {
			t.Errorf("event %s (%s) not in the audit file", e.ID, e.Action)
		}
	}
	if strings.Contains(string(raw), "SecretAccessKey") || strings.Contains(string(raw), "sessionToken") {
		t.Errorf("audit file holds a secret field:\n%s", raw)
	}

	// Metrics, without credentials.
	resp, err := srv.Client.Get(srv.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d\n%s", resp.StatusCode, body)
	}
	m := parseMetrics(string(body))
	for _, c := range []struct {
		series   string
		min, max float64
	}{
		{`roam_rolesanywhere_success_total{operation="CreateSession",trust_anchor_arn="` + anchorARN + `"}`, 1, 1},
		{`roam_rolesanywhere_failure_total{error_type="AccessDeniedException",operation="CreateSession",trust_anchor_arn="` + anchorARN + `"}`, 1, 1},
		{`roam_rolesanywhere_success_total{operation="CreateRole",trust_anchor_arn=""}`, 1, 1},
		{`roam_request_duration_seconds_count{operation="CreateSession",outcome="success"}`, 1, 1},
		{`roam_request_duration_seconds_count{operation="CreateSession",outcome="failure"}`, 1, 1},
		{`roam_snapshot_age_seconds`, 0, 5},
		{`roam_audit_queue_depth`, 0, 8192},
		{`roam_audit_queue_capacity`, 8192, 8192},
		{`roam_audit_dropped_total`, 0, 0},
		{`roam_database_up`, 1, 1},
		{`roam_database_failed_closed`, 0, 0},
	} {
		v, ok := m[c.series]
		if !ok || v < c.min || v > c.max {
			t.Errorf("%s = %v (present %v), want %v…%v", c.series, v, ok, c.min, c.max)
		}
	}
	if strings.Contains(string(body), good.cert.SerialNumber.String()) || strings.Contains(string(body), "audit-good") {
		t.Error("/metrics exposes a certificate serial or subject")
	}
}

// parseMetrics reads the text exposition format into series → value.
func parseMetrics(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// TestAuditAcknowledged: "acknowledged" means the 2xx of a control-plane
// change: a server SIGKILLed right after the 2xx of several IAM changes
// still has every one of their audit events. CreateSession events are
// batched: after a burst of CreateSessions, a graceful stop (SIGTERM) within
// the batch interval writes every one of them.
func TestAuditAcknowledged(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, "e2e root", pki.ECP256)
	other := newCA(t, "other root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	writeFile(t, filepath.Join(dir, "other-root.pem"), pki.EncodeCertificatesPEM(other.iss.Cert))
	srv := startServer(t, dir, root, fixtureYAML)
	profileARN := profileARNFromLog(t, srv)
	admin := initAdmin(t, srv, dir)
	ctx := context.Background()

	// SIGKILL right after the last 2xx.
	const changes = 6
	var ids []string
	for i := range changes {
		out, err := admin.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("ack-%d", i)),
			AssumeRolePolicyDocument: aws.String(iamTrust)})
		if err != nil {
			t.Fatalf("CreateRole %d: %v", i, err)
		}
		ids = append(ids, *out.Role.Arn)
	}
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	srv.cmd = nil
	got := roamAudit(t, dir, "--action", "iam:CreateRole")
	have := map[string]bool{}
	for _, e := range got {
		have[e.Resource] = true
	}
	for _, arn := range ids {
		if !have[arn] {
			t.Errorf("acknowledged change to %s has no audit event after SIGKILL", arn)
		}
	}

	// A burst of CreateSessions, then SIGTERM at once.
	srv.start(t)
	l := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "burst"})
	p := auditSessionProvider(t, srv, l, profileARN, "s3-writer")
	const sessions = 200
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	sem := make(chan struct{}, 8)
	for range sessions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := p.CreateSession(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	srv.stop() // SIGTERM (os.Interrupt), graceful
	close(errs)
	for err := range errs {
		t.Fatalf("CreateSession: %v", err)
	}
	burst := roamAudit(t, dir, "--action", "rolesanywhere:CreateSession", "--principal", l.cert.Subject.String(), "--outcome", "allowed")
	if len(burst) != sessions {
		t.Fatalf("%d CreateSession events after a graceful stop, want %d", len(burst), sessions)
	}
}
