package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	"github.com/roam-project/roam/internal/store"
)

// UpsertSubjects records a batch of sightings in one transaction. Subjects are
// created on first sight; a credential's seen count (by each sighting's
// Count) and times accumulate. It does not bump the config version.
func (s *Store) UpsertSubjects(ctx context.Context, sightings []store.SubjectSighting) error {
	if len(sightings) == 0 {
		return nil
	}
	for i, sg := range sightings {
		if sg.X509Subject == "" {
			return fmt.Errorf("upsert subjects: sighting %d: empty subject: %w", i, store.ErrInvalid)
		}
	}
	now := s.nowUTC()
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO subjects (id, x509_subject, enabled, created_at, updated_at, last_seen_at)
				VALUES (?, ?, TRUE, ?, ?, ?)
				ON CONFLICT (x509_subject) DO UPDATE SET
					updated_at = excluded.updated_at,
					last_seen_at = CASE WHEN subjects.last_seen_at > excluded.last_seen_at
						THEN subjects.last_seen_at ELSE excluded.last_seen_at END`)
		if err != nil {
			return err
		}
		defer ins.Close()
		sel, err := tx.PrepareContext(ctx, `SELECT id FROM subjects WHERE x509_subject = ?`)
		if err != nil {
			return err
		}
		defer sel.Close()
		cred, err := tx.PrepareContext(ctx, `INSERT INTO subject_credentials (subject_id, issuer, serial_number,
					certificate, enabled, failed, first_seen_at, last_seen_at, seen_count)
					VALUES (?, ?, ?, ?, TRUE, ?, ?, ?, ?)
					ON CONFLICT (subject_id, issuer, serial_number) DO UPDATE SET
						seen_count = subject_credentials.seen_count + excluded.seen_count,
						certificate = CASE WHEN length(excluded.certificate) > 0
							THEN excluded.certificate ELSE subject_credentials.certificate END,
						failed = CASE WHEN excluded.last_seen_at >= subject_credentials.last_seen_at
							THEN excluded.failed ELSE subject_credentials.failed END,
						first_seen_at = CASE WHEN excluded.first_seen_at < subject_credentials.first_seen_at
							THEN excluded.first_seen_at ELSE subject_credentials.first_seen_at END,
						last_seen_at = CASE WHEN excluded.last_seen_at > subject_credentials.last_seen_at
							THEN excluded.last_seen_at ELSE subject_credentials.last_seen_at END`)
		if err != nil {
			return err
		}
		defer cred.Close()
		for _, sg := range sightings {
			seen := sg.SeenAt
			if seen.IsZero() {
				seen = now
			}
			at := ts(seen)
			if _, err := ins.ExecContext(ctx,
				store.SubjectID(sg.X509Subject), sg.X509Subject, at, ts(now), at); err != nil {
				return fmt.Errorf("subject %q: %w", sg.X509Subject, err)
			}
			var id string
			if err := sel.QueryRowContext(ctx, sg.X509Subject).Scan(&id); err != nil {
				return fmt.Errorf("subject %q: %w", sg.X509Subject, err)
			}
			if sg.SerialNumber != "" || sg.Issuer != "" {
				if _, err := cred.ExecContext(ctx,
					id, sg.Issuer, sg.SerialNumber, nonNil(sg.Certificate), sg.Failed, at, at, max(sg.Count, 1)); err != nil {
					return fmt.Errorf("subject %q credential %s: %w", sg.X509Subject, sg.SerialNumber, err)
				}
			}
			if len(sg.InstanceProperties) > 0 {
				doc := toJSON(sg.InstanceProperties) // encoding/json sorts map keys: canonical
				sum := sha256.Sum256([]byte(doc))
				if _, err := tx.ExecContext(ctx, `INSERT INTO subject_instance_properties
					(subject_id, properties_hash, properties, failed, seen_at) VALUES (?, ?, ?, ?, ?)
					ON CONFLICT (subject_id, properties_hash) DO UPDATE SET
						failed = CASE WHEN excluded.seen_at >= subject_instance_properties.seen_at
							THEN excluded.failed ELSE subject_instance_properties.failed END,
						seen_at = CASE WHEN excluded.seen_at > subject_instance_properties.seen_at
							THEN excluded.seen_at ELSE subject_instance_properties.seen_at END`,
					id, hex.EncodeToString(sum[:]), doc, sg.Failed, at); err != nil {
					return fmt.Errorf("subject %q instance properties: %w", sg.X509Subject, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upsert subjects: %w", err)
	}
	return nil
}

const subjectCols = `id, x509_subject, enabled, created_at, updated_at, last_seen_at`

func scanSubject(sc scanner) (*store.Subject, error) {
	var sj store.Subject
	var created, updated, last int64
	if err := sc.Scan(&sj.ID, &sj.X509Subject, &sj.Enabled, &created, &updated, &last); err != nil {
		return nil, err
	}
	sj.CreatedAt, sj.UpdatedAt, sj.LastSeenAt = fromTS(created), fromTS(updated), fromTS(last)
	sj.Credentials = []store.SubjectCredential{}
	sj.InstanceProperties = []store.InstanceProperties{}
	return &sj, nil
}

// fillSubject loads the credentials and instance properties of sj.
func fillSubject(ctx context.Context, q querier, sj *store.Subject) error {
	rows, err := q.QueryContext(ctx, `SELECT serial_number, issuer, certificate, enabled, failed, first_seen_at,
		last_seen_at, seen_count FROM subject_credentials WHERE subject_id = ?
		ORDER BY last_seen_at DESC, issuer, serial_number`, sj.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c store.SubjectCredential
		var first, last int64
		if err := rows.Scan(&c.SerialNumber, &c.Issuer, &c.Certificate, &c.Enabled, &c.Failed, &first, &last,
			&c.SeenCount); err != nil {
			return err
		}
		c.FirstSeenAt, c.LastSeenAt = fromTS(first), fromTS(last)
		c.Certificate = nonNil(c.Certificate)
		sj.Credentials = append(sj.Credentials, c)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT properties, failed, seen_at FROM subject_instance_properties
		WHERE subject_id = ? ORDER BY seen_at DESC, properties_hash`, sj.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		var ip store.InstanceProperties
		var seen int64
		if err := rows.Scan(&doc, &ip.Failed, &seen); err != nil {
			return err
		}
		if err := fromJSON(doc, &ip.Properties); err != nil {
			return err
		}
		ip.Properties = maps.Clone(ip.Properties)
		ip.SeenAt = fromTS(seen)
		sj.InstanceProperties = append(sj.InstanceProperties, ip)
	}
	return rows.Err()
}

// GetSubject returns the subject with id, with its credentials and instance
// properties.
func (s *Store) GetSubject(ctx context.Context, id string) (*store.Subject, error) {
	var out *store.Subject
	err := s.read(ctx, func(tx *sql.Tx) error {
		sj, err := scanSubject(tx.QueryRowContext(ctx, `SELECT `+subjectCols+` FROM subjects WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		out = sj
		return fillSubject(ctx, tx, sj)
	})
	if err != nil {
		return nil, fmt.Errorf("get subject %s: %w", id, err)
	}
	return out, nil
}

// ListSubjects returns one page of subjects, ordered by id, with their
// credentials and instance properties.
func (s *Store) ListSubjects(ctx context.Context, opts store.ListOptions) ([]*store.Subject, string, error) {
	list := func(ctx context.Context, q querier, after string, limit int) ([]*store.Subject, error) {
		rows, err := q.QueryContext(ctx, `SELECT `+subjectCols+` FROM subjects WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []*store.Subject
		for rows.Next() {
			sj, err := scanSubject(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, sj)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, sj := range out {
			if err := fillSubject(ctx, q, sj); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	out, next, err := page(ctx, s, opts, list, func(sj *store.Subject) string { return sj.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list subjects: %w", err)
	}
	return out, next, nil
}
