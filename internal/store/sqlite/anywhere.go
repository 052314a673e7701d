package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/roam-project/roam/internal/store"
)

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func newUUID() string { return uuid.New().String() }

// exists reports whether query (SELECT 1 …) returns a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

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
	a, err := scanTrustAnchor(q.QueryRowContext(ctx, `SELECT `+taCols+` FROM trust_anchors WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
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
	out, err := queryAll(ctx, q, scanTrustAnchor, `SELECT `+taCols+` FROM trust_anchors WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, a := range out {
		ids[i] = a.ID
	}
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

func (s *Store) insertTrustAnchor(ctx context.Context, tx *sql.Tx, a *store.TrustAnchor) (string, error) {
	if err := checkTrustAnchor(a); err != nil {
		return "", err
	}
	id := a.ID
	if id == "" {
		id = newUUID()
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM trust_anchors WHERE id = ? OR name = ?`, id, a.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := ts(s.nowUTC())
	if _, err := tx.ExecContext(ctx, `INSERT INTO trust_anchors (`+taCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, a.Name, a.SourceType, a.SourceData, a.Enabled, a.CRLDPRevocationEnabled,
		toJSON(nonNilSlice(a.NotificationSettings)), now, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindTrustAnchor, id, a.Tags)
}

func (s *Store) writeTrustAnchor(ctx context.Context, tx *sql.Tx, id string, a *store.TrustAnchor) error {
	if err := checkTrustAnchor(a); err != nil {
		return err
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM trust_anchors WHERE name = ? AND id <> ?`, a.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", a.Name, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE trust_anchors SET name = ?, source_type = ?, source_data = ?, enabled = ?,
		crl_dp_revocation_enabled = ?, notification_settings = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.SourceType, a.SourceData, a.Enabled, a.CRLDPRevocationEnabled,
		toJSON(nonNilSlice(a.NotificationSettings)), ts(s.nowUTC()), id); err != nil {
		return mapErr(err)
	}
	return replaceTags(ctx, tx, store.KindTrustAnchor, id, a.Tags)
}

// CreateTrustAnchor stores a new trust anchor.
func (s *Store) CreateTrustAnchor(ctx context.Context, a *store.TrustAnchor) (*store.TrustAnchor, error) {
	var out *store.TrustAnchor
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := s.insertTrustAnchor(ctx, tx, a)
		if err != nil {
			return err
		}
		out, err = getTrustAnchor(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create trust anchor %q: %w", a.Name, err)
	}
	return out, nil
}

// GetTrustAnchor returns the trust anchor with id.
func (s *Store) GetTrustAnchor(ctx context.Context, id string) (*store.TrustAnchor, error) {
	a, err := inRead(ctx, s, func(tx *sql.Tx) (*store.TrustAnchor, error) { return getTrustAnchor(ctx, tx, `id = ?`, id) })
	if err != nil {
		return nil, fmt.Errorf("get trust anchor %s: %w", id, err)
	}
	return a, nil
}

// GetTrustAnchorByName returns the trust anchor named name.
func (s *Store) GetTrustAnchorByName(ctx context.Context, name string) (*store.TrustAnchor, error) {
	a, err := inRead(ctx, s, func(tx *sql.Tx) (*store.TrustAnchor, error) { return getTrustAnchor(ctx, tx, `name = ?`, name) })
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		a, err := getTrustAnchor(ctx, tx, `id = ?`, id)
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
		out, err = getTrustAnchor(ctx, tx, `id = ?`, id)
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var err error
		if out, err = getTrustAnchor(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_kind = ? AND resource_id IN
			(SELECT id FROM crls WHERE trust_anchor_id = ?)`, string(store.KindCRL), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM crls WHERE trust_anchor_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM trust_anchors WHERE id = ?`, id); err != nil {
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		cur, err := getTrustAnchor(ctx, tx, `name = ?`, a.Name)
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
		out, err = getTrustAnchor(ctx, tx, `id = ?`, id)
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
	c, err := scanCRL(q.QueryRowContext(ctx, `SELECT `+crlCols+` FROM crls WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
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
	out, err := queryAll(ctx, q, scanCRL, `SELECT `+crlCols+` FROM crls WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, c := range out {
		ids[i] = c.ID
	}
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
func checkCRL(ctx context.Context, tx *sql.Tx, id string, c *store.CRL) error {
	if c.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if ok, err := exists(ctx, tx, `SELECT 1 FROM trust_anchors WHERE id = ?`, c.TrustAnchorID); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("trust anchor %s: %w", c.TrustAnchorID, store.ErrNotFound)
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM crls WHERE name = ? AND id <> ?`, c.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", c.Name, store.ErrConflict)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM crls WHERE trust_anchor_id = ? AND id <> ?`,
		c.TrustAnchorID, id).Scan(&n); err != nil {
		return err
	}
	if n >= store.MaxCRLsPerTrustAnchor {
		return fmt.Errorf("trust anchor %s has %d CRLs (max %d): %w", c.TrustAnchorID, n,
			store.MaxCRLsPerTrustAnchor, store.ErrLimitExceeded)
	}
	return nil
}

func (s *Store) insertCRL(ctx context.Context, tx *sql.Tx, c *store.CRL) (string, error) {
	id := c.ID
	if id == "" {
		id = newUUID()
	} else if taken, err := exists(ctx, tx, `SELECT 1 FROM crls WHERE id = ?`, id); err != nil {
		return "", err
	} else if taken {
		return "", fmt.Errorf("id %s: %w", id, store.ErrConflict)
	}
	if err := checkCRL(ctx, tx, id, c); err != nil {
		return "", err
	}
	now := ts(s.nowUTC())
	if _, err := tx.ExecContext(ctx, `INSERT INTO crls (`+crlCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, c.Name, c.TrustAnchorID, nonNil(c.Data), c.Enabled, now, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindCRL, id, c.Tags)
}

func (s *Store) writeCRL(ctx context.Context, tx *sql.Tx, id string, c *store.CRL) error {
	if err := checkCRL(ctx, tx, id, c); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE crls SET name = ?, trust_anchor_id = ?, crl_data = ?, enabled = ?,
		updated_at = ? WHERE id = ?`, c.Name, c.TrustAnchorID, nonNil(c.Data), c.Enabled, ts(s.nowUTC()), id); err != nil {
		return mapErr(err)
	}
	return replaceTags(ctx, tx, store.KindCRL, id, c.Tags)
}

// CreateCRL stores a new CRL for an existing trust anchor.
func (s *Store) CreateCRL(ctx context.Context, c *store.CRL) (*store.CRL, error) {
	var out *store.CRL
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := s.insertCRL(ctx, tx, c)
		if err != nil {
			return err
		}
		out, err = getCRL(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create CRL %q: %w", c.Name, err)
	}
	return out, nil
}

// GetCRL returns the CRL with id.
func (s *Store) GetCRL(ctx context.Context, id string) (*store.CRL, error) {
	c, err := inRead(ctx, s, func(tx *sql.Tx) (*store.CRL, error) { return getCRL(ctx, tx, `id = ?`, id) })
	if err != nil {
		return nil, fmt.Errorf("get CRL %s: %w", id, err)
	}
	return c, nil
}

// GetCRLByName returns the CRL named name.
func (s *Store) GetCRLByName(ctx context.Context, name string) (*store.CRL, error) {
	c, err := inRead(ctx, s, func(tx *sql.Tx) (*store.CRL, error) { return getCRL(ctx, tx, `name = ?`, name) })
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		c, err := getCRL(ctx, tx, `id = ?`, id)
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
		out, err = getCRL(ctx, tx, `id = ?`, id)
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var err error
		if out, err = getCRL(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM crls WHERE id = ?`, id); err != nil {
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		cur, err := getCRL(ctx, tx, `name = ?`, c.Name)
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
		out, err = getCRL(ctx, tx, `id = ?`, id)
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
	p, err := scanProfile(q.QueryRowContext(ctx, `SELECT `+profileCols+` FROM profiles WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
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
	out, err := queryAll(ctx, q, scanProfile, `SELECT `+profileCols+` FROM profiles WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, p := range out {
		ids[i] = p.ID
	}
	tags, err := loadTags(ctx, q, store.KindProfile, ids...)
	if err != nil {
		return nil, err
	}
	for _, p := range out {
		p.Tags = tags[p.ID]
	}
	return out, nil
}

func (s *Store) insertProfile(ctx context.Context, tx *sql.Tx, p *store.Profile) (string, error) {
	if p.Name == "" {
		return "", fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	id := p.ID
	if id == "" {
		id = newUUID()
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM profiles WHERE id = ? OR name = ?`, id, p.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := ts(s.nowUTC())
	if _, err := tx.ExecContext(ctx, `INSERT INTO profiles (`+profileCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, p.Name, toJSON(nonNilSlice(p.RoleARNs)), p.DurationSeconds, p.SessionPolicy,
		toJSON(nonNilSlice(p.ManagedPolicyARNs)), p.Enabled, p.AcceptRoleSessionName, p.RequireInstanceProperties,
		toJSON(nonNilSlice(p.AttributeMappings)), p.CreatedBy, now, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindProfile, id, p.Tags)
}

func (s *Store) writeProfile(ctx context.Context, tx *sql.Tx, id string, p *store.Profile) error {
	if p.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM profiles WHERE name = ? AND id <> ?`, p.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", p.Name, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE profiles SET name = ?, role_arns = ?, duration_seconds = ?,
		session_policy = ?, managed_policy_arns = ?, enabled = ?, accept_role_session_name = ?,
		require_instance_properties = ?, attribute_mappings = ?, created_by = ?, updated_at = ? WHERE id = ?`,
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := s.insertProfile(ctx, tx, p)
		if err != nil {
			return err
		}
		out, err = getProfile(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create profile %q: %w", p.Name, err)
	}
	return out, nil
}

// GetProfile returns the profile with id.
func (s *Store) GetProfile(ctx context.Context, id string) (*store.Profile, error) {
	p, err := inRead(ctx, s, func(tx *sql.Tx) (*store.Profile, error) { return getProfile(ctx, tx, `id = ?`, id) })
	if err != nil {
		return nil, fmt.Errorf("get profile %s: %w", id, err)
	}
	return p, nil
}

// GetProfileByName returns the profile named name.
func (s *Store) GetProfileByName(ctx context.Context, name string) (*store.Profile, error) {
	p, err := inRead(ctx, s, func(tx *sql.Tx) (*store.Profile, error) { return getProfile(ctx, tx, `name = ?`, name) })
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		p, err := getProfile(ctx, tx, `id = ?`, id)
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
		out, err = getProfile(ctx, tx, `id = ?`, id)
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var err error
		if out, err = getProfile(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM profiles WHERE id = ?`, id); err != nil {
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
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		cur, err := getProfile(ctx, tx, `name = ?`, p.Name)
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
		out, err = getProfile(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert profile %q: %w", p.Name, err)
	}
	return out, nil
}

// nonNilSlice returns s, or an empty slice if s is nil, so JSON columns hold
// [] rather than null and readers get empty, non-nil slices.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// page runs list for one page and computes the next token.
func page[T any](ctx context.Context, s *Store, opts store.ListOptions,
	list func(context.Context, querier, string, int) ([]T, error), key func(T) string) ([]T, string, error) {
	after, err := decodeToken(opts.NextToken)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(opts)
	var out []T
	err = s.read(ctx, func(tx *sql.Tx) error {
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
func inRead[T any](ctx context.Context, s *Store, get func(tx *sql.Tx) (T, error)) (T, error) {
	var out T
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = get(tx)
		return err
	})
	return out, err
}
