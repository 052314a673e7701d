package policy

import (
	"fmt"
	"strings"
)

// Principal is who makes a request, as matched against the Principal and
// NotPrincipal elements of resource-based and trust policies.
type Principal struct {
	// ARN is the caller's ARN: an IAM user, role, or assumed-role session
	// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION).
	ARN string
	// RoleARN is, for a role session, the ARN of the role (with its path).
	// A Principal naming the role matches every session of it.
	RoleARN string
	// Account is the caller's account id; a Principal naming the account
	// (or arn:aws:iam::ACCOUNT:root) matches every principal in it.
	Account string
	// ID is the caller's unique id (AIDA…, AROA…), matched by Principal
	// elements that still show the id of a deleted user or role.
	ID string
	// Service is an AWS service principal such as
	// rolesanywhere.amazonaws.com.
	Service string
	// Federated is the identity provider (SAML or OIDC provider ARN, or a
	// web identity provider name) for web-identity and SAML federation.
	Federated string
	// CanonicalUser is an S3 canonical user id.
	CanonicalUser string
}

// PrincipalFromARN returns the Principal for an IAM user, role or
// assumed-role session ARN, filling Account and, for a session, RoleARN
// (without a path, which the session ARN does not carry; set RoleARN
// yourself if the role has a path).
func PrincipalFromARN(arn string) Principal {
	p := Principal{ARN: arn}
	parts, ok := splitARN(arn)
	if !ok {
		return p
	}
	p.Account = parts[4]
	if parts[2] == "sts" && strings.HasPrefix(parts[5], "assumed-role/") {
		role, _, _ := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
		p.RoleARN = "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
	}
	return p
}

// ServicePrincipal returns the Principal of an AWS service.
func ServicePrincipal(name string) Principal { return Principal{Service: name} }

// String returns the most specific identifier of p.
func (p Principal) String() string {
	switch {
	case p.ARN != "":
		return p.ARN
	case p.Service != "":
		return p.Service
	case p.Federated != "":
		return p.Federated
	case p.CanonicalUser != "":
		return "CanonicalUser:" + p.CanonicalUser
	case p.Account != "":
		return "arn:aws:iam::" + p.Account + ":root"
	}
	return "anonymous"
}

// principalMatch says how a Principal element matched; resource-based and
// trust policies treat the cases differently.
type principalMatch uint8

const (
	pmNone    principalMatch = iota
	pmAccount                // the caller's account: authority delegated to its identity policies
	pmRole                   // the role of a session, a unique id, or a wildcard
	pmDirect                 // the caller itself: session, user, service, federated, canonical user
)

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	any       bool
	accounts  []string
	arns      []string
	ids       []string
	services  []string
	federated []string
	canonical []string
}

// addPrincipal validates and adds one value of the Principal element.
func (ps *principalSet) add(typ, v string) error {
	if v == "" {
		return fmt.Errorf("empty principal")
	}
	switch typ {
	case "AWS":
		switch {
		case v == "*":
			ps.any = true
		case isAccountID(v):
			ps.accounts = append(ps.accounts, v)
		case strings.HasPrefix(v, "arn:"):
			parts, ok := splitARN(v)
			if !ok {
				return fmt.Errorf("%q is not an ARN", v)
			}
			if strings.ContainsAny(v, "*?") {
				return fmt.Errorf("%q: wildcards are not allowed in a principal ARN (use a condition on aws:PrincipalArn)", v)
			}
			if parts[2] != "iam" && parts[2] != "sts" {
				return fmt.Errorf("%q: an AWS principal must be an IAM or STS ARN", v)
			}
			if !isAccountID(parts[4]) {
				return fmt.Errorf("%q: account %q is not a 12-digit account id", v, parts[4])
			}
			if parts[2] == "iam" && parts[5] == "root" {
				ps.accounts = append(ps.accounts, parts[4])
			} else {
				ps.arns = append(ps.arns, v)
			}
		case isUniqueID(v):
			ps.ids = append(ps.ids, v)
		default:
			return fmt.Errorf("%q is not an account id, IAM ARN, unique id or *", v)
		}
	case "Service":
		if v == "*" {
			ps.any = true
			return nil
		}
		if strings.ContainsAny(v, "*? :/") {
			return fmt.Errorf("%q is not a service principal (e.g. rolesanywhere.amazonaws.com)", v)
		}
		ps.services = append(ps.services, strings.ToLower(v))
	case "Federated":
		if strings.ContainsAny(v, "*?") {
			return fmt.Errorf("%q: wildcards are not allowed in a federated principal", v)
		}
		if strings.HasPrefix(v, "arn:") {
			if _, ok := splitARN(v); !ok {
				return fmt.Errorf("%q is not an ARN", v)
			}
		}
		ps.federated = append(ps.federated, v)
	case "CanonicalUser":
		if strings.ContainsAny(v, "*?") {
			return fmt.Errorf("%q: wildcards are not allowed in a canonical user id", v)
		}
		ps.canonical = append(ps.canonical, v)
	}
	return nil
}

// isUniqueID reports whether s looks like an IAM unique id (AIDA…, AROA…).
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || s[0] != 'A' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// match returns how p matches the element (pmNone if it does not).
func (ps *principalSet) match(p *Principal) principalMatch {
	best := pmNone
	if ps.any {
		best = pmRole
	}
	if p.ARN != "" || p.RoleARN != "" {
		for _, a := range ps.arns {
			if a == p.ARN {
				return pmDirect
			}
			if a == p.RoleARN {
				best = pmRole
			}
		}
	}
	if p.Service != "" {
		for _, s := range ps.services {
			if eq(p.Service, s, true) {
				return pmDirect
			}
		}
	}
	if p.Federated != "" {
		for _, f := range ps.federated {
			if f == p.Federated {
				return pmDirect
			}
		}
	}
	if p.CanonicalUser != "" {
		for _, c := range ps.canonical {
			if c == p.CanonicalUser {
				return pmDirect
			}
		}
	}
	if best < pmRole && p.ID != "" {
		for _, id := range ps.ids {
			if id == p.ID {
				best = pmRole
			}
		}
	}
	if best < pmAccount && p.Account != "" {
		for _, a := range ps.accounts {
			if a == p.Account {
				best = pmAccount
			}
		}
	}
	return best
}
