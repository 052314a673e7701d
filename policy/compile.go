package policy

import "strings"

// statement is a compiled policy statement.
type statement struct {
	pol    *Policy
	index  int    // position in the Statement array; -1 for a lone object
	path   string // "Statement[2]" or "Statement"
	sid    string
	effect Effect

	notAction bool
	actions   []actionPattern

	hasResource bool // false: no Resource element (trust policies) → any
	notResource bool
	resources   []arnPattern

	principal    *principalSet // nil: no Principal element
	notPrincipal bool

	conds []condition
}

// actionPattern is a compiled Action value: the lower-cased service prefix
// (empty for "*") and a case-insensitive matcher for "service:action".
type actionPattern struct {
	service string // lower-cased; "" means the pattern is "*"
	exact   bool   // no wildcard: the whole lower-cased action is p.lit
	p       pattern
}

// compileAction compiles a validated Action value.
func compileAction(s string) actionPattern {
	l := strings.ToLower(s)
	if l == "*" {
		return actionPattern{p: pattern{kind: patAny}}
	}
	svc, _, _ := strings.Cut(l, ":")
	p := compilePattern(parseTemplate(l, true, false, true), true)
	return actionPattern{service: svc, exact: p.kind == patExact, p: p}
}

// compileResource compiles a validated Resource value.
func compileResource(s string, vars bool) arnPattern { return compileARN(s, vars) }

// matchAction reports whether the statement's Action/NotAction applies.
func (st *statement) matchAction(action string, ctx *Context) bool {
	for i := range st.actions {
		if st.actions[i].p.match(action, ctx) {
			return !st.notAction
		}
	}
	return st.notAction
}

// matchResource reports whether the statement's Resource/NotResource
// applies.
func (st *statement) matchResource(resource string, ctx *Context) bool {
	if !st.hasResource {
		return true
	}
	for i := range st.resources {
		if st.resources[i].match(resource, ctx) {
			return !st.notResource
		}
	}
	return st.notResource
}

// matchConditions reports whether every condition holds.
func (st *statement) matchConditions(ctx *Context) bool {
	for i := range st.conds {
		if !st.conds[i].eval(ctx) {
			return false
		}
	}
	return true
}

// applies reports whether the statement applies to the request and, for
// statements with a Principal element, how the principal matched
// (pmDirect for statements without one).
func (st *statement) applies(r *Request) (bool, principalMatch) {
	if !st.matchAction(r.Action, r.Context) || !st.matchResource(r.Resource, r.Context) {
		return false, pmNone
	}
	pm := pmDirect
	if st.principal != nil {
		pm = st.principal.match(&r.Principal)
		if st.notPrincipal {
			if pm != pmNone {
				return false, pmNone
			}
			pm = pmRole
		} else if pm == pmNone {
			return false, pmNone
		}
	}
	if !st.matchConditions(r.Context) {
		return false, pmNone
	}
	return true, pm
}

// ref returns the public description of the statement.
func (st *statement) ref() StatementRef {
	return StatementRef{
		Kind:   st.pol.kind,
		Policy: st.pol.label(),
		Sid:    st.sid,
		Index:  st.index,
		Path:   st.path,
		Effect: st.effect,
	}
}
