package api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/policy"
)

// STSNamespace is the XML namespace of STS responses.
const STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// stsVersion is the STS API version.
const stsVersion = "2011-06-15"

var errNotConfigured = apierr.New("ServiceUnavailable", http.StatusServiceUnavailable, "The service is starting; retry shortly.")

func (h *Handler) stsError(w http.ResponseWriter, r *http.Request, err error) {
	h.queryError(w, r, STSNamespace, err)
}

// serveSTS answers an authenticated STS request.
func (h *Handler) serveSTS(w http.ResponseWriter, r *http.Request, body []byte, rc *sts.RequestContext) {
	params, err := queryParams(r, body)
	if err != nil {
		h.stsError(w, r, err)
		return
	}
	action := params.Get("Action")
	var result any
	switch action {
	case "GetCallerIdentity":
		// No permission is needed and no policy can deny it.
		s := rc.Session
		result = getCallerIdentityResult{Arn: s.AssumedRoleARN(), UserID: s.UserID(), Account: s.Account}
	case "AssumeRole":
		result, err = h.assumeRole(r, rc, params)
	case "":
		err = apierr.New("MissingAction", http.StatusBadRequest, "Missing Action")
	default:
		err = apierr.New("InvalidAction", http.StatusBadRequest, "Could not find operation %s for version %s", truncate(action), stsVersion)
	}
	if err != nil {
		h.stsError(w, r, err)
		return
	}
	h.writeQueryResult(w, r, STSNamespace, action, result)
}

type getCallerIdentityResult struct {
	XMLName xml.Name `xml:"GetCallerIdentityResult"`
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}

type assumeRoleResult struct {
	XMLName         xml.Name `xml:"AssumeRoleResult"`
	SourceIdentity  string   `xml:",omitempty"`
	AssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string
	}
	Credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	PackedPolicySize int
}

// STS parameter patterns (BOTO-STS).
//
// Compiled on first use (sync.OnceValue): most commands never validate
// these, and compiling them at start-up cost every invocation.
var (
	namePattern     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]*$`) })
	tagKeyPattern   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`) })
	tagValuePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`) })
)

// constraint is the AWS wording of one failed parameter constraint.
func constraint(value, member, rule string) *apierr.Error {
	return validationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", truncate(value), member, rule)
}

func checkName(v, member string, required bool) error {
	if v == "" {
		if required {
			return validationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
		}
		return nil
	}
	if n := utf8.RuneCountInString(v); n < 2 || n > 64 {
		return constraint(v, member, "Member must have length between 2 and 64")
	}
	if !namePattern().MatchString(v) {
		return constraint(v, member, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	return nil
}

// assumeRoleInput is AssumeRole's parameters, checked.
type assumeRoleInput struct {
	roleARN, sessionName, sourceIdentity, externalID, policy string
	duration                                                 time.Duration
	tags                                                     []sts.Tag
	policyARNs                                               []string
}

func parseAssumeRole(p url.Values) (*assumeRoleInput, error) {
	in := &assumeRoleInput{roleARN: p.Get("RoleArn"), sessionName: p.Get("RoleSessionName"),
		sourceIdentity: p.Get("SourceIdentity"), externalID: p.Get("ExternalId"), policy: p.Get("Policy"), duration: time.Hour}
	if in.roleARN == "" {
		return nil, validationError("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if n := len(in.roleARN); n < 20 || n > 2048 {
		return nil, constraint(in.roleARN, "roleArn", "Member must have length between 20 and 2048")
	}
	if err := checkName(in.sessionName, "roleSessionName", true); err != nil {
		return nil, err
	}
	if err := checkName(in.sourceIdentity, "sourceIdentity", false); err != nil {
		return nil, err
	}
	if d := p.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil:
			return nil, validationError("Value '%s' for parameter DurationSeconds is invalid.", truncate(d))
		case n < 900:
			return nil, constraint(d, "durationSeconds", "Member must have value greater than or equal to 900")
		case n > 43200:
			return nil, constraint(d, "durationSeconds", "Member must have value less than or equal to 43200")
		}
		in.duration = time.Duration(n) * time.Second
	}
	if n := utf8.RuneCountInString(in.policy); n > 2048 {
		return nil, apierr.New("PackedPolicyTooLarge", http.StatusBadRequest, "The inline session policy is %d characters; at most 2048 are allowed.", n)
	}
	if in.externalID != "" && (len(in.externalID) < 2 || len(in.externalID) > 1224) {
		return nil, constraint(in.externalID, "externalId", "Member must have length between 2 and 1224")
	}
	if p.Get("SerialNumber") != "" || p.Get("TokenCode") != "" {
		return nil, queryAccessDenied("MultiFactorAuthentication failed: roam does not support MFA.")
	}
	for i := 1; ; i++ {
		a := p.Get(fmt.Sprintf("PolicyArns.member.%d.arn", i))
		if a == "" {
			break
		}
		if i > 10 {
			return nil, constraint("", "policyArns", "Member must have length less than or equal to 10")
		}
		in.policyARNs = append(in.policyARNs, a)
	}
	transitive := map[string]bool{}
	for i := 1; ; i++ {
		k := p.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i))
		if k == "" {
			break
		}
		transitive[strings.ToLower(k)] = true
	}
	for i := 1; ; i++ {
		k, hasKey := p[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !hasKey {
			break
		}
		key, val := k[0], p.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		if n := utf8.RuneCountInString(key); n < 1 || n > 128 || !tagKeyPattern().MatchString(key) {
			return nil, constraint(key, fmt.Sprintf("tags.%d.member.key", i), `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+ and have length between 1 and 128`)
		}
		if utf8.RuneCountInString(val) > 256 || !tagValuePattern().MatchString(val) {
			return nil, constraint(val, fmt.Sprintf("tags.%d.member.value", i), `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]* and have length less than or equal to 256`)
		}
		for _, t := range in.tags {
			if strings.EqualFold(t.Key, key) {
				return nil, apierr.New("InvalidParameterValue", http.StatusBadRequest, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
		in.tags = append(in.tags, sts.Tag{Key: key, Value: val, Transitive: transitive[strings.ToLower(key)]})
		delete(transitive, strings.ToLower(key))
	}
	if len(in.tags) > 50 {
		return nil, constraint("", "tags", "Member must have length less than or equal to 50")
	}
	if len(transitive) > 0 {
		return nil, apierr.New("InvalidParameterValue", http.StatusBadRequest, "The specified transitive tag key must be included in the requested tags.")
	}
	return in, nil
}

// assumeRole is AssumeRole made with a roam session's credentials: role
// chaining. The target role's trust policy must allow the calling session
// (by its session ARN, its role's ARN, or its account with the caller's
// identity policies allowing) to perform sts:AssumeRole, plus sts:TagSession
// when the new session has tags and sts:SetSourceIdentity when it has a
// source identity. Chained sessions last at most an hour, keep the caller's
// source identity and carry its transitive tags.
func (h *Handler) assumeRole(r *http.Request, rc *sts.RequestContext, p url.Values) (any, error) {
	in, err := parseAssumeRole(p)
	if err != nil {
		return nil, err
	}
	snap := h.cfg.Sessions.Snapshot()
	if snap == nil || h.cfg.Keyring == nil {
		return nil, errNotConfigured
	}
	caller := rc.Session
	denied := queryAccessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.AssumedRoleARN(), truncate(in.roleARN))
	target, ok := snap.Role(in.roleARN)
	if !ok {
		return nil, denied.WithCause(errors.New("no such role"))
	}
	tags, err := sts.ChainedTags(caller, in.tags)
	if err != nil {
		return nil, err
	}
	sourceIdentity, err := sts.ChainedSourceIdentity(caller, in.sourceIdentity)
	if err != nil {
		return nil, err
	}

	// The trust policy, with the caller's identity-based, boundary and
	// session policies for a trust policy that names only the account.
	ps, err := callerPolicies(snap, caller)
	if err != nil {
		return nil, denied.WithCause(err)
	}
	ps.Trust = target.Trust
	ctx := assumeRoleContext(rc, in, tags, sourceIdentity)
	actions := []string{"sts:AssumeRole"}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	for _, a := range actions {
		req := &policy.Request{Principal: rc.Principal, Action: a, Resource: target.ARN, Context: ctx}
		if d := ps.Evaluate(req); d != policy.Allow {
			if a == "sts:AssumeRole" {
				return nil, denied.WithCause(fmt.Errorf("trust policy: %s", d))
			}
			return nil, queryAccessDenied("User: %s is not authorized to perform: %s on resource: %s", caller.AssumedRoleARN(), a, target.ARN).
				WithCause(fmt.Errorf("trust policy: %s", d))
		}
	}

	// Duration: an hour at most for a chained session, and not above the
	// role's maximum.
	maxDur := time.Duration(target.Record.MaxSessionDuration) * time.Second
	if maxDur == 0 {
		maxDur = time.Hour
	}
	if in.duration > time.Hour {
		return nil, validationError("%s", sts.MsgChainedDuration)
	}
	if in.duration > maxDur {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	for _, a := range in.policyARNs {
		if _, ok := snap.ManagedPolicy(a); !ok {
			return nil, apierr.New("InvalidParameterValue", http.StatusBadRequest, "Policy %s does not exist or is not attachable.", truncate(a))
		}
	}
	if in.policy != "" {
		if _, err := policy.Parse([]byte(in.policy), policy.ParseOptions{Kind: policy.KindSession}); err != nil {
			return nil, apierr.New("MalformedPolicyDocument", http.StatusBadRequest, "%v", err)
		}
	}
	spec, err := h.cfg.Keyring.ChainSpec(caller, sts.ChainRequest{
		RoleARN: target.ARN, RoleID: target.Record.ID, SessionName: in.sessionName, Duration: in.duration,
		SourceIdentity: sourceIdentity, Tags: in.tags, SessionPolicy: in.policy, PolicyARNs: in.policyARNs,
		IssuedAt: rc.Time,
	})
	if err != nil {
		return nil, err
	}
	creds, err := h.cfg.Keyring.Mint(spec)
	if err != nil {
		if errors.Is(err, sts.ErrInvalidSpec) {
			return nil, apierr.New("PackedPolicyTooLarge", http.StatusBadRequest, "The session policies and tags are too large.").WithCause(err)
		}
		return nil, err
	}
	var res assumeRoleResult
	res.SourceIdentity = sourceIdentity
	res.AssumedRoleUser.Arn = "arn:aws:sts::" + snap.Account + ":assumed-role/" + target.Record.Name + "/" + in.sessionName
	res.AssumedRoleUser.AssumedRoleID = target.Record.ID + ":" + in.sessionName
	res.Credentials.AccessKeyID = creds.AccessKeyID
	res.Credentials.SecretAccessKey = creds.SecretAccessKey
	res.Credentials.SessionToken = creds.SessionToken
	res.Credentials.Expiration = creds.Expiration.UTC().Format(time.RFC3339)
	// The share of the token's capacity the session's policies and tags
	// use, as a percentage (AWS's packed size has no exact equivalent).
	res.PackedPolicySize = (len(creds.SessionToken)*100 + sts.MaxSessionTokenLen - 1) / sts.MaxSessionTokenLen
	return res, nil
}

// callerPolicies returns the policies that bound what the calling session may
// do: its role's identity-based policies and boundary and its session
// policies. A session policy that cannot be resolved fails closed.
func callerPolicies(snap *anywhere.Snapshot, s *sts.Session) (*policy.PolicySet, error) {
	ps := &policy.PolicySet{}
	ri, ok := snap.Role(s.RoleARN)
	if !ok {
		return nil, fmt.Errorf("the calling session's role %s no longer exists", s.RoleARN)
	}
	ps.Identity = ri.Identity
	if ri.Record.PermissionsBoundary != "" {
		ps.HasBoundary = true
		if ri.Boundary != nil {
			ps.Boundary = []*policy.Policy{ri.Boundary}
		}
	}
	if s.SessionPolicy != "" || len(s.PolicyARNs) > 0 {
		ps.HasSession = true
		if s.SessionPolicy != "" {
			if sp, err := policy.Parse([]byte(s.SessionPolicy), policy.ParseOptions{Kind: policy.KindSession, Name: "session policy", MaxSize: -1}); err == nil {
				ps.Session = append(ps.Session, sp)
			}
		}
		for _, a := range s.PolicyARNs {
			if mp, ok := snap.ManagedPolicy(a); ok {
				ps.Session = append(ps.Session, mp)
			}
		}
	}
	return ps, nil
}

// assumeRoleContext is the caller's request context plus the keys AssumeRole
// adds: sts:RoleSessionName, sts:ExternalId, sts:SourceIdentity,
// aws:RequestTag/*, aws:TagKeys and sts:TransitiveTagKeys.
func assumeRoleContext(rc *sts.RequestContext, in *assumeRoleInput, tags []sts.Tag, sourceIdentity string) *policy.Context {
	c := policy.NewContext()
	for _, k := range rc.Context.Keys() {
		v, _ := rc.Context.Get(k)
		c.Set(k, v...)
	}
	c.Set("sts:RoleSessionName", in.sessionName)
	if in.externalID != "" {
		c.Set("sts:ExternalId", in.externalID)
	}
	if sourceIdentity != "" {
		c.Set("sts:SourceIdentity", sourceIdentity)
	}
	var keys, transitive []string
	for _, t := range tags {
		c.Set("aws:RequestTag/"+t.Key, t.Value)
		keys = append(keys, t.Key)
		if t.Transitive {
			transitive = append(transitive, t.Key)
		}
	}
	if len(keys) > 0 {
		c.Set("aws:TagKeys", keys...)
	}
	if len(transitive) > 0 {
		c.Set("sts:TransitiveTagKeys", transitive...)
	}
	return c
}

// truncate shortens client-supplied text echoed in messages.
func truncate(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
