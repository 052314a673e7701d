package anywhere

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/apierr"
)

// Request is a parsed CreateSession request body and query.
type Request struct {
	TrustAnchorARN  string
	ProfileARN      string
	RoleARN         string
	DurationSeconds int  // 0 when the caller did not ask
	HasDuration     bool // the caller sent durationSeconds
	RoleSessionName string

	TrustAnchorID string // the id part of TrustAnchorARN
	ProfileID     string // the id part of ProfileARN
}

// Duration bounds of a CreateSession request.
const (
	MinDurationSeconds = 900
	MaxDurationSeconds = 43200
)

// maxBodyBytes bounds a CreateSession body.
const maxBodyBytes = 64 << 10

type requestBody struct {
	DurationSeconds    json.RawMessage   `json:"durationSeconds"`
	RoleSessionName    *string           `json:"roleSessionName"`
	SessionName        *string           `json:"sessionName"` // deprecated, ignored
	ProfileARN         string            `json:"profileArn"`
	RoleARN            string            `json:"roleArn"`
	TrustAnchorARN     string            `json:"trustAnchorArn"`
	InstanceProperties map[string]string `json:"instanceProperties"`
}

// ParseRequest reads a CreateSession request from its query and body. The
// three ARNs may come from either; a value in the query wins.
func ParseRequest(query url.Values, body []byte) (*Request, error) {
	if len(body) > maxBodyBytes {
		return nil, apierr.Validation("Request body is larger than %d bytes.", maxBodyBytes)
	}
	var b requestBody
	if len(bytes.TrimSpace(body)) > 0 && !b.parseSimple(body) {
		var err error
		if b, err = decodeBody(body); err != nil {
			return nil, err
		}
	}
	r := &Request{
		TrustAnchorARN: firstNonEmpty(query.Get("trustAnchorArn"), b.TrustAnchorARN),
		ProfileARN:     firstNonEmpty(query.Get("profileArn"), b.ProfileARN),
		RoleARN:        firstNonEmpty(query.Get("roleArn"), b.RoleARN),
	}
	if len(b.DurationSeconds) > 0 && string(b.DurationSeconds) != "null" {
		n, err := strconv.ParseInt(string(b.DurationSeconds), 10, 32)
		if err != nil || n < MinDurationSeconds || n > MaxDurationSeconds {
			return nil, apierr.Validation("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must be an integer between %d and %d", MinDurationSeconds, MaxDurationSeconds)
		}
		r.DurationSeconds, r.HasDuration = int(n), true
	}
	if b.RoleSessionName != nil {
		if !validRoleSessionName(*b.RoleSessionName) {
			return nil, apierr.Validation("1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and match pattern [\\w+=,.@-]*")
		}
		r.RoleSessionName = *b.RoleSessionName
	}
	var err error
	if r.TrustAnchorID, err = arnID("trust-anchor/", "trustAnchorArn", r.TrustAnchorARN); err != nil {
		return nil, err
	}
	if r.ProfileID, err = arnID("profile/", "profileArn", r.ProfileARN); err != nil {
		return nil, err
	}
	if r.RoleARN == "" {
		return nil, apierr.Validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if len(r.RoleARN) > 1011 || !validRoleARN(r.RoleARN) {
		return nil, apierr.Validation("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$")
	}
	return r, nil
}

// decodeBody decodes a CreateSession body with encoding/json.
func decodeBody(body []byte) (requestBody, error) {
	var b requestBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return requestBody{}, apierr.Validation("Request body is not valid JSON: %s", jsonErrorText(err))
	}
	if dec.More() {
		return requestBody{}, apierr.Validation("Request body is not valid JSON: trailing data after the object")
	}
	return b, nil
}

// arnID checks a Roles Anywhere ARN of the given kind ("trust-anchor/" or
// "profile/") and returns its resource id.
func arnID(kind, member, arn string) (string, error) {
	if arn == "" {
		return "", apierr.Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
	}
	id, ok := rolesAnywhereARNID(arn, kind)
	if len(arn) > 1011 || !ok {
		return "", apierr.Validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must be a valid Roles Anywhere ARN", member)
	}
	return id, nil
}

// jsonErrorText describes a JSON decoding error without echoing the input.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("member %q has the wrong type (want %s)", typ.Field, typ.Type)
	default:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
