package api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

// The IAM policy simulator, backed by policy.PolicySet.Explain.

var simulateParams = []string{"PolicyInputList[]", "PermissionsBoundaryPolicyInputList[]", "ActionNames[]",
	"ResourceArns[]", "ResourcePolicy", "ResourceOwner", "CallerArn", "ContextEntries[]", "ResourceHandlingOption",
	"MaxItems", "Marker"}

type xmlStatement struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string
}

type xmlEvalResult struct {
	EvalActionName       string
	EvalResourceName     string
	EvalDecision         string
	MatchedStatements    []xmlStatement `xml:"MatchedStatements>member"`
	MissingContextValues []string       `xml:"MissingContextValues>member"`
}

type simulateResult struct {
	XMLName           xml.Name
	EvaluationResults []xmlEvalResult `xml:"EvaluationResults>member"`
	IsTruncated       bool
}

// simulation is what a simulation evaluates: the policies, with the type
// each is reported as, and the principal.
type simulation struct {
	ps        policy.PolicySet
	types     map[string]string // policy name → SourcePolicyType
	principal policy.Principal
}

// parseInputs parses the documents of a PolicyInputList-style list as kind,
// naming them "LIST.N" as IAM does.
func (q *iamCall) parseInputs(list string, kind policy.Kind, sim *simulation) ([]*policy.Policy, error) {
	docs, err := q.f.strings(list)
	if err != nil {
		return nil, err
	}
	var out []*policy.Policy
	for i, d := range docs {
		name := fmt.Sprintf("%s.%d", list, i+1)
		if err := checkDocument(d, kind, kind == policy.KindIdentity, name); err != nil {
			return nil, err
		}
		p, err := policy.Parse([]byte(d), policy.ParseOptions{Kind: kind, Name: name, Inline: true, MaxSize: -1})
		if err != nil {
			return nil, malformedPolicy("%s", truncateMsg(err.Error()))
		}
		sim.types[name] = "none"
		out = append(out, p)
	}
	return out, nil
}

// simulateContext reads ContextEntries.member.N.{ContextKeyName,
// ContextKeyValues.member.M, ContextKeyType}.
func (q *iamCall) simulateContext() (*policy.Context, error) {
	c := policy.NewContext()
	ms, err := q.f.list("ContextEntries")
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		if err := m.checkAllowed(fmt.Sprintf("ContextEntries.member.%d", i+1), []string{"ContextKeyName", "ContextKeyValues[]", "ContextKeyType"}); err != nil {
			return nil, err
		}
		k := m.get("ContextKeyName")
		if k == "" || len(k) > 256 {
			return nil, invalidInput("ContextEntries.member.%d.ContextKeyName must be 5-256 characters.", i+1)
		}
		vals, err := m.strings("ContextKeyValues")
		if err != nil {
			return nil, err
		}
		c.Set(k, vals...)
	}
	return c, nil
}

// run evaluates every action on every resource.
func (q *iamCall) runSimulation(sim *simulation) (any, error) {
	actions, err := q.f.strings("ActionNames")
	if err != nil {
		return nil, err
	}
	if len(actions) == 0 {
		return nil, missing("actionNames")
	}
	resources, err := q.f.strings("ResourceArns")
	if err != nil {
		return nil, err
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	if len(actions)*len(resources) > 1000 {
		return nil, invalidInput("Too many action and resource combinations: at most 1000.")
	}
	ctx, err := q.simulateContext()
	if err != nil {
		return nil, err
	}
	res := simulateResult{XMLName: xml.Name{Local: q.action + "Result"}, EvaluationResults: []xmlEvalResult{}}
	for _, a := range actions {
		for _, r := range resources {
			ex := sim.ps.Explain(&policy.Request{Principal: sim.principal, Action: a, Resource: r, Context: ctx})
			er := xmlEvalResult{EvalActionName: a, EvalResourceName: r, MatchedStatements: []xmlStatement{}}
			refs := ex.Allowed
			switch ex.Decision {
			case policy.Allow:
				er.EvalDecision = "allowed"
			case policy.ExplicitDeny:
				er.EvalDecision, refs = "explicitDeny", ex.Denied
			default:
				er.EvalDecision, refs = "implicitDeny", nil
			}
			for _, ref := range refs {
				typ := sim.types[ref.Policy]
				if typ == "" {
					typ = "none"
				}
				er.MatchedStatements = append(er.MatchedStatements, xmlStatement{SourcePolicyID: ref.Policy, SourcePolicyType: typ})
			}
			res.EvaluationResults = append(res.EvaluationResults, er)
		}
	}
	return res, nil
}

func (q *iamCall) simulateCustomPolicy() (any, error) {
	if err := q.authorize("", "*", nil); err != nil {
		return nil, err
	}
	sim := &simulation{types: map[string]string{}}
	ids, err := q.parseInputs("PolicyInputList", policy.KindIdentity, sim)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, missing("policyInputList")
	}
	sim.ps.Identity = ids
	bs, err := q.parseInputs("PermissionsBoundaryPolicyInputList", policy.KindBoundary, sim)
	if err != nil {
		return nil, err
	}
	sim.ps.Boundary = bs
	if ca := q.f.get("CallerArn"); ca != "" {
		sim.principal = policy.PrincipalFromARN(ca)
	}
	return q.runSimulation(sim)
}

func (q *iamCall) simulatePrincipalPolicy() (any, error) {
	src, err := q.required("PolicySourceArn")
	if err != nil {
		return nil, err
	}
	if err := q.authorize("", src, nil); err != nil {
		return nil, err
	}
	sim := &simulation{types: map[string]string{}, principal: policy.PrincipalFromARN(src)}
	snap := q.h.cfg.Sessions.Snapshot()
	switch {
	case strings.Contains(src, ":role/"):
		ri, ok := snap.Role(src)
		if !ok {
			return nil, noSuchEntity("The role with ARN %s cannot be found.", truncate(src))
		}
		sim.principal.ID = ri.Record.ID
		sim.ps.Identity = append(sim.ps.Identity, ri.Identity...)
		for n := range ri.Record.InlinePolicies {
			sim.types[n] = "role"
		}
		for _, a := range ri.Record.AttachedPolicies {
			if n, _, ok := iam.PolicyNameFromARN(a); ok {
				sim.types[n] = "user-managed"
			}
		}
		if ri.Record.PermissionsBoundary != "" {
			sim.ps.HasBoundary = true
			if ri.Boundary != nil {
				sim.ps.Boundary = append(sim.ps.Boundary, ri.Boundary)
			}
		}
	case strings.Contains(src, ":user/"):
		name := src[strings.LastIndexByte(src, '/')+1:]
		u, err := q.h.cfg.Store.GetUser(q.ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, noSuchEntity("The user with ARN %s cannot be found.", truncate(src))
		} else if err != nil {
			return nil, fmt.Errorf("iam: get user: %w", err)
		}
		ups, err := q.h.userPolicies(q.ctx, snap, u)
		if err != nil {
			return nil, fmt.Errorf("iam: simulate: %w", err)
		}
		sim.principal.ID = u.ID
		sim.ps.Identity = ups.Identity
		for n := range u.InlinePolicies {
			sim.types[n] = "user"
		}
		for _, a := range u.AttachedPolicies {
			if n, _, ok := iam.PolicyNameFromARN(a); ok {
				sim.types[n] = "user-managed"
			}
		}
	default:
		return nil, invalidInput("PolicySourceArn %s is not a user or role ARN.", truncate(src))
	}
	extra, err := q.parseInputs("PolicyInputList", policy.KindIdentity, sim)
	if err != nil {
		return nil, err
	}
	sim.ps.Identity = append(sim.ps.Identity, extra...)
	bs, err := q.parseInputs("PermissionsBoundaryPolicyInputList", policy.KindBoundary, sim)
	if err != nil {
		return nil, err
	}
	if len(bs) > 0 {
		sim.ps.Boundary, sim.ps.HasBoundary = bs, true
	}
	return q.runSimulation(sim)
}
