package anywhere

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// pipelineFixture is a Service with one trust anchor, profile and role (the
// configuration `roam bench create-session` generates), a real keyring, and
// one signed CreateSession request per client certificate.
type pipelineFixture struct {
	svc  *Service
	reqs []*http.Request
	body []byte
	// verify performs one leaf signature verification of the kind the
	// pipeline performs (SHA-256 digest, the leaf's key).
	verify func() bool
}

const (
	fixtureAnchorID  = "0b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	fixtureProfileID = "1b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	fixtureRole      = "bench-role"
)

// newPipelineFixture builds a fixture with n client certificates of key type
// kt (RSA leaves under an RSA-4096 root, EC leaves under an EC P-256 root).
// trustPolicy, if not empty, replaces the default trust policy (which allows
// rolesanywhere.amazonaws.com under ArnEquals aws:SourceArn).
func newPipelineFixture(tb testing.TB, kt pki.KeyType, n int, trustPolicy string) *pipelineFixture {
	tb.Helper()
	rootKT := pki.ECP256
	if kt != pki.ECP256 {
		rootKT = pki.RSA4096
	}
	rootKey, err := pki.GenerateKey(rootKT, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	rootCert, err := pki.NewRootCA(rootKey, pki.CAOptions{Subject: pkix.Name{CommonName: "fixture root", Organization: []string{"roam test"}}})
	if err != nil {
		tb.Fatal(err)
	}
	iss := &pki.Issuer{Cert: rootCert, Key: rootKey}

	const account, region = "000000000000", "us-east-1"
	anchorARN := TrustAnchorARN(region, account, fixtureAnchorID)
	profileARN := ProfileARN(region, account, fixtureProfileID)
	roleARN := iam.RoleARN(account, "/", fixtureRole)
	if trustPolicy == "" {
		trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
			"Principal":{"Service":"rolesanywhere.amazonaws.com"},
			"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
			"Condition":{"ArnEquals":{"aws:SourceArn":"` + anchorARN + `"}}}]}`
	}
	cfg := &store.Config{
		Version:  1,
		Settings: map[string]string{store.SettingAccountID: account, store.SettingRegion: region},
		TrustAnchors: []*store.TrustAnchor{{ID: fixtureAnchorID, Name: "fixture", SourceType: store.SourceCertificateBundle,
			SourceData: string(pki.EncodeCertificatesPEM(rootCert)), Enabled: true}},
		Profiles: []*store.Profile{{ID: fixtureProfileID, Name: "fixture", RoleARNs: []string{roleARN}, DurationSeconds: 3600, Enabled: true}},
		Roles:    []*store.Role{{Name: fixtureRole, ID: "AROAFIXTUREFIXTURE234", Path: "/", AssumeRolePolicy: trustPolicy, MaxSessionDuration: 3600}},
	}
	snap := NewSnapshot(cfg)
	if len(snap.Problems) > 0 {
		tb.Fatalf("snapshot problems: %v", snap.Problems)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "roam.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	master := make([]byte, sts.MasterKeySize)
	rand.Read(master)
	kr, err := sts.OpenKeyring(ctx, st, master, sts.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	svc := NewService(Config{Minter: kr, RecordSubject: func(store.SubjectSighting) {}})
	svc.SetSnapshot(snap)

	f := &pipelineFixture{svc: svc}
	f.body = fmt.Appendf(nil, `{"durationSeconds":3600,"profileArn":%q,"roleArn":%q,"trustAnchorArn":%q}`, profileARN, roleARN, anchorARN)
	now := time.Now()
	for i := range n {
		key, err := pki.GenerateKey(kt, rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		is, err := iss.Issue(pki.LeafRequest{
			Profile:   pki.ProfileClient,
			Subject:   pkix.Name{CommonName: fmt.Sprintf("workload-%05d", i), Organization: []string{"roam test"}, OrganizationalUnit: []string{"load"}},
			PublicKey: key.Public(),
		})
		if err != nil {
			tb.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "https://127.0.0.1:9443/sessions", bytes.NewReader(f.body))
		r.Header.Set("Content-Type", "application/json")
		if err := sigv4.SignX509(r, f.body, key, is.Cert, nil, region, now); err != nil {
			tb.Fatal(err)
		}
		f.reqs = append(f.reqs, r)
		if i == 0 {
			f.verify = leafVerifier(tb, key, is.Cert)
		}
	}
	return f
}

// leafVerifier returns a function that verifies one SHA-256 signature with
// cert's key, as the benchmark command times it.
func leafVerifier(tb testing.TB, key crypto.Signer, cert *x509.Certificate) func() bool {
	digest := sha256.Sum256([]byte("roam leaf verification"))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return func() bool { return ecdsa.VerifyASN1(pub, digest[:], sig) }
	case *rsa.PublicKey:
		return func() bool { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil }
	}
	tb.Fatalf("unsupported key %T", cert.PublicKey)
	return nil
}

// BenchmarkCreateSession drives Service.CreateSession with pre-signed
// requests from 200 certificates whose chains are already cached, and
// reports, besides ns/op and allocs/op, the cost of one session in leaf
// signature verifications timed in the same run ("verifies/op"). Everything
// beyond the one verification a session cannot avoid is
// (verifies/op − 1) verifications.
func BenchmarkCreateSession(b *testing.B) {
	for _, kt := range []pki.KeyType{pki.RSA2048, pki.ECP256} {
		b.Run(string(kt), func(b *testing.B) {
			f := newPipelineFixture(b, kt, 200, "")
			ctx := context.Background()
			for _, r := range f.reqs { // warm the chain cache
				if _, err := f.svc.CreateSession(ctx, r, f.body); err != nil {
					b.Fatal(err)
				}
			}
			verifyNs := timeVerify(b, f.verify)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				if _, err := f.svc.CreateSession(ctx, f.reqs[i%len(f.reqs)], f.body); err != nil {
					b.Fatal(err)
				}
			}
			perOp := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(verifyNs, "verify-ns")
			b.ReportMetric(perOp/verifyNs, "verifies/op")
		})
	}
}

// timeVerify returns the best time of one verification over three rounds.
func timeVerify(tb testing.TB, verify func() bool) float64 {
	const n = 500
	best := 0.0
	for range 3 {
		start := time.Now()
		for range n {
			if !verify() {
				tb.Fatal("verification failed")
			}
		}
		if d := float64(time.Since(start).Nanoseconds()) / n; best == 0 || d < best {
			best = d
		}
	}
	return best
}
