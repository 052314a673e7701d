package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// StatementRef identifies a statement in an explanation.
type StatementRef struct {
	Kind   Kind   `json:"kind"`
	Policy string `json:"policy"`
	Sid    string `json:"sid,omitempty"`
	// Index is the statement's position in the Statement array, or -1
	// when Statement is a single object.
	Index  int    `json:"index"`
	Path   string `json:"path"`
	Effect Effect `json:"effect"`
}

// String describes the statement, e.g.
// `identity-based policy "s3-read" Statement[1] (Sid "ReadBucket")`.
func (r StatementRef) String() string {
	s := r.Kind.describe() + " " + strconv.Quote(r.Policy) + " " + r.Path
	if r.Sid != "" {
		s += " (Sid " + strconv.Quote(r.Sid) + ")"
	}
	return s
}

// Explanation says why a request got its decision.
type Explanation struct {
	Decision Decision `json:"decision"`
	// Denied lists the Deny statements that apply (non-empty exactly when
	// Decision is ExplicitDeny).
	Denied []StatementRef `json:"denied,omitempty"`
	// Allowed lists the Allow statements that apply, in every policy type.
	Allowed []StatementRef `json:"allowed,omitempty"`
	// Missing lists, for an implicit deny, the policy types that had to
	// allow and did not.
	Missing []Kind `json:"missing,omitempty"`
	// Notes adds what the lists cannot say, e.g. that an Allow delegated
	// to the caller's account.
	Notes []string `json:"notes,omitempty"`
}

// String renders the explanation over several lines, like the IAM policy
// simulator's summary.
func (e Explanation) String() string {
	var b strings.Builder
	switch e.Decision {
	case Allow:
		b.WriteString("Allow\n")
	case ExplicitDeny:
		b.WriteString("Deny (explicit)\n")
	default:
		b.WriteString("Deny (implicit)\n")
	}
	for _, r := range e.Denied {
		fmt.Fprintf(&b, "  denied by %s\n", r)
	}
	for _, r := range e.Allowed {
		verb := "allowed by"
		if e.Decision == ExplicitDeny {
			verb = "allowed (overridden) by"
		}
		fmt.Fprintf(&b, "  %s %s\n", verb, r)
	}
	for _, k := range e.Missing {
		fmt.Fprintf(&b, "  no %s allows the request\n", k.describe())
	}
	for _, n := range e.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

// Explain decides the request like Evaluate and says why: every statement
// that applies, and for an implicit deny which policy types had no Allow.
func (s *PolicySet) Explain(req *Request) Explanation {
	ix := s.index()
	act := lowerASCII(nil, req.Action)
	var e Explanation
	o := outcome{hasBoundary: ix.hasBoundary, hasSession: ix.hasSession, hasTrust: ix.hasTrust}
	var resourceAccount, trustAccount bool
	for i := range ix.slots {
		if (i == slotBoundary && !o.hasBoundary) || (i == slotSession && !o.hasSession) {
			continue
		}
		var matched []*statement
		var how []principalMatch
		var cand [3]*bucket
		ix.slots[i].candidates(act, &cand)
		for _, b := range cand {
			if b == nil {
				continue
			}
			for _, list := range [][]*statement{b.deny, b.allow} {
				for _, st := range list {
					if ok, pm := st.applies(req); ok {
						matched = append(matched, st)
						how = append(how, pm)
					}
				}
			}
		}
		perm := make([]int, len(matched))
		for j := range perm {
			perm[j] = j
		}
		slices.SortFunc(perm, func(a, b int) int { return ix.order[matched[a]] - ix.order[matched[b]] })
		for _, j := range perm {
			st, pm := matched[j], how[j]
			if st.effect == EffectDeny {
				e.Denied = append(e.Denied, st.ref())
				continue
			}
			e.Allowed = append(e.Allowed, st.ref())
			switch i {
			case slotIdentity:
				o.identity = true
			case slotBoundary:
				o.boundary = true
			case slotSession:
				o.session = true
			case slotResource:
				o.resource = max(o.resource, pm)
				resourceAccount = resourceAccount || pm == pmAccount
			case slotTrust:
				o.trust = max(o.trust, pm)
				trustAccount = trustAccount || pm == pmAccount
			}
		}
	}
	if len(e.Denied) > 0 {
		e.Decision = ExplicitDeny
		return e
	}
	e.Decision = o.decision()
	limits := func() {
		if o.hasBoundary && !o.boundary {
			e.Missing = append(e.Missing, KindBoundary)
		}
		if o.hasSession && !o.session {
			e.Missing = append(e.Missing, KindSession)
		}
	}
	switch {
	case o.hasTrust:
		if o.trust < pmRole && trustAccount {
			e.Notes = append(e.Notes, "the trust policy allows the principal's account only; the caller's identity-based policies must allow the action too")
		}
		if e.Decision == Allow {
			break
		}
		if o.trust == pmNone {
			e.Missing = append(e.Missing, KindTrust)
			break
		}
		if !o.identity {
			e.Missing = append(e.Missing, KindIdentity)
		}
		limits()
	case o.resource == pmDirect:
		e.Notes = append(e.Notes, "a resource-based policy names the caller itself, so boundary and session policies do not limit it")
	default:
		if resourceAccount && o.resource < pmRole {
			e.Notes = append(e.Notes, "a resource-based policy allows the caller's account only, which delegates to its identity-based policies")
		}
		if e.Decision == Allow {
			break
		}
		if !o.identity && o.resource < pmRole {
			e.Missing = append(e.Missing, KindIdentity)
			if len(s.Resource) > 0 {
				e.Missing = append(e.Missing, KindResource)
			}
		}
		limits()
	}
	return e
}

// ExplainTrust explains EvaluateTrust's decision.
func ExplainTrust(trust *Policy, req *Request) Explanation {
	var e Explanation
	if trust == nil {
		return Explanation{Decision: ImplicitDeny, Missing: []Kind{KindTrust}}
	}
	best := pmNone
	for _, st := range trust.stmts {
		ok, pm := st.applies(req)
		if !ok {
			continue
		}
		if st.effect == EffectDeny {
			e.Denied = append(e.Denied, st.ref())
			continue
		}
		e.Allowed = append(e.Allowed, st.ref())
		best = max(best, pm)
	}
	switch {
	case len(e.Denied) > 0:
		e.Decision = ExplicitDeny
	case len(e.Allowed) > 0:
		e.Decision = Allow
		if best == pmAccount {
			e.Notes = append(e.Notes, "the trust policy allows the principal's account; AWS also requires the caller's identity-based policies to allow the action")
		}
	default:
		e.Decision = ImplicitDeny
		e.Missing = []Kind{KindTrust}
	}
	return e
}
