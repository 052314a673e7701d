package policy

import (
	"fmt"
	"strings"
)

// Kind is the type of a policy document. It decides which elements a
// statement may or must have, which size limit applies, and where the policy
// sits in a [PolicySet].
type Kind uint8

// The policy kinds known to the validator.
const (
	// KindIdentity is an identity-based policy (inline or managed) attached
	// to a role or user. Statements have no Principal.
	KindIdentity Kind = iota + 1
	// KindTrust is a role trust policy: a resource-based policy on a role
	// whose statements must name a Principal and have no Resource.
	KindTrust
	// KindResource is a resource-based policy (for example a bucket
	// policy). Statements name a Principal or NotPrincipal and a Resource.
	KindResource
	// KindSession is a session policy passed when a role session is
	// created. Statements have no Principal.
	KindSession
	// KindBoundary is a permissions boundary. Statements have no Principal.
	KindBoundary
)

var kindNames = [...]string{
	KindIdentity: "identity",
	KindTrust:    "trust",
	KindResource: "resource",
	KindSession:  "session",
	KindBoundary: "boundary",
}

// String returns the kind's name as accepted by [ParseKind].
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// describe returns a phrase naming the policy type in explanations.
func (k Kind) describe() string {
	switch k {
	case KindIdentity:
		return "identity-based policy"
	case KindTrust:
		return "role trust policy"
	case KindResource:
		return "resource-based policy"
	case KindSession:
		return "session policy"
	case KindBoundary:
		return "permissions boundary"
	}
	return k.String()
}

// ParseKind returns the Kind named s: identity, trust, resource, session or
// boundary (case-insensitive; "permissions-boundary" is accepted too).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "identity":
		return KindIdentity, nil
	case "trust":
		return KindTrust, nil
	case "resource":
		return KindResource, nil
	case "session":
		return KindSession, nil
	case "boundary", "permissions-boundary":
		return KindBoundary, nil
	}
	return 0, fmt.Errorf("unknown policy kind %q (want identity, trust, resource, session or boundary)", s)
}

// Effect is the Effect element of a statement.
type Effect uint8

// Statement effects.
const (
	EffectAllow Effect = iota + 1
	EffectDeny
)

// String returns "Allow" or "Deny".
func (e Effect) String() string {
	switch e {
	case EffectAllow:
		return "Allow"
	case EffectDeny:
		return "Deny"
	}
	return fmt.Sprintf("Effect(%d)", uint8(e))
}

// Policy language versions.
const (
	// Version2012 is the current policy language; policy variables work
	// only in documents of this version.
	Version2012 = "2012-10-17"
	// Version2008 is the older language; "${...}" is literal text. A
	// document without a Version element has the 2008 semantics.
	Version2008 = "2008-10-17"
)

// ParseOptions tell [Parse] what kind of policy a document is.
type ParseOptions struct {
	// Kind is the policy type; zero means KindIdentity.
	Kind Kind
	// Name identifies the policy in explanations, e.g. a policy name or
	// file name.
	Name string
	// Inline marks an identity-based policy as inline (10,240-character
	// limit) rather than managed (6,144 characters).
	Inline bool
	// MaxSize overrides the size limit in characters: 0 keeps the default
	// for the kind, a negative value disables the check. For trust
	// policies it may be raised up to 4,096 (the IAM maximum quota).
	MaxSize int
}

// Policy is a parsed, validated and compiled policy document. It is
// immutable and safe for concurrent use.
type Policy struct {
	name    string
	kind    Kind
	version string
	id      string
	stmts   []*statement
}

// Name returns the name given in ParseOptions.
func (p *Policy) Name() string { return p.name }

// Kind returns the policy's kind.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the Version element ("" when absent).
func (p *Policy) Version() string { return p.version }

// ID returns the Id element.
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// label is how explanations name the policy.
func (p *Policy) label() string {
	if p.name != "" {
		return p.name
	}
	if p.id != "" {
		return p.id
	}
	return "(unnamed)"
}
