package rfclint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestLintReportsRFCFindingsOnly(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "leaf"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// An empty SAN extension is an RFC 5280 error.
		ExtraExtensions: []pkix.Extension{{Id: []int{2, 5, 29, 17}, Value: []byte{0x30, 0x00}}},
	}
	issuer := &x509.Certificate{Subject: pkix.Name{CommonName: "issuer"}, SubjectKeyId: []byte{1, 2, 3}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	fs, err := Lint(cert)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Lint)
		if f.Level != "warn" && f.Level != "error" && f.Level != "fatal" {
			t.Errorf("%s: level %q", f.Lint, f.Level)
		}
		if strings.HasPrefix(f.Source, "BRs") {
			t.Errorf("CA/B Forum lint %s was run", f.Lint)
		}
	}
	if !strings.Contains(strings.Join(names, ","), "e_ext_san_no_entries") {
		t.Errorf("findings %v lack e_ext_san_no_entries", names)
	}
}
