package storeopen

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/store/sqlite"
)

func TestIsPostgresAndRedact(t *testing.T) {
	for dsn, pg := range map[string]bool{
		"postgres://roam:s3cret@db/roam":       true,
		"postgresql://db/roam?password=s3cret": true,
		"/var/lib/roam/roam.db":                false,
		"roam.db":                              false,
		"sqlite:roam.db":                       false,
	} {
		if IsPostgres(dsn) != pg {
			t.Errorf("IsPostgres(%q) = %v", dsn, !pg)
		}
		if r := Redact(dsn); strings.Contains(r, "s3cret") || (!pg && r != dsn) {
			t.Errorf("Redact(%q) = %q", dsn, r)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*sqlite.Store); !ok {
		t.Errorf("Open(file) = %T, want *sqlite.Store", st)
	}
}
