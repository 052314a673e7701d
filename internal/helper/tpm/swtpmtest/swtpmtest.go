// Package swtpmtest runs a swtpm TPM 2.0 simulator for tests and makes keys
// in it with tpm2-tools. The simulator listens on 127.0.0.1 (TCP) and is
// killed when the test ends.
package swtpmtest

import (
	"bytes"
	"crypto"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// SRKHandle is where CreateSRK persists the storage root key.
const SRKHandle = "0x81000001"

// TPM is a running swtpm.
type TPM struct {
	Dir  string // state and scratch directory
	Port int    // TPM command port on 127.0.0.1
	// Device is the value for roam's TPMDevice / TPM_DEVICE.
	Device string
	// TCTI is the value for TPM2TOOLS_TCTI.
	TCTI string
}

// Available reports why swtpm tests cannot run here ("" if they can).
func Available() string {
	for _, tool := range []string{"swtpm", "tpm2_createprimary", "tpm2_create", "tpm2_evictcontrol", "tpm2_flushcontext", "tpm2_encodeobject"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed (apt-get install swtpm swtpm-tools tpm2-tools)"
		}
	}
	return ""
}

// freePortPair returns a port P such that P and P+1 were free on 127.0.0.1
// a moment ago: the swtpm TCTI expects the control port right after the
// command port.
func freePortPair(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		l.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no free pair of TCP ports")
	return 0
}

// Start runs a fresh swtpm (TPM 2.0, TCP on 127.0.0.1) and stops it when the
// test ends. It skips the test when swtpm or tpm2-tools is missing.
func Start(t testing.TB) *TPM {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip("swtpm test skipped: " + why)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePortPair(t)
		p := []int{port, port + 1}
		cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+state,
			"--server", "type=tcp,port="+strconv.Itoa(p[0])+",bindaddr=127.0.0.1",
			"--ctrl", "type=tcp,port="+strconv.Itoa(p[1])+",bindaddr=127.0.0.1",
			"--flags", "not-need-init,startup-clear")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("start swtpm: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Kill()
			<-exited
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p[0]))
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Cleanup(stop)
				tp := &TPM{Dir: dir, Port: p[0], Device: "swtpm:host=127.0.0.1,port=" + strconv.Itoa(p[0])}
				tp.TCTI = tp.Device
				return tp
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		lastErr = stderr.String()
	}
	t.Fatalf("swtpm did not start: %s", lastErr)
	return nil
}

// Env is the environment for tpm2-tools talking to this TPM.
func (tp *TPM) Env() []string {
	return append(os.Environ(), "TPM2TOOLS_TCTI="+tp.TCTI)
}

// Run runs a tpm2-tools command against the TPM, then flushes transient
// objects (swtpm has no resource manager and only a few object slots).
func (tp *TPM) Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out := tp.run(t, name, args...)
	for _, what := range []string{"-t", "-l", "-s"} {
		tp.run(t, "tpm2_flushcontext", what)
	}
	return out
}

func (tp *TPM) run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = tp.Env()
	cmd.Dir = tp.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes()
}

// Path returns the path of name in the scratch directory.
func (tp *TPM) Path(name string) string { return filepath.Join(tp.Dir, name) }

// SRKAttributes are the object attributes of the TCG storage primary key
// template (the one the TSS2 key file format and the OpenSSL tpm2 provider
// use for a hierarchy parent). tpm2_createprimary's default lacks noda.
const SRKAttributes = "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt"

// CreateSRK creates the ECC P-256 primary storage key under the owner
// hierarchy and persists it at SRKHandle. With standard true it uses the
// TCG template (SRKAttributes), else tpm2_createprimary's default.
func (tp *TPM) CreateSRK(t testing.TB, standard bool) {
	t.Helper()
	args := []string{"-C", "o", "-g", "sha256", "-G", "ecc", "-c", "srk.ctx"}
	if standard {
		args = append(args, "-a", SRKAttributes)
	}
	tp.Run(t, "tpm2_createprimary", args...)
	tp.Run(t, "tpm2_evictcontrol", "-C", "o", "-c", "srk.ctx", SRKHandle)
}

// Key is a key created by CreateKey.
type Key struct {
	Name      string           // file prefix in the scratch directory
	PublicKey crypto.PublicKey // its public key
	// Public and Private are the TPM2B_PUBLIC and TPM2B_PRIVATE as
	// tpm2_create wrote them (with their 2-byte size).
	Public, Private []byte
}

// CreateKey creates a signing key under the SRK with tpm2_create; alg is a
// tpm2-tools algorithm ("ecc256", "rsa2048", "ecc256:ecdsa-sha256"), and
// password the key's auth value ("" for none).
func (tp *TPM) CreateKey(t testing.TB, name, alg, password string) *Key {
	t.Helper()
	args := []string{"-C", SRKHandle, "-G", alg, "-u", name + ".pub", "-r", name + ".priv"}
	if password != "" {
		args = append(args, "-p", password)
	}
	tp.Run(t, "tpm2_create", args...)
	k := &Key{Name: name}
	var err error
	if k.Public, err = os.ReadFile(tp.Path(name + ".pub")); err != nil {
		t.Fatal(err)
	}
	if k.Private, err = os.ReadFile(tp.Path(name + ".priv")); err != nil {
		t.Fatal(err)
	}
	pub, err := tpm2.DecodePublic(k.Public[2:])
	if err != nil {
		t.Fatalf("decode %s.pub: %v", name, err)
	}
	if k.PublicKey, err = pub.Key(); err != nil {
		t.Fatal(err)
	}
	return k
}

// EncodeObject writes the key as a TSS2 PEM file with tpm2_encodeobject
// (naming the owner hierarchy, 0x40000001, as the parent) and returns
// its path. tpm2-tools 5.4 inverts the emptyAuth flag: a key without a
// password needs -p to be marked emptyAuth, so emptyAuth here is the flag
// the file should carry.
func (tp *TPM) EncodeObject(t testing.TB, k *Key, emptyAuth bool) string {
	t.Helper()
	out := k.Name + ".tss.pem"
	if !emptyAuth {
		out = k.Name + ".auth.tss.pem"
	}
	// Given the SRK's context file rather than its persistent handle,
	// tpm2_encodeobject names the owner hierarchy as the parent.
	args := []string{"-C", "srk.ctx", "-u", k.Name + ".pub", "-r", k.Name + ".priv", "-o", out}
	if emptyAuth == encodeObjectInverted(t) {
		args = append(args, "-p")
	}
	tp.Run(t, "tpm2_encodeobject", args...)
	return tp.Path(out)
}

// encodeObjectInverted reports whether the installed tpm2_encodeobject has
// the 5.4 defect where -p means "no password".
func encodeObjectInverted(t testing.TB) bool {
	out, err := exec.Command("tpm2_encodeobject", "--version").CombinedOutput()
	if err != nil {
		return true
	}
	return strings.Contains(string(out), `version="5.4`) || strings.Contains(string(out), "version=5.4")
}

// Persist makes the key persistent at handle (e.g. "0x81000010").
func (tp *TPM) Persist(t testing.TB, k *Key, handle string) {
	t.Helper()
	ctx := k.Name + ".ctx"
	tp.Run(t, "tpm2_load", "-C", SRKHandle, "-u", k.Name+".pub", "-r", k.Name+".priv", "-c", ctx)
	tp.Run(t, "tpm2_evictcontrol", "-C", "o", "-c", ctx, handle)
}

// String describes the TPM for messages.
func (tp *TPM) String() string { return fmt.Sprintf("swtpm on 127.0.0.1:%d", tp.Port) }
