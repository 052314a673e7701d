package audit

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Document returns v as the JSON of an event's Before or After, with
// anything secret removed whatever the record's type: every object member
// whose name contains "secret", "password", "token" or "privatekey", or
// starts with "sealed", is replaced by "[redacted]"; CRL data is replaced by
// its size (it is public, but large). nil yields "".
func Document(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return ""
	}
	if doc == nil {
		return ""
	}
	b, err = json.Marshal(scrub(doc))
	if err != nil {
		return ""
	}
	return string(b)
}

func scrub(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			lk := strings.ToLower(k)
			switch {
			case strings.Contains(lk, "secret"), strings.Contains(lk, "password"), strings.Contains(lk, "token"),
				strings.Contains(lk, "privatekey"), strings.HasPrefix(lk, "sealed"):
				t[k] = "[redacted]"
			case lk == "crldata":
				if s, ok := x.(string); ok {
					t[k] = fmt.Sprintf("[%d bytes]", len(s))
				}
			default:
				t[k] = scrub(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = scrub(x)
		}
	}
	return v
}
