package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), newDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestWatchConfig: two stores on one database; a mutation through A reaches
// B's watch within a second, and a failed mutation sends nothing.
func TestWatchConfig(t *testing.T) {
	dsn := newDatabase(t)
	ctx := t.Context()
	a, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wctx, cancel := context.WithCancel(ctx)
	ch, err := b.WatchConfig(wctx)
	if err != nil {
		t.Fatal(err)
	}
	receive := func(want int64) {
		t.Helper()
		deadline := time.After(time.Second)
		for {
			select {
			case v := <-ch:
				if v == want {
					return
				}
				if v > want {
					t.Fatalf("watch sent %d, want %d", v, want)
				}
			case <-deadline:
				t.Fatalf("version %d not seen within 1s", want)
			}
		}
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"put setting", func() error { return a.PutSetting(ctx, store.SettingRegion, "eu-west-1") }},
		{"create profile", func() error { _, err := a.CreateProfile(ctx, &store.Profile{Name: "p"}); return err }},
		{"disable profile", func() error {
			p, err := a.GetProfileByName(ctx, "p")
			if err != nil {
				return err
			}
			_, err = a.UpdateProfile(ctx, p.ID, func(p *store.Profile) error { p.Enabled = false; return nil })
			return err
		}},
		{"put key", func() error { return a.PutKey(ctx, store.KeyRecord{ID: "k", Sealed: []byte{1}}) }},
	}
	for _, step := range steps {
		start := time.Now()
		if err := step.fn(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		want, err := a.ConfigVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		receive(want)
		t.Logf("%s: version %d seen by B after %v", step.name, want, time.Since(start))
	}

	// A failed mutation notifies nothing; subjects are not configuration.
	if _, err := a.CreateProfile(ctx, &store.Profile{Name: "p"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate profile: %v", err)
	}
	if err := a.UpsertSubjects(ctx, []store.SubjectSighting{{X509Subject: "CN=x"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-ch:
		t.Fatalf("watch sent %d without a config change", v)
	case <-time.After(300 * time.Millisecond):
	}

	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			// A value may have been in flight; the close must follow.
			if _, ok := <-ch; ok {
				t.Fatal("channel still open after cancel")
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
}

// TestWatchReconnects: when the listening connection is killed, the watch
// reconnects and sends the current version, then keeps delivering.
func TestWatchReconnects(t *testing.T) {
	dsn := newDatabase(t)
	ctx := t.Context()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch, err := s.WatchConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Kill every other backend on this database: the LISTEN connection.
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "k", "v"); err != nil { // lost: nobody listens right now
		t.Fatal(err)
	}
	want, _ := s.ConfigVersion(ctx)
	select {
	case v := <-ch:
		if v != want {
			t.Fatalf("after reconnect got %d, want %d", v, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no version after reconnect")
	}
	if err := s.PutSetting(ctx, "k", "w"); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-ch:
		if v != want+1 {
			t.Fatalf("got %d, want %d", v, want+1)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no notification after reconnect")
	}
}

// TestOpenConcurrently: replicas starting together on an empty database
// migrate it once.
func TestOpenConcurrently(t *testing.T) {
	dsn := newDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(t.Context(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := openTestDSN(t, dsn)
	var applied int
	if err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if sv, _ := s.SchemaVersion(t.Context()); applied != int(sv) || sv < 1 {
		t.Fatalf("%d migrations recorded for schema version %d", applied, sv)
	}
	if v, _ := s.ConfigVersion(t.Context()); v != 0 {
		t.Fatalf("config version %d on a fresh database", v)
	}
}

func openTestDSN(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenErrorsHidePasswords(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tests := []struct{ name, dsn, want string }{
		{"unreachable URL", "postgres://roam:s3cret-pw@127.0.0.1:1/roam?connect_timeout=2", "postgres: open postgres://roam:xxxxx@127.0.0.1:1/roam"},
		{"unreachable keyword/value", "host=127.0.0.1 port=1 user=roam password=s3cret-pw connect_timeout=2", "password=xxxxx"},
		{"bad URL", "postgres://roam:s3cret-pw@host:notaport/db", "invalid connection string"},
		{"bad option", "postgres://roam:s3cret-pw@127.0.0.1/db?sslmode=bogus", "invalid connection string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db"},
		{"postgres://u@h/db?password=pw", "postgres://u@h/db?password=xxxxx"},
		{"host=h user=u password=pw dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password='p w\\'x' dbname=db", "host=h password=xxxxx dbname=db"},
		{"host=h password = pw", "host=h password = xxxxx"},
	}
	for _, tc := range tests {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestReopen: data and the config version survive closing and reopening,
// and migrations do not run again.
func TestReopen(t *testing.T) {
	dsn := newDatabase(t)
	ctx := t.Context()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateTrustAnchor(ctx, &store.TrustAnchor{Name: "ta", SourceType: store.SourceCertificateBundle,
		Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := s.ConfigVersion(ctx)
	s.Close()
	s = openTestDSN(t, dsn)
	got, err := s.GetTrustAnchor(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "ta" || got.Tags["k"] != "v" || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("after reopen: %+v", got)
	}
	if v2, _ := s.ConfigVersion(ctx); v2 != v1 {
		t.Fatalf("config version %d after reopen, was %d", v2, v1)
	}
}
