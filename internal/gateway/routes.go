package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// RouteTable maps requests of a non-S3 API to IAM actions and resources,
// declaratively: "GET /customers/{id}" → api:GetCustomer on
// arn:roam:api:::customers/{id}. The first matching entry wins.
type RouteTable struct {
	entries []routeEntry
}

type routeEntry struct {
	method   string // "" matches any
	segs     []segment
	action   string
	resource string
	pattern  string
}

// segment is one path segment of a pattern: a literal, a {name} variable
// matching one non-empty segment, or a final {name...} matching the rest.
type segment struct {
	lit  string
	name string
	rest bool
}

// Match is a matched route: the action and the resource with variables
// substituted.
type Match struct {
	Action   string
	Resource string
	Pattern  string
	Vars     map[string]string
}

// CompileRouteTable checks and compiles route entries.
func CompileRouteTable(routes []APIRoute) (*RouteTable, error) {
	t := &RouteTable{}
	var errs []error
	for i, r := range routes {
		e, err := compileEntry(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d] %q: %w", i, r.Pattern, err))
			continue
		}
		t.entries = append(t.entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

func compileEntry(r APIRoute) (routeEntry, error) {
	e := routeEntry{action: r.Action, resource: r.Resource, pattern: r.Pattern}
	method, path, ok := strings.Cut(strings.TrimSpace(r.Pattern), " ")
	if !ok {
		method, path = "", method
	}
	path = strings.TrimSpace(path)
	if method != "*" {
		e.method = strings.ToUpper(method)
	}
	if !strings.HasPrefix(path, "/") {
		return e, errors.New("path must start with /")
	}
	vars := map[string]bool{}
	parts := strings.Split(path[1:], "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			name := p[1 : len(p)-1]
			s := segment{name: name}
			if n, ok := strings.CutSuffix(name, "..."); ok {
				if i != len(parts)-1 {
					return e, errors.New("{name...} must be the last segment")
				}
				s = segment{name: n, rest: true}
			}
			if !validVar(s.name) {
				return e, fmt.Errorf("bad variable name %q", s.name)
			}
			if vars[s.name] {
				return e, fmt.Errorf("variable %q used twice", s.name)
			}
			vars[s.name] = true
			e.segs = append(e.segs, s)
			continue
		}
		if strings.ContainsAny(p, "{}") {
			return e, fmt.Errorf("segment %q: a variable must be a whole segment", p)
		}
		e.segs = append(e.segs, segment{lit: p})
	}
	if !strings.Contains(r.Action, ":") || strings.ContainsAny(r.Action, "{} ") {
		return e, fmt.Errorf("action %q must be service:Action", r.Action)
	}
	if r.Resource == "" {
		return e, errors.New("resource is required")
	}
	for _, name := range templateVars(r.Resource) {
		if !vars[name] {
			return e, fmt.Errorf("resource uses {%s}, which the path does not bind", name)
		}
	}
	return e, nil
}

func validVar(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func templateVars(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+j])
		s = s[i+j+1:]
	}
}

// Match finds the first entry matching method and escapedPath (the path as
// sent). Variables are percent-decoded; a decoded variable containing "/"
// never matches a single-segment variable.
func (t *RouteTable) Match(method, escapedPath string) (*Match, bool) {
	if t == nil || !strings.HasPrefix(escapedPath, "/") {
		return nil, false
	}
	parts := strings.Split(escapedPath[1:], "/")
	for i := range t.entries {
		e := &t.entries[i]
		if e.method != "" && e.method != method {
			continue
		}
		if vars, ok := e.match(parts); ok {
			return &Match{Action: e.action, Resource: expand(e.resource, vars), Pattern: e.pattern, Vars: vars}, true
		}
	}
	return nil, false
}

// expand substitutes {name} in tmpl in one pass, so a value that looks
// like a variable is never substituted again.
func expand(tmpl string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		if v, ok := vars[tmpl[i+1:i+j]]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}

func (e *routeEntry) match(parts []string) (map[string]string, bool) {
	var vars map[string]string
	set := func(k, v string) {
		if vars == nil {
			vars = map[string]string{}
		}
		vars[k] = v
	}
	for i, s := range e.segs {
		if s.rest {
			if i > len(parts) {
				return nil, false
			}
			rest := strings.Join(parts[i:], "/")
			v, err := url.PathUnescape(rest)
			if err != nil || v == "" || hasDotSegment(parts[i:]) {
				return nil, false
			}
			set(s.name, v)
			return vars, true
		}
		if i >= len(parts) {
			return nil, false
		}
		p := parts[i]
		if s.name == "" {
			if p != s.lit {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(p)
		if err != nil || v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/*?") {
			return nil, false
		}
		set(s.name, v)
	}
	if len(parts) != len(e.segs) {
		return nil, false
	}
	return vars, true
}

func hasDotSegment(parts []string) bool {
	for _, p := range parts {
		if v, _ := url.PathUnescape(p); v == "." || v == ".." {
			return true
		}
	}
	return false
}

func jsonFromYAML(v any) ([]byte, error) {
	return json.Marshal(normalizeYAML(v))
}

// normalizeYAML turns map[any]any (possible in older YAML decoders) into
// map[string]any so encoding/json accepts it.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	}
	return v
}
