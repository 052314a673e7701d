package api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

// IAM managed policy operations.

type xmlPolicy struct {
	PolicyName                    string
	PolicyID                      string `xml:"PolicyId"`
	Arn                           string
	Path                          string
	DefaultVersionID              string `xml:"DefaultVersionId"`
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          []xmlTag `xml:"Tags>member,omitempty"`
}

func policyXML(p *store.Policy) xmlPolicy {
	path := p.Path
	if path == "" {
		path = "/"
	}
	return xmlPolicy{
		PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN, Path: path, DefaultVersionID: p.DefaultVersionID,
		AttachmentCount: p.AttachmentCount, IsAttachable: true, Description: p.Description,
		CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(p.UpdatedAt), Tags: xmlTags(p.Tags),
	}
}

type policyResult struct {
	XMLName xml.Name
	Policy  xmlPolicy
}

type xmlPolicyVersion struct {
	Document         string `xml:",omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool
	CreateDate       string
}

func versionXML(v *store.PolicyVersion, withDoc bool) xmlPolicyVersion {
	x := xmlPolicyVersion{VersionID: v.ID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}
	if withDoc {
		x.Document = urlEncodeDocument(v.Document)
	}
	return x
}

// managedPolicy reads PolicyArn, authorizes the operation on it and looks
// the policy up (after authorizing, so a refused caller learns nothing).
func (q *iamCall) managedPolicy(extra map[string][]string) (*store.Policy, error) {
	arn, err := q.policyARNParam()
	if err != nil {
		return nil, err
	}
	p, err := q.h.cfg.Store.GetPolicy(q.ctx, arn)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("iam: get policy: %w", err)
	}
	if p != nil {
		extra = resourceTags(p.Tags, extra)
	}
	if err := q.authorize("", arn, extra); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, noSuchEntity("Policy %s was not found.", truncate(arn))
	}
	return p, nil
}

func (q *iamCall) createPolicy() (any, error) {
	name, err := q.policyName()
	if err != nil {
		return nil, err
	}
	path, err := q.parsePath("Path")
	if err != nil {
		return nil, err
	}
	doc, err := q.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	desc, _, err := q.parseDescription()
	if err != nil {
		return nil, err
	}
	tags, keys, err := q.parseTags("Tags")
	if err != nil {
		return nil, err
	}
	arn := iam.PolicyARN(q.account, path, name)
	extra := requestTagKeys(tags, keys)
	if err := q.authorize("", arn, extra); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := q.authorize("iam:TagPolicy", arn, extra); err != nil {
			return nil, err
		}
	}
	if err := checkDocument(doc, policy.KindIdentity, false, name); err != nil {
		return nil, err
	}
	exists := entityAlreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
	if _, err := q.h.cfg.Store.GetPolicyByName(q.ctx, name); err == nil {
		// Managed policy names are unique in the account, whatever the path.
		return nil, exists
	}
	p, err := q.h.cfg.Store.CreatePolicy(q.ctx, &store.Policy{
		Name: name, ID: store.NewIAMID("ANPA"), Path: path, ARN: arn, Description: desc, Tags: tags,
	}, doc)
	if err != nil {
		return nil, storeErr(err, nil, exists, nil)
	}
	q.committed(arn)
	return policyResult{XMLName: xml.Name{Local: "CreatePolicyResult"}, Policy: policyXML(p)}, nil
}

func (q *iamCall) getPolicy() (any, error) {
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	x := policyXML(p)
	if x.PermissionsBoundaryUsageCount, err = q.boundaryUsage(p.ARN); err != nil {
		return nil, err
	}
	return policyResult{XMLName: xml.Name{Local: "GetPolicyResult"}, Policy: x}, nil
}

// boundaryUsage counts the roles whose permissions boundary is arn.
func (q *iamCall) boundaryUsage(arn string) (int, error) {
	n := 0
	token := ""
	for {
		roles, next, err := q.h.cfg.Store.ListRoles(q.ctx, store.ListOptions{MaxResults: store.MaxPageSize, NextToken: token})
		if err != nil {
			return 0, fmt.Errorf("iam: list roles: %w", err)
		}
		for _, r := range roles {
			if r.PermissionsBoundary == arn {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		token = next
	}
}

func (q *iamCall) deletePolicy() (any, error) {
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	if p.AttachmentCount > 0 {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	if n, err := q.boundaryUsage(p.ARN); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, deleteConflict("Cannot delete a policy used as a permissions boundary by %d role(s).", n)
	}
	if len(p.Versions) > 1 {
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	if _, err := q.h.cfg.Store.DeletePolicy(q.ctx, p.ARN); err != nil {
		return nil, storeErr(err, noSuchEntity("Policy %s was not found.", truncate(p.ARN)),
			deleteConflict("Cannot delete a policy attached to entities."), nil)
	}
	q.committed(p.ARN)
	return q.empty(), nil
}

type listPoliciesResult struct {
	XMLName     xml.Name    `xml:"ListPoliciesResult"`
	Policies    []xmlPolicy `xml:"Policies>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (q *iamCall) listPolicies() (any, error) {
	scope := q.f.get("Scope")
	switch scope {
	case "", "All", "Local", "AWS":
	default:
		return nil, constraint(scope, "scope", "Member must satisfy enum value set: [All, AWS, Local]")
	}
	onlyAttached := false
	if v, ok := q.f.str("OnlyAttached"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, validationError("Invalid value for OnlyAttached: %s", truncate(v))
		}
		onlyAttached = b
	}
	switch u := q.f.get("PolicyUsageFilter"); u {
	case "", "PermissionsPolicy", "PermissionsBoundary":
	default:
		return nil, constraint(u, "policyUsageFilter", "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]")
	}
	prefix := q.f.get("PathPrefix")
	marker, maxItems, err := q.parsePage()
	if err != nil {
		return nil, err
	}
	if err := q.authorize("", "*", nil); err != nil {
		return nil, err
	}
	res := listPoliciesResult{Policies: []xmlPolicy{}}
	if scope == "AWS" {
		// roam holds no AWS managed policies.
		return res, nil
	}
	ps, next, err := q.h.cfg.Store.ListPolicies(q.ctx, store.ListOptions{MaxResults: maxItems, NextToken: marker})
	if err != nil {
		return nil, storeErr(err, nil, nil, nil)
	}
	res.IsTruncated, res.Marker = next != "", next
	for _, p := range ps {
		x := policyXML(p)
		if onlyAttached && p.AttachmentCount == 0 || prefix != "" && !strings.HasPrefix(x.Path, prefix) {
			continue
		}
		x.Tags = nil // ListPolicies omits tags, as IAM does
		res.Policies = append(res.Policies, x)
	}
	return res, nil
}

type policyVersionResult struct {
	XMLName       xml.Name
	PolicyVersion xmlPolicyVersion
}

func (q *iamCall) createPolicyVersion() (any, error) {
	doc, err := q.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	setDefault := false
	if v, ok := q.f.str("SetAsDefault"); ok {
		if setDefault, err = strconv.ParseBool(v); err != nil {
			return nil, validationError("Invalid value for SetAsDefault: %s", truncate(v))
		}
	}
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.KindIdentity, false, p.Name); err != nil {
		return nil, err
	}
	v, err := q.h.cfg.Store.CreatePolicyVersion(q.ctx, p.ARN, doc, setDefault)
	if err != nil {
		return nil, storeErr(err, noSuchEntity("Policy %s was not found.", truncate(p.ARN)), nil,
			limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", store.MaxPolicyVersions))
	}
	q.committed(p.ARN)
	return policyVersionResult{XMLName: xml.Name{Local: "CreatePolicyVersionResult"}, PolicyVersion: versionXML(v, false)}, nil
}

// versionID reads and checks VersionId (v1, v2, …).
func (q *iamCall) versionID() (string, error) {
	id, err := q.required("VersionId")
	if err != nil {
		return "", err
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(id, "v")); err != nil || !strings.HasPrefix(id, "v") || n < 1 {
		return "", constraint(id, "versionId", `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	}
	return id, nil
}

func findVersion(p *store.Policy, id string) (*store.PolicyVersion, bool) {
	for i := range p.Versions {
		if p.Versions[i].ID == id {
			v := p.Versions[i]
			v.IsDefault = v.ID == p.DefaultVersionID
			return &v, true
		}
	}
	return nil, false
}

func (q *iamCall) getPolicyVersion() (any, error) {
	id, err := q.versionID()
	if err != nil {
		return nil, err
	}
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	v, ok := findVersion(p, id)
	if !ok {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", truncate(p.ARN), id)
	}
	return policyVersionResult{XMLName: xml.Name{Local: "GetPolicyVersionResult"}, PolicyVersion: versionXML(v, true)}, nil
}

type listPolicyVersionsResult struct {
	XMLName     xml.Name           `xml:"ListPolicyVersionsResult"`
	Versions    []xmlPolicyVersion `xml:"Versions>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (q *iamCall) listPolicyVersions() (any, error) {
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	// Newest first, as IAM lists them.
	all := make([]xmlPolicyVersion, 0, len(p.Versions))
	for i := len(p.Versions) - 1; i >= 0; i-- {
		v, _ := findVersion(p, p.Versions[i].ID)
		all = append(all, versionXML(v, false))
	}
	start, end, next, err := q.page(len(all))
	if err != nil {
		return nil, err
	}
	return listPolicyVersionsResult{Versions: all[start:end], IsTruncated: next != "", Marker: next}, nil
}

func (q *iamCall) deletePolicyVersion() (any, error) {
	id, err := q.versionID()
	if err != nil {
		return nil, err
	}
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	if _, ok := findVersion(p, id); !ok {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", truncate(p.ARN), id)
	}
	if id == p.DefaultVersionID {
		return nil, deleteConflict("Cannot delete the default version of a policy.")
	}
	if err := q.h.cfg.Store.DeletePolicyVersion(q.ctx, p.ARN, id); err != nil {
		return nil, storeErr(err, noSuchEntity("Policy %s version %s does not exist or is not attachable.", truncate(p.ARN), id),
			deleteConflict("Cannot delete the default version of a policy."), nil)
	}
	q.committed(p.ARN)
	return q.empty(), nil
}

func (q *iamCall) setDefaultPolicyVersion() (any, error) {
	id, err := q.versionID()
	if err != nil {
		return nil, err
	}
	p, err := q.managedPolicy(nil)
	if err != nil {
		return nil, err
	}
	if _, ok := findVersion(p, id); !ok {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", truncate(p.ARN), id)
	}
	if err := q.h.cfg.Store.SetDefaultPolicyVersion(q.ctx, p.ARN, id); err != nil {
		return nil, storeErr(err, noSuchEntity("Policy %s version %s does not exist or is not attachable.", truncate(p.ARN), id), nil, nil)
	}
	q.committed(p.ARN)
	return q.empty(), nil
}
