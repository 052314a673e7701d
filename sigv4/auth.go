package sigv4

import (
	"encoding/hex"
	"strings"
)

// Algorithm is a SigV4 signing algorithm name as it appears in the
// Authorization header or the X-Amz-Algorithm query parameter.
type Algorithm string

// Supported algorithms. AWS4-X509-MLDSA (FIPS 204 ML-DSA over the raw string
// to sign) is reserved for when the standard library can verify it; see
// Algorithm.verify and Algorithm.sign for the single place to add it.
const (
	HMACSHA256      Algorithm = "AWS4-HMAC-SHA256"
	X509RSASHA256   Algorithm = "AWS4-X509-RSA-SHA256"
	X509ECDSASHA256 Algorithm = "AWS4-X509-ECDSA-SHA256"
	X509MLDSA       Algorithm = "AWS4-X509-MLDSA"
)

// IsX509 reports whether a is one of the certificate-based algorithms.
func (a Algorithm) IsX509() bool { return strings.HasPrefix(string(a), "AWS4-X509-") }

// Scope is a SigV4 credential scope: date/region/service/terminator.
type Scope struct {
	Date       string // YYYYMMDD
	Region     string
	Service    string
	Terminator string // always "aws4_request" in a valid scope
}

// NewScope returns the scope for the given time (its UTC date), region and
// service, with the standard terminator.
func NewScope(date, region, service string) Scope {
	return Scope{Date: date, Region: region, Service: service, Terminator: Terminator}
}

// String formats s as date/region/service/terminator. An empty Terminator
// is written as aws4_request.
func (s Scope) String() string {
	t := s.Terminator
	if t == "" {
		t = Terminator
	}
	return s.Date + "/" + s.Region + "/" + s.Service + "/" + t
}

// ParseScope parses date/region/service/terminator. It checks the shape
// only (four non-empty elements, an eight-digit date); checking the values
// against the request is up to the verifier.
func ParseScope(s string) (Scope, error) {
	var sc Scope
	var ok bool
	sc.Date, s, ok = strings.Cut(s, "/")
	if ok {
		sc.Region, s, ok = strings.Cut(s, "/")
	}
	if ok {
		sc.Service, sc.Terminator, ok = strings.Cut(s, "/")
	}
	if !ok || sc.Region == "" || sc.Service == "" || sc.Terminator == "" ||
		strings.Contains(sc.Terminator, "/") || !isDate(sc.Date) {
		return Scope{}, errMalformedCredential()
	}
	return sc, nil
}

func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func errMalformedCredential() *Error {
	return newError(CodeIncompleteSignature, ErrMalformed,
		`The Credential is malformed; expecting "<ID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)
}

// Credential is the value of Credential= (or X-Amz-Credential): an access
// key id (HMAC) or a decimal certificate serial number (X.509), then a
// scope.
type Credential struct {
	ID    string
	Scope Scope
}

// String formats c as id/scope.
func (c Credential) String() string { return c.ID + "/" + c.Scope.String() }

// ParseCredential parses id/date/region/service/terminator.
func ParseCredential(s string) (Credential, error) {
	id, rest, ok := strings.Cut(s, "/")
	if !ok || id == "" {
		return Credential{}, errMalformedCredential()
	}
	sc, err := ParseScope(rest)
	if err != nil {
		return Credential{}, err
	}
	return Credential{ID: id, Scope: sc}, nil
}

// Authorization is a parsed SigV4 Authorization header:
//
//	<Algorithm> Credential=<id>/<scope>, SignedHeaders=<h1;h2>, Signature=<hex>
type Authorization struct {
	Algorithm     Algorithm
	Credential    Credential
	SignedHeaders string // ';'-separated, lower case, sorted, as sent
	Signature     []byte // decoded from hex
}

// ParseAuthorization parses an Authorization header value of any SigV4
// algorithm. It is tolerant of spacing (", " or "," between components,
// extra spaces after the algorithm) but strict about content: the three
// components must each appear once, the credential must have five
// elements, the signed headers must be lower case, sorted and unique, and
// the signature must be hex.
func ParseAuthorization(v string) (*Authorization, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if alg == "" || !strings.HasPrefix(alg, "AWS4-") {
		return nil, newError(CodeIncompleteSignature, ErrUnsupportedAlg,
			"Unsupported AWS 'algorithm': '"+truncate(alg)+"'.")
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &haveCred
		case "SignedHeaders":
			dst, seen = &signed, &haveSigned
		case "Signature":
			dst, seen = &sig, &haveSig
		}
		if !ok || dst == nil || *seen {
			return nil, newError(CodeIncompleteSignature, ErrMalformed,
				"Authorization header format error: '"+truncate(part)+"' is not a valid key=value pair.")
		}
		*dst, *seen = val, true
	}
	var missing string
	if !haveCred {
		missing += "Authorization header requires 'Credential' parameter. "
	}
	if !haveSig {
		missing += "Authorization header requires 'Signature' parameter. "
	}
	if !haveSigned {
		missing += "Authorization header requires 'SignedHeaders' parameter. "
	}
	if missing != "" {
		return nil, newError(CodeIncompleteSignature, ErrMalformed, strings.TrimSpace(missing))
	}
	return parseAuthParts(Algorithm(alg), cred, signed, sig)
}

func parseAuthParts(alg Algorithm, cred, signed, sig string) (*Authorization, error) {
	c, err := ParseCredential(cred)
	if err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(signed); err != nil {
		return nil, err
	}
	sigBytes, err := hex.DecodeString(sig)
	if err != nil || len(sigBytes) == 0 {
		return nil, newError(CodeIncompleteSignature, ErrMalformed, "The Signature is not a valid hex string.")
	}
	return &Authorization{Algorithm: alg, Credential: c, SignedHeaders: signed, Signature: sigBytes}, nil
}

// checkSignedHeaders checks that s is a ';'-separated list of lower-case
// header names, sorted and without duplicates.
func checkSignedHeaders(s string) error {
	bad := func() error {
		return newError(CodeIncompleteSignature, ErrMalformed,
			"SignedHeaders must be a sorted, ';'-separated list of unique lower-case header names.")
	}
	if s == "" {
		return bad()
	}
	prev := ""
	for rest := s; rest != ""; {
		var name string
		var more bool
		name, rest, more = strings.Cut(rest, ";")
		if name == "" || more && rest == "" || prev != "" && name <= prev {
			return bad()
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' || c <= ' ' || c >= 0x7f || c == ':' {
				return bad()
			}
		}
		prev = name
	}
	return nil
}

// hasSignedHeader reports whether the lower-case name is in the
// ';'-separated list.
func hasSignedHeader(list, name string) bool {
	for rest := list; rest != ""; {
		var h string
		h, rest, _ = strings.Cut(rest, ";")
		if h == name {
			return true
		}
	}
	return false
}

// hasSignedHeaderFold is hasSignedHeader for a name in any case.
func hasSignedHeaderFold(list, name string) bool {
	for rest := list; rest != ""; {
		var h string
		h, rest, _ = strings.Cut(rest, ";")
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// truncate shortens client-supplied text echoed in messages.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// formatAuthorization formats an Authorization header value exactly as
// the AWS SDKs and the Roles Anywhere credential helper do.
func formatAuthorization(alg Algorithm, credential, signedHeaders, sigHex string) string {
	var b strings.Builder
	b.Grow(len(alg) + len(credential) + len(signedHeaders) + len(sigHex) + 40)
	b.WriteString(string(alg))
	b.WriteString(" Credential=")
	b.WriteString(credential)
	b.WriteString(", SignedHeaders=")
	b.WriteString(signedHeaders)
	b.WriteString(", Signature=")
	b.WriteString(sigHex)
	return b.String()
}
