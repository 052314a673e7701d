package policy

import (
	"fmt"
	"strings"
	"testing"
)

// doc wraps statements in a 2012-10-17 policy document.
func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// allowCond is an identity policy allowing s3:GetObject on everything
// under the given Condition block (without braces).
func allowCond(cond string) string {
	return doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{` + cond + `}}`)
}

// ctxOf builds a Context from key, value pairs; a repeated key becomes
// multi-valued. A key followed by the value "<empty>" is set with no values.
func ctxOf(kv ...string) *Context {
	c := NewContext()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<empty>" {
			c.Set(kv[i])
			continue
		}
		c.Add(kv[i], kv[i+1])
	}
	return c
}

func mustParse(t testing.TB, kind Kind, name, src string) *Policy {
	t.Helper()
	p, err := Parse([]byte(src), ParseOptions{Kind: kind, Name: name})
	if err != nil {
		t.Fatalf("parse %s policy %s: %v\n%s", kind, name, err, src)
	}
	return p
}

func parseAll(t testing.TB, kind Kind, srcs []string) []*Policy {
	var out []*Policy
	for i, s := range srcs {
		out = append(out, mustParse(t, kind, fmt.Sprintf("%s%d", kind, i), s))
	}
	return out
}
