package bench_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/bench"
)

// TestCompareDatabasesArguments: the comparison refuses what it cannot
// compare before starting any server.
func TestCompareDatabasesArguments(t *testing.T) {
	tests := []struct {
		name    string
		opts    bench.Options
		dsn     string
		rounds  int
		wantErr string
	}{
		{"not postgres", bench.Options{}, "/tmp/roam.db", 1, "postgres:// URL"},
		{"endpoint", bench.Options{Endpoint: "https://127.0.0.1:9443"}, "postgres://127.0.0.1/roam", 1, "own servers"},
		{"no rounds", bench.Options{}, "postgres://127.0.0.1/roam", 0, "0 rounds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bench.CompareDatabases(context.Background(), tt.opts, tt.dsn, tt.rounds)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CompareDatabases = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
