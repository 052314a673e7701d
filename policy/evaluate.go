package policy

import (
	"fmt"
	"sync/atomic"
)

// Decision is the outcome of evaluating a request.
type Decision uint8

// Decisions, named like the IAM policy simulator's EvalDecision values.
const (
	// ImplicitDeny: no explicit Deny, but a required Allow is missing. It
	// is the zero value, so an unset Decision denies.
	ImplicitDeny Decision = iota
	// Allow: the request is allowed.
	Allow
	// ExplicitDeny: a Deny statement applies.
	ExplicitDeny
)

// String returns "allowed", "explicitDeny" or "implicitDeny".
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	case ImplicitDeny:
		return "implicitDeny"
	}
	return fmt.Sprintf("Decision(%d)", uint8(d))
}

// MarshalText encodes the decision as its String form.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalText encodes the kind as its String form.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText encodes the effect as "Allow" or "Deny".
func (e Effect) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// Request is one request to authorize.
type Request struct {
	// Principal is the caller; it matters only for policies with a
	// Principal element (resource-based and trust policies).
	Principal Principal
	// Action is "service:Action", e.g. "s3:GetObject" (case-insensitive).
	Action string
	// Resource is the ARN acted on. For a trust policy it is the role ARN.
	Resource string
	// Context holds the condition keys; nil means none. The caller sets
	// the global keys it knows (aws:PrincipalArn, aws:userid,
	// aws:PrincipalTag/…, aws:SourceIp, aws:CurrentTime, …): keys are not
	// derived from Principal.
	Context *Context
}

// PolicySet is the policies that apply to a request, by type. The zero
// value denies everything. A PolicySet is indexed on first use: set its
// fields before calling Evaluate or Explain and do not change or copy it
// afterwards. It is then safe for concurrent use.
//
// The decision follows IAMUG reference_policies_evaluation-logic.md:
//
//  1. A Deny statement that applies, in a policy of any type, denies
//     (ExplicitDeny).
//  2. Otherwise an identity-based policy must allow, or a resource-based
//     policy must allow the principal. An Allow in a resource-based policy
//     that names the caller itself (its session or user ARN, service,
//     federated or canonical user) suffices on its own; one that names the
//     session's role or "*" counts like an identity-based Allow; one that
//     names only the caller's account delegates to the identity-based
//     policies and adds nothing.
//  3. If a permissions boundary is present it must allow as well, and if
//     session policies are present one of them must allow (they are one
//     policy type: any of them allowing suffices).
//  4. If Trust is set the request is a role assumption: the trust policy
//     must explicitly allow the principal. If it names the principal (or
//     its role, a service, or "*"), that is enough; if it names only the
//     principal's account, the caller's identity-based policies (and
//     boundary and session policies) must allow too.
type PolicySet struct {
	// Identity holds the identity-based policies (inline and managed) of
	// the caller.
	Identity []*Policy
	// Boundary holds the permissions boundary.
	Boundary []*Policy
	// HasBoundary marks a boundary as present even when Boundary is empty
	// (then it allows nothing). A non-empty Boundary is always present.
	HasBoundary bool
	// Session holds the session policies of a role session.
	Session []*Policy
	// HasSession marks session policies as present even when Session is
	// empty (then they allow nothing). A non-empty Session is present.
	HasSession bool
	// Resource holds resource-based policies of the resource acted on.
	Resource []*Policy
	// Trust is the trust policy of a role being assumed, or nil.
	Trust *Policy

	idx atomic.Pointer[setIndex]
}

// slot numbers of a setIndex, in evaluation and explanation order.
const (
	slotIdentity = iota
	slotBoundary
	slotSession
	slotResource
	slotTrust
	numSlots
)

// outcome is what the allow pass found, from which the decision follows.
type outcome struct {
	identity    bool
	boundary    bool
	session     bool
	resource    principalMatch // best principal match of an allowing statement
	trust       principalMatch
	hasBoundary bool
	hasSession  bool
	hasTrust    bool
}

// decision applies steps 2–4 of the algorithm.
func (o *outcome) decision() Decision {
	limitsOK := (!o.hasBoundary || o.boundary) && (!o.hasSession || o.session)
	if o.hasTrust {
		switch {
		case o.trust >= pmRole:
			return Allow
		case o.trust == pmAccount && o.identity && limitsOK:
			return Allow
		}
		return ImplicitDeny
	}
	if o.resource == pmDirect {
		return Allow
	}
	if (o.identity || o.resource == pmRole) && limitsOK {
		return Allow
	}
	return ImplicitDeny
}

// Evaluate decides the request. It allocates nothing and builds no
// explanation; use Explain for that.
func (s *PolicySet) Evaluate(req *Request) Decision {
	ix := s.index()
	var buf [128]byte
	act := lowerASCII(buf[:0], req.Action)
	var cand [numSlots][3]*bucket
	for _, i := range ix.active {
		ix.slots[i].candidates(act, &cand[i])
	}
	for _, i := range ix.active {
		for _, b := range cand[i] {
			if b == nil {
				continue
			}
			for _, st := range b.deny {
				if ok, _ := st.applies(req); ok {
					return ExplicitDeny
				}
			}
		}
	}
	o := outcome{hasBoundary: ix.hasBoundary, hasSession: ix.hasSession, hasTrust: ix.hasTrust}
	o.identity = firstAllow(&cand[slotIdentity], req)
	if o.hasBoundary {
		o.boundary = firstAllow(&cand[slotBoundary], req)
	}
	if o.hasSession {
		o.session = firstAllow(&cand[slotSession], req)
	}
	o.resource = bestAllow(&cand[slotResource], req)
	o.trust = bestAllow(&cand[slotTrust], req)
	return o.decision()
}

// firstAllow reports whether any allowing candidate applies.
func firstAllow(bs *[3]*bucket, req *Request) bool {
	for _, b := range bs {
		if b == nil {
			continue
		}
		for _, st := range b.allow {
			if ok, _ := st.applies(req); ok {
				return true
			}
		}
	}
	return false
}

// bestAllow returns the strongest principal match among the allowing
// candidates that apply.
func bestAllow(bs *[3]*bucket, req *Request) principalMatch {
	best := pmNone
	for _, b := range bs {
		if b == nil {
			continue
		}
		for _, st := range b.allow {
			if ok, pm := st.applies(req); ok && pm > best {
				best = pm
				if best == pmDirect {
					return best
				}
			}
		}
	}
	return best
}

// EvaluateTrust decides whether the trust policy lets req.Principal
// perform req.Action (sts:AssumeRole, sts:TagSession,
// sts:SetSourceIdentity, …) on the role: no Deny statement applies and an
// Allow statement explicitly matches the principal. An Allow that names
// only the principal's account (":root") delegates to that account: AWS
// then also requires the caller's identity-based policies to allow the
// action, which only a PolicySet with Trust and Identity can check;
// ExplainTrust notes the case.
//
// A nil trust policy allows nothing.
func EvaluateTrust(trust *Policy, req *Request) Decision {
	if trust == nil {
		return ImplicitDeny
	}
	allowed := false
	for _, st := range trust.stmts {
		ok, _ := st.applies(req)
		if !ok {
			continue
		}
		if st.effect == EffectDeny {
			return ExplicitDeny
		}
		allowed = true
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

// lowerASCII appends s to dst with ASCII letters lower-cased.
func lowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
