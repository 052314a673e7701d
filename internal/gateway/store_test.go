package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/storeopen"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// testPostgresDatabase creates an empty database in the cluster
// ROAM_TEST_POSTGRES names (a superuser URL; `make unit` sets it), dropped
// when t ends, and returns its URL. It skips t without the variable.
func testPostgresDatabase(t *testing.T) string {
	t.Helper()
	cluster := os.Getenv("ROAM_TEST_POSTGRES")
	if cluster == "" {
		t.Skip("ROAM_TEST_POSTGRES is unset (make unit sets it)")
	}
	u, err := url.Parse(cluster)
	if err != nil || !storeopen.IsPostgres(cluster) {
		t.Fatalf("ROAM_TEST_POSTGRES must be a postgres:// URL (%v)", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "roam_gateway_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, cluster)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(`CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// TestStorePostgres: a gateway whose store is the roam server's PostgreSQL
// database (store: {db: postgres://…}) reads the credential keyring and
// the roles from it: a session minted by the server's keyring is accepted
// and decided by the role's policy, a policy change made in PostgreSQL
// takes effect at the next poll, and audit: {store: true} writes the
// decisions to the same database.
func TestStorePostgres(t *testing.T) {
	dsn := testPostgresDatabase(t)
	ctx := context.Background()
	dir := t.TempDir()

	// The server's side: its store, master key, keyring and a role.
	srv, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	master, err := sts.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := sts.OpenKeyring(ctx, srv, master, sts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	role, err := srv.CreateRole(ctx, &store.Role{Name: "reader", Path: "/",
		AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		InlinePolicies:   map[string]string{"read": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/public/*"}]}`}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	creds, err := kr.Mint(sts.SessionSpec{RoleARN: "arn:aws:iam::000000000000:role/reader", RoleID: role.ID, SessionName: "pg",
		IssuedAt: now, Expiration: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	tlsCA := newTestCA(t, "gateway tls")
	tlsCA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "127.0.0.1"}}).writeKeyPair(t, dir, "gw")
	writeFile(t, filepath.Join(dir, "backend.keys"), []byte("AKIAPGBACKEND\nbackend-secret\n"))
	g := startGateway(t, dir, fmt.Sprintf(`store: {db: %q, masterKeyFile: master.key, pollInterval: 50ms}
audit: {store: true}
routes:
  - name: s3
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: none}
    authorization: sigv4
    backend: {url: %q, s3: true, credentials: {file: backend.keys}}
`, dsn, backend.URL))
	if got := g.cfg.Store.DB; got != dsn {
		t.Errorf("store.db resolved to %q, want the URL as written", got)
	}
	if _, ok := any(g.store.st).(interface {
		SchemaVersion(context.Context) (int64, error)
	}); !ok {
		t.Errorf("gateway store is %T, want the PostgreSQL store", g.store.st)
	}

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool(tlsCA.Cert)}}}
	get := func(path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+g.Addr("s3").String()+path, nil)
		if err := sigv4.SignHMAC(req, sigv4.UnsignedPayload, sigv4.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
			SessionToken: creds.SessionToken}, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/bucket/public/a.txt"); code != 200 {
		t.Fatalf("allowed GET: %d (the session or the role was not read from PostgreSQL?)\n%s", code, g.log.String())
	}
	if code := get("/bucket/private/a.txt"); code != 403 {
		t.Fatalf("GET outside the role's policy: %d", code)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("backend called %d times, want 1", n)
	}

	// A change made in PostgreSQL reaches the gateway at its next poll.
	if _, err := srv.UpdateRole(ctx, "reader", func(r *store.Role) error {
		r.InlinePolicies["private"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/private/*"}]}`
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the role change applied", func() bool { return get("/bucket/private/a.txt") == 200 })

	// Decisions are audited to the same database.
	eventually(t, "audit events in PostgreSQL", func() bool {
		events, _, err := srv.ListAudit(ctx, store.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var allowed, denied int
		for _, e := range events {
			if strings.HasPrefix(e.Principal, "arn:aws:sts::000000000000:assumed-role/reader/pg") {
				switch e.Outcome {
				case store.OutcomeAllowed:
					allowed++
				case store.OutcomeDenied:
					denied++
				}
			}
		}
		return allowed >= 2 && denied >= 1
	})
}

// TestStoreDBPaths: a relative SQLite path is resolved against the
// configuration's directory; a PostgreSQL URL is kept as written.
func TestStoreDBPaths(t *testing.T) {
	route := `
routes:
  - {name: r, listen: "127.0.0.1:0", tls: {cert: c.pem, key: c.key}, clientAuth: {mode: none}, authorization: sigv4,
     backend: {url: "http://127.0.0.1:1", s3: true, credentials: {file: k}}}
`
	for db, want := range map[string]string{
		"roam.db":                              "/etc/roam/roam.db",
		"/var/lib/roam/roam.db":                "/var/lib/roam/roam.db",
		"postgres://roam:pw@db:5432/roam":      "postgres://roam:pw@db:5432/roam",
		"postgresql://db/roam?sslmode=disable": "postgresql://db/roam?sslmode=disable",
	} {
		cfg, err := ParseConfig([]byte(fmt.Sprintf("store: {db: %q, masterKeyFile: m.key}", db)+route), "/etc/roam")
		if err != nil {
			t.Fatalf("%s: %v", db, err)
		}
		if cfg.Store.DB != want {
			t.Errorf("db %q resolved to %q, want %q", db, cfg.Store.DB, want)
		}
	}
}

// TestNewStoreError: a store that does not open is reported as an error
// (it used to panic in the clean-up of the half-built gateway).
func TestNewStoreError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "m.key"), make([]byte, 32))
	cfg, err := ParseConfig([]byte(`store: {db: missing.db, masterKeyFile: m.key}
routes:
  - {name: r, listen: "127.0.0.1:0", tls: {cert: c.pem, key: c.key}, clientAuth: {mode: none}, authorization: sigv4,
     backend: {url: "http://127.0.0.1:1", s3: true, credentials: {file: k}}}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), cfg, Options{})
	if err == nil || g != nil || !strings.Contains(err.Error(), "store: database:") {
		t.Fatalf("New = %v, %v; want a store: database error", g, err)
	}
}
