package tpm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha512" // crypto.SHA384 and crypto.SHA512
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/internal/helper/tpm/swtpmtest"
	"github.com/roam-project/roam/pki"
)

// testCA is a root and an intermediate CA; leaves come from the
// intermediate.
type testCA struct {
	root, inter *pki.Issuer
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	rootKey, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootCert, err := pki.NewRootCA(rootKey, pki.CAOptions{Subject: pkix.Name{CommonName: "tpm test root"}, MaxPathLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	root := &pki.Issuer{Cert: rootCert, Key: rootKey}
	interKey, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	interCert, _, err := root.NewIntermediateCA(interKey.Public(), pki.CAOptions{Subject: pkix.Name{CommonName: "tpm test intermediate"}})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{root: root, inter: &pki.Issuer{Cert: interCert, Key: interKey}}
}

// certFile issues a certificate for pub and writes it as PEM in dir.
func (ca *testCA) certFile(t *testing.T, dir, name string, pub crypto.PublicKey) string {
	t.Helper()
	is, err := ca.inter.Issue(pki.LeafRequest{Profile: pki.ProfileClient, Subject: pkix.Name{CommonName: name}, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(p, pki.EncodeCertificatesPEM(is.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// goKeyFile encodes a tpm2_create key as a key file with parent and
// emptyAuth as given, using roam's encoder.
func goKeyFile(t *testing.T, tp *swtpmtest.TPM, k *swtpmtest.Key, parent uint32, emptyAuth bool) string {
	t.Helper()
	kf := &KeyFile{EmptyAuth: emptyAuth, Parent: parent, Public: k.Public[2:], Private: k.Private[2:], Description: "roam test " + k.Name}
	data, err := kf.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	p := tp.Path(k.Name + ".go.tss.pem")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startTPM starts swtpm with an SRK at 0x81000001 and a dictionary-attack
// policy that tolerates the wrong-password tests.
func startTPM(t *testing.T) *swtpmtest.TPM {
	t.Helper()
	tp := swtpmtest.Start(t)
	tp.Run(t, "tpm2_dictionarylockout", "-s", "-n", "1000", "-t", "1", "-l", "1")
	tp.CreateSRK(t, true)
	return tp
}

func checkSigns(t *testing.T, s helper.Signer, hashes ...crypto.Hash) {
	t.Helper()
	if len(hashes) == 0 {
		hashes = []crypto.Hash{crypto.SHA256}
	}
	for _, h := range hashes {
		hh := h.New()
		hh.Write([]byte("roam tpm test " + h.String()))
		digest := hh.Sum(nil)
		sig, err := s.Sign(rand.Reader, digest, h)
		if err != nil {
			t.Fatalf("Sign(%v): %v", h, err)
		}
		switch pub := s.Certificate().PublicKey.(type) {
		case *rsa.PublicKey:
			if err := rsa.VerifyPKCS1v15(pub, h, digest, sig); err != nil {
				t.Fatalf("RSA %v signature does not verify with the certificate: %v", h, err)
			}
		case *ecdsa.PublicKey:
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				t.Fatalf("ECDSA %v signature does not verify with the certificate", h)
			}
		default:
			t.Fatalf("certificate key %T", pub)
		}
	}
	if err := helper.CheckSigner(s); err != nil {
		t.Fatal(err)
	}
}

type recordingPrompt struct {
	mu      sync.Mutex
	answers []string
	asked   []string
}

func (p *recordingPrompt) prompt(_ context.Context, what string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, what)
	if len(p.asked) > len(p.answers) {
		return "", errors.New("no more answers")
	}
	return p.answers[len(p.asked)-1], nil
}

func TestSwtpm(t *testing.T) {
	tp := startTPM(t)
	ca := newTestCA(t)
	dir := t.TempDir()
	const password = "Sesame-42x"

	ecKey := tp.CreateKey(t, "ec", "ecc256", "")
	rsaKey := tp.CreateKey(t, "rsa", "rsa2048", "")
	ecSchemeKey := tp.CreateKey(t, "ecs", "ecc256:ecdsa-sha256", "")
	pwKey := tp.CreateKey(t, "pw", "rsa2048", password)
	pwECKey := tp.CreateKey(t, "pwec", "ecc256", password)
	tp.Persist(t, ecKey, "0x81000010")

	ecCert := ca.certFile(t, dir, "ec", ecKey.PublicKey)
	rsaCert := ca.certFile(t, dir, "rsa", rsaKey.PublicKey)
	ecsCert := ca.certFile(t, dir, "ecs", ecSchemeKey.PublicKey)
	pwCert := ca.certFile(t, dir, "pw", pwKey.PublicKey)
	pwECCert := ca.certFile(t, dir, "pwec", pwECKey.PublicKey)
	chainFile := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(chainFile, pki.EncodeCertificatesPEM(ca.inter.Cert), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		opts   *helper.SignerOptions
		prompt *recordingPrompt
		hashes []crypto.Hash
		chain  bool
	}{
		{
			name:   "EC P-256, tpm2_encodeobject file (hierarchy parent: primary re-created)",
			opts:   &helper.SignerOptions{Certificate: ecCert, PrivateKey: tp.EncodeObject(t, ecKey, true)},
			hashes: []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512},
		},
		{
			name:   "RSA-2048, tpm2_encodeobject file",
			opts:   &helper.SignerOptions{Certificate: rsaCert, PrivateKey: tp.EncodeObject(t, rsaKey, true)},
			hashes: []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512},
		},
		{
			name: "EC with a fixed ecdsa-sha256 scheme, roam-encoded file with the persistent SRK as parent",
			opts: &helper.SignerOptions{Certificate: ecsCert, PrivateKey: goKeyFile(t, tp, ecSchemeKey, 0x81000001, true)},
		},
		{
			name:  "RSA-2048, owner hierarchy parent, roam-encoded, with --intermediates",
			opts:  &helper.SignerOptions{Certificate: rsaCert, PrivateKey: goKeyFile(t, tp, rsaKey, HandleOwner, true), Intermediates: chainFile},
			chain: true,
		},
		{
			name: "RSA key with --tpm-key-password",
			opts: &helper.SignerOptions{Certificate: pwCert, PrivateKey: goKeyFile(t, tp, pwKey, 0x81000001, false), TPMKeyPassword: password},
		},
		{
			name:   "EC key with a password from the prompt (mistyped once)",
			opts:   &helper.SignerOptions{Certificate: pwECCert, PrivateKey: goKeyFile(t, tp, pwECKey, 0x81000001, false)},
			prompt: &recordingPrompt{answers: []string{"wrong", password}},
		},
		{
			name: "persistent handle with --no-tpm-key-password",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: "handle:0x81000010", NoTPMKeyPassword: true},
		},
		{
			name: "no-password key whose file lacks emptyAuth, with --no-tpm-key-password",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: tp.EncodeObject(t, ecKey, false), NoTPMKeyPassword: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.TPMDevice = tp.Device
			if tt.prompt != nil {
				tt.opts.Prompt = tt.prompt.prompt
			}
			s, err := Open(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkSigns(t, s, tt.hashes...)
			checkSigns(t, s)
			if tt.chain != (len(s.Chain()) == 1) {
				t.Errorf("chain has %d certificates", len(s.Chain()))
			}
			if tt.prompt != nil && len(tt.prompt.asked) != len(tt.prompt.answers) {
				t.Errorf("prompted %d times, want %d", len(tt.prompt.asked), len(tt.prompt.answers))
			}
			s.Close()
			if _, err := s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256); !errors.Is(err, ErrClosed) {
				t.Fatalf("Sign after Close: %v", err)
			}
		})
	}

	other := swtpmtest.Start(t)
	errTests := []struct {
		name string
		opts *helper.SignerOptions
		is   error
		want string
	}{
		{
			name: "wrong password",
			opts: &helper.SignerOptions{Certificate: pwCert, PrivateKey: goKeyFile(t, tp, pwKey, 0x81000001, false), TPMKeyPassword: "not-" + password, TPMDevice: tp.Device},
			is:   ErrIncorrectPassword,
		},
		{
			name: "password needed, none given, no terminal",
			opts: &helper.SignerOptions{Certificate: pwCert, PrivateKey: goKeyFile(t, tp, pwKey, 0x81000001, false), TPMDevice: tp.Device},
			is:   ErrPasswordRequired, want: "--no-tpm-key-password",
		},
		{
			name: "password given for an emptyAuth key",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: tp.EncodeObject(t, ecKey, true), TPMKeyPassword: password, TPMDevice: tp.Device},
			want: "emptyAuth",
		},
		{
			name: "certificate of another key",
			opts: &helper.SignerOptions{Certificate: rsaCert, PrivateKey: tp.EncodeObject(t, ecKey, true), TPMDevice: tp.Device},
			is:   helper.ErrKeyMismatch,
		},
		{
			name: "key from another TPM",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: tp.EncodeObject(t, ecKey, true), TPMDevice: other.Device},
			want: "is it from this TPM",
		},
		{
			name: "no TPM listening",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: tp.EncodeObject(t, ecKey, true), TPMDevice: "swtpm:host=127.0.0.1,port=1"},
			want: "connect to swtpm",
		},
		{
			name: "handle that is not persistent",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: "handle:0x80000001", NoTPMKeyPassword: true, TPMDevice: tp.Device},
			want: "not a persistent object",
		},
		{
			name: "empty persistent handle",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: "handle:0x81000099", NoTPMKeyPassword: true, TPMDevice: tp.Device},
			want: "read public area of 0x81000099",
		},
		{
			name: "both password flags",
			opts: &helper.SignerOptions{Certificate: ecCert, PrivateKey: "handle:0x81000010", NoTPMKeyPassword: true, TPMKeyPassword: "x", TPMDevice: tp.Device},
			want: "mutually exclusive",
		},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.opts)
			if err == nil {
				// A wrong password is only found when signing.
				_, err = s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
				s.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("err = %v shows the password", err)
			}
		})
	}

	t.Run("concurrent signatures", func(t *testing.T) {
		s, err := Open(context.Background(), &helper.SignerOptions{Certificate: ecCert, PrivateKey: tp.EncodeObject(t, ecKey, true), TPMDevice: tp.Device})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 3 {
					checkSigns(t, s)
				}
			})
		}
		wg.Wait()
	})
}

// TestSRKTemplates: the primary keys roam creates under the owner
// hierarchy are those tpm2_createprimary makes with the TCG template and
// with its default, so keys made under either load.
func TestSRKTemplates(t *testing.T) {
	for i, standard := range []bool{true, false} {
		tp := swtpmtest.Start(t)
		tp.CreateSRK(t, standard)
		tp.Run(t, "tpm2_readpublic", "-c", swtpmtest.SRKHandle, "-f", "der", "-o", "srk.der")
		der, err := os.ReadFile(tp.Path("srk.der"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		var got crypto.PublicKey
		s := &Signer{device: tp.Device}
		err = s.withTPM(func(rw io.ReadWriter) error {
			h, pub, err := createPrimary(rw, HandleOwner, srkTemplates(false)[i])
			if err != nil {
				return err
			}
			got = pub
			return tpm2.FlushContext(rw, h)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !want.(*ecdsa.PublicKey).Equal(got) {
			t.Fatalf("template %d differs from tpm2_createprimary's (standard %v)", i, standard)
		}

		// A tpm2_encodeobject key made under that SRK loads.
		k := tp.CreateKey(t, "k", "ecc256", "")
		ca := newTestCA(t)
		sg, err := Open(context.Background(), &helper.SignerOptions{
			Certificate: ca.certFile(t, t.TempDir(), "k", k.PublicKey), PrivateKey: tp.EncodeObject(t, k, true), TPMDevice: tp.Device,
		})
		if err != nil {
			t.Fatalf("standard %v: %v", standard, err)
		}
		checkSigns(t, sg)
		if got := sg.(*Signer).template; got != i {
			t.Errorf("standard %v: loaded with template %d, want %d", standard, got, i)
		}
		sg.Close()
	}
}
