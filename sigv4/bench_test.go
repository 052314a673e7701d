package sigv4

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const benchQuery = "profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Aprofile%2F66666666-7777-8888-9999-000000000000&roleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FTestRole&trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Atrust-anchor%2F11111111-2222-3333-4444-555555555555"

// benchX509Request is a CreateSession request signed like the helper signs,
// shaped as a server receives it (Host in r.Host).
func benchX509Request(b *testing.B, kind string) (*http.Request, []byte, *testPKI, time.Time) {
	p := newPKI(b, kind, big.NewInt(4660))
	body := []byte(`{"durationSeconds":900,"roleSessionName":"my session  name"}`)
	r := httptest.NewRequest("POST", "http://127.0.0.1:38733/sessions?"+benchQuery, nil)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Amz-Sdk-Invocation-Id", "742b01fc-c1c4-4015-a0e7-930a5419cefa")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	now := time.Now()
	if err := SignX509(r, body, p.key, p.leaf, nil, "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	r.Header.Set("User-Agent", "CredHelper/1.8.0 (go1.26.8; linux; amd64)")
	r.Header.Set("Accept-Encoding", "gzip")
	r.Header.Set("Content-Length", "60")
	return r, body, p, now
}

func BenchmarkX509(b *testing.B) {
	for _, kind := range []string{"ec", "rsa"} {
		r, body, p, now := benchX509Request(b, kind)
		b.Run(kind+"/VerifyX509", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := VerifyX509(r, body, p.leaf, now, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The signature check alone, over an equally long string to sign.
		a, _ := ParseX509Authorization(r.Header.Get("Authorization"))
		_, sts, _ := CanonicalX509(r, body, a, nil)
		b.Run(kind+"/bare", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d := sha256.Sum256([]byte(sts))
				var ok bool
				switch k := p.leaf.PublicKey.(type) {
				case *ecdsa.PublicKey:
					ok = ecdsa.VerifyASN1(k, d[:], a.Signature)
				case *rsa.PublicKey:
					ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], a.Signature) == nil
				}
				if !ok {
					b.Fatal("bad signature")
				}
			}
		})
		b.Run(kind+"/overhead-only", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a, err := ParseX509Authorization(r.Header.Get("Authorization"))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := a.checkX509(r, p.leaf, now, nil); err != nil {
					b.Fatal(err)
				}
				cr, err := x509Canonical(make([]byte, 0, sizeHint(r)), r, body, a.SignedHeaders, SessionsURI)
				if err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256(cr)
				_ = appendStringToSign(cr[:0], a.Algorithm, r.Header.Get(HeaderDate), a.Credential.Scope, &sum)
			}
		})
	}
}

func BenchmarkHMACVerify(b *testing.B) {
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r := httptest.NewRequest("POST", "https://sts.example.com/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux")
	now := time.Now()
	creds := Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: strings.Repeat("T", 600)}
	if err := SignHMAC(r, HashPayload(body), creds, "sts", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	secret := []byte(testSecret)
	for _, cached := range []bool{true, false} {
		name := "cached-key"
		o := &HMACOptions{Service: "sts", Region: "us-east-1", Keys: NewKeyCache(1024)}
		if !cached {
			name, o.Keys = "derived-key", nil
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := ParseRequest(r, now, o)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Verify(secret, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
