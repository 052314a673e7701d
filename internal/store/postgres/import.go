package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/roam-project/roam/internal/store"
)

// NextPolicyVersions returns, by policy id, the number of each managed
// policy's next version id.
func (s *Store) NextPolicyVersions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, next_version FROM policies`)
	if err != nil {
		return nil, fmt.Errorf("next policy versions: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("next policy versions: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("next policy versions: %w", err)
	}
	return out, nil
}

// configTables are the tables ImportConfig requires to be empty.
var configTables = []string{"settings", "trust_anchors", "crls", "profiles", "roles", "policies", "users",
	"access_keys", "keyring"}

// ImportConfig writes cfg verbatim into an empty store; see store.Importer.
func (s *Store) ImportConfig(ctx context.Context, cfg *store.Config, nextVersions map[string]int64) error {
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		for _, table := range configTables {
			if has, err := exists(ctx, tx, `SELECT 1 FROM `+table+` LIMIT 1`); err != nil {
				return err
			} else if has {
				return fmt.Errorf("destination already holds configuration (%s): %w", table, store.ErrConflict)
			}
		}
		for k, v := range cfg.Settings {
			if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)`, k, v); err != nil {
				return fmt.Errorf("setting %q: %w", k, mapErr(err))
			}
		}
		for _, a := range cfg.TrustAnchors {
			if _, err := tx.Exec(ctx, `INSERT INTO trust_anchors (`+taCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				a.ID, a.Name, a.SourceType, a.SourceData, a.Enabled, a.CRLDPRevocationEnabled,
				toJSON(nonNilSlice(a.NotificationSettings)), ts(a.CreatedAt), ts(a.UpdatedAt)); err != nil {
				return fmt.Errorf("trust anchor %s: %w", a.ID, mapErr(err))
			}
			if err := replaceTags(ctx, tx, store.KindTrustAnchor, a.ID, a.Tags); err != nil {
				return fmt.Errorf("trust anchor %s: %w", a.ID, err)
			}
		}
		for _, c := range cfg.CRLs {
			if _, err := tx.Exec(ctx, `INSERT INTO crls (`+crlCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				c.ID, c.Name, c.TrustAnchorID, nonNil(c.Data), c.Enabled, ts(c.CreatedAt), ts(c.UpdatedAt)); err != nil {
				return fmt.Errorf("CRL %s: %w", c.ID, mapErr(err))
			}
			if err := replaceTags(ctx, tx, store.KindCRL, c.ID, c.Tags); err != nil {
				return fmt.Errorf("CRL %s: %w", c.ID, err)
			}
		}
		for _, p := range cfg.Profiles {
			if _, err := tx.Exec(ctx, `INSERT INTO profiles (`+profileCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				p.ID, p.Name, toJSON(nonNilSlice(p.RoleARNs)), p.DurationSeconds, p.SessionPolicy,
				toJSON(nonNilSlice(p.ManagedPolicyARNs)), p.Enabled, p.AcceptRoleSessionName, p.RequireInstanceProperties,
				toJSON(nonNilSlice(p.AttributeMappings)), p.CreatedBy, ts(p.CreatedAt), ts(p.UpdatedAt)); err != nil {
				return fmt.Errorf("profile %s: %w", p.ID, mapErr(err))
			}
			if err := replaceTags(ctx, tx, store.KindProfile, p.ID, p.Tags); err != nil {
				return fmt.Errorf("profile %s: %w", p.ID, err)
			}
		}
		for _, p := range cfg.Policies {
			if err := importPolicy(ctx, tx, p, nextVersions[p.ID]); err != nil {
				return fmt.Errorf("policy %s: %w", p.ARN, err)
			}
		}
		for _, r := range cfg.Roles {
			if _, err := tx.Exec(ctx, `INSERT INTO roles (`+roleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				r.ID, r.Name, defaultPath(r.Path), r.AssumeRolePolicy, r.Description, r.MaxSessionDuration,
				r.PermissionsBoundary, ts(r.SessionsRevokedBefore), ts(r.CreatedAt), ts(r.UpdatedAt)); err != nil {
				return fmt.Errorf("role %q: %w", r.Name, mapErr(err))
			}
			if err := rolePrincipal.writePolicies(ctx, tx, r.ID, r.InlinePolicies, r.AttachedPolicies); err != nil {
				return fmt.Errorf("role %q: %w", r.Name, err)
			}
			if err := replaceTags(ctx, tx, store.KindRole, r.ID, r.Tags); err != nil {
				return fmt.Errorf("role %q: %w", r.Name, err)
			}
		}
		for _, u := range cfg.Users {
			if _, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5)`,
				u.ID, u.Name, defaultPath(u.Path), ts(u.CreatedAt), ts(u.UpdatedAt)); err != nil {
				return fmt.Errorf("user %q: %w", u.Name, mapErr(err))
			}
			if err := userPrincipal.writePolicies(ctx, tx, u.ID, u.InlinePolicies, u.AttachedPolicies); err != nil {
				return fmt.Errorf("user %q: %w", u.Name, err)
			}
			if err := replaceTags(ctx, tx, store.KindUser, u.ID, u.Tags); err != nil {
				return fmt.Errorf("user %q: %w", u.Name, err)
			}
		}
		for _, k := range cfg.AccessKeys {
			status := k.Status
			if status == "" {
				status = store.AccessKeyActive
			}
			tag, err := tx.Exec(ctx, `INSERT INTO access_keys (id, user_id, sealed_secret, status, created_at)
				SELECT $1, id, $3, $4, $5 FROM users WHERE lower(name) = lower($2)`,
				k.ID, k.UserName, nonNil(k.SealedSecret), status, ts(k.CreatedAt))
			if err != nil {
				return fmt.Errorf("access key %s: %w", k.ID, mapErr(err))
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("access key %s: user %q: %w", k.ID, k.UserName, store.ErrNotFound)
			}
		}
		for _, k := range cfg.Keys {
			if err := putKey(ctx, tx, k); err != nil {
				return fmt.Errorf("key %s: %w", k.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import config: %w", err)
	}
	return nil
}

// versionSeq returns N for a version id vN, or 0.
func versionSeq(id string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "v"), 10, 64)
	if err != nil || !strings.HasPrefix(id, "v") || n < 1 {
		return 0
	}
	return n
}

func importPolicy(ctx context.Context, tx pgx.Tx, p *store.Policy, next int64) error {
	var seqs []int64
	var last int64
	for _, v := range p.Versions { // oldest first; keep that order even for odd ids
		n := versionSeq(v.ID)
		if n <= last {
			n = last + 1
		}
		seqs, last = append(seqs, n), n
	}
	next = max(next, last+1)
	if _, err := tx.Exec(ctx, `INSERT INTO policies (id, name, path, arn, description, default_version_id,
		next_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.Name, defaultPath(p.Path), p.ARN, p.Description, p.DefaultVersionID, next,
		ts(p.CreatedAt), ts(p.UpdatedAt)); err != nil {
		return mapErr(err)
	}
	for i, v := range p.Versions {
		if _, err := tx.Exec(ctx, `INSERT INTO policy_versions (policy_id, version_id, seq, document, created_at)
			VALUES ($1, $2, $3, $4, $5)`, p.ID, v.ID, seqs[i], v.Document, ts(v.CreatedAt)); err != nil {
			return fmt.Errorf("version %s: %w", v.ID, mapErr(err))
		}
	}
	return replaceTags(ctx, tx, store.KindPolicy, p.ID, p.Tags)
}

// ImportSubjects writes subjects verbatim, replacing any subject with the same
// X.509 subject; see store.Importer.
func (s *Store) ImportSubjects(ctx context.Context, subjects []*store.Subject) error {
	if len(subjects) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, sj := range subjects {
		if sj.ID == "" || sj.X509Subject == "" {
			return fmt.Errorf("import subjects: empty id or subject: %w", store.ErrInvalid)
		}
		b.Queue(`DELETE FROM subjects WHERE x509_subject = $1 OR id = $2`, sj.X509Subject, sj.ID)
		b.Queue(`INSERT INTO subjects (`+subjectCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			sj.ID, sj.X509Subject, sj.Enabled, ts(sj.CreatedAt), ts(sj.UpdatedAt), ts(sj.LastSeenAt))
		for _, c := range sj.Credentials {
			b.Queue(`INSERT INTO subject_credentials (subject_id, issuer, serial_number, certificate, enabled, failed,
				first_seen_at, last_seen_at, seen_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				sj.ID, c.Issuer, c.SerialNumber, nonNil(c.Certificate), c.Enabled, c.Failed,
				ts(c.FirstSeenAt), ts(c.LastSeenAt), c.SeenCount)
		}
		for _, ip := range sj.InstanceProperties {
			doc := toJSON(ip.Properties)
			sum := sha256.Sum256([]byte(doc))
			b.Queue(`INSERT INTO subject_instance_properties (subject_id, properties_hash, properties, failed, seen_at)
				VALUES ($1, $2, $3, $4, $5)`, sj.ID, hex.EncodeToString(sum[:]), doc, ip.Failed, ts(ip.SeenAt))
		}
	}
	err := s.write(ctx, false, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("import subjects: duplicate credential or instance properties: %w", err)
		}
		return fmt.Errorf("import subjects: %w", err)
	}
	return nil
}
