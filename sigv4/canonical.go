package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// Formats and fixed values of the signing protocol.
const (
	// TimeFormat is the layout of X-Amz-Date (ISO 8601 basic format, UTC).
	TimeFormat = "20060102T150405Z"
	// DateFormat is the layout of the date in a credential scope.
	DateFormat = "20060102"
	// Terminator is the last element of every credential scope.
	Terminator = "aws4_request"
	// EmptyPayloadHash is the hex SHA-256 of an empty body.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// UnsignedPayload is the X-Amz-Content-Sha256 marker for an unsigned
	// body; only S3 accepts it.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingPrefix starts the X-Amz-Content-Sha256 markers of S3's
	// chunked uploads (for example STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
	StreamingPrefix = "STREAMING-"
)

// Header and query parameter names.
const (
	HeaderAuthorization = "Authorization"
	HeaderDate          = "X-Amz-Date"
	HeaderContentSHA256 = "X-Amz-Content-Sha256"
	HeaderSecurityToken = "X-Amz-Security-Token"
	HeaderX509          = "X-Amz-X509"
	HeaderX509Chain     = "X-Amz-X509-Chain"

	QueryAlgorithm     = "X-Amz-Algorithm"
	QueryCredential    = "X-Amz-Credential"
	QueryDate          = "X-Amz-Date"
	QueryExpires       = "X-Amz-Expires"
	QuerySignedHeaders = "X-Amz-SignedHeaders"
	QuerySignature     = "X-Amz-Signature"
	QuerySecurityToken = "X-Amz-Security-Token"
)

// HashPayload returns the lower-case hex SHA-256 of body, the payload hash
// of a canonical request.
func HashPayload(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendEscape appends s percent-encoded per RFC 3986 (unreserved characters
// kept, upper-case hex), keeping '/' when keepSlash is set.
func appendEscape(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || keepSlash && c == '/' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// EscapeRFC3986 percent-encodes s as SigV4 requires for query names and
// values: only A-Z a-z 0-9 - _ . ~ are left as is, hex is upper case.
func EscapeRFC3986(s string) string {
	return string(appendEscape(make([]byte, 0, len(s)+8), s, false))
}

// CanonicalURI returns the canonical URI for escapedPath, the path as sent
// on the wire (url.URL.EscapedPath). For every service but S3 the path is
// encoded a second time ("/a%20b" becomes "/a%2520b"); for S3 it is used as
// is. An empty path is "/". Paths are not normalised (dot segments and
// repeated slashes are kept), as the AWS SDKs do not normalise them either.
func CanonicalURI(escapedPath string, s3 bool) string {
	return string(appendCanonicalURI(nil, escapedPath, s3))
}

func appendCanonicalURI(dst []byte, escapedPath string, s3 bool) []byte {
	if escapedPath == "" {
		return append(dst, '/')
	}
	if s3 {
		return append(dst, escapedPath...)
	}
	return appendEscape(dst, escapedPath, true)
}

// queryPair is one encoded name=value pair of a canonical query.
type queryPair struct{ name, value string }

// canonicalSegment returns s in canonical encoding. When s is already
// canonical (only unreserved characters and upper-case %XX escapes of
// reserved bytes) it is returned without allocating.
func canonicalSegment(s string) (string, bool) {
	canonical := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			continue
		}
		if c == '%' && i+2 < len(s) && isUpperHex(s[i+1]) && isUpperHex(s[i+2]) &&
			!isUnreserved(unhex(s[i+1])<<4|unhex(s[i+2])) {
			i += 2
			continue
		}
		canonical = false
		break
	}
	if canonical {
		return s, true
	}
	dec, ok := unescapeQuery(s)
	if !ok {
		return "", false
	}
	return EscapeRFC3986(dec), true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func isHex(c byte) bool { return isUpperHex(c) || 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// unescapeQuery decodes s like url.QueryUnescape ('+' is a space).
func unescapeQuery(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

// CanonicalQuery returns the canonical query string of rawQuery (the query
// as sent, without '?'): every name and value decoded ('+' as space) and
// re-encoded per RFC 3986, pairs sorted by encoded name then value, a
// missing value written as "name=". Parameters named exclude (typically
// X-Amz-Signature for presigned requests; "" excludes nothing) are left out.
// It fails only on malformed percent-encoding.
func CanonicalQuery(rawQuery, exclude string) (string, error) {
	b, err := appendCanonicalQuery(nil, rawQuery, exclude)
	return string(b), err
}

func appendCanonicalQuery(dst []byte, rawQuery, exclude string) ([]byte, error) {
	if rawQuery == "" {
		return dst, nil
	}
	var buf [16]queryPair
	pairs := buf[:0]
	for rest := rawQuery; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "&")
		if seg == "" {
			continue
		}
		name, value, _ := strings.Cut(seg, "=")
		n, ok1 := canonicalSegment(name)
		v, ok2 := canonicalSegment(value)
		if !ok1 || !ok2 {
			return dst, newError(CodeMalformedQueryString, ErrMalformed,
				"The query string contains an invalid percent-encoding.")
		}
		if exclude != "" && n == exclude {
			continue
		}
		pairs = append(pairs, queryPair{n, v})
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.name...)
		dst = append(dst, '=')
		dst = append(dst, p.value...)
	}
	return dst, nil
}

// appendHeaderValue appends v trimmed of leading and trailing spaces and
// tabs, with runs of spaces collapsed to one, as SigV4 requires.
func appendHeaderValue(dst []byte, v string) []byte {
	i, j := 0, len(v)
	for i < j && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t') {
		j--
	}
	v = v[i:j]
	if !hasDoubleSpace(v) {
		return append(dst, v...)
	}
	prevSpace := false
	for k := 0; k < len(v); k++ {
		c := v[k]
		if c == ' ' {
			if prevSpace {
				continue
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		dst = append(dst, c)
	}
	return dst
}

// hasDoubleSpace reports whether v contains two adjacent spaces. Values
// (session tokens above all) rarely hold a space at all, and IndexByte
// rules that out in one vectorised pass, faster than strings.Contains with
// a two-byte needle.
func hasDoubleSpace(v string) bool {
	for {
		i := strings.IndexByte(v, ' ')
		if i < 0 || i+1 >= len(v) {
			return false
		}
		if v[i+1] == ' ' {
			return true
		}
		v = v[i+2:]
	}
}

// headerValues returns the values of the header named by the lower-case
// name in r, looking at the fields net/http moves out of r.Header.
func headerValues(r *http.Request, name string) []string {
	var vals []string
	if k := knownKey(name); k != "" {
		vals = r.Header[k]
	} else if len(name) <= 64 {
		var kb [64]byte
		k := canonicalKey(kb[:0], name)
		vals = r.Header[string(k)] // no allocation for the lookup
	} else {
		vals = r.Header[textproto.CanonicalMIMEHeaderKey(name)]
	}
	if vals == nil {
		// Client-built requests may hold non-canonical keys.
		for k, v := range r.Header {
			if strings.EqualFold(k, name) {
				vals = append(vals, v...)
			}
		}
	}
	if vals != nil {
		return vals
	}
	switch name {
	case "content-length":
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	}
	return nil
}

// knownKey returns the MIME canonical form of the lower-case header name
// for the headers the AWS SDKs usually sign, and "" for others.
func knownKey(name string) string {
	switch name {
	case "content-type":
		return "Content-Type"
	case "x-amz-date":
		return HeaderDate
	case "x-amz-security-token":
		return HeaderSecurityToken
	case "x-amz-content-sha256":
		return HeaderContentSHA256
	case "amz-sdk-invocation-id":
		return "Amz-Sdk-Invocation-Id"
	case "amz-sdk-request":
		return "Amz-Sdk-Request"
	case "x-amz-user-agent":
		return "X-Amz-User-Agent"
	case "content-md5":
		return "Content-Md5"
	}
	return ""
}

// canonicalKey appends the MIME canonical form of the lower-case header
// name to dst ("x-amz-date" becomes "X-Amz-Date").
func canonicalKey(dst []byte, name string) []byte {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// hostOf returns the value SigV4 uses for the host header.
func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if r.URL != nil {
		return r.URL.Host
	}
	return ""
}

// appendCanonicalHeaders appends one "name:value\n" line per name in
// signedHeaders (';'-separated, lower case, sorted) taking values from r,
// then the empty line that ends the block, then signedHeaders itself.
func appendCanonicalHeaders(dst []byte, r *http.Request, signedHeaders string) []byte {
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = cutByte(rest, ';')
		dst = append(dst, name...)
		dst = append(dst, ':')
		if name == "host" {
			dst = appendHeaderValue(dst, hostOf(r))
		} else {
			for i, v := range headerValues(r, name) {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendHeaderValue(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	return append(dst, signedHeaders...)
}

// canonicalRequest describes the parts of a canonical request that do not
// come from the headers.
type canonicalRequest struct {
	method        string
	uri           string // canonical URI, already encoded; "" builds it from path
	path          string // escaped path (see CanonicalURI), used when uri is ""
	s3            bool   // S3 rules for path
	rawQuery      string // as sent
	queryExclude  string
	signedHeaders string
	payloadHash   string
	// payloadSum, when hashed is set, is the payload's SHA-256, written in
	// hex in place of payloadHash. (It is held by value: a pointer would
	// make its referent escape.)
	payloadSum [sha256.Size]byte
	hashed     bool
}

// appendCanonicalRequest appends the canonical request for r to dst.
func (c *canonicalRequest) append(dst []byte, r *http.Request) ([]byte, error) {
	dst = append(dst, c.method...)
	dst = append(dst, '\n')
	if c.uri != "" {
		dst = append(dst, c.uri...)
	} else {
		dst = appendCanonicalURI(dst, c.path, c.s3)
	}
	dst = append(dst, '\n')
	dst, err := appendCanonicalQuery(dst, c.rawQuery, c.queryExclude)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '\n')
	dst = appendCanonicalHeaders(dst, r, c.signedHeaders)
	dst = append(dst, '\n')
	if c.hashed {
		return hex.AppendEncode(dst, c.payloadSum[:]), nil
	}
	return append(dst, c.payloadHash...), nil
}

// sizeHint estimates the length of the canonical request of r.
func sizeHint(r *http.Request) int {
	n := 256 + len(r.URL.RawQuery)*2
	for _, vs := range r.Header {
		for _, v := range vs {
			n += len(v) + 24
		}
	}
	return n
}

// appendStringToSign appends the SigV4 string to sign:
// algorithm, request time, scope and hex SHA-256 of the canonical request,
// separated by newlines.
func appendStringToSign(dst []byte, alg Algorithm, amzDate string, scope Scope, crHash *[32]byte) []byte {
	dst = append(dst, alg...)
	dst = append(dst, '\n')
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = appendScope(dst, scope)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, crHash[:])
}

// StringToSign returns the SigV4 string to sign for a canonical request.
func StringToSign(alg Algorithm, amzDate string, scope Scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return string(appendStringToSign(nil, alg, amzDate, scope, &sum))
}
