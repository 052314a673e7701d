package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// seed000Config is the openssl.cnf the seed-000 article asks for: its v3_ca
// section verbatim, plus the [req] boilerplate openssl needs to run without
// prompting.
const seed000Config = `
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
    basicConstraints        =critical, CA:TRUE
    subjectKeyIdentifier    =hash
    authorityKeyIdentifier  =keyid:always, issuer:always
    keyUsage                =critical, cRLSign, digitalSignature, keyCertSign
`

// seed000Ext is the article's v3.ext.
const seed000Ext = `authorityKeyIdentifier=keyid,issuer
    basicConstraints=CA:FALSE
    keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment
`

// TestCALintSeed000OpenSSLCertificates runs the exact openssl commands of
// seed 000 (with -subj in place of the interactive prompts) and checks that
// the client certificate passes roam ca lint against the root.
func TestCALintSeed000OpenSSLCertificates(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caWrite(t, dir, "openssl.cnf", seed000Config)
	caWrite(t, dir, "v3.ext", seed000Ext)
	env := []string{"OPENSSL_CONF=" + dir + "/openssl.cnf"}
	for _, cmd := range [][]string{
		{"genrsa", "-out", "PrivateCA.key", "4096"},
		{"req", "-new", "-x509", "-days", "3650", "-key", "PrivateCA.key", "-out", "PrivateCA.pem", "-extensions", "v3_ca", "-subj", "/CN=Private CA"},
		{"genrsa", "-out", "client.key", "4096"},
		{"req", "-new", "-key", "client.key", "-out", "client.csr", "-subj", "/CN=client"},
		{"x509", "-req", "-in", "client.csr", "-CA", "PrivateCA.pem", "-CAkey", "PrivateCA.key", "-set_serial", "01", "-out", "client.pem", "-days", "3650", "-sha256", "-extfile", "v3.ext"},
	} {
		if out, err := caOpenSSLErr(dir, env, cmd...); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	r := caRun(t, dir, "ca", "lint", "client.pem", "--anchor", "PrivateCA.pem")
	if r.code != 0 || !strings.Contains(r.stdout, "client.pem: ACCEPTABLE") {
		t.Fatalf("lint seed-000 client: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = caRun(t, dir, "ca", "lint", "client.pem", "--anchor", "PrivateCA.pem", "--json")
	var rep struct {
		Acceptable bool
		Problems   []struct{ Rule, Message string }
		Warnings   []struct{ Lint, Level, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Acceptable || len(rep.Problems) != 0 {
		t.Fatalf("lint --json: %v %s", err, r.stdout)
	}
	// The root itself is a CA, not a signing certificate.
	r = caRun(t, dir, "ca", "lint", "PrivateCA.pem", "--anchor", "PrivateCA.pem")
	if r.code != 1 || !strings.Contains(r.stdout, "CA:TRUE") {
		t.Errorf("lint root: exit %d\n%s", r.code, r.stdout)
	}
	// A different anchor breaks the chain rule.
	caInit(t, dir)
	r = caRun(t, dir, "ca", "lint", "client.pem", "--anchor", "ca/root.pem")
	if r.code != 1 || !strings.Contains(r.stdout, "chain: no valid chain to the trust anchor") {
		t.Errorf("lint with foreign anchor: exit %d\n%s", r.code, r.stdout)
	}
}

// TestCALintSeed004V1Certificate runs seed 004's commands: `openssl x509
// -req` without an extension file makes a v1 certificate, which Roles
// Anywhere rejects; lint must say so and name the missing extensions.
func TestCALintSeed004V1Certificate(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	for _, cmd := range [][]string{
		{"genrsa", "-out", "RootCA.key", "4096"},
		{"req", "-new", "-x509", "-days", "36500", "-key", "RootCA.key", "-out", "RootCA.pem", "-subj", "/CN=RootCA"},
		{"genrsa", "-out", "my_client.key", "2048"},
		{"req", "-new", "-key", "my_client.key", "-out", "my_client.csr", "-subj", "/CN=my_client"},
		{"x509", "-req", "-in", "my_client.csr", "-CA", "RootCA.pem", "-CAkey", "RootCA.key", "-set_serial", "01", "-out", "my_client.pem", "-days", "36500", "-sha256"},
	} {
		caOpenSSL(t, dir, cmd...)
	}
	if text := caOpenSSL(t, dir, "x509", "-in", "my_client.pem", "-noout", "-text"); !strings.Contains(text, "Version: 1 (0x0)") {
		t.Fatalf("seed 004 no longer makes a v1 certificate:\n%s", text)
	}
	r := caRun(t, dir, "ca", "lint", "my_client.pem", "--anchor", "RootCA.pem")
	if r.code != 1 {
		t.Fatalf("lint v1: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"NOT ACCEPTABLE", "version: certificate is X.509 v1", "requires v3",
		"basic-constraints: basicConstraints extension is missing", "key-usage: keyUsage extension is missing", "Warnings (zlint"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = caRun(t, dir, "ca", "lint", "my_client.pem", "--json")
	var rep struct {
		Acceptable bool
		Problems   []struct{ Rule, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Acceptable || r.code != 1 {
		t.Fatalf("lint --json: %v exit %d %s", err, r.code, r.stdout)
	}
	var rules []string
	for _, p := range rep.Problems {
		rules = append(rules, p.Rule)
	}
	if strings.Join(rules, ",") != "version,basic-constraints,key-usage" {
		t.Errorf("rules %v", rules)
	}
}

// TestCALintSHA1AndWeakKey makes a v3 certificate with every extension but a
// SHA-1 signature and a 1024-bit RSA key: both rules must be named.
func TestCALintSHA1AndWeakKey(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caWrite(t, dir, "v3.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
	for _, cmd := range [][]string{
		{"req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=CA"},
		{"req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-out", "weak.csr", "-subj", "/CN=weak"},
		{"x509", "-req", "-in", "weak.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-out", "weak.pem", "-days", "30", "-sha1", "-extfile", "v3.ext"},
	} {
		caOpenSSL(t, dir, cmd...)
	}
	r := caRun(t, dir, "ca", "lint", "weak.pem")
	if r.code != 1 || !strings.Contains(r.stdout, "signature-algorithm: signature algorithm SHA1-RSA is not accepted") || !strings.Contains(r.stdout, "RSA key is 1024 bits") {
		t.Errorf("lint weak: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := caRun(t, dir, "ca", "lint", "missing.pem"); r.code != 2 {
		t.Errorf("lint of a missing file: exit %d, want 2", r.code)
	}
}
