package policy

import "bytes"

// The statements of a PolicySet are indexed by action so that evaluation
// cost does not grow with the number of policies: a statement whose actions
// are all literal is filed under each lower-cased action name; one with a
// wildcard in the action name under its service prefix; one with "*" or
// NotAction in a fallback bucket that every request scans. A request looks
// at three buckets per policy type.

// bucket holds statements split by effect, in policy order.
type bucket struct {
	deny, allow []*statement
}

func (b *bucket) add(st *statement) {
	if st.effect == EffectDeny {
		b.deny = append(b.deny, st)
	} else {
		b.allow = append(b.allow, st)
	}
}

// slot indexes the policies of one type.
type slot struct {
	exact    map[string]*bucket
	service  map[string]*bucket
	fallback *bucket
}

// setIndex is the index of a PolicySet.
type setIndex struct {
	slots       [numSlots]slot
	active      []int              // slots holding statements, in order
	order       map[*statement]int // position for explanations
	hasBoundary bool
	hasSession  bool
	hasTrust    bool
}

// index returns the set's index, building it on first use.
func (s *PolicySet) index() *setIndex {
	if ix := s.idx.Load(); ix != nil {
		return ix
	}
	ix := buildIndex(s)
	if s.idx.CompareAndSwap(nil, ix) {
		return ix
	}
	return s.idx.Load()
}

func buildIndex(s *PolicySet) *setIndex {
	ix := &setIndex{
		order:       make(map[*statement]int),
		hasBoundary: s.HasBoundary || len(s.Boundary) > 0,
		hasSession:  s.HasSession || len(s.Session) > 0,
		hasTrust:    s.Trust != nil,
	}
	lists := [numSlots][]*Policy{
		slotIdentity: s.Identity,
		slotBoundary: s.Boundary,
		slotSession:  s.Session,
		slotResource: s.Resource,
	}
	if s.Trust != nil {
		lists[slotTrust] = []*Policy{s.Trust}
	}
	for i, pols := range lists {
		sl := &ix.slots[i]
		for _, p := range pols {
			if p == nil {
				continue
			}
			for _, st := range p.stmts {
				ix.order[st] = len(ix.order)
				sl.add(st)
			}
		}
		if sl.exact != nil || sl.service != nil || sl.fallback != nil {
			ix.active = append(ix.active, i)
		}
	}
	return ix
}

// add files st in the slot.
func (sl *slot) add(st *statement) {
	wildServices := map[string]bool{}
	fallback := st.notAction
	for _, a := range st.actions {
		switch {
		case a.service == "":
			fallback = true
		case !a.exact:
			wildServices[a.service] = true
		}
	}
	if fallback {
		if sl.fallback == nil {
			sl.fallback = &bucket{}
		}
		sl.fallback.add(st)
		return
	}
	for svc := range wildServices {
		bucketFor(&sl.service, svc).add(st)
	}
	seen := map[string]bool{}
	for _, a := range st.actions {
		if a.exact && !wildServices[a.service] && !seen[a.p.lit] {
			seen[a.p.lit] = true
			bucketFor(&sl.exact, a.p.lit).add(st)
		}
	}
}

func bucketFor(m *map[string]*bucket, key string) *bucket {
	if *m == nil {
		*m = make(map[string]*bucket)
	}
	b := (*m)[key]
	if b == nil {
		b = &bucket{}
		(*m)[key] = b
	}
	return b
}

// candidates sets c to the buckets that may hold statements applying to
// the lower-cased action act (nil entries for empty buckets).
func (sl *slot) candidates(act []byte, c *[3]*bucket) {
	if sl.exact != nil {
		c[0] = sl.exact[string(act)]
	}
	if sl.service != nil {
		if i := bytes.IndexByte(act, ':'); i >= 0 {
			c[1] = sl.service[string(act[:i])]
		}
	}
	c[2] = sl.fallback
}
