package rfclint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
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

// TestLintMatchesZlint checks Lint against zlint's own entry point over the
// same lints (the test binary links all of zlint; roam links lints/rfc only).
func TestLintMatchesZlint(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuer := &x509.Certificate{Subject: pkix.Name{CommonName: "issuer"}, SubjectKeyId: []byte{1, 2, 3}}
	for i, tmpl := range []*x509.Certificate{
		{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: []pkix.Extension{{Id: []int{2, 5, 29, 17}, Value: []byte{0x30, 0x00}}}},
		{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ok"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, DNSNames: []string{"a.example"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{SerialNumber: big.NewInt(3), Subject: pkix.Name{}, NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(-time.Hour),
			IsCA: true, BasicConstraintsValid: true},
	} {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		got, err := Lint(cert)
		if err != nil {
			t.Fatal(err)
		}
		zc, _ := zx509.ParseCertificate(der)
		reg, _ := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: Sources})
		var want []Finding
		for name, r := range zlint.LintCertificateEx(zc, reg).Results {
			if r != nil && r.Status >= lint.Warn {
				msg := r.LintMetadata.Description
				if r.Details != "" {
					msg += " (" + r.Details + ")"
				}
				want = append(want, Finding{Lint: name, Level: r.Status.String(), Message: msg, Source: r.LintMetadata.Citation})
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i].Lint < want[j].Lint })
		if !reflect.DeepEqual(got, want) {
			t.Errorf("certificate %d: Lint = %v\nzlint: %v", i, got, want)
		}
	}
}
