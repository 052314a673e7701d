package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/internal/helper/pkcs11"
	"github.com/roam-project/roam/internal/helper/pkcs11/softhsmtest"
	"github.com/roam-project/roam/internal/helper/tpm"
	"github.com/roam-project/roam/internal/helper/tpm/swtpmtest"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// hardwareKey is a key in SoftHSM or swtpm with a certificate from the
// fixture's intermediate CA, and the roam helper flags that select it.
type hardwareKey struct {
	name  string
	opts  *helper.SignerOptions
	open  helper.OpenFunc
	flags []string // for roam credential-process
	env   []string // extra environment for roam credential-process
}

// hardwareKeys makes the four keys of the e2e table: SoftHSM RSA-2048 and
// EC P-256 (generated on the token, certificate and the intermediate CA on
// the token), swtpm EC P-256 and RSA-2048 (TSS2 key files, certificate and
// intermediates in files).
func hardwareKeys(t *testing.T, f *fixture) []hardwareKey {
	t.Helper()
	var keys []hardwareKey
	issue := func(pub any, cn string) *x509.Certificate {
		is, err := f.inter.iss.Issue(pki.LeafRequest{Profile: pki.ProfileClient, Subject: pkix.Name{CommonName: cn}, PublicKey: pub})
		if err != nil {
			t.Fatal(err)
		}
		return is.Cert
	}
	if why := softhsmtest.Available(); why == "" {
		tok := softhsmtest.New(t, "roam-e2e", "2468")
		tok.WriteCertificate(t, f.inter.iss.Cert, nil, "intermediate", false)
		for _, k := range []struct{ name, keyType string }{{"softhsm-rsa", "rsa:2048"}, {"softhsm-ec", "EC:prime256v1"}} {
			id := []byte(k.name)
			tok.WriteCertificate(t, issue(tok.GenerateKey(t, k.keyType, id, k.name), k.name), id, k.name, false)
			uri := "pkcs11:token=roam-e2e;object=" + k.name + ";type=cert"
			keys = append(keys, hardwareKey{
				name:  k.name,
				opts:  &helper.SignerOptions{Certificate: uri, PKCS11Lib: tok.Module, PKCS11PIN: tok.PIN},
				open:  pkcs11.Open,
				flags: []string{"--certificate", uri + "?pin-value=" + tok.PIN, "--pkcs11-lib", tok.Module},
				env:   []string{"SOFTHSM2_CONF=" + tok.Conf},
			})
		}
	} else {
		t.Log("SoftHSM2 cases skipped: " + why)
	}
	if why := swtpmtest.Available(); why == "" {
		tp := swtpmtest.Start(t)
		tp.CreateSRK(t, true)
		chain := filepath.Join(f.dir, "tpm-chain.pem")
		writeFile(t, chain, pki.EncodeCertificatesPEM(f.inter.iss.Cert))
		for _, k := range []struct{ name, alg string }{{"swtpm-ec", "ecc256"}, {"swtpm-rsa", "rsa2048"}} {
			key := tp.CreateKey(t, k.name, k.alg, "")
			certPath := filepath.Join(f.dir, k.name+".pem")
			writeFile(t, certPath, pki.EncodeCertificatesPEM(issue(key.PublicKey, k.name)))
			keyPath := tp.EncodeObject(t, key, true)
			keys = append(keys, hardwareKey{
				name:  k.name,
				opts:  &helper.SignerOptions{Certificate: certPath, PrivateKey: keyPath, Intermediates: chain, TPMDevice: tp.Device},
				open:  tpm.Open,
				flags: []string{"--certificate", certPath, "--private-key", keyPath, "--intermediates", chain},
				env:   []string{"TPM_DEVICE=" + tp.Device},
			})
		}
	} else {
		t.Log("swtpm cases skipped: " + why)
	}
	if len(keys) == 0 {
		t.Skip("neither SoftHSM2 nor swtpm is installed")
	}
	return keys
}

// TestHardwareKeysCreateSession: CreateSession against a real roam server,
// signed with sigv4.SignX509 by roam's PKCS#11 (SoftHSM2) and TPM (swtpm)
// signers, and then through `roam credential-process` with the same keys.
func TestHardwareKeysCreateSession(t *testing.T) {
	f := newFixture(t)
	keys := hardwareKeys(t, f)
	for _, k := range keys {
		t.Run(k.name+"/sigv4.SignX509", func(t *testing.T) {
			s, err := k.open(context.Background(), k.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if len(s.Chain()) != 1 || !s.Chain()[0].Equal(f.inter.iss.Cert) {
				t.Fatalf("chain has %d certificates, want the intermediate", len(s.Chain()))
			}
			q := url.Values{"profileArn": {f.profileARN}, "roleArn": {roleARN("s3-writer")}, "trustAnchorArn": {anchorARN}}
			body := []byte(`{"durationSeconds":3600}`)
			req, err := http.NewRequest(http.MethodPost, f.srv.Endpoint+"/sessions?"+q.Encode(), bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if err := sigv4.SignX509(req, body, s, s.Certificate(), s.Chain(), "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := f.srv.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("CreateSession: %d %s\nserver log:\n%s", resp.StatusCode, raw, f.srv.stderr.String())
			}
			var out struct {
				CredentialSet []struct {
					Credentials struct {
						AccessKeyID     string `json:"accessKeyId"`
						SecretAccessKey string `json:"secretAccessKey"`
						SessionToken    string `json:"sessionToken"`
						Expiration      string `json:"expiration"`
					} `json:"credentials"`
				} `json:"credentialSet"`
			}
			if err := json.Unmarshal(raw, &out); err != nil || len(out.CredentialSet) != 1 {
				t.Fatalf("response %s: %v", raw, err)
			}
			c := out.CredentialSet[0].Credentials
			checkCredentials(t, &processCredentials{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: c.Expiration})
		})
	}
	for _, k := range keys {
		t.Run(k.name+"/roam credential-process", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := append([]string{"credential-process", "--endpoint", f.srv.Endpoint, "--ca-bundle", f.srv.CAFile,
				"--trust-anchor-arn", anchorARN, "--profile-arn", f.profileARN, "--role-arn", roleARN("s3-writer")}, k.flags...)
			cmd := exec.CommandContext(ctx, bins.roam, args...)
			cmd.Env = append(append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"), k.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("roam credential-process: %v\n%s\nserver log:\n%s", err, stderr.String(), f.srv.stderr.String())
			}
			var pc processCredentials
			if err := json.Unmarshal([]byte(stdout.String()), &pc); err != nil {
				t.Fatalf("output is not credential_process JSON: %v\n%s", err, stdout.String())
			}
			checkCredentials(t, &pc)
		})
	}
}
