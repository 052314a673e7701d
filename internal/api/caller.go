package api

import (
	"errors"
	"net/http"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/policy"
)

// Caller is an authenticated control-plane principal: an admin user signing
// with a long-term access key (AKIA…), or a roam session (ASIA…) whose role
// allows the call.
type Caller struct {
	// ARN is the user ARN (arn:aws:iam::ACCT:user/NAME) or the assumed-role
	// session ARN.
	ARN     string
	Account string
	// Exactly one of User and Session is set.
	User    *store.User
	Session *sts.Session
	// Principal matches the caller against Principal elements.
	Principal policy.Principal
	// Context holds the caller's condition keys (aws:PrincipalArn,
	// aws:userid, aws:PrincipalTag/…, aws:SourceIp, aws:CurrentTime, …).
	Context *policy.Context
}

// errNotImplemented is returned until control-plane authentication lands.
var errNotImplemented = errors.New("control-plane authentication is not implemented yet")

// authenticate authenticates a control-plane request (IAM query API or the
// Roles Anywhere REST API) signed with SigV4 for service ("iam" or
// "rolesanywhere") and returns its caller. Failures are errors the service's
// protocol encodes (sigv4.Error, sts.TokenError, *apierr.Error).
func (h *Handler) authenticate(r *http.Request, body []byte, service string) (*Caller, error) {
	return nil, errNotImplemented
}

// authorize reports whether c may perform action (e.g.
// "rolesanywhere:CreateProfile", "iam:CreateRole") on resource (an ARN, or
// "*" for actions without a resource), with extra request-specific condition
// keys (aws:RequestTag/…, aws:TagKeys, iam:PassedToService, …). A refusal is
// an *apierr.Error with code AccessDenied (IAM) / AccessDeniedException
// (Roles Anywhere) and AWS's "User: ARN is not authorized to perform: ACTION
// on resource: RESOURCE" message; the caller's edge re-codes it per protocol.
func (h *Handler) authorize(c *Caller, action, resource string, extra map[string][]string) error {
	return errNotImplemented
}
