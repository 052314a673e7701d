// Package sigv4 implements AWS Signature Version 4 in its two forms used by
// roam: the HMAC form (AWS4-HMAC-SHA256) that AWS SDKs use with access keys,
// and the X.509 form (AWS4-X509-RSA-SHA256, AWS4-X509-ECDSA-SHA256) that IAM
// Roles Anywhere clients use to sign CreateSession requests with a
// certificate's private key.
//
// Both forms share one canonicalisation: a canonical request made of the
// method, canonical URI, canonical query string, canonical headers, the list
// of signed headers and the payload hash; a string to sign made of the
// algorithm, the request time, the credential scope and the SHA-256 of the
// canonical request. They differ only in how the string to sign is signed.
//
// Verification errors are returned as *Error values that carry an AWS error
// code and an AWS-style message that is safe to send to the client; the
// underlying cause, when there is one, is available through errors.Is and
// errors.As (see the Err* sentinel values).
//
// The package imports nothing of roam and keeps no global mutable state.
package sigv4
