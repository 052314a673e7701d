package e2e

import (
	"crypto/x509/pkix"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

const (
	anchorID      = "0b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	otherAnchorID = "1c6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	anchorARN     = "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + anchorID
	otherARN      = "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + otherAnchorID
	acct          = "000000000000"
)

// fixture is a running server with two trust anchors and the roles of the
// seeds' examples.
type fixture struct {
	srv             *server
	dir             string
	root, inter     *ca
	otherRoot       *ca
	profileARN      string
	otherProfileARN string
}

const fixtureYAML = `account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: ` + anchorID + `, certificateBundle: file:root.pem, enabled: true}
  - {name: other, id: ` + otherAnchorID + `, certificateBundle: file:other-root.pem, enabled: true}
roles:
  - name: s3-writer
    maxSessionDuration: 3600
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
  # Seed 001: only the certificate with CN MyOnpremVM may assume the role.
  - name: onprem-vm
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
          Condition:
            StringEquals: {aws:PrincipalTag/x509Subject/CN: MyOnpremVM}
  # Seed 002: only certificates from the onprem trust anchor.
  - name: from-onprem
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
          Condition:
            ArnEquals: {aws:SourceArn: "` + anchorARN + `"}
profiles:
  - {name: onprem, roles: [s3-writer, onprem-vm, from-onprem], durationSeconds: 3600, enabled: true}
`

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir}
	f.root = newCA(t, "e2e root", pki.ECP256)
	f.inter = f.root.intermediate(t, "e2e intermediate", pki.ECP256)
	f.otherRoot = newCA(t, "other root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(f.root.iss.Cert))
	writeFile(t, filepath.Join(dir, "other-root.pem"), pki.EncodeCertificatesPEM(f.otherRoot.iss.Cert))
	f.srv = startServer(t, dir, f.root, fixtureYAML)
	f.profileARN = profileARNFromLog(t, f.srv)
	return f
}

// profileARNFromLog reads the profile ARN from the database through the
// server's dev-style output: the bootstrap result is logged at start.
func profileARNFromLog(t *testing.T, s *server) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct {
				Msg  string `json:"msg"`
				Name string `json:"name"`
				ARN  string `json:"arn"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bootstrap profile" && rec.Name == "onprem" {
				return rec.ARN
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no profile ARN in the server log:\n%s", s.stderr.String())
	return ""
}

func roleARN(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

type processCredentials struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func (f *fixture) helper(t *testing.T, l *leaf, name string, chain []*ca, anchor, role string, extra ...string) (*processCredentials, string, error) {
	t.Helper()
	certPath, keyPath := l.write(t, f.dir, name)
	args := []string{"--certificate", certPath, "--private-key", keyPath,
		"--trust-anchor-arn", anchor, "--profile-arn", f.profileARN, "--role-arn", roleARN(role)}
	if len(chain) > 0 {
		var pem []byte
		for _, c := range chain {
			pem = append(pem, pki.EncodeCertificatesPEM(c.iss.Cert)...)
		}
		p := filepath.Join(f.dir, name+".chain.pem")
		writeFile(t, p, pem)
		args = append(args, "--intermediates", p)
	}
	out, errOut, err := runHelper(t, f.srv, append(args, extra...)...)
	if err != nil {
		return nil, errOut, err
	}
	var pc processCredentials
	if err := json.Unmarshal([]byte(out), &pc); err != nil {
		t.Fatalf("helper output is not credential_process JSON: %v\n%s", err, out)
	}
	return &pc, errOut, nil
}

func checkCredentials(t *testing.T, pc *processCredentials) {
	t.Helper()
	if pc.Version != 1 {
		t.Errorf("Version = %d, want 1", pc.Version)
	}
	if !strings.HasPrefix(pc.AccessKeyID, "ASIA") || len(pc.AccessKeyID) != 20 {
		t.Errorf("AccessKeyId = %q, want ASIA + 16 characters", pc.AccessKeyID)
	}
	if len(pc.SecretAccessKey) != 40 || pc.SessionToken == "" {
		t.Errorf("secret length %d, token length %d", len(pc.SecretAccessKey), len(pc.SessionToken))
	}
	exp, err := time.Parse(time.RFC3339, pc.Expiration)
	if err != nil {
		t.Errorf("Expiration %q is not RFC 3339: %v", pc.Expiration, err)
	} else if d := time.Until(exp); d < 55*time.Minute || d > 61*time.Minute {
		t.Errorf("Expiration %s is %s away, want about 1h", pc.Expiration, d)
	}
}

// TestOfficialHelper: AWS's unmodified credential helper gets credentials
// from roam for RSA-2048 and EC P-256 leaves, directly under the root and
// through an intermediate sent with --intermediates.
func TestOfficialHelper(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		issuer *ca
		chain  []*ca
		kt     pki.KeyType
	}{
		{"rsa2048-root", f.root, nil, pki.RSA2048},
		{"ecp256-root", f.root, nil, pki.ECP256},
		{"rsa2048-intermediate", f.inter, []*ca{f.inter}, pki.RSA2048},
		{"ecp256-intermediate", f.inter, []*ca{f.inter}, pki.ECP256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.issuer.issue(t, pki.ProfileClient, tc.kt, pkix.Name{CommonName: "workload-" + tc.name, Organization: []string{"Example"}})
			pc, errOut, err := f.helper(t, l, tc.name, tc.chain, anchorARN, "s3-writer")
			if err != nil {
				t.Fatalf("helper failed: %v\n%s\nserver log:\n%s", err, errOut, f.srv.stderr.String())
			}
			checkCredentials(t, pc)
		})
	}
	t.Run("intermediate-not-sent", func(t *testing.T) {
		l := f.inter.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "no-chain"})
		_, errOut, err := f.helper(t, l, "no-chain", nil, anchorARN, "s3-writer")
		if err == nil || !strings.Contains(errOut, "AccessDeniedException: Untrusted signing certificate.") {
			t.Fatalf("err = %v, stderr = %s; want AccessDeniedException", err, errOut)
		}
	})
}

// TestSeedTrustPolicies: seed 001's CN condition and seed 002's
// aws:SourceArn condition, through the official helper.
func TestSeedTrustPolicies(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		issuer *ca
		cn     string
		anchor string
		role   string
		ok     bool
	}{
		{"seed001 CN MyOnpremVM allowed", f.root, "MyOnpremVM", anchorARN, "onprem-vm", true},
		{"seed001 CN OtherVM refused", f.root, "OtherVM", anchorARN, "onprem-vm", false},
		{"seed002 onprem anchor allowed", f.root, "app", anchorARN, "from-onprem", true},
		{"seed002 other anchor refused", f.otherRoot, "app", otherARN, "from-onprem", false},
		{"other anchor, unconditioned role allowed", f.otherRoot, "app", otherARN, "s3-writer", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.issuer.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: tt.cn})
			pc, errOut, err := f.helper(t, l, "seed"+string(rune('a'+i)), nil, tt.anchor, tt.role)
			if tt.ok {
				if err != nil {
					t.Fatalf("helper failed: %v\n%s", err, errOut)
				}
				checkCredentials(t, pc)
				return
			}
			if err == nil {
				t.Fatal("helper got credentials; want 403")
			}
			if !strings.Contains(errOut, "AccessDeniedException") {
				t.Fatalf("stderr = %s; want AccessDeniedException", errOut)
			}
		})
	}
}
