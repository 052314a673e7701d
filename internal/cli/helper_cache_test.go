package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/internal/helper"
)

// TestCredentialProcessCacheHitNeedsNoClient checks that a warm --cache
// answers without building the CreateSession client (so an unreadable
// --ca-bundle, which only the client reads, does not matter), and that a
// miss still builds it and reports the same error as without a cache.
func TestCredentialProcessCacheHitNeedsNoClient(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		ta       = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/11111111-1111-1111-1111-111111111111"
		profile  = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/22222222-2222-2222-2222-222222222222"
		role     = "arn:aws:iam::123456789012:role/app"
		endpoint = "https://127.0.0.1:1"
	)
	args := func(cache string) []string {
		return []string{"credential-process", "--cache", cache, "--certificate", certPath, "--private-key", keyPath,
			"--trust-anchor-arn", ta, "--profile-arn", profile, "--role-arn", role, "--endpoint", endpoint,
			"--ca-bundle", filepath.Join(dir, "missing.pem")}
	}

	warm := filepath.Join(dir, "warm")
	if err := os.MkdirAll(warm, 0o700); err != nil {
		t.Fatal(err)
	}
	k := helper.CacheKey{TrustAnchorARN: ta, ProfileARN: profile, RoleARN: role, CertificateSHA256: sha256.Sum256(der),
		Endpoint: endpoint, DurationSeconds: 3600}
	cached := credentials.Credentials{AccessKeyID: "ASIACACHEDCACHEDCACH", SecretAccessKey: strings.Repeat("s", 40),
		SessionToken: "token", Expiration: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := helper.WriteFileAtomic(filepath.Join(warm, k.Name()+".json"), helper.NewProcessOutput(cached).Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runRoam(t, "", args(warm)...)
	if code != 0 || !strings.Contains(out, cached.AccessKeyID) {
		t.Fatalf("warm cache: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, _, errOut = runRoam(t, "", args(filepath.Join(dir, "cold"))...)
	if code != 1 || !strings.Contains(errOut, "read CA bundle") {
		t.Fatalf("cold cache: exit %d, stderr %q; want 1 and the CA bundle error", code, errOut)
	}
}
