package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	p11 "github.com/miekg/pkcs11"
)

// TestBuildChain: the chain holds exactly the certificates on the leaf's
// issuing path, nearest first — not every certificate that fails to verify
// the leaf, which is what the official helper's inverted certIssues test
// collects (protocol.md §1.4).
func TestBuildChain(t *testing.T) {
	ca := newTestCA(t, "chain")
	other := newTestCA(t, "other")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := issue(t, ca.inter, "leaf", key.Public())
	sibling := issue(t, ca.inter, "sibling", key.Public())
	rootLeaf := issue(t, ca.root, "root leaf", key.Public())
	tests := []struct {
		name string
		leaf *x509.Certificate
		pool []*x509.Certificate
		want []*x509.Certificate
	}{
		{"full path, shuffled, with noise", leaf,
			[]*x509.Certificate{other.root.Cert, sibling, ca.root.Cert, leaf, other.inter.Cert, ca.inter.Cert},
			[]*x509.Certificate{ca.inter.Cert, ca.root.Cert}},
		{"intermediate only", leaf, []*x509.Certificate{ca.inter.Cert, other.inter.Cert}, []*x509.Certificate{ca.inter.Cert}},
		{"root without the intermediate: no path", leaf, []*x509.Certificate{ca.root.Cert, other.root.Cert}, nil},
		{"unrelated only", leaf, []*x509.Certificate{other.root.Cert, other.inter.Cert, sibling}, nil},
		{"leaf under the root", rootLeaf, []*x509.Certificate{ca.inter.Cert, ca.root.Cert}, []*x509.Certificate{ca.root.Cert}},
		{"the leaf itself is not repeated", leaf, []*x509.Certificate{leaf, leaf}, nil},
		{"self-signed leaf ends at once", ca.root.Cert, []*x509.Certificate{ca.root.Cert, ca.inter.Cert}, nil},
		{"empty pool", leaf, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buildChain(tt.leaf, tt.pool)
			if !sameCerts(got, tt.want) {
				t.Fatalf("chain = %q, want %q", names(got), names(tt.want))
			}
		})
	}
}

func TestIssuedBy(t *testing.T) {
	ca := newTestCA(t, "issued")
	other := newTestCA(t, "other")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := issue(t, ca.inter, "leaf", key.Public())
	if !issuedBy(leaf, ca.inter.Cert) {
		t.Error("the intermediate issued the leaf")
	}
	for _, c := range []*x509.Certificate{ca.root.Cert, other.inter.Cert, other.root.Cert, leaf} {
		if issuedBy(leaf, c) {
			t.Errorf("%s did not issue the leaf", c.Subject.CommonName)
		}
	}
}

func TestSignInput(t *testing.T) {
	d256 := sha256.Sum256([]byte("x"))
	d384 := make([]byte, 48)
	tests := []struct {
		name     string
		keyType  uint64
		digest   []byte
		opts     crypto.SignerOpts
		ecBytes  int
		wantMech uint
		wantLen  int
		wantErr  error
	}{
		{"RSA SHA-256: DigestInfo||digest", p11.CKK_RSA, d256[:], crypto.SHA256, 0, p11.CKM_RSA_PKCS, 19 + 32, nil},
		{"RSA SHA-384", p11.CKK_RSA, d384, crypto.SHA384, 0, p11.CKM_RSA_PKCS, 19 + 48, nil},
		{"EC SHA-256: the digest", p11.CKK_EC, d256[:], crypto.SHA256, 32, p11.CKM_ECDSA, 32, nil},
		{"EC P-256 with SHA-384: cut to the order", p11.CKK_EC, d384, crypto.SHA384, 32, p11.CKM_ECDSA, 32, nil},
		{"RSA-PSS refused", p11.CKK_RSA, d256[:], &rsa.PSSOptions{Hash: crypto.SHA256}, 0, 0, 0, ErrUnsupportedHash},
		{"SHA-1 refused", p11.CKK_RSA, make([]byte, 20), crypto.SHA1, 0, 0, 0, ErrUnsupportedHash},
		{"wrong digest length", p11.CKK_RSA, d256[:31], crypto.SHA256, 0, 0, 0, errors.New("digest is")},
		{"unknown key type", p11.CKK_AES, d256[:], crypto.SHA256, 0, 0, 0, errors.New("key type")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mech, data, err := signInput(tt.keyType, tt.digest, tt.opts, tt.ecBytes)
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) && !bytes.Contains([]byte(err.Error()), []byte(tt.wantErr.Error())) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || mech != tt.wantMech || len(data) != tt.wantLen {
				t.Fatalf("signInput = %#x, %d bytes, %v; want %#x, %d bytes", mech, len(data), err, tt.wantMech, tt.wantLen)
			}
			if !bytes.HasSuffix(data, tt.digest[:min(len(tt.digest), tt.wantLen)]) && tt.keyType == p11.CKK_RSA {
				t.Fatal("RSA input does not end with the digest")
			}
		})
	}
	// The DigestInfo prefix is what crypto/rsa signs: a raw RSA signature
	// over prefix||digest verifies as PKCS#1 v1.5 SHA-256.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, data, _ := signInput(p11.CKK_RSA, d256[:], crypto.SHA256, 0)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.Hash(0), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d256[:], sig); err != nil {
		t.Fatalf("DigestInfo prefix is wrong: %v", err)
	}
}

func TestECDSARawToDER(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("m"))
	der, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 64)
	rs.R.FillBytes(raw[:32])
	rs.S.FillBytes(raw[32:])
	got, err := ecdsaRawToDER(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&key.PublicKey, d[:], got) {
		t.Fatal("converted signature does not verify")
	}
	for _, bad := range [][]byte{nil, {1}, make([]byte, 63)} {
		if _, err := ecdsaRawToDER(bad); err == nil {
			t.Errorf("ecdsaRawToDER(%d bytes) succeeded", len(bad))
		}
	}
}

func TestECPointEqual(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	point, _ := key.PublicKey.Bytes()
	wrapped, _ := asn1.Marshal(point)
	other := bytes.Clone(point)
	other[10] ^= 1
	if !ecPointEqual(wrapped, point) || !ecPointEqual(point, point) {
		t.Error("DER-wrapped or raw point not recognised")
	}
	if ecPointEqual(other, point) {
		t.Error("different points compare equal")
	}
}
