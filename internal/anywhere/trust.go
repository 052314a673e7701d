package anywhere

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/policy"
)

// rolesAnywherePrincipal is who assumes the role in CreateSession.
var rolesAnywherePrincipal = policy.ServicePrincipal(ServicePrincipal)

// trustActions are the actions CreateSession asks the trust policy for, in
// order. sts:TagSession is asked only when the session has tags.
var trustActions = [...]string{"sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"}

// requestTrustKeys are the trust-policy condition keys whose values differ
// between requests that present the same certificate chain for the same
// profile and role; every other key CreateSession sets follows from the
// chain, the profile and the snapshot. Lower-cased, as
// policy.(*Policy).ConditionKeys reports keys.
var requestTrustKeys = [...]string{"aws:currenttime", "aws:epochtime", "aws:securetransport", "aws:sourceip"}

// readsRequestKeys reports whether the trust policy reads one of
// requestTrustKeys, so that its decisions cannot be cached per certificate.
func readsRequestKeys(trust *policy.Policy) bool {
	for _, k := range trust.ConditionKeys() {
		for _, rk := range requestTrustKeys {
			if k == rk {
				return true
			}
		}
	}
	return false
}

// sessionView is what a verified chain yields under one profile, computed on
// the first request that needs it and shared by every later one: the session
// tags, the trust-policy context without the per-request keys, and the
// trust-policy outcome for each role whose trust policy reads none of them.
// Everything in it is immutable once stored except the outcome cache.
type sessionView struct {
	tags    []Tag
	stsTags []sts.Tag
	// base is the trust-policy context without requestTrustKeys. It must not
	// be modified: Clone it to add the per-request keys.
	base *policy.Context
	// outcomes caches trustOutcome per *role, for roles without
	// trustPerRequest.
	outcomes sync.Map
}

// view returns the session view of the chain under profile pr for anchor
// arn anchorARN in account. A failure (attributes that do not map to session
// tags) is not cached.
func (vc *verifiedChain) view(pr *profile, anchorARN, account string) (*sessionView, error) {
	if v, ok := vc.views.Load(pr); ok {
		return v.(*sessionView), nil
	}
	tags, err := SessionTags(vc.leaf, pr.rec.AttributeMappings)
	if err != nil {
		return nil, err
	}
	sv := &sessionView{tags: tags, stsTags: make([]sts.Tag, len(tags)), base: baseTrustContext(anchorARN, account, tags, vc.sourceIdentity)}
	for i, t := range tags {
		sv.stsTags[i] = sts.Tag{Key: t.Key, Value: t.Value}
	}
	v, _ := vc.views.LoadOrStore(pr, sv)
	return v.(*sessionView), nil
}

// trustOutcome is the trust policy's answer for a session: the first action
// of trustActions it does not allow, or "" when it allows them all.
type trustOutcome string

// trust evaluates ro's trust policy for a session of this view requested by
// r at now. Roles whose trust policy reads no per-request key are evaluated
// once per view; the others on every request, on a copy of the base context
// with the per-request keys added.
func (sv *sessionView) trust(ro *role, r *http.Request, now time.Time) trustOutcome {
	if !ro.trustPerRequest {
		if v, ok := sv.outcomes.Load(ro); ok {
			return v.(trustOutcome)
		}
		out := evaluateTrust(ro.trust, ro.arn, sv.base, len(sv.tags) > 0)
		sv.outcomes.Store(ro, out)
		return out
	}
	c := sv.base.Clone()
	setRequestTrustKeys(c, r, now)
	return evaluateTrust(ro.trust, ro.arn, c, len(sv.tags) > 0)
}

// evaluateTrust asks the trust policy, for the role with ARN roleARN, for
// each of trustActions under context c.
func evaluateTrust(trust *policy.Policy, roleARN string, c *policy.Context, hasTags bool) trustOutcome {
	for _, action := range trustActions {
		if action == "sts:TagSession" && !hasTags {
			continue
		}
		d := policy.EvaluateTrust(trust, &policy.Request{Principal: rolesAnywherePrincipal, Action: action, Resource: roleARN, Context: c})
		if d != policy.Allow {
			return trustOutcome(action)
		}
	}
	return ""
}

// baseTrustContext builds the condition context a trust policy is evaluated
// with for CreateSession, without the per-request keys (requestTrustKeys)
// that setRequestTrustKeys adds.
func baseTrustContext(anchorARN, account string, tags []Tag, sourceIdentity string) *policy.Context {
	c := policy.NewContext()
	c.Set("aws:SourceArn", anchorARN)
	c.Set("aws:SourceAccount", account)
	c.Set("aws:PrincipalServiceName", ServicePrincipal)
	c.Set("sts:SourceIdentity", sourceIdentity)
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		c.Set("aws:PrincipalTag/"+t.Key, t.Value)
		c.Set("aws:RequestTag/"+t.Key, t.Value)
		keys = append(keys, t.Key)
	}
	if len(keys) > 0 {
		c.Set("aws:TagKeys", keys...)
	}
	return c
}

// setRequestTrustKeys sets in c the keys of requestTrustKeys for r at now.
func setRequestTrustKeys(c *policy.Context, r *http.Request, now time.Time) {
	c.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	c.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	c.Set("aws:SecureTransport", strconv.FormatBool(r.TLS != nil))
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Set("aws:SourceIp", host)
	}
}
