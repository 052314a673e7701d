package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"testing"
	"time"
)

// benchIssue issues one ec-p256 client certificate: key generation, PKCS#8
// encoding of the new key, certificate signing. With openCAKey it first
// decrypts the CA key, as every `roam ca issue` process does.
func benchIssue(b *testing.B, openCAKey bool) {
	_, iss := testCA(b, ECP256, false)
	caPW := []byte("ca-password")
	caKeyPEM, err := MarshalPrivateKeyPEM(iss.Key, caPW, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		issuer := iss
		if openCAKey {
			k, err := ParsePrivateKeyPEM(caKeyPEM, caPW)
			if err != nil {
				b.Fatal(err)
			}
			issuer = &Issuer{Cert: iss.Cert, Key: k}
		}
		key, err := GenerateKey(ECP256, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MarshalPrivateKeyPEM(key, nil, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := issuer.Issue(LeafRequest{Subject: pkix.Name{CommonName: "bench"}, PublicKey: key.Public()}); err != nil {
			b.Fatal(err)
		}
	}
}

// keygenSign is the baseline unit of work: one ECDSA P-256 key generation
// and one signature.
func keygenSign(tb testing.TB) {
	h := sha256.Sum256([]byte("baseline"))
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ecdsa.SignASN1(rand.Reader, k, h[:]); err != nil {
		tb.Fatal(err)
	}
}

// baselineNs times keygenSign over n rounds, in the same process and just
// before the benchmark proper, so both figures share the machine's load.
func baselineNs(tb testing.TB, n int) float64 {
	start := time.Now()
	for i := 0; i < n; i++ {
		keygenSign(tb)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// reportRatio adds the baseline and the ratio to the benchmark's output.
func reportRatio(b *testing.B, base float64) {
	b.StopTimer()
	b.ReportMetric(base, "baseline-ns/op")
	if b.N > 0 && base > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/base, "x-baseline")
	}
}

// BenchmarkIssueClientP256 measures issuing a client certificate from an
// in-memory CA and reports it as a multiple of the baseline (one P-256 key
// generation + signature) measured in the same run.
func BenchmarkIssueClientP256(b *testing.B) {
	base := baselineNs(b, 500)
	benchIssue(b, false)
	reportRatio(b, base)
}

// BenchmarkIssueClientP256WithCAKeyDecrypt adds the PBKDF2 decryption of
// the CA key (DefaultKDFIterations), the dominant cost of `roam ca issue`.
func BenchmarkIssueClientP256WithCAKeyDecrypt(b *testing.B) {
	base := baselineNs(b, 500)
	benchIssue(b, true)
	reportRatio(b, base)
}

// BenchmarkBaselineP256KeygenSign is the baseline on its own.
func BenchmarkBaselineP256KeygenSign(b *testing.B) {
	for b.Loop() {
		keygenSign(b)
	}
}
