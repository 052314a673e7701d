package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxPresignExpires is the largest X-Amz-Expires accepted (seven days).
const MaxPresignExpires = 7 * 24 * time.Hour

// HMACOptions configures verification of AWS4-HMAC-SHA256 requests.
type HMACOptions struct {
	// Service is the service the scope must name ("sts", "iam", "s3", ...).
	Service string
	// Region is the region the scope must name; "" accepts any region
	// (what IAM needs: clients sign it with whatever region they have).
	Region string
	// S3 selects S3 rules: the canonical URI is the path as sent (no second
	// encoding), and X-Amz-Content-Sha256 may be UNSIGNED-PAYLOAD or a
	// STREAMING-* marker.
	S3 bool
	// MaxSkew is the allowed difference between the request time and now
	// for header-signed requests (and the "not yet current" bound of
	// presigned ones); 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Keys, when set, caches derived signing keys.
	Keys *KeyCache
}

// Parsed is a syntactically valid AWS4-HMAC-SHA256 request whose scope and
// time have been checked, waiting for the caller to look up the secret of
// AccessKeyID and call Verify.
type Parsed struct {
	// Credential holds the access key id and scope.
	Credential Credential
	// SignedHeaders is the ';'-separated list of signed headers.
	SignedHeaders string
	// Signature is the signature sent, decoded from hex.
	Signature []byte
	// Time is the request time (X-Amz-Date, or Date).
	Time time.Time
	// Presigned is set for query-string (presigned URL) authentication.
	Presigned bool
	// Expires is X-Amz-Expires of a presigned request.
	Expires time.Duration
	// SecurityToken is X-Amz-Security-Token from the header or query;
	// check it against the session of AccessKeyID.
	SecurityToken string
	// TokenSigned reports whether SecurityToken was covered by the
	// signature (always so in the query; in a header only when listed in
	// SignedHeaders).
	TokenSigned bool
	// ContentSHA256 is the X-Amz-Content-Sha256 value sent, if any.
	ContentSHA256 string

	r       *http.Request
	opts    *HMACOptions
	amzDate string
	signed  signedFlags
	// sig holds Signature when it is 32 bytes long, as it is in any
	// request that can verify, saving an allocation.
	sig [sha256.Size]byte
}

// AccessKeyID returns the access key id of the credential.
func (p *Parsed) AccessKeyID() string { return p.Credential.ID }

// ParseRequest parses the SigV4 HMAC authentication of r (Authorization
// header or presigned query) and checks everything that needs no secret:
// algorithm, scope (service, region, terminator, date), time window,
// X-Amz-Expires, that host and every x-amz-* header but
// X-Amz-Security-Token are signed, and that only one mechanism is used.
func ParseRequest(r *http.Request, now time.Time, opts *HMACOptions) (*Parsed, error) {
	p := new(Parsed)
	if err := p.parseRequest(r, now, opts); err != nil {
		return nil, err
	}
	if p.Signature == nil { // decoded into p.sig (see authFields.parse)
		p.Signature = p.sig[:]
	}
	return p, nil
}

// VerifyRequest authenticates r, whose body has been read into body: it is
// ParseRequest, then Verify with the secret that secret returns for the
// request's access key id and session token (X-Amz-Security-Token, "" if
// none). An error from secret is returned as is. On success it returns the
// request's credential (access key id and scope).
//
// Unlike ParseRequest it allocates nothing itself: for callers that need no
// more of the Parsed than the credential.
func VerifyRequest(r *http.Request, body []byte, now time.Time, opts *HMACOptions, secret func(accessKeyID, securityToken string) ([]byte, error)) (Credential, error) {
	// p stays on the stack as long as nothing stores its address or a
	// slice of p.sig: Signature is left nil (see signature).
	var p Parsed
	if err := p.parseRequest(r, now, opts); err != nil {
		return Credential{}, err
	}
	key, err := secret(p.Credential.ID, p.SecurityToken)
	if err != nil {
		return Credential{}, err
	}
	if err := p.Verify(key, body); err != nil {
		return Credential{}, err
	}
	return p.Credential, nil
}

// VerifyRequestSlot is VerifyRequest for a caller that keeps a KeySlot
// with each secret (a session cache): secret also returns the slot of the
// secret (nil for none), through which opts.Keys finds the signing key
// without a lookup when it was used last for the same scope.
func VerifyRequestSlot(r *http.Request, body []byte, now time.Time, opts *HMACOptions, secret func(accessKeyID, securityToken string) ([]byte, *KeySlot, error)) (Credential, error) {
	var p Parsed
	if err := p.parseRequest(r, now, opts); err != nil {
		return Credential{}, err
	}
	key, slot, err := secret(p.Credential.ID, p.SecurityToken)
	if err != nil {
		return Credential{}, err
	}
	var c canonicalRequest
	if err := p.payloadHash(&c, body, false); err != nil {
		return Credential{}, err
	}
	if err := p.verify(key, &c, slot); err != nil {
		return Credential{}, err
	}
	return p.Credential, nil
}

// parseRequest is ParseRequest into p, leaving Signature nil when it is
// held in p.sig.
func (p *Parsed) parseRequest(r *http.Request, now time.Time, opts *HMACOptions) error {
	if opts == nil || opts.Service == "" {
		return fmt.Errorf("sigv4: ParseRequest: HMACOptions.Service is required")
	}
	authz := headerGet(r.Header, HeaderAuthorization)
	q, err := parsePresignQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	switch {
	case authz != "" && q.present:
		return newError(CodeInvalidArgument, ErrAmbiguousAuth,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case authz != "":
		err = p.parseHeaderAuth(r, authz)
	case q.present:
		err = q.parsed(p)
	default:
		return newError(CodeMissingAuthenticationToken, ErrMissingAuth, msgMissingAuth)
	}
	if err != nil {
		return err
	}
	p.r, p.opts = r, opts
	return p.check(now)
}

// signature returns the signature sent: Signature, or p.sig while
// Signature is nil.
func (p *Parsed) signature() []byte {
	if p.Signature != nil {
		return p.Signature
	}
	return p.sig[:]
}

// parseHeaderAuth fills p from the Authorization header value authz of r,
// as ParseAuthorization would parse it.
func (p *Parsed) parseHeaderAuth(r *http.Request, authz string) error {
	f, err := splitAuthorization(authz)
	if err != nil {
		return err
	}
	if p.signed, err = f.parse(&p.Credential, &p.SignedHeaders, &p.Signature, &p.sig); err != nil {
		return err
	}
	if f.alg != HMACSHA256 {
		return newError(CodeIncompleteSignature, ErrUnsupportedAlg,
			"Unsupported AWS 'algorithm': '"+truncate(string(f.alg))+"'.")
	}
	if d := headerGet(r.Header, HeaderDate); d != "" {
		if p.Time, err = parseAmzDate(d); err != nil {
			return err
		}
		p.amzDate = d
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return newError(CodeIncompleteSignature, ErrMalformed, "The Date header is not a valid HTTP date.")
		}
		p.Time, p.amzDate = t.UTC(), t.UTC().Format(TimeFormat)
	} else {
		return newError(CodeIncompleteSignature, ErrMalformed,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if tok := headerGet(r.Header, HeaderSecurityToken); tok != "" {
		p.SecurityToken = tok
		p.TokenSigned = p.signed&signsToken != 0
	}
	p.ContentSHA256 = headerGet(r.Header, HeaderContentSHA256)
	return nil
}

// headerGet is h.Get(key) for a key already in canonical form, without
// canonicalising it again.
func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// presignQuery holds the X-Amz-* parameters of a presigned request.
type presignQuery struct {
	present                                          bool
	alg, cred, date, expires, signed, sig, token, ph string
	has                                              [8]bool
}

const presignMissing = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

// parsePresignQuery extracts the presigned-URL parameters of rawQuery.
// Authentication is presigned when X-Amz-Algorithm, X-Amz-Credential or
// X-Amz-Signature is present.
func parsePresignQuery(rawQuery string) (presignQuery, error) {
	var q presignQuery
	for rest := rawQuery; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "&")
		if !strings.HasPrefix(seg, "X-Amz-") {
			continue
		}
		name, val, _ := strings.Cut(seg, "=")
		var dst *string
		var i int
		switch name {
		case QueryAlgorithm:
			dst, i = &q.alg, 0
		case QueryCredential:
			dst, i = &q.cred, 1
		case QueryDate:
			dst, i = &q.date, 2
		case QueryExpires:
			dst, i = &q.expires, 3
		case QuerySignedHeaders:
			dst, i = &q.signed, 4
		case QuerySignature:
			dst, i = &q.sig, 5
		case QuerySecurityToken:
			dst, i = &q.token, 6
		case HeaderContentSHA256:
			dst, i = &q.ph, 7
		default:
			continue
		}
		v, ok := unescapeQuery(val)
		if !ok {
			return q, newError(CodeMalformedQueryString, ErrMalformed,
				"The query string contains an invalid percent-encoding.")
		}
		if q.has[i] {
			return q, newError(CodeAuthorizationQueryParametersError, ErrMalformed,
				"The "+name+" parameter must appear only once.")
		}
		*dst, q.has[i] = v, true
	}
	q.present = q.has[0] || q.has[1] || q.has[5]
	return q, nil
}

// parsed fills p from the presigned query parameters.
func (q *presignQuery) parsed(p *Parsed) error {
	for _, ok := range q.has[:6] {
		if !ok {
			return newError(CodeAuthorizationQueryParametersError, ErrMalformed, presignMissing)
		}
	}
	if q.alg != string(HMACSHA256) {
		return newError(CodeAuthorizationQueryParametersError, ErrUnsupportedAlg,
			`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	secs, err := strconv.ParseInt(q.expires, 10, 64)
	switch {
	case err != nil || secs < 0:
		return newError(CodeAuthorizationQueryParametersError, ErrMalformed,
			"X-Amz-Expires must be non-negative")
	case secs < 1:
		return newError(CodeAuthorizationQueryParametersError, ErrMalformed,
			"X-Amz-Expires must be at least 1 second")
	case secs > int64(MaxPresignExpires/time.Second):
		return newError(CodeAuthorizationQueryParametersError, ErrMalformed,
			"X-Amz-Expires must be less than a week (in seconds) that is; 604800")
	}
	p.Presigned = true
	p.Expires = time.Duration(secs) * time.Second
	p.SecurityToken, p.TokenSigned = q.token, q.has[6]
	p.ContentSHA256 = q.ph
	p.amzDate = q.date
	f := authFields{alg: HMACSHA256, cred: q.cred, signed: q.signed, sig: q.sig}
	if p.signed, err = f.parse(&p.Credential, &p.SignedHeaders, &p.Signature, &p.sig); err != nil {
		return err
	}
	if p.Time, err = parseAmzDate(q.date); err != nil {
		return err
	}
	return nil
}

// check runs the checks that need no secret.
func (p *Parsed) check(now time.Time) error {
	o := p.opts
	if err := checkScope(p.Credential.Scope, o.Service, o.Region); err != nil {
		return err
	}
	if err := checkDate(p.Credential.Scope, p.amzDate); err != nil {
		return err
	}
	if p.signed&signsHost == 0 {
		return errNotSigned("host")
	}
	for k := range p.r.Header {
		if k == HeaderDate && p.signed&signsDate != 0 {
			continue // the usual x-amz-* header, known to be signed
		}
		if len(k) > 6 && hasPrefixFold(k, "x-amz-") && !strings.EqualFold(k, HeaderSecurityToken) &&
			!hasSignedHeaderFold(p.SignedHeaders, k) {
			return newError(CodeIncompleteSignature, ErrHeaderNotSigned,
				"There were headers present in the request which were not signed: "+truncate(strings.ToLower(k)))
		}
	}
	if p.Presigned {
		skew := o.MaxSkew
		if skew <= 0 {
			skew = DefaultMaxSkew
		}
		if p.Time.After(now.Add(skew)) {
			return checkSkew(p.Time, now, skew)
		}
		if now.After(p.Time.Add(p.Expires)) {
			return newError(CodeAccessDenied, ErrExpired, "Request has expired")
		}
		return nil
	}
	return checkSkew(p.Time, now, o.MaxSkew)
}

// payloadHash sets the payload hash of the canonical request c; body is
// nil when the caller streams the body and trusts the declared hash. A hash
// of body is kept as bytes (c.hashed), so that its hex form need not be
// allocated.
func (p *Parsed) payloadHash(c *canonicalRequest, body []byte, streaming bool) error {
	d := p.ContentSHA256
	if d == UnsignedPayload || strings.HasPrefix(d, StreamingPrefix) {
		if !p.opts.S3 {
			return newError(CodeInvalidRequest, ErrPayloadHash,
				"The x-amz-content-sha256 value '"+truncate(d)+"' is only supported by Amazon S3.")
		}
		c.payloadHash = d
		return nil
	}
	if p.Presigned && p.opts.S3 && d == "" {
		c.payloadHash = UnsignedPayload
		return nil
	}
	if streaming {
		if d == "" {
			return newError(CodeInvalidRequest, ErrPayloadHash,
				"Missing required header for this request: x-amz-content-sha256")
		}
		c.payloadHash = d
		return nil
	}
	c.payloadSum, c.hashed = sha256.Sum256(body), true
	if d != "" {
		var h [2 * sha256.Size]byte
		hex.Encode(h[:], c.payloadSum[:])
		if d != string(h[:]) {
			return newError(CodeXAmzContentSHA256Mismatch, ErrPayloadHash,
				"The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	return nil
}

// Verify checks the signature with secret, the secret access key of
// p.AccessKeyID(), for the request body body. A declared hex
// X-Amz-Content-Sha256 must match body; with S3 options, UNSIGNED-PAYLOAD
// and STREAMING-* markers are taken as declared and body is ignored.
func (p *Parsed) Verify(secret []byte, body []byte) error {
	var c canonicalRequest
	if err := p.payloadHash(&c, body, false); err != nil {
		return err
	}
	return p.verify(secret, &c, nil)
}

// VerifyStreaming checks the signature against the declared
// X-Amz-Content-Sha256 (required) without reading the body. When
// ContentSHA256 is a hex hash the caller must check the body it streams
// against it before acting on the request.
func (p *Parsed) VerifyStreaming(secret []byte) error {
	var c canonicalRequest
	if err := p.payloadHash(&c, nil, true); err != nil {
		return err
	}
	return p.verify(secret, &c, nil)
}

// verify checks the signature, given c with its payload hash set.
// slot, if not nil, is the KeySlot of secret.
func (p *Parsed) verify(secret []byte, c *canonicalRequest, slot *KeySlot) error {
	r := p.r
	exclude := ""
	if p.Presigned {
		exclude = QuerySignature
	}
	// Most canonical requests fit: no allocation (append moves a larger
	// one to the heap).
	var stack [2048]byte
	buf := stack[:0]
	c.method = r.Method
	c.path, c.s3 = r.URL.EscapedPath(), p.opts.S3
	c.rawQuery = r.URL.RawQuery
	c.queryExclude = exclude
	c.signedHeaders = p.SignedHeaders
	cr, err := c.append(buf, r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cr)
	// The string to sign is built in the MAC's own buffer: hash.Hash.Write
	// makes its argument escape, and the canonical request's buffer should
	// not.
	m := p.opts.Keys.mac(p.Credential.ID, secret, p.Credential.Scope, slot)
	m.buf = appendStringToSign(m.buf[:0], HMACSHA256, p.amzDate, p.Credential.Scope, &sum)
	ok := hmac.Equal(m.sum(), p.signature())
	m.release()
	if !ok {
		return newError(CodeSignatureDoesNotMatch, ErrSignature, msgSignatureDoesNotMatch)
	}
	return nil
}

// Credentials are the access key, secret and optional session token used
// by SignHMAC and PresignHMAC.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// hmacUnsigned lists headers never signed (as the AWS SDKs do), plus those
// net/http does not send from the header map.
var hmacUnsigned = [...]string{
	"authorization", "user-agent", "x-amzn-trace-id", "expect",
	"transfer-encoding", "content-length", "trailer",
}

func signedHeaderList(req *http.Request) string {
	names := []string{"host"}
	for k := range req.Header {
		lk := strings.ToLower(k)
		if !slices.Contains(hmacUnsigned[:], lk) && !slices.Contains(names, lk) {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ";")
}

// SignHMAC signs req with AWS4-HMAC-SHA256 in the Authorization header. It
// sets X-Amz-Date (from now), X-Amz-Security-Token when creds has a session
// token, and, for service "s3", X-Amz-Content-Sha256; all headers then
// present are signed except Authorization, User-Agent, X-Amzn-Trace-Id,
// Expect, Transfer-Encoding and Content-Length. payloadHash is
// HashPayload(body), or UnsignedPayload for S3.
func SignHMAC(req *http.Request, payloadHash string, creds Credentials, service, region string, now time.Time) error {
	amzDate := now.UTC().Format(TimeFormat)
	s3 := service == "s3"
	req.Header.Del(HeaderAuthorization)
	req.Header.Set(HeaderDate, amzDate)
	if creds.SessionToken != "" {
		req.Header.Set(HeaderSecurityToken, creds.SessionToken)
	}
	if s3 {
		req.Header.Set(HeaderContentSHA256, payloadHash)
	}
	signed := signedHeaderList(req)
	scope := NewScope(amzDate[:8], region, service)
	sig, err := hmacSign(req, "", signed, payloadHash, amzDate, scope, creds.SecretAccessKey, s3)
	if err != nil {
		return err
	}
	cred := Credential{ID: creds.AccessKeyID, Scope: scope}
	req.Header.Set(HeaderAuthorization, formatAuthorization(HMACSHA256, cred.String(), signed, sig))
	return nil
}

// PresignHMAC adds presigned-URL authentication (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
// X-Amz-Security-Token, X-Amz-Signature) to req.URL, signing host and the
// headers present as SignHMAC does. expires must be 1s to 7 days.
func PresignHMAC(req *http.Request, payloadHash string, creds Credentials, service, region string, expires time.Duration, now time.Time) error {
	if expires < time.Second || expires > MaxPresignExpires {
		return fmt.Errorf("sigv4: presign expiry %v out of range [1s, 7d]", expires)
	}
	amzDate := now.UTC().Format(TimeFormat)
	scope := NewScope(amzDate[:8], region, service)
	signed := signedHeaderList(req)
	add := []string{
		QueryAlgorithm + "=" + string(HMACSHA256),
		QueryCredential + "=" + EscapeRFC3986(Credential{ID: creds.AccessKeyID, Scope: scope}.String()),
		QueryDate + "=" + amzDate,
		QueryExpires + "=" + strconv.FormatInt(int64(expires/time.Second), 10),
		QuerySignedHeaders + "=" + EscapeRFC3986(signed),
	}
	if creds.SessionToken != "" {
		add = append(add, QuerySecurityToken+"="+EscapeRFC3986(creds.SessionToken))
	}
	raw := strings.Join(add, "&")
	if req.URL.RawQuery != "" {
		raw = req.URL.RawQuery + "&" + raw
	}
	req.URL.RawQuery = raw
	sig, err := hmacSign(req, "", signed, payloadHash, amzDate, scope, creds.SecretAccessKey, service == "s3")
	if err != nil {
		return err
	}
	req.URL.RawQuery += "&" + QuerySignature + "=" + sig
	return nil
}

func hmacSign(req *http.Request, exclude, signed, payloadHash, amzDate string, scope Scope, secret string, s3 bool) (string, error) {
	c := canonicalRequest{
		method:        req.Method,
		uri:           CanonicalURI(req.URL.EscapedPath(), s3),
		rawQuery:      req.URL.RawQuery,
		queryExclude:  exclude,
		signedHeaders: signed,
		payloadHash:   payloadHash,
	}
	cr, err := c.append(nil, req)
	if err != nil {
		return "", fmt.Errorf("sigv4: canonical request: %w", err)
	}
	sum := sha256.Sum256(cr)
	sts := appendStringToSign(nil, HMACSHA256, amzDate, scope, &sum)
	key := DeriveSigningKey([]byte(secret), scope.Date, scope.Region, scope.Service)
	m := hmac.New(sha256.New, key[:])
	m.Write(sts)
	return hex.EncodeToString(m.Sum(nil)), nil
}
