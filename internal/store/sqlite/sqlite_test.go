package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "roam.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roam.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutSetting(t.Context(), "k", "v"); err != nil { // make sure the WAL exists
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), m)
		}
	}
	var mode string
	if err := s.r.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %s", mode)
	}
	for _, db := range []*sql.DB{s.r, s.w} {
		var fk, busy int
		if err := db.QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(t.Context(), `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("foreign_keys = %d, busy_timeout = %d", fk, busy)
		}
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roam.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateTrustAnchor(ctx, &store.TrustAnchor{Name: "ta", SourceType: store.SourceCertificateBundle,
		Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.ConfigVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var applied int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	if sv, _ := s.SchemaVersion(ctx); sv != schema || sv < 1 {
		t.Fatalf("schema version %d after reopen, was %d", sv, schema)
	}
	var again int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version`).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if again != applied {
		t.Fatalf("goose_db_version has %d rows after reopen, had %d: migrations ran again", again, applied)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("this is not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	readOnlyDir := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnlyDir, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		skipRoot         bool
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "roam.db"), "no such file or directory", false},
		{"directory", dir, "not a regular file", false},
		{"corrupt file", corrupt, "not a database", false},
		{"unwritable directory", filepath.Join(readOnlyDir, "roam.db"), "permission denied", true},
		{"parent is a file", filepath.Join(corrupt, "roam.db"), "not a directory", false},
		{"memory", ":memory:", "plain file path", false},
		{"empty", "", "plain file path", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skipRoot && os.Geteuid() == 0 {
				t.Skip("root ignores permissions")
			}
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sqlite: open") {
				t.Fatalf("Open(%q) = %v, want an error mentioning %q", tc.path, err, tc.want)
			}
			t.Log(err)
		})
	}
}
