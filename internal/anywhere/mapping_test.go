package anywhere

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
)

func rdnSeq(pairs ...string) pkix.RDNSequence {
	var seq pkix.RDNSequence
	for i := 0; i < len(pairs); i += 2 {
		name, _ := canonicalRDN(pairs[i])
		var oid asn1.ObjectIdentifier
		for _, r := range rdns {
			if r.name == name {
				oid = r.oid
			}
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: pairs[i+1]}})
	}
	return seq
}

// dirNameSAN builds a subjectAltName extension holding one DNS name, one URI
// and one directoryName, which crypto/x509 templates cannot express.
func dirNameSAN(t *testing.T, dns, uri string, dn pkix.RDNSequence) pkix.Extension {
	t.Helper()
	dnDER, err := asn1.Marshal(dn)
	if err != nil {
		t.Fatal(err)
	}
	var names []asn1.RawValue
	names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(dns)})
	names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(uri)})
	names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dnDER})
	val, err := asn1.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidSubjectAltName, Value: val}
}

func makeCert(t *testing.T, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(0x61d5)
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestSessionTags(t *testing.T) {
	full := makeCert(t, &x509.Certificate{
		RawSubject:      mustMarshal(t, rdnSeq("C", "US", "O", "Example Corp", "OU", "Security", "OU", "Engineering", "CN", "MyOnpremVM")),
		ExtraExtensions: []pkix.Extension{dirNameSAN(t, "vm1.example.com", "spiffe://example.org/ns/prod/sa/web", rdnSeq("CN", "dir-cn", "O", "dir-org"))},
	})
	tests := []struct {
		name     string
		cert     *x509.Certificate
		mappings []store.AttributeMapping
		want     []Tag
		wantErr  string
	}{
		{
			name: "default mapping, multi-valued OU joined with slash in certificate order",
			cert: full,
			want: []Tag{
				{"x509Subject/C", "US"}, {"x509Subject/O", "Example Corp"}, {"x509Subject/OU", "Security/Engineering"}, {"x509Subject/CN", "MyOnpremVM"},
				{"x509Issuer/C", "US"}, {"x509Issuer/O", "Example Corp"}, {"x509Issuer/OU", "Security/Engineering"}, {"x509Issuer/CN", "MyOnpremVM"},
				{"x509SAN/DNS", "vm1.example.com"}, {"x509SAN/URI", "spiffe://example.org/ns/prod/sa/web"},
				{"x509SAN/Name/CN", "dir-cn"}, {"x509SAN/Name/O", "dir-org"},
			},
		},
		{
			name:     "only subject CN and SAN DNS",
			cert:     full,
			mappings: []store.AttributeMapping{{CertificateField: FieldSubject, MappingRules: []store.MappingRule{{Specifier: "CN"}}}, {CertificateField: FieldSAN, MappingRules: []store.MappingRule{{Specifier: "DNS"}}}},
			want:     []Tag{{"x509Subject/CN", "MyOnpremVM"}, {"x509SAN/DNS", "vm1.example.com"}},
		},
		{
			name:     "empty mapping list maps nothing",
			cert:     full,
			mappings: []store.AttributeMapping{},
			want:     nil,
		},
		{
			name:    "issuer value outside the STS tag charset fails the mapping",
			cert:    makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Smith & Sons"}}),
			wantErr: "Unable to assume role. Some attributes failed to be mapped into session tags. Issuer: [ CN ]; Subject: [ CN ]; SAN: [  ]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SessionTags(tt.cert, tt.mappings)
			if tt.wantErr != "" {
				ae, ok := apierr.As(err)
				if !ok || ae.Code != "AccessDeniedException" || ae.Message != tt.wantErr {
					t.Fatalf("err = %v, want AccessDeniedException %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tags =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSourceIdentityAndSessionName(t *testing.T) {
	tests := []struct {
		cn      string
		serial  int64
		want    string
		session string
	}{
		{cn: "MyOnpremVM", serial: 291, want: "CN=MyOnpremVM", session: "0123"},
		{cn: strings.Repeat("a", 61), serial: 17767, want: "CN=" + strings.Repeat("a", 61), session: "4567"},
		{cn: strings.Repeat("b", 62), serial: 1, want: strings.Repeat("b", 62), session: "01"},
		{cn: strings.Repeat("c", 64), serial: 1, want: strings.Repeat("c", 64), session: "01"},
		{cn: strings.Repeat("d", 65), serial: 291, want: "ID=0123", session: "0123"},
		{cn: "", serial: 291, want: "ID=0123", session: "0123"},
		{cn: "", serial: 17767, want: "ID=4567", session: "4567"},
		{cn: "bad;cn", serial: 255, want: "ID=ff", session: "ff"},
	}
	for _, tt := range tests {
		cert := makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: tt.cn, Organization: []string{"o"}}, SerialNumber: big.NewInt(tt.serial)})
		if got := SourceIdentity(cert); got != tt.want {
			t.Errorf("SourceIdentity(cn=%q) = %q, want %q", tt.cn, got, tt.want)
		}
		if got := HexSerial(cert.SerialNumber); got != tt.session {
			t.Errorf("HexSerial(%d) = %q, want %q", tt.serial, got, tt.session)
		}
	}
}

func TestNormalizeSpecifier(t *testing.T) {
	tests := []struct{ field, spec, want, err string }{
		{FieldSubject, "cn", "CN", ""},
		{FieldSubject, "*", "*", ""},
		{FieldIssuer, "emailaddress", "emailAddress", ""},
		{FieldSAN, "Name", "Name/*", ""},
		{FieldSAN, "Name/", "Name/*", ""},
		{FieldSAN, "Name/ou", "Name/OU", ""},
		{FieldSAN, "*", "", "unknown specifier"},
		{FieldSubject, "XYZ", "", "unknown specifier"},
		{"x509Certificate", "CN", "", "unknown certificate field"},
	}
	for _, tt := range tests {
		got, err := NormalizeSpecifier(tt.field, tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeSpecifier(%s, %s) err = %v, want %q", tt.field, tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeSpecifier(%s, %s) = %q, %v; want %q", tt.field, tt.spec, got, err, tt.want)
		}
	}
}
