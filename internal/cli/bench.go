package cli

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/roam-project/roam/internal/bench"
	"github.com/roam-project/roam/pki"
	"github.com/spf13/cobra"
)

func newBenchCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure roam's performance",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchCreateSessionCommand(env))
	return cmd
}

type benchFlags struct {
	opts                 bench.Options
	keyType              string
	protocol             string
	jsonOut              bool
	caCert, caKey, tlsCA string
	compareSQLite        bool
	rounds               int
}

func newBenchCreateSessionCommand(env *Env) *cobra.Command {
	var fl benchFlags
	cmd := &cobra.Command{
		Use:   "create-session",
		Short: "Measure CreateSession throughput, latency and server CPU per session",
		Long: `Start a roam server as a child process (this executable, on 127.0.0.1 over
TLS, with a generated CA, TLS certificate and bootstrap file: one trust
anchor, one role whose trust policy allows rolesanywhere.amazonaws.com under
an ArnEquals aws:SourceArn condition, one profile), issue --certs client
certificates and pre-sign one CreateSession request per certificate. Then:

  warm-up   every certificate once, every connection opened
  sessions  up to --requests CreateSession requests, for at most --duration,
            --concurrency in flight over keep-alive TLS connections
  healthz   as many GET /healthz requests the same way

and time --verify-n leaf signature verifications (SHA-256 digest) in this
process. The server's CPU time (user + system) is read from
/proc/PID/task/*/schedstat (nanoseconds) around each phase.

Printed: sessions/s, p50/p99 latency, server CPU per session and per healthz
request, one verification, and the ratio
  (CPU per session − CPU per healthz) / one verification
against the targets: ratio ≤ 3 and ≥ 3000 sessions/s.

--key-type ec-p256 issues EC P-256 leaves under an EC P-256 root; rsa-2048
RSA-2048 leaves under an RSA-4096 root.

With --endpoint a running server is driven instead: --ca-cert and --ca-key
issue the client certificates (the trust anchor or a CA under it, sent as
X-Amz-X509-Chain when it is not the anchor), --tls-ca verifies the server,
--trust-anchor-arn, --profile-arn and --role-arn name what to ask for, and
--server-pid (same machine) gives the CPU figures.

--db runs the child server on that database: a SQLite file or a
postgres:// URL (its bootstrap file is applied by name, so a database used
before is reused, and must be given the --master-key-file of its first run:
the keyring stored in it is sealed under that key). --compare-sqlite, with --db postgres://…, runs the same
benchmark on SQLite and on PostgreSQL, alternately, --rounds times each, and
compares their best throughput: PostgreSQL must reach 90% of SQLite's, since
CreateSession reads only the in-memory snapshot. --server-flag flags (audit,
say) are given to both servers.

Exit status: 0 when every target is met, 1 when one is missed, 2 on error.
With --compare-sqlite the one target is the PostgreSQL/SQLite ratio.`,
		Example: `  roam bench create-session
  roam bench create-session --key-type rsa-2048 --json
  roam bench create-session --certs 1000 --requests 100000 --duration 60s --concurrency 64
  roam bench create-session --db postgres://roam@127.0.0.1/roam --compare-sqlite --rounds 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, env, &fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.keyType, "key-type", string(pki.ECP256), "client key type: ec-p256 (EC P-256 root) or rsa-2048 (RSA-4096 root)")
	f.IntVar(&fl.opts.Certs, "certs", bench.DefaultCerts, "distinct client certificates")
	f.IntVar(&fl.opts.Requests, "requests", bench.DefaultRequests, "CreateSession requests in the timed phase (at most)")
	f.DurationVar(&fl.opts.Duration, "duration", bench.DefaultDuration, "length of the timed phase (at most)")
	f.IntVar(&fl.opts.Concurrency, "concurrency", bench.DefaultConcurrency, "requests in flight")
	f.StringVar(&fl.protocol, "protocol", "http1", "http1 (keep-alive connections, one per request in flight) or http2")
	f.IntVar(&fl.opts.VerifyN, "verify-n", bench.DefaultVerifyN, "signature verifications timed")
	f.BoolVar(&fl.jsonOut, "json", false, "print the result as JSON")
	f.StringVar(&fl.opts.Endpoint, "endpoint", "", "drive this running server (https://HOST:PORT) instead of starting one")
	f.IntVar(&fl.opts.ServerPID, "server-pid", 0, "with --endpoint: the server's process id, for CPU figures")
	f.StringVar(&fl.caCert, "ca-cert", "", "with --endpoint: CA certificate (PEM) that issues client certificates, then its chain")
	f.StringVar(&fl.caKey, "ca-key", "", "with --endpoint: the CA's private key (PEM, unencrypted)")
	f.StringVar(&fl.tlsCA, "tls-ca", "", "with --endpoint: CA bundle that verifies the server (default: system roots)")
	f.StringVar(&fl.opts.TrustAnchorARN, "trust-anchor-arn", "", "with --endpoint: trust anchor ARN")
	f.StringVar(&fl.opts.ProfileARN, "profile-arn", "", "with --endpoint: profile ARN")
	f.StringVar(&fl.opts.RoleARN, "role-arn", "", "with --endpoint: role ARN")
	f.StringVar(&fl.opts.DB, "db", "", "database of the child server: SQLite file or postgres:// URL (default: a SQLite file in a temporary directory)")
	f.StringVar(&fl.opts.MasterKeyFile, "master-key-file", "", "master key file of the child server (default: a new one per run; a PostgreSQL database needs the key of its first run)")
	f.BoolVar(&fl.compareSQLite, "compare-sqlite", false, "with --db postgres://…: run on SQLite and on PostgreSQL and compare throughput")
	f.IntVar(&fl.rounds, "rounds", 1, "with --compare-sqlite: rounds on each database, alternating")
	f.StringArrayVar(&fl.opts.ServerArgs, "server-flag", nil, "extra flag for the child `roam server` (repeatable), e.g. --server-flag=--cpuprofile=cpu.prof")
	f.MarkHidden("server-flag")
	return cmd
}

func runBench(cmd *cobra.Command, env *Env, fl *benchFlags) error {
	kt, err := pki.ParseKeyType(fl.keyType)
	if err != nil || (kt != pki.ECP256 && kt != pki.RSA2048) {
		return fmt.Errorf("--key-type %q: want ec-p256 or rsa-2048", fl.keyType)
	}
	fl.opts.KeyType = kt
	switch strings.ToLower(fl.protocol) {
	case "http1", "http/1.1", "h1":
	case "http2", "http/2", "h2":
		fl.opts.HTTP2 = true
	default:
		return fmt.Errorf("--protocol %q: want http1 or http2", fl.protocol)
	}
	if fl.opts.Endpoint != "" && (fl.opts.DB != "" || fl.opts.MasterKeyFile != "") {
		return errors.New("--db and --master-key-file are for the child server: not with --endpoint")
	}
	if fl.compareSQLite && !isPostgresURL(fl.opts.DB) {
		return errors.New("--compare-sqlite needs --db postgres://…")
	}
	if fl.opts.Endpoint == "" {
		if fl.caCert != "" || fl.caKey != "" || fl.tlsCA != "" || fl.opts.ServerPID != 0 ||
			fl.opts.TrustAnchorARN != "" || fl.opts.ProfileARN != "" || fl.opts.RoleARN != "" {
			return errors.New("--ca-cert, --ca-key, --tls-ca, --server-pid and the ARN flags need --endpoint")
		}
	} else if err := loadBenchEndpoint(fl); err != nil {
		return err
	}
	if !fl.jsonOut {
		fl.opts.Progress = env.Stderr
	}
	if fl.compareSQLite {
		return runBenchCompare(cmd, env, fl)
	}
	res, err := bench.Run(cmd.Context(), fl.opts)
	if err != nil {
		return err
	}
	if fl.jsonOut {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else {
		printBench(env.Stdout, res)
	}
	if !res.Pass {
		return &ExitError{Code: 1}
	}
	return nil
}

// runBenchCompare is --compare-sqlite.
func runBenchCompare(cmd *cobra.Command, env *Env, fl *benchFlags) error {
	c, err := bench.CompareDatabases(cmd.Context(), fl.opts, fl.opts.DB, fl.rounds)
	if err != nil {
		return err
	}
	if fl.jsonOut {
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else {
		for i := range c.SQLite {
			fmt.Fprintf(env.Stdout, "--- round %d, SQLite\n", i+1)
			printBench(env.Stdout, c.SQLite[i])
			fmt.Fprintf(env.Stdout, "--- round %d, PostgreSQL (%s)\n", i+1, c.Postgres[i].Database)
			printBench(env.Stdout, c.Postgres[i])
		}
		fmt.Fprintf(env.Stdout, "---\nCreateSession throughput, best of %d: SQLite %.0f sessions/s, PostgreSQL %.0f sessions/s\n",
			c.Rounds, c.SQLiteSessionsPerSec, c.PostgresSessionsPerSec)
		fmt.Fprintf(env.Stdout, "PostgreSQL / SQLite: %.3f  (target ≥ %.2f)  %s\n", c.Ratio, c.TargetRatio, passFail(c.Pass))
	}
	if !c.Pass {
		return &ExitError{Code: 1}
	}
	return nil
}

func loadBenchEndpoint(fl *benchFlags) error {
	if fl.caCert == "" || fl.caKey == "" {
		return errors.New("--endpoint needs --ca-cert and --ca-key to issue client certificates")
	}
	data, err := os.ReadFile(fl.caCert)
	if err != nil {
		return err
	}
	certs, err := pki.ParseCertificatesPEM(data)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("--ca-cert %s: no certificate: %v", fl.caCert, err)
	}
	keyData, err := os.ReadFile(fl.caKey)
	if err != nil {
		return err
	}
	key, err := pki.ParsePrivateKeyPEM(keyData, nil)
	if err != nil {
		return fmt.Errorf("--ca-key %s: %w", fl.caKey, err)
	}
	if !pki.KeyMatchesCertificate(key, certs[0]) {
		return fmt.Errorf("--ca-key %s does not match --ca-cert %s", fl.caKey, fl.caCert)
	}
	fl.opts.Issuer = &pki.Issuer{Cert: certs[0], Key: key}
	// An intermediate issuer is sent along; a self-signed anchor is not.
	for _, c := range certs {
		if string(c.RawSubject) != string(c.RawIssuer) {
			fl.opts.Chain = append(fl.opts.Chain, c)
		}
	}
	if fl.tlsCA != "" {
		b, err := os.ReadFile(fl.tlsCA)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("--tls-ca %s: no PEM certificate", fl.tlsCA)
		}
		fl.opts.RootCAs = pool
	}
	return nil
}

func printBench(w io.Writer, r *bench.Result) {
	where := "child roam server"
	if !r.ChildServer {
		where = "server " + r.Endpoint
	}
	root := ""
	if r.RootKeyType != "" {
		root = " under a " + r.RootKeyType + " root"
	}
	fmt.Fprintf(w, "CreateSession benchmark: %s leaves%s, %d certificates, concurrency %d, %s, %s (pid %d)\n",
		r.KeyType, root, r.Certs, r.Concurrency, r.Protocol, where, r.ServerPID)
	fmt.Fprintf(w, "machine: %d CPUs, load average %s before, %s after\n", r.CPUs, loadString(r.LoadBefore), loadString(r.LoadAfter))
	phase := func(name, unit string, p bench.Phase) {
		fmt.Fprintf(w, "%-9s %6d %-8s in %6.2fs  %8.0f/s  p50 %6.2f ms  p99 %6.2f ms", name, p.OK, unit, p.Seconds, p.PerSec, p.P50Ms, p.P99Ms)
		if p.Errors > 0 {
			fmt.Fprintf(w, "  %d errors (first: %s)", p.Errors, p.FirstError)
		}
		fmt.Fprintln(w)
	}
	phase("warm-up", "sessions", r.Warmup)
	phase("sessions", "sessions", r.Sessions)
	phase("healthz", "requests", r.Healthz)
	if r.CPUSource != "" {
		fmt.Fprintf(w, "server CPU: %.1f µs/session, %.1f µs/healthz (%s)\n", r.ServerCPUPerSessionUs, r.ServerCPUPerHealthzUs, r.CPUSource)
	} else {
		fmt.Fprintln(w, "server CPU: not available (give --server-pid with --endpoint)")
	}
	fmt.Fprintf(w, "client CPU: %.1f µs/session\n", r.ClientCPUPerSessionUs)
	fmt.Fprintf(w, "one %s leaf signature verification: %.1f µs (best of 3 × %d, %s)\n", r.KeyType, r.VerifyUs, r.VerifyN, r.VerifyMethod)
	if r.CPUSource != "" {
		fmt.Fprintf(w, "ratio (CPU/session − CPU/healthz) / verification: %.2f  (target ≤ %.0f)  %s\n", r.Ratio, r.TargetRatio, passFail(r.RatioPass))
	} else {
		fmt.Fprintf(w, "ratio: not available  (target ≤ %.0f)  FAIL\n", r.TargetRatio)
	}
	fmt.Fprintf(w, "throughput: %.0f sessions/s  (target ≥ %.0f)  %s\n", r.SessionsPerSec, r.TargetSessionsPerSec, passFail(r.ThroughputPass))
}

func loadString(l []float64) string {
	if len(l) == 0 {
		return "n/a"
	}
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = fmt.Sprintf("%.2f", v)
	}
	return strings.Join(parts, " ")
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
