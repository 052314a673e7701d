package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/roam-project/roam/internal/store"
)

const auditCols = `id, at, request_id, source_ip, principal, action, resource, outcome, error_code, reason,
	before_doc, after_doc, details`

// AppendAudit stores a batch of audit events in one transaction; events
// whose ID is already stored are skipped. It does not bump the config
// version.
func (s *Store) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if err := store.CheckAuditEvent(&events[i]); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		// Many rows per statement: the per-statement cost of binding and
		// stepping dominates a one-row insert.
		for len(events) > 0 {
			n := min(len(events), auditRowsPerInsert)
			args := make([]any, 0, n*13)
			for i := range events[:n] {
				e := &events[i]
				args = append(args, e.ID, ts(e.Time), e.RequestID, e.SourceIP, e.Principal, e.Action,
					e.Resource, e.Outcome, e.ErrorCode, e.Reason, e.Before, e.After, e.Details)
			}
			var err error
			if n == auditRowsPerInsert {
				_, err = tx.StmtContext(ctx, s.auditInsertFull).ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, auditInsert(n), args...)
			}
			if err != nil {
				return fmt.Errorf("events %s…: %w", events[0].ID, err)
			}
			events = events[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// ListAudit returns one page of the audit events q selects, oldest first.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, string, error) {
	var where []string
	var args []any
	if q.NextToken != "" {
		at, id, err := store.ParseAuditToken(q.NextToken)
		if err != nil {
			return nil, "", fmt.Errorf("list audit: %w", err)
		}
		where = append(where, `(at > ? OR (at = ? AND id > ?))`)
		args = append(args, at, at, id)
	}
	if !q.Since.IsZero() {
		where, args = append(where, `at >= ?`), append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where, args = append(where, `at < ?`), append(args, q.Until.UnixNano())
	}
	for _, f := range []struct{ col, v string }{{"principal", q.Principal}, {"action", q.Action}, {"outcome", q.Outcome}} {
		if f.v != "" {
			where, args = append(where, f.col+` = ?`), append(args, f.v)
		}
	}
	query := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	n := pageSize(store.ListOptions{MaxResults: q.MaxResults})
	query += ` ORDER BY at, id LIMIT ?`
	args = append(args, n+1)
	rows, err := s.r.QueryContext(ctx, query, args...)
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

// auditRowsPerInsert bounds the rows of one INSERT (13 parameters each,
// well under SQLite's 32766-parameter limit).
const auditRowsPerInsert = 200

// auditInsert returns the INSERT statement for n events.
func auditInsert(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_events (` + auditCols + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	return b.String()
}
