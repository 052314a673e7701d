package e2e

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	roamcreds "github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/postgres"
	"github.com/roam-project/roam/pki"
)

// pgStopGrace is the --db-grace of the test server.
const pgStopGrace = 2 * time.Second

// TestPGStopGrace stops PostgreSQL under a running `roam server` (pg_ctl
// stop -m fast on its throwaway cluster) and starts it again on the same
// port, and checks with the real server process that:
//   - CreateSession and STS keep working from the snapshot right after the
//     stop, and /readyz stays true within the grace time (--db-grace 2s);
//   - /readyz turns false after the grace time, with the reason in its JSON
//     body, no sooner than the grace allows;
//   - then CreateSession gets 503 ServiceUnavailableException (restJson1)
//     and STS 503 ServiceUnavailable (awsQuery), while /healthz stays 200;
//   - once PostgreSQL is back, all recovers by itself: /readyz, CreateSession,
//     STS, and a config change made in the database reaches the server.
func TestPGStopGrace(t *testing.T) {
	pg := startPGCluster(t)
	dir := t.TempDir()
	root := newCA(t, "pgstop root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	srv := startServerOn(t, dir, root, pg.DSN, filepath.Join(dir, "master.key"), replicaYAML,
		"--db-grace", pgStopGrace.String())
	profileARN := profileARNFromLog(t, srv)
	leaf := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "pgstop-workload"})
	p := sessionProvider(t, srv, leaf, profileARN, "s3-writer")
	ctx := context.Background()

	mustSession := func(when string) roamcreds.Credentials {
		t.Helper()
		c, err := p.CreateSession(ctx)
		if err != nil {
			t.Fatalf("%s: CreateSession: %v", when, err)
		}
		return c
	}
	mustSTS := func(when string, c roamcreds.Credentials) {
		t.Helper()
		arn, err := stsCallerARN(ctx, srv, c)
		if err != nil || !strings.Contains(arn, ":assumed-role/s3-writer/") {
			t.Fatalf("%s: GetCallerIdentity = %q, %v", when, arn, err)
		}
	}
	mustReady := func(when string) {
		t.Helper()
		if code, body := readyz(t, srv); code != http.StatusOK {
			t.Fatalf("%s: /readyz %d %s", when, code, body)
		}
	}

	creds := mustSession("before the stop")
	mustSTS("before the stop", creds)
	mustReady("before the stop")

	pg.stopFast(t)
	stopped := time.Now()

	// Within the grace time: served from the snapshot. The last successful
	// probe was at most a second before the stop, so the first second after
	// it is safely within 2 s.
	fresh := mustSession("right after the stop")
	mustSTS("right after the stop", fresh)
	mustSTS("right after the stop (older credentials)", creds)
	if since := time.Since(stopped); since < pgStopGrace/2 {
		mustReady("right after the stop")
	}

	// Fail closed after the grace time.
	var body string
	took, err := pollUntil(stopped, pgStopGrace+5*time.Second, 50*time.Millisecond, func() bool {
		var code int
		code, body = readyz(t, srv)
		return code == http.StatusServiceUnavailable
	})
	if err != nil {
		t.Fatalf("/readyz still ready %s after PostgreSQL stopped: %s", pgStopGrace+5*time.Second, body)
	}
	t.Logf("/readyz turned false %s after the stop (grace %s)", took.Round(time.Millisecond), pgStopGrace)
	// The grace is counted from the last successful contact, at most one
	// probe interval (1 s) before the stop.
	if took < pgStopGrace-time.Second-100*time.Millisecond {
		t.Errorf("/readyz turned false %s after the stop, before the grace time %s allows", took, pgStopGrace)
	}
	var rz struct{ Status, Reason string }
	if err := json.Unmarshal([]byte(body), &rz); err != nil || rz.Status != "unavailable" || !strings.Contains(rz.Reason, "database unreachable") {
		t.Fatalf("/readyz body %s: want status unavailable and the reason", body)
	}

	_, err = p.CreateSession(ctx)
	var ae *roamcreds.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusServiceUnavailable || ae.Code != "ServiceUnavailableException" {
		t.Fatalf("CreateSession after the grace time: %v, want 503 ServiceUnavailableException", err)
	}
	_, err = stsCallerARN(ctx, srv, creds)
	var se smithy.APIError
	if !errors.As(err, &se) || se.ErrorCode() != "ServiceUnavailable" || !strings.Contains(err.Error(), "StatusCode: 503") {
		t.Fatalf("GetCallerIdentity after the grace time: %v, want 503 ServiceUnavailable", err)
	}
	if resp, err := srv.Client.Get(srv.Endpoint + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the grace time: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}

	// PostgreSQL back on the same port: the server recovers by itself.
	pg.startAgain(t)
	restarted := time.Now()
	if took, err = pollUntil(restarted, 15*time.Second, 100*time.Millisecond, func() bool {
		code, _ := readyz(t, srv)
		return code == http.StatusOK
	}); err != nil {
		t.Fatalf("/readyz not ready 15s after PostgreSQL came back: %s", body)
	}
	t.Logf("/readyz ready again %s after PostgreSQL restarted", took.Round(time.Millisecond))
	after := mustSession("after recovery")
	mustSTS("after recovery", after)
	mustSTS("after recovery (credentials from before the outage)", creds)

	// The configuration path recovered too: a change committed in the
	// database (by another client, as a replica would) reaches the server.
	st, err := postgres.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := profileARN[strings.LastIndex(profileARN, "/")+1:]
	if _, err := st.UpdateProfile(ctx, id, func(pr *store.Profile) error { pr.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	var last error
	if took, err = pollUntil(time.Now(), 10*time.Second, 50*time.Millisecond, func() bool {
		_, last = p.CreateSession(ctx)
		return errors.As(last, &ae) && ae.StatusCode == http.StatusForbidden
	}); err != nil {
		t.Fatalf("a profile disabled in the database after recovery: CreateSession still gives %v", last)
	}
	t.Logf("a change after recovery reached the server in %s", took.Round(time.Millisecond))

	if !srv.running() {
		t.Fatalf("the server exited:\n%s", srv.stderr.String())
	}
	for _, want := range []string{"database unreachable; serving from the configuration snapshot", "database grace time over", "database reachable again"} {
		if !strings.Contains(srv.stderr.String(), want) {
			t.Errorf("the server log lacks %q", want)
		}
	}
}
