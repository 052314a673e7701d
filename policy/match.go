package policy

import (
	"strings"
	"unicode/utf8"
)

// atomKind is the kind of one piece of a compiled pattern.
type atomKind uint8

const (
	atomLit  atomKind = iota // literal text
	atomStar                 // '*': any run of characters
	atomOne                  // '?': exactly one character
	atomVar                  // a policy variable, matched literally once resolved
)

// atom is one piece of a pattern. For atomVar, s is the lower-cased key.
type atom struct {
	kind   atomKind
	s      string
	def    string
	hasDef bool
}

// patKind selects a fast path for a pattern.
type patKind uint8

const (
	patExact  patKind = iota // one literal
	patAny                   // "*"
	patPrefix                // literal then '*'
	patSuffix                // '*' then literal
	patGlob                  // anything else, including variables
)

// pattern matches strings without regular expressions. Case-insensitive
// patterns (fold) hold lower-cased literals and compare ASCII case-folded.
type pattern struct {
	kind  patKind
	lit   string
	fold  bool
	atoms []atom
}

// compilePattern builds a pattern from atoms.
func compilePattern(atoms []atom, fold bool) pattern {
	p := pattern{kind: patGlob, fold: fold, atoms: atoms}
	switch {
	case len(atoms) == 0:
		p.kind = patExact
	case len(atoms) == 1 && atoms[0].kind == atomLit:
		p.kind, p.lit = patExact, atoms[0].s
	case len(atoms) == 1 && atoms[0].kind == atomStar:
		p.kind = patAny
	case len(atoms) == 2 && atoms[0].kind == atomLit && atoms[1].kind == atomStar:
		p.kind, p.lit = patPrefix, atoms[0].s
	case len(atoms) == 2 && atoms[0].kind == atomStar && atoms[1].kind == atomLit:
		p.kind, p.lit = patSuffix, atoms[1].s
	}
	return p
}

// match reports whether s matches p; variables are resolved from ctx.
func (p *pattern) match(s string, ctx *Context) bool {
	switch p.kind {
	case patExact:
		return eq(s, p.lit, p.fold)
	case patAny:
		return true
	case patPrefix:
		return len(s) >= len(p.lit) && eq(s[:len(p.lit)], p.lit, p.fold)
	case patSuffix:
		return len(s) >= len(p.lit) && eq(s[len(s)-len(p.lit):], p.lit, p.fold)
	}
	return glob(p.atoms, s, ctx, p.fold)
}

// eq compares s with lit; with fold, lit is lower case and s is compared
// case-insensitively (ASCII fast path, Unicode simple folding otherwise).
func eq(s, lit string, fold bool) bool {
	if !fold {
		return s == lit
	}
	if len(s) != len(lit) {
		return strings.EqualFold(s, lit)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || lit[i] >= utf8.RuneSelf {
			return strings.EqualFold(s, lit)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}

// hasPrefixEq reports whether s begins with lit under eq.
func hasPrefixEq(s, lit string, fold bool) bool {
	return len(s) >= len(lit) && eq(s[:len(lit)], lit, fold)
}

// glob matches s against atoms: '*' matches any run (including '/' and
// ':'), '?' one character, literals and resolved variables themselves.
// Backtracking is limited to the last '*', which is exact for this pattern
// language and linear in the common cases.
func glob(atoms []atom, s string, ctx *Context, fold bool) bool {
	ai, si := 0, 0
	starA, starS := -1, 0
	for {
		if ai < len(atoms) {
			a := &atoms[ai]
			switch a.kind {
			case atomStar:
				if ai == len(atoms)-1 {
					return true // a trailing '*' matches the rest
				}
				starA, starS = ai, si
				ai++
				continue
			case atomOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ai++
					continue
				}
			case atomLit:
				if hasPrefixEq(s[si:], a.s, fold) {
					si += len(a.s)
					ai++
					continue
				}
			case atomVar:
				v, ok := a.resolve(ctx)
				if !ok {
					return false
				}
				// v comes from the request, not lower-cased like literals.
				if len(s)-si >= len(v) && (s[si:si+len(v)] == v || fold && strings.EqualFold(s[si:si+len(v)], v)) {
					si += len(v)
					ai++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starA < 0 || starS >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		ai, si = starA+1, starS
	}
}

// arnPattern matches ARNs component by component, so a wildcard cannot
// cross a ':' before the resource component (IAMUG
// reference_policies_condition_operators.md, ARN operators;
// reference_policies_elements_resource.md).
type arnPattern struct {
	any    bool   // "*": every value
	whole  bool   // not an ARN (a lone variable): segs[5] matches the whole value
	prefix string // "arn:…:…:…:…:" when the first five components are literal
	segs   [6]pattern
}

// compileARN compiles an ARN pattern (already validated or known to be a
// variable-bearing template).
func compileARN(s string, vars bool) arnPattern {
	if s == "*" {
		return arnPattern{any: true}
	}
	var ap arnPattern
	parts, ok := splitARN(s)
	if !ok {
		// Not an ARN (only reachable for a value that is a whole
		// variable, e.g. "${aws:SourceArn}"): match the whole string.
		ap.whole = true
		ap.segs[5] = compilePattern(parseTemplate(s, true, vars, false), false)
		return ap
	}
	literal := true
	for i, part := range parts {
		ap.segs[i] = compilePattern(parseTemplate(part, true, vars && i == 5, false), false)
		if i < 5 && ap.segs[i].kind != patExact {
			literal = false
		}
	}
	if literal {
		ap.prefix = strings.Join(parts[:5], ":") + ":"
	}
	return ap
}

// match reports whether the ARN s matches.
func (ap *arnPattern) match(s string, ctx *Context) bool {
	if ap.any {
		return true
	}
	if ap.whole {
		return ap.segs[5].match(s, ctx)
	}
	if ap.prefix != "" {
		return strings.HasPrefix(s, ap.prefix) && ap.segs[5].match(s[len(ap.prefix):], ctx)
	}
	if len(s) < 4 || s[:4] != "arn:" {
		return false
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return false
		}
		if !ap.segs[i].match(rest[:j], ctx) {
			return false
		}
		rest = rest[j+1:]
	}
	return ap.segs[5].match(rest, ctx)
}
