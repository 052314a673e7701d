package anywhere

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/apierr"
)

// refRequestBody is requestBody, which the fast path does not change.
type refRequestBody = requestBody

var (
	refUuidRE           = regexp.MustCompile(`^[a-f0-9]{8}-([a-z0-9]{4}-){3}[a-z0-9]{12}$`)
	refRoleSessionRE    = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	refPartitionPattern = `aws(-[a-z0-9-]+)?`
	refTrustAnchorARNRE = regexp.MustCompile(`^arn:` + refPartitionPattern + `:rolesanywhere:([a-z0-9-]+):(\d{12}):trust-anchor/(.+)$`)
	refProfileARNRE     = regexp.MustCompile(`^arn:` + refPartitionPattern + `:rolesanywhere:([a-z0-9-]+):(\d{12}):profile/(.+)$`)
	refRoleARNRE        = regexp.MustCompile(`^arn:` + refPartitionPattern + `:iam::(\d{12}):role/(.+)$`)
)

// parseRequestRef is ParseRequest as it was with regular expressions and
// encoding/json only, kept as the reference the fast paths are tested
// against. It reads a CreateSession request from its query and body. The
// three ARNs may come from either; a value in the query wins.
func parseRequestRef(query url.Values, body []byte) (*Request, error) {
	if len(body) > maxBodyBytes {
		return nil, apierr.Validation("Request body is larger than %d bytes.", maxBodyBytes)
	}
	var b refRequestBody
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&b); err != nil {
			return nil, apierr.Validation("Request body is not valid JSON: %s", refJSONErrorText(err))
		}
		if dec.More() {
			return nil, apierr.Validation("Request body is not valid JSON: trailing data after the object")
		}
	}
	r := &Request{
		TrustAnchorARN: refFirstNonEmpty(query.Get("trustAnchorArn"), b.TrustAnchorARN),
		ProfileARN:     refFirstNonEmpty(query.Get("profileArn"), b.ProfileARN),
		RoleARN:        refFirstNonEmpty(query.Get("roleArn"), b.RoleARN),
	}
	if len(b.DurationSeconds) > 0 && string(b.DurationSeconds) != "null" {
		n, err := strconv.ParseInt(string(b.DurationSeconds), 10, 32)
		if err != nil || n < MinDurationSeconds || n > MaxDurationSeconds {
			return nil, apierr.Validation("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must be an integer between %d and %d", MinDurationSeconds, MaxDurationSeconds)
		}
		r.DurationSeconds, r.HasDuration = int(n), true
	}
	if b.RoleSessionName != nil {
		if !refRoleSessionRE.MatchString(*b.RoleSessionName) {
			return nil, apierr.Validation("1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and match pattern [\\w+=,.@-]*")
		}
		r.RoleSessionName = *b.RoleSessionName
	}
	var err error
	if r.TrustAnchorID, err = refArnID(refTrustAnchorARNRE, "trustAnchorArn", r.TrustAnchorARN); err != nil {
		return nil, err
	}
	if r.ProfileID, err = refArnID(refProfileARNRE, "profileArn", r.ProfileARN); err != nil {
		return nil, err
	}
	if r.RoleARN == "" {
		return nil, apierr.Validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if len(r.RoleARN) > 1011 || !refRoleARNRE.MatchString(r.RoleARN) {
		return nil, apierr.Validation("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$")
	}
	return r, nil
}

// arnID checks a Roles Anywhere ARN and returns its resource id.
func refArnID(re *regexp.Regexp, member, arn string) (string, error) {
	if arn == "" {
		return "", apierr.Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
	}
	m := re.FindStringSubmatch(arn)
	if len(arn) > 1011 || m == nil || !refUuidRE.MatchString(m[len(m)-1]) {
		return "", apierr.Validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must be a valid Roles Anywhere ARN", member)
	}
	return m[len(m)-1], nil
}

// jsonErrorText describes a JSON decoding error without echoing the input.
func refJSONErrorText(err error) string {
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

func refFirstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
