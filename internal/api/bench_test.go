package api

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// timeEach runs f n times and returns the elapsed time.
func timeEach(n int, f func()) time.Duration {
	start := time.Now()
	for range n {
		f()
	}
	return time.Since(start)
}

// BenchmarkVerify measures authenticating an STS request signed with roam
// session credentials the way aws-sdk-go-v2 signs it (the session token in a
// signed header): SigV4 parse and scope checks, canonical request, token
// lookup and signature check. In one run, interleaved, it times
//
//   - derive: one sigv4.DeriveSigningKey (the baseline: the HMAC chain
//     every SigV4 verification must otherwise do),
//   - warm:   Verify with the signing-key and unsealed-token caches warm,
//   - cold:   Verify with no cache (the token is opened with the keyring,
//     the signing key derived),
//
// and reports ns/op of each and warm/derive and cold/derive (targets: ≤ 1
// and ≤ 3).
func BenchmarkVerify(b *testing.B) {
	e := newSTSEnv(&testing.T{})
	c := e.mint("base", time.Hour)
	now := e.clk.Now()
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r := httptest.NewRequest("POST", "https://127.0.0.1:9443/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/sts#1.52.0 m/E")
	r.Header.Set("Amz-Sdk-Invocation-Id", "4f0d9f1c-2f7b-4c55-9d8a-1d0f3c1f5b7e")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("Content-Length", "43")
	if err := sigv4.SignHMAC(r, sigv4.HashPayload(body), creds(c), "sts", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	warm := sts.NewVerifier(e.kr, 0)
	cold := &sts.Verifier{Keyring: e.kr}
	verify := func(v *sts.Verifier) func() {
		return func() {
			if _, _, err := v.Verify(r, body, "sts", "", now); err != nil {
				b.Fatal(err)
			}
		}
	}
	warmF, coldF := verify(warm), verify(cold)
	warmF() // fill the caches
	secret := []byte(c.SecretAccessKey)
	derive := func() { sigv4.DeriveSigningKey(secret, "20261130", "us-east-1", "sts") }
	b.Logf("session token: %d characters; canonical request signs %s", len(c.SessionToken), r.Header.Get("Authorization")[strings.Index(r.Header.Get("Authorization"), "SignedHeaders="):][:90])

	const k = 100
	var tDerive, tWarm, tCold time.Duration
	for b.Loop() {
		tDerive += timeEach(k, derive)
		tWarm += timeEach(k, warmF)
		tCold += timeEach(k, coldF)
	}
	n := float64(b.N * k)
	b.ReportMetric(float64(tDerive.Nanoseconds())/n, "ns/derive")
	b.ReportMetric(float64(tWarm.Nanoseconds())/n, "ns/verify-warm")
	b.ReportMetric(float64(tCold.Nanoseconds())/n, "ns/verify-cold")
	b.ReportMetric(float64(tWarm)/float64(tDerive), "warm/derive")
	b.ReportMetric(float64(tCold)/float64(tDerive), "cold/derive")
}

// BenchmarkVerifyWarmOnly is the warm path alone, for profiling
// (-cpuprofile) and allocation counts.
func BenchmarkVerifyWarmOnly(b *testing.B) {
	e := newSTSEnv(&testing.T{})
	c := e.mint("base", time.Hour)
	now := e.clk.Now()
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r := httptest.NewRequest("POST", "https://127.0.0.1:9443/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("Amz-Sdk-Invocation-Id", "4f0d9f1c-2f7b-4c55-9d8a-1d0f3c1f5b7e")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	sigv4.SignHMAC(r, sigv4.HashPayload(body), creds(c), "sts", "us-east-1", now)
	v := sts.NewVerifier(e.kr, 0)
	for b.Loop() {
		if _, _, err := v.Verify(r, body, "sts", "", now); err != nil {
			b.Fatal(err)
		}
	}
}
