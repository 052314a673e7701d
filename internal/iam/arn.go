// Package iam holds roam's IAM entities: roles, managed policies, admin users
// and their access keys, and the effective permissions of a principal.
package iam

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Partition is the ARN partition roam uses, so AWS tools parse its ARNs.
const Partition = "aws"

// RoleARN returns the ARN of the role name with path in account.
func RoleARN(account, path, name string) string {
	return "arn:" + Partition + ":iam::" + account + ":role" + normPath(path) + name
}

// PolicyARN returns the ARN of the managed policy name with path in account.
func PolicyARN(account, path, name string) string {
	return "arn:" + Partition + ":iam::" + account + ":policy" + normPath(path) + name
}

func normPath(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

// Compiled on first use (sync.OnceValue): most commands never validate
// these, and compiling them at start-up cost every invocation.
var (
	roleNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })
	pathRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/([\x21-\x7E]*/)?$`) })
)

// ValidateRoleName reports whether name is a valid IAM role name.
func ValidateRoleName(name string) error {
	if !roleNameRE().MatchString(name) {
		return fmt.Errorf("role name %q: must be 1-64 characters of letters, digits and +=,.@_-", name)
	}
	return nil
}

// ValidatePath reports whether path is a valid IAM path.
func ValidatePath(path string) error {
	if path == "" {
		return nil
	}
	if len(path) > 512 || !pathRE().MatchString(path) {
		return fmt.Errorf("path %q: must begin and end with / and be at most 512 printable characters", path)
	}
	return nil
}

// RoleNameFromARN returns the role name (last path segment) and path of a role ARN.
func RoleNameFromARN(arn string) (name, path string, ok bool) {
	_, rest, found := strings.Cut(arn, ":role/")
	if !found || rest == "" {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	return rest[i+1:], "/" + rest[:i+1], true
}
