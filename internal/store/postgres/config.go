package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/roam-project/roam/internal/store"
)

// GetSetting returns the value of setting key.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("get setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("get setting %q: %w", key, err)
	}
	return v, nil
}

// PutSetting sets setting key to value.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("put setting %q: empty key: %w", key, store.ErrInvalid)
	}
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("put setting %q: %w", key, err)
	}
	return nil
}

// Settings returns every setting.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	m, err := loadSettings(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return m, nil
}

func loadSettings(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// ConfigVersion returns the current config version.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("config version: %w", err)
	}
	return v, nil
}

// LoadConfig reads the whole configuration in one REPEATABLE READ read-only
// transaction.
func (s *Store) LoadConfig(ctx context.Context) (*store.Config, error) {
	c := &store.Config{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		// The first statement fixes the snapshot every later one reads.
		if err := tx.QueryRow(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&c.Version); err != nil {
			return err
		}
		var err error
		if c.Settings, err = loadSettings(ctx, tx); err != nil {
			return err
		}
		if c.TrustAnchors, err = listTrustAnchors(ctx, tx, "", -1); err != nil {
			return err
		}
		if c.CRLs, err = listCRLs(ctx, tx, "", -1); err != nil {
			return err
		}
		if c.Profiles, err = listProfiles(ctx, tx, "", -1); err != nil {
			return err
		}
		if c.Roles, err = listRoles(ctx, tx, "", -1); err != nil {
			return err
		}
		if c.Policies, err = listPolicies(ctx, tx, "", -1); err != nil {
			return err
		}
		if c.Users, err = listUsers(ctx, tx, "", -1); err != nil {
			return err
		}
		if c.AccessKeys, err = listAllAccessKeys(ctx, tx); err != nil {
			return err
		}
		c.Keys, err = listKeys(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c.TrustAnchors = nonNilSlice(c.TrustAnchors)
	c.CRLs = nonNilSlice(c.CRLs)
	c.Profiles = nonNilSlice(c.Profiles)
	c.Roles = nonNilSlice(c.Roles)
	c.Policies = nonNilSlice(c.Policies)
	c.Users = nonNilSlice(c.Users)
	return c, nil
}

func listAllAccessKeys(ctx context.Context, q querier) ([]*store.AccessKey, error) {
	rows, err := q.Query(ctx, `SELECT `+accessKeyCols+` FROM access_keys k JOIN users u ON u.id = k.user_id
		ORDER BY k.id COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*store.AccessKey{}
	for rows.Next() {
		k, err := scanAccessKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ---- keyring ----

func listKeys(ctx context.Context, q querier) ([]store.KeyRecord, error) {
	rows, err := q.Query(ctx, `SELECT id, sealed, created_at, active_until, retire_at FROM keyring
		ORDER BY created_at, id COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.KeyRecord{}
	for rows.Next() {
		var k store.KeyRecord
		var created, active, retire int64
		if err := rows.Scan(&k.ID, &k.Sealed, &created, &active, &retire); err != nil {
			return nil, err
		}
		k.Sealed = nonNil(k.Sealed)
		k.CreatedAt, k.ActiveUntil, k.RetireAt = fromTS(created), fromTS(active), fromTS(retire)
		out = append(out, k)
	}
	return out, rows.Err()
}

// ListKeys returns the keyring, oldest key first.
func (s *Store) ListKeys(ctx context.Context) ([]store.KeyRecord, error) {
	out, err := listKeys(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

func putKey(ctx context.Context, tx pgx.Tx, k store.KeyRecord) error {
	_, err := tx.Exec(ctx, `INSERT INTO keyring (id, sealed, created_at, active_until, retire_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at,
			active_until = excluded.active_until, retire_at = excluded.retire_at`,
		k.ID, nonNil(k.Sealed), ts(k.CreatedAt), ts(k.ActiveUntil), ts(k.RetireAt))
	return err
}

// PutKey inserts k, or replaces the key with its ID.
func (s *Store) PutKey(ctx context.Context, k store.KeyRecord) error {
	if k.ID == "" {
		return fmt.Errorf("put key: empty id: %w", store.ErrInvalid)
	}
	if err := s.write(ctx, true, func(tx pgx.Tx) error { return putKey(ctx, tx, k) }); err != nil {
		return fmt.Errorf("put key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteKey deletes the key with id.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM keyring WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete key %s: %w", id, err)
	}
	return nil
}
