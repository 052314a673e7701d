package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/roam-project/roam/internal/store"
)

const auditCols = `id, at, request_id, source_ip, principal, action, resource, outcome, error_code, reason,
	before_doc, after_doc, details`

const insertAuditSQL = `INSERT INTO audit_events (` + auditCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`

// AppendAudit stores a batch of audit events in one transaction, sending
// every insert in one pipelined round trip; events whose ID is already
// stored are skipped. It does not bump the config version.
func (s *Store) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if err := store.CheckAuditEvent(&events[i]); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	err := s.write(ctx, false, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i := range events {
			e := &events[i]
			b.Queue(insertAuditSQL, e.ID, ts(e.Time), e.RequestID, e.SourceIP, e.Principal, e.Action,
				e.Resource, e.Outcome, e.ErrorCode, e.Reason, e.Before, e.After, e.Details)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", mapErr(err))
	}
	return nil
}

// ListAudit returns one page of the audit events q selects, oldest first.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, string, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.NextToken != "" {
		at, id, err := store.ParseAuditToken(q.NextToken)
		if err != nil {
			return nil, "", fmt.Errorf("list audit: %w", err)
		}
		a := arg(at)
		where = append(where, `(at > `+a+` OR (at = `+a+` AND id COLLATE "C" > `+arg(id)+`))`)
	}
	if !q.Since.IsZero() {
		where = append(where, `at >= `+arg(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		where = append(where, `at < `+arg(q.Until.UnixNano()))
	}
	for _, f := range []struct{ col, v string }{{"principal", q.Principal}, {"action", q.Action}, {"outcome", q.Outcome}} {
		if f.v != "" {
			where = append(where, f.col+` = `+arg(f.v))
		}
	}
	query := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	n := pageSize(store.ListOptions{MaxResults: q.MaxResults})
	// COLLATE "C": ids compare bytewise, as in SQLite, whatever the
	// database's collation, so page tokens resume at the same place.
	query += ` ORDER BY at, id COLLATE "C" LIMIT ` + arg(n+1)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.RequestID, &e.SourceIP, &e.Principal, &e.Action, &e.Resource,
			&e.Outcome, &e.ErrorCode, &e.Reason, &e.Before, &e.After, &e.Details); err != nil {
			return nil, "", fmt.Errorf("list audit: %w", err)
		}
		e.Time = fromTS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = store.AuditToken(&out[n-1])
	}
	return out, next, nil
}
