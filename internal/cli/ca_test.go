package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/cli"
)

// caResult is the outcome of one roam invocation.
type caResult struct {
	code           int
	stdout, stderr string
}

// caRun runs roam with args (in dir, for relative paths) and returns its exit
// code and output. ROAM_CA_PASSWORD is cleared so tests see only the
// password sources they give.
func caRun(t *testing.T, dir string, args ...string) caResult {
	t.Helper()
	t.Setenv("ROAM_CA_PASSWORD", "")
	return caRunEnv(t, dir, args...)
}

// caRunEnv is caRun without touching the environment.
func caRunEnv(t *testing.T, dir string, args ...string) caResult {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return caResult{code, out.String(), errb.String()}
}

// caMust runs roam and fails the test unless it exits 0.
func caMust(t *testing.T, dir string, args ...string) caResult {
	t.Helper()
	r := caRun(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("roam %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// caOpenSSL runs /usr/bin/openssl in dir and returns its combined output.
func caOpenSSL(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := caOpenSSLErr(dir, nil, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func caOpenSSLErr(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func caNeedOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
}

// caWrite writes a file in dir.
func caWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// caSnapshot maps every file under dir to its mode and content hash.
func caSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			v += " " + hex.EncodeToString(sum[:])
		}
		snap[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func caSameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %q -> %q", p, v, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
}

// caInit makes a CA in dir/ca with the password "ca-secret" in dir/ca.pw.
func caInit(t *testing.T, dir string, extra ...string) {
	t.Helper()
	caWrite(t, dir, "ca.pw", "ca-secret\n")
	caMust(t, dir, append([]string{"ca", "init", "--dir", "ca", "--password-file", "ca.pw", "--name", "Test"}, extra...)...)
}

func TestCAInitIntermediateIssueVerifiesWithOpenSSL(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caInit(t, dir, "--intermediate")
	for _, name := range []string{"ca/root.key", "ca/intermediate.key"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", name, info.Mode(), err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.HasPrefix(data, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
			t.Errorf("%s is not encrypted PKCS#8", name)
		}
		caOpenSSL(t, dir, "pkey", "-in", name, "-passin", "file:ca.pw", "-noout")
	}
	root := caOpenSSL(t, dir, "x509", "-in", "ca/root.pem", "-noout", "-text")
	inter := caOpenSSL(t, dir, "x509", "-in", "ca/intermediate.pem", "-noout", "-text")
	for _, want := range []string{"Version: 3 (0x2)", "X509v3 Basic Constraints: critical", "CA:TRUE, pathlen:1", "X509v3 Key Usage: critical", "Digital Signature, Certificate Sign, CRL Sign", "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier", "ecdsa-with-SHA256"} {
		if !strings.Contains(root, want) {
			t.Errorf("root lacks %q:\n%s", want, root)
		}
	}
	if !strings.Contains(inter, "CA:TRUE, pathlen:0") || !strings.Contains(inter, "Issuer: CN = Test Root CA") {
		t.Errorf("intermediate:\n%s", inter)
	}

	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--profile", "client", "--cn", "workload-1",
		"--san", "uri:spiffe://example.org/wl1", "--ou", "eng", "--o", "Example", "--out", "client")
	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--profile", "server", "--cn", "roam.example.com",
		"--san", "dns:roam.example.com", "--san", "ip:10.0.0.5", "--out", "server")
	if out := caOpenSSL(t, dir, "verify", "-CAfile", "ca/root.pem", "-untrusted", "client.chain.pem", "-purpose", "sslclient", "client.pem"); !strings.Contains(out, "client.pem: OK") {
		t.Errorf("verify client: %s", out)
	}
	if out := caOpenSSL(t, dir, "verify", "-CAfile", "ca/root.pem", "-untrusted", "server.chain.pem", "-purpose", "sslserver", "server.pem"); !strings.Contains(out, "server.pem: OK") {
		t.Errorf("verify server: %s", out)
	}
	// A client certificate is not a server certificate.
	if out, err := caOpenSSLErr(dir, nil, "verify", "-CAfile", "ca/root.pem", "-untrusted", "client.chain.pem", "-purpose", "sslserver", "client.pem"); err == nil {
		t.Errorf("client cert verified as sslserver: %s", out)
	}
	client := caOpenSSL(t, dir, "x509", "-in", "client.pem", "-noout", "-text")
	for _, want := range []string{"Version: 3 (0x2)", "ecdsa-with-SHA256", "X509v3 Basic Constraints: critical", "CA:FALSE", "X509v3 Key Usage: critical", "Digital Signature",
		"X509v3 Extended Key Usage", "TLS Web Client Authentication", "URI:spiffe://example.org/wl1", "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
		"Subject: O = Example, OU = eng, CN = workload-1", "Issuer: CN = Test Intermediate CA"} {
		if !strings.Contains(client, want) {
			t.Errorf("client certificate lacks %q:\n%s", want, client)
		}
	}
	server := caOpenSSL(t, dir, "x509", "-in", "server.pem", "-noout", "-text")
	for _, want := range []string{"TLS Web Server Authentication", "DNS:roam.example.com", "IP Address:10.0.0.5", "CA:FALSE"} {
		if !strings.Contains(server, want) {
			t.Errorf("server certificate lacks %q:\n%s", want, server)
		}
	}
	info, _ := os.Stat(filepath.Join(dir, "client.key"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("client.key mode %v", info.Mode())
	}
	key, _ := os.ReadFile(filepath.Join(dir, "client.key"))
	if !bytes.HasPrefix(key, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("client key should be unencrypted PKCS#8 by default")
	}
	// roam's own lint agrees.
	r := caRun(t, dir, "ca", "lint", "client.pem", "--chain", "client.chain.pem", "--anchor", "ca/root.pem")
	if r.code != 0 || !strings.Contains(r.stdout, "ACCEPTABLE") {
		t.Errorf("lint: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// And the index has both.
	r = caMust(t, dir, "ca", "list", "--dir", "ca", "--json")
	var recs []struct{ Subject, Status, Profile string }
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != 2 || recs[0].Status != "valid" || recs[1].Profile != "server" {
		t.Errorf("list: %v %s", err, r.stdout)
	}
}

func TestCAKeyTypesAndRootOnlyChain(t *testing.T) {
	caNeedOpenSSL(t)
	for _, tc := range []struct{ kt, sig string }{{"ec-p384", "ecdsa-with-SHA384"}, {"rsa-2048", "sha256WithRSAEncryption"}} {
		t.Run(tc.kt, func(t *testing.T) {
			dir := t.TempDir()
			caInit(t, dir, "--key-type", tc.kt)
			caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "c", "--key-type", tc.kt, "--out", "c")
			if _, err := os.Stat(filepath.Join(dir, "c.chain.pem")); !os.IsNotExist(err) {
				t.Errorf("root-issued certificate got a chain file: %v", err)
			}
			caOpenSSL(t, dir, "verify", "-CAfile", "ca/root.pem", "-purpose", "sslclient", "c.pem")
			text := caOpenSSL(t, dir, "x509", "-in", "c.pem", "-noout", "-text")
			if !strings.Contains(text, tc.sig) || !strings.Contains(caOpenSSL(t, dir, "x509", "-in", "ca/root.pem", "-noout", "-text"), "CA:TRUE, pathlen:0") {
				t.Errorf("%s:\n%s", tc.kt, text)
			}
		})
	}
}

func TestCAPasswordSources(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	// From the environment.
	t.Setenv("ROAM_CA_PASSWORD", "env-secret")
	if r := caRunEnv(t, dir, "ca", "init", "--dir", "ca"); r.code != 0 {
		t.Fatalf("init with env password: %+v", r)
	}
	if r := caRunEnv(t, dir, "ca", "issue", "--dir", "ca", "--cn", "x", "--out", "x"); r.code != 0 {
		t.Fatalf("issue with env password: %+v", r)
	}
	caWrite(t, dir, "pw", "env-secret\n")
	caOpenSSL(t, dir, "pkey", "-in", "ca/root.key", "-passin", "file:pw", "-noout")
	// No source and no terminal: a clear error.
	t.Setenv("ROAM_CA_PASSWORD", "")
	r := caRunEnv(t, dir, "ca", "issue", "--dir", "ca", "--cn", "y", "--out", "y")
	if r.code == 0 || !strings.Contains(r.stderr, "stdin is not a terminal") || !strings.Contains(r.stderr, "ROAM_CA_PASSWORD") {
		t.Errorf("no password source: %+v", r)
	}
	r = caRunEnv(t, dir, "ca", "init", "--dir", "ca2")
	if r.code == 0 || !strings.Contains(r.stderr, "--insecure-no-password") {
		t.Errorf("init without password: %+v", r)
	}
	// The explicit opt-out writes plain keys that need no password later.
	caMust(t, dir, "ca", "init", "--dir", "ca3", "--insecure-no-password")
	key, _ := os.ReadFile(filepath.Join(dir, "ca3", "root.key"))
	if !bytes.HasPrefix(key, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Error("--insecure-no-password key is not plain PKCS#8")
	}
	caMust(t, dir, "ca", "issue", "--dir", "ca3", "--cn", "z", "--out", "z")
	// --key-password-file encrypts the issued key.
	caWrite(t, dir, "kpw", "leaf-secret")
	caMust(t, dir, "ca", "issue", "--dir", "ca3", "--cn", "w", "--out", "w", "--key-password-file", "kpw")
	caOpenSSL(t, dir, "pkey", "-in", "w.key", "-passin", "file:kpw", "-noout")
}

func TestCAExportPKCS12(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caInit(t, dir, "--intermediate")
	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "p12", "--out", "c")
	caWrite(t, dir, "p12.pw", "p12-secret\n")
	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"modern", nil, []string{"PBES2, PBKDF2, AES-256-CBC", "MAC: sha256"}},
		{"legacy", []string{"--legacy"}, []string{"pbeWithSHA1And3-KeyTripleDES-CBC", "MAC: sha1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.name + ".p12"
			caMust(t, dir, append([]string{"ca", "export-pkcs12", "--cert", "c.pem", "--key", "c.key", "--chain", "c.chain.pem", "--out", out, "--password-file", "p12.pw"}, tc.extra...)...)
			info, _ := os.Stat(filepath.Join(dir, out))
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", info.Mode())
			}
			text, err := caOpenSSLErr(dir, nil, "pkcs12", "-in", out, "-info", "-noout", "-passin", "file:p12.pw")
			if err != nil && tc.name == "legacy" {
				t.Logf("openssl 3 needs -legacy for 3DES: %s", text)
				text, err = caOpenSSLErr(dir, nil, "pkcs12", "-legacy", "-in", out, "-info", "-noout", "-passin", "file:p12.pw")
			}
			if err != nil {
				t.Fatalf("openssl pkcs12: %v\n%s", err, text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("openssl pkcs12 -info lacks %q:\n%s", w, text)
				}
			}
			if _, err := caOpenSSLErr(dir, nil, "pkcs12", "-in", out, "-info", "-noout", "-passin", "pass:wrong"); err == nil {
				t.Error("openssl opened the file with a wrong password")
			}
			r := caMust(t, dir, "ca", "inspect", out, "--password-file", "p12.pw")
			if !strings.Contains(r.stdout, "2 certificate(s)") || !strings.Contains(r.stdout, "key matches certificate: true") {
				t.Errorf("inspect p12:\n%s", r.stdout)
			}
			caDecodePKCS12(t, filepath.Join(dir, out), "p12-secret", 1)
			if r := caRun(t, dir, "ca", "inspect", out); r.code != 2 || !strings.Contains(r.stderr, "give --password-file or --insecure-no-password") {
				t.Errorf("inspect p12 without password: %+v", r)
			}
		})
	}
	// A password is required unless explicitly waived.
	before := caSnapshot(t, dir)
	r := caRun(t, dir, "ca", "export-pkcs12", "--cert", "c.pem", "--key", "c.key", "--out", "none.p12")
	if r.code == 0 || !strings.Contains(r.stderr, "--password-file") {
		t.Errorf("no password: %+v", r)
	}
	caSameSnapshot(t, before, caSnapshot(t, dir))
	caMust(t, dir, "ca", "export-pkcs12", "--cert", "c.pem", "--key", "c.key", "--out", "none.p12", "--insecure-no-password")
	caDecodePKCS12(t, filepath.Join(dir, "none.p12"), "", 0)
}

func TestCARevokeAndCRL(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caInit(t, dir, "--intermediate")
	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "gone", "--out", "gone")
	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "kept", "--out", "kept")
	serialHex := strings.TrimSpace(strings.TrimPrefix(caOpenSSL(t, dir, "x509", "-in", "gone.pem", "-noout", "-serial"), "serial="))
	// Revoke by colon hex as openssl prints it (lower case).
	var colon []string
	for i := 0; i < len(serialHex); i += 2 {
		colon = append(colon, strings.ToLower(serialHex[i:i+2]))
	}
	r := caMust(t, dir, "ca", "revoke", "--dir", "ca", "--serial", strings.Join(colon, ":"), "--reason", "keyCompromise")
	if !strings.Contains(r.stdout, "CN=gone") {
		t.Errorf("revoke: %s", r.stdout)
	}
	// A second revocation of the same serial (as 0x hex) is refused.
	if r := caRun(t, dir, "ca", "revoke", "--dir", "ca", "--serial", "0x"+serialHex); r.code == 0 || !strings.Contains(r.stderr, "already revoked") {
		t.Errorf("double revoke: %+v", r)
	}
	if r := caRun(t, dir, "ca", "revoke", "--dir", "ca", "--serial", "12345"); r.code == 0 || !strings.Contains(r.stderr, "no certificate with that serial") {
		t.Errorf("unknown serial: %+v", r)
	}
	caMust(t, dir, "ca", "crl", "--dir", "ca", "--password-file", "ca.pw", "--out", "crl.pem", "--next-update", "2d")
	bundle, _ := os.ReadFile(filepath.Join(dir, "ca/root.pem"))
	inter, _ := os.ReadFile(filepath.Join(dir, "ca/intermediate.pem"))
	caWrite(t, dir, "bundle.pem", string(bundle)+string(inter))
	if out := caOpenSSL(t, dir, "crl", "-in", "crl.pem", "-verify", "-CAfile", "bundle.pem", "-noout"); !strings.Contains(out, "verify OK") {
		t.Errorf("crl verify: %s", out)
	}
	text := caOpenSSL(t, dir, "crl", "-in", "crl.pem", "-noout", "-text")
	for _, want := range []string{"Version 2", "X509v3 CRL Number", "1", "X509v3 Authority Key Identifier", "Serial Number: " + serialHex, "Key Compromise"} {
		if !strings.Contains(text, want) {
			t.Errorf("CRL text lacks %q:\n%s", want, text)
		}
	}
	// The CRL number increments; an existing output needs --force.
	if r := caRun(t, dir, "ca", "crl", "--dir", "ca", "--password-file", "ca.pw", "--out", "crl.pem"); r.code == 0 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("crl over existing file: %+v", r)
	}
	caMust(t, dir, "ca", "crl", "--dir", "ca", "--password-file", "ca.pw", "--out", "crl.pem", "--force")
	if text := caOpenSSL(t, dir, "crl", "-in", "crl.pem", "-noout", "-crlnumber"); !strings.Contains(text, "crlNumber=0x02") {
		t.Errorf("second CRL number: %s", text)
	}
	// roam ca inspect reads the CRL; list shows the status.
	r = caMust(t, dir, "ca", "inspect", "crl.pem")
	if !strings.Contains(r.stdout, "CRL number:            2") || !strings.Contains(r.stdout, "keyCompromise") {
		t.Errorf("inspect crl:\n%s", r.stdout)
	}
	r = caMust(t, dir, "ca", "list", "--dir", "ca")
	if !strings.Contains(r.stdout, "revoked (keyCompromise)") || !strings.Contains(r.stdout, "valid") {
		t.Errorf("list:\n%s", r.stdout)
	}
}

func TestCAInspect(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caInit(t, dir)
	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "insp", "--san", "dns:insp.example.com", "--out", "c")
	caOpenSSL(t, dir, "x509", "-in", "c.pem", "-outform", "DER", "-out", "c.der")
	caOpenSSL(t, dir, "req", "-new", "-key", "c.key", "-subj", "/CN=req", "-addext", "subjectAltName=DNS:req.example.com", "-out", "c.csr")
	fp := strings.TrimSpace(caOpenSSL(t, dir, "x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256"))
	fp = strings.ToLower(fp[strings.Index(fp, "=")+1:])
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"c.pem", []string{"Subject:               CN=insp", "Issuer:                CN=Test", "Public key:            ECDSA P-256", "CA:FALSE", "digitalSignature", "clientAuth", "dns:insp.example.com", "days left", "Subject key ID", "Authority key ID", fp, "acceptable signing certificate", "(decimal "}},
		{"c.der", []string{"CN=insp", fp}},
		{"c.csr", []string{"Certificate request", "CN=req", "Self-signature:        valid", "dns:req.example.com"}},
		{"ca/root.pem", []string{"CA:TRUE", "keyCertSign", "CA certificate"}},
	} {
		r := caMust(t, dir, "ca", "inspect", tc.file)
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("inspect %s lacks %q:\n%s", tc.file, w, r.stdout)
			}
		}
	}
	caWrite(t, dir, "junk", "not a certificate")
	if r := caRun(t, dir, "ca", "inspect", "junk"); r.code != 2 || !strings.Contains(r.stderr, "not a certificate, CSR, CRL or PKCS#12") {
		t.Errorf("inspect junk: %+v", r)
	}
}
