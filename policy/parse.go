package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Parse parses, validates and compiles a policy document. If the document
// is invalid the error is an [ErrorList] naming the JSON path of every
// problem found.
func Parse(doc []byte, opts ParseOptions) (*Policy, error) {
	if opts.Kind == 0 {
		opts.Kind = KindIdentity
	}
	if int(opts.Kind) >= len(kindNames) {
		return nil, fmt.Errorf("policy: invalid kind %d", opts.Kind)
	}
	var e errs
	checkSize(doc, opts, &e)

	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		e.add("", "invalid JSON: %v", err)
		return nil, e.list
	}
	if _, err := dec.Token(); err != io.EOF {
		e.add("", "invalid JSON: data after the policy document")
		return nil, e.list
	}
	obj, ok := root.(map[string]any)
	if !ok {
		e.add("", "a policy document must be a JSON object")
		return nil, e.list
	}
	p := &Policy{name: opts.Name, kind: opts.Kind}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != Version2012 && s != Version2008) {
				e.add("Version", "must be %q or %q", Version2012, Version2008)
				continue
			}
			p.version = s
		case "Id":
			s, ok := v.(string)
			if !ok {
				e.add("Id", "must be a string")
				continue
			}
			p.id = s
		case "Statement":
		default:
			e.add(k, "unknown element (a policy has Version, Id and Statement)")
		}
	}
	vars := p.version == Version2012
	switch st := obj["Statement"].(type) {
	case nil:
		e.add("Statement", "missing (a policy needs at least one statement)")
	case map[string]any:
		p.stmts = append(p.stmts, parseStatement(st, -1, "Statement", p, vars, &e))
	case []any:
		if len(st) == 0 {
			e.add("Statement", "must contain at least one statement")
		}
		for i, s := range st {
			path := "Statement[" + strconv.Itoa(i) + "]"
			m, ok := s.(map[string]any)
			if !ok {
				e.add(path, "a statement must be a JSON object")
				continue
			}
			p.stmts = append(p.stmts, parseStatement(m, i, path, p, vars, &e))
		}
	default:
		e.add("Statement", "must be an object or an array of objects")
	}
	if opts.Kind != KindResource {
		seen := make(map[string]string)
		for _, st := range p.stmts {
			if st.sid == "" {
				continue
			}
			if prev, dup := seen[st.sid]; dup {
				e.add(st.path+".Sid", "duplicate Sid %q (also in %s)", st.sid, prev)
			}
			seen[st.sid] = st.path
		}
	}
	if len(e.list) > 0 {
		return nil, e.list
	}
	return p, nil
}

// elementOrder is the conventional order of policy elements (read-only).
var elementOrder = map[string]int{"Version": 1, "Id": 2, "Statement": 3, "Sid": 4, "Effect": 5,
	"Principal": 6, "NotPrincipal": 7, "Action": 8, "NotAction": 9,
	"Resource": 10, "NotResource": 11, "Condition": 12}

// sortedKeys returns the keys of m in a stable order: policy elements in
// their conventional order first, then the rest alphabetically.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		oa, ob := elementOrder[a], elementOrder[b]
		if oa == 0 {
			oa = 100
		}
		if ob == 0 {
			ob = 100
		}
		if oa != ob {
			return oa - ob
		}
		return strings.Compare(a, b)
	})
	return keys
}

// stringList accepts a string or a non-empty array of strings.
func stringList(v any, path string, e *errs) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		if len(t) == 0 {
			e.add(path, "must not be an empty list")
			return nil
		}
		out := make([]string, 0, len(t))
		for i, x := range t {
			s, ok := x.(string)
			if !ok {
				e.add(path+"["+strconv.Itoa(i)+"]", "must be a string")
				continue
			}
			out = append(out, s)
		}
		return out
	}
	e.add(path, "must be a string or a list of strings")
	return nil
}

// parseStatement validates and compiles one statement.
func parseStatement(m map[string]any, index int, path string, p *Policy, vars bool, e *errs) *statement {
	st := &statement{pol: p, index: index, path: path}
	kind := p.kind
	for _, k := range sortedKeys(m) {
		v := m[k]
		kp := path + "." + k
		switch k {
		case "Sid":
			s, ok := v.(string)
			if !ok {
				e.add(kp, "must be a string")
				continue
			}
			if kind != KindResource && !validSid(s) {
				e.add(kp, "%q: a Sid may contain only ASCII letters and digits", s)
			}
			st.sid = s
		case "Effect":
			switch v {
			case "Allow":
				st.effect = EffectAllow
			case "Deny":
				st.effect = EffectDeny
			default:
				e.add(kp, "must be \"Allow\" or \"Deny\"")
			}
		case "Action", "NotAction":
			st.notAction = k == "NotAction"
			for i, s := range stringList(v, kp, e) {
				if err := checkAction(s); err != nil {
					e.add(listPath(kp, v, i), "%v", err)
					continue
				}
				st.actions = append(st.actions, compileAction(s))
			}
		case "Resource", "NotResource":
			if kind == KindTrust {
				e.add(kp, "a role trust policy cannot have a %s element (the resource is the role itself)", k)
				continue
			}
			st.hasResource, st.notResource = true, k == "NotResource"
			for i, s := range stringList(v, kp, e) {
				if s != "*" {
					if err := checkARNPattern(s, vars); err != nil {
						e.add(listPath(kp, v, i), "%v", err)
						continue
					}
				}
				st.resources = append(st.resources, compileResource(s, vars))
			}
		case "Principal", "NotPrincipal":
			switch kind {
			case KindIdentity, KindSession, KindBoundary:
				e.add(kp, "%s cannot have a %s element", withArticle(kind.describe()), k)
				continue
			case KindTrust:
				if k == "NotPrincipal" {
					e.add(kp, "NotPrincipal is not allowed in a role trust policy")
					continue
				}
			}
			st.notPrincipal = k == "NotPrincipal"
			st.principal = parsePrincipal(v, kp, e)
		case "Condition":
			st.conds = parseCondition(v, kp, vars, e)
		default:
			e.add(kp, "unknown element")
		}
	}
	if st.effect == 0 {
		if _, ok := m["Effect"]; !ok {
			e.add(path, "missing Effect")
		}
	}
	_, hasA := m["Action"]
	_, hasNA := m["NotAction"]
	switch {
	case hasA && hasNA:
		e.add(path, "has both Action and NotAction")
	case !hasA && !hasNA:
		e.add(path, "missing Action or NotAction")
	}
	_, hasR := m["Resource"]
	_, hasNR := m["NotResource"]
	if hasR && hasNR {
		e.add(path, "has both Resource and NotResource")
	} else if !hasR && !hasNR && kind != KindTrust {
		e.add(path, "missing Resource or NotResource")
	}
	_, hasP := m["Principal"]
	_, hasNP := m["NotPrincipal"]
	switch {
	case hasP && hasNP:
		e.add(path, "has both Principal and NotPrincipal")
	case kind == KindTrust && !hasP:
		e.add(path, "missing Principal (a role trust policy must say who may assume the role)")
	case kind == KindResource && !hasP && !hasNP:
		e.add(path, "missing Principal or NotPrincipal")
	}
	if hasNP && st.effect == EffectAllow && kind == KindResource {
		e.add(path+".NotPrincipal", "NotPrincipal cannot be used with \"Effect\": \"Allow\"")
	}
	return st
}

// withArticle prefixes a noun phrase with "a" or "an".
func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// listPath names element i of v at path: path itself for a lone string.
func listPath(path string, v any, i int) string {
	if _, ok := v.([]any); ok {
		return path + "[" + strconv.Itoa(i) + "]"
	}
	return path
}

// parsePrincipal compiles a Principal or NotPrincipal element.
func parsePrincipal(v any, path string, e *errs) *principalSet {
	ps := &principalSet{}
	switch t := v.(type) {
	case string:
		if t != "*" {
			e.add(path, "must be \"*\" or an object with AWS, Service, Federated or CanonicalUser")
		}
		ps.any = true
		return ps
	case map[string]any:
		if len(t) == 0 {
			e.add(path, "must name at least one principal")
		}
		for _, typ := range sortedKeys(t) {
			tp := path + "." + typ
			switch typ {
			case "AWS", "Service", "Federated", "CanonicalUser":
			default:
				e.add(tp, "unknown principal type (want AWS, Service, Federated or CanonicalUser)")
				continue
			}
			for i, s := range stringList(t[typ], tp, e) {
				if err := ps.add(typ, s); err != nil {
					e.add(listPath(tp, t[typ], i), "%v", err)
				}
			}
		}
		return ps
	}
	e.add(path, "must be \"*\" or an object with AWS, Service, Federated or CanonicalUser")
	return ps
}

// parseCondition compiles a Condition element.
func parseCondition(v any, path string, vars bool, e *errs) []condition {
	ops, ok := v.(map[string]any)
	if !ok {
		e.add(path, "must be an object of condition operators")
		return nil
	}
	var conds []condition
	for _, name := range sortedKeys(ops) {
		op, q, ifExists, err := parseOperator(name)
		opPath := path + "." + name
		if err != nil {
			e.add(opPath, "%v", err)
			continue
		}
		keys, ok := ops[name].(map[string]any)
		if !ok || len(keys) == 0 {
			e.add(opPath, "must be an object of condition keys and values")
			continue
		}
		for _, key := range sortedKeys(keys) {
			kp := opPath + "." + key
			if key == "" {
				e.add(kp, "empty condition key")
				continue
			}
			c := condition{op: op, qual: q, ifExists: ifExists, name: name, key: strings.ToLower(key)}
			raw := keys[key]
			list, isList := raw.([]any)
			if !isList {
				list = []any{raw}
			} else if len(list) == 0 {
				e.add(kp, "must have at least one value")
				continue
			}
			for i, x := range list {
				vp := kp
				if isList {
					vp += "[" + strconv.Itoa(i) + "]"
				}
				s, ok := scalar(x)
				if !ok {
					e.add(vp, "a condition value must be a string, number or boolean")
					continue
				}
				if err := c.addValue(s, vars); err != nil {
					e.add(vp, "%s: %v", name, err)
				}
			}
			conds = append(conds, c)
		}
	}
	return conds
}

// scalar converts a JSON scalar to its string form.
func scalar(x any) (string, bool) {
	switch t := x.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}
