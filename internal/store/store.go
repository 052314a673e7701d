package store

import (
	"context"
	"errors"
)

// Sentinel errors. Implementations wrap them with context
// (fmt.Errorf("create profile %q: %w", name, ErrConflict)); test with errors.Is.
var (
	// ErrNotFound: the named record, or a record it refers to, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the name or id is already taken, or the operation would break
	// a relationship (deleting an attached policy, a role that still has
	// policies, the default policy version, a user that still has keys).
	ErrConflict = errors.New("conflict")
	// ErrLimitExceeded: the operation would exceed one of the hard limits below.
	ErrLimitExceeded = errors.New("limit exceeded")
	// ErrInvalidToken: a pagination token this store did not issue.
	ErrInvalidToken = errors.New("invalid pagination token")
	// ErrInvalid: the record breaks a store invariant (an immutable field was
	// changed, a required field is empty).
	ErrInvalid = errors.New("invalid record")
)

// Hard limits the store enforces itself, because only the store can check
// them atomically. Adjustable quotas (trust anchors per account, the default of
// 10 managed policies per role, ...) are the callers' business.
const (
	MaxTagsPerResource         = 50 // per trust anchor, profile, CRL, role, policy, user
	MaxCRLsPerTrustAnchor      = 2  // Roles Anywhere quota, not adjustable
	MaxPolicyVersions          = 5  // per managed policy, IAM quota
	MaxAttachedPoliciesPerRole = 20 // IAM hard maximum (the default quota of 10 is the caller's)
	MaxAttachedPoliciesPerUser = 20 // likewise
	MaxAccessKeysPerUser       = 2  // IAM quota

	// DefaultPageSize is used when ListOptions.MaxResults is zero or negative;
	// MaxPageSize caps larger requests.
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Well-known setting keys.
const (
	SettingAccountID = "account_id"
	SettingRegion    = "region"
)

// ListOptions selects one page of a List call.
type ListOptions struct {
	// MaxResults is the page size; <= 0 means DefaultPageSize, values above
	// MaxPageSize are capped.
	MaxResults int
	// NextToken is the opaque token a previous page returned; "" starts at the
	// beginning.
	NextToken string
}

// Store is roam's persistent state. Every method is safe for concurrent use.
// Every mutation of configuration (everything but subjects) runs in one
// transaction that also bumps the config version, so a failed mutation changes
// nothing and a successful one is visible to ConfigVersion and LoadConfig at
// once.
//
// Update methods take a function that receives the current record inside the
// write transaction and edits it in place; the store then writes every mutable
// field back (including Tags). The function must be quick and must not call the
// Store; if it returns an error nothing is written and the error is returned
// wrapped.
type Store interface {
	// Settings: a small key/value table (SettingAccountID, SettingRegion, ...).
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
	Settings(ctx context.Context) (map[string]string, error)

	// ConfigVersion returns the config version, bumped by every config mutation.
	ConfigVersion(ctx context.Context) (int64, error)
	// LoadConfig reads everything the hot path needs in one consistent read
	// transaction.
	LoadConfig(ctx context.Context) (*Config, error)

	// Trust anchors. Names are unique. Deleting an anchor deletes its CRLs.
	CreateTrustAnchor(ctx context.Context, a *TrustAnchor) (*TrustAnchor, error)
	GetTrustAnchor(ctx context.Context, id string) (*TrustAnchor, error)
	GetTrustAnchorByName(ctx context.Context, name string) (*TrustAnchor, error)
	ListTrustAnchors(ctx context.Context, opts ListOptions) ([]*TrustAnchor, string, error)
	UpdateTrustAnchor(ctx context.Context, id string, fn func(*TrustAnchor) error) (*TrustAnchor, error)
	DeleteTrustAnchor(ctx context.Context, id string) (*TrustAnchor, error)
	// UpsertTrustAnchorByName creates a, or replaces every mutable field of the
	// anchor with a's name (keeping its id and creation time).
	UpsertTrustAnchorByName(ctx context.Context, a *TrustAnchor) (*TrustAnchor, error)

	// CRLs. Names are unique; at most MaxCRLsPerTrustAnchor per anchor.
	CreateCRL(ctx context.Context, c *CRL) (*CRL, error)
	GetCRL(ctx context.Context, id string) (*CRL, error)
	GetCRLByName(ctx context.Context, name string) (*CRL, error)
	ListCRLs(ctx context.Context, opts ListOptions) ([]*CRL, string, error)
	UpdateCRL(ctx context.Context, id string, fn func(*CRL) error) (*CRL, error)
	DeleteCRL(ctx context.Context, id string) (*CRL, error)
	UpsertCRLByName(ctx context.Context, c *CRL) (*CRL, error)

	// Profiles. Names are unique.
	CreateProfile(ctx context.Context, p *Profile) (*Profile, error)
	GetProfile(ctx context.Context, id string) (*Profile, error)
	GetProfileByName(ctx context.Context, name string) (*Profile, error)
	ListProfiles(ctx context.Context, opts ListOptions) ([]*Profile, string, error)
	UpdateProfile(ctx context.Context, id string, fn func(*Profile) error) (*Profile, error)
	DeleteProfile(ctx context.Context, id string) (*Profile, error)
	UpsertProfileByName(ctx context.Context, p *Profile) (*Profile, error)

	// Subjects are not configuration: writing them does not bump the config
	// version. UpsertSubjects records a batch of sightings in one transaction.
	UpsertSubjects(ctx context.Context, sightings []SubjectSighting) error
	GetSubject(ctx context.Context, id string) (*Subject, error)
	ListSubjects(ctx context.Context, opts ListOptions) ([]*Subject, string, error)

	// Roles, addressed by name (unique, case-insensitively, as in IAM).
	// DeleteRole fails with ErrConflict while the role has inline or attached
	// policies.
	CreateRole(ctx context.Context, r *Role) (*Role, error)
	GetRole(ctx context.Context, name string) (*Role, error)
	ListRoles(ctx context.Context, opts ListOptions) ([]*Role, string, error)
	UpdateRole(ctx context.Context, name string, fn func(*Role) error) (*Role, error)
	DeleteRole(ctx context.Context, name string) (*Role, error)
	UpsertRole(ctx context.Context, r *Role) (*Role, error)

	// Managed policies, addressed by ARN. CreatePolicy makes version v1 the
	// default. The store enforces MaxPolicyVersions; DeletePolicy fails with
	// ErrConflict while the policy is attached.
	CreatePolicy(ctx context.Context, p *Policy, document string) (*Policy, error)
	GetPolicy(ctx context.Context, arn string) (*Policy, error)
	GetPolicyByName(ctx context.Context, name string) (*Policy, error)
	ListPolicies(ctx context.Context, opts ListOptions) ([]*Policy, string, error)
	DeletePolicy(ctx context.Context, arn string) (*Policy, error)
	CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool) (*PolicyVersion, error)
	DeletePolicyVersion(ctx context.Context, arn, versionID string) error
	SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error
	// UpsertPolicy creates the policy with p's name, or, if its default
	// version's document differs from document, adds document as a new default
	// version, first deleting the oldest non-default version when the policy
	// already has MaxPolicyVersions.
	UpsertPolicy(ctx context.Context, p *Policy, document string) (*Policy, error)

	// Admin users (case-insensitively unique names) and their long-term access
	// keys. DeleteUser fails with ErrConflict while the user has access keys or
	// policies.
	CreateUser(ctx context.Context, u *User) (*User, error)
	GetUser(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context, opts ListOptions) ([]*User, string, error)
	UpdateUser(ctx context.Context, name string, fn func(*User) error) (*User, error)
	DeleteUser(ctx context.Context, name string) (*User, error)
	CreateAccessKey(ctx context.Context, k *AccessKey) (*AccessKey, error)
	GetAccessKey(ctx context.Context, id string) (*AccessKey, error)
	ListAccessKeys(ctx context.Context, userName string) ([]*AccessKey, error)
	SetAccessKeyStatus(ctx context.Context, id, status string) (*AccessKey, error)
	DeleteAccessKey(ctx context.Context, id string) error

	// The credential keyring. Key changes bump the config version so every
	// replica reloads it. PutKey inserts or replaces by ID.
	ListKeys(ctx context.Context) ([]KeyRecord, error)
	PutKey(ctx context.Context, k KeyRecord) error
	DeleteKey(ctx context.Context, id string) error

	// Tags on any taggable resource. TagResource adds or overwrites keys;
	// UntagResource ignores keys that are not set.
	TagResource(ctx context.Context, ref ResourceRef, tags map[string]string) error
	UntagResource(ctx context.Context, ref ResourceRef, keys []string) error
	ListTags(ctx context.Context, ref ResourceRef) (map[string]string, error)

	// Audit events are not configuration: writing them does not bump the
	// config version. AppendAudit stores a batch in one transaction, skipping
	// events whose ID is already stored (CheckAuditEvent must pass for
	// each). ListAudit returns one page of the events q selects, oldest
	// first, and the token of the next page ("" after the last).
	AppendAudit(ctx context.Context, events []AuditEvent) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, string, error)

	// Close releases the store's resources.
	Close() error
}
