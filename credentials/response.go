package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Credentials are temporary credentials returned by CreateSession.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// ErrMalformedResponse is wrapped by every error about a CreateSession
// response that cannot be used.
var ErrMalformedResponse = errors.New("malformed CreateSession response")

type createSessionOutput struct {
	CredentialSet []struct {
		Credentials *struct {
			AccessKeyID     *string `json:"accessKeyId"`
			SecretAccessKey *string `json:"secretAccessKey"`
			SessionToken    *string `json:"sessionToken"`
			Expiration      *string `json:"expiration"`
		} `json:"credentials"`
	} `json:"credentialSet"`
}

// ParseResponse parses the body of a successful CreateSession response and
// returns the first credential set. Unlike the official helper it never
// panics: a missing object or field, a wrong JSON type, an empty
// credentialSet, or an expiration that is not RFC 3339 or not after now is
// an error wrapping ErrMalformedResponse. Error messages never contain
// secret values.
func ParseResponse(body []byte, now time.Time) (Credentials, error) {
	var out createSessionOutput
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&out); err != nil {
		return Credentials{}, fmt.Errorf("%w: %v", ErrMalformedResponse, jsonErrorNoValue(err))
	}
	if len(out.CredentialSet) == 0 {
		return Credentials{}, fmt.Errorf("%w: no credentialSet", ErrMalformedResponse)
	}
	c := out.CredentialSet[0].Credentials
	if c == nil {
		return Credentials{}, fmt.Errorf("%w: credentialSet[0] has no credentials", ErrMalformedResponse)
	}
	var missing []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"accessKeyId", c.AccessKeyID}, {"secretAccessKey", c.SecretAccessKey}, {"sessionToken", c.SessionToken}, {"expiration", c.Expiration}} {
		if f.v == nil || *f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("%w: credentials lack %s", ErrMalformedResponse, strings.Join(missing, ", "))
	}
	exp, err := time.Parse(time.RFC3339, *c.Expiration)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: expiration %q is not an RFC 3339 time", ErrMalformedResponse, truncate(*c.Expiration, 64))
	}
	if !exp.After(now) {
		return Credentials{}, fmt.Errorf("%w: expiration %s is not in the future", ErrMalformedResponse, exp.UTC().Format(time.RFC3339))
	}
	return Credentials{
		AccessKeyID:     *c.AccessKeyID,
		SecretAccessKey: *c.SecretAccessKey,
		SessionToken:    *c.SessionToken,
		Expiration:      exp.UTC(),
	}, nil
}

// jsonErrorNoValue describes a JSON decoding error without echoing values
// from the input (which may be secrets).
func jsonErrorNoValue(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	return "invalid JSON"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// APIError is an error response from CreateSession.
type APIError struct {
	StatusCode int
	Code       string // e.g. AccessDeniedException; "" when the server sent none
	Message    string
	RequestID  string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = "UnknownError"
	}
	return fmt.Sprintf("CreateSession: StatusCode: %d, RequestID: %s, %s: %s", e.StatusCode, e.RequestID, code, e.Message)
}

// Retryable reports whether the request may succeed if sent again: server
// errors and throttling.
func (e *APIError) Retryable() bool {
	switch e.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	switch e.Code {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestTimeout", "RequestTimeoutException":
		return true
	}
	return false
}

// parseAPIError builds an APIError from a non-2xx response, the way the AWS
// SDKs read restJson1 errors.
func parseAPIError(status int, h http.Header, body []byte) *APIError {
	e := &APIError{StatusCode: status, RequestID: h.Get("X-Amzn-Requestid")}
	if e.RequestID == "" {
		e.RequestID = h.Get("X-Amz-Request-Id")
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields)
	str := func(names ...string) string {
		for k, v := range fields {
			for _, n := range names {
				if strings.EqualFold(k, n) {
					var s string
					if json.Unmarshal(v, &s) == nil {
						return s
					}
				}
			}
		}
		return ""
	}
	e.Code = sanitizeErrorCode(h.Get("X-Amzn-ErrorType"))
	if e.Code == "" {
		e.Code = sanitizeErrorCode(str("code", "__type"))
	}
	e.Message = str("message")
	if e.Message == "" && fields == nil && len(body) > 0 {
		e.Message = "non-JSON error body"
	}
	return e
}

// sanitizeErrorCode drops a ":…" suffix and a "…#" prefix.
func sanitizeErrorCode(c string) string {
	if i := strings.IndexByte(c, ':'); i >= 0 {
		c = c[:i]
	}
	if i := strings.LastIndexByte(c, '#'); i >= 0 {
		c = c[i+1:]
	}
	return strings.TrimSpace(c)
}
