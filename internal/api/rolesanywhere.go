package api

// The Roles Anywhere control plane: the restJson1 API of service
// "rolesanywhere" (API version 2018-05-10), every operation of
// docs/service.md §2.1 with AWS's methods, paths, status codes, member names
// and error shapes, so that `aws rolesanywhere …`, aws-sdk-go-v2's
// rolesanywhere client and Terraform work against roam unchanged.
//
// Each operation authenticates the SigV4 request (service "rolesanywhere"),
// authorizes it with the action names of the Service Authorization
// Reference, validates its input as AWS's model does, changes the store and,
// after a mutation, asks the server to rebuild the CreateSession snapshot.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// raService is the SigV4 signing name of the control plane.
const raService = "rolesanywhere"

// raAuth authenticates and authorizes control-plane callers. Its errors are
// ones raError encodes as the AWS error a client expects.
type raAuth struct {
	// authenticate returns the caller of a SigV4-signed request.
	authenticate func(r *http.Request, body []byte) (*Caller, error)
	// authorize reports whether c may perform action on resource.
	authorize func(c *Caller, action, resource string, extra map[string][]string) error
	// authorizePassRole reports whether c may pass roleARN to Roles
	// Anywhere (iam:PassRole with iam:PassedToService).
	authorizePassRole func(c *Caller, roleARN string) error
}

// raRequest is one control-plane request in flight.
type raRequest struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	body []byte
	auth raAuth
	// caller is set by the first authorize.
	caller *Caller
	// account and region name this server's resources in ARNs.
	account, region string
	// For the audit event: the operation's action and resource (from the
	// first authorize), the record before a change, and whether the
	// operation committed one.
	action, resource, before string
	mutated                  bool
}

// authorize checks that the request's caller may perform action on resource.
// The first call authenticates the request; later calls (TagResource,
// iam:PassRole) reuse the caller.
func (q *raRequest) authorize(action, resource string, extra map[string][]string) error {
	if q.action == "" {
		q.action, q.resource = action, resource
		if isMutation(action) && resource != "" && resource != "*" {
			q.before = q.recordDoc(resource)
		}
	}
	if q.caller == nil {
		c, err := q.auth.authenticate(q.r, q.body)
		if err != nil {
			return err
		}
		q.caller = c
	}
	return q.auth.authorize(q.caller, action, resource, extra)
}

// authorizePassRole checks that the caller may pass roleARN to Roles
// Anywhere. It must follow an authorize.
func (q *raRequest) authorizePassRole(roleARN string) error {
	if q.caller == nil {
		return errors.New("authorizePassRole before authorize")
	}
	return q.auth.authorizePassRole(q.caller, roleARN)
}

// callerARN returns the authenticated caller's ARN, or "" before authorize.
func (q *raRequest) callerARN() string {
	if q.caller == nil {
		return ""
	}
	return q.caller.ARN
}

// raOp is one control-plane operation. It writes nothing: it returns the
// success status and response body (nil for an empty body) or an error.
type raOp func(q *raRequest) (status int, out any, err error)

// routeRolesAnywhere registers the control-plane routes on h's mux. auth is
// nil in production (the Handler's authenticate and authorize are used);
// tests pass their own.
func (h *Handler) routeRolesAnywhere(auth *raAuth) {
	if auth == nil {
		auth = &raAuth{
			authenticate:      func(r *http.Request, body []byte) (*Caller, error) { return h.authenticate(r, body, raService) },
			authorize:         h.authorize,
			authorizePassRole: h.authorizePassRole,
		}
	}
	routes := []struct {
		pattern string
		op      raOp
	}{
		{"POST /trustanchors", raCreateTrustAnchor},
		{"GET /trustanchors", raListTrustAnchors},
		{"GET /trustanchor/{trustAnchorId}", raGetTrustAnchor},
		{"PATCH /trustanchor/{trustAnchorId}", raUpdateTrustAnchor},
		{"DELETE /trustanchor/{trustAnchorId}", raDeleteTrustAnchor},
		{"POST /trustanchor/{trustAnchorId}/enable", raEnableTrustAnchor},
		{"POST /trustanchor/{trustAnchorId}/disable", raDisableTrustAnchor},
		{"PATCH /put-notifications-settings", raPutNotificationSettings},
		{"PATCH /reset-notifications-settings", raResetNotificationSettings},

		{"POST /profiles", raCreateProfile},
		{"GET /profiles", raListProfiles},
		{"GET /profile/{profileId}", raGetProfile},
		{"PATCH /profile/{profileId}", raUpdateProfile},
		{"DELETE /profile/{profileId}", raDeleteProfile},
		{"POST /profile/{profileId}/enable", raEnableProfile},
		{"POST /profile/{profileId}/disable", raDisableProfile},
		{"PUT /profiles/{profileId}/mappings", raPutAttributeMapping},
		{"DELETE /profiles/{profileId}/mappings", raDeleteAttributeMapping},

		{"POST /crls", raImportCrl},
		{"GET /crls", raListCrls},
		{"GET /crl/{crlId}", raGetCrl},
		{"PATCH /crl/{crlId}", raUpdateCrl},
		{"DELETE /crl/{crlId}", raDeleteCrl},
		{"POST /crl/{crlId}/enable", raEnableCrl},
		{"POST /crl/{crlId}/disable", raDisableCrl},

		{"GET /subjects", raListSubjects},
		{"GET /subject/{subjectId}", raGetSubject},

		{"POST /TagResource", raTagResource},
		{"POST /UntagResource", raUntagResource},
		{"GET /ListTagsForResource", raListTagsForResource},
	}
	for _, rt := range routes {
		op := rt.op
		h.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { h.serveRA(w, r, op, *auth) })
	}
}

// serveRA runs op and writes its result or error.
func (h *Handler) serveRA(w http.ResponseWriter, r *http.Request, op raOp, auth raAuth) {
	if h.cfg.Store == nil {
		h.raError(w, r, apierr.New("ServiceUnavailableException", http.StatusServiceUnavailable, "The control plane is not configured on this server."))
		return
	}
	body, err := readBody(r)
	if err != nil {
		h.raError(w, r, err)
		return
	}
	q := &raRequest{h: h, w: w, r: r, ctx: r.Context(), body: body, auth: auth}
	if q.account, q.region, err = h.raAccount(q.ctx); err != nil {
		h.raError(w, r, err)
		return
	}
	status, out, err := op(q)
	if err != nil {
		if q.action != "" {
			h.auditRefusal(r, q.caller, q.action, q.resource, err)
		}
		h.raError(w, r, err)
		return
	}
	if q.mutated {
		resource := q.resource
		if resource == "" || resource == "*" {
			resource = arnIn(out)
		}
		if err := h.auditChange(r, q.caller, q.action, resource, q.before, q.recordDoc(resource)); err != nil {
			h.raError(w, r, err)
			return
		}
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

// raAccount returns the account id and region ARNs are built with.
func (h *Handler) raAccount(ctx context.Context) (account, region string, err error) {
	settings, err := h.cfg.Store.Settings(ctx)
	if err != nil {
		return "", "", fmt.Errorf("read settings: %w", err)
	}
	account, region = settings[store.SettingAccountID], settings[store.SettingRegion]
	if account == "" {
		account = "000000000000"
	}
	if region == "" {
		region = "us-east-1"
	}
	return account, region, nil
}

// changed tells the server the configuration changed, so CreateSession sees
// the change at once instead of at the next poll.
func (q *raRequest) changed() {
	q.mutated = true
	if q.h.cfg.Reload == nil {
		return
	}
	if err := q.h.cfg.Reload(context.WithoutCancel(q.ctx)); err != nil {
		// The change is committed; the server's version poll retries.
		q.h.cfg.Logger.ErrorContext(q.ctx, "configuration reload after a control-plane change failed", "request_id", RequestID(q.ctx), "err", err)
	}
}

// raError writes err as a restJson1 error. Authentication failures (sigv4 and
// session-token errors, which carry awsQuery codes) are re-coded with the
// names restJson services use.
func (h *Handler) raError(w http.ResponseWriter, r *http.Request, err error) {
	h.restJSONError(w, r, raAPIError(err))
}

// raAPIError converts err to the *apierr.Error a restJson client expects,
// or returns it unchanged when it is not a client-visible error.
func raAPIError(err error) error {
	var se *sigv4.Error
	var te *sts.TokenError
	switch {
	case errors.As(err, &te):
		code := "UnrecognizedClientException"
		if te.Code() == "ExpiredToken" {
			code = "ExpiredTokenException"
		}
		return &apierr.Error{Code: code, Status: te.HTTPStatus(), Message: te.Message(), Cause: err}
	case errors.As(err, &se):
		code := se.Code
		switch code {
		case sigv4.CodeSignatureDoesNotMatch:
			code = "InvalidSignatureException"
		case sigv4.CodeAccessDenied:
			code = "AccessDeniedException"
		case "InvalidClientTokenId":
			code = "UnrecognizedClientException"
		default:
			if !strings.HasSuffix(code, "Exception") {
				code += "Exception"
			}
		}
		return &apierr.Error{Code: code, Status: se.HTTPStatus(), Message: se.Message, Cause: err}
	}
	if ae, ok := apierr.As(err); ok {
		switch ae.Code {
		case "AccessDenied":
			c := *ae
			c.Code = "AccessDeniedException"
			return &c
		case "InvalidClientTokenId":
			c := *ae
			c.Code = "UnrecognizedClientException"
			return &c
		}
		return ae
	}
	return err
}

// raMaxBodyBytes bounds a control-plane request body: a CRL is at most
// 300,000 bytes, base64 in JSON about 400,000; a session policy 100,000.
const raMaxBodyBytes = 512 << 10

// raDecodeJSON decodes a restJson request body into v strictly, as AWS's
// model validation does: unknown members, wrong types, trailing data and
// oversized bodies are ValidationExceptions. An empty body decodes as {}.
func raDecodeJSON(body []byte, v any) error {
	if len(body) > raMaxBodyBytes {
		return apierr.Validation("Request body is larger than %d bytes.", raMaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return raJsonDecodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apierr.Validation("The request body must hold exactly one JSON object.")
	}
	return nil
}

// raJsonDecodeError turns an encoding/json error into a ValidationException
// that names the offending member but echoes no value.
func raJsonDecodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return apierr.Validation("The request body must be a JSON object.").WithCause(err)
		}
		return apierr.Validation("1 validation error detected: Value at '%s' has the wrong type (expected %s).", field, te.Type.String()).WithCause(err)
	case errors.As(err, &se):
		return apierr.Validation("The request body is not valid JSON (offset %d).", se.Offset).WithCause(err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apierr.Validation("1 validation error detected: %s is not a member of the input.", strings.TrimPrefix(err.Error(), "json: unknown field ")).WithCause(err)
	case strings.Contains(err.Error(), "base64"), strings.Contains(err.Error(), "illegal"):
		return apierr.Validation("1 validation error detected: a blob member is not valid base64.").WithCause(err)
	}
	return apierr.Validation("The request body is not valid JSON.").WithCause(err)
}
