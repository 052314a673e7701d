package bootstrap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
)

func writeCA(t *testing.T, dir string) (certPath string, crlPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPath = filepath.Join(dir, "ca.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(42), RevocationTime: time.Now()}},
	}, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	crlPath = filepath.Join(dir, "crl.pem")
	os.WriteFile(crlPath, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}), 0o600)
	return certPath, crlPath
}

const goodYAML = `account: "111122223333"
region: eu-west-1
trustAnchors:
  - {name: onprem, certificateBundle: file:ca.pem, enabled: true}
crls:
  - {name: onprem-crl, trustAnchor: onprem, file: crl.pem, enabled: true}
policies:
  - name: s3-write
    document:
      Version: "2012-10-17"
      Statement: [{Effect: Allow, Action: "s3:PutObject", Resource: "arn:aws:s3:::bucket/*"}]
roles:
  - name: s3-writer
    maxSessionDuration: 7200
    trustPolicy: file:trust.json
    inlinePolicies:
      write: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    managedPolicies: [s3-write]
profiles:
  - name: onprem
    roles: [s3-writer]
    durationSeconds: 3600
    enabled: true
    sessionPolicy:
      Version: "2012-10-17"
      Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]
    attributeMappings:
      - {certificateField: x509Subject, specifiers: [CN, ou]}
`

const trustJSON = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`

func setup(t *testing.T) (dir string, st store.Store) {
	t.Helper()
	dir = t.TempDir()
	writeCA(t, dir)
	os.WriteFile(filepath.Join(dir, "trust.json"), []byte(trustJSON), 0o600)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	dir, st := setup(t)
	path := filepath.Join(dir, "roam.yaml")
	os.WriteFile(path, []byte(goodYAML), 0o600)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(ctx, st, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Account != "111122223333" || res.Region != "eu-west-1" {
		t.Errorf("account/region = %s/%s", res.Account, res.Region)
	}
	if got := res.Roles[0].ARN; got != "arn:aws:iam::111122223333:role/s3-writer" {
		t.Errorf("role ARN = %s", got)
	}
	if !strings.HasPrefix(res.Profiles[0].ARN, "arn:aws:rolesanywhere:eu-west-1:111122223333:profile/") {
		t.Errorf("profile ARN = %s", res.Profiles[0].ARN)
	}
	role, err := st.GetRole(ctx, "s3-writer")
	if err != nil {
		t.Fatal(err)
	}
	if role.AssumeRolePolicy != trustJSON || role.MaxSessionDuration != 7200 || len(role.AttachedPolicies) != 1 || role.AttachedPolicies[0] != "arn:aws:iam::111122223333:policy/s3-write" {
		t.Errorf("role = %+v", role)
	}
	if _, ok := role.InlinePolicies["write"]; !ok {
		t.Errorf("inline policy missing: %v", role.InlinePolicies)
	}
	p, err := st.GetProfileByName(ctx, "onprem")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.AttributeMappings) != 1 || p.AttributeMappings[0].MappingRules[1].Specifier != "OU" || !strings.Contains(p.SessionPolicy, `"s3:*"`) {
		t.Errorf("profile = %+v", p)
	}
	crl, err := st.GetCRLByName(ctx, "onprem-crl")
	if err != nil || !crl.Enabled {
		t.Fatalf("crl = %+v, %v", crl, err)
	}

	// Applying again keeps ids.
	res2, err := Apply(ctx, st, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Profiles[0].ARN != res.Profiles[0].ARN || res2.TrustAnchors[0].ARN != res.TrustAnchors[0].ARN {
		t.Errorf("re-apply changed ARNs: %v -> %v", res.Profiles, res2.Profiles)
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	writeCA(t, dir)
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "trustAnchor: []\n", "field trustAnchor not found"},
		{"bad account", `account: "12"` + "\n", "must be 12 digits"},
		{"bad region", "region: moon\n", "not a region name"},
		{"missing bundle file", "trustAnchors: [{name: a, certificateBundle: file:nope.pem}]\n", "nope.pem"},
		{"not a PEM bundle", "trustAnchors: [{name: a, certificateBundle: hello}]\n", "no PEM certificate"},
		{"bad anchor id", "trustAnchors: [{name: a, id: NOPE, certificateBundle: file:ca.pem}]\n", "lower-case UUID"},
		{"duplicate name", "trustAnchors: [{name: a, certificateBundle: file:ca.pem}, {name: A, certificateBundle: file:ca.pem}]\n", "declared twice"},
		{"bad anchor name", "trustAnchors: [{name: 'a/b', certificateBundle: file:ca.pem}]\n", "name \"a/b\""},
		{"crl without anchor", "crls: [{name: c, file: crl.pem}]\n", "trustAnchor is required"},
		{"role without trust", "roles: [{name: r}]\n", "trustPolicy is required"},
		{"bad max session", "roles: [{name: r, maxSessionDuration: 60, trustPolicy: {Version: '2012-10-17'}}]\n", "3600-43200"},
		{"trust policy not JSON", "roles: [{name: r, trustPolicy: 'not json'}]\n", "not valid JSON"},
		{"trust policy a list", "roles: [{name: r, trustPolicy: [1]}]\n", "must be a mapping"},
		{"bad duration", "profiles: [{name: p, durationSeconds: 10}]\n", "900-43200"},
		{"bad mapping", "profiles: [{name: p, attributeMappings: [{certificateField: x509Subject, specifiers: [XX]}]}]\n", "unknown specifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestApplyBadFileChangesNothing: a document the checker refuses fails the
// whole file before anything is written.
func TestApplyBadFileChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir, st := setup(t)
	f, err := Parse([]byte(goodYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := st.ConfigVersion(ctx)
	refuse := func(kind, name, doc string) error {
		if kind == "session" {
			return errors.New("Statement[0]: bad")
		}
		return nil
	}
	if _, err := Apply(ctx, st, f, refuse); err == nil || !strings.Contains(err.Error(), `profile "onprem": sessionPolicy`) {
		t.Fatalf("err = %v", err)
	}
	after, _ := st.ConfigVersion(ctx)
	if before != after {
		t.Errorf("config version %d -> %d: the store changed", before, after)
	}
	if _, err := st.GetRole(ctx, "s3-writer"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("role written despite the error: %v", err)
	}
}
