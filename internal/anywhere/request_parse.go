package anywhere

import (
	"encoding/json"
	"strings"
)

// The checks below stand for regular expressions; each says which. They
// run on every CreateSession, so they are written out by hand.

// rolesAnywhereARNID returns the resource id of arn when arn matches
//
//	^arn:aws(-[a-z0-9-]+)?:rolesanywhere:[a-z0-9-]+:\d{12}:KIND(.+)$
//
// with kind as KIND (e.g. "trust-anchor/") and the id a UUID (see isUUID).
func rolesAnywhereARNID(arn, kind string) (string, bool) {
	rest, ok := cutPartition(arn)
	if !ok {
		return "", false
	}
	if rest, ok = strings.CutPrefix(rest, "rolesanywhere:"); !ok {
		return "", false
	}
	i := strings.IndexByte(rest, ':')
	if i <= 0 || !allLowerAlnumDash(rest[:i]) {
		return "", false
	}
	if rest, ok = cutAccount(rest[i+1:]); !ok {
		return "", false
	}
	if rest, ok = strings.CutPrefix(rest, kind); !ok || !isUUID(rest) {
		return "", false
	}
	return rest, true
}

// validRoleARN reports whether arn matches
//
//	^arn:aws(-[a-z0-9-]+)?:iam::\d{12}:role/(.+)$
func validRoleARN(arn string) bool {
	rest, ok := cutPartition(arn)
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "iam::"); !ok {
		return false
	}
	if rest, ok = cutAccount(rest); !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "role/"); !ok {
		return false
	}
	// (.+)$: at least one character, none of them a newline.
	return rest != "" && strings.IndexByte(rest, '\n') < 0
}

// cutPartition removes the prefix ^arn:aws(-[a-z0-9-]+)?: from s.
func cutPartition(s string) (string, bool) {
	rest, ok := strings.CutPrefix(s, "arn:aws")
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return "", false
	}
	if part := rest[:i]; part != "" && (len(part) < 2 || part[0] != '-' || !allLowerAlnumDash(part[1:])) {
		return "", false
	}
	return rest[i+1:], true
}

// cutAccount removes the prefix \d{12}: from s.
func cutAccount(s string) (string, bool) {
	if len(s) < 13 || s[12] != ':' {
		return "", false
	}
	for i := range 12 {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s[13:], true
}

// allLowerAlnumDash reports whether s matches ^[a-z0-9-]*$.
func allLowerAlnumDash(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// isUUID reports whether s matches
//
//	^[a-f0-9]{8}-([a-z0-9]{4}-){3}[a-z0-9]{12}$
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case i < 8:
			if !('a' <= c && c <= 'f' || '0' <= c && c <= '9') {
				return false
			}
		default:
			if !isLowerAlnum(c) {
				return false
			}
		}
	}
	return true
}

// validRoleSessionName reports whether s matches ^[\w+=,.@-]{2,64}$.
func validRoleSessionName(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			return false
		}
	}
	return true
}

// parseSimple decodes body into b when body is a simple CreateSession body:
// one JSON object whose members are only durationSeconds (an integer or
// null), roleSessionName, sessionName, profileArn, roleArn and
// trustAnchorArn (strings of printable ASCII without escapes, or null),
// surrounded by nothing but JSON whitespace. It reports false, leaving b in
// an unspecified state, for anything else; the caller then decodes with
// encoding/json, which gives the same result for simple bodies and the
// errors for bad ones.
func (b *requestBody) parseSimple(body []byte) bool {
	// One copy of the body backs every member string.
	p := simpleParser{s: string(body)}
	p.ws()
	if !p.byte('{') {
		return false
	}
	p.ws()
	if p.byte('}') {
		p.ws()
		return p.i == len(p.s)
	}
	for {
		key, ok := p.str()
		if !ok {
			return false
		}
		p.ws()
		if !p.byte(':') {
			return false
		}
		p.ws()
		switch key {
		case "durationSeconds":
			if p.null() {
				b.DurationSeconds = nil
			} else if n, ok := p.integer(); ok {
				b.DurationSeconds = json.RawMessage(n)
			} else {
				return false
			}
		case "roleSessionName", "sessionName":
			var v *string
			if !p.null() {
				s, ok := p.str()
				if !ok {
					return false
				}
				v = &s
			}
			if key[0] == 'r' {
				b.RoleSessionName = v
			} else {
				b.SessionName = v
			}
		case "profileArn", "roleArn", "trustAnchorArn":
			if p.null() {
				continue // null leaves a string member unchanged
			}
			s, ok := p.str()
			if !ok {
				return false
			}
			switch key[0] {
			case 'p':
				b.ProfileARN = s
			case 'r':
				b.RoleARN = s
			default:
				b.TrustAnchorARN = s
			}
		default:
			return false
		}
		closed, ok := p.next()
		if !ok {
			return false
		}
		if closed {
			p.ws()
			return p.i == len(p.s)
		}
	}
}

// simpleParser reads the subset of JSON parseSimple accepts.
type simpleParser struct {
	s string
	i int
}

// ws skips JSON whitespace.
func (p *simpleParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c if it comes next.
func (p *simpleParser) byte(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// null consumes the literal null if it comes next.
func (p *simpleParser) null() bool {
	if strings.HasPrefix(p.s[p.i:], "null") {
		p.i += 4
		return true
	}
	return false
}

// str consumes a string of printable ASCII without escapes and returns its
// contents.
func (p *simpleParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		if c == '"' {
			p.i++
			return p.s[start : p.i-1], true
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
	}
	return "", false
}

// integer consumes a JSON number without fraction or exponent,
// -?(0|[1-9][0-9]*), and returns its text.
func (p *simpleParser) integer() (string, bool) {
	start := p.i
	p.byte('-')
	digits := p.i
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || n > 1 && p.s[digits] == '0' {
		return "", false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', ',', '}':
		default:
			return "", false // a fraction, an exponent or garbage
		}
	}
	return p.s[start:p.i], true
}

// next consumes the separator after a member: ',' (then ok only when the
// next key's opening quote follows) or '}' (closed).
func (p *simpleParser) next() (closed, ok bool) {
	p.ws()
	if p.byte(',') {
		p.ws()
		return false, p.i < len(p.s) && p.s[p.i] == '"'
	}
	return true, p.byte('}')
}
