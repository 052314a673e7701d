package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"

	"github.com/google/uuid"

	"github.com/roam-project/roam/internal/store"
)

// scanner is pgx.Row or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

func newUUID() string { return uuid.New().String() }

// ---- trust anchors ----

const taCols = `id, name, source_type, source_data, enabled, crl_dp_revocation_enabled,
	notification_settings, created_at, updated_at`

func scanTrustAnchor(sc scanner) (*store.TrustAnchor, error) {
	var a store.TrustAnchor
	var ns string
	var created, updated int64
	if err := sc.Scan(&a.ID, &a.Name, &a.SourceType, &a.SourceData, &a.Enabled, &a.CRLDPRevocationEnabled,
		&ns, &created, &updated); err != nil {
		return nil, err
	}
	if err := fromJSON(ns, &a.NotificationSettings); err != nil {
		return nil, err
	}
	if a.NotificationSettings == nil {
		a.NotificationSettings = []store.NotificationSetting{}
	}
	a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
	return &a, nil
}

func getTrustAnchor(ctx context.Context, q querier, where string, arg any) (*store.TrustAnchor, error) {
	a, err := scanTrustAnchor(q.QueryRow(ctx, `SELECT `+taCols+` FROM trust_anchors WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	tags, err := loadTags(ctx, q, store.KindTrustAnchor, a.ID)
	if err != nil {
		return nil, err
	}
	a.Tags = tags[a.ID]
	return a, nil
}

func listTrustAnchors(ctx context.Context, q querier, after string, limit int) ([]*store.TrustAnchor, error) {
	rows, err := q.Query(ctx, `SELECT `+taCols+` FROM trust_anchors WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`, after, lim(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.TrustAnchor
	var ids []string
	for rows.Next() {
		a, err := scanTrustAnchor(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
		ids = append(ids, a.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	tags, err := loadTags(ctx, q, store.KindTrustAnchor, ids...)
	if err != nil {
		return nil, err
	}
	for _, a := range out {
		a.Tags = tags[a.ID]
	}
	return out, nil
}

func checkTrustAnchor(a *store.TrustAnchor) error {
	if a.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if a.SourceType == "" {
		return fmt.Errorf("empty source type: %w", store.ErrInvalid)
	}
	return nil
}

func (s *Store) insertTrustAnchor(ctx context.Context, tx pgx.Tx, a *store.TrustAnchor) (string, error) {
	if err := checkTrustAnchor(a); err != nil {
		return "", err
	}
	id := a.ID
	if id == "" {
		id = newUUID()
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM trust_anchors WHERE id = $1 OR name = $2`, id, a.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := ts(s.nowUTC())
	if _, err := tx.Exec(ctx, `INSERT INTO trust_anchors (`+taCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, a.Name, a.SourceType, a.SourceData, a.Enabled, a.CRLDPRevocationEnabled,
		toJSON(nonNilSlice(a.NotificationSettings)), now, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindTrustAnchor, id, a.Tags)
}

func (s *Store) writeTrustAnchor(ctx context.Context, tx pgx.Tx, id string, a *store.TrustAnchor) error {
	if err := checkTrustAnchor(a); err != nil {
		return err
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM trust_anchors WHERE name = $1 AND id <> $2`, a.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", a.Name, store.ErrConflict)
	}
	if _, err := tx.Exec(ctx, `UPDATE trust_anchors SET name = $1, source_type = $2, source_data = $3, enabled = $4,
		crl_dp_revocation_enabled = $5, notification_settings = $6, updated_at = $7 WHERE id = $8`,
		a.Name, a.SourceType, a.SourceData, a.Enabled, a.CRLDPRevocationEnabled,
		toJSON(nonNilSlice(a.NotificationSettings)), ts(s.nowUTC()), id); err != nil {
		return mapErr(err)
	}
	return replaceTags(ctx, tx, store.KindTrustAnchor, id, a.Tags)
}

// CreateTrustAnchor stores a new trust anchor.
func (s *Store) CreateTrustAnchor(ctx context.Context, a *store.TrustAnchor) (*store.TrustAnchor, error) {
	var out *store.TrustAnchor
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, err := s.insertTrustAnchor(ctx, tx, a)
		if err != nil {
			return err
		}
		out, err = getTrustAnchor(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create trust anchor %q: %w", a.Name, err)
	}
	return out, nil
}

// GetTrustAnchor returns the trust anchor with id.
func (s *Store) GetTrustAnchor(ctx context.Context, id string) (*store.TrustAnchor, error) {
	a, err := inRead(ctx, s, func(tx pgx.Tx) (*store.TrustAnchor, error) { return getTrustAnchor(ctx, tx, `id = $1`, id) })
	if err != nil {
		return nil, fmt.Errorf("get trust anchor %s: %w", id, err)
	}
	return a, nil
}

// GetTrustAnchorByName returns the trust anchor named name.
func (s *Store) GetTrustAnchorByName(ctx context.Context, name string) (*store.TrustAnchor, error) {
	a, err := inRead(ctx, s, func(tx pgx.Tx) (*store.TrustAnchor, error) { return getTrustAnchor(ctx, tx, `name = $1`, name) })
	if err != nil {
		return nil, fmt.Errorf("get trust anchor %q: %w", name, err)
	}
	return a, nil
}

// ListTrustAnchors returns one page of trust anchors, ordered by id.
func (s *Store) ListTrustAnchors(ctx context.Context, opts store.ListOptions) ([]*store.TrustAnchor, string, error) {
	out, next, err := page(ctx, s, opts, listTrustAnchors, func(a *store.TrustAnchor) string { return a.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list trust anchors: %w", err)
	}
	return out, next, nil
}

// UpdateTrustAnchor edits the trust anchor with id through fn.
func (s *Store) UpdateTrustAnchor(ctx context.Context, id string, fn func(*store.TrustAnchor) error) (*store.TrustAnchor, error) {
	var out *store.TrustAnchor
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		a, err := getTrustAnchor(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		if a.ID != id {
			return fmt.Errorf("id is immutable: %w", store.ErrInvalid)
		}
		if err := s.writeTrustAnchor(ctx, tx, id, a); err != nil {
			return err
		}
		out, err = getTrustAnchor(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update trust anchor %s: %w", id, err)
	}
	return out, nil
}

// DeleteTrustAnchor deletes the trust anchor with id and its CRLs, and returns
// what it deleted.
func (s *Store) DeleteTrustAnchor(ctx context.Context, id string) (*store.TrustAnchor, error) {
	var out *store.TrustAnchor
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		if out, err = getTrustAnchor(ctx, tx, `id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tags WHERE resource_kind = $1 AND resource_id IN
			(SELECT id FROM crls WHERE trust_anchor_id = $2)`, string(store.KindCRL), id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM crls WHERE trust_anchor_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM trust_anchors WHERE id = $1`, id); err != nil {
			return err
		}
		return deleteTags(ctx, tx, store.KindTrustAnchor, id)
	})
	if err != nil {
		return nil, fmt.Errorf("delete trust anchor %s: %w", id, err)
	}
	return out, nil
}

// UpsertTrustAnchorByName creates a or overwrites the anchor with its name.
func (s *Store) UpsertTrustAnchorByName(ctx context.Context, a *store.TrustAnchor) (*store.TrustAnchor, error) {
	var out *store.TrustAnchor
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		cur, err := getTrustAnchor(ctx, tx, `name = $1`, a.Name)
		var id string
		switch {
		case errors.Is(err, store.ErrNotFound):
			if id, err = s.insertTrustAnchor(ctx, tx, a); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			id = cur.ID
			if err := s.writeTrustAnchor(ctx, tx, id, a); err != nil {
				return err
			}
		}
		out, err = getTrustAnchor(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert trust anchor %q: %w", a.Name, err)
	}
	return out, nil
}

// ---- CRLs ----

const crlCols = `id, name, trust_anchor_id, crl_data, enabled, created_at, updated_at`

func scanCRL(sc scanner) (*store.CRL, error) {
	var c store.CRL
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.Name, &c.TrustAnchorID, &c.Data, &c.Enabled, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	c.Data = nonNil(c.Data)
	return &c, nil
}

func getCRL(ctx context.Context, q querier, where string, arg any) (*store.CRL, error) {
	c, err := scanCRL(q.QueryRow(ctx, `SELECT `+crlCols+` FROM crls WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	tags, err := loadTags(ctx, q, store.KindCRL, c.ID)
	if err != nil {
		return nil, err
	}
	c.Tags = tags[c.ID]
	return c, nil
}

func listCRLs(ctx context.Context, q querier, after string, limit int) ([]*store.CRL, error) {
	rows, err := q.Query(ctx, `SELECT `+crlCols+` FROM crls WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`, after, lim(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.CRL
	var ids []string
	for rows.Next() {
		c, err := scanCRL(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		ids = append(ids, c.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	tags, err := loadTags(ctx, q, store.KindCRL, ids...)
	if err != nil {
		return nil, err
	}
	for _, c := range out {
		c.Tags = tags[c.ID]
	}
	return out, nil
}

// checkCRL validates c and that its anchor exists and has room for it.
func checkCRL(ctx context.Context, tx pgx.Tx, id string, c *store.CRL) error {
	if c.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if ok, err := exists(ctx, tx, `SELECT 1 FROM trust_anchors WHERE id = $1`, c.TrustAnchorID); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("trust anchor %s: %w", c.TrustAnchorID, store.ErrNotFound)
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM crls WHERE name = $1 AND id <> $2`, c.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", c.Name, store.ErrConflict)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM crls WHERE trust_anchor_id = $1 AND id <> $2`,
		c.TrustAnchorID, id).Scan(&n); err != nil {
		return err
	}
	if n >= store.MaxCRLsPerTrustAnchor {
		return fmt.Errorf("trust anchor %s has %d CRLs (max %d): %w", c.TrustAnchorID, n,
			store.MaxCRLsPerTrustAnchor, store.ErrLimitExceeded)
	}
	return nil
}

func (s *Store) insertCRL(ctx context.Context, tx pgx.Tx, c *store.CRL) (string, error) {
	id := c.ID
	if id == "" {
		id = newUUID()
	} else if taken, err := exists(ctx, tx, `SELECT 1 FROM crls WHERE id = $1`, id); err != nil {
		return "", err
	} else if taken {
		return "", fmt.Errorf("id %s: %w", id, store.ErrConflict)
	}
	if err := checkCRL(ctx, tx, id, c); err != nil {
		return "", err
	}
	now := ts(s.nowUTC())
	if _, err := tx.Exec(ctx, `INSERT INTO crls (`+crlCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, c.Name, c.TrustAnchorID, nonNil(c.Data), c.Enabled, now, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindCRL, id, c.Tags)
}

func (s *Store) writeCRL(ctx context.Context, tx pgx.Tx, id string, c *store.CRL) error {
	if err := checkCRL(ctx, tx, id, c); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE crls SET name = $1, trust_anchor_id = $2, crl_data = $3, enabled = $4,
		updated_at = $5 WHERE id = $6`, c.Name, c.TrustAnchorID, nonNil(c.Data), c.Enabled, ts(s.nowUTC()), id); err != nil {
		return mapErr(err)
	}
	return replaceTags(ctx, tx, store.KindCRL, id, c.Tags)
}

// CreateCRL stores a new CRL for an existing trust anchor.
func (s *Store) CreateCRL(ctx context.Context, c *store.CRL) (*store.CRL, error) {
	var out *store.CRL
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, err := s.insertCRL(ctx, tx, c)
		if err != nil {
			return err
		}
		out, err = getCRL(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create CRL %q: %w", c.Name, err)
	}
	return out, nil
}

// GetCRL returns the CRL with id.
func (s *Store) GetCRL(ctx context.Context, id string) (*store.CRL, error) {
	c, err := inRead(ctx, s, func(tx pgx.Tx) (*store.CRL, error) { return getCRL(ctx, tx, `id = $1`, id) })
	if err != nil {
		return nil, fmt.Errorf("get CRL %s: %w", id, err)
	}
	return c, nil
}

// GetCRLByName returns the CRL named name.
func (s *Store) GetCRLByName(ctx context.Context, name string) (*store.CRL, error) {
	c, err := inRead(ctx, s, func(tx pgx.Tx) (*store.CRL, error) { return getCRL(ctx, tx, `name = $1`, name) })
	if err != nil {
		return nil, fmt.Errorf("get CRL %q: %w", name, err)
	}
	return c, nil
}

// ListCRLs returns one page of CRLs, ordered by id.
func (s *Store) ListCRLs(ctx context.Context, opts store.ListOptions) ([]*store.CRL, string, error) {
	out, next, err := page(ctx, s, opts, listCRLs, func(c *store.CRL) string { return c.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list CRLs: %w", err)
	}
	return out, next, nil
}

// UpdateCRL edits the CRL with id through fn.
func (s *Store) UpdateCRL(ctx context.Context, id string, fn func(*store.CRL) error) (*store.CRL, error) {
	var out *store.CRL
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		c, err := getCRL(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		if c.ID != id {
			return fmt.Errorf("id is immutable: %w", store.ErrInvalid)
		}
		if err := s.writeCRL(ctx, tx, id, c); err != nil {
			return err
		}
		out, err = getCRL(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update CRL %s: %w", id, err)
	}
	return out, nil
}

// DeleteCRL deletes the CRL with id and returns it.
func (s *Store) DeleteCRL(ctx context.Context, id string) (*store.CRL, error) {
	var out *store.CRL
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		if out, err = getCRL(ctx, tx, `id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM crls WHERE id = $1`, id); err != nil {
			return err
		}
		return deleteTags(ctx, tx, store.KindCRL, id)
	})
	if err != nil {
		return nil, fmt.Errorf("delete CRL %s: %w", id, err)
	}
	return out, nil
}

// UpsertCRLByName creates c or overwrites the CRL with its name.
func (s *Store) UpsertCRLByName(ctx context.Context, c *store.CRL) (*store.CRL, error) {
	var out *store.CRL
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		cur, err := getCRL(ctx, tx, `name = $1`, c.Name)
		var id string
		switch {
		case errors.Is(err, store.ErrNotFound):
			if id, err = s.insertCRL(ctx, tx, c); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			id = cur.ID
			if err := s.writeCRL(ctx, tx, id, c); err != nil {
				return err
			}
		}
		out, err = getCRL(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert CRL %q: %w", c.Name, err)
	}
	return out, nil
}

// ---- profiles ----

const profileCols = `id, name, role_arns, duration_seconds, session_policy, managed_policy_arns, enabled,
	accept_role_session_name, require_instance_properties, attribute_mappings, created_by, created_at, updated_at`

func scanProfile(sc scanner) (*store.Profile, error) {
	var p store.Profile
	var roles, managed, mappings string
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.Name, &roles, &p.DurationSeconds, &p.SessionPolicy, &managed, &p.Enabled,
		&p.AcceptRoleSessionName, &p.RequireInstanceProperties, &mappings, &p.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	if err := fromJSON(roles, &p.RoleARNs); err != nil {
		return nil, err
	}
	if err := fromJSON(managed, &p.ManagedPolicyARNs); err != nil {
		return nil, err
	}
	if err := fromJSON(mappings, &p.AttributeMappings); err != nil {
		return nil, err
	}
	p.RoleARNs, p.ManagedPolicyARNs = nonNilSlice(p.RoleARNs), nonNilSlice(p.ManagedPolicyARNs)
	p.AttributeMappings = nonNilSlice(p.AttributeMappings)
	p.CreatedAt, p.UpdatedAt = fromTS(created), fromTS(updated)
	return &p, nil
}

func getProfile(ctx context.Context, q querier, where string, arg any) (*store.Profile, error) {
	p, err := scanProfile(q.QueryRow(ctx, `SELECT `+profileCols+` FROM profiles WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	tags, err := loadTags(ctx, q, store.KindProfile, p.ID)
	if err != nil {
		return nil, err
	}
	p.Tags = tags[p.ID]
	return p, nil
}

func listProfiles(ctx context.Context, q querier, after string, limit int) ([]*store.Profile, error) {
	rows, err := q.Query(ctx, `SELECT `+profileCols+` FROM profiles WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`, after, lim(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Profile
	var ids []string
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		ids = append(ids, p.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	tags, err := loadTags(ctx, q, store.KindProfile, ids...)
	if err != nil {
		return nil, err
	}
	for _, p := range out {
		p.Tags = tags[p.ID]
	}
	return out, nil
}

func (s *Store) insertProfile(ctx context.Context, tx pgx.Tx, p *store.Profile) (string, error) {
	if p.Name == "" {
		return "", fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	id := p.ID
	if id == "" {
		id = newUUID()
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM profiles WHERE id = $1 OR name = $2`, id, p.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := ts(s.nowUTC())
	if _, err := tx.Exec(ctx, `INSERT INTO profiles (`+profileCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, p.Name, toJSON(nonNilSlice(p.RoleARNs)), p.DurationSeconds, p.SessionPolicy,
		toJSON(nonNilSlice(p.ManagedPolicyARNs)), p.Enabled, p.AcceptRoleSessionName, p.RequireInstanceProperties,
		toJSON(nonNilSlice(p.AttributeMappings)), p.CreatedBy, now, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindProfile, id, p.Tags)
}

func (s *Store) writeProfile(ctx context.Context, tx pgx.Tx, id string, p *store.Profile) error {
	if p.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM profiles WHERE name = $1 AND id <> $2`, p.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", p.Name, store.ErrConflict)
	}
	if _, err := tx.Exec(ctx, `UPDATE profiles SET name = $1, role_arns = $2, duration_seconds = $3,
		session_policy = $4, managed_policy_arns = $5, enabled = $6, accept_role_session_name = $7,
		require_instance_properties = $8, attribute_mappings = $9, created_by = $10, updated_at = $11 WHERE id = $12`,
		p.Name, toJSON(nonNilSlice(p.RoleARNs)), p.DurationSeconds, p.SessionPolicy,
		toJSON(nonNilSlice(p.ManagedPolicyARNs)), p.Enabled, p.AcceptRoleSessionName, p.RequireInstanceProperties,
		toJSON(nonNilSlice(p.AttributeMappings)), p.CreatedBy, ts(s.nowUTC()), id); err != nil {
		return mapErr(err)
	}
	return replaceTags(ctx, tx, store.KindProfile, id, p.Tags)
}

// CreateProfile stores a new profile.
func (s *Store) CreateProfile(ctx context.Context, p *store.Profile) (*store.Profile, error) {
	var out *store.Profile
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, err := s.insertProfile(ctx, tx, p)
		if err != nil {
			return err
		}
		out, err = getProfile(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create profile %q: %w", p.Name, err)
	}
	return out, nil
}

// GetProfile returns the profile with id.
func (s *Store) GetProfile(ctx context.Context, id string) (*store.Profile, error) {
	p, err := inRead(ctx, s, func(tx pgx.Tx) (*store.Profile, error) { return getProfile(ctx, tx, `id = $1`, id) })
	if err != nil {
		return nil, fmt.Errorf("get profile %s: %w", id, err)
	}
	return p, nil
}

// GetProfileByName returns the profile named name.
func (s *Store) GetProfileByName(ctx context.Context, name string) (*store.Profile, error) {
	p, err := inRead(ctx, s, func(tx pgx.Tx) (*store.Profile, error) { return getProfile(ctx, tx, `name = $1`, name) })
	if err != nil {
		return nil, fmt.Errorf("get profile %q: %w", name, err)
	}
	return p, nil
}

// ListProfiles returns one page of profiles, ordered by id.
func (s *Store) ListProfiles(ctx context.Context, opts store.ListOptions) ([]*store.Profile, string, error) {
	out, next, err := page(ctx, s, opts, listProfiles, func(p *store.Profile) string { return p.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list profiles: %w", err)
	}
	return out, next, nil
}

// UpdateProfile edits the profile with id through fn.
func (s *Store) UpdateProfile(ctx context.Context, id string, fn func(*store.Profile) error) (*store.Profile, error) {
	var out *store.Profile
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		p, err := getProfile(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if p.ID != id {
			return fmt.Errorf("id is immutable: %w", store.ErrInvalid)
		}
		if err := s.writeProfile(ctx, tx, id, p); err != nil {
			return err
		}
		out, err = getProfile(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update profile %s: %w", id, err)
	}
	return out, nil
}

// DeleteProfile deletes the profile with id and returns it.
func (s *Store) DeleteProfile(ctx context.Context, id string) (*store.Profile, error) {
	var out *store.Profile
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		if out, err = getProfile(ctx, tx, `id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM profiles WHERE id = $1`, id); err != nil {
			return err
		}
		return deleteTags(ctx, tx, store.KindProfile, id)
	})
	if err != nil {
		return nil, fmt.Errorf("delete profile %s: %w", id, err)
	}
	return out, nil
}

// UpsertProfileByName creates p or overwrites the profile with its name.
func (s *Store) UpsertProfileByName(ctx context.Context, p *store.Profile) (*store.Profile, error) {
	var out *store.Profile
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		cur, err := getProfile(ctx, tx, `name = $1`, p.Name)
		var id string
		switch {
		case errors.Is(err, store.ErrNotFound):
			if id, err = s.insertProfile(ctx, tx, p); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			id = cur.ID
			if err := s.writeProfile(ctx, tx, id, p); err != nil {
				return err
			}
		}
		out, err = getProfile(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert profile %q: %w", p.Name, err)
	}
	return out, nil
}
