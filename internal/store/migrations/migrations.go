// Package migrations holds roam's database schema as goose migrations, shared
// by every store backend.
//
// The SQL is written to run unchanged on SQLite and PostgreSQL: only TEXT,
// BIGINT, BOOLEAN and BYTEA column types (SQLite gives BYTEA columns NUMERIC
// affinity, which stores blobs as blobs), timestamps as BIGINT Unix
// nanoseconds (0 for unset), JSON documents as TEXT, INSERT … ON CONFLICT,
// and expression indexes on lower(name) for IAM's case-insensitive names.
// Never edit a released migration; add a new numbered file.
package migrations

import "embed"

// FS holds the migration files, NNNNN_description.sql, in goose format.
//
//go:embed *.sql
var FS embed.FS
