package cadir_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/cli"
	"github.com/roam-project/roam/pki/cadir"
)

// A test binary started with roamArgsEnv set runs `roam` with those
// arguments (a JSON list) instead of the tests: the concurrency test below
// runs real `roam ca` processes without building the binary. With
// roamStartEnv set it first creates roamReadyDir/PID and waits for that
// file to appear, so that every process starts at once.
const (
	roamArgsEnv  = "ROAM_CADIR_TEST_ROAM_ARGS"
	roamStartEnv = "ROAM_CADIR_TEST_START"
	roamReadyEnv = "ROAM_CADIR_TEST_READY_DIR"
)

func TestMain(m *testing.M) {
	if a := os.Getenv(roamArgsEnv); a != "" {
		var args []string
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if start := os.Getenv(roamStartEnv); start != "" {
			os.WriteFile(filepath.Join(os.Getenv(roamReadyEnv), fmt.Sprint(os.Getpid())), nil, 0o600)
			deadline := time.Now().Add(time.Minute)
			for {
				if _, err := os.Stat(start); err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		os.Exit(cli.Main(context.Background(), args, strings.NewReader(""), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// roamProcs runs n roam processes at once, the i-th with args(i), and
// fails t unless every one exits 0.
func roamProcs(t *testing.T, n int, args func(i int) []string) {
	t.Helper()
	syncDir := t.TempDir()
	start, ready := filepath.Join(syncDir, "start"), filepath.Join(syncDir, "ready")
	if err := os.Mkdir(ready, 0o700); err != nil {
		t.Fatal(err)
	}
	type proc struct {
		cmd      *exec.Cmd
		out, err bytes.Buffer
	}
	procs := make([]*proc, n)
	for i := range procs {
		a, _ := json.Marshal(args(i))
		p := &proc{cmd: exec.Command(os.Args[0], "-test.run=^$")}
		p.cmd.Env = append(os.Environ(), roamArgsEnv+"="+string(a), roamStartEnv+"="+start, roamReadyEnv+"="+ready, "ROAM_CA_PASSWORD=")
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[i] = p
	}
	// Whatever happens, no process outlives the test.
	defer func() {
		os.WriteFile(start, nil, 0o600)
		for _, p := range procs {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		entries, _ := os.ReadDir(ready)
		if len(entries) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d processes started", len(entries), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("roam %s: %v\nstdout: %s\nstderr: %s", strings.Join(args(i), " "), err, p.out.String(), p.err.String())
		}
	}
}

// TestConcurrentCommands: 16 `roam ca issue` processes on one CA at once
// all end up in the index; then 8 `roam ca revoke` and 8 `roam ca crl`
// processes at once: every revocation is kept and the CRLs carry the
// numbers 1 to 8, each once.
func TestConcurrentCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	var out, errb bytes.Buffer
	if code := cli.Main(ctx, []string{"ca", "init", "--dir", ca, "--name", "Lock Test", "--insecure-no-password"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("roam ca init: exit %d: %s", code, errb.String())
	}

	const issuers = 16
	roamProcs(t, issuers, func(i int) []string {
		return []string{"ca", "issue", "--dir", ca, "--cn", fmt.Sprintf("workload-%02d", i), "--out", filepath.Join(dir, fmt.Sprintf("w%02d", i))}
	})
	d, err := cadir.Open(ctx, ca)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != issuers {
		t.Fatalf("the index has %d records after %d concurrent issues", len(recs), issuers)
	}
	serials := map[string]bool{}
	for _, r := range recs {
		serials[r.Serial] = true
	}
	for i := range issuers {
		c := readCert(t, filepath.Join(dir, fmt.Sprintf("w%02d.pem", i)))
		if !serials[fmt.Sprintf("%x", c.SerialNumber)] {
			t.Errorf("certificate %d (serial %x) is not in the index", i, c.SerialNumber)
		}
	}

	const half = 8
	roamProcs(t, 2*half, func(i int) []string {
		if i%2 == 0 {
			return []string{"ca", "revoke", "--dir", ca, "--serial", "0x" + recs[i/2].Serial, "--reason", "superseded"}
		}
		return []string{"ca", "crl", "--dir", ca, "--out", filepath.Join(dir, fmt.Sprintf("crl%02d.pem", i/2))}
	})
	recs, err = d.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, r := range recs {
		if r.Status == cadir.StatusRevoked {
			revoked++
		}
	}
	if len(recs) != issuers || revoked != half {
		t.Errorf("after %d concurrent revokes: %d records, %d revoked", half, len(recs), revoked)
	}
	var numbers []int64
	for i := range half {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("crl%02d.pem", i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(data)
		if b == nil {
			t.Fatalf("crl%02d.pem: no PEM", i)
		}
		rl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, rl.Number.Int64())
	}
	slices.Sort(numbers)
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(numbers, want) {
		t.Errorf("CRL numbers of %d concurrent runs: %v, want %v", half, numbers, want)
	}
	if n, err := os.ReadFile(filepath.Join(ca, cadir.CRLNumberFile)); err != nil || strings.TrimSpace(string(n)) != "8" {
		t.Errorf("crlnumber %q, %v", n, err)
	}
	if fi, err := os.Stat(filepath.Join(ca, cadir.LockFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v", err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
