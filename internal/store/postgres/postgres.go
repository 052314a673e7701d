// Package postgres is the scale-out store.Store: PostgreSQL through pgx, on
// the same migrations as the SQLite store, so that several roam replicas can
// share one database.
//
// Every config mutation runs in one READ COMMITTED transaction that first
// bumps the single config_version row: the row lock it takes serialises
// config writers across every replica (as BEGIN IMMEDIATE does for SQLite),
// and the same statement queues NOTIFY roam_config, '<version>', which
// PostgreSQL delivers at commit and WatchConfig turns into a channel. Reads
// that must be consistent (a record and its tags, LoadConfig, a page) run in a
// REPEATABLE READ READ ONLY transaction. Subject sightings do not bump the
// version; they are written in pipelined batches.
package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/migrations"
)

// NotifyChannel is the channel every config mutation notifies, with the new
// config version as the payload.
const NotifyChannel = "roam_config"

// defaultMaxConns is the pool size when the DSN does not set pool_max_conns.
// Config writers queue on the config_version row lock while holding a
// connection, so the pool must leave room for readers.
const defaultMaxConns = 16

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	dsn  string // redacted, for messages
	now  func() time.Time
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.Importer      = (*Store)(nil)
	_ store.ConfigWatcher = (*Store)(nil)
)

// Open connects to the database dsn names (a postgres:// URL or a libpq
// keyword/value string; pool_max_conns and the other pgxpool settings are
// honoured) and applies any pending migrations, holding an advisory lock so
// that replicas starting together migrate once. Errors never show the DSN's
// password.
func Open(ctx context.Context, dsn string) (*Store, error) {
	shown := Redact(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis: say nothing of it.
		return nil, fmt.Errorf("postgres: open: invalid connection string %s", shown)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", shown, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", shown, err)
	}
	s := &Store{pool: pool, dsn: shown, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", shown, err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	// Replicas that start together wait for the first one's migrations,
	// probing the advisory lock every second for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// SchemaVersion returns the version of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx,
		`SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres %s: %w", s.dsn, err)
	}
	return nil
}

// Close closes the connection pool. Watches started by WatchConfig end with
// their own contexts.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Redact returns dsn with any password replaced by xxxxx, for messages.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "postgres://(unparsable)"
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// kvPassword matches the value of password= in a keyword/value DSN, quoted or
// not.
var kvPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// querier is what pgx.Tx and *pgxpool.Pool both offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// bumpSQL bumps the config version, taking the row lock that serialises
// config writers, and queues the notification PostgreSQL sends at commit.
const bumpSQL = `WITH v AS (UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version)
	SELECT version, pg_notify('` + NotifyChannel + `', version::text) FROM v`

// write runs fn in a write transaction. If bump, the transaction first bumps
// the config version (so config writers queue on its row lock before reading
// anything) and notifies NotifyChannel. fn's error aborts the transaction and
// is returned unchanged.
func (s *Store) write(ctx context.Context, bump bool, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if bump {
		var v int64
		var notified any
		if err := tx.QueryRow(ctx, bumpSQL).Scan(&v, &notified); err != nil {
			return fmt.Errorf("bump config version: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// read runs fn in a REPEATABLE READ read-only transaction: every statement
// sees the same snapshot.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// PostgreSQL error codes the store maps.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// mapErr turns constraint violations into store sentinels.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation, codeForeignKeyViolation:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	return err
}

// retryable reports whether err is a transient conflict between concurrent
// transactions, worth running the transaction again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// Timestamps are BIGINT Unix nanoseconds; 0 is the zero time.

func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromTS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nowUTC returns the current time at the precision the store keeps.
func (s *Store) nowUTC() time.Time { return s.now().UTC().Round(0) }

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: marshal %T: %v", v, err)) // only plain structs are marshalled
	}
	return string(b)
}

func fromJSON(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode stored JSON: %w", err)
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nonNilSlice returns s, or an empty slice if s is nil, so JSON columns hold
// [] rather than null and readers get empty, non-nil slices.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// lower lower-cases ASCII letters only, as SQLite's lower() and PostgreSQL's
// under the C locale do; IAM names are ASCII.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// lim turns a page size into a LIMIT argument: negative means no limit.
func lim(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

// Pagination: the token is the base64url of the last key returned, the same
// encoding as the SQLite store's.

func pageSize(opts store.ListOptions) int {
	switch {
	case opts.MaxResults <= 0:
		return store.DefaultPageSize
	case opts.MaxResults > store.MaxPageSize:
		return store.MaxPageSize
	}
	return opts.MaxResults
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", store.ErrInvalidToken
	}
	return string(b), nil
}

func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// page runs list for one page and computes the next token.
func page[T any](ctx context.Context, s *Store, opts store.ListOptions,
	list func(context.Context, querier, string, int) ([]T, error), key func(T) string) ([]T, string, error) {
	after, err := decodeToken(opts.NextToken)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(opts)
	var out []T
	err = s.read(ctx, func(tx pgx.Tx) error {
		out, err = list(ctx, tx, after, n+1)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = encodeToken(key(out[n-1]))
	}
	return nonNilSlice(out), next, nil
}

// inRead runs get in a read transaction, so a record and its tags come from
// one snapshot.
func inRead[T any](ctx context.Context, s *Store, get func(tx pgx.Tx) (T, error)) (T, error) {
	var out T
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = get(tx)
		return err
	})
	return out, err
}

// exists reports whether query (SELECT 1 …) returns a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
