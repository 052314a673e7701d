package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/bench"
	"github.com/roam-project/roam/internal/cli"
	"github.com/roam-project/roam/pki"
)

// childEnv makes the test binary act as roam: Run starts os.Executable()
// (this test binary) with `server …`, and TestMain hands that to cli.Main.
const childEnv = "ROAM_BENCH_TEST_AS_ROAM"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func checkResult(t *testing.T, r *bench.Result, requests int) {
	t.Helper()
	if r.Sessions.OK != requests || r.Sessions.Errors != 0 {
		t.Errorf("sessions: %d ok, %d errors (%s); want %d ok", r.Sessions.OK, r.Sessions.Errors, r.Sessions.FirstError, requests)
	}
	if r.Healthz.OK != r.Sessions.Requests || r.Healthz.Errors != 0 {
		t.Errorf("healthz: %d ok, %d errors (%s); want %d", r.Healthz.OK, r.Healthz.Errors, r.Healthz.FirstError, r.Sessions.Requests)
	}
	if r.Warmup.OK == 0 {
		t.Error("no warm-up request")
	}
	for name, v := range map[string]float64{
		"sessions/s": r.SessionsPerSec, "p50": r.Sessions.P50Ms, "p99": r.Sessions.P99Ms,
		"server CPU per session": r.ServerCPUPerSessionUs, "server CPU per healthz": r.ServerCPUPerHealthzUs,
		"verification": r.VerifyUs,
	} {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if r.CPUSource == "" {
		t.Error("no server CPU source")
	}
	if r.ServerPID == 0 || !r.ChildServer {
		t.Errorf("server pid %d, child %v", r.ServerPID, r.ChildServer)
	}
	want := (r.ServerCPUPerSessionUs - r.ServerCPUPerHealthzUs) / r.VerifyUs
	if r.Ratio != want {
		t.Errorf("ratio %v, want %v", r.Ratio, want)
	}
	if got := float64(r.Sessions.OK) / r.Sessions.Seconds; got != r.SessionsPerSec {
		t.Errorf("sessions/s %v, want %v", r.SessionsPerSec, got)
	}
}

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Setenv(childEnv, "1")
	for _, kt := range []pki.KeyType{pki.ECP256, pki.RSA2048} {
		t.Run(string(kt), func(t *testing.T) {
			const requests = 200
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			r, err := bench.Run(ctx, bench.Options{KeyType: kt, Certs: 2, Requests: requests, Duration: time.Minute, Concurrency: 4, VerifyN: 100})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, requests)
			if kt == pki.RSA2048 && r.RootKeyType != string(pki.RSA4096) {
				t.Errorf("root key type %s, want rsa-4096", r.RootKeyType)
			}
		})
	}
}

// TestCommand runs `roam bench create-session --json` through the CLI: it
// completes (exit 0, or 1 for a missed target) and prints a result.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Setenv(childEnv, "1")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := cli.Main(ctx, []string{"bench", "create-session", "--certs", "2", "--requests", "200", "--concurrency", "4", "--verify-n", "100", "--protocol", "http2", "--json"}, nil, &stdout, &stderr)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var r bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output is not a result: %v\n%s", err, stdout.String())
	}
	if r.Protocol != "HTTP/2" {
		t.Errorf("protocol %q", r.Protocol)
	}
	checkResult(t, &r, 200)
}

func TestOptionsRejected(t *testing.T) {
	for _, o := range []bench.Options{
		{KeyType: pki.ECP384},
		{Certs: -1},
		{Endpoint: "https://127.0.0.1:1"},
	} {
		if _, err := bench.Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
