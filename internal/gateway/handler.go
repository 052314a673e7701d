package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/policy"
	"github.com/roam-project/roam/sigv4"
)

// Deny reasons, as they appear in the audit log and metrics.
const (
	denyCertificate  = "client-certificate"
	denyNoRoute      = "no-route"
	denyUnsupported  = "unsupported-request"
	denyAuth         = "authentication"
	denyImplicit     = "implicit-deny"
	denyExplicit     = "explicit-deny"
	denyInternal     = "internal-error"
	denyBadRequest   = "bad-request"
	allowMTLS        = "trusted-certificate"
	allowPolicy      = "policy-allow"
	maxAPIBodyBuffer = 16 << 20
)

// decision is the outcome of authorizing one request, for the response, the
// audit log and the metrics.
type decision struct {
	allow     bool
	reason    string // one of the deny*/allow* constants
	status    int
	code      string // AWS-style error code for the client
	message   string // client-safe message
	detail    string // for the audit log only
	certWhy   string // the CertError reason, for certificate failures
	operation string
	actions   []string
	resources []string
	principal string
	explain   string
}

// reqState travels from ServeHTTP to rewrite through the request context.
type reqState struct {
	leaf        *x509.Certificate
	chain       []*x509.Certificate
	principal   string
	s3          *S3Request
	payloadHash string // for re-signing S3 requests
}

type stateKey struct{}

func (rs *routeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	now := rs.g.now()
	reqID := newRequestID()
	stripIdentity(r.Header)
	st := &reqState{}
	d := rs.authorize(r, now, st)
	rs.audit(r, reqID, d, start)
	if !d.allow {
		rs.deny(w, r, reqID, d)
		return
	}
	w.Header().Set("X-Roam-Request-Id", reqID)
	rs.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	rs.g.metrics.duration.WithLabelValues(rs.cfg.Name).Observe(time.Since(start).Seconds())
}

func (rs *routeServer) authorize(r *http.Request, now time.Time, st *reqState) decision {
	rc := rs.cfg
	if rs.trust != nil {
		var certs []*x509.Certificate
		if r.TLS != nil {
			certs = r.TLS.PeerCertificates
		}
		leaf, err := rs.trust.Verify(certs, now)
		if err != nil {
			ce := &CertError{Reason: ReasonInvalid, Detail: err.Error()}
			errors.As(err, &ce)
			rs.g.metrics.certRejections.WithLabelValues(rc.Name, ce.Reason, "http").Inc()
			return decision{reason: denyCertificate, certWhy: ce.Reason, status: http.StatusForbidden, code: "AccessDenied",
				message: "client certificate " + ce.Reason + ": " + ce.Detail}
		}
		st.leaf, st.chain = leaf, certs[1:]
	}
	switch rc.Authorization {
	case AuthMTLS:
		if rc.Backend.S3 {
			// Plain mTLS in front of S3 still maps the request, to
			// re-sign it, but allows every mapped operation.
			s3r, d := rs.mapS3(r)
			if s3r == nil {
				return d
			}
			st.s3 = s3r
			st.payloadHash = clientPayloadHash(r)
		}
		return decision{allow: true, reason: allowMTLS}
	case AuthMTLSPolicy:
		return rs.authorizeCertPolicy(r, now, st)
	case AuthSigV4:
		return rs.authorizeSigV4(r, now, st)
	}
	return decision{reason: denyInternal, status: http.StatusInternalServerError, code: "InternalError", message: "unknown authorization mode"}
}

// target is what a request asks for: one or more (action, resource) pairs
// that must all be allowed, plus request-specific condition keys.
type target struct {
	operation  string
	ops        []S3Op
	conditions map[string]string
}

// resolveTarget maps the request with the S3 mapping or the route table.
func (rs *routeServer) resolveTarget(r *http.Request, st *reqState) (*target, *decision) {
	if rs.cfg.Backend.S3 {
		s3r, d := rs.mapS3(r)
		if s3r == nil {
			return nil, &d
		}
		st.s3 = s3r
		return &target{operation: s3r.Operation, ops: s3r.Ops, conditions: s3r.Conditions}, nil
	}
	m, ok := rs.cfg.table.Match(r.Method, r.URL.EscapedPath())
	if !ok {
		return nil, &decision{reason: denyNoRoute, status: http.StatusForbidden, code: "AccessDenied",
			message: "no route in the gateway's route table matches " + r.Method + " " + r.URL.EscapedPath()}
	}
	return &target{operation: m.Pattern, ops: []S3Op{{m.Action, m.Resource}}}, nil
}

// mapS3 maps an S3 request; for DeleteObjects it reads the (bounded) body
// and replaces it with a buffered copy.
func (rs *routeServer) mapS3(r *http.Request) (*S3Request, decision) {
	s3r, err := MapS3(r.Method, r.Host, r.URL.EscapedPath(), r.URL.Query(), r.Header, rs.cfg.VirtualHostDomain)
	if err != nil {
		return nil, decision{reason: denyUnsupported, status: http.StatusForbidden, code: "AccessDenied",
			message: "Access Denied", detail: err.Error()}
	}
	if s3r.DeleteObjects {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxDeleteObjectsBody+1))
		if err != nil || len(body) > MaxDeleteObjectsBody {
			return nil, decision{reason: denyBadRequest, status: http.StatusBadRequest, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema."}
		}
		if h := r.Header.Get(sigv4.HeaderContentSHA256); isHexHash(h) {
			sum := sha256.Sum256(body)
			if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(strings.ToLower(h))) != 1 {
				return nil, decision{reason: denyAuth, status: http.StatusBadRequest, code: sigv4.CodeXAmzContentSHA256Mismatch, message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		ops, err := ParseDeleteObjects(s3r.Bucket, body)
		if err != nil {
			return nil, decision{reason: denyBadRequest, status: http.StatusBadRequest, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema.", detail: err.Error()}
		}
		s3r.Ops = ops
	}
	return s3r, decision{}
}

func (rs *routeServer) authorizeCertPolicy(r *http.Request, now time.Time, st *reqState) decision {
	t, d := rs.resolveTarget(r, st)
	if d != nil {
		return *d
	}
	tags, err := anywhere.SessionTags(st.leaf, rs.cfg.mappings)
	if err != nil {
		return decision{reason: denyCertificate, status: http.StatusForbidden, code: "AccessDenied",
			message: "certificate attributes cannot be mapped to principal tags", detail: err.Error()}
	}
	c := policy.NewContext()
	for _, tg := range tags {
		c.Set(sts.KeyPrincipalTagPfx+tg.Key, tg.Value)
	}
	c.Set(sts.KeySourceIdentity, anywhere.SourceIdentity(st.leaf))
	setRequestKeys(c, r, now)
	if st.s3 != nil {
		st.payloadHash = clientPayloadHash(r)
	}
	principal := "x509:" + st.leaf.Subject.String()
	set := &policy.PolicySet{Identity: []*policy.Policy{rs.cfg.policy}}
	return rs.evaluate(set, policy.Principal{}, c, t, principal)
}

func setRequestKeys(c *policy.Context, r *http.Request, now time.Time) {
	now = now.UTC()
	c.Set(sts.KeyCurrentTime, now.Format(time.RFC3339))
	c.Set(sts.KeyEpochTime, strconv.FormatInt(now.Unix(), 10))
	c.Set(sts.KeySecureTransport, "true")
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Set(sts.KeySourceIP, host)
	}
}

// evaluate decides every op of t with set; all must be allowed, and the
// first denial is reported.
func (rs *routeServer) evaluate(set *policy.PolicySet, p policy.Principal, c *policy.Context, t *target, principal string) decision {
	for k, v := range t.conditions {
		c.Set(k, v)
	}
	d := decision{operation: t.operation, principal: principal}
	for _, op := range t.ops {
		d.actions = append(d.actions, op.Action)
		d.resources = append(d.resources, op.Resource)
	}
	for _, op := range t.ops {
		req := &policy.Request{Principal: p, Action: op.Action, Resource: op.Resource, Context: c}
		switch set.Evaluate(req) {
		case policy.Allow:
			continue
		case policy.ExplicitDeny:
			d.reason = denyExplicit
		default:
			d.reason = denyImplicit
		}
		d.status, d.code = http.StatusForbidden, "AccessDenied"
		d.message = fmt.Sprintf("%s is not authorized to perform %s on resource %s", principal, op.Action, op.Resource)
		d.explain = strings.ReplaceAll(set.Explain(req).String(), "\n", "; ")
		if rs.cfg.Backend.S3 {
			d.message = "Access Denied"
		}
		return d
	}
	d.allow, d.reason = true, allowPolicy
	return d
}

func (rs *routeServer) authorizeSigV4(r *http.Request, now time.Time, st *reqState) decision {
	src := rs.g.store
	s3 := rs.cfg.Backend.S3
	service := rs.cfg.Service
	if s3 {
		service = "s3"
	}
	authFail := func(code, msg string, status int, detail string) decision {
		return decision{reason: denyAuth, status: status, code: code, message: msg, detail: detail}
	}
	snap := src.current()
	if snap == nil {
		return decision{reason: denyInternal, status: http.StatusServiceUnavailable, code: "ServiceUnavailable", message: "the gateway has not loaded the credential keyring yet"}
	}
	p, err := sigv4.ParseRequest(r, now, &sigv4.HMACOptions{Service: service, S3: s3, Keys: src.keys})
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return authFail(se.Code, se.Message, se.HTTPStatus(), err.Error())
		}
		return authFail("AccessDenied", "Access Denied", http.StatusForbidden, err.Error())
	}
	if p.SecurityToken == "" {
		return authFail(sts.CodeInvalidClientTokenID, sts.MessageInvalidClientTokenID, http.StatusForbidden, "no session token: only roam session credentials are accepted")
	}
	sess, err := src.tokens.Validate(p.AccessKeyID(), p.SecurityToken, now)
	if err != nil {
		code, msg := sts.CodeInvalidClientTokenID, sts.MessageInvalidClientTokenID
		if errors.Is(err, sts.ErrExpiredToken) {
			code, msg = sts.CodeExpiredToken, sts.MessageExpiredToken
		}
		return authFail(code, msg, http.StatusForbidden, err.Error())
	}
	secret := []byte(sess.SecretAccessKey)
	switch {
	case s3 && strings.HasPrefix(p.ContentSHA256, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"):
		// Signed chunks chain from the client's signature; the backend
		// could not verify them under the gateway's key.
		return decision{reason: denyUnsupported, status: http.StatusNotImplemented, code: "NotImplemented",
			message: "signed streaming uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not supported through the gateway; use UNSIGNED-PAYLOAD over TLS"}
	case s3:
		if err := p.VerifyStreaming(secret); err != nil {
			return sigErr(err)
		}
		if isHexHash(p.ContentSHA256) && r.Body != nil && r.Body != http.NoBody {
			r.Body = &hashCheckReader{r: r.Body, h: sha256.New(), want: strings.ToLower(p.ContentSHA256)}
		}
	default:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBodyBuffer+1))
		if err != nil || len(body) > maxAPIBodyBuffer {
			return decision{reason: denyBadRequest, status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge", message: "request body too large for a signed request"}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := p.Verify(secret, body); err != nil {
			return sigErr(err)
		}
	}
	perms := snap.perms
	var roleTags []sts.Tag
	for k, v := range perms.RoleTags(sess.RoleARN) {
		roleTags = append(roleTags, sts.Tag{Key: k, Value: v})
	}
	rctx := sts.NewRequestContext(sess, r, now, roleTags)
	st.principal = sess.AssumedRoleARN()
	t, d := rs.resolveTarget(r, st)
	if d != nil {
		d.principal = st.principal
		return *d
	}
	set, err := perms.ForSession(sess.RoleARN, iam.SessionPolicies{Inline: sess.SessionPolicy, PolicyARNs: sess.PolicyARNs})
	if err != nil {
		// An unknown role or a policy that does not compile: fail closed.
		return decision{reason: denyImplicit, status: http.StatusForbidden, code: "AccessDenied", message: "Access Denied",
			detail: err.Error(), principal: st.principal, operation: t.operation}
	}
	if st.s3 != nil {
		st.payloadHash = p.ContentSHA256
		if st.payloadHash == "" {
			st.payloadHash = sigv4.UnsignedPayload
		}
	}
	return rs.evaluate(set, rctx.Principal, rctx.Context, t, st.principal)
}

func sigErr(err error) decision {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return decision{reason: denyAuth, status: se.HTTPStatus(), code: se.Code, message: se.Message, detail: err.Error()}
	}
	return decision{reason: denyAuth, status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided.", detail: err.Error()}
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// clientPayloadHash is the payload hash to re-sign an unsigned-by-roam S3
// request with: the client's declared hex hash (the backend checks it) or
// UNSIGNED-PAYLOAD.
func clientPayloadHash(r *http.Request) string {
	h := r.Header.Get(sigv4.HeaderContentSHA256)
	if isHexHash(h) || h == sigv4.UnsignedPayload || h == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
		return h
	}
	return sigv4.UnsignedPayload
}

// hashCheckReader fails the read that reaches EOF if the body's SHA-256 is
// not the one the client signed, so the proxied request is aborted.
type hashCheckReader struct {
	r    io.ReadCloser
	h    hash.Hash
	want string
}

func (c *hashCheckReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF {
		got := hex.EncodeToString(c.h.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(got), []byte(c.want)) != 1 {
			return n, errors.New("x-amz-content-sha256 does not match the body")
		}
	}
	return n, err
}

func (c *hashCheckReader) Close() error { return c.r.Close() }

// rewrite builds the backend request: URL, identity headers, and for S3
// backends a path-style URL re-signed with the gateway's credentials.
func (rs *routeServer) rewrite(pr *httputil.ProxyRequest) {
	st, _ := pr.In.Context().Value(stateKey{}).(*reqState)
	if st == nil {
		st = &reqState{}
	}
	b := rs.cfg.backend
	pr.Out.URL.Scheme, pr.Out.URL.Host = b.Scheme, b.Host
	pr.Out.Host = ""
	inPath := pr.In.URL.EscapedPath()
	if st.s3 != nil && st.s3.VirtualHost {
		inPath = "/" + url.PathEscape(st.s3.Bucket) + inPath
	}
	joinPath(pr.Out.URL, b, inPath)
	pr.SetXForwarded()
	stripIdentity(pr.Out.Header)
	setIdentity(pr.Out.Header, st.leaf, st.chain, st.principal)
	if rs.cfg.Authorization == AuthSigV4 || st.s3 != nil {
		// Never pass the client's credentials on.
		pr.Out.Header.Del(sigv4.HeaderAuthorization)
		pr.Out.Header.Del(sigv4.HeaderSecurityToken)
		pr.Out.Header.Del(sigv4.HeaderDate)
		if q := pr.Out.URL.Query(); q.Has(sigv4.QuerySignature) || q.Has(sigv4.QueryCredential) {
			for _, k := range []string{sigv4.QueryAlgorithm, sigv4.QueryCredential, sigv4.QueryDate, sigv4.QueryExpires, sigv4.QuerySignedHeaders, sigv4.QuerySignature, sigv4.QuerySecurityToken} {
				q.Del(k)
			}
			pr.Out.URL.RawQuery = q.Encode()
		}
	}
	if st.s3 != nil && rs.backend != nil {
		ph := st.payloadHash
		if ph == "" {
			ph = sigv4.UnsignedPayload
		}
		creds, err := rs.backend.Retrieve(pr.In.Context())
		if err == nil {
			err = sigv4.SignHMAC(pr.Out, ph, creds, "s3", rs.cfg.Backend.Region, rs.g.now())
		}
		if err != nil {
			rs.g.log.Error("re-signing for the backend failed", "route", rs.cfg.Name, "err", err)
		}
	}
}

// joinPath sets u's path to the backend base path followed by the escaped
// request path.
func joinPath(u *url.URL, base *url.URL, escaped string) {
	basePath := strings.TrimSuffix(base.EscapedPath(), "/")
	raw := basePath + escaped
	p, err := url.PathUnescape(raw)
	if err != nil {
		p = raw
	}
	u.Path, u.RawPath = p, raw
	if u.EscapedPath() != raw {
		u.RawPath = ""
	}
}

func (rs *routeServer) backendError(w http.ResponseWriter, r *http.Request, err error) {
	rs.g.metrics.backendErrors.WithLabelValues(rs.cfg.Name).Inc()
	rs.g.log.Warn("backend request failed", "route", rs.cfg.Name, "method", r.Method, "path", r.URL.Path, "err", err)
	if r.Context().Err() != nil {
		return // the client went away
	}
	d := decision{status: http.StatusBadGateway, code: "BadGateway", message: "the backend could not be reached or failed"}
	if rs.cfg.Backend.S3 {
		d.code, d.message = "ServiceUnavailable", "Please reduce your request rate."
		d.status = http.StatusServiceUnavailable
	}
	rs.deny(w, r, w.Header().Get("X-Roam-Request-Id"), d)
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// jsonError is the JSON error body of non-S3 routes.
type jsonError struct {
	Error struct {
		Code    string `json:"code"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"requestId"`
}

// deny writes a refusal in the backend's dialect: S3 XML for S3 routes,
// JSON otherwise.
func (rs *routeServer) deny(w http.ResponseWriter, r *http.Request, reqID string, d decision) {
	h := w.Header()
	h.Set("X-Roam-Request-Id", reqID)
	h.Set("Cache-Control", "no-store")
	var body []byte
	if rs.cfg.Backend.S3 {
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", reqID)
		e := s3Error{Code: d.code, Message: d.message, Resource: r.URL.EscapedPath(), RequestID: reqID}
		b, _ := xml.Marshal(e)
		body = append([]byte(xml.Header), b...)
	} else {
		h.Set("Content-Type", "application/json")
		var e jsonError
		e.Error.Code, e.Error.Message, e.RequestID = d.code, d.message, reqID
		e.Error.Reason = d.certWhy
		if e.Error.Reason == "" && !d.allow && d.reason != "" {
			e.Error.Reason = d.reason
		}
		body, _ = json.Marshal(e)
		body = append(body, '\n')
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if d.status == 0 {
		d.status = http.StatusForbidden
	}
	w.WriteHeader(d.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// audit logs the decision and counts it.
func (rs *routeServer) audit(r *http.Request, reqID string, d decision, start time.Time) {
	result := "deny"
	if d.allow {
		result = "allow"
	}
	rs.g.metrics.decisions.WithLabelValues(rs.cfg.Name, rs.cfg.Authorization, result, d.reason).Inc()
	rs.recordDecision(r, reqID, d, result)
	attrs := []slog.Attr{
		slog.String("route", rs.cfg.Name),
		slog.String("requestId", reqID),
		slog.String("decision", result),
		slog.String("reason", d.reason),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("remote", r.RemoteAddr),
	}
	if d.certWhy != "" {
		attrs = append(attrs, slog.String("certificate", d.certWhy))
	}
	if d.operation != "" {
		attrs = append(attrs, slog.String("operation", d.operation))
	}
	if len(d.actions) > 0 {
		attrs = append(attrs, slog.Any("actions", d.actions), slog.Any("resources", d.resources))
	}
	if d.principal != "" {
		attrs = append(attrs, slog.String("principal", d.principal))
	}
	if d.message != "" && !d.allow {
		attrs = append(attrs, slog.String("message", d.message))
	}
	if d.detail != "" {
		attrs = append(attrs, slog.String("detail", d.detail))
	}
	if d.explain != "" {
		attrs = append(attrs, slog.String("explain", d.explain))
	}
	attrs = append(attrs, slog.Duration("authzTime", time.Since(start)))
	rs.g.log.LogAttrs(r.Context(), slog.LevelInfo, "gateway decision", attrs...)
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
