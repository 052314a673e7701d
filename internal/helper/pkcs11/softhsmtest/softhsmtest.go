// Package softhsmtest makes SoftHSM2 tokens for tests: a token in a
// temporary directory, keys generated on it or imported into it, and
// certificates written to it, all with the SoftHSM and OpenSC command-line
// tools (softhsm2-util, pkcs11-tool) so that the test process itself does
// not initialise the PKCS#11 module.
package softhsmtest

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Module is where Debian's softhsm2 package installs the PKCS#11 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token is an initialised SoftHSM2 token whose store lives in a temporary
// directory that SOFTHSM2_CONF points to for the rest of the test.
type Token struct {
	Dir    string // the temporary directory
	Conf   string // the SOFTHSM2_CONF file
	Module string // the PKCS#11 module path
	Label  string // the token label
	PIN    string // the user PIN
	SOPIN  string // the security officer PIN
}

// Available reports why SoftHSM2 tests cannot run here ("" if they can).
func Available() string {
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed (apt-get install softhsm2 opensc)"
		}
	}
	if _, err := os.Stat(Module); err != nil {
		return Module + " is missing (apt-get install softhsm2)"
	}
	return ""
}

// New initialises a token labelled label with user PIN pin in a new
// temporary store and sets SOFTHSM2_CONF for the test (so the test must not
// be parallel). It skips the test when SoftHSM2 or OpenSC is not installed.
func New(t testing.TB, label, pin string) *Token {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip("SoftHSM2 test skipped: " + why)
	}
	dir := t.TempDir()
	tk := &Token{Dir: dir, Conf: filepath.Join(dir, "softhsm2.conf"), Module: Module, Label: label, PIN: pin, SOPIN: "so-" + pin}
	if err := os.Mkdir(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := "directories.tokendir = " + filepath.Join(dir, "tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(tk.Conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, ok := t.(interface{ Setenv(k, v string) }); ok {
		u.Setenv("SOFTHSM2_CONF", tk.Conf)
	} else {
		t.Fatal("softhsmtest.New needs a *testing.T or *testing.B")
	}
	tk.run(t, "softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", tk.SOPIN, "--pin", pin)
	return tk
}

// Env is the environment for a subprocess that must see the token.
func (tk *Token) Env() []string {
	return append(os.Environ(), "SOFTHSM2_CONF="+tk.Conf)
}

func (tk *Token) run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = tk.Env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(redact(args, tk.PIN, tk.SOPIN), " "), err, out.String(), errb.String())
	}
	return out.Bytes()
}

// redact hides the PINs in a command line shown in a failure message.
func redact(args []string, secrets ...string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		for _, s := range secrets {
			if a == s {
				out[i] = "***"
			}
		}
	}
	return out
}

func (tk *Token) tool(t testing.TB, args ...string) []byte {
	t.Helper()
	return tk.run(t, "pkcs11-tool", append([]string{"--module", tk.Module, "--token-label", tk.Label}, args...)...)
}

// GenerateKey generates a key pair on the token with pkcs11-tool
// (keyType as pkcs11-tool spells it: "rsa:2048", "EC:prime256v1") and
// returns its public key.
func (tk *Token) GenerateKey(t testing.TB, keyType string, id []byte, label string) crypto.PublicKey {
	t.Helper()
	tk.tool(t, "--login", "--pin", tk.PIN, "--keypairgen", "--key-type", keyType, "--id", hex.EncodeToString(id), "--label", label)
	return tk.PublicKey(t, id)
}

// PublicKey reads the public key object with CKA_ID id.
func (tk *Token) PublicKey(t testing.TB, id []byte) crypto.PublicKey {
	t.Helper()
	out := filepath.Join(tk.Dir, "pub-"+hex.EncodeToString(id)+".der")
	tk.tool(t, "--read-object", "--type", "pubkey", "--id", hex.EncodeToString(id), "--output-file", out)
	der, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatalf("public key %x from the token: %v", id, err)
	}
	return pub
}

// ImportKey imports key (with its public key) with softhsm2-util.
func (tk *Token) ImportKey(t testing.TB, key crypto.Signer, id []byte, label string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tk.Dir, "import-"+hex.EncodeToString(id)+".p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	tk.run(t, "softhsm2-util", "--import", path, "--token", tk.Label, "--label", label, "--id", hex.EncodeToString(id), "--pin", tk.PIN)
}

// WriteCertificate writes cert to the token with CKA_ID id (none if nil)
// and CKA_LABEL label; private makes it CKA_PRIVATE (visible only after
// login).
func (tk *Token) WriteCertificate(t testing.TB, cert *x509.Certificate, id []byte, label string, private bool) {
	t.Helper()
	path := filepath.Join(tk.Dir, "cert-"+label+".der")
	if err := os.WriteFile(path, cert.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	args := []string{"--login", "--pin", tk.PIN, "--write-object", path, "--type", "cert", "--label", label}
	if id != nil {
		args = append(args, "--id", hex.EncodeToString(id))
	}
	if private {
		args = append(args, "--private")
	}
	tk.tool(t, args...)
}
