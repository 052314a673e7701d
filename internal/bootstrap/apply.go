package bootstrap

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
)

// Defaults used when neither the file nor the store names an account or region.
const (
	DefaultAccount = "000000000000"
	DefaultRegion  = "us-east-1"
)

// Named is a declared resource and the ARN it has in the store.
type Named struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

// Result says what Apply wrote, in declaration order.
type Result struct {
	Account      string
	Region       string
	TrustAnchors []Named
	Profiles     []Named
	Roles        []Named
	Policies     []Named
}

// PolicyChecker validates a policy document of the given kind ("trust",
// "identity", "session"). Apply checks every document before it writes
// anything.
type PolicyChecker func(kind, name, document string) error

// Apply upserts, by name, everything f declares. Every document and
// certificate is checked before the first write, so a bad file changes
// nothing.
func Apply(ctx context.Context, st store.Store, f *File, check PolicyChecker) (*Result, error) {
	res := &Result{Account: f.Account, Region: f.Region}
	if err := fillAccount(ctx, st, res); err != nil {
		return nil, err
	}
	crls, err := f.precheck(check)
	if err != nil {
		return nil, err
	}

	if f.Account != "" {
		if err := st.PutSetting(ctx, store.SettingAccountID, f.Account); err != nil {
			return nil, fmt.Errorf("save account: %w", err)
		}
	}
	if f.Region != "" {
		if err := st.PutSetting(ctx, store.SettingRegion, f.Region); err != nil {
			return nil, fmt.Errorf("save region: %w", err)
		}
	}

	anchorIDs := map[string]string{}
	for _, a := range f.TrustAnchors {
		got, err := st.UpsertTrustAnchorByName(ctx, &store.TrustAnchor{
			ID:         a.ID,
			Name:       a.Name,
			SourceType: store.SourceCertificateBundle,
			SourceData: a.CertificateBundle,
			Enabled:    enabled(a.Enabled),
			Tags:       a.Tags,
		})
		if err != nil {
			return nil, fmt.Errorf("trust anchor %q: %w", a.Name, err)
		}
		anchorIDs[a.Name] = got.ID
		res.TrustAnchors = append(res.TrustAnchors, Named{a.Name, anywhere.TrustAnchorARN(res.Region, res.Account, got.ID)})
	}
	for i, c := range f.CRLs {
		id, ok := anchorIDs[c.TrustAnchor]
		if !ok {
			a, err := st.GetTrustAnchorByName(ctx, c.TrustAnchor)
			if err != nil {
				return nil, fmt.Errorf("crl %q: trust anchor %q: %w", c.Name, c.TrustAnchor, err)
			}
			id = a.ID
		}
		if _, err := st.UpsertCRLByName(ctx, &store.CRL{Name: c.Name, TrustAnchorID: id, Data: crls[i], Enabled: enabled(c.Enabled), Tags: c.Tags}); err != nil {
			return nil, fmt.Errorf("crl %q: %w", c.Name, err)
		}
	}
	policyARNs := map[string]string{}
	for _, p := range f.Policies {
		arn := iam.PolicyARN(res.Account, p.Path, p.Name)
		if _, err := st.UpsertPolicy(ctx, &store.Policy{Name: p.Name, Path: pathOrRoot(p.Path), ARN: arn, Description: p.Description, Tags: p.Tags}, p.Document.JSON); err != nil {
			return nil, fmt.Errorf("policy %q: %w", p.Name, err)
		}
		policyARNs[p.Name] = arn
		res.Policies = append(res.Policies, Named{p.Name, arn})
	}
	policyRef := func(ref string) string {
		if strings.HasPrefix(ref, "arn:") {
			return ref
		}
		if arn, ok := policyARNs[ref]; ok {
			return arn
		}
		return iam.PolicyARN(res.Account, "/", ref)
	}
	roleARNs := map[string]string{}
	for _, r := range f.Roles {
		inline := map[string]string{}
		for name, d := range r.InlinePolicies {
			inline[name] = d.JSON
		}
		var attached []string
		for _, m := range r.ManagedPolicies {
			attached = append(attached, policyRef(m))
		}
		boundary := ""
		if r.PermissionsBoundary != "" {
			boundary = policyRef(r.PermissionsBoundary)
		}
		msd := r.MaxSessionDuration
		if msd == 0 {
			msd = 3600
		}
		if _, err := st.UpsertRole(ctx, &store.Role{
			Name: r.Name, Path: pathOrRoot(r.Path), Description: r.Description,
			AssumeRolePolicy: r.TrustPolicy.JSON, MaxSessionDuration: msd,
			PermissionsBoundary: boundary, Tags: r.Tags, InlinePolicies: inline, AttachedPolicies: attached,
		}); err != nil {
			return nil, fmt.Errorf("role %q: %w", r.Name, err)
		}
		arn := iam.RoleARN(res.Account, r.Path, r.Name)
		roleARNs[r.Name] = arn
		res.Roles = append(res.Roles, Named{r.Name, arn})
	}
	for _, p := range f.Profiles {
		var roles, managed []string
		for _, r := range p.Roles {
			if strings.HasPrefix(r, "arn:") {
				roles = append(roles, r)
			} else if arn, ok := roleARNs[r]; ok {
				roles = append(roles, arn)
			} else {
				roles = append(roles, iam.RoleARN(res.Account, "/", r))
			}
		}
		for _, m := range p.ManagedPolicies {
			managed = append(managed, policyRef(m))
		}
		dur := p.DurationSeconds
		if dur == 0 {
			dur = 3600
		}
		got, err := st.UpsertProfileByName(ctx, &store.Profile{
			Name: p.Name, RoleARNs: roles, DurationSeconds: dur, SessionPolicy: p.SessionPolicy.JSON,
			ManagedPolicyARNs: managed, Enabled: enabled(p.Enabled), AcceptRoleSessionName: p.AcceptRoleSessionName,
			AttributeMappings: mappings(p.AttributeMappings), CreatedBy: "roam bootstrap", Tags: p.Tags,
		})
		if err != nil {
			return nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
		res.Profiles = append(res.Profiles, Named{p.Name, anywhere.ProfileARN(res.Region, res.Account, got.ID)})
	}
	return res, nil
}

// fillAccount completes res's account and region from the store or defaults.
func fillAccount(ctx context.Context, st store.Store, res *Result) error {
	settings, err := st.Settings(ctx)
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	if res.Account == "" {
		res.Account = settings[store.SettingAccountID]
	}
	if res.Account == "" {
		res.Account = DefaultAccount
	}
	if res.Region == "" {
		res.Region = settings[store.SettingRegion]
	}
	if res.Region == "" {
		res.Region = DefaultRegion
	}
	return nil
}

// precheck validates every certificate bundle, CRL file and policy document,
// and returns the CRL files' contents in declaration order.
func (f *File) precheck(check PolicyChecker) ([][]byte, error) {
	for i, a := range f.TrustAnchors {
		if err := checkBundle(a.CertificateBundle); err != nil {
			return nil, fmt.Errorf("trustAnchors[%d] (%s): %w", i, a.Name, err)
		}
	}
	crls := make([][]byte, len(f.CRLs))
	for i, c := range f.CRLs {
		data, err := readLimited(c.File)
		if err != nil {
			return nil, fmt.Errorf("crls[%d] (%s): %w", i, c.Name, err)
		}
		der := data
		if b, _ := pem.Decode(data); b != nil {
			der = b.Bytes
		}
		if _, err := x509.ParseRevocationList(der); err != nil {
			return nil, fmt.Errorf("crls[%d] (%s): %s: not a CRL: %w", i, c.Name, c.File, err)
		}
		crls[i] = data
	}
	if check == nil {
		return crls, nil
	}
	for _, p := range f.Policies {
		if err := check("identity", p.Name, p.Document.JSON); err != nil {
			return nil, fmt.Errorf("policy %q: %w", p.Name, err)
		}
	}
	for _, r := range f.Roles {
		if err := check("trust", r.Name, r.TrustPolicy.JSON); err != nil {
			return nil, fmt.Errorf("role %q: trustPolicy: %w", r.Name, err)
		}
		for name, d := range r.InlinePolicies {
			if err := check("identity", name, d.JSON); err != nil {
				return nil, fmt.Errorf("role %q: inline policy %q: %w", r.Name, name, err)
			}
		}
	}
	for _, p := range f.Profiles {
		if p.SessionPolicy.JSON == "" {
			continue
		}
		if err := check("session", p.Name, p.SessionPolicy.JSON); err != nil {
			return nil, fmt.Errorf("profile %q: sessionPolicy: %w", p.Name, err)
		}
	}
	return crls, nil
}

// checkBundle checks that a trust anchor bundle holds one or two CA
// certificates and nothing else.
func checkBundle(bundle string) error {
	rest := []byte(bundle)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("certificateBundle: unexpected PEM block %q", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Errorf("certificateBundle: certificate %d: %w", n+1, err)
		}
		if !c.IsCA {
			return fmt.Errorf("certificateBundle: certificate %d (%s) is not a CA certificate", n+1, c.Subject)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("certificateBundle: no PEM certificate")
	}
	if n > 2 {
		return fmt.Errorf("certificateBundle: %d certificates; a trust anchor holds at most 2", n)
	}
	return nil
}

func mappings(in []AttributeMapping) []store.AttributeMapping {
	if len(in) == 0 {
		return anywhere.DefaultAttributeMappings()
	}
	out := make([]store.AttributeMapping, 0, len(in))
	for _, m := range in {
		sm := store.AttributeMapping{CertificateField: m.CertificateField}
		for _, s := range m.Specifiers {
			norm, _ := anywhere.NormalizeSpecifier(m.CertificateField, s) // checked by File.check
			sm.MappingRules = append(sm.MappingRules, store.MappingRule{Specifier: norm})
		}
		out = append(out, sm)
	}
	return out
}

func enabled(b *bool) bool { return b == nil || *b }

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
