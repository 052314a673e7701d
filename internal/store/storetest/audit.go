package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// testAudit: AppendAudit stores every field, is idempotent by id, does not
// bump the config version and refuses invalid events; ListAudit filters by
// time, principal, action and outcome and pages oldest first.
func testAudit(t *testing.T, s store.Store) {
	c := ctx(t)
	v := version(t, s)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	full := store.AuditEvent{
		ID: "00000000-0000-4000-8000-000000000001", Time: t0, RequestID: "req-1", SourceIP: "192.0.2.7",
		Principal: "arn:aws:iam::000000000000:user/admin", Action: "iam:CreateRole",
		Resource: "arn:aws:iam::000000000000:role/r", Outcome: store.OutcomeAllowed,
		Before: "", After: `{"roleName":"r"}`, Details: `{"accessKeyId":"AKIAEXAMPLE"}`,
	}
	var batch []store.AuditEvent
	batch = append(batch, full)
	for i := 2; i <= 7; i++ {
		e := store.AuditEvent{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Time: t0.Add(time.Duration(i) * time.Minute),
			RequestID: fmt.Sprintf("req-%d", i), Principal: "CN=client", Action: "rolesanywhere:CreateSession",
			Resource: "arn:aws:iam::000000000000:role/r", Outcome: store.OutcomeAllowed,
		}
		if i%2 == 0 {
			e.Outcome, e.ErrorCode, e.Reason = store.OutcomeDenied, "AccessDeniedException", "Untrusted signing certificate."
		}
		batch = append(batch, e)
	}
	// Two events at the same instant: the id orders them.
	batch = append(batch, store.AuditEvent{ID: "00000000-0000-4000-8000-000000000009", Time: t0.Add(7 * time.Minute),
		Principal: "CN=client", Action: "s3:GetObject", Outcome: store.OutcomeError, ErrorCode: "InternalError"})
	ok(t, s.AppendAudit(c, batch))
	equal(t, "version after audit", version(t, s), v)
	// A retried batch adds nothing.
	ok(t, s.AppendAudit(c, batch[:3]))
	ok(t, s.AppendAudit(c, nil))

	all, next := mustPage(s.ListAudit(c, store.AuditQuery{}))(t)
	if next != "" || len(all) != len(batch) {
		t.Fatalf("ListAudit: %d events, next %q; want %d, none", len(all), next, len(batch))
	}
	equal(t, "first event", all[0], full)
	for i := 1; i < len(all); i++ {
		if a, b := all[i-1], all[i]; a.Time.After(b.Time) || (a.Time.Equal(b.Time) && a.ID >= b.ID) {
			t.Fatalf("events %d and %d out of order: %v %s, %v %s", i-1, i, a.Time, a.ID, b.Time, b.ID)
		}
	}

	ids := func(es []store.AuditEvent) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID[len(e.ID)-1:])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"since", store.AuditQuery{Since: t0.Add(5 * time.Minute)}, []string{"5", "6", "7", "9"}},
		{"until", store.AuditQuery{Until: t0.Add(3 * time.Minute)}, []string{"1", "2"}},
		{"window", store.AuditQuery{Since: t0.Add(3 * time.Minute), Until: t0.Add(5 * time.Minute)}, []string{"3", "4"}},
		{"denied", store.AuditQuery{Outcome: store.OutcomeDenied}, []string{"2", "4", "6"}},
		{"principal", store.AuditQuery{Principal: "arn:aws:iam::000000000000:user/admin"}, []string{"1"}},
		{"action", store.AuditQuery{Action: "s3:GetObject"}, []string{"9"}},
		{"denied sessions since", store.AuditQuery{Action: "rolesanywhere:CreateSession", Outcome: store.OutcomeDenied, Since: t0.Add(3 * time.Minute)}, []string{"4", "6"}},
		{"nothing", store.AuditQuery{Principal: "nobody"}, []string{}},
	} {
		got, _ := mustPage(s.ListAudit(c, tc.q))(t)
		equal(t, tc.name, ids(got), tc.want)
	}

	// Paging: three pages of three, then nothing; filters carry over.
	var paged []store.AuditEvent
	tok := ""
	for pages := 0; ; pages++ {
		page, next := mustPage(s.ListAudit(c, store.AuditQuery{MaxResults: 3, NextToken: tok}))(t)
		paged = append(paged, page...)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		tok = next
	}
	equal(t, "paged", ids(paged), ids(all))
	page, next := mustPage(s.ListAudit(c, store.AuditQuery{Outcome: store.OutcomeDenied, MaxResults: 2}))(t)
	page2, next2 := mustPage(s.ListAudit(c, store.AuditQuery{Outcome: store.OutcomeDenied, MaxResults: 2, NextToken: next}))(t)
	equal(t, "denied pages", []any{ids(page), next != "", ids(page2), next2}, []any{[]string{"2", "4"}, true, []string{"6"}, ""})

	_, _, err := s.ListAudit(c, store.AuditQuery{NextToken: "!!"})
	wantErr(t, err, store.ErrInvalidToken)

	// Invalid events are refused, and the batch they are in is not written.
	for _, bad := range []store.AuditEvent{
		{Time: t0, Action: "a", Outcome: store.OutcomeAllowed},
		{ID: "x1", Action: "a", Outcome: store.OutcomeAllowed},
		{ID: "x2", Time: t0, Outcome: store.OutcomeAllowed},
		{ID: "x3", Time: t0, Action: "a", Outcome: "maybe"},
	} {
		good := store.AuditEvent{ID: "y", Time: t0, Action: "a", Outcome: store.OutcomeAllowed}
		wantErr(t, s.AppendAudit(c, []store.AuditEvent{good, bad}), store.ErrInvalid)
	}
	got, _ := mustPage(s.ListAudit(c, store.AuditQuery{Action: "a"}))(t)
	equal(t, "after refused batches", len(got), 0)
}

// testAuditLargeBatch: a batch larger than any backend's rows-per-statement
// (and with a retried tail) is stored whole, once.
func testAuditLargeBatch(t *testing.T, s store.Store) {
	c := ctx(t)
	t0 := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)
	batch := make([]store.AuditEvent, 1000)
	for i := range batch {
		batch[i] = store.AuditEvent{
			ID: fmt.Sprintf("01900000-0000-7000-8000-%012d", i), Time: t0.Add(time.Duration(i) * time.Millisecond),
			Principal: "CN=bulk", Action: "rolesanywhere:CreateSession", Outcome: store.OutcomeAllowed,
		}
	}
	ok(t, s.AppendAudit(c, batch))
	ok(t, s.AppendAudit(c, batch[600:])) // a retried tail adds nothing
	var got []store.AuditEvent
	q := store.AuditQuery{Principal: "CN=bulk", MaxResults: 1000}
	for {
		page, next := mustPage(s.ListAudit(c, q))(t)
		got = append(got, page...)
		if next == "" {
			break
		}
		q.NextToken = next
	}
	if len(got) != len(batch) {
		t.Fatalf("%d events stored, want %d", len(got), len(batch))
	}
	for i := range got {
		if got[i].ID != batch[i].ID {
			t.Fatalf("event %d is %s, want %s", i, got[i].ID, batch[i].ID)
		}
	}
}
