package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The tests run against the cluster ROAM_TEST_POSTGRES names (a superuser
// DSN; `make test` starts a throwaway one with scripts/pg-test-cluster.sh).
// When it is unset, TestMain starts a throwaway cluster itself with the same
// script if PostgreSQL's binaries are installed, and removes it afterwards;
// otherwise the PostgreSQL tests skip. Each test gets a database of its own.

// testCluster is the superuser DSN of the cluster the tests use, "" if none.
// It is set once by TestMain, before any test runs.
var testCluster string

// skipReason says why testCluster is empty.
var skipReason string

func TestMain(m *testing.M) {
	code := func() int {
		if dsn := os.Getenv("ROAM_TEST_POSTGRES"); dsn != "" {
			testCluster = dsn
			return m.Run()
		}
		stop, dsn, err := startCluster()
		if err != nil {
			skipReason = err.Error()
			return m.Run()
		}
		defer stop()
		testCluster = dsn
		return m.Run()
	}()
	os.Exit(code)
}

// startCluster starts a throwaway cluster with scripts/pg-test-cluster.sh,
// which also removes it when this process ends, however it ends.
func startCluster() (stop func(), dsn string, err error) {
	script, err := findScript()
	if err != nil {
		return nil, "", err
	}
	if !havePostgres() {
		return nil, "", fmt.Errorf("ROAM_TEST_POSTGRES is unset and no PostgreSQL binaries are installed")
	}
	dir, err := os.MkdirTemp("", "roam-pg-test-")
	if err != nil {
		return nil, "", err
	}
	if err := os.Remove(dir); err != nil { // the script wants to create it
		return nil, "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script, "start", dir, "--owner-pid", fmt.Sprint(os.Getpid()))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("start PostgreSQL: %v: %s", err, stderr.String())
	}
	stop = func() {
		if out, err := exec.Command("bash", script, "stop", dir).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "stop PostgreSQL: %v: %s\n", err, out)
		}
	}
	return stop, strings.TrimSpace(stdout.String()), nil
}

func havePostgres() bool {
	if d := os.Getenv("PG_BIN"); d != "" {
		_, err := os.Stat(filepath.Join(d, "initdb"))
		return err == nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return true
	}
	_, err := exec.LookPath("initdb")
	return err == nil
}

// findScript returns scripts/pg-test-cluster.sh of the module this package
// is in.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "scripts", "pg-test-cluster.sh"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// newDatabase creates an empty database for t, dropped when t ends, and
// returns its DSN. It skips t when there is no cluster.
func newDatabase(t testing.TB) string {
	t.Helper()
	if testCluster == "" {
		t.Skipf("no PostgreSQL: %s (set ROAM_TEST_POSTGRES or install postgresql)", skipReason)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "roam_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, testCluster)
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, testCluster)
		if err != nil {
			t.Errorf("connect to the test cluster: %v", err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	return withDatabase(t, testCluster, name)
}

// withDatabase returns dsn naming database name instead.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("ROAM_TEST_POSTGRES: %v", err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

// openTest opens a Store on a new database, closed when t ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
