// Package storeopen opens the store a DSN names, SQLite or PostgreSQL, for
// every part of roam that reads or writes the server's store (the server,
// the gateway). It lives apart from package store because the backends
// import store.
package storeopen

import (
	"context"
	"strings"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/postgres"
	"github.com/roam-project/roam/internal/store/sqlite"
)

// IsPostgres reports whether dsn is a PostgreSQL URL (postgres:// or
// postgresql://).
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the store dsn names: PostgreSQL for a postgres:// or
// postgresql:// URL, otherwise the SQLite database file at that path.
// Either applies pending schema migrations. Errors never show a PostgreSQL
// password.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	if IsPostgres(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// Redact returns dsn fit for messages and logs: a PostgreSQL URL without
// its password, a file path as it is.
func Redact(dsn string) string {
	if IsPostgres(dsn) {
		return postgres.Redact(dsn)
	}
	return dsn
}
