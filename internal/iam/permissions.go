package iam

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

// SessionPolicies names the session policies of a role session: the inline
// session policy document ("" for none) and managed policy ARNs.
type SessionPolicies struct {
	Inline     string
	PolicyARNs []string
}

// ErrUnknownRole reports a session whose role is not in the configuration
// (deleted since the session was minted): it gets no permissions.
var ErrUnknownRole = errors.New("role not found")

// Permissions compiles effective permissions from one configuration
// version: for a role, its inline and attached managed policies (identity)
// and permissions boundary; for a session, those plus its session policies.
// Compiled sets are cached per role and per distinct session policies, and
// a PolicySet is shared by every request with the same inputs. Safe for
// concurrent use; build a new Permissions for a new configuration version.
type Permissions struct {
	cfg     *store.Config
	account string
	roles   map[string]*store.Role // by ARN, lower-cased
	managed map[string]*store.Policy

	mu       sync.Mutex
	roleSets map[string]*roleSet
	sessions map[sessionKey]*policy.PolicySet
}

// MaxCachedSessionSets bounds the per-session-policy cache; when full it is
// emptied (sets are cheap to rebuild from the cached role parts).
const MaxCachedSessionSets = 4096

type roleSet struct {
	identity    []*policy.Policy
	boundary    []*policy.Policy
	hasBoundary bool
	tags        map[string]string
	noSession   *policy.PolicySet
	err         error
}

type sessionKey struct {
	role string
	sum  [32]byte
}

// NewPermissions indexes cfg. Policies are compiled lazily, on first use.
func NewPermissions(cfg *store.Config) *Permissions {
	p := &Permissions{
		cfg:      cfg,
		account:  cfg.Settings[store.SettingAccountID],
		roles:    map[string]*store.Role{},
		managed:  map[string]*store.Policy{},
		roleSets: map[string]*roleSet{},
		sessions: map[sessionKey]*policy.PolicySet{},
	}
	if p.account == "" {
		p.account = "000000000000"
	}
	for _, r := range cfg.Roles {
		p.roles[strings.ToLower(RoleARN(p.account, r.Path, r.Name))] = r
	}
	for _, m := range cfg.Policies {
		p.managed[m.ARN] = m
	}
	return p
}

// Version returns the configuration version the permissions were built from.
func (p *Permissions) Version() int64 { return p.cfg.Version }

// Role returns the role record with arn.
func (p *Permissions) Role(arn string) (*store.Role, bool) {
	r, ok := p.roles[strings.ToLower(arn)]
	return r, ok
}

// RoleTags returns the tags of the role with arn (nil if unknown).
func (p *Permissions) RoleTags(arn string) map[string]string {
	if r, ok := p.Role(arn); ok {
		return r.Tags
	}
	return nil
}

// ForRole returns the role's own permissions: identity policies and
// boundary, no session policies.
func (p *Permissions) ForRole(roleARN string) (*policy.PolicySet, error) {
	rs, err := p.role(roleARN)
	if err != nil {
		return nil, err
	}
	return rs.noSession, nil
}

// ForSession returns the effective permissions of a session of roleARN
// with session policies sp: identity ∩ boundary ∩ session policies, with
// explicit deny in any of them winning (see policy.PolicySet).
func (p *Permissions) ForSession(roleARN string, sp SessionPolicies) (*policy.PolicySet, error) {
	rs, err := p.role(roleARN)
	if err != nil {
		return nil, err
	}
	if sp.Inline == "" && len(sp.PolicyARNs) == 0 {
		return rs.noSession, nil
	}
	h := sha256.New()
	h.Write([]byte(sp.Inline))
	for _, a := range sp.PolicyARNs {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	k := sessionKey{role: strings.ToLower(roleARN)}
	h.Sum(k.sum[:0])
	p.mu.Lock()
	set, ok := p.sessions[k]
	p.mu.Unlock()
	if ok {
		return set, nil
	}
	set = &policy.PolicySet{Identity: rs.identity, Boundary: rs.boundary, HasBoundary: rs.hasBoundary, HasSession: true}
	if sp.Inline != "" {
		pol, err := policy.Parse([]byte(sp.Inline), policy.ParseOptions{Kind: policy.KindSession, Name: "session-policy", MaxSize: -1})
		if err != nil {
			return nil, fmt.Errorf("session policy: %w", err)
		}
		set.Session = append(set.Session, pol)
	}
	for _, a := range sp.PolicyARNs {
		m, ok := p.managed[a]
		if !ok {
			// A managed session policy that no longer exists allows
			// nothing; the session keeps its other session policies.
			continue
		}
		pol, err := policy.Parse([]byte(m.DefaultDocument()), policy.ParseOptions{Kind: policy.KindSession, Name: m.ARN, MaxSize: -1})
		if err != nil {
			return nil, fmt.Errorf("managed session policy %s: %w", m.ARN, err)
		}
		set.Session = append(set.Session, pol)
	}
	p.mu.Lock()
	if len(p.sessions) >= MaxCachedSessionSets {
		clear(p.sessions)
	}
	p.sessions[k] = set
	p.mu.Unlock()
	return set, nil
}

func (p *Permissions) role(roleARN string) (*roleSet, error) {
	key := strings.ToLower(roleARN)
	p.mu.Lock()
	rs, ok := p.roleSets[key]
	p.mu.Unlock()
	if ok {
		return rs, rs.err
	}
	rs = p.compileRole(key)
	p.mu.Lock()
	p.roleSets[key] = rs
	p.mu.Unlock()
	return rs, rs.err
}

func (p *Permissions) compileRole(key string) *roleSet {
	r, ok := p.roles[key]
	if !ok {
		return &roleSet{err: fmt.Errorf("%w: %s", ErrUnknownRole, key)}
	}
	rs := &roleSet{tags: r.Tags}
	names := make([]string, 0, len(r.InlinePolicies))
	for n := range r.InlinePolicies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		pol, err := policy.Parse([]byte(r.InlinePolicies[n]), policy.ParseOptions{Kind: policy.KindIdentity, Name: n, Inline: true, MaxSize: -1})
		if err != nil {
			rs.err = fmt.Errorf("role %s inline policy %s: %w", r.Name, n, err)
			return rs
		}
		rs.identity = append(rs.identity, pol)
	}
	for _, a := range r.AttachedPolicies {
		m, ok := p.managed[a]
		if !ok {
			rs.err = fmt.Errorf("role %s: attached policy %s: %w", r.Name, a, store.ErrNotFound)
			return rs
		}
		pol, err := policy.Parse([]byte(m.DefaultDocument()), policy.ParseOptions{Kind: policy.KindIdentity, Name: m.Name, MaxSize: -1})
		if err != nil {
			rs.err = fmt.Errorf("role %s: attached policy %s: %w", r.Name, a, err)
			return rs
		}
		rs.identity = append(rs.identity, pol)
	}
	if r.PermissionsBoundary != "" {
		rs.hasBoundary = true
		if m, ok := p.managed[r.PermissionsBoundary]; ok {
			pol, err := policy.Parse([]byte(m.DefaultDocument()), policy.ParseOptions{Kind: policy.KindBoundary, Name: m.Name, MaxSize: -1})
			if err != nil {
				rs.err = fmt.Errorf("role %s: permissions boundary %s: %w", r.Name, r.PermissionsBoundary, err)
				return rs
			}
			rs.boundary = []*policy.Policy{pol}
		}
		// A boundary that no longer exists allows nothing (fail closed).
	}
	rs.noSession = &policy.PolicySet{Identity: rs.identity, Boundary: rs.boundary, HasBoundary: rs.hasBoundary}
	return rs
}
