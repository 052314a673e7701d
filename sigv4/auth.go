package sigv4

import (
	"crypto/sha256"
	"encoding/binary"
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

// appendScope appends s.String() to dst.
func appendScope(dst []byte, s Scope) []byte {
	t := s.Terminator
	if t == "" {
		t = Terminator
	}
	dst = append(dst, s.Date...)
	dst = append(dst, '/')
	dst = append(dst, s.Region...)
	dst = append(dst, '/')
	dst = append(dst, s.Service...)
	dst = append(dst, '/')
	return append(dst, t...)
}

// ParseScope parses date/region/service/terminator. It checks the shape
// only (four non-empty elements, an eight-digit date); checking the values
// against the request is up to the verifier.
func ParseScope(s string) (Scope, error) {
	var sc Scope
	var ok bool
	sc.Date, s, ok = cutByte(s, '/')
	if ok {
		sc.Region, s, ok = cutByte(s, '/')
	}
	if ok {
		sc.Service, sc.Terminator, ok = cutByte(s, '/')
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
	id, rest, ok := cutByte(s, '/')
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
	f, err := splitAuthorization(v)
	if err != nil {
		return nil, err
	}
	a := &Authorization{Algorithm: f.alg}
	if _, err := f.parse(&a.Credential, &a.SignedHeaders, &a.Signature, nil); err != nil {
		return nil, err
	}
	return a, nil
}

// authFields are the raw components of an Authorization header or of the
// presigned query parameters, before they are checked.
type authFields struct {
	alg               Algorithm
	cred, signed, sig string
}

// splitAuthorization splits an Authorization header value into its
// components (see ParseAuthorization) without checking their content.
func splitAuthorization(v string) (authFields, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if alg == "" || !strings.HasPrefix(alg, "AWS4-") {
		return authFields{}, newError(CodeIncompleteSignature, ErrUnsupportedAlg,
			"Unsupported AWS 'algorithm': '"+truncate(alg)+"'.")
	}
	f := authFields{alg: Algorithm(alg)}
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
			dst, seen = &f.cred, &haveCred
		case "SignedHeaders":
			dst, seen = &f.signed, &haveSigned
		case "Signature":
			dst, seen = &f.sig, &haveSig
		}
		if !ok || dst == nil || *seen {
			return authFields{}, newError(CodeIncompleteSignature, ErrMalformed,
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
		return authFields{}, newError(CodeIncompleteSignature, ErrMalformed, strings.TrimSpace(missing))
	}
	return f, nil
}

// parse checks the credential, signed headers and signature of f, in that
// order, and stores them; it reports which headers of interest are signed.
// The signature is decoded into sigBuf, leaving *sig nil, when it is exactly
// that long (an HMAC-SHA256 signature), so that the common case allocates
// nothing; sigBuf may be nil.
func (f *authFields) parse(cred *Credential, signed *string, sig *[]byte, sigBuf *[sha256.Size]byte) (signedFlags, error) {
	c, err := ParseCredential(f.cred)
	if err != nil {
		return 0, err
	}
	flags, ok := scanSignedHeaders(f.signed)
	if !ok {
		return 0, errBadSignedHeaders()
	}
	b, ok := decodeSignature(f.sig, sigBuf)
	if !ok {
		return 0, newError(CodeIncompleteSignature, ErrMalformed, "The Signature is not a valid hex string.")
	}
	*cred, *signed, *sig = c, f.signed, b
	return flags, nil
}

// decodeSignature decodes the non-empty hex string s (either case). When buf
// is not nil and s encodes exactly len(buf) bytes, they are decoded into buf
// and the slice returned is nil.
func decodeSignature(s string, buf *[sha256.Size]byte) ([]byte, bool) {
	if buf == nil || len(s) != 2*len(buf) {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) == 0 {
			return nil, false
		}
		return b, true
	}
	// []byte(s) is only read: the compiler does not copy it.
	if _, err := hex.Decode(buf[:], []byte(s)); err != nil {
		return nil, false
	}
	return nil, true
}

// cutByte is strings.Cut with a one-byte separator. SigV4's scope elements
// and header names are short, and a plain loop finds the separator sooner
// than strings.Cut's call into IndexByte.
func cutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func errBadSignedHeaders() *Error {
	return newError(CodeIncompleteSignature, ErrMalformed,
		"SignedHeaders must be a sorted, ';'-separated list of unique lower-case header names.")
}

// Bytes not allowed in a signed header name: controls, space, ':', upper
// case and DEL (and every byte >= 0x80), as bit masks over 0-63 and 64-127.
const (
	badNameLo uint64 = 1<<(' '+1) - 1 | 1<<':'
	badNameHi uint64 = (1<<('Z'-64+1)-1)&^(1<<('A'-64)-1) | 1<<(0x7f-64)
)

// headerNameByte reports whether c may appear in a signed header name.
func headerNameByte(c byte) bool {
	switch {
	case c < 64:
		return badNameLo>>c&1 == 0
	case c < 128:
		return badNameHi>>(c-64)&1 == 0
	}
	return false
}

// signedFlags records which headers of interest a SignedHeaders list names.
type signedFlags uint8

const (
	signsHost  signedFlags = 1 << iota // host
	signsToken                         // x-amz-security-token
	signsDate                          // x-amz-date
)

// scanSignedHeaders reports whether s is a valid SignedHeaders list (a
// ';'-separated list of lower-case header names, sorted and without
// duplicates) and which headers of interest it names, in one pass.
func scanSignedHeaders(s string) (signedFlags, bool) {
	var flags signedFlags
	prev := ""
	for rest := s; ; {
		end := strings.IndexByte(rest, ';')
		if end < 0 {
			end = len(rest)
		}
		name := rest[:end]
		if !headerName(name) {
			return 0, false
		}
		// Names are sorted: only equal first bytes need a full comparison.
		if name == "" || prev != "" && (name[0] < prev[0] || name[0] == prev[0] && name <= prev) {
			return 0, false
		}
		switch name {
		case "host":
			flags |= signsHost
		case "x-amz-security-token":
			flags |= signsToken
		case "x-amz-date":
			flags |= signsDate
		}
		if end == len(rest) {
			return flags, true
		}
		prev, rest = name, rest[end+1:]
	}
}

// headerName reports whether every byte of name may appear in a signed
// header name (see headerNameByte), eight bytes at a time where it can.
func headerName(name string) bool {
	b := []byte(name) // only read: the compiler does not copy it
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if !headerNameWord(binary.LittleEndian.Uint64(b[i:])) {
			return false
		}
	}
	for ; i < len(b); i++ {
		if !headerNameByte(b[i]) {
			return false
		}
	}
	return true
}

// headerNameWord is headerNameByte for each of the eight bytes of w.
func headerNameWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	if w&highs != 0 {
		return false
	}
	// Every byte is below 0x80, so adding 0x80-n to it sets its high bit
	// exactly when it is >= n, without carrying into the next byte.
	ge := func(n uint64) uint64 { return (w + (0x80-n)*ones) & highs }
	upper := ge('A') &^ ge('Z'+1)
	colon := w ^ ':'*ones // a zero byte where w has ':'
	hasColon := (colon - ones) &^ colon & highs
	return ge(' '+1)&^ge(0x7f)&^upper == highs && hasColon == 0
}

// hasSignedHeader reports whether the lower-case name is in the
// ';'-separated list.
func hasSignedHeader(list, name string) bool {
	for rest := list; rest != ""; {
		var h string
		h, rest, _ = cutByte(rest, ';')
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
		h, rest, _ = cutByte(rest, ';')
		if len(h) == len(name) && strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring ASCII case in s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
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
