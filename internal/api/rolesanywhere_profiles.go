package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

// Profile operations.

// Profile limits (botocore model, IAM Roles Anywhere quotas).
const (
	raMaxRolesPerProfile    = 250
	raMaxManagedPolicyArns  = 50
	raMaxManagedPolicyArn   = 200
	raMaxArnLength          = 1011
	raMaxSessionPolicyChars = 100000
	raMinDurationSeconds    = 900
	raMaxDurationSeconds    = 43200
	raDefaultDuration       = 3600
	raMaxMappingRules       = 50
	raMaxSpecifierChars     = 60
)

// raCheckRoleArns validates the roleArns member.
func raCheckRoleArns(arns []string) error {
	if len(arns) > raMaxRolesPerProfile {
		return raValidationf("roleArns", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxRolesPerProfile)
	}
	for i, a := range arns {
		if len(a) > raMaxArnLength || !raRoleArnRE().MatchString(a) {
			return raValidationf("roleArns."+strconv.Itoa(i+1), "failed to satisfy constraint: Member must be an IAM role ARN")
		}
	}
	return nil
}

func raCheckManagedPolicyArns(arns []string) error {
	if len(arns) > raMaxManagedPolicyArns {
		return raValidationf("managedPolicyArns", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxManagedPolicyArns)
	}
	for i, a := range arns {
		if len(a) < 1 || len(a) > raMaxManagedPolicyArn {
			return raValidationf("managedPolicyArns."+strconv.Itoa(i+1), "failed to satisfy constraint: Member must have length between 1 and %d", raMaxManagedPolicyArn)
		}
	}
	return nil
}

func raCheckDuration(d *int) error {
	if d != nil && (*d < raMinDurationSeconds || *d > raMaxDurationSeconds) {
		return raValidationf("durationSeconds", "failed to satisfy constraint: Member must have value between %d and %d", raMinDurationSeconds, raMaxDurationSeconds)
	}
	return nil
}

// raCheckSessionPolicy validates an inline session policy with the policy
// package, so a profile never stores a document CreateSession cannot use.
func raCheckSessionPolicy(doc *string) error {
	if doc == nil {
		return nil
	}
	if n := len(*doc); n < 1 || n > raMaxSessionPolicyChars {
		return raValidationf("sessionPolicy", "failed to satisfy constraint: Member must have length between 1 and %d", raMaxSessionPolicyChars)
	}
	if _, err := policy.Parse([]byte(*doc), policy.ParseOptions{Kind: policy.KindSession, Name: "sessionPolicy", MaxSize: -1}); err != nil {
		return apierr.Validation("Invalid session policy: %v", err)
	}
	return nil
}

// authorizePassRoles authorizes iam:PassRole of every role to Roles Anywhere.
func (q *raRequest) authorizePassRoles(roles []string) error {
	for _, r := range roles {
		if err := q.authorizePassRole(r); err != nil {
			return err
		}
	}
	return nil
}

func raCreateProfile(q *raRequest) (int, any, error) {
	var in raCreateProfileInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckName("name", in.Name, true); err != nil {
		return 0, nil, err
	}
	if in.RoleArns == nil {
		return 0, nil, raValidationf("roleArns", "must not be null")
	}
	if err := errors.Join(raCheckRoleArns(in.RoleArns), raCheckManagedPolicyArns(in.ManagedPolicyArns), raCheckDuration(in.DurationSeconds), raCheckSessionPolicy(in.SessionPolicy)); err != nil {
		return 0, nil, raFirstError(err)
	}
	tags, err := raCheckTags(in.Tags)
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorizeCreate("rolesanywhere:CreateProfile", tags); err != nil {
		return 0, nil, err
	}
	if err := q.authorizePassRoles(in.RoleArns); err != nil {
		return 0, nil, err
	}
	dur := raDefaultDuration
	if in.DurationSeconds != nil {
		dur = *in.DurationSeconds
	}
	p, err := q.h.cfg.Store.CreateProfile(q.ctx, &store.Profile{
		Name: *in.Name, RoleARNs: in.RoleArns, DurationSeconds: dur, SessionPolicy: raDeref(in.SessionPolicy),
		ManagedPolicyARNs: in.ManagedPolicyArns, Enabled: raDeref(in.Enabled),
		AcceptRoleSessionName: raDeref(in.AcceptRoleSessionName), RequireInstanceProperties: raDeref(in.RequireInstanceProperties),
		AttributeMappings: anywhere.DefaultAttributeMappings(), CreatedBy: q.callerARN(), Tags: tags,
	})
	if err != nil {
		return 0, nil, raStoreError(err, "profile", *in.Name)
	}
	q.changed()
	return http.StatusCreated, raProfileOutput{q.profileOut(p)}, nil
}

// loadProfile authorizes action on the profile named by the path and
// returns it.
func (q *raRequest) loadProfile(action string) (*store.Profile, error) {
	id := q.r.PathValue("profileId")
	if !raUUIDRE().MatchString(id) {
		return nil, raValidationf("profileId", "failed to satisfy constraint: Member must be a lower-case UUID")
	}
	arn := anywhere.ProfileARN(q.region, q.account, id)
	p, err := q.h.cfg.Store.GetProfile(q.ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if aerr := q.authorize(action, arn, nil); aerr != nil {
				return nil, aerr
			}
		}
		return nil, raStoreError(err, "profile", id)
	}
	if err := q.authorize(action, arn, raResourceTagKeys(p.Tags)); err != nil {
		return nil, err
	}
	return p, nil
}

// updateProfile authorizes action (and iam:PassRole of passRoles), applies
// fn and returns the updated profile.
func (q *raRequest) updateProfile(action string, passRoles func(*store.Profile) []string, fn func(*store.Profile) error) (int, any, error) {
	p, err := q.loadProfile(action)
	if err != nil {
		return 0, nil, err
	}
	if passRoles != nil {
		if err := q.authorizePassRoles(passRoles(p)); err != nil {
			return 0, nil, err
		}
	}
	p, err = q.h.cfg.Store.UpdateProfile(q.ctx, p.ID, fn)
	if err != nil {
		return 0, nil, raStoreError(err, "profile", q.r.PathValue("profileId"))
	}
	q.changed()
	return http.StatusOK, raProfileOutput{q.profileOut(p)}, nil
}

func raGetProfile(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	p, err := q.loadProfile("rolesanywhere:GetProfile")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, raProfileOutput{q.profileOut(p)}, nil
}

func raUpdateProfile(q *raRequest) (int, any, error) {
	var in raUpdateProfileInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckName("name", in.Name, false); err != nil {
		return 0, nil, err
	}
	if err := errors.Join(raCheckRoleArns(in.RoleArns), raCheckManagedPolicyArns(in.ManagedPolicyArns), raCheckDuration(in.DurationSeconds), raCheckSessionPolicy(in.SessionPolicy)); err != nil {
		return 0, nil, raFirstError(err)
	}
	passRoles := func(p *store.Profile) []string {
		if in.RoleArns != nil {
			return in.RoleArns
		}
		return p.RoleARNs
	}
	return q.updateProfile("rolesanywhere:UpdateProfile", passRoles, func(p *store.Profile) error {
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.RoleArns != nil {
			p.RoleARNs = in.RoleArns
		}
		if in.ManagedPolicyArns != nil {
			p.ManagedPolicyARNs = in.ManagedPolicyArns
		}
		if in.SessionPolicy != nil {
			p.SessionPolicy = *in.SessionPolicy
		}
		if in.DurationSeconds != nil {
			p.DurationSeconds = *in.DurationSeconds
		}
		if in.AcceptRoleSessionName != nil {
			p.AcceptRoleSessionName = *in.AcceptRoleSessionName
		}
		return nil
	})
}

func raEnableProfile(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	return q.updateProfile("rolesanywhere:EnableProfile", func(p *store.Profile) []string { return p.RoleARNs },
		func(p *store.Profile) error { p.Enabled = true; return nil })
}

func raDisableProfile(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	return q.updateProfile("rolesanywhere:DisableProfile", nil,
		func(p *store.Profile) error { p.Enabled = false; return nil })
}

func raDeleteProfile(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	p, err := q.loadProfile("rolesanywhere:DeleteProfile")
	if err != nil {
		return 0, nil, err
	}
	if p, err = q.h.cfg.Store.DeleteProfile(q.ctx, p.ID); err != nil {
		return 0, nil, raStoreError(err, "profile", q.r.PathValue("profileId"))
	}
	q.changed()
	return http.StatusOK, raProfileOutput{q.profileOut(p)}, nil
}

func raListProfiles(q *raRequest) (int, any, error) {
	opts, err := q.listOptions()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorize("rolesanywhere:ListProfiles", "*", nil); err != nil {
		return 0, nil, err
	}
	list, next, err := q.h.cfg.Store.ListProfiles(q.ctx, opts)
	if err != nil {
		return 0, nil, raStoreError(err, "profiles", "")
	}
	out := raProfilesOutput{Profiles: []raProfileDetail{}, NextToken: next}
	for _, p := range list {
		out.Profiles = append(out.Profiles, q.profileOut(p))
	}
	return http.StatusOK, out, nil
}

// raCheckField validates a certificateField member.
func raCheckField(member string, f *string) error {
	if f == nil {
		return raValidationf(member, "must not be null")
	}
	switch *f {
	case anywhere.FieldSubject, anywhere.FieldIssuer, anywhere.FieldSAN:
		return nil
	}
	return raValidationf(member, "failed to satisfy constraint: Member must satisfy enum value set: [x509Subject, x509Issuer, x509SAN]")
}

// raPutAttributeMapping adds the given specifiers to the mapping of one
// certificate field (creating it), keeping the ones already there; the
// specifiers are normalised ("Name" and "Name/" become "Name/*").
func raPutAttributeMapping(q *raRequest) (int, any, error) {
	var in raPutAttributeMappingInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckField("certificateField", in.CertificateField); err != nil {
		return 0, nil, err
	}
	if in.MappingRules == nil {
		return 0, nil, raValidationf("mappingRules", "must not be null")
	}
	if len(in.MappingRules) > raMaxMappingRules {
		return 0, nil, raValidationf("mappingRules", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxMappingRules)
	}
	field := *in.CertificateField
	var specs []string
	for i, r := range in.MappingRules {
		member := "mappingRules." + strconv.Itoa(i+1) + ".specifier"
		if r.Specifier == nil {
			return 0, nil, raValidationf(member, "must not be null")
		}
		if len(*r.Specifier) > raMaxSpecifierChars {
			return 0, nil, raValidationf(member, "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxSpecifierChars)
		}
		norm, err := anywhere.NormalizeSpecifier(field, *r.Specifier)
		if err != nil {
			return 0, nil, raValidationf(member, "is not a recognised specifier: %v", err)
		}
		if !slices.Contains(specs, norm) {
			specs = append(specs, norm)
		}
	}
	return q.updateProfile("rolesanywhere:PutAttributeMapping", nil, func(p *store.Profile) error {
		for i := range p.AttributeMappings {
			m := &p.AttributeMappings[i]
			if m.CertificateField != field {
				continue
			}
			for _, s := range specs {
				if !slices.ContainsFunc(m.MappingRules, func(r store.MappingRule) bool { return r.Specifier == s }) {
					m.MappingRules = append(m.MappingRules, store.MappingRule{Specifier: s})
				}
			}
			return nil
		}
		m := store.AttributeMapping{CertificateField: field}
		for _, s := range specs {
			m.MappingRules = append(m.MappingRules, store.MappingRule{Specifier: s})
		}
		p.AttributeMappings = append(p.AttributeMappings, m)
		slices.SortFunc(p.AttributeMappings, func(a, b store.AttributeMapping) int { return strings.Compare(a.CertificateField, b.CertificateField) })
		return nil
	})
}

// raDeleteAttributeMapping removes the given specifiers of a field, or the
// whole field when none are given; a field left with no rules is removed.
func raDeleteAttributeMapping(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	qv := q.r.URL.Query()
	if !qv.Has("certificateField") {
		return 0, nil, raValidationf("certificateField", "must not be null")
	}
	field := qv.Get("certificateField")
	if err := raCheckField("certificateField", &field); err != nil {
		return 0, nil, err
	}
	var specs []string
	for i, s := range qv["specifiers"] {
		norm, err := anywhere.NormalizeSpecifier(field, s)
		if err != nil {
			return 0, nil, raValidationf("specifiers."+strconv.Itoa(i+1), "is not a recognised specifier: %v", err)
		}
		specs = append(specs, norm)
	}
	return q.updateProfile("rolesanywhere:DeleteAttributeMapping", nil, func(p *store.Profile) error {
		out := p.AttributeMappings[:0:0]
		for _, m := range p.AttributeMappings {
			if m.CertificateField == field {
				if len(specs) == 0 {
					continue
				}
				m.MappingRules = slices.DeleteFunc(slices.Clone(m.MappingRules), func(r store.MappingRule) bool { return slices.Contains(specs, r.Specifier) })
				if len(m.MappingRules) == 0 {
					continue
				}
			}
			out = append(out, m)
		}
		p.AttributeMappings = out
		return nil
	})
}

// raFirstError returns the first error of an errors.Join result.
func raFirstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 0 {
			return errs[0]
		}
	}
	return err
}
