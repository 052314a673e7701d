package api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

// IAM role operations.

type xmlBoundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

type xmlRole struct {
	Path                     string
	RoleName                 string
	RoleID                   string `xml:"RoleId"`
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string       `xml:",omitempty"`
	Description              string       `xml:",omitempty"`
	MaxSessionDuration       int          `xml:",omitempty"`
	PermissionsBoundary      *xmlBoundary `xml:",omitempty"`
	Tags                     []xmlTag     `xml:"Tags>member,omitempty"`
}

func (q *iamCall) roleXML(r *store.Role) xmlRole {
	x := xmlRole{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: iam.RoleARN(q.account, r.Path, r.Name),
		CreateDate: isoTime(r.CreatedAt), AssumeRolePolicyDocument: urlEncodeDocument(r.AssumeRolePolicy),
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration, Tags: xmlTags(r.Tags),
	}
	if x.Path == "" {
		x.Path = "/"
	}
	if x.MaxSessionDuration == 0 {
		x.MaxSessionDuration = iam.DefaultMaxSessionSecs
	}
	if r.PermissionsBoundary != "" {
		x.PermissionsBoundary = &xmlBoundary{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: r.PermissionsBoundary}
	}
	return x
}

type roleResult struct {
	XMLName xml.Name
	Role    xmlRole
}

// roleName reads and validates RoleName.
func (q *iamCall) roleName() (string, error) {
	name, err := q.required("RoleName")
	if err != nil {
		return "", err
	}
	if err := iam.ValidateRoleName(name); err != nil {
		return "", constraint(name, "roleName", `Member must satisfy regular expression pattern: [\w+=,.@-]+ and have length between 1 and 64`)
	}
	return name, nil
}

// role reads RoleName, looks the role up and authorizes action on it (the
// operation's own action when ""). The caller is authorized before it
// learns whether the role exists: a missing role is authorized against its
// path-less ARN, then answered NoSuchEntity.
func (q *iamCall) role(action string, extra map[string][]string) (*store.Role, string, error) {
	name, err := q.roleName()
	if err != nil {
		return nil, "", err
	}
	r, err := q.h.cfg.Store.GetRole(q.ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, "", fmt.Errorf("iam: get role: %w", err)
	}
	arn := iam.RoleARN(q.account, "/", name)
	var tags map[string]string
	if r != nil {
		arn = iam.RoleARN(q.account, r.Path, r.Name)
		tags = r.Tags
	}
	if err := q.authorize(action, arn, resourceTags(tags, extra)); err != nil {
		return nil, "", err
	}
	if r == nil {
		return nil, "", noSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, arn, nil
}

// updateRoleRecord applies fn to the role in one store transaction and
// records the change.
func (q *iamCall) updateRoleRecord(name, arn string, fn func(*store.Role) error) (*store.Role, error) {
	out, err := q.h.cfg.Store.UpdateRole(q.ctx, name, fn)
	if err != nil {
		if ae, ok := apierr.As(err); ok {
			return nil, ae // from fn
		}
		return nil, storeErr(err, noSuchEntity("The role with name %s cannot be found.", name), nil,
			limitExceeded("Cannot exceed quota for PoliciesPerRole: %d", iam.DefaultPoliciesPerRole))
	}
	q.committed(arn)
	return out, nil
}

func (q *iamCall) parseMaxSessionDuration() (int, bool, error) {
	v, ok := q.f.str("MaxSessionDuration")
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < iam.MinMaxSessionDuration || n > iam.MaxMaxSessionDuration {
		return 0, false, constraint(v, "maxSessionDuration", fmt.Sprintf("Member must have value between %d and %d", iam.MinMaxSessionDuration, iam.MaxMaxSessionDuration))
	}
	return n, true, nil
}

func (q *iamCall) parseDescription() (string, bool, error) {
	d, ok := q.f.str("Description")
	if !ok {
		return "", false, nil
	}
	if err := iam.ValidateDescription(d); err != nil {
		return "", false, constraint(d, "description", "Member must have length less than or equal to 1000")
	}
	return d, true, nil
}

// boundaryARN reads an optional permissions boundary ARN and checks that
// the managed policy exists.
func (q *iamCall) boundaryARN(name string) (string, error) {
	arn := q.f.get(name)
	if arn == "" {
		return "", nil
	}
	if _, _, ok := iam.PolicyNameFromARN(arn); !ok {
		return "", invalidInput("ARN %s is not valid.", truncate(arn))
	}
	if _, err := q.h.cfg.Store.GetPolicy(q.ctx, arn); err != nil {
		return "", storeErr(err, noSuchEntity("Scope ARN: %s does not exist or is not attachable.", truncate(arn)), nil, nil)
	}
	return arn, nil
}

func (q *iamCall) createRole() (any, error) {
	name, err := q.roleName()
	if err != nil {
		return nil, err
	}
	path, err := q.parsePath("Path")
	if err != nil {
		return nil, err
	}
	doc, err := q.required("AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	desc, _, err := q.parseDescription()
	if err != nil {
		return nil, err
	}
	maxDur, _, err := q.parseMaxSessionDuration()
	if err != nil {
		return nil, err
	}
	tags, keys, err := q.parseTags("Tags")
	if err != nil {
		return nil, err
	}
	arn := iam.RoleARN(q.account, path, name)
	extra := requestTagKeys(tags, keys)
	boundary := q.f.get("PermissionsBoundary")
	if boundary != "" {
		if extra == nil {
			extra = map[string][]string{}
		}
		extra["iam:PermissionsBoundary"] = []string{boundary}
	}
	if err := q.authorize("", arn, extra); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := q.authorize("iam:TagRole", arn, extra); err != nil {
			return nil, err
		}
	}
	if boundary, err = q.boundaryARN("PermissionsBoundary"); err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.KindTrust, false, name+" trust policy"); err != nil {
		return nil, err
	}
	if maxDur == 0 {
		maxDur = iam.DefaultMaxSessionSecs
	}
	r, err := q.h.cfg.Store.CreateRole(q.ctx, &store.Role{
		Name: name, ID: store.NewIAMID("AROA"), Path: path, AssumeRolePolicy: doc, Description: desc,
		MaxSessionDuration: maxDur, PermissionsBoundary: boundary, Tags: tags,
	})
	if err != nil {
		return nil, storeErr(err, nil, entityAlreadyExists("Role with name %s already exists.", name), nil)
	}
	q.committed(arn)
	return roleResult{XMLName: xml.Name{Local: "CreateRoleResult"}, Role: q.roleXML(r)}, nil
}

func (q *iamCall) getRole() (any, error) {
	r, _, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	return roleResult{XMLName: xml.Name{Local: "GetRoleResult"}, Role: q.roleXML(r)}, nil
}

// updateRole is UpdateRole and UpdateRoleDescription.
func (q *iamCall) updateRole() (any, error) {
	desc, hasDesc, err := q.parseDescription()
	if err != nil {
		return nil, err
	}
	maxDur, hasMax, err := q.parseMaxSessionDuration()
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	out, err := q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		if hasDesc {
			r.Description = desc
		}
		if hasMax {
			r.MaxSessionDuration = maxDur
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if q.action == "UpdateRoleDescription" {
		return roleResult{XMLName: xml.Name{Local: "UpdateRoleDescriptionResult"}, Role: q.roleXML(out)}, nil
	}
	return q.empty(), nil
}

// profilesUsingRole returns the names of the Roles Anywhere profiles that
// list roleARN.
func (q *iamCall) profilesUsingRole(roleARN string) ([]string, error) {
	var names []string
	token := ""
	for {
		ps, next, err := q.h.cfg.Store.ListProfiles(q.ctx, store.ListOptions{MaxResults: store.MaxPageSize, NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("iam: list profiles: %w", err)
		}
		for _, p := range ps {
			if slices.ContainsFunc(p.RoleARNs, func(a string) bool { return strings.EqualFold(a, roleARN) }) {
				names = append(names, p.Name)
			}
		}
		if next == "" {
			return names, nil
		}
		token = next
	}
}

func (q *iamCall) deleteRole() (any, error) {
	r, arn, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	used, err := q.profilesUsingRole(arn)
	if err != nil {
		return nil, err
	}
	if len(used) > 0 {
		return nil, deleteConflict("Cannot delete entity, must remove role from Roles Anywhere profile %s first.", truncate(strings.Join(used, ", ")))
	}
	if len(r.InlinePolicies) > 0 {
		return nil, deleteConflict("Cannot delete entity, must delete policies first.")
	}
	if len(r.AttachedPolicies) > 0 {
		return nil, deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	if _, err := q.h.cfg.Store.DeleteRole(q.ctx, r.Name); err != nil {
		return nil, storeErr(err, noSuchEntity("The role with name %s cannot be found.", r.Name),
			deleteConflict("Cannot delete entity, must delete policies first."), nil)
	}
	q.committed(arn)
	return q.empty(), nil
}

type listRolesResult struct {
	XMLName     xml.Name  `xml:"ListRolesResult"`
	Roles       []xmlRole `xml:"Roles>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (q *iamCall) listRoles() (any, error) {
	prefix := q.f.get("PathPrefix")
	marker, maxItems, err := q.parsePage()
	if err != nil {
		return nil, err
	}
	if err := q.authorize("", "*", nil); err != nil {
		return nil, err
	}
	roles, next, err := q.h.cfg.Store.ListRoles(q.ctx, store.ListOptions{MaxResults: maxItems, NextToken: marker})
	if err != nil {
		return nil, storeErr(err, nil, nil, nil)
	}
	res := listRolesResult{Roles: []xmlRole{}, IsTruncated: next != "", Marker: next}
	for _, r := range roles {
		if prefix != "" && !strings.HasPrefix(rolePath(r), prefix) {
			continue
		}
		x := q.roleXML(r)
		x.Tags, x.PermissionsBoundary = nil, nil // ListRoles omits them, as IAM does
		res.Roles = append(res.Roles, x)
	}
	return res, nil
}

func rolePath(r *store.Role) string {
	if r.Path == "" {
		return "/"
	}
	return r.Path
}

func (q *iamCall) updateAssumeRolePolicy() (any, error) {
	doc, err := q.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.KindTrust, false, r.Name+" trust policy"); err != nil {
		return nil, err
	}
	if _, err := q.updateRoleRecord(r.Name, arn, func(r *store.Role) error { r.AssumeRolePolicy = doc; return nil }); err != nil {
		return nil, err
	}
	return q.empty(), nil
}

// policyName reads and validates PolicyName.
func (q *iamCall) policyName() (string, error) {
	name, err := q.required("PolicyName")
	if err != nil {
		return "", err
	}
	if err := iam.ValidatePolicyName(name); err != nil {
		return "", constraint(name, "policyName", `Member must satisfy regular expression pattern: [\w+=,.@-]+ and have length between 1 and 128`)
	}
	return name, nil
}

func (q *iamCall) putRolePolicy() (any, error) {
	pname, err := q.policyName()
	if err != nil {
		return nil, err
	}
	doc, err := q.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.KindIdentity, true, "role "+r.Name); err != nil {
		return nil, err
	}
	_, err = q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		total := iam.PolicySize(doc)
		for n, d := range r.InlinePolicies {
			if !strings.EqualFold(n, pname) {
				total += iam.PolicySize(d)
			}
		}
		if total > iam.MaxRoleInlinePolicySize {
			return limitExceeded("Maximum policy size of %d bytes exceeded for role %s", iam.MaxRoleInlinePolicySize, r.Name)
		}
		if r.InlinePolicies == nil {
			r.InlinePolicies = map[string]string{}
		}
		for n := range r.InlinePolicies {
			if strings.EqualFold(n, pname) {
				delete(r.InlinePolicies, n)
			}
		}
		r.InlinePolicies[pname] = doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

// inlinePolicy finds an inline policy by name, case-insensitively.
func inlinePolicy(m map[string]string, name string) (string, string, bool) {
	if d, ok := m[name]; ok {
		return name, d, true
	}
	for n, d := range m {
		if strings.EqualFold(n, name) {
			return n, d, true
		}
	}
	return "", "", false
}

type getRolePolicyResult struct {
	XMLName        xml.Name `xml:"GetRolePolicyResult"`
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

func (q *iamCall) getRolePolicy() (any, error) {
	pname, err := q.policyName()
	if err != nil {
		return nil, err
	}
	r, _, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	n, doc, ok := inlinePolicy(r.InlinePolicies, pname)
	if !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", pname)
	}
	return getRolePolicyResult{RoleName: r.Name, PolicyName: n, PolicyDocument: urlEncodeDocument(doc)}, nil
}

func (q *iamCall) deleteRolePolicy() (any, error) {
	pname, err := q.policyName()
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	if _, _, ok := inlinePolicy(r.InlinePolicies, pname); !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", pname)
	}
	_, err = q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		n, _, ok := inlinePolicy(r.InlinePolicies, pname)
		if !ok {
			return noSuchEntity("The role policy with name %s cannot be found.", pname)
		}
		delete(r.InlinePolicies, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

type listNamesResult struct {
	XMLName     xml.Name
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (q *iamCall) listRolePolicies() (any, error) {
	r, _, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.InlinePolicies))
	for n := range r.InlinePolicies {
		names = append(names, n)
	}
	slices.Sort(names)
	start, end, next, err := q.page(len(names))
	if err != nil {
		return nil, err
	}
	return listNamesResult{XMLName: xml.Name{Local: "ListRolePoliciesResult"}, PolicyNames: names[start:end], IsTruncated: next != "", Marker: next}, nil
}

// policyARNParam reads and checks PolicyArn.
func (q *iamCall) policyARNParam() (string, error) {
	arn, err := q.required("PolicyArn")
	if err != nil {
		return "", err
	}
	if n := len(arn); n < 20 || n > 2048 {
		return "", constraint(arn, "policyArn", "Member must have length between 20 and 2048")
	}
	if _, _, ok := iam.PolicyNameFromARN(arn); !ok {
		return "", invalidInput("ARN %s is not valid.", truncate(arn))
	}
	return arn, nil
}

func (q *iamCall) attachRolePolicy() (any, error) {
	parn, err := q.policyARNParam()
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", map[string][]string{"iam:PolicyARN": {parn}})
	if err != nil {
		return nil, err
	}
	if _, err := q.h.cfg.Store.GetPolicy(q.ctx, parn); err != nil {
		return nil, storeErr(err, noSuchEntity("Policy %s does not exist or is not attachable.", truncate(parn)), nil, nil)
	}
	_, err = q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		if slices.Contains(r.AttachedPolicies, parn) {
			return nil
		}
		if len(r.AttachedPolicies) >= iam.DefaultPoliciesPerRole {
			return limitExceeded("Cannot exceed quota for PoliciesPerRole: %d", iam.DefaultPoliciesPerRole)
		}
		r.AttachedPolicies = append(r.AttachedPolicies, parn)
		slices.Sort(r.AttachedPolicies)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

func (q *iamCall) detachRolePolicy() (any, error) {
	parn, err := q.policyARNParam()
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", map[string][]string{"iam:PolicyARN": {parn}})
	if err != nil {
		return nil, err
	}
	notAttached := noSuchEntity("Policy %s was not found.", truncate(parn))
	if !slices.Contains(r.AttachedPolicies, parn) {
		return nil, notAttached
	}
	_, err = q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		i := slices.Index(r.AttachedPolicies, parn)
		if i < 0 {
			return notAttached
		}
		r.AttachedPolicies = slices.Delete(r.AttachedPolicies, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

type xmlAttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

type listAttachedResult struct {
	XMLName          xml.Name
	AttachedPolicies []xmlAttachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

// listAttached pages a sorted list of attached policy ARNs.
func (q *iamCall) listAttached(arns []string) (any, error) {
	prefix := q.f.get("PathPrefix")
	var all []xmlAttachedPolicy
	for _, a := range arns {
		name, path, ok := iam.PolicyNameFromARN(a)
		if !ok || prefix != "" && !strings.HasPrefix(path, prefix) {
			continue
		}
		all = append(all, xmlAttachedPolicy{PolicyName: name, PolicyArn: a})
	}
	start, end, next, err := q.page(len(all))
	if err != nil {
		return nil, err
	}
	return listAttachedResult{XMLName: xml.Name{Local: q.action + "Result"}, AttachedPolicies: append([]xmlAttachedPolicy{}, all[start:end]...),
		IsTruncated: next != "", Marker: next}, nil
}

func (q *iamCall) listAttachedRolePolicies() (any, error) {
	r, _, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	return q.listAttached(r.AttachedPolicies)
}

func (q *iamCall) putRolePermissionsBoundary() (any, error) {
	b, err := q.required("PermissionsBoundary")
	if err != nil {
		return nil, err
	}
	r, arn, err := q.role("", map[string][]string{"iam:PermissionsBoundary": {b}})
	if err != nil {
		return nil, err
	}
	if b, err = q.boundaryARN("PermissionsBoundary"); err != nil {
		return nil, err
	}
	if _, err := q.updateRoleRecord(r.Name, arn, func(r *store.Role) error { r.PermissionsBoundary = b; return nil }); err != nil {
		return nil, err
	}
	return q.empty(), nil
}

func (q *iamCall) deleteRolePermissionsBoundary() (any, error) {
	r, arn, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	if r.PermissionsBoundary == "" {
		return nil, noSuchEntity("The role with name %s does not have a permissions boundary.", r.Name)
	}
	if _, err := q.updateRoleRecord(r.Name, arn, func(r *store.Role) error { r.PermissionsBoundary = ""; return nil }); err != nil {
		return nil, err
	}
	return q.empty(), nil
}

func (q *iamCall) tagRole() (any, error) {
	tags, keys, err := q.parseTags("Tags")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, missing("tags")
	}
	r, arn, err := q.role("", requestTagKeys(tags, keys))
	if err != nil {
		return nil, err
	}
	_, err = q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for k, v := range tags {
			for old := range r.Tags {
				if strings.EqualFold(old, k) {
					delete(r.Tags, old)
				}
			}
			r.Tags[k] = v
		}
		if len(r.Tags) > store.MaxTagsPerResource {
			return limitExceeded("Cannot exceed quota for TagsPerRole: %d", store.MaxTagsPerResource)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

func (q *iamCall) untagRole() (any, error) {
	keys, err := q.f.strings("TagKeys")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, missing("tagKeys")
	}
	if len(keys) > store.MaxTagsPerResource {
		return nil, validationError("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", store.MaxTagsPerResource)
	}
	r, arn, err := q.role("", map[string][]string{"aws:TagKeys": keys})
	if err != nil {
		return nil, err
	}
	_, err = q.updateRoleRecord(r.Name, arn, func(r *store.Role) error {
		for _, k := range keys {
			for old := range r.Tags {
				if strings.EqualFold(old, k) {
					delete(r.Tags, old)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

type listTagsResult struct {
	XMLName     xml.Name
	Tags        []xmlTag `xml:"Tags>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (q *iamCall) listRoleTags() (any, error) {
	r, _, err := q.role("", nil)
	if err != nil {
		return nil, err
	}
	tags := xmlTags(r.Tags)
	start, end, next, err := q.page(len(tags))
	if err != nil {
		return nil, err
	}
	return listTagsResult{XMLName: xml.Name{Local: "ListRoleTagsResult"}, Tags: tags[start:end], IsTruncated: next != "", Marker: next}, nil
}

type listInstanceProfilesResult struct {
	XMLName          xml.Name `xml:"ListInstanceProfilesForRoleResult"`
	InstanceProfiles struct{} `xml:"InstanceProfiles"`
	IsTruncated      bool
}

// listInstanceProfilesForRole answers Terraform's role deletion: roam has
// no EC2 instance profiles, so the list is always empty.
func (q *iamCall) listInstanceProfilesForRole() (any, error) {
	if _, _, err := q.role("", nil); err != nil {
		return nil, err
	}
	if _, _, err := q.parsePage(); err != nil {
		return nil, err
	}
	return listInstanceProfilesResult{}, nil
}
