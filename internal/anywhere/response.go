package anywhere

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends r encoded as JSON to dst and returns the result: the
// bytes json.Marshal(r) gives (same member order, same escaping, including
// of <, > and &), without reflection. Use it to write CreateSession's 201
// body.
func (r *Response) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"credentialSet":`...)
	if r.CredentialSet == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range r.CredentialSet {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = r.CredentialSet[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"subjectArn":`...)
	dst = appendJSONString(dst, r.SubjectARN)
	return append(dst, '}')
}

// JSONSizeHint returns about how many bytes AppendJSON appends, to size its
// buffer.
func (r *Response) JSONSizeHint() int {
	n := 64 + len(r.SubjectARN)
	for i := range r.CredentialSet {
		c := &r.CredentialSet[i]
		n += 256 + len(c.AssumedRoleUser.ARN) + len(c.AssumedRoleUser.AssumedRoleID) + len(c.Credentials.AccessKeyID) +
			len(c.Credentials.Expiration) + len(c.Credentials.SecretAccessKey) + len(c.Credentials.SessionToken) +
			len(c.RoleARN) + len(c.SourceIdentity)
	}
	return n
}

func (c *CredentialSetItem) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"assumedRoleUser":{"arn":`...)
	dst = appendJSONString(dst, c.AssumedRoleUser.ARN)
	dst = append(dst, `,"assumedRoleId":`...)
	dst = appendJSONString(dst, c.AssumedRoleUser.AssumedRoleID)
	dst = append(dst, `},"credentials":{"accessKeyId":`...)
	dst = appendJSONString(dst, c.Credentials.AccessKeyID)
	dst = append(dst, `,"expiration":`...)
	dst = appendJSONString(dst, c.Credentials.Expiration)
	dst = append(dst, `,"secretAccessKey":`...)
	dst = appendJSONString(dst, c.Credentials.SecretAccessKey)
	dst = append(dst, `,"sessionToken":`...)
	dst = appendJSONString(dst, c.Credentials.SessionToken)
	dst = append(dst, `},"packedPolicySize":`...)
	dst = strconv.AppendInt(dst, int64(c.PackedPolicySize), 10)
	dst = append(dst, `,"roleArn":`...)
	dst = appendJSONString(dst, c.RoleARN)
	dst = append(dst, `,"sourceIdentity":`...)
	dst = appendJSONString(dst, c.SourceIdentity)
	return append(dst, '}')
}

// jsonSafe marks the ASCII bytes appendJSONString copies as they are: all
// but control characters, ", \, <, > and &. Read-only.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return t
}()

// appendJSONString appends s as a JSON string escaped the way json.Marshal
// escapes it: ", \ and control characters, <, > and & (as \u003c etc.),
// U+2028 and U+2029, and invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
