package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// loadTags returns the tags of each of ids (every id gets a non-nil map).
func loadTags(ctx context.Context, q querier, kind store.ResourceKind, ids ...string) (map[string]map[string]string, error) {
	out := make(map[string]map[string]string, len(ids))
	for _, id := range ids {
		out[id] = map[string]string{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	const chunk = 500 // stay well under SQLite's bound-parameter limit
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := []any{string(kind)}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := q.QueryContext(ctx, `SELECT resource_id, key, value FROM tags
			WHERE resource_kind = ? AND resource_id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("load tags: %w", err)
		}
		for rows.Next() {
			var id, k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load tags: %w", err)
			}
			out[id][k] = v
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("load tags: %w", err)
		}
	}
	return out, nil
}

// loadAllTags returns the tags of every resource of kind.
func loadAllTags(ctx context.Context, q querier, kind store.ResourceKind) (map[string]map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT resource_id, key, value FROM tags WHERE resource_kind = ?`, string(kind))
	if err != nil {
		return nil, fmt.Errorf("load tags: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return nil, fmt.Errorf("load tags: %w", err)
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][k] = v
	}
	return out, rows.Err()
}

func tagsOf(all map[string]map[string]string, id string) map[string]string {
	if t := all[id]; t != nil {
		return t
	}
	return map[string]string{}
}

// replaceTags makes tags the complete tag set of the resource.
func replaceTags(ctx context.Context, tx *sql.Tx, kind store.ResourceKind, id string, tags map[string]string) error {
	if len(tags) > store.MaxTagsPerResource {
		return fmt.Errorf("%d tags (max %d): %w", len(tags), store.MaxTagsPerResource, store.ErrLimitExceeded)
	}
	if err := deleteTags(ctx, tx, kind, id); err != nil {
		return err
	}
	for k, v := range tags {
		if k == "" {
			return fmt.Errorf("empty tag key: %w", store.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (resource_kind, resource_id, key, value) VALUES (?, ?, ?, ?)`,
			string(kind), id, k, v); err != nil {
			return fmt.Errorf("write tags: %w", err)
		}
	}
	return nil
}

func deleteTags(ctx context.Context, tx *sql.Tx, kind store.ResourceKind, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_kind = ? AND resource_id = ?`, string(kind), id); err != nil {
		return fmt.Errorf("delete tags: %w", err)
	}
	return nil
}

// resolveRef returns the internal id of the resource ref names.
func resolveRef(ctx context.Context, q querier, ref store.ResourceRef) (string, error) {
	var query string
	switch ref.Kind {
	case store.KindTrustAnchor:
		query = `SELECT id FROM trust_anchors WHERE id = ?`
	case store.KindProfile:
		query = `SELECT id FROM profiles WHERE id = ?`
	case store.KindCRL:
		query = `SELECT id FROM crls WHERE id = ?`
	case store.KindRole:
		query = `SELECT id FROM roles WHERE lower(name) = lower(?)`
	case store.KindUser:
		query = `SELECT id FROM users WHERE lower(name) = lower(?)`
	case store.KindPolicy:
		query = `SELECT id FROM policies WHERE arn = ?`
	default:
		return "", fmt.Errorf("resource kind %q: %w", ref.Kind, store.ErrInvalid)
	}
	var id string
	err := q.QueryRowContext(ctx, query, ref.Key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s %q: %w", ref.Kind, ref.Key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", ref.Kind, ref.Key, err)
	}
	return id, nil
}

// TagResource adds or overwrites tags on the resource ref names.
func (s *Store) TagResource(ctx context.Context, ref store.ResourceRef, tags map[string]string) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := resolveRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		cur, err := loadTags(ctx, tx, ref.Kind, id)
		if err != nil {
			return err
		}
		next := maps.Clone(cur[id])
		maps.Copy(next, tags)
		if len(next) > store.MaxTagsPerResource {
			return fmt.Errorf("%d tags (max %d): %w", len(next), store.MaxTagsPerResource, store.ErrLimitExceeded)
		}
		for k, v := range tags {
			if k == "" {
				return fmt.Errorf("empty tag key: %w", store.ErrInvalid)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tags (resource_kind, resource_id, key, value) VALUES (?, ?, ?, ?)
				ON CONFLICT (resource_kind, resource_id, key) DO UPDATE SET value = excluded.value`,
				string(ref.Kind), id, k, v); err != nil {
				return fmt.Errorf("write tags: %w", err)
			}
		}
		if err := touch(ctx, tx, ref.Kind, id, s.nowUTC()); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tag resource: %w", err)
	}
	return nil
}

// UntagResource removes keys from the resource ref names.
func (s *Store) UntagResource(ctx context.Context, ref store.ResourceRef, keys []string) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := resolveRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_kind = ? AND resource_id = ? AND key = ?`,
				string(ref.Kind), id, k); err != nil {
				return fmt.Errorf("delete tags: %w", err)
			}
		}
		return touch(ctx, tx, ref.Kind, id, s.nowUTC())
	})
	if err != nil {
		return fmt.Errorf("untag resource: %w", err)
	}
	return nil
}

// ListTags returns the tags of the resource ref names.
func (s *Store) ListTags(ctx context.Context, ref store.ResourceRef) (map[string]string, error) {
	var out map[string]string
	err := s.read(ctx, func(tx *sql.Tx) error {
		id, err := resolveRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		all, err := loadTags(ctx, tx, ref.Kind, id)
		out = all[id]
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return out, nil
}

// touch sets updated_at of the resource.
func touch(ctx context.Context, tx *sql.Tx, kind store.ResourceKind, id string, now time.Time) error {
	table := map[store.ResourceKind]string{
		store.KindTrustAnchor: "trust_anchors", store.KindProfile: "profiles", store.KindCRL: "crls",
		store.KindRole: "roles", store.KindPolicy: "policies", store.KindUser: "users",
	}[kind]
	if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET updated_at = ? WHERE id = ?`, ts(now), id); err != nil {
		return fmt.Errorf("touch %s: %w", kind, err)
	}
	return nil
}
