package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Audit outcomes.
const (
	OutcomeAllowed = "allowed"
	OutcomeDenied  = "denied"
	OutcomeError   = "error"
)

// AuditEvent is one audited request: a CreateSession, a control-plane change
// or a gateway decision. It never holds a secret: no private key, secret
// access key, session token or password, in any field.
type AuditEvent struct {
	// ID identifies the event; the writer chooses it (AppendAudit ignores an
	// event whose ID is already stored, so retried batches add nothing).
	ID string `json:"id"`
	// Time is when the request was decided.
	Time time.Time `json:"time"`
	// RequestID is the id the response carried (X-Amzn-Requestid,
	// X-Roam-Request-Id).
	RequestID string `json:"requestId,omitempty"`
	// SourceIP is the client's address, without the port.
	SourceIP string `json:"sourceIp,omitempty"`
	// Principal is who made the request: the caller's ARN for the control
	// plane and the gateway, the certificate subject for CreateSession
	// (claimed, unverified, when the certificate was refused).
	Principal string `json:"principal,omitempty"`
	// Action is service:Operation, e.g. rolesanywhere:CreateSession,
	// iam:CreateRole, s3:GetObject.
	Action string `json:"action"`
	// Resource is the ARN acted on (the role for CreateSession), or "".
	Resource string `json:"resource,omitempty"`
	// Outcome is OutcomeAllowed, OutcomeDenied or OutcomeError.
	Outcome string `json:"outcome"`
	// ErrorCode is the AWS error code of a refusal, e.g.
	// AccessDeniedException.
	ErrorCode string `json:"errorCode,omitempty"`
	// Reason is the refusal's message, or why it was allowed.
	Reason string `json:"reason,omitempty"`
	// Before and After are the changed record, as JSON, before and after a
	// control-plane change ("" for none: before a create, after a delete).
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Details is a JSON object of event-specific fields (trust anchor and
	// profile ARNs, session name, gateway route, ...), or "".
	Details string `json:"details,omitempty"`
}

// AuditQuery selects audit events. Zero fields select everything.
type AuditQuery struct {
	// Since and Until bound the event time: Since <= Time < Until.
	Since, Until time.Time
	// Principal, Action and Outcome match exactly when set.
	Principal string
	Action    string
	Outcome   string
	// MaxResults and NextToken page through the result, oldest first; see
	// ListOptions.
	MaxResults int
	NextToken  string
}

// AuditToken returns the opaque page token that resumes after e. Stores use
// it so that tokens are the same across backends.
func AuditToken(e *AuditEvent) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.Time.UnixNano(), 10) + "/" + e.ID))
}

// ParseAuditToken decodes a token from AuditToken: the time (Unix
// nanoseconds) and id of the last event returned.
func ParseAuditToken(tok string) (at int64, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", ErrInvalidToken
	}
	ns, id, ok := strings.Cut(string(b), "/")
	if !ok || id == "" {
		return 0, "", ErrInvalidToken
	}
	if at, err = strconv.ParseInt(ns, 10, 64); err != nil {
		return 0, "", ErrInvalidToken
	}
	return at, id, nil
}

// CheckAuditEvent reports whether e can be stored: it needs an ID, a time, an
// action and a known outcome.
func CheckAuditEvent(e *AuditEvent) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("audit event: empty id: %w", ErrInvalid)
	case e.Time.IsZero():
		return fmt.Errorf("audit event %s: zero time: %w", e.ID, ErrInvalid)
	case e.Action == "":
		return fmt.Errorf("audit event %s: empty action: %w", e.ID, ErrInvalid)
	}
	switch e.Outcome {
	case OutcomeAllowed, OutcomeDenied, OutcomeError:
		return nil
	}
	return fmt.Errorf("audit event %s: outcome %q: %w", e.ID, e.Outcome, ErrInvalid)
}
