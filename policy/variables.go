package policy

import "strings"

// Policy variables (IAMUG reference_policies_variables.md): "${key}",
// "${key, 'default'}", and the escapes "${*}", "${?}", "${$}" for literal
// characters. Variables are recognised only in 2012-10-17 documents.

// parseTemplate turns s into pattern atoms. With wild, '*' and '?' are
// wildcards; with vars, "${...}" is a policy variable. Keys are lower-cased
// (condition keys are case-insensitive) and, when fold is set, literals too.
func parseTemplate(s string, wild, vars, fold bool) []atom {
	var atoms []atom
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t := lit.String()
			if fold {
				t = strings.ToLower(t)
			}
			atoms = append(atoms, atom{kind: atomLit, s: t})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case vars && c == '$' && strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				lit.WriteString(s[i:])
				i = len(s)
				continue
			}
			body := s[i+2 : i+2+end]
			i += 2 + end + 1
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			key, def, hasDef := parseVariable(body)
			flush()
			if fold {
				def = strings.ToLower(def)
			}
			atoms = append(atoms, atom{kind: atomVar, s: key, def: def, hasDef: hasDef})
		case wild && c == '*':
			flush()
			if n := len(atoms); n == 0 || atoms[n-1].kind != atomStar {
				atoms = append(atoms, atom{kind: atomStar})
			}
			i++
		case wild && c == '?':
			flush()
			atoms = append(atoms, atom{kind: atomOne})
			i++
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return atoms
}

// parseVariable splits the body of "${key, 'default'}".
func parseVariable(body string) (key, def string, hasDef bool) {
	key = body
	if k, d, ok := strings.Cut(body, ","); ok {
		d = strings.TrimSpace(d)
		if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
			key, def, hasDef = k, d[1:len(d)-1], true
		}
	}
	return strings.ToLower(strings.TrimSpace(key)), def, hasDef
}

// hasVariable reports whether s contains a policy variable other than the
// escapes.
func hasVariable(s string) bool {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return false
		}
		s = s[i+2:]
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return false
		}
		switch s[:end] {
		case "*", "?", "$":
		default:
			return true
		}
		s = s[end+1:]
	}
}

// resolve returns the value of a variable atom: the key's single value in
// ctx, else the default, else ok=false (an unresolved variable matches
// nothing). Multi-valued keys cannot be variables.
func (a *atom) resolve(ctx *Context) (string, bool) {
	if vals, ok := ctx.lookup(a.s); ok && len(vals) == 1 {
		return vals[0], true
	}
	if a.hasDef {
		return a.def, true
	}
	return "", false
}
