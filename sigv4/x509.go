package sigv4

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Defaults of the Roles Anywhere CreateSession signature.
const (
	// RolesAnywhereService is the service in a CreateSession scope.
	RolesAnywhereService = "rolesanywhere"
	// SessionsURI is the canonical URI the credential helper always signs,
	// whatever path prefix the endpoint has.
	SessionsURI = "/sessions"
)

// X509Options tunes VerifyX509. The zero value verifies a CreateSession
// request with a ±5 minute window and any region.
type X509Options struct {
	// MaxSkew is the allowed difference between X-Amz-Date and now;
	// 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// SkipTimeCheck disables the window check (not the scope date check),
	// for replaying recorded requests in tests.
	SkipTimeCheck bool
	// Region, when set, is the only region accepted in the scope.
	Region string
	// Service is the scope service; "" means RolesAnywhereService.
	Service string
	// CanonicalURI is the URI used in the canonical request; "" means
	// SessionsURI, which is what the official helper signs.
	CanonicalURI string
	// LeafFromHeader tells the verifier that the caller parsed leaf from
	// this request's X-Amz-X509 header, so the header need not be compared
	// with the certificate again.
	LeafFromHeader bool
	// LeafSerial, if set, is leaf's serial number in decimal, as the
	// caller already computed it.
	LeafSerial string
}

func (o *X509Options) service() string {
	if o == nil || o.Service == "" {
		return RolesAnywhereService
	}
	return o.Service
}

func (o *X509Options) uri() string {
	if o == nil || o.CanonicalURI == "" {
		return SessionsURI
	}
	return o.CanonicalURI
}

// AlgorithmForKey returns the X.509 signing algorithm for a public key:
// X509RSASHA256 for *rsa.PublicKey, X509ECDSASHA256 for *ecdsa.PublicKey.
func AlgorithmForKey(pub crypto.PublicKey) (Algorithm, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return X509RSASHA256, nil
	case *ecdsa.PublicKey:
		return X509ECDSASHA256, nil
	}
	return "", fmt.Errorf("sigv4: no X.509 signing algorithm for key type %T: %w", pub, ErrUnsupportedAlg)
}

// verify checks sig over the string to sign sts with pub. It is the one
// place that knows how each X.509 algorithm signs.
func (a Algorithm) verify(pub crypto.PublicKey, sts, sig []byte) error {
	switch a {
	case X509RSASHA256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return ErrAlgorithmMismatch
		}
		d := sha256.Sum256(sts)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) != nil {
			return ErrSignature
		}
		return nil
	case X509ECDSASHA256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return ErrAlgorithmMismatch
		}
		d := sha256.Sum256(sts)
		if !ecdsa.VerifyASN1(k, d[:], sig) {
			return ErrSignature
		}
		return nil
	}
	// X509MLDSA: verify pure ML-DSA over sts (no pre-hash, empty context)
	// once crypto/x509 parses ML-DSA keys.
	return ErrUnsupportedAlg
}

// sign signs the string to sign sts with signer as algorithm a requires.
func (a Algorithm) sign(signer crypto.Signer, sts []byte) ([]byte, error) {
	switch a {
	case X509RSASHA256, X509ECDSASHA256:
		d := sha256.Sum256(sts)
		sig, err := signer.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		if a == X509ECDSASHA256 {
			sig = ecdsaToDER(signer.Public(), sig)
		}
		return sig, nil
	}
	return nil, ErrUnsupportedAlg
}

// ecdsaToDER converts a raw r||s signature (as some PKCS#11 and CNG signers
// return) to ASN.1 DER; DER input is returned unchanged.
func ecdsaToDER(pub crypto.PublicKey, sig []byte) []byte {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return sig
	}
	n := (k.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*n {
		return sig
	}
	var v struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &v); err == nil && len(rest) == 0 {
		return sig
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]),
	})
	if err != nil {
		return sig
	}
	return der
}

// ParseX509Authorization parses the Authorization header of a
// CreateSession request and checks that its algorithm is an X.509 one.
// The credential ID is the signing certificate's decimal serial number.
func ParseX509Authorization(v string) (*Authorization, error) {
	if v == "" {
		return nil, newError(CodeMissingAuthenticationToken, ErrMissingAuth, msgMissingAuth)
	}
	a, err := ParseAuthorization(v)
	if err != nil {
		return nil, err
	}
	switch a.Algorithm {
	case X509RSASHA256, X509ECDSASHA256:
		return a, nil
	}
	return nil, newError(CodeIncompleteSignature, ErrUnsupportedAlg,
		"Unsupported AWS 'algorithm': '"+truncate(string(a.Algorithm))+"'.")
}

// ParseCertificateHeaders decodes X-Amz-X509 (standard base64 DER) and, if
// present, X-Amz-X509-Chain (comma-separated standard base64 DER). The chain
// is returned in the order sent and must be treated as an unordered pool.
func ParseCertificateHeaders(h http.Header) (leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	v := h.Get(HeaderX509)
	if v == "" {
		return nil, nil, errors.New("sigv4: missing X-Amz-X509 header")
	}
	leaf, err = parseB64Cert(v)
	if err != nil {
		return nil, nil, fmt.Errorf("sigv4: X-Amz-X509: %w", err)
	}
	if cv := h.Get(HeaderX509Chain); cv != "" {
		for i, part := range strings.Split(cv, ",") {
			c, err := parseB64Cert(strings.TrimSpace(part))
			if err != nil {
				return nil, nil, fmt.Errorf("sigv4: X-Amz-X509-Chain element %d: %w", i, err)
			}
			chain = append(chain, c)
		}
	}
	return leaf, chain, nil
}

func parseB64Cert(s string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// VerifyX509 verifies the SigV4-X509 signature of a CreateSession request r
// whose body is body, made with the key of leaf, the certificate the caller
// parsed from X-Amz-X509 (see ParseCertificateHeaders). It checks that the
// algorithm matches the leaf's key type, that the credential serial is the
// leaf's decimal serial, that X-Amz-X509 carries leaf, that host,
// x-amz-date, x-amz-x509, x-amz-x509-chain (when sent) and content-type (when
// sent) are signed, the scope, the time window and the signature. It
// returns the parsed Authorization on success.
//
// Failures are *Error values with AWS codes; the cause is one of the Err*
// sentinels.
func VerifyX509(r *http.Request, body []byte, leaf *x509.Certificate, now time.Time, opts *X509Options) (*Authorization, error) {
	a, err := ParseX509Authorization(r.Header.Get(HeaderAuthorization))
	if err != nil {
		return nil, err
	}
	if err := a.VerifyX509(r, body, leaf, now, opts); err != nil {
		return nil, err
	}
	return a, nil
}

// VerifyX509 is VerifyX509 for an Authorization already parsed with
// ParseX509Authorization.
func (a *Authorization) VerifyX509(r *http.Request, body []byte, leaf *x509.Certificate, now time.Time, opts *X509Options) error {
	amzDate, err := a.checkX509(r, leaf, now, opts)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, sizeHint(r))
	cr, err := x509Canonical(buf, r, body, a.SignedHeaders, opts.uri())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cr)
	sts := appendStringToSign(cr[:0], a.Algorithm, amzDate, a.Credential.Scope, &sum)
	switch err := a.Algorithm.verify(leaf.PublicKey, sts, a.Signature); err {
	case nil:
		return nil
	case ErrSignature:
		return newError(CodeSignatureDoesNotMatch, ErrSignature, msgSignatureDoesNotMatch)
	default:
		return newError(CodeSignatureDoesNotMatch, err, "The request signature could not be verified.")
	}
}

// checkX509 runs every check but the signature and returns X-Amz-Date.
func (a *Authorization) checkX509(r *http.Request, leaf *x509.Certificate, now time.Time, opts *X509Options) (string, error) {
	if leaf == nil {
		return "", newError(CodeIncompleteSignature, ErrMalformed, "The X-Amz-X509 header is required.")
	}
	var region string
	if opts != nil {
		region = opts.Region
	}
	if err := checkScope(a.Credential.Scope, opts.service(), region); err != nil {
		return "", err
	}
	want, err := AlgorithmForKey(leaf.PublicKey)
	if err != nil || want != a.Algorithm {
		return "", newError(CodeSignatureDoesNotMatch, ErrAlgorithmMismatch,
			"The signing algorithm '"+string(a.Algorithm)+"' does not match the certificate's key type.")
	}
	serial := ""
	if opts != nil {
		serial = opts.LeafSerial
	}
	if serial == "" && leaf.SerialNumber != nil {
		serial = leaf.SerialNumber.String()
	}
	if serial == "" || a.Credential.ID != serial {
		return "", newError(CodeSignatureDoesNotMatch, ErrSerialMismatch,
			"The Credential serial number does not match the X-Amz-X509 certificate.")
	}
	for _, h := range [...]string{"host", "x-amz-date", "x-amz-x509"} {
		if !hasSignedHeader(a.SignedHeaders, h) {
			return "", errNotSigned(h)
		}
	}
	if len(r.Header[HeaderX509Chain]) > 0 && !hasSignedHeader(a.SignedHeaders, "x-amz-x509-chain") {
		return "", errNotSigned("x-amz-x509-chain")
	}
	if len(r.Header["Content-Type"]) > 0 && !hasSignedHeader(a.SignedHeaders, "content-type") {
		return "", errNotSigned("content-type")
	}
	if (opts == nil || !opts.LeafFromHeader) && !certHeaderMatches(r.Header[HeaderX509], leaf.Raw) {
		return "", newError(CodeSignatureDoesNotMatch, ErrCertificateMismatch,
			"The X-Amz-X509 header does not carry the signing certificate.")
	}
	amzDate := r.Header.Get(HeaderDate)
	if amzDate == "" {
		return "", newError(CodeIncompleteSignature, ErrMalformed,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	t, err := parseAmzDate(amzDate)
	if err != nil {
		return "", err
	}
	if err := checkDate(a.Credential.Scope, amzDate); err != nil {
		return "", err
	}
	if opts == nil || !opts.SkipTimeCheck {
		var skew time.Duration
		if opts != nil {
			skew = opts.MaxSkew
		}
		if err := checkSkew(t, now, skew); err != nil {
			return "", err
		}
	}
	return amzDate, nil
}

func errNotSigned(h string) *Error {
	if h == "host" {
		return newError(CodeIncompleteSignature, ErrHeaderNotSigned,
			"'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return newError(CodeIncompleteSignature, ErrHeaderNotSigned,
		"'"+h+"' must be a 'SignedHeader' in the AWS Authorization.")
}

// certHeaderMatches reports whether the single X-Amz-X509 value is the
// base64 of der.
func certHeaderMatches(vals []string, der []byte) bool {
	if len(vals) != 1 {
		return false
	}
	v := vals[0]
	if len(v) == base64.StdEncoding.EncodedLen(len(der)) {
		var stack [2048]byte
		enc := base64.StdEncoding.AppendEncode(stack[:0], der)
		return string(enc) == v
	}
	got, err := base64.StdEncoding.DecodeString(v)
	return err == nil && string(got) == string(der)
}

// x509Canonical appends the canonical request of a CreateSession request.
func x509Canonical(dst []byte, r *http.Request, body []byte, signedHeaders, uri string) ([]byte, error) {
	var ph [64]byte
	sum := sha256.Sum256(body)
	hex.Encode(ph[:], sum[:])
	if v := r.Header.Get(HeaderContentSHA256); v != "" && v != string(ph[:]) {
		return nil, newError(CodeXAmzContentSHA256Mismatch, ErrPayloadHash,
			"The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	c := canonicalRequest{
		method:        r.Method,
		uri:           uri,
		rawQuery:      r.URL.RawQuery,
		signedHeaders: signedHeaders,
		payloadSum:    sum,
		hashed:        true,
	}
	return c.append(dst, r)
}

// CanonicalX509 returns the canonical request and string to sign that
// VerifyX509 computes for r, for diagnostics and tests.
func CanonicalX509(r *http.Request, body []byte, a *Authorization, opts *X509Options) (canonicalRequest, stringToSign string, err error) {
	cr, err := x509Canonical(nil, r, body, a.SignedHeaders, opts.uri())
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(cr)
	sts := appendStringToSign(nil, a.Algorithm, r.Header.Get(HeaderDate), a.Credential.Scope, &sum)
	return string(cr), string(sts), nil
}

// x509Unsigned lists the headers the credential helper never signs, plus
// those net/http does not send from the header map.
var x509Unsigned = [...]string{
	"authorization", "user-agent", "x-amzn-trace-id",
	"content-length", "transfer-encoding", "trailer", "expect",
}

// SignX509 signs the CreateSession request req, whose body is body, the way
// the official aws_signing_helper does: it sets X-Amz-Date (from now),
// X-Amz-X509 (standard base64 DER of cert), X-Amz-X509-Chain (when chain is
// not empty: the certificates' base64 DER joined by ","), signs every header
// then present plus host (except Authorization, User-Agent and
// X-Amzn-Trace-Id) over the canonical URI "/sessions", and sets
// Authorization. The algorithm follows from signer's public key; the
// credential is cert's decimal serial number and the scope
// date/region/rolesanywhere/aws4_request.
func SignX509(req *http.Request, body []byte, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, region string, now time.Time) error {
	alg, err := AlgorithmForKey(signer.Public())
	if err != nil {
		return err
	}
	amzDate := now.UTC().Format(TimeFormat)
	req.Header.Del(HeaderAuthorization)
	req.Header.Set(HeaderDate, amzDate)
	req.Header.Set(HeaderX509, base64.StdEncoding.EncodeToString(cert.Raw))
	if len(chain) > 0 {
		parts := make([]string, len(chain))
		for i, c := range chain {
			parts[i] = base64.StdEncoding.EncodeToString(c.Raw)
		}
		req.Header.Set(HeaderX509Chain, strings.Join(parts, ","))
	}
	names := []string{"host"}
	for k := range req.Header {
		lk := strings.ToLower(k)
		if !slices.Contains(x509Unsigned[:], lk) && !slices.Contains(names, lk) {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	signed := strings.Join(names, ";")
	cr, err := x509Canonical(nil, req, body, signed, SessionsURI)
	if err != nil {
		return fmt.Errorf("sigv4: canonical request: %w", err)
	}
	scope := NewScope(amzDate[:8], region, RolesAnywhereService)
	sum := sha256.Sum256(cr)
	sts := appendStringToSign(nil, alg, amzDate, scope, &sum)
	sig, err := alg.sign(signer, sts)
	if err != nil {
		return fmt.Errorf("sigv4: signing with %s: %w", alg, err)
	}
	cred := Credential{ID: cert.SerialNumber.String(), Scope: scope}
	req.Header.Set(HeaderAuthorization, formatAuthorization(alg, cred.String(), signed, hex.EncodeToString(sig)))
	return nil
}
