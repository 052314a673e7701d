package sts

import (
	"net/http"
	"slices"
	"time"
)

// AWS error codes for credential failures. Query-protocol services (STS, IAM)
// use the first two; JSON-protocol services (rolesanywhere) use the
// ...Exception forms.
const (
	CodeInvalidClientTokenID  = "InvalidClientTokenId"
	CodeExpiredToken          = "ExpiredToken"
	CodeUnrecognizedClient    = "UnrecognizedClientException"
	CodeExpiredTokenException = "ExpiredTokenException"
)

// Client-facing messages, as AWS words them.
const (
	MessageInvalidClientTokenID = "The security token included in the request is invalid."
	MessageExpiredToken         = "The security token included in the request is expired"
)

// TokenError is a credential validation failure. It carries the AWS error
// code, HTTP status and client-safe message for the response, and a reason
// for logs. It never contains the token, the secret or any claim.
//
// Validate returns one of the Err* values below, unwrapped, so errors.Is and
// == both work; use errors.As to reach Code, Message and HTTPStatus.
type TokenError struct {
	expired bool
	reason  string
}

// Validation failures. All but ErrExpiredToken answer InvalidClientTokenId.
var (
	// ErrMalformedToken: the access key id or token is not well formed.
	ErrMalformedToken = &TokenError{reason: "malformed access key id or session token"}
	// ErrUnknownKey: the token names a key the keyring does not hold (never
	// existed, or pruned after retiring).
	ErrUnknownKey = &TokenError{reason: "session token sealed by an unknown or retired key"}
	// ErrUnauthenticToken: the AEAD did not open: the token was altered,
	// or it belongs to another access key id.
	ErrUnauthenticToken = &TokenError{reason: "session token does not authenticate for this access key id"}
	// ErrUndecodableToken: authentic, but the claims do not decode (a
	// token from an incompatible roam version).
	ErrUndecodableToken = &TokenError{reason: "session token claims do not decode"}
	// ErrRevokedToken: issued before the role's revocation cutoff. Answered
	// as InvalidClientTokenId: the credentials are no longer credentials
	// at all (even GetCallerIdentity, which no policy can deny, must fail),
	// and the client learns nothing beyond "invalid".
	ErrRevokedToken = &TokenError{reason: "session issued before the role's revocation cutoff"}
	// ErrExpiredToken: authentic but past its expiration.
	ErrExpiredToken = &TokenError{expired: true, reason: "session token expired"}
)

// Error returns the reason and the AWS code, e.g.
// "sts: session token expired (ExpiredToken)".
func (e *TokenError) Error() string {
	if e.expired {
		return "sts: " + e.reason + " (" + CodeExpiredToken + ")"
	}
	return "sts: " + e.reason + " (" + CodeInvalidClientTokenID + ")"
}

// Code is the AWS error code for query-protocol services (STS, IAM):
// InvalidClientTokenId or ExpiredToken.
func (e *TokenError) Code() string {
	if e.expired {
		return CodeExpiredToken
	}
	return CodeInvalidClientTokenID
}

// JSONCode is the AWS error code for JSON-protocol services:
// UnrecognizedClientException or ExpiredTokenException.
func (e *TokenError) JSONCode() string {
	if e.expired {
		return CodeExpiredTokenException
	}
	return CodeUnrecognizedClient
}

// Message is the client-facing message AWS sends with Code.
func (e *TokenError) Message() string {
	if e.expired {
		return MessageExpiredToken
	}
	return MessageInvalidClientTokenID
}

// HTTPStatus is the status AWS answers with: 403 for an invalid token, 400
// for an expired one.
func (e *TokenError) HTTPStatus() int {
	if e.expired {
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

// tokenBuf is per-call scratch space for Validate, pooled so that the hot path
// allocates only the Session it returns.
type tokenBuf struct {
	text []byte
	raw  []byte
	aad  [headerLen + accessKeyIDLen]byte
}

// Validate checks temporary credentials statelessly and returns the session
// they stand for. It opens the token with the key it names (the access key
// id is associated data, so a token only opens for its own access key id),
// rejects it if now is at or past its expiration, or if it was issued before
// the revocation cutoff Options.Revocation reports for its role.
//
// Errors are the *TokenError values declared above. Validate is safe for
// concurrent use, takes no lock and does no I/O.
func (kr *Keyring) Validate(accessKeyID, sessionToken string, now time.Time) (*Session, error) {
	n := len(sessionToken)
	if !validAccessKeyID(accessKeyID) || n < minTokenEncLen || n > MaxSessionTokenLen || n%4 != 0 {
		return nil, ErrMalformedToken
	}
	b := kr.bufs.Get().(*tokenBuf)
	defer kr.bufs.Put(b)

	b.text = append(b.text[:0], sessionToken...)
	dl := tokenEncoding.DecodedLen(n)
	b.raw = slices.Grow(b.raw[:0], dl)[:dl]
	m, err := tokenEncoding.Decode(b.raw, b.text)
	// Strict decoding still skips CR and LF; the length check rejects them,
	// so that exactly one spelling of a token is accepted.
	if err != nil || tokenEncoding.EncodedLen(m) != n || m < minTokenRawLen {
		return nil, ErrMalformedToken
	}
	raw := b.raw[:m]
	if raw[0] != tokenVersion {
		return nil, ErrMalformedToken
	}
	k := kr.keys.Load().byID[string(raw[1:headerLen])]
	if k == nil {
		return nil, ErrUnknownKey
	}
	copy(b.aad[:], raw[:headerLen])
	copy(b.aad[headerLen:], accessKeyID)
	ct := raw[headerLen+nonceLen:]
	pt, err := k.aead.Open(ct[:0], raw[headerLen:headerLen+nonceLen], ct, b.aad[:])
	if err != nil {
		return nil, ErrUnauthenticToken
	}
	defer clear(pt)

	_, expSec, ok := peekTimes(pt)
	if !ok {
		return nil, ErrUndecodableToken
	}
	if expSec <= uint64(maxUnixMilli/1000) && !now.Before(time.Unix(int64(expSec), 0)) {
		return nil, ErrExpiredToken
	}
	// The Session is decoded on the stack and copied to the heap once: one
	// bulk write barrier instead of one per field.
	s, ok := decodeClaims(string(pt))
	if !ok {
		return nil, ErrUndecodableToken
	}
	s.AccessKeyID, s.KeyID = accessKeyID, k.id
	if rev := kr.opts.Revocation; rev != nil {
		if cutoff, ok := rev.CutoffFor(s.RoleARN); ok && s.IssuedAt.Before(cutoff) {
			return nil, ErrRevokedToken
		}
	}
	out := new(Session)
	*out = s
	return out, nil
}

// validAccessKeyID reports whether id has the form Mint produces: ASIA and
// 16 characters of the base32 alphabet.
func validAccessKeyID(id string) bool {
	if len(id) != accessKeyIDLen || id[:4] != "ASIA" {
		return false
	}
	for i := 4; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
