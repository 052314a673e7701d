package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

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
	rows, err := q.Query(ctx, `SELECT resource_id, key, value FROM tags
		WHERE resource_kind = $1 AND resource_id = ANY($2)`, string(kind), ids)
	if err != nil {
		return nil, fmt.Errorf("load tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return nil, fmt.Errorf("load tags: %w", err)
		}
		out[id][k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load tags: %w", err)
	}
	return out, nil
}

func tagsOf(all map[string]map[string]string, id string) map[string]string {
	if t := all[id]; t != nil {
		return t
	}
	return map[string]string{}
}

// replaceTags makes tags the complete tag set of the resource.
func replaceTags(ctx context.Context, tx pgx.Tx, kind store.ResourceKind, id string, tags map[string]string) error {
	if len(tags) > store.MaxTagsPerResource {
		return fmt.Errorf("%d tags (max %d): %w", len(tags), store.MaxTagsPerResource, store.ErrLimitExceeded)
	}
	if err := deleteTags(ctx, tx, kind, id); err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	values := make([]string, 0, len(tags))
	for k, v := range tags {
		if k == "" {
			return fmt.Errorf("empty tag key: %w", store.ErrInvalid)
		}
		keys, values = append(keys, k), append(values, v)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tags (resource_kind, resource_id, key, value)
		SELECT $1, $2, k, v FROM unnest($3::text[], $4::text[]) AS t (k, v)`,
		string(kind), id, keys, values); err != nil {
		return fmt.Errorf("write tags: %w", err)
	}
	return nil
}

func deleteTags(ctx context.Context, tx pgx.Tx, kind store.ResourceKind, id string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM tags WHERE resource_kind = $1 AND resource_id = $2`, string(kind), id); err != nil {
		return fmt.Errorf("delete tags: %w", err)
	}
	return nil
}

// resolveRef returns the internal id of the resource ref names.
func resolveRef(ctx context.Context, q querier, ref store.ResourceRef) (string, error) {
	var query string
	switch ref.Kind {
	case store.KindTrustAnchor:
		query = `SELECT id FROM trust_anchors WHERE id = $1`
	case store.KindProfile:
		query = `SELECT id FROM profiles WHERE id = $1`
	case store.KindCRL:
		query = `SELECT id FROM crls WHERE id = $1`
	case store.KindRole:
		query = `SELECT id FROM roles WHERE lower(name) = lower($1)`
	case store.KindUser:
		query = `SELECT id FROM users WHERE lower(name) = lower($1)`
	case store.KindPolicy:
		query = `SELECT id FROM policies WHERE arn = $1`
	default:
		return "", fmt.Errorf("resource kind %q: %w", ref.Kind, store.ErrInvalid)
	}
	var id string
	err := q.QueryRow(ctx, query, ref.Key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s %q: %w", ref.Kind, ref.Key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", ref.Kind, ref.Key, err)
	}
	return id, nil
}

// TagResource adds or overwrites tags on the resource ref names.
func (s *Store) TagResource(ctx context.Context, ref store.ResourceRef, tags map[string]string) error {
	if _, err := tableOf(ref.Kind); err != nil {
		return fmt.Errorf("tag resource: %w", err)
	}
	err := s.write(ctx, true, func(tx pgx.Tx) error {
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
			if _, err := tx.Exec(ctx, `INSERT INTO tags (resource_kind, resource_id, key, value) VALUES ($1, $2, $3, $4)
				ON CONFLICT (resource_kind, resource_id, key) DO UPDATE SET value = excluded.value`,
				string(ref.Kind), id, k, v); err != nil {
				return fmt.Errorf("write tags: %w", err)
			}
		}
		return touch(ctx, tx, ref.Kind, id, s.nowUTC())
	})
	if err != nil {
		return fmt.Errorf("tag resource: %w", err)
	}
	return nil
}

// UntagResource removes keys from the resource ref names.
func (s *Store) UntagResource(ctx context.Context, ref store.ResourceRef, keys []string) error {
	if _, err := tableOf(ref.Kind); err != nil {
		return fmt.Errorf("untag resource: %w", err)
	}
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, err := resolveRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tags WHERE resource_kind = $1 AND resource_id = $2 AND key = ANY($3)`,
			string(ref.Kind), id, nonNilSlice(keys)); err != nil {
			return fmt.Errorf("delete tags: %w", err)
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
	err := s.read(ctx, func(tx pgx.Tx) error {
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

// tableOf returns the table of a taggable resource kind.
func tableOf(kind store.ResourceKind) (string, error) {
	switch kind {
	case store.KindTrustAnchor:
		return "trust_anchors", nil
	case store.KindProfile:
		return "profiles", nil
	case store.KindCRL:
		return "crls", nil
	case store.KindRole:
		return "roles", nil
	case store.KindPolicy:
		return "policies", nil
	case store.KindUser:
		return "users", nil
	}
	return "", fmt.Errorf("resource kind %q: %w", kind, store.ErrInvalid)
}

// touch sets updated_at of the resource.
func touch(ctx context.Context, tx pgx.Tx, kind store.ResourceKind, id string, now time.Time) error {
	table, err := tableOf(kind)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE `+table+` SET updated_at = $1 WHERE id = $2`, ts(now), id); err != nil {
		return fmt.Errorf("touch %s: %w", kind, err)
	}
	return nil
}
