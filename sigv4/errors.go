package sigv4

import (
	"errors"
	"net/http"
)

// AWS error codes returned in Error.Code.
const (
	// CodeIncompleteSignature reports a malformed or incomplete
	// Authorization header or presigned query.
	CodeIncompleteSignature = "IncompleteSignature"
	// CodeSignatureDoesNotMatch reports a signature that does not verify,
	// a bad credential scope, or a request time outside the allowed window.
	// JSON protocols use InvalidSignatureException for the same condition;
	// that mapping is left to the caller.
	CodeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	// CodeMissingAuthenticationToken reports a request that carries no
	// authentication at all.
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	// CodeAuthorizationQueryParametersError reports malformed presigned
	// query parameters (S3 wording).
	CodeAuthorizationQueryParametersError = "AuthorizationQueryParametersError"
	// CodeAccessDenied reports an expired presigned request (S3 wording).
	CodeAccessDenied = "AccessDenied"
	// CodeInvalidArgument reports a request using more than one
	// authentication mechanism (S3 wording).
	CodeInvalidArgument = "InvalidArgument"
	// CodeMalformedQueryString reports a query string that cannot be
	// decoded.
	CodeMalformedQueryString = "MalformedQueryString"
	// CodeXAmzContentSHA256Mismatch reports a body whose SHA-256 differs
	// from the X-Amz-Content-Sha256 header.
	CodeXAmzContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
	// CodeInvalidRequest reports a payload hash marker that the service
	// does not accept (UNSIGNED-PAYLOAD or STREAMING-* outside S3).
	CodeInvalidRequest = "InvalidRequest"
)

// Sentinel causes wrapped by *Error. Test for them with errors.Is.
var (
	ErrMissingAuth         = errors.New("sigv4: no authentication information")
	ErrMalformed           = errors.New("sigv4: malformed authentication information")
	ErrUnsupportedAlg      = errors.New("sigv4: unsupported signing algorithm")
	ErrAlgorithmMismatch   = errors.New("sigv4: algorithm does not match certificate key type")
	ErrSerialMismatch      = errors.New("sigv4: credential serial does not match certificate")
	ErrCertificateMismatch = errors.New("sigv4: X-Amz-X509 does not match the certificate")
	ErrHeaderNotSigned     = errors.New("sigv4: required header not signed")
	ErrScope               = errors.New("sigv4: credential scope mismatch")
	ErrTimeSkew            = errors.New("sigv4: request time outside the allowed window")
	ErrExpired             = errors.New("sigv4: presigned request expired")
	ErrSignature           = errors.New("sigv4: signature does not match")
	ErrPayloadHash         = errors.New("sigv4: payload hash mismatch")
	ErrAmbiguousAuth       = errors.New("sigv4: more than one authentication mechanism")
)

// Error is a SigV4 authentication failure. Code and Message follow AWS's
// wording and are safe to return to the client: they never contain a secret
// key, a derived key or the expected signature. Err is the underlying
// cause, one of the Err* sentinels possibly wrapping more detail.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + " (" + e.Err.Error() + ")"
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the HTTP status code AWS uses with e.Code.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeIncompleteSignature, CodeAuthorizationQueryParametersError,
		CodeInvalidArgument, CodeMalformedQueryString,
		CodeXAmzContentSHA256Mismatch, CodeInvalidRequest:
		return http.StatusBadRequest
	default:
		return http.StatusForbidden
	}
}

func newError(code string, cause error, msg string) *Error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// Messages shared by both variants.
const (
	msgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissingAuth           = "Request is missing Authentication Token"
)
