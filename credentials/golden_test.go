package credentials_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/aws/session"
	official "github.com/aws/rolesanywhere-credential-helper/aws_signing_helper"
	"github.com/aws/rolesanywhere-credential-helper/rolesanywhere"

	"github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

const (
	goldenAnchor  = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/11111111-2222-3333-4444-555555555555"
	goldenProfile = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/66666666-7777-8888-9999-000000000000"
	goldenRole    = "arn:aws:iam::123456789012:role/TestRole"
)

// capturingSigner records what the official helper passes to Sign: the
// string to sign itself (its signers hash internally).
type capturingSigner struct {
	official.Signer
	mu  sync.Mutex
	sts []byte
	sig []byte
}

func (c *capturingSigner) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := c.Signer.Sign(r, msg, opts)
	c.mu.Lock()
	c.sts, c.sig = append([]byte(nil), msg...), sig
	c.mu.Unlock()
	return sig, err
}

type goldenPKI struct {
	key                  *rsa.PrivateKey
	leaf                 *x509.Certificate
	inter                *x509.Certificate
	certPath, keyPath    string
	bundlePath, endpoint string
}

func newGoldenPKI(t *testing.T) *goldenPKI {
	t.Helper()
	dir := t.TempDir()
	mk := func(cn string, serial int64, parent *x509.Certificate, parentKey crypto.Signer, isCA bool) (*rsa.PrivateKey, *x509.Certificate) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: isCA,
		}
		if isCA {
			tmpl.KeyUsage |= x509.KeyUsageCertSign
		}
		if parent == nil {
			parent, parentKey = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return k, c
	}
	ik, inter := mk("golden intermediate", 7, nil, nil, true)
	lk, leaf := mk("golden leaf", 0x0A1B2C3D4E5F6071, inter, ik, false)
	g := &goldenPKI{key: lk, leaf: leaf, inter: inter, endpoint: "http://127.0.0.1:38733"}
	g.certPath = filepath.Join(dir, "leaf.pem")
	g.keyPath = filepath.Join(dir, "leaf.key")
	g.bundlePath = filepath.Join(dir, "chain.pem")
	keyPEM, err := pki.MarshalPrivateKeyPEM(lk, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range map[string][]byte{g.certPath: pki.EncodeCertificatesPEM(leaf), g.keyPath: keyPEM, g.bundlePath: pki.EncodeCertificatesPEM(inter)} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// TestGoldenOfficialHelper: for the same certificate, key, chain, ARNs,
// date and body, the official helper's aws_signing_helper package and
// roam's client produce the same canonical request and string to sign, and
// the same (deterministic RSA PKCS#1 v1.5) signature, each verifying with
// the other side's code.
func TestGoldenOfficialHelper(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	for _, tc := range []struct {
		name        string
		duration    int64
		sessionName string
		chain       bool
	}{
		{"plain", 3600, "", false},
		{"chain", 3600, "", true},
		{"session-name", 900, "my session  name", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGoldenPKI(t)
			bundle := ""
			if tc.chain {
				bundle = g.bundlePath
			}
			// The official side.
			osg, alg, err := official.GetFileSystemSigner(g.keyPath, g.certPath, bundle, false)
			if err != nil {
				t.Fatal(err)
			}
			cs := &capturingSigner{Signer: osg}
			cert, _ := osg.Certificate()
			chain, _ := osg.CertificateChain()
			sess := session.Must(session.NewSession())
			client := rolesanywhere.New(sess, awsv1.NewConfig().WithRegion("us-east-1").WithEndpoint(g.endpoint))
			client.Handlers.Sign.Clear()
			client.Handlers.Sign.PushBack(official.CreateRequestSignFunction(cs, alg, cert, chain))
			certB64 := "unused" // the official helper sets Cert; it becomes X-Amz-X509, overwritten when signing
			in := &rolesanywhere.CreateSessionInput{Cert: &certB64, ProfileArn: awsv1.String(goldenProfile),
				TrustAnchorArn: awsv1.String(goldenAnchor), RoleArn: awsv1.String(goldenRole), DurationSeconds: awsv1.Int64(tc.duration)}
			if tc.sessionName != "" {
				in.RoleSessionName = awsv1.String(tc.sessionName)
			}
			oreq, _ := client.CreateSessionRequest(in)
			if err := oreq.Sign(); err != nil {
				t.Fatal(err)
			}
			ohttp := oreq.HTTPRequest
			obody := readBody(t, oreq)
			amzDate := ohttp.Header.Get("X-Amz-Date")
			date, err := time.Parse(sigv4.TimeFormat, amzDate)
			if err != nil {
				t.Fatalf("official X-Amz-Date %q: %v", amzDate, err)
			}

			// roam's side, same inputs and date.
			var rchain []*x509.Certificate
			if tc.chain {
				rchain = []*x509.Certificate{g.inter}
			}
			rs, err := credentials.NewSigner(g.key, g.leaf, rchain...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := credentials.New(credentials.Options{Signer: rs, TrustAnchorARN: goldenAnchor, ProfileARN: goldenProfile,
				RoleARN: goldenRole, Endpoint: g.endpoint, Duration: time.Duration(tc.duration) * time.Second, RoleSessionName: tc.sessionName})
			if err != nil {
				t.Fatal(err)
			}
			rreq, rbody, err := p.Request(context.Background(), date)
			if err != nil {
				t.Fatal(err)
			}

			if string(rbody) != string(obody) {
				t.Errorf("body: roam %s, official %s", rbody, obody)
			}
			if rreq.URL.String() != ohttp.URL.String() {
				t.Errorf("URL: roam %s\nofficial %s", rreq.URL, ohttp.URL)
			}
			// Canonical request and string to sign: computed by roam's
			// canonicaliser for both requests; the official one must equal
			// what the official code actually signed.
			ocr, osts := canonical(t, ohttp, obody)
			rcr, rsts := canonical(t, rreq, rbody)
			if osts != string(cs.sts) {
				t.Fatalf("roam's canonicalisation of the official request differs from the official string to sign:\nroam:\n%s\nofficial:\n%s", osts, cs.sts)
			}
			if rcr != ocr {
				t.Errorf("canonical request:\nroam:\n%s\nofficial:\n%s", rcr, ocr)
			}
			if rsts != string(cs.sts) {
				t.Errorf("string to sign:\nroam:\n%s\nofficial:\n%s", rsts, cs.sts)
			}
			crHash := sha256.Sum256([]byte(rcr))
			if !strings.HasSuffix(string(cs.sts), hex.EncodeToString(crHash[:])) {
				t.Errorf("official string to sign does not end in SHA-256(roam canonical request)")
			}
			if ra, oa := rreq.Header.Get("Authorization"), ohttp.Header.Get("Authorization"); ra != oa {
				t.Errorf("Authorization:\nroam     %s\nofficial %s", ra, oa)
			}
			// Each verifies the other's signature.
			rsig := signatureOf(t, rreq)
			if ok, err := official.Verify([]byte(rsts), g.leaf.PublicKey, crypto.SHA256, rsig); !ok || err != nil {
				t.Errorf("official Verify of roam's signature: %v, %v", ok, err)
			}
			a, err := sigv4.ParseX509Authorization(ohttp.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			ohttp.Host = ohttp.URL.Host
			if err := a.VerifyX509(ohttp, obody, g.leaf, date, &sigv4.X509Options{Region: "us-east-1"}); err != nil {
				t.Errorf("roam VerifyX509 of the official request: %v", err)
			}
			if hex.EncodeToString(rsig) != hex.EncodeToString(cs.sig) {
				t.Errorf("RSA signatures differ")
			}
		})
	}
}

func readBody(t *testing.T, r *request.Request) []byte {
	t.Helper()
	if _, err := r.Body.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func canonical(t *testing.T, r *http.Request, body []byte) (cr, sts string) {
	t.Helper()
	a, err := sigv4.ParseX509Authorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	cr, sts, err = sigv4.CanonicalX509(r, body, a, &sigv4.X509Options{SkipTimeCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	return cr, sts
}

func signatureOf(t *testing.T, r *http.Request) []byte {
	t.Helper()
	v := r.Header.Get("Authorization")
	i := strings.LastIndex(v, "Signature=")
	sig, err := hex.DecodeString(v[i+len("Signature="):])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
