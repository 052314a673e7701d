package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// testCA returns a root issuer and, if inter, an intermediate issuer under it.
func testCA(t testing.TB, kt KeyType, inter bool) (root, issuer *Issuer) {
	t.Helper()
	rk, err := GenerateKey(kt, nil)
	if err != nil {
		t.Fatal(err)
	}
	pathLen := 0
	if inter {
		pathLen = 1
	}
	rc, err := NewRootCA(rk, CAOptions{Subject: pkix.Name{CommonName: "Test Root"}, MaxPathLen: pathLen})
	if err != nil {
		t.Fatal(err)
	}
	root = &Issuer{Cert: rc, Key: rk}
	if !inter {
		return root, root
	}
	ik, err := GenerateKey(kt, nil)
	if err != nil {
		t.Fatal(err)
	}
	ic, clamped, err := root.NewIntermediateCA(ik.Public(), CAOptions{Subject: pkix.Name{CommonName: "Test Intermediate"}})
	if err != nil || clamped {
		t.Fatalf("NewIntermediateCA: %v clamped=%v", err, clamped)
	}
	return root, &Issuer{Cert: ic, Key: ik}
}

func TestCACertificates(t *testing.T) {
	for _, kt := range []KeyType{ECP256, ECP384, RSA2048} {
		t.Run(string(kt), func(t *testing.T) {
			root, inter := testCA(t, kt, true)
			for _, tc := range []struct {
				c       *x509.Certificate
				pathLen int
				years   int
			}{{root.Cert, 1, 10}, {inter.Cert, 0, 5}} {
				c := tc.c
				if c.Version != 3 || !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != tc.pathLen {
					t.Errorf("%s: version %d bc %v CA %v pathlen %d", c.Subject, c.Version, c.BasicConstraintsValid, c.IsCA, c.MaxPathLen)
				}
				if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature; c.KeyUsage != want {
					t.Errorf("%s: key usage %v", c.Subject, KeyUsageNames(c.KeyUsage))
				}
				if len(c.SubjectKeyId) == 0 || len(c.AuthorityKeyId) == 0 {
					t.Errorf("%s: SKI %x AKI %x", c.Subject, c.SubjectKeyId, c.AuthorityKeyId)
				}
				if got := c.NotAfter.Sub(c.NotBefore) - Backdate; got.Round(time.Hour) != time.Duration(tc.years)*Year {
					t.Errorf("%s: validity %v, want %d years", c.Subject, got, tc.years)
				}
				if !hasCriticalExt(c, oidBasicConstraints) || !hasCriticalExt(c, oidKeyUsage) {
					t.Errorf("%s: basicConstraints/keyUsage not critical", c.Subject)
				}
			}
			want := x509.ECDSAWithSHA256
			switch kt {
			case ECP384:
				want = x509.ECDSAWithSHA384
			case RSA2048:
				want = x509.SHA256WithRSA
			}
			if inter.Cert.SignatureAlgorithm != want {
				t.Errorf("signature %v, want %v", inter.Cert.SignatureAlgorithm, want)
			}
			if !bytes.Equal(inter.Cert.AuthorityKeyId, root.Cert.SubjectKeyId) {
				t.Error("intermediate AKI != root SKI")
			}
		})
	}
}

func hasCriticalExt(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical
		}
	}
	return false
}

func TestIssueClientMeetsRolesAnywhereRules(t *testing.T) {
	root, inter := testCA(t, ECP256, true)
	key, _ := GenerateKey(ECP256, nil)
	var sans SANs
	if err := sans.ParseSAN("uri:spiffe://example.org/wl"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	is, err := inter.Issue(LeafRequest{Profile: ProfileClient, Subject: pkix.Name{CommonName: "wl"}, SANs: sans, PublicKey: key.Public(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	c := is.Cert
	if ps := CheckLeaf(c, now); len(ps) != 0 {
		t.Fatalf("CheckLeaf: %v", ps)
	}
	if p := CheckChain(c, []*x509.Certificate{inter.Cert}, []*x509.Certificate{root.Cert}, now); p != nil {
		t.Fatalf("CheckChain: %v", p)
	}
	if is.Clamped {
		t.Error("clamped unexpectedly")
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("EKU %v", ExtKeyUsageNames(c))
	}
	if c.SerialNumber.Sign() <= 0 || len(c.SerialNumber.Bytes()) > 16 {
		t.Errorf("serial %x", c.SerialNumber)
	}
	if got := c.NotAfter.Sub(now).Round(time.Hour); got != DefaultClientValidity {
		t.Errorf("validity %v", got)
	}
	if c.URIs[0].String() != "spiffe://example.org/wl" {
		t.Errorf("URIs %v", c.URIs)
	}
}

func TestIssueServerAddsCNAsSAN(t *testing.T) {
	_, iss := testCA(t, ECP256, false)
	key, _ := GenerateKey(RSA2048, nil)
	is, err := iss.Issue(LeafRequest{Profile: ProfileServer, Subject: pkix.Name{CommonName: "roam.example.com"}, PublicKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	c := is.Cert
	if len(c.DNSNames) != 1 || c.DNSNames[0] != "roam.example.com" {
		t.Errorf("DNSNames %v", c.DNSNames)
	}
	if c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || c.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		t.Errorf("server usages: %v %v", KeyUsageNames(c.KeyUsage), ExtKeyUsageNames(c))
	}
	if _, err := iss.Issue(LeafRequest{Profile: ProfileServer, Subject: pkix.Name{CommonName: "not a host"}, PublicKey: key.Public()}); err == nil {
		t.Error("server cert with non-DNS CN and no SAN was issued")
	}
}

func TestIssueClampsToIssuer(t *testing.T) {
	rk, _ := GenerateKey(ECP256, nil)
	rc, err := NewRootCA(rk, CAOptions{Subject: pkix.Name{CommonName: "short"}, Validity: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{Cert: rc, Key: rk}
	key, _ := GenerateKey(ECP256, nil)
	is, err := iss.Issue(LeafRequest{Subject: pkix.Name{CommonName: "c"}, PublicKey: key.Public(), Validity: 30 * Day})
	if err != nil {
		t.Fatal(err)
	}
	if !is.Clamped || !is.Cert.NotAfter.Equal(rc.NotAfter) {
		t.Errorf("clamped=%v notAfter=%v root=%v", is.Clamped, is.Cert.NotAfter, rc.NotAfter)
	}
	_, err = iss.Issue(LeafRequest{Subject: pkix.Name{CommonName: "c"}, PublicKey: key.Public(), Now: rc.NotAfter.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("issuing from an expired CA: %v", err)
	}
}

func TestIssueRejects(t *testing.T) {
	_, iss := testCA(t, ECP256, false)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	good, _ := GenerateKey(ECP256, nil)
	for name, req := range map[string]LeafRequest{
		"empty CN": {Subject: pkix.Name{}, PublicKey: good.Public()},
		"RSA-1024": {Subject: pkix.Name{CommonName: "x"}, PublicKey: small.Public()},
		"P-521":    {Subject: pkix.Name{CommonName: "x"}, PublicKey: p521.Public()},
		"profile":  {Profile: "codesign", Subject: pkix.Name{CommonName: "x"}, PublicKey: good.Public()},
	} {
		if _, err := iss.Issue(req); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
}

// makeCert signs tmpl with the issuer, overriding defaults, for lint tests.
func makeCert(t *testing.T, iss *Issuer, pub crypto.PublicKey, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "leaf"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, pub, iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckLeaf(t *testing.T) {
	_, iss := testCA(t, ECP256, false)
	key, _ := GenerateKey(ECP256, nil)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	now := time.Now()
	tests := []struct {
		name  string
		pub   crypto.PublicKey
		edit  func(*x509.Certificate)
		rules []string
	}{
		{"good", key.Public(), func(*x509.Certificate) {}, nil},
		{"CA:TRUE", key.Public(), func(c *x509.Certificate) { c.IsCA = true; c.KeyUsage |= x509.KeyUsageCertSign }, []string{RuleBasicConstraints}},
		{"no basicConstraints", key.Public(), func(c *x509.Certificate) { c.BasicConstraintsValid = false }, []string{RuleBasicConstraints}},
		{"no keyUsage", key.Public(), func(c *x509.Certificate) { c.KeyUsage = 0 }, []string{RuleKeyUsage}},
		{"keyEncipherment only", key.Public(), func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment }, []string{RuleKeyUsage}},
		{"RSA-1024", small.Public(), func(*x509.Certificate) {}, []string{RuleKeyType}},
		{"expired", key.Public(), func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-2*Day), now.Add(-Day) }, []string{RuleValidity}},
		{"not yet valid", key.Public(), func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(Day), now.Add(2*Day) }, []string{RuleValidity}},
		{"empty subject", key.Public(), func(c *x509.Certificate) {
			c.Subject = pkix.Name{}
			c.DNSNames = []string{"x.example"}
		}, []string{RuleSubject}},
		{"everything", small.Public(), func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.KeyUsage, c.Subject = false, 0, pkix.Name{}
			c.DNSNames = []string{"x.example"}
			c.NotBefore, c.NotAfter = now.Add(-2*Day), now.Add(-Day)
		}, []string{RuleBasicConstraints, RuleKeyUsage, RuleKeyType, RuleSubject, RuleValidity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := makeCert(t, iss, tt.pub, tt.edit)
			var got []string
			for _, p := range CheckLeaf(c, now) {
				got = append(got, p.Rule)
				if p.Message == "" {
					t.Errorf("rule %s has no message", p.Rule)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.rules, ",") {
				t.Errorf("CheckLeaf rules = %v, want %v", got, tt.rules)
			}
		})
	}
}

func TestCheckChainWrongAnchor(t *testing.T) {
	_, iss := testCA(t, ECP256, false)
	other, _ := testCA(t, ECP256, false)
	key, _ := GenerateKey(ECP256, nil)
	c := makeCert(t, iss, key.Public(), func(*x509.Certificate) {})
	if p := CheckChain(c, nil, []*x509.Certificate{other.Cert}, time.Now()); p == nil || p.Rule != RuleChain {
		t.Errorf("CheckChain with a foreign anchor = %v", p)
	}
	if p := CheckChain(c, nil, []*x509.Certificate{iss.Cert}, time.Now()); p != nil {
		t.Errorf("CheckChain = %v", p)
	}
}

func TestPrivateKeyPEM(t *testing.T) {
	key, _ := GenerateKey(ECP256, nil)
	pw := []byte("correct horse")
	enc, err := MarshalPrivateKeyPEM(key, pw, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !IsEncryptedKeyPEM(enc) || bytes.Contains(enc, pw) {
		t.Fatal("key not encrypted")
	}
	got, err := ParsePrivateKeyPEM(enc, pw)
	if err != nil || !got.(*ecdsa.PrivateKey).Equal(key) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := ParsePrivateKeyPEM(enc, []byte("wrong")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := ParsePrivateKeyPEM(enc, nil); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("no password: %v", err)
	}
	if _, err := ParsePrivateKeyPEM(enc[:len(enc)/2], pw); err == nil {
		t.Error("truncated key parsed")
	}
	plain, _ := MarshalPrivateKeyPEM(key, nil, 0)
	if IsEncryptedKeyPEM(plain) {
		t.Error("plain key marked encrypted")
	}
	if _, err := ParsePrivateKeyPEM(plain, nil); err != nil {
		t.Error(err)
	}
	// An absurd iteration count is refused before any derivation runs.
	huge := pem.EncodeToMemory(&pem.Block{Type: pemEncryptedPrivateKey, Bytes: encryptedKeyWithIterations(t, maxKDFIterations+1)})
	if _, err := ParsePrivateKeyPEM(huge, pw); err == nil || !strings.Contains(err.Error(), "iteration count") {
		t.Errorf("huge iteration count: %v", err)
	}
}

func TestEncryptedKeyOpensWithOpenSSL(t *testing.T) {
	openssl := lookOpenSSL(t)
	dir := t.TempDir()
	for _, kt := range []KeyType{ECP256, RSA2048} {
		key, _ := GenerateKey(kt, nil)
		enc, err := MarshalPrivateKeyPEM(key, []byte("s3cret"), 0)
		if err != nil {
			t.Fatal(err)
		}
		kf, pf := filepath.Join(dir, "k.pem"), filepath.Join(dir, "pw")
		os.WriteFile(kf, enc, 0o600)
		os.WriteFile(pf, []byte("s3cret\n"), 0o600)
		out, err := exec.Command(openssl, "pkey", "-in", kf, "-passin", "file:"+pf, "-pubout").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl pkey: %v\n%s", err, out)
		}
		der, _ := x509.MarshalPKIXPublicKey(key.Public())
		if want := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}); !bytes.Equal(out, want) {
			t.Errorf("openssl opened a different key:\n%s", out)
		}
		// And the other way: what openssl encrypts, ParsePrivateKeyPEM opens.
		// (openssl reads two lines when -passin and -passout name one file.)
		pf2 := filepath.Join(dir, "pw2")
		os.WriteFile(pf2, []byte("s3cret\n"), 0o600)
		out, err = exec.Command(openssl, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-in", kf, "-passin", "file:"+pf, "-passout", "file:"+pf2).Output()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePrivateKeyPEM(out, []byte("s3cret")); err != nil {
			t.Errorf("openssl-encrypted key: %v", err)
		}
	}
}

func lookOpenSSL(t *testing.T) string {
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	return p
}

func TestCRL(t *testing.T) {
	_, iss := testCA(t, ECP384, true)
	now := time.Now().Truncate(time.Second)
	der, err := iss.CreateCRL([]RevokedCert{{Serial: big.NewInt(99), RevokedAt: now, Reason: ReasonKeyCompromise}}, CRLOptions{Number: big.NewInt(3)})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(iss.Cert); err != nil {
		t.Fatal(err)
	}
	e := crl.RevokedCertificateEntries
	if crl.Number.Int64() != 3 || len(e) != 1 || e[0].SerialNumber.Int64() != 99 || e[0].ReasonCode != int(ReasonKeyCompromise) {
		t.Errorf("CRL number %v entries %+v", crl.Number, e)
	}
	if !bytes.Equal(crl.AuthorityKeyId, iss.Cert.SubjectKeyId) || crl.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Errorf("AKI %x alg %v", crl.AuthorityKeyId, crl.SignatureAlgorithm)
	}
	if _, err := iss.CreateCRL(nil, CRLOptions{}); err == nil {
		t.Error("CRL without number")
	}
}

func TestPKCS12RoundTrip(t *testing.T) {
	_, iss := testCA(t, ECP256, true)
	key, _ := GenerateKey(ECP256, nil)
	is, _ := iss.Issue(LeafRequest{Subject: pkix.Name{CommonName: "p12"}, PublicKey: key.Public()})
	for _, legacy := range []bool{false, true} {
		p12, err := EncodePKCS12(key, is.Cert, []*x509.Certificate{iss.Cert}, "pw", legacy)
		if err != nil {
			t.Fatal(err)
		}
		k, c, chain, err := pkcs12.DecodeChain(p12, "pw")
		if err != nil || !c.Equal(is.Cert) || len(chain) != 1 || !k.(*ecdsa.PrivateKey).Equal(key) {
			t.Fatalf("legacy=%v: DecodeChain: %v", legacy, err)
		}
		obj, err := DecodePKCS12(p12, "pw")
		if err != nil || obj.Kind != KindPKCS12 || len(obj.Certificates) != 2 {
			t.Fatalf("DecodePKCS12: %v", err)
		}
		if _, err := DecodePKCS12(p12, "nope"); err == nil || !strings.Contains(err.Error(), "wrong password") {
			t.Errorf("wrong password: %v", err)
		}
		if o, err := Decode(p12); !errors.Is(err, ErrNeedsPassword) || o.Kind != KindPKCS12 {
			t.Errorf("Decode(p12) = %v, %v", o, err)
		}
	}
	other, _ := GenerateKey(ECP256, nil)
	if _, err := EncodePKCS12(other, is.Cert, nil, "pw", false); err == nil {
		t.Error("mismatched key accepted")
	}
}

func TestDecodeKinds(t *testing.T) {
	_, iss := testCA(t, ECP256, false)
	key, _ := GenerateKey(ECP256, nil)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "csr"}}, key)
	crlDER, _ := iss.CreateCRL(nil, CRLOptions{Number: big.NewInt(1)})
	certDER := iss.Cert.Raw
	tests := []struct {
		name string
		data []byte
		kind Kind
	}{
		{"cert PEM", EncodeCertificatesPEM(iss.Cert, iss.Cert), KindCertificate},
		{"cert DER", certDER, KindCertificate},
		{"CSR PEM", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), KindCSR},
		{"CSR DER", csrDER, KindCSR},
		{"CRL PEM", EncodeCRLPEM(crlDER), KindCRL},
		{"CRL DER", crlDER, KindCRL},
	}
	for _, tt := range tests {
		obj, err := Decode(tt.data)
		if err != nil || obj.Kind != tt.kind {
			t.Errorf("%s: Decode = %v, %v; want %s", tt.name, obj, err, tt.kind)
		}
	}
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello"),
		"key PEM":   []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"truncated": certDER[:len(certDER)/2],
		"garbage":   {0x30, 0x03, 0x02, 0x01},
	} {
		if obj, err := Decode(bad); err == nil {
			t.Errorf("%s: Decode = %+v, want error", name, obj)
		}
	}
}

func TestParseCSR(t *testing.T) {
	key, _ := GenerateKey(ECP256, nil)
	good, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ok"}, DNSNames: []string{"a.example"}}, key)
	if csr, err := ParseCSR(good); err != nil || CSRSANs(csr).Strings()[0] != "dns:a.example" {
		t.Fatalf("ParseCSR(good): %v", err)
	}
	bcDER, _ := asn1.Marshal(struct{ IsCA bool }{true})
	ca, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:         pkix.Name{CommonName: "ca"},
		ExtraExtensions: []pkix.Extension{{Id: oidBasicConstraints, Critical: true, Value: bcDER}},
	}, key)
	if _, err := ParseCSR(ca); err == nil || !strings.Contains(err.Error(), "CA:TRUE") {
		t.Errorf("CA CSR: %v", err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-5] ^= 0xff
	if _, err := ParseCSR(bad); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("bad signature: %v", err)
	}
}

func TestPublicKeyID(t *testing.T) {
	key, _ := GenerateKey(ECP256, nil)
	id, err := PublicKeyID(key.Public())
	if err != nil || len(id) != 20 {
		t.Fatal(id, err)
	}
	pt := key.Public().(*ecdsa.PublicKey)
	raw, _ := pt.Bytes()
	sum := sha256.Sum256(raw)
	if !bytes.Equal(id, sum[:20]) {
		t.Error("SKI is not SHA-256(subjectPublicKey)[:20]")
	}
}

// encryptedKeyWithIterations builds an EncryptedPrivateKeyInfo shell whose
// PBKDF2 parameters claim n iterations.
func encryptedKeyWithIterations(t *testing.T, n int) []byte {
	type kdfParams struct {
		Salt       []byte
		Iterations int
	}
	type kdf struct {
		Algorithm asn1.ObjectIdentifier
		Params    kdfParams
	}
	type enc struct {
		Algorithm asn1.ObjectIdentifier
		IV        []byte
	}
	type pbes2 struct {
		KDF kdf
		Enc enc
	}
	type algo struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters pbes2
	}
	type epki struct {
		Algo algo
		Data []byte
	}
	oidPBES2 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidAES256CBC := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	der, err := asn1.Marshal(epki{
		Algo: algo{oidPBES2, pbes2{kdf{oidPBKDF2, kdfParams{make([]byte, 16), n}}, enc{oidAES256CBC, make([]byte, 16)}}},
		Data: make([]byte, 48),
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}
