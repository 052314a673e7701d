package iam

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// UserARN returns the ARN of the user name with path in account.
func UserARN(account, path, name string) string {
	return "arn:" + Partition + ":iam::" + account + ":user" + normPath(path) + name
}

// IAM entity limits (IAMUG reference_iam-quotas.md).
const (
	MaxUserNameLen          = 64
	MaxPolicyNameLen        = 128
	MaxDescriptionLen       = 1000
	MinMaxSessionDuration   = 3600
	MaxMaxSessionDuration   = 43200
	DefaultMaxSessionSecs   = 3600
	MaxRoleInlinePolicySize = 10240 // aggregate, whitespace not counted
	MaxManagedPolicySize    = 6144  // whitespace not counted
	DefaultPoliciesPerRole  = 10    // attached managed policies per role (default quota)
	DefaultPoliciesPerUser  = 10
	MaxTagKeyLen            = 128
	MaxTagValueLen          = 256
)

// Compiled on first use (sync.OnceValue): most commands never validate
// these, and compiling them at start-up cost every invocation.
var (
	entityNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]+$`) })
	tagKeyRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`) })
	tagValueRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`) })
	// descriptionRE is IAM's pattern for role and policy descriptions.
	descriptionRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{00A1}-\x{00FF}]*$`)
	})
)

// ValidateUserName reports whether name is a valid IAM user name.
func ValidateUserName(name string) error {
	if len(name) < 1 || len(name) > MaxUserNameLen || !entityNameRE().MatchString(name) {
		return fmt.Errorf("user name %q: must be 1-64 characters of letters, digits and +=,.@_-", name)
	}
	return nil
}

// ValidatePolicyName reports whether name is a valid IAM policy name (inline
// or managed).
func ValidatePolicyName(name string) error {
	if len(name) < 1 || len(name) > MaxPolicyNameLen || !entityNameRE().MatchString(name) {
		return fmt.Errorf("policy name %q: must be 1-128 characters of letters, digits and +=,.@_-", name)
	}
	return nil
}

// ValidateDescription reports whether d is a valid role or policy
// description.
func ValidateDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescriptionLen || !descriptionRE().MatchString(d) {
		return fmt.Errorf("description: must be at most %d printable characters", MaxDescriptionLen)
	}
	return nil
}

// ValidateTag reports whether key and value form a valid IAM tag.
func ValidateTag(key, value string) error {
	if n := utf8.RuneCountInString(key); n < 1 || n > MaxTagKeyLen || !tagKeyRE().MatchString(key) {
		return fmt.Errorf("tag key %q: must be 1-%d characters of letters, digits, spaces and _.:/=+-@", key, MaxTagKeyLen)
	}
	if strings.HasPrefix(strings.ToLower(key), "aws:") {
		return fmt.Errorf("tag key %q: the aws: prefix is reserved", key)
	}
	if utf8.RuneCountInString(value) > MaxTagValueLen || !tagValueRE().MatchString(value) {
		return fmt.Errorf("tag value for %q: must be at most %d characters of letters, digits, spaces and _.:/=+-@", key, MaxTagValueLen)
	}
	return nil
}

// PolicySize returns the size of a policy document as IAM counts it against
// its quotas: characters, whitespace outside strings not counted.
func PolicySize(doc string) int {
	n := 0
	inString, escaped := false, false
	for _, r := range doc {
		switch {
		case inString:
			n++
			if escaped {
				escaped = false
			} else if r == '\\' {
				escaped = true
			} else if r == '"' {
				inString = false
			}
		case r == '"':
			inString = true
			n++
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		default:
			n++
		}
	}
	return n
}

// PolicyNameFromARN returns the name and path of a managed policy ARN
// (arn:aws:iam::ACCOUNT:policy/PATH/NAME).
func PolicyNameFromARN(arn string) (name, path string, ok bool) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", "", false
	}
	_, rest, found := strings.Cut(arn, ":policy/")
	if !found || rest == "" {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if rest[i+1:] == "" {
		return "", "", false
	}
	return rest[i+1:], "/" + rest[:i+1], true
}
