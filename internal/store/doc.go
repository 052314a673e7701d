// Package store defines roam's persistent state and the Store interface every
// backend (SQLite by default, PostgreSQL for scale-out) implements.
package store
