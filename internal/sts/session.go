package sts

import (
	"math/big"
	"strings"
	"time"
)

// Tag is one session tag. Order is preserved from minting to validation.
type Tag struct {
	Key   string
	Value string
	// Transitive tags persist into sessions chained from this one.
	Transitive bool
}

// Session is a validated set of temporary credentials: the principal and
// everything IAM policy evaluation and audit need about it. Validate returns
// a new Session per call; callers may keep it.
type Session struct {
	AccessKeyID string
	// SecretAccessKey is the secret the client signs with, for SigV4
	// verification. Never log it.
	SecretAccessKey string

	Account     string // the role's account
	RoleARN     string // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
	RoleID      string // AROA…
	RoleName    string // last element of RoleARN, without path
	SessionName string

	SourceIdentity string // "" if none
	Tags           []Tag
	// SessionPolicy is the inline session policy document, compacted JSON,
	// or "" if none.
	SessionPolicy string
	// PolicyARNs are the managed session policies, by reference.
	PolicyARNs []string

	IssuedAt   time.Time // millisecond precision, UTC
	Expiration time.Time // second precision, UTC
	Chained    bool      // minted by role chaining

	// For audit: how the session was obtained.
	TrustAnchorARN string
	ProfileARN     string
	// KeyID names the keyring key that sealed the token.
	KeyID string

	partition     string
	certSerial    string // big-endian magnitude
	certSerialNeg bool
}

// CertSerial returns the serial number of the certificate the session was
// issued for, or nil if none was recorded.
func (s *Session) CertSerial() *big.Int {
	if s.certSerial == "" {
		return nil
	}
	n := new(big.Int).SetBytes([]byte(s.certSerial))
	if s.certSerialNeg {
		n.Neg(n)
	}
	return n
}

// AssumedRoleARN is the session's principal ARN as GetCallerIdentity returns
// it: arn:aws:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION-NAME. The role's
// path is not part of it.
func (s *Session) AssumedRoleARN() string {
	return "arn:" + s.partition + ":sts::" + s.Account + ":assumed-role/" + s.RoleName + "/" + s.SessionName
}

// UserID is the session's unique id, ROLE-ID:SESSION-NAME: the aws:userid
// condition value and GetCallerIdentity's UserId.
func (s *Session) UserID() string {
	return s.RoleID + ":" + s.SessionName
}

// Condition keys ConditionValues sets.
const (
	KeyUserID           = "aws:userid"
	KeyPrincipalARN     = "aws:PrincipalArn"
	KeyPrincipalAccount = "aws:PrincipalAccount"
	KeyPrincipalType    = "aws:PrincipalType"
	KeyTokenIssueTime   = "aws:TokenIssueTime"
	KeySourceIdentity   = "aws:SourceIdentity"
	KeyPrincipalTagPfx  = "aws:PrincipalTag/"
)

// ConditionValues returns the IAM policy condition context values that
// describe this session as a principal: aws:userid, aws:PrincipalArn (the
// role ARN, not the session ARN), aws:PrincipalAccount, aws:PrincipalType
// (AssumedRole), aws:TokenIssueTime (RFC 3339, seconds), aws:SourceIdentity
// when set, and aws:PrincipalTag/KEY for every tag.
//
// roleTags are the role's own tags, from the caller's snapshot; as in AWS,
// they contribute aws:PrincipalTag values, and a session tag overrides a role
// tag with the same key (keys compare case-insensitively). Request-dependent
// keys (aws:SecureTransport, aws:SourceIp, aws:CurrentTime, …) are the
// caller's to add. Keys are spelled as AWS documents them; the policy engine
// matches them case-insensitively.
func (s *Session) ConditionValues(roleTags []Tag) map[string][]string {
	m := make(map[string][]string, 6+len(s.Tags)+len(roleTags))
	m[KeyUserID] = []string{s.UserID()}
	m[KeyPrincipalARN] = []string{s.RoleARN}
	m[KeyPrincipalAccount] = []string{s.Account}
	m[KeyPrincipalType] = []string{"AssumedRole"}
	m[KeyTokenIssueTime] = []string{s.IssuedAt.UTC().Format(time.RFC3339)}
	if s.SourceIdentity != "" {
		m[KeySourceIdentity] = []string{s.SourceIdentity}
	}
outer:
	for _, rt := range roleTags {
		for _, st := range s.Tags {
			if strings.EqualFold(rt.Key, st.Key) {
				continue outer
			}
		}
		m[KeyPrincipalTagPfx+rt.Key] = []string{rt.Value}
	}
	for _, t := range s.Tags {
		m[KeyPrincipalTagPfx+t.Key] = []string{t.Value}
	}
	return m
}

// parseRoleARN splits arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME. It does not
// allocate.
func parseRoleARN(arn string) (partition, account, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", "", "", false
	}
	partition, rest, ok = strings.Cut(rest, ":")
	if !ok || partition == "" {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest, "iam::")
	if !ok {
		return "", "", "", false
	}
	account, rest, ok = strings.Cut(rest, ":")
	if !ok || account == "" || strings.Contains(account, "/") {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest, "role/")
	if !ok {
		return "", "", "", false
	}
	name = rest[strings.LastIndexByte(rest, '/')+1:]
	if name == "" || strings.Contains(name, ":") {
		return "", "", "", false
	}
	return partition, account, name, true
}
