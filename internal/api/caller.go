package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/policy"
	"github.com/roam-project/roam/sigv4"
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
	// AccessKeyID is the access key the request was signed with (AKIA… or
	// ASIA…), for audit.
	AccessKeyID string
	// Service and Region are the credential scope the request was signed
	// for.
	Service, Region string

	// The caller's effective policies, compiled on first use.
	once  sync.Once
	ps    *policy.PolicySet
	psErr error
}

// PassedToService is the iam:PassedToService value of roles passed to Roles
// Anywhere profiles.
const PassedToService = "rolesanywhere.amazonaws.com"

// authenticate authenticates a control-plane request (IAM query API or the
// Roles Anywhere REST API) signed with SigV4 for service ("iam" or
// "rolesanywhere") and returns its caller. Failures are errors the service's
// protocol encodes (sigv4.Error, sts.TokenError, *apierr.Error).
//
// Requests carrying X-Amz-Security-Token are roam sessions and go to the
// session Verifier; the others must be signed with an admin user's active
// long-term access key, whose secret is unsealed with the master key for
// the duration of the check only. IAM accepts any region in the credential
// scope; Roles Anywhere requires the server's region.
func (h *Handler) authenticate(r *http.Request, body []byte, service string) (*Caller, error) {
	if h.cfg.Store == nil || h.cfg.Verifier == nil || len(h.cfg.MasterKey) == 0 {
		return nil, errNotConfigured
	}
	snap := h.cfg.Sessions.Snapshot()
	if snap == nil {
		return nil, errNotConfigured
	}
	region := ""
	if service == "rolesanywhere" {
		region = snap.Region
	}
	now := h.cfg.Now()
	if r.Header.Get(sigv4.HeaderSecurityToken) != "" || r.URL.Query().Get(sigv4.HeaderSecurityToken) != "" {
		return h.authenticateSession(r, body, snap, service, region, now)
	}
	p, err := sigv4.ParseRequest(r, now, &sigv4.HMACOptions{Service: service, Region: region, MaxSkew: h.cfg.Verifier.MaxSkew})
	if err != nil {
		return nil, err
	}
	id := p.AccessKeyID()
	if !strings.HasPrefix(id, "AKIA") {
		// A temporary key without its token, or not an AWS key at all.
		return nil, sts.ErrMalformedToken
	}
	ctx := r.Context()
	k, err := h.cfg.Store.GetAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, sts.ErrUnknownAccessKey
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: look up access key: %w", err)
	}
	if k.Status != "" && k.Status != store.AccessKeyActive {
		return nil, sts.ErrInactiveAccessKey
	}
	secret, err := sts.OpenSecret(h.cfg.MasterKey, k.ID, k.SealedSecret)
	if err != nil {
		return nil, fmt.Errorf("authenticate: access key %s: %w", k.ID, err)
	}
	err = p.Verify(secret, body) // constant-time comparison (hmac.Equal)
	clear(secret)
	if err != nil {
		return nil, err
	}
	u, err := h.cfg.Store.GetUser(ctx, k.UserName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, sts.ErrUnknownAccessKey
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: look up user %s: %w", k.UserName, err)
	}
	return newUserCaller(u, snap.Account, id, r, now, p.Credential.Scope), nil
}

// authenticateSession authenticates a request signed with roam session
// credentials.
func (h *Handler) authenticateSession(r *http.Request, body []byte, snap *anywhere.Snapshot, service, region string, now time.Time) (*Caller, error) {
	s, sc, err := h.cfg.Verifier.Verify(r, body, service, region, now)
	if err != nil {
		return nil, err
	}
	var roleTags []sts.Tag
	if ri, ok := snap.Role(s.RoleARN); ok {
		roleTags = tagList(ri.Record.Tags)
	}
	rc := sts.NewRequestContext(s, r, now, roleTags)
	return &Caller{
		ARN: s.AssumedRoleARN(), Account: s.Account, Session: s,
		Principal: rc.Principal, Context: rc.Context, AccessKeyID: s.AccessKeyID,
		Service: sc.Service, Region: sc.Region,
	}, nil
}

// newUserCaller builds the Caller of admin user u signing with access key
// id.
func newUserCaller(u *store.User, account, keyID string, r *http.Request, now time.Time, scope sigv4.Scope) *Caller {
	arn := iam.UserARN(account, u.Path, u.Name)
	c := policy.NewContext()
	c.Set(sts.KeyUserID, u.ID)
	c.Set("aws:username", u.Name)
	c.Set(sts.KeyPrincipalARN, arn)
	c.Set(sts.KeyPrincipalAccount, account)
	c.Set(sts.KeyPrincipalType, "User")
	for k, v := range u.Tags {
		c.Set(sts.KeyPrincipalTagPfx+k, v)
	}
	now = now.UTC()
	c.Set(sts.KeyCurrentTime, now.Format(time.RFC3339))
	c.Set(sts.KeyEpochTime, strconv.FormatInt(now.Unix(), 10))
	c.Set(sts.KeySecureTransport, strconv.FormatBool(r.TLS != nil))
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Set(sts.KeySourceIP, host)
	}
	return &Caller{
		ARN: arn, Account: account, User: u,
		Principal:   policy.Principal{ARN: arn, Account: account, ID: u.ID},
		Context:     c,
		AccessKeyID: keyID,
		Service:     scope.Service, Region: scope.Region,
	}
}

// policies returns the caller's effective policies: for a user its inline
// and attached managed policies; for a session its role's identity-based
// policies, boundary and the session policies. Anything that cannot be
// resolved fails closed (an error, which authorize answers with a denial).
func (c *Caller) policies(ctx context.Context, h *Handler) (*policy.PolicySet, error) {
	c.once.Do(func() {
		snap := h.cfg.Sessions.Snapshot()
		if snap == nil {
			c.psErr = errors.New("no configuration snapshot")
			return
		}
		if c.Session != nil {
			c.ps, c.psErr = callerPolicies(snap, c.Session)
			return
		}
		c.ps, c.psErr = h.userPolicies(ctx, snap, c.User)
	})
	return c.ps, c.psErr
}

// userPolicies compiles the identity-based policies of admin user u. An
// attached policy missing from the snapshot (attached on another replica
// since it was built) is read from the store.
func (h *Handler) userPolicies(ctx context.Context, snap *anywhere.Snapshot, u *store.User) (*policy.PolicySet, error) {
	ps := &policy.PolicySet{}
	for name, doc := range u.InlinePolicies {
		p, err := policy.Parse([]byte(doc), policy.ParseOptions{Kind: policy.KindIdentity, Name: name, Inline: true, MaxSize: -1})
		if err != nil {
			return nil, fmt.Errorf("user %s inline policy %s: %w", u.Name, name, err)
		}
		ps.Identity = append(ps.Identity, p)
	}
	for _, arn := range u.AttachedPolicies {
		if p, ok := snap.ManagedPolicy(arn); ok {
			ps.Identity = append(ps.Identity, p)
			continue
		}
		rec, err := h.cfg.Store.GetPolicy(ctx, arn)
		if err != nil {
			return nil, fmt.Errorf("user %s attached policy %s: %w", u.Name, arn, err)
		}
		p, err := policy.Parse([]byte(rec.DefaultDocument()), policy.ParseOptions{Kind: policy.KindIdentity, Name: rec.Name, MaxSize: -1})
		if err != nil {
			return nil, fmt.Errorf("user %s attached policy %s: %w", u.Name, arn, err)
		}
		ps.Identity = append(ps.Identity, p)
	}
	return ps, nil
}

// authorize reports whether c may perform action (e.g.
// "rolesanywhere:CreateProfile", "iam:CreateRole") on resource (an ARN, or
// "*" for actions without a resource), with extra request-specific condition
// keys (aws:RequestTag/…, aws:TagKeys, iam:PassedToService, …). A refusal is
// an *apierr.Error with code AccessDenied (IAM) / AccessDeniedException
// (Roles Anywhere) and AWS's "User: ARN is not authorized to perform: ACTION
// on resource: RESOURCE" message; the caller's edge re-codes it per protocol.
func (h *Handler) authorize(c *Caller, action, resource string, extra map[string][]string) error {
	code := "AccessDenied"
	if strings.HasPrefix(strings.ToLower(action), "rolesanywhere:") {
		code = "AccessDeniedException"
	}
	return h.authorizeAs(c, code, action, resource, extra)
}

// authorizePassRole checks that c may pass roleARN to a Roles Anywhere
// profile (iam:PassRole with iam:PassedToService =
// rolesanywhere.amazonaws.com), as CreateProfile, UpdateProfile and
// EnableProfile require. A refusal is a 403 AccessDeniedException, the
// Roles Anywhere code, since only Roles Anywhere operations pass roles.
func (h *Handler) authorizePassRole(c *Caller, roleARN string) error {
	return h.authorizeAs(c, "AccessDeniedException", "iam:PassRole", roleARN,
		map[string][]string{"iam:PassedToService": {PassedToService}})
}

func (h *Handler) authorizeAs(c *Caller, code, action, resource string, extra map[string][]string) error {
	if resource == "" {
		resource = "*"
	}
	denied := func(why string, cause error) error {
		return apierr.New(code, http.StatusForbidden, "User: %s is not authorized to perform: %s on resource: %s %s",
			c.ARN, action, truncate(resource), why).WithCause(cause)
	}
	ps, err := c.policies(context.Background(), h)
	if err != nil {
		return denied("because no identity-based policy allows the "+action+" action", err)
	}
	ctx := c.Context.Clone()
	for k, v := range extra {
		ctx.Set(k, v...)
	}
	switch d := ps.Evaluate(&policy.Request{Principal: c.Principal, Action: action, Resource: resource, Context: ctx}); d {
	case policy.Allow:
		return nil
	case policy.ExplicitDeny:
		return denied("with an explicit deny in an identity-based policy", errors.New("explicit deny"))
	default:
		return denied("because no identity-based policy allows the "+action+" action", errors.New("implicit deny"))
	}
}
