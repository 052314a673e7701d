package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCABadInput runs roam on bad input and checks for a specific message, a
// non-zero exit and an untouched directory (CA and outputs alike).
func TestCABadInput(t *testing.T) {
	caNeedOpenSSL(t)
	base := t.TempDir()
	caInit(t, base, "--intermediate")
	caWrite(t, base, "wrong.pw", "not-the-password\n")
	caMust(t, base, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "exists", "--out", "exists")
	// CSRs: a good one, one with a broken signature, one asking for CA:TRUE.
	caOpenSSL(t, base, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "csr.key", "-subj", "/CN=from-csr", "-out", "good.csr", "-outform", "DER")
	der, _ := os.ReadFile(filepath.Join(base, "good.csr"))
	der[len(der)-3] ^= 0x5a // inside the signature value
	caWrite(t, base, "badsig.csr", string(der))
	caOpenSSL(t, base, "req", "-new", "-key", "csr.key", "-subj", "/CN=wants-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-out", "ca.csr")
	issue := func(extra ...string) []string {
		return append([]string{"ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "x", "--out", "out"}, extra...)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) // runs before the snapshot
		args  []string
		want  string
	}{
		{name: "wrong CA password", args: []string{"ca", "issue", "--dir", "ca", "--password-file", "wrong.pw", "--cn", "x", "--out", "out"},
			want: "cannot decrypt CA key intermediate.key: wrong password or corrupted key file"},
		{name: "corrupted key file", setup: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "ca", "intermediate.key")
			data, _ := os.ReadFile(p)
			lines := strings.Split(string(data), "\n")
			b := []byte(lines[3])
			b[10] ^= 0x01 // flip a base64 letter's case inside the ciphertext
			lines[3] = string(b)
			os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600)
		}, args: issue(), want: "intermediate.key"},
		{name: "truncated key file", setup: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "ca", "intermediate.key")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/2], 0o600)
		}, args: issue(), want: "no PEM private key block found (file truncated or not a key)"},
		{name: "CSR with bad signature", args: issue("--csr", "badsig.csr"), want: "CSR signature is invalid"},
		{name: "CSR asking CA:TRUE", args: issue("--csr", "ca.csr"), want: "CSR requests basicConstraints CA:TRUE"},
		{name: "unknown key type", args: issue("--key-type", "ed25519"), want: `unknown key type "ed25519"`},
		{name: "empty dns SAN", args: issue("--san", "dns:"), want: `SAN "dns:": empty dns value`},
		{name: "bad ip SAN", args: issue("--san", "ip:notanip"), want: `"notanip" is not an IP address`},
		{name: "bad uri SAN", args: issue("--san", "uri:%zz"), want: "not a URI"},
		{name: "email SAN without @", args: issue("--san", "email:nobody"), want: "is not an email address"},
		{name: "unknown SAN kind", args: issue("--san", "upn:x@y"), want: `unknown kind "upn"`},
		{name: "bad validity", args: issue("--validity", "forever"), want: `invalid duration "forever"`},
		{name: "unknown profile", args: issue("--profile", "codesign"), want: `unknown profile "codesign"`},
		{name: "missing CN", args: []string{"ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--out", "out"}, want: "--cn is required"},
		{name: "missing CA directory", args: []string{"ca", "issue", "--dir", "no-such-ca", "--password-file", "ca.pw", "--cn", "x", "--out", "out"},
			want: "CA directory no-such-ca does not exist: not a roam CA directory (run `roam ca init` first)"},
		{name: "existing output", args: []string{"ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "x", "--out", "exists"},
			want: "exists.pem: file exists (use --force to overwrite)"},
		{name: "output directory missing", args: issue("--out", "no/such/dir/x"), want: "output directory of no/such/dir/x.pem"},
		{name: "init over existing CA", args: []string{"ca", "init", "--dir", "ca", "--password-file", "ca.pw"}, want: "CA already exists"},
		{name: "unknown key type at init", args: []string{"ca", "init", "--dir", "new", "--password-file", "ca.pw", "--key-type", "dsa"}, want: `unknown key type "dsa"`},
		{name: "bad serial", args: []string{"ca", "revoke", "--dir", "ca", "--serial", "12:zz"}, want: "not a base-16 digit"},
		{name: "bad reason", args: []string{"ca", "revoke", "--dir", "ca", "--serial", "1", "--reason", "boredom"}, want: `unknown revocation reason "boredom"`},
		{name: "crl with wrong password", args: []string{"ca", "crl", "--dir", "ca", "--password-file", "wrong.pw", "--out", "crl.pem"}, want: "wrong password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := caSnapshot(t, dir)
			r := caRun(t, dir, tt.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure\nstdout: %s", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr+r.stdout, "ca-secret") || strings.Contains(r.stderr+r.stdout, "not-the-password") {
				t.Error("a password leaked into the output")
			}
			caSameSnapshot(t, before, caSnapshot(t, dir))
		})
	}
}

// TestCAIssueClampedToIssuer issues past the CA's expiry: the certificate is
// cut to the CA's notAfter and stderr says so.
func TestCAIssueClampedToIssuer(t *testing.T) {
	dir := t.TempDir()
	caInit(t, dir, "--validity", "10d")
	r := caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "long", "--validity", "30d", "--out", "long")
	if !strings.Contains(r.stderr, "warning: requested validity 30d runs past the issuing CA's notAfter; certificate clamped") {
		t.Errorf("stderr: %q", r.stderr)
	}
	rootInfo := caMust(t, dir, "ca", "inspect", "ca/root.pem").stdout
	leafInfo := caMust(t, dir, "ca", "inspect", "long.pem").stdout
	notAfter := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "Not after:") {
				return strings.Fields(l)[2]
			}
		}
		return ""
	}
	if a, b := notAfter(rootInfo), notAfter(leafInfo); a == "" || a != b {
		t.Errorf("leaf notAfter %s, root %s", b, a)
	}
	// Without a clamp nothing is said.
	r = caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--cn", "short", "--validity", "24h", "--out", "short")
	if r.stderr != "" {
		t.Errorf("unexpected stderr %q", r.stderr)
	}
}

// TestCAIssueFromCSR signs a good CSR: subject and SANs come from it, no key
// file is written.
func TestCAIssueFromCSR(t *testing.T) {
	caNeedOpenSSL(t)
	dir := t.TempDir()
	caInit(t, dir)
	caOpenSSL(t, dir, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "app.key", "-subj", "/O=Example/CN=app", "-addext", "subjectAltName=DNS:app.example.com", "-out", "app.csr")
	caMust(t, dir, "ca", "issue", "--dir", "ca", "--password-file", "ca.pw", "--csr", "app.csr", "--san", "uri:spiffe://example.org/app", "--out", "app")
	text := caOpenSSL(t, dir, "x509", "-in", "app.pem", "-noout", "-text")
	for _, w := range []string{"Subject: O = Example, CN = app", "DNS:app.example.com", "URI:spiffe://example.org/app", "CA:FALSE"} {
		if !strings.Contains(text, w) {
			t.Errorf("lacks %q:\n%s", w, text)
		}
	}
	caOpenSSL(t, dir, "verify", "-CAfile", "ca/root.pem", "-purpose", "sslclient", "app.pem")
	// roam wrote no key (app.key is openssl's) and certified the CSR's key.
	a := caOpenSSL(t, dir, "x509", "-in", "app.pem", "-noout", "-pubkey")
	b := caOpenSSL(t, dir, "pkey", "-in", "app.key", "-pubout")
	if a != b {
		t.Error("certificate does not certify the CSR's key")
	}
}
