package helper

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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

	"github.com/roam-project/roam/pki"
)

func mkCert(t *testing.T, k any, pub any) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4660), Subject: pkix.Name{CommonName: "t"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestFileSigner: every file key format opens, and the key is checked
// against the certificate.
func TestFileSigner(t *testing.T) {
	dir := t.TempDir()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecCert, rsaCert := mkCert(t, ec, ec.Public()), mkCert(t, rk, rk.Public())
	w := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	p8, _ := x509.MarshalPKCS8PrivateKey(ec)
	enc, err := pki.MarshalPrivateKeyPEM(ec, []byte("pw"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pki.EncodeCertificatesPEM(ecCert)
	ecCertPath := w("ec.pem", ecPEM)
	rsaCertPath := w("rsa.pem", pki.EncodeCertificatesPEM(rsaCert))
	pwFile := w("pw", []byte("pw\n"))
	p12Modern, _ := pki.EncodePKCS12(ec, ecCert, nil, "secret", false)
	p12Legacy, _ := pki.EncodePKCS12(rk, rsaCert, nil, "", true)
	p12PW := w("p12pw", []byte("secret"))
	tests := []struct {
		name    string
		opts    SignerOptions
		wantErr string
	}{
		{"pkcs1", SignerOptions{Certificate: rsaCertPath, PrivateKey: w("rsa1.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))}, ""},
		{"sec1", SignerOptions{Certificate: ecCertPath, PrivateKey: w("sec1.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))}, ""},
		{"pkcs8", SignerOptions{Certificate: ecCertPath, PrivateKey: w("p8.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))}, ""},
		{"encrypted pkcs8 password file", SignerOptions{Certificate: ecCertPath, PrivateKey: w("enc.key", enc), PasswordFile: pwFile}, ""},
		{"encrypted pkcs8 --pkcs8-password", SignerOptions{Certificate: ecCertPath, PrivateKey: w("enc2.key", enc), PKCS8Password: "pw"}, ""},
		{"encrypted pkcs8 no password", SignerOptions{Certificate: ecCertPath, PrivateKey: w("enc3.key", enc)}, "--private-key-password-file"},
		{"encrypted pkcs8 wrong password", SignerOptions{Certificate: ecCertPath, PrivateKey: w("enc4.key", enc), PKCS8Password: "nope"}, "incorrect private key password"},
		{"combined pem", SignerOptions{Certificate: w("combined.pem", append(append([]byte{}, ecPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...))}, ""},
		{"pkcs12 modern password", SignerOptions{Certificate: w("m.p12", p12Modern), PasswordFile: p12PW}, ""},
		{"pkcs12 modern no password", SignerOptions{Certificate: w("m2.p12", p12Modern)}, "PKCS#12"},
		{"pkcs12 legacy", SignerOptions{Certificate: w("l.p12", p12Legacy)}, ""},
		{"key mismatch", SignerOptions{Certificate: rsaCertPath, PrivateKey: w("p8b.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))}, "does not match"},
		{"no key", SignerOptions{Certificate: ecCertPath}, "no private key"},
		{"no certificate", SignerOptions{}, "no certificate"},
		{"pkcs11 unavailable", SignerOptions{Certificate: "pkcs11:token=x"}, "PKCS#11"},
		{"bad intermediates", SignerOptions{Certificate: ecCertPath, PrivateKey: w("p8c.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})), Intermediates: w("bad.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))}, "invalid certificate chain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSigner(context.Background(), &tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "nope") {
					t.Fatalf("error leaks a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := CheckSigner(s); err != nil {
				t.Fatal(err)
			}
			if _, err := SignString(s, crypto.SHA256, "text"); err != nil {
				t.Fatal(err)
			}
		})
	}
	if !errors.Is(CheckSigner(&fileSigner{Signer: ec, cert: rsaCert}), ErrKeyMismatch) {
		t.Fatal("mismatch not detected")
	}
}
