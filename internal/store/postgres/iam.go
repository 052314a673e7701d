package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
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

// loadPolicies returns the inline policies and attached policy ARNs (sorted)
// of each of ids; every id gets a non-nil map and slice.
func (p principal) loadPolicies(ctx context.Context, q querier, ids []string) (map[string]map[string]string, map[string][]string, error) {
	inline := make(map[string]map[string]string, len(ids))
	attached := make(map[string][]string, len(ids))
	for _, id := range ids {
		inline[id], attached[id] = map[string]string{}, []string{}
	}
	rows, err := q.Query(ctx, `SELECT `+p.fk+`, name, document FROM `+p.inline+` WHERE `+p.fk+` = ANY($1)`, ids)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, doc string
		if err := rows.Scan(&id, &name, &doc); err != nil {
			return nil, nil, err
		}
		inline[id][name] = doc
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = q.Query(ctx, `SELECT a.`+p.fk+`, p.arn FROM `+p.attach+` a JOIN policies p ON p.id = a.policy_id
		WHERE a.`+p.fk+` = ANY($1) ORDER BY p.arn COLLATE "C"`, ids)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, arn string
		if err := rows.Scan(&id, &arn); err != nil {
			return nil, nil, err
		}
		attached[id] = append(attached[id], arn)
	}
	return inline, attached, rows.Err()
}

// writePolicies replaces the inline policies and attachments of id.
func (p principal) writePolicies(ctx context.Context, tx pgx.Tx, id string, inline map[string]string, attached []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM `+p.inline+` WHERE `+p.fk+` = $1`, id); err != nil {
		return err
	}
	for name, doc := range inline {
		if name == "" {
			return fmt.Errorf("inline policy with empty name: %w", store.ErrInvalid)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.inline+` (`+p.fk+`, name, document) VALUES ($1, $2, $3)`,
			id, name, doc); err != nil {
			return mapErr(err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+p.attach+` WHERE `+p.fk+` = $1`, id); err != nil {
		return err
	}
	arns := slices.Compact(slices.Sorted(slices.Values(attached)))
	if len(arns) > p.maxAttached {
		return fmt.Errorf("%d attached policies (max %d): %w", len(arns), p.maxAttached, store.ErrLimitExceeded)
	}
	for _, arn := range arns {
		var pid string
		err := tx.QueryRow(ctx, `SELECT id FROM policies WHERE arn = $1`, arn).Scan(&pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("policy %s: %w", arn, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.attach+` (`+p.fk+`, policy_id) VALUES ($1, $2)`, id, pid); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// hasPolicies reports whether id has inline or attached policies.
func (p principal) hasPolicies(ctx context.Context, q querier, id string) (bool, error) {
	return exists(ctx, q, `SELECT 1 FROM `+p.inline+` WHERE `+p.fk+` = $1
		UNION ALL SELECT 1 FROM `+p.attach+` WHERE `+p.fk+` = $1`, id)
}

// nameTaken reports whether another entity than id has name (case-insensitively).
func (p principal) nameTaken(ctx context.Context, q querier, name, id string) (bool, error) {
	return exists(ctx, q, `SELECT 1 FROM `+p.table+` WHERE lower(name) = lower($1) AND id <> $2`, name, id)
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

// fillRoles loads the policies and tags of roles, in three queries whatever
// their number.
func fillRoles(ctx context.Context, q querier, roles ...*store.Role) error {
	ids := make([]string, len(roles))
	for i, r := range roles {
		ids[i] = r.ID
	}
	inline, attached, err := rolePrincipal.loadPolicies(ctx, q, ids)
	if err != nil {
		return err
	}
	tags, err := loadTags(ctx, q, store.KindRole, ids...)
	if err != nil {
		return err
	}
	for _, r := range roles {
		r.InlinePolicies, r.AttachedPolicies, r.Tags = inline[r.ID], attached[r.ID], tagsOf(tags, r.ID)
	}
	return nil
}

func getRole(ctx context.Context, q querier, where string, arg any) (*store.Role, error) {
	r, err := scanRole(q.QueryRow(ctx, `SELECT `+roleCols+` FROM roles WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return r, fillRoles(ctx, q, r)
}

func listRoles(ctx context.Context, q querier, after string, limit int) ([]*store.Role, error) {
	rows, err := q.Query(ctx, `SELECT `+roleCols+` FROM roles WHERE lower(name) COLLATE "C" > $1 ORDER BY lower(name) COLLATE "C" LIMIT $2`,
		after, lim(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, fillRoles(ctx, q, out...)
}

func (s *Store) insertRole(ctx context.Context, tx pgx.Tx, r *store.Role) (string, error) {
	if r.Name == "" {
		return "", fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	id := r.ID
	if id == "" {
		id = store.NewIAMID("AROA")
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM roles WHERE id = $1 OR lower(name) = lower($2)`, id, r.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := s.nowUTC()
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	if _, err := tx.Exec(ctx, `INSERT INTO roles (`+roleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, r.Name, defaultPath(r.Path), r.AssumeRolePolicy, r.Description, r.MaxSessionDuration,
		r.PermissionsBoundary, ts(r.SessionsRevokedBefore), ts(created), ts(now)); err != nil {
		return "", mapErr(err)
	}
	if err := rolePrincipal.writePolicies(ctx, tx, id, r.InlinePolicies, r.AttachedPolicies); err != nil {
		return "", err
	}
	return id, replaceTags(ctx, tx, store.KindRole, id, r.Tags)
}

func (s *Store) writeRole(ctx context.Context, tx pgx.Tx, id string, r *store.Role) error {
	if r.Name == "" {
		return fmt.Errorf("empty name: %w", store.ErrInvalid)
	}
	if taken, err := rolePrincipal.nameTaken(ctx, tx, r.Name, id); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("name %q: %w", r.Name, store.ErrConflict)
	}
	if _, err := tx.Exec(ctx, `UPDATE roles SET name = $1, path = $2, assume_role_policy = $3, description = $4,
		max_session_duration = $5, permissions_boundary = $6, sessions_revoked_before = $7, updated_at = $8 WHERE id = $9`,
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, err := s.insertRole(ctx, tx, r)
		if err != nil {
			return err
		}
		out, err = getRole(ctx, tx, `id = $1`, id)
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
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = getRole(ctx, tx, `lower(name) = lower($1)`, name)
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		r, err := getRole(ctx, tx, `lower(name) = lower($1)`, name)
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
		out, err = getRole(ctx, tx, `id = $1`, id)
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		if out, err = getRole(ctx, tx, `lower(name) = lower($1)`, name); err != nil {
			return err
		}
		if has, err := rolePrincipal.hasPolicies(ctx, tx, out.ID); err != nil {
			return err
		} else if has {
			return fmt.Errorf("role has policies: %w", store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM roles WHERE id = $1`, out.ID); err != nil {
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		cur, err := getRole(ctx, tx, `lower(name) = lower($1)`, r.Name)
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
			if err := s.writeRole(ctx, tx, id, &next); err != nil {
				return err
			}
		}
		out, err = getRole(ctx, tx, `id = $1`, id)
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

// fillPolicies loads the versions, attachment counts and tags of policies, in
// three queries whatever their number.
func fillPolicies(ctx context.Context, q querier, policies ...*store.Policy) error {
	byID := make(map[string]*store.Policy, len(policies))
	ids := make([]string, len(policies))
	for i, p := range policies {
		byID[p.ID], ids[i] = p, p.ID
		p.Versions, p.AttachmentCount = []store.PolicyVersion{}, 0
	}
	rows, err := q.Query(ctx, `SELECT policy_id, version_id, document, created_at FROM policy_versions
		WHERE policy_id = ANY($1) ORDER BY policy_id, seq`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v store.PolicyVersion
		var created int64
		if err := rows.Scan(&id, &v.ID, &v.Document, &created); err != nil {
			return err
		}
		p := byID[id]
		v.CreatedAt = fromTS(created)
		v.IsDefault = v.ID == p.DefaultVersionID
		p.Versions = append(p.Versions, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT policy_id, COUNT(*) FROM (
			SELECT policy_id FROM role_policy_attachments WHERE policy_id = ANY($1)
			UNION ALL SELECT policy_id FROM user_policy_attachments WHERE policy_id = ANY($1)) a
		GROUP BY policy_id`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		byID[id].AttachmentCount = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	tags, err := loadTags(ctx, q, store.KindPolicy, ids...)
	if err != nil {
		return err
	}
	for _, p := range policies {
		p.Tags = tagsOf(tags, p.ID)
	}
	return nil
}

func getPolicy(ctx context.Context, q querier, where string, arg any) (*store.Policy, error) {
	p, err := scanPolicy(q.QueryRow(ctx, `SELECT `+policyCols+` FROM policies WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return p, fillPolicies(ctx, q, p)
}

func listPolicies(ctx context.Context, q querier, after string, limit int) ([]*store.Policy, error) {
	rows, err := q.Query(ctx, `SELECT `+policyCols+` FROM policies WHERE lower(name) COLLATE "C" > $1
		ORDER BY lower(name) COLLATE "C" LIMIT $2`, after, lim(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, fillPolicies(ctx, q, out...)
}

func (s *Store) insertPolicy(ctx context.Context, tx pgx.Tx, p *store.Policy, document string) (string, error) {
	if p.Name == "" || p.ARN == "" {
		return "", fmt.Errorf("empty name or ARN: %w", store.ErrInvalid)
	}
	id := p.ID
	if id == "" {
		id = store.NewIAMID("ANPA")
	}
	if taken, err := exists(ctx, tx, `SELECT 1 FROM policies WHERE id = $1 OR arn = $2 OR lower(name) = lower($3)`,
		id, p.ARN, p.Name); err != nil {
		return "", err
	} else if taken {
		return "", store.ErrConflict
	}
	now := ts(s.nowUTC())
	if _, err := tx.Exec(ctx, `INSERT INTO policies (id, name, path, arn, description, default_version_id,
		next_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'v1', 2, $6, $7)`,
		id, p.Name, defaultPath(p.Path), p.ARN, p.Description, now, now); err != nil {
		return "", mapErr(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO policy_versions (policy_id, version_id, seq, document, created_at)
		VALUES ($1, 'v1', 1, $2, $3)`, id, document, now); err != nil {
		return "", mapErr(err)
	}
	return id, replaceTags(ctx, tx, store.KindPolicy, id, p.Tags)
}

// CreatePolicy stores a new managed policy whose version v1, holding document,
// is the default.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy, document string) (*store.Policy, error) {
	var out *store.Policy
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, err := s.insertPolicy(ctx, tx, p, document)
		if err != nil {
			return err
		}
		out, err = getPolicy(ctx, tx, `id = $1`, id)
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
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = getPolicy(ctx, tx, `arn = $1`, arn)
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
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = getPolicy(ctx, tx, `lower(name) = lower($1)`, name)
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		if out, err = getPolicy(ctx, tx, `arn = $1`, arn); err != nil {
			return err
		}
		if out.AttachmentCount > 0 {
			return fmt.Errorf("attached to %d entities: %w", out.AttachmentCount, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM policy_versions WHERE policy_id = $1`, out.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM policies WHERE id = $1`, out.ID); err != nil {
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
func (s *Store) addVersion(ctx context.Context, tx pgx.Tx, id, document string, setDefault bool) (*store.PolicyVersion, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM policy_versions WHERE policy_id = $1`, id).Scan(&n); err != nil {
		return nil, err
	}
	if n >= store.MaxPolicyVersions {
		return nil, fmt.Errorf("%d versions (max %d): %w", n, store.MaxPolicyVersions, store.ErrLimitExceeded)
	}
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT next_version FROM policies WHERE id = $1`, id).Scan(&seq); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	v := &store.PolicyVersion{ID: "v" + strconv.FormatInt(seq, 10), Document: document, IsDefault: setDefault, CreatedAt: now}
	if _, err := tx.Exec(ctx, `INSERT INTO policy_versions (policy_id, version_id, seq, document, created_at)
		VALUES ($1, $2, $3, $4, $5)`, id, v.ID, seq, document, ts(now)); err != nil {
		return nil, mapErr(err)
	}
	q := `UPDATE policies SET next_version = next_version + 1, updated_at = $1 WHERE id = $2`
	args := []any{ts(now), id}
	if setDefault {
		q = `UPDATE policies SET next_version = next_version + 1, updated_at = $1, default_version_id = $2 WHERE id = $3`
		args = []any{ts(now), v.ID, id}
	}
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return nil, err
	}
	return v, nil
}

func policyID(ctx context.Context, q querier, arn string) (id, defaultVersion string, err error) {
	err = q.QueryRow(ctx, `SELECT id, default_version_id FROM policies WHERE arn = $1`, arn).Scan(&id, &defaultVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", fmt.Errorf("policy %s: %w", arn, store.ErrNotFound)
	}
	return id, defaultVersion, err
}

// CreatePolicyVersion adds document as a new version of the policy with arn,
// making it the default if setDefault. It fails with ErrLimitExceeded when the
// policy already has MaxPolicyVersions versions.
func (s *Store) CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool) (*store.PolicyVersion, error) {
	var out *store.PolicyVersion
	err := s.write(ctx, true, func(tx pgx.Tx) error {
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, def, err := policyID(ctx, tx, arn)
		if err != nil {
			return err
		}
		if versionID == def {
			return fmt.Errorf("version %s is the default: %w", versionID, store.ErrConflict)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2`, id, versionID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		id, _, err := policyID(ctx, tx, arn)
		if err != nil {
			return err
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM policy_versions WHERE policy_id = $1 AND version_id = $2`,
			id, versionID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("version %s: %w", versionID, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, `UPDATE policies SET default_version_id = $1, updated_at = $2 WHERE id = $3`,
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		cur, err := getPolicy(ctx, tx, `lower(name) = lower($1)`, p.Name)
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
							if _, err := tx.Exec(ctx, `DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2`,
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
			if _, err := tx.Exec(ctx, `UPDATE policies SET description = $1, updated_at = $2 WHERE id = $3`,
				p.Description, ts(s.nowUTC()), id); err != nil {
				return err
			}
			if err := replaceTags(ctx, tx, store.KindPolicy, id, p.Tags); err != nil {
				return err
			}
		}
		out, err = getPolicy(ctx, tx, `id = $1`, id)
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

// fillUsers loads the policies and tags of users, in three queries whatever
// their number.
func fillUsers(ctx context.Context, q querier, users ...*store.User) error {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	inline, attached, err := userPrincipal.loadPolicies(ctx, q, ids)
	if err != nil {
		return err
	}
	tags, err := loadTags(ctx, q, store.KindUser, ids...)
	if err != nil {
		return err
	}
	for _, u := range users {
		u.InlinePolicies, u.AttachedPolicies, u.Tags = inline[u.ID], attached[u.ID], tagsOf(tags, u.ID)
	}
	return nil
}

func getUser(ctx context.Context, q querier, where string, arg any) (*store.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return u, fillUsers(ctx, q, u)
}

func listUsers(ctx context.Context, q querier, after string, limit int) ([]*store.User, error) {
	rows, err := q.Query(ctx, `SELECT `+userCols+` FROM users WHERE lower(name) COLLATE "C" > $1 ORDER BY lower(name) COLLATE "C" LIMIT $2`,
		after, lim(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, fillUsers(ctx, q, out...)
}

// CreateUser stores a new admin user with its policies and tags.
func (s *Store) CreateUser(ctx context.Context, u *store.User) (*store.User, error) {
	var out *store.User
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		if u.Name == "" {
			return fmt.Errorf("empty name: %w", store.ErrInvalid)
		}
		id := u.ID
		if id == "" {
			id = store.NewIAMID("AIDA")
		}
		if taken, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = $1 OR lower(name) = lower($2)`, id, u.Name); err != nil {
			return err
		} else if taken {
			return store.ErrConflict
		}
		now := ts(s.nowUTC())
		if _, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5)`,
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
		out, err = getUser(ctx, tx, `id = $1`, id)
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
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = getUser(ctx, tx, `lower(name) = lower($1)`, name)
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		u, err := getUser(ctx, tx, `lower(name) = lower($1)`, name)
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
		if _, err := tx.Exec(ctx, `UPDATE users SET path = $1, updated_at = $2 WHERE id = $3`,
			defaultPath(u.Path), ts(s.nowUTC()), id); err != nil {
			return err
		}
		if err := userPrincipal.writePolicies(ctx, tx, id, u.InlinePolicies, u.AttachedPolicies); err != nil {
			return err
		}
		if err := replaceTags(ctx, tx, store.KindUser, id, u.Tags); err != nil {
			return err
		}
		out, err = getUser(ctx, tx, `id = $1`, id)
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		if out, err = getUser(ctx, tx, `lower(name) = lower($1)`, name); err != nil {
			return err
		}
		if has, err := userPrincipal.hasPolicies(ctx, tx, out.ID); err != nil {
			return err
		} else if has {
			return fmt.Errorf("user has policies: %w", store.ErrConflict)
		}
		if has, err := exists(ctx, tx, `SELECT 1 FROM access_keys WHERE user_id = $1`, out.ID); err != nil {
			return err
		} else if has {
			return fmt.Errorf("user has access keys: %w", store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, out.ID); err != nil {
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
	k, err := scanAccessKey(q.QueryRow(ctx, `SELECT `+accessKeyCols+` FROM access_keys k
		JOIN users u ON u.id = k.user_id WHERE k.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		status := k.Status
		if status == "" {
			status = store.AccessKeyActive
		}
		if k.ID == "" || !validStatus(status) {
			return fmt.Errorf("empty id or bad status: %w", store.ErrInvalid)
		}
		var uid string
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(name) = lower($1)`, k.UserName).Scan(&uid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user %q: %w", k.UserName, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if taken, err := exists(ctx, tx, `SELECT 1 FROM access_keys WHERE id = $1`, k.ID); err != nil {
			return err
		} else if taken {
			return store.ErrConflict
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM access_keys WHERE user_id = $1`, uid).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxAccessKeysPerUser {
			return fmt.Errorf("user has %d access keys (max %d): %w", n, store.MaxAccessKeysPerUser, store.ErrLimitExceeded)
		}
		created := k.CreatedAt
		if created.IsZero() {
			created = s.nowUTC()
		}
		if _, err := tx.Exec(ctx, `INSERT INTO access_keys (id, user_id, sealed_secret, status, created_at)
			VALUES ($1, $2, $3, $4, $5)`, k.ID, uid, nonNil(k.SealedSecret), status, ts(created)); err != nil {
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
	k, err := inRead(ctx, s, func(tx pgx.Tx) (*store.AccessKey, error) { return getAccessKey(ctx, tx, id) })
	if err != nil {
		return nil, fmt.Errorf("get access key %s: %w", id, err)
	}
	return k, nil
}

// ListAccessKeys returns the access keys of the user named userName, oldest
// first.
func (s *Store) ListAccessKeys(ctx context.Context, userName string) ([]*store.AccessKey, error) {
	out := []*store.AccessKey{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		var uid string
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(name) = lower($1)`, userName).Scan(&uid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user: %w", store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+accessKeyCols+` FROM access_keys k JOIN users u ON u.id = k.user_id
			WHERE k.user_id = $1 ORDER BY k.created_at, k.id COLLATE "C"`, uid)
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		if !validStatus(status) {
			return fmt.Errorf("status %q: %w", status, store.ErrInvalid)
		}
		tag, err := tx.Exec(ctx, `UPDATE access_keys SET status = $1 WHERE id = $2`, status, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM access_keys WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	return nil
}
