package api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
	"github.com/roam-project/roam/sigv4"
)

// The IAM query API subset roam serves (docs/service.md §5): roles and
// their inline, attached and boundary policies, managed policies and their
// versions, admin users and their access keys, and the policy simulator.
// Every call is authenticated (h.authenticate, service "iam", any region)
// and authorized with the IAM action of the same name; every mutation
// reloads the configuration snapshot at once.

// IAMNamespace is the XML namespace of IAM responses.
const IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// iamVersion is the IAM API version.
const iamVersion = "2010-05-08"

// iamService is the SigV4 signing name of IAM.
const iamService = "iam"

// iamCall is one IAM request being served.
type iamCall struct {
	h       *Handler
	r       *http.Request
	ctx     context.Context
	c       *Caller
	f       *formNode
	action  string
	account string
	// For the audit event of a change: the record before it (captured at
	// the first authorize) and the resource committed changed.
	before, changedResource string
	beforeTaken, changed    bool
}

// iamOp is one IAM operation: its parameters (names ending in "[]" are
// lists) and its implementation, which returns the XML result (a struct
// whose XMLName is ActionResult) or an error.
type iamOp struct {
	params []string
	run    func(*iamCall) (any, error)
}

// Parameters every operation accepts.
var iamCommonParams = []string{"Action", "Version"}

// Parameters of the list operations.
var pageParams = []string{"Marker", "MaxItems"}

func params(p ...[]string) []string { return slices.Concat(p...) }

// iamOps is the dispatch table of IAM operations.
var iamOps map[string]iamOp

func init() {
	iamOps = map[string]iamOp{
		"CreateRole":                    {params([]string{"RoleName", "Path", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration", "PermissionsBoundary", "Tags[]"}), (*iamCall).createRole},
		"GetRole":                       {[]string{"RoleName"}, (*iamCall).getRole},
		"UpdateRole":                    {[]string{"RoleName", "Description", "MaxSessionDuration"}, (*iamCall).updateRole},
		"UpdateRoleDescription":         {[]string{"RoleName", "Description"}, (*iamCall).updateRole},
		"DeleteRole":                    {[]string{"RoleName"}, (*iamCall).deleteRole},
		"ListRoles":                     {params([]string{"PathPrefix"}, pageParams), (*iamCall).listRoles},
		"UpdateAssumeRolePolicy":        {[]string{"RoleName", "PolicyDocument"}, (*iamCall).updateAssumeRolePolicy},
		"PutRolePolicy":                 {[]string{"RoleName", "PolicyName", "PolicyDocument"}, (*iamCall).putRolePolicy},
		"GetRolePolicy":                 {[]string{"RoleName", "PolicyName"}, (*iamCall).getRolePolicy},
		"DeleteRolePolicy":              {[]string{"RoleName", "PolicyName"}, (*iamCall).deleteRolePolicy},
		"ListRolePolicies":              {params([]string{"RoleName"}, pageParams), (*iamCall).listRolePolicies},
		"AttachRolePolicy":              {[]string{"RoleName", "PolicyArn"}, (*iamCall).attachRolePolicy},
		"DetachRolePolicy":              {[]string{"RoleName", "PolicyArn"}, (*iamCall).detachRolePolicy},
		"ListAttachedRolePolicies":      {params([]string{"RoleName", "PathPrefix"}, pageParams), (*iamCall).listAttachedRolePolicies},
		"PutRolePermissionsBoundary":    {[]string{"RoleName", "PermissionsBoundary"}, (*iamCall).putRolePermissionsBoundary},
		"DeleteRolePermissionsBoundary": {[]string{"RoleName"}, (*iamCall).deleteRolePermissionsBoundary},
		"TagRole":                       {[]string{"RoleName", "Tags[]"}, (*iamCall).tagRole},
		"UntagRole":                     {[]string{"RoleName", "TagKeys[]"}, (*iamCall).untagRole},
		"ListRoleTags":                  {params([]string{"RoleName"}, pageParams), (*iamCall).listRoleTags},
		"CreatePolicy":                  {[]string{"PolicyName", "Path", "PolicyDocument", "Description", "Tags[]"}, (*iamCall).createPolicy},
		"GetPolicy":                     {[]string{"PolicyArn"}, (*iamCall).getPolicy},
		"DeletePolicy":                  {[]string{"PolicyArn"}, (*iamCall).deletePolicy},
		"ListPolicies":                  {params([]string{"Scope", "OnlyAttached", "PathPrefix", "PolicyUsageFilter"}, pageParams), (*iamCall).listPolicies},
		"CreatePolicyVersion":           {[]string{"PolicyArn", "PolicyDocument", "SetAsDefault"}, (*iamCall).createPolicyVersion},
		"GetPolicyVersion":              {[]string{"PolicyArn", "VersionId"}, (*iamCall).getPolicyVersion},
		"ListPolicyVersions":            {params([]string{"PolicyArn"}, pageParams), (*iamCall).listPolicyVersions},
		"DeletePolicyVersion":           {[]string{"PolicyArn", "VersionId"}, (*iamCall).deletePolicyVersion},
		"SetDefaultPolicyVersion":       {[]string{"PolicyArn", "VersionId"}, (*iamCall).setDefaultPolicyVersion},
		"CreateUser":                    {[]string{"UserName", "Path", "Tags[]"}, (*iamCall).createUser},
		"GetUser":                       {[]string{"UserName"}, (*iamCall).getUser},
		"DeleteUser":                    {[]string{"UserName"}, (*iamCall).deleteUser},
		"CreateAccessKey":               {[]string{"UserName"}, (*iamCall).createAccessKey},
		"DeleteAccessKey":               {[]string{"UserName", "AccessKeyId"}, (*iamCall).deleteAccessKey},
		"UpdateAccessKey":               {[]string{"UserName", "AccessKeyId", "Status"}, (*iamCall).updateAccessKey},
		"ListAccessKeys":                {params([]string{"UserName"}, pageParams), (*iamCall).listAccessKeys},
		"AttachUserPolicy":              {[]string{"UserName", "PolicyArn"}, (*iamCall).attachUserPolicy},
		"DetachUserPolicy":              {[]string{"UserName", "PolicyArn"}, (*iamCall).detachUserPolicy},
		"ListAttachedUserPolicies":      {params([]string{"UserName", "PathPrefix"}, pageParams), (*iamCall).listAttachedUserPolicies},
		"SimulatePrincipalPolicy":       {params(simulateParams, []string{"PolicySourceArn"}), (*iamCall).simulatePrincipalPolicy},
		"SimulateCustomPolicy":          {params(simulateParams), (*iamCall).simulateCustomPolicy},
		"ListInstanceProfilesForRole":   {params([]string{"RoleName"}, pageParams), (*iamCall).listInstanceProfilesForRole},
	}
}

func (h *Handler) iamError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *formError
	if errors.As(err, &fe) {
		err = validationError("%s", fe.msg)
	}
	h.queryError(w, r, IAMNamespace, err)
}

// serveIAM answers an IAM query request: it parses the parameters,
// authenticates the caller and runs the operation.
func (h *Handler) serveIAM(w http.ResponseWriter, r *http.Request, body []byte) {
	values, err := queryParams(r, body)
	if err != nil {
		h.iamError(w, r, err)
		return
	}
	// Presigned-URL authentication parameters are not operation parameters.
	for k := range values {
		if len(k) > 6 && strings.EqualFold(k[:6], "X-Amz-") {
			delete(values, k)
		}
	}
	action := values.Get("Action")
	if v := values.Get("Version"); v != "" && v != iamVersion {
		h.iamError(w, r, apierr.New("InvalidAction", http.StatusBadRequest, "Could not find operation %s for version %s", truncate(action), truncate(v)))
		return
	}
	op, ok := iamOps[action]
	if !ok {
		if action == "" {
			err = apierr.New("MissingAction", http.StatusBadRequest, "Missing Action")
		} else {
			err = apierr.New("InvalidAction", http.StatusBadRequest, "Could not find operation %s for version %s", truncate(action), iamVersion)
		}
		h.iamError(w, r, err)
		return
	}
	// Authenticate before looking at the parameters, so that an
	// unauthenticated caller learns nothing about them.
	c, err := h.authenticate(r, body, iamService)
	if err != nil {
		h.auditRefusal(r, nil, "iam:"+action, "", err)
		h.iamError(w, r, err)
		return
	}
	f, err := parseForm(values)
	if err == nil {
		err = f.checkAllowed(action, params(iamCommonParams, op.params))
	}
	if err != nil {
		h.iamError(w, r, err)
		return
	}
	snap := h.cfg.Sessions.Snapshot()
	call := &iamCall{h: h, r: r, ctx: r.Context(), c: c, f: f, action: action, account: snap.Account}
	result, err := op.run(call)
	if err != nil {
		h.auditRefusal(r, c, "iam:"+action, call.changedResource, err)
		h.iamError(w, r, err)
		return
	}
	if call.changed {
		after := h.iamRecordDoc(call.ctx, call.changedResource)
		if err := h.auditChange(r, c, "iam:"+action, call.changedResource, call.before, after); err != nil {
			h.iamError(w, r, err)
			return
		}
	}
	h.writeQueryResult(w, r, IAMNamespace, action, result)
}

// committed records a successful mutation (an audit line with who, what
// and which resource; never a document or a secret) and reloads the
// configuration snapshot so that CreateSession, STS and the gateway see it
// at once. The change is committed: a failed reload is logged, not
// returned (the server's version poll retries it).
func (q *iamCall) committed(resource string) {
	q.changed, q.changedResource = true, resource
	q.h.changed(q.ctx, q.c, q.action, resource)
}

// changed is committed for any control-plane edge.
func (h *Handler) changed(ctx context.Context, c *Caller, action, resource string) {
	h.cfg.Logger.InfoContext(ctx, "control-plane change", "request_id", RequestID(ctx),
		"caller", c.ARN, "access_key_id", c.AccessKeyID, "action", action, "resource", resource)
	if h.cfg.Reload != nil {
		if err := h.cfg.Reload(ctx); err != nil {
			h.cfg.Logger.ErrorContext(ctx, "configuration reload after change failed", "request_id", RequestID(ctx), "err", err)
		}
	}
}

// authorize checks the caller for iam:ACTION (the operation's own action
// unless given) on resource.
func (q *iamCall) authorize(action, resource string, extra map[string][]string) error {
	if action == "" {
		action = "iam:" + q.action
	}
	if !q.beforeTaken && isMutation("iam:"+q.action) && resource != "" && resource != "*" {
		q.beforeTaken, q.before = true, q.h.iamRecordDoc(q.ctx, resource)
	}
	return q.h.authorize(q.c, action, resource, extra)
}

// ---- Errors ----

func noSuchEntity(format string, args ...any) *apierr.Error {
	return apierr.New("NoSuchEntity", http.StatusNotFound, format, args...)
}

func entityAlreadyExists(format string, args ...any) *apierr.Error {
	return apierr.New("EntityAlreadyExists", http.StatusConflict, format, args...)
}

func limitExceeded(format string, args ...any) *apierr.Error {
	return apierr.New("LimitExceeded", http.StatusConflict, format, args...)
}

func deleteConflict(format string, args ...any) *apierr.Error {
	return apierr.New("DeleteConflict", http.StatusConflict, format, args...)
}

func malformedPolicy(format string, args ...any) *apierr.Error {
	return apierr.New("MalformedPolicyDocument", http.StatusBadRequest, format, args...)
}

func invalidInput(format string, args ...any) *apierr.Error {
	return apierr.New("InvalidInput", http.StatusBadRequest, format, args...)
}

// missing is the ValidationError of an absent required parameter.
func missing(member string) *apierr.Error {
	return validationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// lowerFirst turns a parameter name into the member name AWS's validation
// messages use (RoleName → roleName).
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// required returns the value of a required parameter.
func (q *iamCall) required(name string) (string, error) {
	v, ok := q.f.str(name)
	if !ok || v == "" {
		return "", missing(lowerFirst(name))
	}
	return v, nil
}

// ---- Encodings ----

// isoTime is IAM's timestamp format.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// urlEncodeDocument percent-encodes a policy document as IAM returns it:
// every byte but A-Z a-z 0-9 - _ . ~ (space as %20, never '+').
func urlEncodeDocument(doc string) string {
	return sigv4.EscapeRFC3986(doc)
}

type xmlTag struct {
	Key   string
	Value string
}

func xmlTags(m map[string]string) []xmlTag {
	out := make([]xmlTag, 0, len(m))
	for _, t := range tagList(m) {
		out = append(out, xmlTag{Key: t.Key, Value: t.Value})
	}
	return out
}

// emptyResult is the result element of operations without output.
type emptyResult struct {
	XMLName xml.Name
}

func (q *iamCall) empty() emptyResult {
	return emptyResult{XMLName: xml.Name{Local: q.action + "Result"}}
}

// ---- Shared parameter parsing ----

// parseTags reads Tags.member.N.{Key,Value}. Keys are unique
// case-insensitively; at most store.MaxTagsPerResource.
func (q *iamCall) parseTags(name string) (map[string]string, []string, error) {
	ms, err := q.f.list(name)
	if err != nil {
		return nil, nil, err
	}
	if len(ms) > store.MaxTagsPerResource {
		return nil, nil, validationError("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", store.MaxTagsPerResource)
	}
	tags := make(map[string]string, len(ms))
	var keys []string
	for i, m := range ms {
		if err := m.checkAllowed(fmt.Sprintf("%s.member.%d", name, i+1), []string{"Key", "Value"}); err != nil {
			return nil, nil, err
		}
		k, ok := m.str("Key")
		if !ok {
			return nil, nil, missing(fmt.Sprintf("tags.%d.member.key", i+1))
		}
		v := m.get("Value")
		if err := iam.ValidateTag(k, v); err != nil {
			return nil, nil, validationError("%v", err)
		}
		for _, prev := range keys {
			if strings.EqualFold(prev, k) {
				return nil, nil, invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
		tags[k] = v
		keys = append(keys, k)
	}
	return tags, keys, nil
}

// requestTagKeys is the aws:RequestTag/… and aws:TagKeys context of tags.
func requestTagKeys(tags map[string]string, keys []string) map[string][]string {
	if len(keys) == 0 {
		return nil
	}
	m := map[string][]string{"aws:TagKeys": keys}
	for k, v := range tags {
		m["aws:RequestTag/"+k] = []string{v}
	}
	return m
}

// resourceTags is the aws:ResourceTag/… context of an existing resource.
func resourceTags(tags map[string]string, extra map[string][]string) map[string][]string {
	if len(tags) == 0 {
		return extra
	}
	m := make(map[string][]string, len(tags)+len(extra))
	for k, v := range extra {
		m[k] = v
	}
	for k, v := range tags {
		m["aws:ResourceTag/"+k] = []string{v}
	}
	return m
}

// parsePath reads an optional IAM path ("/" when absent).
func (q *iamCall) parsePath(name string) (string, error) {
	p, ok := q.f.str(name)
	if !ok || p == "" {
		return "/", nil
	}
	if err := iam.ValidatePath(p); err != nil {
		return "", constraint(p, lowerFirst(name), `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return p, nil
}

// parseMaxItems reads MaxItems (1–1000, default 100) and Marker.
func (q *iamCall) parsePage() (marker string, maxItems int, err error) {
	maxItems = 100
	if v, ok := q.f.str("MaxItems"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return "", 0, constraint(v, "maxItems", "Member must have value between 1 and 1000")
		}
		maxItems = n
	}
	marker = q.f.get("Marker")
	return marker, maxItems, nil
}

// page slices n in-memory items by Marker/MaxItems. The marker is an
// opaque encoding of the next offset.
func (q *iamCall) page(n int) (start, end int, next string, err error) {
	marker, maxItems, err := q.parsePage()
	if err != nil {
		return 0, 0, "", err
	}
	if marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(marker)
		off, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "o:") || off < 0 || off > n {
			return 0, 0, "", validationError("Invalid Marker.")
		}
		start = off
	}
	end = min(start+maxItems, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

// checkDocument validates a policy document of kind before it is stored:
// the IAM size quota (LimitExceeded), then the policy grammar
// (MalformedPolicyDocument).
func checkDocument(doc string, kind policy.Kind, inline bool, name string) error {
	size := iam.PolicySize(doc)
	switch {
	case kind == policy.KindTrust && size > policy.TrustPolicyDefaultSize:
		return limitExceeded("Cannot exceed quota for ACLSizePerRole: %d", policy.TrustPolicyDefaultSize)
	case kind != policy.KindTrust && inline && size > iam.MaxRoleInlinePolicySize:
		return limitExceeded("Maximum policy size of %d bytes exceeded for %s", iam.MaxRoleInlinePolicySize, name)
	case kind != policy.KindTrust && !inline && size > iam.MaxManagedPolicySize:
		return limitExceeded("Cannot exceed quota for PolicySize: %d", iam.MaxManagedPolicySize)
	}
	if _, err := policy.Parse([]byte(doc), policy.ParseOptions{Kind: kind, Name: name, Inline: inline, MaxSize: -1}); err != nil {
		return malformedPolicy("%s", truncateMsg(err.Error()))
	}
	return nil
}

// truncateMsg bounds a validation message echoed to the client.
func truncateMsg(s string) string {
	const max = 1024
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// storeErr maps a store error: ErrNotFound, ErrConflict and
// ErrLimitExceeded to the given API errors (nil ones pass the error
// through); anything else is an internal error, wrapped.
func storeErr(err error, notFound, conflict, limit *apierr.Error) error {
	switch {
	case errors.Is(err, store.ErrNotFound) && notFound != nil:
		return notFound.WithCause(err)
	case errors.Is(err, store.ErrConflict) && conflict != nil:
		return conflict.WithCause(err)
	case errors.Is(err, store.ErrLimitExceeded) && limit != nil:
		return limit.WithCause(err)
	case errors.Is(err, store.ErrInvalidToken):
		return validationError("Invalid Marker.").WithCause(err)
	}
	return fmt.Errorf("iam: %w", err)
}
