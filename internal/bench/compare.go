package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TargetPostgresRatio is the least CreateSession throughput on PostgreSQL may
// be, as a fraction of the same on SQLite: the hot path reads only the
// in-memory snapshot, so the database must not show.
const TargetPostgresRatio = 0.9

// Comparison is one CompareDatabases run: the same benchmark against a child
// server on SQLite and on PostgreSQL, alternately, Rounds times each.
type Comparison struct {
	Rounds   int       `json:"rounds"`
	SQLite   []*Result `json:"sqlite"`
	Postgres []*Result `json:"postgres"`
	// SQLiteSessionsPerSec and PostgresSessionsPerSec are the best round of
	// each: on a shared machine noise only ever lowers throughput.
	SQLiteSessionsPerSec   float64 `json:"sqliteSessionsPerSec"`
	PostgresSessionsPerSec float64 `json:"postgresSessionsPerSec"`
	// Ratio is PostgresSessionsPerSec / SQLiteSessionsPerSec.
	Ratio       float64 `json:"ratio"`
	TargetRatio float64 `json:"targetRatio"`
	// Pass: Ratio ≥ TargetRatio and no request of a timed phase failed.
	Pass bool `json:"pass"`
}

// CompareDatabases runs the benchmark of opts (which must start a child
// server) rounds times on SQLite and rounds times on the PostgreSQL database
// postgresDSN, alternating SQLite and PostgreSQL so that a change in the
// machine's load affects both alike, and compares their best throughput.
func CompareDatabases(ctx context.Context, opts Options, postgresDSN string, rounds int) (*Comparison, error) {
	if opts.Endpoint != "" {
		return nil, errors.New("compare: the benchmark must start its own servers (no endpoint)")
	}
	if !strings.HasPrefix(postgresDSN, "postgres://") && !strings.HasPrefix(postgresDSN, "postgresql://") {
		return nil, errors.New("compare: a postgres:// URL is required")
	}
	if rounds < 1 {
		return nil, fmt.Errorf("compare: %d rounds", rounds)
	}
	if opts.MasterKeyFile == "" {
		// Every PostgreSQL round opens the keyring the first one sealed.
		dir, err := os.MkdirTemp("", "roam-bench-key-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		opts.MasterKeyFile = filepath.Join(dir, "master.key")
	}
	c := &Comparison{Rounds: rounds, TargetRatio: TargetPostgresRatio}
	for i := range rounds {
		for _, db := range []string{"", postgresDSN} {
			o := opts
			o.DB = db
			name := "SQLite"
			if db != "" {
				name = "PostgreSQL"
			}
			o.logf("round %d of %d: %s", i+1, rounds, name)
			r, err := Run(ctx, o)
			if err != nil {
				return nil, fmt.Errorf("%s round %d: %w", name, i+1, err)
			}
			if db == "" {
				c.SQLite = append(c.SQLite, r)
				c.SQLiteSessionsPerSec = max(c.SQLiteSessionsPerSec, r.SessionsPerSec)
			} else {
				c.Postgres = append(c.Postgres, r)
				c.PostgresSessionsPerSec = max(c.PostgresSessionsPerSec, r.SessionsPerSec)
			}
		}
	}
	if c.SQLiteSessionsPerSec > 0 {
		c.Ratio = c.PostgresSessionsPerSec / c.SQLiteSessionsPerSec
	}
	c.Pass = c.Ratio >= TargetPostgresRatio
	for _, r := range append(append([]*Result(nil), c.SQLite...), c.Postgres...) {
		if r.Sessions.Errors > 0 {
			c.Pass = false
		}
	}
	return c, nil
}
