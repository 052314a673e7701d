package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is one problem found in a policy document.
type Error struct {
	// Path is the JSON path of the offending element, for example
	// "Statement[2].Condition.StringEquals.aws:username". It is empty for
	// problems with the document as a whole (syntax, size).
	Path string
	// Msg states the rule that was broken.
	Msg string
}

// Error returns "Path: Msg", or Msg alone for the whole document.
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// ErrorList is the error [Parse] returns for an invalid document: every
// problem found, in document order.
type ErrorList []*Error

// Error joins the problems into one line.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems: ", len(l))
	for i, e := range l {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// errs collects validation errors while a document is parsed.
type errs struct{ list ErrorList }

func (e *errs) add(path, format string, args ...any) {
	e.list = append(e.list, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Size limits in characters (IAMUG reference_iam-quotas.md; BOTO-STS).
const (
	// TrustPolicyDefaultSize is the default role trust policy quota.
	TrustPolicyDefaultSize = 2048
	// TrustPolicyMaxSize is the highest the trust policy quota can be raised.
	TrustPolicyMaxSize = 4096
	// ManagedPolicySize limits managed policies (and permissions boundaries).
	ManagedPolicySize = 6144
	// InlinePolicySize limits a role's inline policies.
	InlinePolicySize = 10240
	// SessionPolicySize limits an inline session policy (STS counts every
	// character, whitespace included).
	SessionPolicySize = 2048
)

// checkSize enforces the size quota of the policy kind.
func checkSize(doc []byte, opts ParseOptions, e *errs) {
	limit := 0
	countSpace := false
	what := ""
	switch opts.Kind {
	case KindTrust:
		limit, what = TrustPolicyDefaultSize, "role trust policy"
		if opts.MaxSize > TrustPolicyMaxSize {
			e.add("", "size limit %d is above the trust policy maximum of %d", opts.MaxSize, TrustPolicyMaxSize)
			return
		}
	case KindIdentity:
		limit, what = ManagedPolicySize, "managed policy"
		if opts.Inline {
			limit, what = InlinePolicySize, "inline policy"
		}
	case KindBoundary:
		limit, what = ManagedPolicySize, "managed policy"
	case KindSession:
		limit, what, countSpace = SessionPolicySize, "session policy", true
	case KindResource:
		what = "resource-based policy"
	}
	if opts.MaxSize != 0 {
		limit = opts.MaxSize
	}
	if limit <= 0 {
		return
	}
	n := 0
	for _, r := range string(doc) {
		if countSpace || !unicode.IsSpace(r) {
			n++
		}
	}
	if n > limit {
		if countSpace {
			e.add("", "policy is %d characters, over the %s limit of %d", n, what, limit)
		} else {
			e.add("", "policy is %d characters (whitespace not counted), over the %s limit of %d", n, what, limit)
		}
	}
}

// validSid reports whether s is a Sid IAM accepts: ASCII letters and digits
// (IAMUG reference_policies_elements_sid.md). Resource-based policies of
// other services accept more, so the check is skipped for KindResource.
func validSid(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// splitARN splits an ARN into its six colon-separated components; the last
// one (the resource) keeps any further colons. ok is false if s is not an
// ARN.
func splitARN(s string) (parts [6]string, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return parts, false
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return parts, false
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	parts[5] = rest
	return parts, true
}

// checkARNPattern validates an ARN used as a Resource or Arn* condition
// value. Wildcards are allowed in every component but the service; policy
// variables only in the resource component.
func checkARNPattern(s string, vars bool) error {
	parts, ok := splitARN(s)
	if !ok {
		return fmt.Errorf("%q is not an ARN (want arn:partition:service:region:account:resource)", s)
	}
	if parts[2] == "" {
		return fmt.Errorf("%q has an empty service", s)
	}
	if strings.ContainsAny(parts[2], "*?") {
		return fmt.Errorf("%q: wildcards are not allowed in the service of an ARN", s)
	}
	if vars {
		for i := 0; i < 5; i++ {
			if strings.Contains(parts[i], "${") {
				return fmt.Errorf("%q: policy variables are allowed only in the resource part of an ARN", s)
			}
		}
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("ARN is not valid UTF-8")
	}
	return nil
}

// isAccountID reports whether s is a 12-digit AWS account id.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkAction validates an Action or NotAction value: "*" or
// "service:action", wildcards allowed in the action name only.
func checkAction(s string) error {
	if s == "*" {
		return nil
	}
	svc, name, ok := strings.Cut(s, ":")
	if !ok || svc == "" || name == "" {
		return fmt.Errorf("%q is not an action (want service:action or *)", s)
	}
	for i := 0; i < len(svc); i++ {
		c := svc[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("%q: invalid service prefix %q", s, svc)
		}
	}
	if strings.Contains(name, ":") {
		return fmt.Errorf("%q: action name contains ':'", s)
	}
	return nil
}
