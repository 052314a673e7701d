package api

// Audit and metrics at the HTTP edge: CreateSession outcomes (successes
// through the Service's observer, failures here), control-plane changes
// (recorded synchronously before the 2xx: see internal/audit for what
// "acknowledged" means) and refused control-plane mutations.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/metrics"
	"github.com/roam-project/roam/internal/store"
)

// opCreateSession is CreateSession's operation name in metrics (AWS's
// Operation dimension) and, prefixed with its service, in audit events.
const opCreateSession = "CreateSession"

// SessionObserver returns the anywhere.SessionObserver that counts a
// successful CreateSession in m and queues its audit event in rec (either
// may be nil). It never blocks: the event is written by rec's batch loop.
func SessionObserver(rec *audit.Recorder, m *metrics.Metrics) anywhere.SessionObserver {
	return func(ctx context.Context, o anywhere.SessionOutcome) {
		m.Success(opCreateSession, o.TrustAnchorARN)
		if rec == nil {
			return
		}
		rec.Record(audit.Event{
			AuditEvent: store.AuditEvent{
				Time: time.Now(), RequestID: RequestID(ctx), SourceIP: o.RemoteAddr, Principal: o.Subject,
				Action: "rolesanywhere:" + opCreateSession, Resource: o.RoleARN, Outcome: store.OutcomeAllowed,
			},
			Detail: audit.Detail{TrustAnchorARN: o.TrustAnchorARN, ProfileARN: o.ProfileARN,
				RoleSessionName: o.SessionName, SerialNumber: o.SerialNumber, SourceIdentity: o.SourceIdentity},
		})
	}
}

// sessionFailed counts and queues the audit event of a refused
// CreateSession, with the reason the client was given.
func (h *Handler) sessionFailed(r *http.Request, body []byte, err error, start time.Time) {
	h.cfg.Metrics.Observe(opCreateSession, false, time.Since(start))
	if h.cfg.Metrics == nil && h.cfg.Audit == nil {
		return
	}
	var f anywhere.FailedSession
	if h.cfg.Sessions != nil {
		f = h.cfg.Sessions.DescribeFailure(r, body)
	}
	code, outcome, reason := failureOf(err)
	h.cfg.Metrics.Failure(opCreateSession, f.TrustAnchorARN, code)
	h.cfg.Audit.Record(audit.Event{
		AuditEvent: store.AuditEvent{
			Time: time.Now(), RequestID: RequestID(r.Context()), SourceIP: r.RemoteAddr, Principal: f.Subject,
			Action: "rolesanywhere:" + opCreateSession, Resource: f.RoleARN, Outcome: outcome,
			ErrorCode: code, Reason: reason,
		},
		Detail: audit.Detail{TrustAnchorARN: f.TrustAnchorARN, ProfileARN: f.ProfileARN, SerialNumber: f.SerialNumber,
			Status: statusOf(err)},
	})
}

// failureOf returns the error code, audit outcome and client-safe reason of
// err: an API error below 500 is a denial, anything else an error.
func failureOf(err error) (code, outcome, reason string) {
	ae, ok := apierr.As(raAPIError(err))
	if !ok {
		return "InternalFailure", store.OutcomeError, "internal error"
	}
	if ae.Status >= 500 {
		return ae.Code, store.OutcomeError, ae.Message
	}
	return ae.Code, store.OutcomeDenied, ae.Message
}

func statusOf(err error) int {
	if ae, ok := apierr.As(raAPIError(err)); ok {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// isMutation reports whether action (service:Operation) changes anything:
// every control-plane operation but Get*, List* and Simulate*.
func isMutation(action string) bool {
	_, op, _ := strings.Cut(action, ":")
	return op != "" && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") && !strings.HasPrefix(op, "Simulate")
}

// operationOf returns the operation part of service:Operation.
func operationOf(action string) string {
	if _, op, ok := strings.Cut(action, ":"); ok {
		return op
	}
	return action
}

// auditChange records a committed control-plane change synchronously: when
// it returns nil the event is in every audit sink, and the caller may answer
// 2xx. When it fails the caller must answer 500: the change is committed but
// not acknowledged.
func (h *Handler) auditChange(r *http.Request, c *Caller, action, resource, before, after string) error {
	h.cfg.Metrics.Success(operationOf(action), "")
	if h.cfg.Audit == nil {
		return nil
	}
	e := audit.Event{AuditEvent: store.AuditEvent{
		Time: time.Now(), RequestID: RequestID(r.Context()), SourceIP: r.RemoteAddr,
		Action: action, Resource: resource, Outcome: store.OutcomeAllowed, Before: before, After: after,
	}}
	if c != nil {
		e.Principal, e.Detail.AccessKeyID = c.ARN, c.AccessKeyID
	}
	if err := h.cfg.Audit.RecordSync(context.WithoutCancel(r.Context()), e); err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "audit of a committed control-plane change failed; answering 500",
			"request_id", RequestID(r.Context()), "action", action, "resource", resource, "err", err)
		return err
	}
	return nil
}

// auditRefusal queues the audit event of a refused control-plane mutation
// (c is nil when authentication failed) and counts it.
func (h *Handler) auditRefusal(r *http.Request, c *Caller, action, resource string, err error) {
	if !isMutation(action) {
		return
	}
	code, outcome, reason := failureOf(err)
	h.cfg.Metrics.Failure(operationOf(action), "", code)
	e := audit.Event{AuditEvent: store.AuditEvent{
		Time: time.Now(), RequestID: RequestID(r.Context()), SourceIP: r.RemoteAddr,
		Action: action, Resource: resource, Outcome: outcome, ErrorCode: code, Reason: reason,
	}, Detail: audit.Detail{Status: statusOf(err)}}
	if c != nil {
		e.Principal, e.Detail.AccessKeyID = c.ARN, c.AccessKeyID
	}
	h.cfg.Audit.Record(e)
}

// iamRecordDoc returns the audit document (audit.Document) of the IAM role,
// managed policy or user arn names, or "" if it does not exist (before a
// create, after a delete) or arn names something else.
func (h *Handler) iamRecordDoc(ctx context.Context, arn string) string {
	if h.cfg.Store == nil || arn == "" {
		return ""
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return ""
	}
	_, res, _ := strings.Cut(rest, ":")
	kind, _, _ := strings.Cut(res, "/")
	name := res[strings.LastIndexByte(res, '/')+1:]
	switch kind {
	case "role":
		if ro, err := h.cfg.Store.GetRole(ctx, name); err == nil {
			return audit.Document(ro)
		}
	case "policy":
		if p, err := h.cfg.Store.GetPolicy(ctx, arn); err == nil {
			return audit.Document(p)
		}
	case "user":
		u, err := h.cfg.Store.GetUser(ctx, name)
		if err != nil {
			return ""
		}
		type key struct{ ID, Status string }
		doc := struct {
			*store.User
			AccessKeys []key
		}{User: u, AccessKeys: []key{}}
		if ks, err := h.cfg.Store.ListAccessKeys(ctx, u.Name); err == nil {
			for _, k := range ks { // ids and states only: never the sealed secret
				doc.AccessKeys = append(doc.AccessKeys, key{k.ID, k.Status})
			}
		}
		return audit.Document(doc)
	}
	return ""
}

// recordDoc returns the audit document of the trust anchor, profile or CRL
// arn names, in the shape the Roles Anywhere API returns it, or "".
func (q *raRequest) recordDoc(arn string) string {
	st := q.h.cfg.Store
	if st == nil {
		return ""
	}
	_, res, ok := strings.Cut(arn, ":rolesanywhere:")
	if !ok {
		return ""
	}
	res = res[strings.LastIndexByte(res, ':')+1:]
	kind, id, _ := strings.Cut(res, "/")
	switch kind {
	case "trust-anchor":
		if a, err := st.GetTrustAnchor(q.ctx, id); err == nil {
			return audit.Document(q.trustAnchorOut(a))
		}
	case "profile":
		if p, err := st.GetProfile(q.ctx, id); err == nil {
			return audit.Document(q.profileOut(p))
		}
	case "crl":
		if c, err := st.GetCRL(q.ctx, id); err == nil {
			return audit.Document(q.crlOut(c))
		}
	}
	return ""
}

// arnIn returns the first trustAnchorArn, profileArn or crlArn in the
// response body out (a create's, whose resource was "*" when authorized).
func arnIn(out any) string {
	b, err := json.Marshal(out)
	if err != nil {
		return ""
	}
	var doc map[string]map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return ""
	}
	for _, obj := range doc {
		for _, k := range []string{"trustAnchorArn", "profileArn", "crlArn"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}
