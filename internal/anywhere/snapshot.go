package anywhere

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

// Snapshot is an immutable, compiled view of the configuration CreateSession
// reads: trust anchors with their parsed certificates and revoked serials,
// profiles, and roles with compiled trust policies. The hot path reads only a
// snapshot, never the store. A new configuration version gets a new snapshot
// (and with it an empty chain cache).
type Snapshot struct {
	Version int64
	Account string
	Region  string

	anchors  map[string]*anchor        // by trust anchor id
	profiles map[string]*profile       // by profile id
	roles    map[string]*role          // by role ARN
	managed  map[string]*policy.Policy // managed policies by ARN (default version)
	cutoffs  map[string]time.Time      // revocation cutoffs by role ARN

	// Problems lists configuration entries that could not be compiled; the
	// entries are left out, so requests that name them fail closed.
	Problems []string

	chains chainCache
}

type anchor struct {
	rec   *store.TrustAnchor
	arn   string
	certs []*x509.Certificate
	roots *x509.CertPool
	// revoked holds issuer-qualified serials from the anchor's enabled CRLs.
	revoked map[revokedKey]struct{}
}

type revokedKey struct {
	issuer string // raw issuer DN
	serial string // decimal serial
}

type profile struct {
	rec   *store.Profile
	arn   string
	roles map[string]bool
}

type role struct {
	rec   *store.Role
	arn   string
	trust *policy.Policy
	info  *RoleInfo
	// trustPerRequest is set when the trust policy reads a condition key
	// that differs between requests with the same certificate (see
	// requestTrustKeys); otherwise CreateSession caches its decisions.
	trustPerRequest bool
}

// RoleInfo is a role as STS and policy evaluation need it: the record, the
// compiled trust policy, and the compiled identity-based policies (inline and
// attached managed) and permissions boundary.
type RoleInfo struct {
	Record *store.Role
	ARN    string
	Trust  *policy.Policy
	// Identity holds the inline and attached managed policies.
	Identity []*policy.Policy
	// Boundary is the permissions boundary, nil if the role has none.
	Boundary *policy.Policy
}

// NewSnapshot compiles cfg. Entries that do not compile are left out and
// listed in Problems; NewSnapshot itself fails only on nothing.
func NewSnapshot(cfg *store.Config) *Snapshot {
	s := &Snapshot{
		Version:  cfg.Version,
		Account:  cfg.Settings[store.SettingAccountID],
		Region:   cfg.Settings[store.SettingRegion],
		anchors:  make(map[string]*anchor, len(cfg.TrustAnchors)),
		profiles: make(map[string]*profile, len(cfg.Profiles)),
		roles:    make(map[string]*role, len(cfg.Roles)),
		managed:  make(map[string]*policy.Policy, len(cfg.Policies)),
		cutoffs:  make(map[string]time.Time),
	}
	if s.Account == "" {
		s.Account = "000000000000"
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	s.chains.init(defaultChainCacheSize)
	for _, a := range cfg.TrustAnchors {
		an, err := s.compileAnchor(a)
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("trust anchor %s (%s): %v", a.Name, a.ID, err))
			continue
		}
		s.anchors[a.ID] = an
	}
	for _, c := range cfg.CRLs {
		if !c.Enabled {
			continue
		}
		an, ok := s.anchors[c.TrustAnchorID]
		if !ok {
			continue
		}
		if err := an.addCRL(c.Data); err != nil {
			// A CRL that cannot be read cannot be checked: fail closed by
			// taking the anchor out of service.
			s.Problems = append(s.Problems, fmt.Sprintf("crl %s (%s): %v; trust anchor %s disabled until it is fixed", c.Name, c.ID, err, an.rec.Name))
			delete(s.anchors, c.TrustAnchorID)
		}
	}
	for _, p := range cfg.Profiles {
		pr := &profile{rec: p, arn: ProfileARN(s.Region, s.Account, p.ID), roles: make(map[string]bool, len(p.RoleARNs))}
		for _, r := range p.RoleARNs {
			pr.roles[r] = true
		}
		s.profiles[p.ID] = pr
	}
	for _, p := range cfg.Policies {
		arn := p.ARN
		if arn == "" {
			arn = iam.PolicyARN(s.Account, p.Path, p.Name)
		}
		mp, err := policy.Parse([]byte(p.DefaultDocument()), policy.ParseOptions{Kind: policy.KindIdentity, Name: p.Name, MaxSize: -1})
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("managed policy %s: %v", p.Name, err))
			continue
		}
		s.managed[arn] = mp
	}
	for _, r := range cfg.Roles {
		arn := iam.RoleARN(s.Account, r.Path, r.Name)
		// Revocation applies even to a role left out below.
		if !r.SessionsRevokedBefore.IsZero() {
			s.cutoffs[arn] = r.SessionsRevokedBefore
		}
		tp, err := policy.Parse([]byte(r.AssumeRolePolicy), policy.ParseOptions{Kind: policy.KindTrust, Name: r.Name + " trust policy", MaxSize: -1})
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("role %s: trust policy: %v", r.Name, err))
			continue
		}
		info, err := s.compileRolePolicies(r, arn, tp)
		if err != nil {
			// A policy left out could be one that denies: fail closed.
			s.Problems = append(s.Problems, fmt.Sprintf("role %s: %v", r.Name, err))
			continue
		}
		s.roles[arn] = &role{rec: r, arn: arn, trust: tp, info: info, trustPerRequest: readsRequestKeys(tp)}
	}
	return s
}

// compileRolePolicies compiles the identity-based policies and boundary of r.
func (s *Snapshot) compileRolePolicies(r *store.Role, arn string, trust *policy.Policy) (*RoleInfo, error) {
	info := &RoleInfo{Record: r, ARN: arn, Trust: trust}
	for name, doc := range r.InlinePolicies {
		p, err := policy.Parse([]byte(doc), policy.ParseOptions{Kind: policy.KindIdentity, Name: name, Inline: true, MaxSize: -1})
		if err != nil {
			return nil, fmt.Errorf("inline policy %s: %w", name, err)
		}
		info.Identity = append(info.Identity, p)
	}
	for _, a := range r.AttachedPolicies {
		p, ok := s.managed[a]
		if !ok {
			return nil, fmt.Errorf("attached policy %s is missing or does not compile", a)
		}
		info.Identity = append(info.Identity, p)
	}
	if r.PermissionsBoundary != "" {
		p, ok := s.managed[r.PermissionsBoundary]
		if !ok {
			return nil, fmt.Errorf("permissions boundary %s is missing or does not compile", r.PermissionsBoundary)
		}
		info.Boundary = p
	}
	return info, nil
}

// Role returns the role with ARN arn (role names compare case-insensitively).
func (s *Snapshot) Role(arn string) (*RoleInfo, bool) {
	if r, ok := s.roles[arn]; ok {
		return r.info, true
	}
	for a, r := range s.roles {
		if strings.EqualFold(a, arn) {
			return r.info, true
		}
	}
	return nil, false
}

// ManagedPolicy returns the compiled default version of the managed policy
// with ARN arn.
func (s *Snapshot) ManagedPolicy(arn string) (*policy.Policy, bool) {
	p, ok := s.managed[arn]
	return p, ok
}

// CutoffFor returns the revocation cutoff of the role with ARN roleARN:
// sessions of the role issued before it are refused. It makes a Snapshot an
// sts.RevocationSource.
func (s *Snapshot) CutoffFor(roleARN string) (time.Time, bool) {
	t, ok := s.cutoffs[roleARN]
	return t, ok
}

func (s *Snapshot) compileAnchor(a *store.TrustAnchor) (*anchor, error) {
	if a.SourceType != store.SourceCertificateBundle {
		return nil, fmt.Errorf("source type %s is not supported", a.SourceType)
	}
	an := &anchor{rec: a, arn: TrustAnchorARN(s.Region, s.Account, a.ID), roots: x509.NewCertPool(), revoked: map[revokedKey]struct{}{}}
	rest := []byte(a.SourceData)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate bundle: %w", err)
		}
		an.certs = append(an.certs, c)
		an.roots.AddCert(c)
	}
	if len(an.certs) == 0 {
		return nil, fmt.Errorf("certificate bundle holds no certificate")
	}
	return an, nil
}

// addCRL adds the revoked serials of a PEM or DER CRL. The CRL must be signed
// by one of the anchor's certificates or be issued by a CA the anchor's
// chains can contain; roam checks the signature when the issuer is an anchor
// certificate and otherwise keys entries by issuer so they apply only to
// certificates that issuer signed.
func (an *anchor) addCRL(data []byte) error {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	for _, c := range an.certs {
		if string(c.RawSubject) == string(crl.RawIssuer) {
			if err := crl.CheckSignatureFrom(c); err != nil {
				return fmt.Errorf("signature does not verify with %s: %w", c.Subject, err)
			}
		}
	}
	for _, e := range crl.RevokedCertificateEntries {
		an.revoked[revokedKey{issuer: string(crl.RawIssuer), serial: e.SerialNumber.String()}] = struct{}{}
	}
	return nil
}

// isRevoked reports whether the certificate with serial, issued by issuer
// (raw DN), is listed in one of the anchor's enabled CRLs.
func (an *anchor) isRevoked(issuer []byte, serial *big.Int) bool {
	if len(an.revoked) == 0 {
		return false
	}
	_, ok := an.revoked[revokedKey{issuer: string(issuer), serial: serial.String()}]
	return ok
}

// TrustAnchorName returns the name of trust anchor id, for logs and metrics.
func (s *Snapshot) TrustAnchorName(id string) string {
	if a, ok := s.anchors[id]; ok {
		return a.rec.Name
	}
	return ""
}

// RoleByARN returns the role record for arn.
func (s *Snapshot) RoleByARN(arn string) (*store.Role, bool) {
	r, ok := s.roles[arn]
	if !ok {
		return nil, false
	}
	return r.rec, true
}

// chainCache remembers certificate chains already verified, keyed by a hash
// of the X-Amz-X509 and X-Amz-X509-Chain headers and the trust anchor. It is
// bounded; when full, an arbitrary half is dropped.
type chainCache struct {
	mu  sync.RWMutex
	max int
	m   map[chainKey]*verifiedChain
}

type chainKey struct {
	anchorID string
	sum      [32]byte
}

// verifiedChain is a leaf whose chain to an anchor was verified.
type verifiedChain struct {
	leaf *x509.Certificate
	// path is the verified chain from the leaf (excluded) to the anchor
	// (included), for revocation checks.
	path []*x509.Certificate
	// validUntil is the earliest notAfter along the chain; validFrom the
	// latest notBefore. Outside that window the entry is re-verified.
	validFrom, validUntil int64
	// Derived from the leaf once, for every request that presents it: the
	// subject, serial and issuer as recorded, the hex serial (the default
	// session name), the subject id and ARN and the source identity.
	subject, serial, issuer string
	hexSerial, subjectID    string
	subjectARN              string
	sourceIdentity          string
	// views holds what the leaf yields under each profile (*profile →
	// *sessionView), computed on first use; failures are not kept.
	views sync.Map
}

const defaultChainCacheSize = 10000

func (c *chainCache) init(max int) {
	c.max = max
	c.m = make(map[chainKey]*verifiedChain)
}

func (c *chainCache) get(k chainKey) (*verifiedChain, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *chainCache) put(k chainKey, v *verifiedChain) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := 0
		for key := range c.m {
			delete(c.m, key)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[k] = v
}

// roleInProfile reports whether the profile lists roleARN.
func (p *profile) roleInProfile(roleARN string) bool {
	if p.roles[roleARN] {
		return true
	}
	// Role names are case-insensitive in IAM.
	for r := range p.roles {
		if strings.EqualFold(r, roleARN) {
			return true
		}
	}
	return false
}
