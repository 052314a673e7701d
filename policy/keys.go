package policy

import "slices"

// ConditionKeys returns the condition keys the policy reads from a request's
// Context, lower-cased, sorted and without duplicates: the keys of its
// Condition blocks and of the policy variables ("${aws:username}") in its
// Action, Resource and condition values. Evaluating the policy consults the
// Context only for these keys, so two requests with the same principal,
// action and resource whose Contexts agree on them get the same decision.
// A nil policy reads no keys.
func (p *Policy) ConditionKeys() []string {
	if p == nil {
		return nil
	}
	var keys []string
	addAtoms := func(atoms []atom) {
		for _, a := range atoms {
			if a.kind == atomVar {
				keys = append(keys, a.s)
			}
		}
	}
	addARN := func(ap *arnPattern) {
		for i := range ap.segs {
			addAtoms(ap.segs[i].atoms)
		}
	}
	for _, st := range p.stmts {
		for i := range st.actions {
			addAtoms(st.actions[i].p.atoms)
		}
		for i := range st.resources {
			addARN(&st.resources[i])
		}
		for i := range st.conds {
			c := &st.conds[i]
			keys = append(keys, c.key)
			for j := range c.strs {
				addAtoms(c.strs[j].atoms)
			}
			for j := range c.arns {
				addARN(&c.arns[j])
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
