package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var devReadyRE = regexp.MustCompile(`roam dev server ready at (https://127\.0\.0\.1:\d+)`)

type devJSON struct {
	Endpoint       string            `json:"endpoint"`
	CABundle       string            `json:"caBundle"`
	TrustAnchorARN string            `json:"trustAnchorArn"`
	ProfileARN     string            `json:"profileArn"`
	RoleARN        string            `json:"roleArn"`
	Certificate    string            `json:"certificate"`
	PrivateKey     string            `json:"privateKey"`
	Account        string            `json:"account"`
	Region         string            `json:"region"`
	Roles          map[string]string `json:"roles"`
}

// startDev runs `roam dev` and returns its dev.json once it is serving.
func startDev(t *testing.T, dir string, extra ...string) *devJSON {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bins.roam, append([]string{"dev", "--dir", dir, "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	ready := make(chan string, 1)
	var printed lockedBuffer
	go func() {
		sc := bufio.NewScanner(io.TeeReader(out, &printed))
		for sc.Scan() {
			if m := devReadyRE.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
	}()
	var endpoint string
	select {
	case endpoint = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("roam dev not ready:\n%s", stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dj devJSON
	if err := json.Unmarshal(data, &dj); err != nil {
		t.Fatal(err)
	}
	if dj.Endpoint != endpoint {
		t.Errorf("dev.json endpoint %s, printed %s", dj.Endpoint, endpoint)
	}
	time.Sleep(100 * time.Millisecond) // let the instructions finish printing
	if !strings.Contains(printed.String(), "aws_signing_helper credential-process") || !strings.Contains(printed.String(), "[profile roam-dev]") {
		t.Errorf("instructions missing from output:\n%s", printed.String())
	}
	env, err := os.ReadFile(filepath.Join(dir, "dev.env"))
	if err != nil || !strings.Contains(string(env), "export ROAM_PROFILE_ARN='"+dj.ProfileARN+"'") {
		t.Errorf("dev.env = %q, %v", env, err)
	}
	return &dj
}

func devHelper(t *testing.T, dj *devJSON, role string) (*processCredentials, string, error) {
	t.Helper()
	s := &server{Endpoint: dj.Endpoint, CAFile: dj.CABundle}
	out, errOut, err := runHelper(t, s, "--certificate", dj.Certificate, "--private-key", dj.PrivateKey,
		"--trust-anchor-arn", dj.TrustAnchorARN, "--profile-arn", dj.ProfileARN, "--role-arn", role)
	if err != nil {
		return nil, errOut, err
	}
	var pc processCredentials
	if err := json.Unmarshal([]byte(out), &pc); err != nil {
		t.Fatalf("not credential_process JSON: %v\n%s", err, out)
	}
	return &pc, errOut, nil
}

// TestDev: `roam dev` on its embedded defaults serves the official helper,
// and a second run reuses the directory.
func TestDev(t *testing.T) {
	dir := t.TempDir()
	dj := startDev(t, dir)
	for _, f := range []string{dj.Certificate, dj.PrivateKey, dj.CABundle} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dj.PrivateKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("client key mode = %v, %v; want 0600", fi.Mode(), err)
	}
	pc, errOut, err := devHelper(t, dj, dj.RoleARN)
	if err != nil {
		t.Fatalf("official helper: %v\n%s", err, errOut)
	}
	checkCredentials(t, pc)
}

// TestDevConfig: `roam dev --config` serves the user's bootstrap file and
// dev.json maps every declared name to its ARN.
func TestDevConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mine.yaml")
	writeFile(t, cfg, []byte(`trustAnchors:
  - {name: mine, certificateBundle: file:dev/ca/root.pem}
roles:
  - name: first
    trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: rolesanywhere.amazonaws.com}, Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]}]}
  - name: second
    trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: rolesanywhere.amazonaws.com}, Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity], Condition: {StringEquals: {aws:PrincipalTag/x509Subject/CN: someone-else}}}]}
profiles:
  - {name: mine, roles: [first, second]}
`))
	// The dev CA is made before the bootstrap file is read, so the file can
	// name it.
	dj := startDev(t, filepath.Join(dir, "dev"), "--config", cfg)
	if dj.RoleARN != "arn:aws:iam::000000000000:role/first" || dj.Roles["second"] != "arn:aws:iam::000000000000:role/second" {
		t.Fatalf("dev.json roles: %s %v", dj.RoleARN, dj.Roles)
	}
	pc, errOut, err := devHelper(t, dj, dj.Roles["first"])
	if err != nil {
		t.Fatalf("official helper: %v\n%s", err, errOut)
	}
	checkCredentials(t, pc)
	if _, errOut, err := devHelper(t, dj, dj.Roles["second"]); err == nil || !strings.Contains(errOut, "AccessDeniedException") {
		t.Fatalf("role second: err = %v, stderr %s; want AccessDeniedException", err, errOut)
	}
}
