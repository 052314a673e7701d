package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/roam-project/roam/internal/store"
)

// maxAttempts bounds how often UpsertSubjects runs a batch that lost a
// deadlock or serialization conflict to another replica's batch.
const maxAttempts = 3

const (
	upsertSubjectSQL = `INSERT INTO subjects (id, x509_subject, enabled, created_at, updated_at, last_seen_at)
		VALUES ($1, $2, TRUE, $3, $4, $5)
		ON CONFLICT (x509_subject) DO UPDATE SET
			updated_at = excluded.updated_at,
			last_seen_at = CASE WHEN subjects.last_seen_at > excluded.last_seen_at
				THEN subjects.last_seen_at ELSE excluded.last_seen_at END`
	upsertCredentialSQL = `INSERT INTO subject_credentials (subject_id, issuer, serial_number,
			certificate, enabled, failed, first_seen_at, last_seen_at, seen_count)
		SELECT id, $2, $3, $4, TRUE, $5, $6, $7, $8::bigint FROM subjects WHERE x509_subject = $1
		ON CONFLICT (subject_id, issuer, serial_number) DO UPDATE SET
			seen_count = subject_credentials.seen_count + excluded.seen_count,
			certificate = CASE WHEN length(excluded.certificate) > 0
				THEN excluded.certificate ELSE subject_credentials.certificate END,
			failed = CASE WHEN excluded.last_seen_at >= subject_credentials.last_seen_at
				THEN excluded.failed ELSE subject_credentials.failed END,
			first_seen_at = CASE WHEN excluded.first_seen_at < subject_credentials.first_seen_at
				THEN excluded.first_seen_at ELSE subject_credentials.first_seen_at END,
			last_seen_at = CASE WHEN excluded.last_seen_at > subject_credentials.last_seen_at
				THEN excluded.last_seen_at ELSE subject_credentials.last_seen_at END`
	upsertPropertiesSQL = `INSERT INTO subject_instance_properties
			(subject_id, properties_hash, properties, failed, seen_at)
		SELECT id, $2, $3, $4, $5 FROM subjects WHERE x509_subject = $1
		ON CONFLICT (subject_id, properties_hash) DO UPDATE SET
			failed = CASE WHEN excluded.seen_at >= subject_instance_properties.seen_at
				THEN excluded.failed ELSE subject_instance_properties.failed END,
			seen_at = CASE WHEN excluded.seen_at > subject_instance_properties.seen_at
				THEN excluded.seen_at ELSE subject_instance_properties.seen_at END`
)

// UpsertSubjects records a batch of sightings in one transaction, sending
// every statement in one pipelined round trip. Subjects are created on first
// sight; a credential's seen count (by each sighting's Count) and times
// accumulate. It does not bump the config version.
//
// Sightings are applied in subject order (stable, so each subject's own
// sightings keep theirs): two replicas' batches then lock subject rows in the
// same order and cannot deadlock; a batch that still loses a conflict is run
// again.
func (s *Store) UpsertSubjects(ctx context.Context, sightings []store.SubjectSighting) error {
	if len(sightings) == 0 {
		return nil
	}
	for i, sg := range sightings {
		if sg.X509Subject == "" {
			return fmt.Errorf("upsert subjects: sighting %d: empty subject: %w", i, store.ErrInvalid)
		}
	}
	sorted := slices.Clone(sightings)
	slices.SortStableFunc(sorted, func(a, b store.SubjectSighting) int { return cmp.Compare(a.X509Subject, b.X509Subject) })
	now := s.nowUTC()
	batch := func() *pgx.Batch { // a fresh one per attempt: SendBatch may annotate what it sends
		b := &pgx.Batch{}
		for _, sg := range sorted {
			seen := sg.SeenAt
			if seen.IsZero() {
				seen = now
			}
			at := ts(seen)
			b.Queue(upsertSubjectSQL, store.SubjectID(sg.X509Subject), sg.X509Subject, at, ts(now), at)
			if sg.SerialNumber != "" || sg.Issuer != "" {
				b.Queue(upsertCredentialSQL, sg.X509Subject, sg.Issuer, sg.SerialNumber, nonNil(sg.Certificate), sg.Failed, at, at,
					max(sg.Count, 1))
			}
			if len(sg.InstanceProperties) > 0 {
				doc := toJSON(sg.InstanceProperties) // encoding/json sorts map keys: canonical
				sum := sha256.Sum256([]byte(doc))
				b.Queue(upsertPropertiesSQL, sg.X509Subject, hex.EncodeToString(sum[:]), doc, sg.Failed, at)
			}
		}
		return b
	}
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = s.write(ctx, false, func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch()).Close() })
		if err == nil || !retryable(err) {
			break
		}
	}
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

// fillSubjects loads the credentials and instance properties of subjects, in
// two queries whatever their number.
func fillSubjects(ctx context.Context, q querier, subjects ...*store.Subject) error {
	if len(subjects) == 0 {
		return nil
	}
	byID := make(map[string]*store.Subject, len(subjects))
	ids := make([]string, 0, len(subjects))
	for _, sj := range subjects {
		byID[sj.ID] = sj
		ids = append(ids, sj.ID)
	}
	rows, err := q.Query(ctx, `SELECT subject_id, serial_number, issuer, certificate, enabled, failed, first_seen_at,
		last_seen_at, seen_count FROM subject_credentials WHERE subject_id = ANY($1)
		ORDER BY subject_id, last_seen_at DESC, issuer COLLATE "C", serial_number COLLATE "C"`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c store.SubjectCredential
		var first, last int64
		if err := rows.Scan(&id, &c.SerialNumber, &c.Issuer, &c.Certificate, &c.Enabled, &c.Failed, &first, &last,
			&c.SeenCount); err != nil {
			return err
		}
		c.FirstSeenAt, c.LastSeenAt = fromTS(first), fromTS(last)
		c.Certificate = nonNil(c.Certificate)
		sj := byID[id]
		sj.Credentials = append(sj.Credentials, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT subject_id, properties, failed, seen_at FROM subject_instance_properties
		WHERE subject_id = ANY($1) ORDER BY subject_id, seen_at DESC, properties_hash COLLATE "C"`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		var ip store.InstanceProperties
		var seen int64
		if err := rows.Scan(&id, &doc, &ip.Failed, &seen); err != nil {
			return err
		}
		if err := fromJSON(doc, &ip.Properties); err != nil {
			return err
		}
		ip.Properties = maps.Clone(ip.Properties)
		ip.SeenAt = fromTS(seen)
		sj := byID[id]
		sj.InstanceProperties = append(sj.InstanceProperties, ip)
	}
	return rows.Err()
}

// GetSubject returns the subject with id, with its credentials and instance
// properties.
func (s *Store) GetSubject(ctx context.Context, id string) (*store.Subject, error) {
	var out *store.Subject
	err := s.read(ctx, func(tx pgx.Tx) error {
		sj, err := scanSubject(tx.QueryRow(ctx, `SELECT `+subjectCols+` FROM subjects WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		out = sj
		return fillSubjects(ctx, tx, sj)
	})
	if err != nil {
		return nil, fmt.Errorf("get subject %s: %w", id, err)
	}
	return out, nil
}

// listSubjects returns up to limit subjects with ids after after, ordered by
// id. Subject ids are UUIDs, which sort the same under every collation, so the
// primary key index serves the keyset.
func listSubjects(ctx context.Context, q querier, after string, limit int) ([]*store.Subject, error) {
	rows, err := q.Query(ctx, `SELECT `+subjectCols+` FROM subjects WHERE id > $1 ORDER BY id LIMIT $2`, after, lim(limit))
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
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, fillSubjects(ctx, q, out...)
}

// ListSubjects returns one page of subjects, ordered by id, with their
// credentials and instance properties.
func (s *Store) ListSubjects(ctx context.Context, opts store.ListOptions) ([]*store.Subject, string, error) {
	out, next, err := page(ctx, s, opts, listSubjects, func(sj *store.Subject) string { return sj.ID })
	if err != nil {
		return nil, "", fmt.Errorf("list subjects: %w", err)
	}
	return out, next, nil
}
