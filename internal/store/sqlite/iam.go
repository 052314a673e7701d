package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/roam-project/roam/internal/store"
)

// principal describes the tables of a policy-holding IAM entity (role, user).
type principal struct {
	kind        store.ResourceKind
	table       string // roles, users
	inline      string // role_policies, user_policies
	attach      string // role_policy_attachments, user_policy_attachments
	fk          string // role_id, user_id
	maxAttached int
}

var (
	rolePrincipal = principal{store.KindRole, "roles", "role_policies", "role_policy_attachments", "role_id",
		store.MaxAttachedPoliciesPerRole}
	userPrincipal = principal{store.KindUser, "users", "user_policies", "user_policy_attachments", "user_id",
		store.MaxAttachedPoliciesPerUser}
)

// loadPolicies returns the inline policies and attached policy ARNs of id.
func (p principal) loadPolicies(ctx context.Context, q querier, id string) (map[string]string, []string, error) {
	inline := map[string]string{}
	rows, err := q.QueryContext(ctx, `SELECT name, document FROM `+p.inline+` WHERE `+p.fk+` = ?`, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, doc string
		if err := rows.Scan(&name, &doc); err != nil {
			return nil, nil, err
		}
		inline[name] = doc
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	attached := []string{}
	rows, err = q.QueryContext(ctx, `SELECT p.arn FROM `+p.attach+` a JOIN policies p ON p.id = a.policy_id
		WHERE a.`+p.fk+` = ? ORDER BY p.arn`, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var arn string
		if err := rows.Scan(&arn); err != nil {
			return nil, nil, err
		}
		attached = append(attached, arn)
	}
	return inline, attached, rows.Err()
}

// writePolicies replaces the inline policies and attachments of id.
func (p principal) writePolicies(ctx context.Context, tx *sql.Tx, id string, inline map[string]string, attached []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+p.inline+` WHERE `+p.fk+` = ?`, id); err != nil {
		return err
	}
	for name, doc := range inline {
		if name == "" {
			return fmt.Errorf("inline policy with empty name: %w", store.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+p.inline+` (`+p.fk+`, name, document) VALUES (?, ?, ?)`,
			id, name, doc); err != nil {
			return mapErr(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+p.attach+` WHERE `+p.fk+` = ?`, id); err != nil {
		return err
	}
	arns := slices.Compact(slices.Sorted(slices.Values(attached)))
	if len(arns) > p.maxAttached {
		return fmt.Errorf("%d attached policies (max %d): %w", len(arns), p.maxAttached, store.ErrLimitExceeded)
	}
	for _, arn := range arns {
		var pid string
		err := tx.QueryRowContext(ctx, `SELECT id FROM policies WHERE arn = ?`, arn).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("policy %s: %w", arn, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+p.attach+` (`+p.fk+`, policy_id) VALUES (?, ?)`, id, pid); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// hasPolicies reports whether id has inline or attached policies.
func (p principal) hasPolicies(ctx context.Context, q querier, id string) (bool, error) {
	return exists(ctx, q, `SELECT 1 FROM `+p.inline+` WHERE `+p.fk+` = ?
		UNION ALL SELECT 1 FROM `+p.attach+` WHERE `+p.fk+` = ?`, id, id)
}

// nameTaken reports whether another entity than id has name (case-insensitively).
func (p principal) nameTaken(ctx context.Context, q querier, name, id string) (bool, error) {
	return exists(ctx, q, `SELECT 1 FROM `+p.table+` WHERE lower(name) = lower(?) AND id <> ?`, name, id)
}

func defaultPath(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

// ---- roles ----

const roleCols = `id, name, path, assume_role_policy, description, max_session_duration, permissions_boundary,
	sessions_revoked_before, created_at, updated_at`

func scanRole(sc scanner) (*store.Role, error) {
	var r store.Role
	var revoked, created, updated int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Path, &r.AssumeRolePolicy, &r.Description, &r.MaxSessionDuration,
		&r.PermissionsBoundary, &revoked, &created, &updated); err != nil {
		return nil, err
	}
	r.SessionsRevokedBefore, r.CreatedAt, r.UpdatedAt = fromTS(revoked), fromTS(created), fromTS(updated)
	return &r, nil
}

func fillRole(ctx context.Context, q querier, r *store.Role, tags map[string]map[string]string) error {
	var err error
	if r.InlinePolicies, r.AttachedPolicies, err = rolePrincipal.loadPolicies(ctx, q, r.ID); err != nil {
		return err
	}
	if tags == nil {
		if tags, err = loadTags(ctx, q, store.KindRole, r.ID); err != nil {
			return err
		}
	}
	r.Tags = tagsOf(tags, r.ID)
	return nil
}

func getRole(ctx context.Context, q querier, where string, arg any) (*store.Role, error) {
	r, err := scanRole(q.QueryRowContext(ctx, `SELECT `+roleCols+` FROM roles WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return r, fillRole(ctx, q, r, nil)
}

func listRoles(ctx context.Context, q querier, after string, limit int) ([]*store.Role, error) {
	out, err := queryAll(ctx, q, scanRole, `SELECT `+roleCols+` FROM roles WHERE lower(name) > ? ORDER BY lower(name) LIMIT ?`,
		after, limit)
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		if err := fillRole(ctx, q, r, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) insertRole(ctx context.Context, tx *sql.Tx, r *store.Role) (string, error) {
	if r.Name == "" {
		return "", fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	id := r.ID
	if id == "" {
		id = store.NewIAMID("AROA")
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM roles WHERE id = ? OR lower(name) = lower(?)`, id, r.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := s.nowUTC()
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO roles (`+roleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, r.Name, defaultPath(r.Path), r.AssumeRolePolicy, r.Description, r.MaxSessionDuration,
		r.PermissionsBoundary, ts(r.SessionsRevokedBefore), ts(created), ts(now)); err != nil {
		return "", mapErr(err)
	}
	if err := rolePrincipal.writePolicies(ctx, tx, id, r.InlinePolicies, r.AttachedPolicies); err != nil {
		return "", err
	}
	return id, replaceTags(ctx, tx, store.KindRole, id, r.Tags)
}

func (s *Store) writeRole(ctx context.Context, tx *sql.Tx, id string, r *store.Role) error {
	if r.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if taken, err := rolePrincipal.nameTaken(ctx, tx, r.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", r.Name, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = ?, path = ?, assume_role_policy = ?, description = ?,
		max_session_duration = ?, permissions_boundary = ?, sessions_revoked_before = ?, updated_at = ? WHERE id = ?`,
		r.Name, defaultPath(r.Path), r.AssumeRolePolicy, r.Description, r.MaxSessionDuration, r.PermissionsBoundary,
		ts(r.SessionsRevokedBefore), ts(s.nowUTC()), id); err != nil {
		return mapErr(err)
	}
	if err := rolePrincipal.writePolicies(ctx, tx, id, r.InlinePolicies, r.AttachedPolicies); err != nil {
		return err
	}
	return replaceTags(ctx, tx, store.KindRole, id, r.Tags)
}

// CreateRole stores a new role with its policies and tags. Attached policies
// must exist.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) (*store.Role, error) {
	var out *store.Role
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := s.insertRole(ctx, tx, r)
		if err != nil {
			return err
		}
		out, err = getRole(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create role %q: %w", r.Name, err)
	}
	return out, nil
}

// GetRole returns the role named name (case-insensitively).
func (s *Store) GetRole(ctx context.Context, name string) (*store.Role, error) {
	var out *store.Role
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = getRole(ctx, tx, `lower(name) = lower(?)`, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get role %q: %w", name, err)
	}
	return out, nil
}

// ListRoles returns one page of roles, ordered by name.
func (s *Store) ListRoles(ctx context.Context, opts store.ListOptions) ([]*store.Role, string, error) {
	out, next, err := page(ctx, s, opts, listRoles, func(r *store.Role) string { return lower(r.Name) })
	if err != nil {
		return nil, "", fmt.Errorf("list roles: %w", err)
	}
	return out, next, nil
}

// UpdateRole edits the role named name through fn. Name and ID are immutable.
func (s *Store) UpdateRole(ctx context.Context, name string, fn func(*store.Role) error) (*store.Role, error) {
	var out *store.Role
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		r, err := getRole(ctx, tx, `lower(name) = lower(?)`, name)
		if err != nil {
			return err
		}
		id, oldName := r.ID, r.Name
		if err := fn(r); err != nil {
			return err
		}
		if r.ID != id || r.Name != oldName {
			return fmt.Errorf("name and id are immutable: %w", store.ErrInvalid)
		}
		if err := s.writeRole(ctx, tx, id, r); err != nil {
			return err
		}
		out, err = getRole(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update role %q: %w", name, err)
	}
	return out, nil
}

// DeleteRole deletes the role named name; it fails with ErrConflict while the
// role has inline or attached policies.
func (s *Store) DeleteRole(ctx context.Context, name string) (*store.Role, error) {
	var out *store.Role
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var err error
		if out, err = getRole(ctx, tx, `lower(name) = lower(?)`, name); err != nil {
			return err
		}
		if has, err := rolePrincipal.hasPolicies(ctx, tx, out.ID); err != nil {
			return err
		} else if has {
			return fmt.Errorf("role has policies: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE id = ?`, out.ID); err != nil {
			return mapErr(err)
		}
		return deleteTags(ctx, tx, store.KindRole, out.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("delete role %q: %w", name, err)
	}
	return out, nil
}

// UpsertRole creates r or overwrites every mutable field of the role with its
// name, including its policies and tags.
func (s *Store) UpsertRole(ctx context.Context, r *store.Role) (*store.Role, error) {
	var out *store.Role
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		cur, err := getRole(ctx, tx, `lower(name) = lower(?)`, r.Name)
		var id string
		switch {
		case errors.Is(err, store.ErrNotFound):
			if id, err = s.insertRole(ctx, tx, r); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			id = cur.ID
			next := *r
			next.Name = cur.Name
			// A revocation cutoff never moves back through an upsert (a
			// bootstrap file re-applied at restart must not un-revoke).
			if next.SessionsRevokedBefore.Before(cur.SessionsRevokedBefore) {
				next.SessionsRevokedBefore = cur.SessionsRevokedBefore
			}
			if err := s.writeRole(ctx, tx, id, &next); err != nil {
				return err
			}
		}
		out, err = getRole(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert role %q: %w", r.Name, err)
	}
	return out, nil
}

// ---- managed policies ----

const policyCols = `id, name, path, arn, description, default_version_id, created_at, updated_at`

func scanPolicy(sc scanner) (*store.Policy, error) {
	var p store.Policy
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.Name, &p.Path, &p.ARN, &p.Description, &p.DefaultVersionID, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromTS(created), fromTS(updated)
	return &p, nil
}

func fillPolicy(ctx context.Context, q querier, p *store.Policy, tags map[string]map[string]string) error {
	rows, err := q.QueryContext(ctx, `SELECT version_id, document, created_at FROM policy_versions
		WHERE policy_id = ? ORDER BY seq`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Versions = []store.PolicyVersion{}
	for rows.Next() {
		var v store.PolicyVersion
		var created int64
		if err := rows.Scan(&v.ID, &v.Document, &created); err != nil {
			return err
		}
		v.CreatedAt = fromTS(created)
		v.IsDefault = v.ID == p.DefaultVersionID
		p.Versions = append(p.Versions, v)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM role_policy_attachments WHERE policy_id = ?) +
		(SELECT COUNT(*) FROM user_policy_attachments WHERE policy_id = ?)`, p.ID, p.ID).Scan(&p.AttachmentCount); err != nil {
		return err
	}
	if tags == nil {
		if tags, err = loadTags(ctx, q, store.KindPolicy, p.ID); err != nil {
			return err
		}
	}
	p.Tags = tagsOf(tags, p.ID)
	return nil
}

func getPolicy(ctx context.Context, q querier, where string, arg any) (*store.Policy, error) {
	p, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyCols+` FROM policies WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return p, fillPolicy(ctx, q, p, nil)
}

func listPolicies(ctx context.Context, q querier, after string, limit int) ([]*store.Policy, error) {
	out, err := queryAll(ctx, q, scanPolicy, `SELECT `+policyCols+` FROM policies WHERE lower(name) > ? ORDER BY lower(name) LIMIT ?`,
		after, limit)
	if err != nil {
		return nil, err
	}
	for _, p := range out {
		if err := fillPolicy(ctx, q, p, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) insertPolicy(ctx context.Context, tx *sql.Tx, p *store.Policy, document string) (string, error) {
	if p.Name == "" || p.ARN == "" {
		return "", fmt.Errorf("empty name or ARN: %w", store.ErrInvalid)
	}
	id := p.ID
	if id == "" {
		id = store.NewIAMID("ANPA")
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM policies WHERE id = ? OR arn = ? OR lower(name) = lower(?)`,
		id, p.ARN, p.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := ts(s.nowUTC())
	if _, err := tx.ExecContext(ctx, `INSERT INTO policies (id, name, path, arn, description, default_version_id,
		next_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'v1', 2, ?, ?)`,
		id, p.Name, defaultPath(p.Path), p.ARN, p.Description, now, now); err != nil {
		return "", mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_id, version_id, seq, document, created_at)
		VALUES (?, 'v1', 1, ?, ?)`, id, document, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindPolicy, id, p.Tags)
}

// CreatePolicy stores a new managed policy whose version v1, holding document,
// is the default.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy, document string) (*store.Policy, error) {
	var out *store.Policy
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, err := s.insertPolicy(ctx, tx, p, document)
		if err != nil {
			return err
		}
		out, err = getPolicy(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create policy %q: %w", p.Name, err)
	}
	return out, nil
}

// GetPolicy returns the managed policy with arn, with all its versions.
func (s *Store) GetPolicy(ctx context.Context, arn string) (*store.Policy, error) {
	var out *store.Policy
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = getPolicy(ctx, tx, `arn = ?`, arn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get policy %s: %w", arn, err)
	}
	return out, nil
}

// GetPolicyByName returns the managed policy named name (case-insensitively).
func (s *Store) GetPolicyByName(ctx context.Context, name string) (*store.Policy, error) {
	var out *store.Policy
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = getPolicy(ctx, tx, `lower(name) = lower(?)`, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get policy %q: %w", name, err)
	}
	return out, nil
}

// ListPolicies returns one page of managed policies, ordered by name.
func (s *Store) ListPolicies(ctx context.Context, opts store.ListOptions) ([]*store.Policy, string, error) {
	out, next, err := page(ctx, s, opts, listPolicies, func(p *store.Policy) string { return lower(p.Name) })
	if err != nil {
		return nil, "", fmt.Errorf("list policies: %w", err)
	}
	return out, next, nil
}

// DeletePolicy deletes the managed policy with arn and all its versions; it
// fails with ErrConflict while the policy is attached.
func (s *Store) DeletePolicy(ctx context.Context, arn string) (*store.Policy, error) {
	var out *store.Policy
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var err error
		if out, err = getPolicy(ctx, tx, `arn = ?`, arn); err != nil {
			return err
		}
		if out.AttachmentCount > 0 {
			return fmt.Errorf("attached to %d entities: %w", out.AttachmentCount, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM policy_versions WHERE policy_id = ?`, out.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM policies WHERE id = ?`, out.ID); err != nil {
			return mapErr(err)
		}
		return deleteTags(ctx, tx, store.KindPolicy, out.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("delete policy %s: %w", arn, err)
	}
	return out, nil
}

// addVersion adds document as the next version of policy id.
func (s *Store) addVersion(ctx context.Context, tx *sql.Tx, id, document string, setDefault bool) (*store.PolicyVersion, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM policy_versions WHERE policy_id = ?`, id).Scan(&n); err != nil {
		return nil, err
	}
	if n >= store.MaxPolicyVersions {
		return nil, fmt.Errorf("%d versions (max %d): %w", n, store.MaxPolicyVersions, store.ErrLimitExceeded)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT next_version FROM policies WHERE id = ?`, id).Scan(&seq); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	v := &store.PolicyVersion{ID: "v" + strconv.FormatInt(seq, 10), Document: document, IsDefault: setDefault, CreatedAt: now}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_id, version_id, seq, document, created_at)
		VALUES (?, ?, ?, ?, ?)`, id, v.ID, seq, document, ts(now)); err != nil {
		return nil, mapErr(err)
	}
	q := `UPDATE policies SET next_version = next_version + 1, updated_at = ? WHERE id = ?`
	args := []any{ts(now), id}
	if setDefault {
		q = `UPDATE policies SET next_version = next_version + 1, updated_at = ?, default_version_id = ? WHERE id = ?`
		args = []any{ts(now), v.ID, id}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return nil, err
	}
	return v, nil
}

func policyID(ctx context.Context, q querier, arn string) (id, defaultVersion string, err error) {
	err = q.QueryRowContext(ctx, `SELECT id, default_version_id FROM policies WHERE arn = ?`, arn).Scan(&id, &defaultVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("policy %s: %w", arn, store.ErrNotFound)
	}
	return id, defaultVersion, err
}

// CreatePolicyVersion adds document as a new version of the policy with arn,
// making it the default if setDefault. It fails with ErrLimitExceeded when the
// policy already has MaxPolicyVersions versions.
func (s *Store) CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool) (*store.PolicyVersion, error) {
	var out *store.PolicyVersion
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, _, err := policyID(ctx, tx, arn)
		if err != nil {
			return err
		}
		out, err = s.addVersion(ctx, tx, id, document, setDefault)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create policy version of %s: %w", arn, err)
	}
	return out, nil
}

// DeletePolicyVersion deletes a non-default version of the policy with arn.
func (s *Store) DeletePolicyVersion(ctx context.Context, arn, versionID string) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, def, err := policyID(ctx, tx, arn)
		if err != nil {
			return err
		}
		if versionID == def {
			return fmt.Errorf("version %s is the default: %w", versionID, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM policy_versions WHERE policy_id = ? AND version_id = ?`, id, versionID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("version %s: %w", versionID, store.ErrNotFound)
		}
		return touch(ctx, tx, store.KindPolicy, id, s.nowUTC())
	})
	if err != nil {
		return fmt.Errorf("delete policy version %s of %s: %w", versionID, arn, err)
	}
	return nil
}

// SetDefaultPolicyVersion makes versionID the default version of the policy
// with arn.
func (s *Store) SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		id, _, err := policyID(ctx, tx, arn)
		if err != nil {
			return err
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM policy_versions WHERE policy_id = ? AND version_id = ?`,
			id, versionID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("version %s: %w", versionID, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE policies SET default_version_id = ?, updated_at = ? WHERE id = ?`,
			versionID, ts(s.nowUTC()), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("set default version %s of %s: %w", versionID, arn, err)
	}
	return nil
}

// UpsertPolicy creates the policy named p.Name, or makes document its default
// version if it differs from the current default, deleting the oldest
// non-default version first when the policy is at MaxPolicyVersions. Tags and
// description are overwritten; name, path and ARN of an existing policy are
// kept.
func (s *Store) UpsertPolicy(ctx context.Context, p *store.Policy, document string) (*store.Policy, error) {
	var out *store.Policy
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		cur, err := getPolicy(ctx, tx, `lower(name) = lower(?)`, p.Name)
		var id string
		switch {
		case errors.Is(err, store.ErrNotFound):
			if id, err = s.insertPolicy(ctx, tx, p, document); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			id = cur.ID
			if cur.DefaultDocument() != document {
				if len(cur.Versions) >= store.MaxPolicyVersions {
					for _, v := range cur.Versions { // oldest first
						if !v.IsDefault {
							if _, err := tx.ExecContext(ctx, `DELETE FROM policy_versions WHERE policy_id = ? AND version_id = ?`,
								id, v.ID); err != nil {
								return err
							}
							break
						}
					}
				}
				if _, err := s.addVersion(ctx, tx, id, document, true); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE policies SET description = ?, updated_at = ? WHERE id = ?`,
				p.Description, ts(s.nowUTC()), id); err != nil {
				return err
			}
			if err := replaceTags(ctx, tx, store.KindPolicy, id, p.Tags); err != nil {
				return err
			}
		}
		out, err = getPolicy(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert policy %q: %w", p.Name, err)
	}
	return out, nil
}

// ---- users and access keys ----

const userCols = `id, name, path, created_at, updated_at`

func scanUser(sc scanner) (*store.User, error) {
	var u store.User
	var created, updated int64
	if err := sc.Scan(&u.ID, &u.Name, &u.Path, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	return &u, nil
}

func fillUser(ctx context.Context, q querier, u *store.User, tags map[string]map[string]string) error {
	var err error
	if u.InlinePolicies, u.AttachedPolicies, err = userPrincipal.loadPolicies(ctx, q, u.ID); err != nil {
		return err
	}
	if tags == nil {
		if tags, err = loadTags(ctx, q, store.KindUser, u.ID); err != nil {
			return err
		}
	}
	u.Tags = tagsOf(tags, u.ID)
	return nil
}

func getUser(ctx context.Context, q querier, where string, arg any) (*store.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return u, fillUser(ctx, q, u, nil)
}

func listUsers(ctx context.Context, q querier, after string, limit int) ([]*store.User, error) {
	out, err := queryAll(ctx, q, scanUser, `SELECT `+userCols+` FROM users WHERE lower(name) > ? ORDER BY lower(name) LIMIT ?`,
		after, limit)
	if err != nil {
		return nil, err
	}
	for _, u := range out {
		if err := fillUser(ctx, q, u, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateUser stores a new admin user with its policies and tags.
func (s *Store) CreateUser(ctx context.Context, u *store.User) (*store.User, error) {
	var out *store.User
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		if u.Name == "" {
			return fmt.Errorf("empty name: %w", store.ErrInvalid)
		}
		id := u.ID
		if id == "" {
			id = store.NewIAMID("AIDA")
		}
		if taken, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ? OR lower(name) = lower(?)`, id, u.Name); err != nil {
			return err
		} else if taken {
			return store.ErrConflict
		}
		now := ts(s.nowUTC())
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?)`,
			id, u.Name, defaultPath(u.Path), now, now); err != nil {
			return mapErr(err)
		}
		if err := userPrincipal.writePolicies(ctx, tx, id, u.InlinePolicies, u.AttachedPolicies); err != nil {
			return err
		}
		if err := replaceTags(ctx, tx, store.KindUser, id, u.Tags); err != nil {
			return err
		}
		var err error
		out, err = getUser(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return out, nil
}

// GetUser returns the user named name (case-insensitively).
func (s *Store) GetUser(ctx context.Context, name string) (*store.User, error) {
	var out *store.User
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = getUser(ctx, tx, `lower(name) = lower(?)`, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", name, err)
	}
	return out, nil
}

// ListUsers returns one page of users, ordered by name.
func (s *Store) ListUsers(ctx context.Context, opts store.ListOptions) ([]*store.User, string, error) {
	out, next, err := page(ctx, s, opts, listUsers, func(u *store.User) string { return lower(u.Name) })
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	return out, next, nil
}

// UpdateUser edits the user named name through fn. Name and ID are immutable.
func (s *Store) UpdateUser(ctx context.Context, name string, fn func(*store.User) error) (*store.User, error) {
	var out *store.User
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		u, err := getUser(ctx, tx, `lower(name) = lower(?)`, name)
		if err != nil {
			return err
		}
		id, oldName := u.ID, u.Name
		if err := fn(u); err != nil {
			return err
		}
		if u.ID != id || u.Name != oldName {
			return fmt.Errorf("name and id are immutable: %w", store.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET path = ?, updated_at = ? WHERE id = ?`,
			defaultPath(u.Path), ts(s.nowUTC()), id); err != nil {
			return err
		}
		if err := userPrincipal.writePolicies(ctx, tx, id, u.InlinePolicies, u.AttachedPolicies); err != nil {
			return err
		}
		if err := replaceTags(ctx, tx, store.KindUser, id, u.Tags); err != nil {
			return err
		}
		out, err = getUser(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update user %q: %w", name, err)
	}
	return out, nil
}

// DeleteUser deletes the user named name; it fails with ErrConflict while the
// user has access keys or policies.
func (s *Store) DeleteUser(ctx context.Context, name string) (*store.User, error) {
	var out *store.User
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var err error
		if out, err = getUser(ctx, tx, `lower(name) = lower(?)`, name); err != nil {
			return err
		}
		if has, err := userPrincipal.hasPolicies(ctx, tx, out.ID); err != nil {
			return err
		} else if has {
			return fmt.Errorf("user has policies: %w", store.ErrConflict)
		}
		if has, err := exists(ctx, tx, `SELECT 1 FROM access_keys WHERE user_id = ?`, out.ID); err != nil {
			return err
		} else if has {
			return fmt.Errorf("user has access keys: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, out.ID); err != nil {
			return mapErr(err)
		}
		return deleteTags(ctx, tx, store.KindUser, out.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("delete user %q: %w", name, err)
	}
	return out, nil
}

const accessKeyCols = `k.id, u.name, k.sealed_secret, k.status, k.created_at`

func scanAccessKey(sc scanner) (*store.AccessKey, error) {
	var k store.AccessKey
	var created int64
	if err := sc.Scan(&k.ID, &k.UserName, &k.SealedSecret, &k.Status, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = fromTS(created)
	k.SealedSecret = nonNil(k.SealedSecret)
	return &k, nil
}

func getAccessKey(ctx context.Context, q querier, id string) (*store.AccessKey, error) {
	k, err := scanAccessKey(q.QueryRowContext(ctx, `SELECT `+accessKeyCols+` FROM access_keys k
		JOIN users u ON u.id = k.user_id WHERE k.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return k, err
}

func validStatus(status string) bool {
	return status == store.AccessKeyActive || status == store.AccessKeyInactive
}

// CreateAccessKey stores a new access key for an existing user; it fails with
// ErrLimitExceeded when the user already has MaxAccessKeysPerUser keys.
func (s *Store) CreateAccessKey(ctx context.Context, k *store.AccessKey) (*store.AccessKey, error) {
	var out *store.AccessKey
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		status := k.Status
		if status == "" {
			status = store.AccessKeyActive
		}
		if k.ID == "" || !validStatus(status) {
			return fmt.Errorf("empty id or bad status: %w", store.ErrInvalid)
		}
		var uid string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE lower(name) = lower(?)`, k.UserName).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q: %w", k.UserName, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if taken, err := exists(ctx, tx, `SELECT 1 FROM access_keys WHERE id = ?`, k.ID); err != nil {
			return err
		} else if taken {
			return store.ErrConflict
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_keys WHERE user_id = ?`, uid).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxAccessKeysPerUser {
			return fmt.Errorf("user has %d access keys (max %d): %w", n, store.MaxAccessKeysPerUser, store.ErrLimitExceeded)
		}
		created := k.CreatedAt
		if created.IsZero() {
			created = s.nowUTC()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_keys (id, user_id, sealed_secret, status, created_at)
			VALUES (?, ?, ?, ?, ?)`, k.ID, uid, nonNil(k.SealedSecret), status, ts(created)); err != nil {
			return mapErr(err)
		}
		out, err = getAccessKey(ctx, tx, k.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create access key %s: %w", k.ID, err)
	}
	return out, nil
}

// GetAccessKey returns the access key with id.
func (s *Store) GetAccessKey(ctx context.Context, id string) (*store.AccessKey, error) {
	k, err := inRead(ctx, s, func(tx *sql.Tx) (*store.AccessKey, error) { return getAccessKey(ctx, tx, id) })
	if err != nil {
		return nil, fmt.Errorf("get access key %s: %w", id, err)
	}
	return k, nil
}

// ListAccessKeys returns the access keys of the user named userName, oldest
// first.
func (s *Store) ListAccessKeys(ctx context.Context, userName string) ([]*store.AccessKey, error) {
	out := []*store.AccessKey{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var uid string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE lower(name) = lower(?)`, userName).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user: %w", store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+accessKeyCols+` FROM access_keys k JOIN users u ON u.id = k.user_id
			WHERE k.user_id = ? ORDER BY k.created_at, k.id`, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanAccessKey(rows)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list access keys of %q: %w", userName, err)
	}
	return out, nil
}

// SetAccessKeyStatus sets the status of the access key with id.
func (s *Store) SetAccessKeyStatus(ctx context.Context, id, status string) (*store.AccessKey, error) {
	var out *store.AccessKey
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		if !validStatus(status) {
			return fmt.Errorf("status %q: %w", status, store.ErrInvalid)
		}
		res, err := tx.ExecContext(ctx, `UPDATE access_keys SET status = ? WHERE id = ?`, status, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		out, err = getAccessKey(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set access key %s status: %w", id, err)
	}
	return out, nil
}

// DeleteAccessKey deletes the access key with id.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	return nil
}
