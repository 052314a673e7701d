package sts

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/policy"
	"github.com/roam-project/roam/sigv4"
)

// Verifier authenticates AWS4-HMAC-SHA256 requests signed with roam session
// credentials: the SigV4 checks that need no secret (sigv4.ParseRequest),
// then the session token (through the token cache), then the signature with
// the session's secret. It is what the STS endpoint, the control plane and
// the gateway share. Safe for concurrent use.
type Verifier struct {
	// Keyring opens session tokens (required).
	Keyring *Keyring
	// Tokens caches opened tokens; nil opens every token with Keyring.
	Tokens *TokenCache
	// Keys caches derived signing keys; nil derives the key every time.
	Keys *sigv4.KeyCache
	// MaxSkew is the allowed clock difference; 0 means 5 minutes.
	MaxSkew time.Duration

	mu   sync.RWMutex
	opts map[scopeKey]*sigv4.HMACOptions
	// last is the options options returned last, checked before the map:
	// a verifier mostly sees one service and region.
	last atomic.Pointer[scopedOptions]
}

type scopedOptions struct {
	scopeKey
	o *sigv4.HMACOptions
}

type scopeKey struct{ service, region string }

// options returns the (shared, read-only) sigv4 options for service and
// region.
func (v *Verifier) options(service, region string) *sigv4.HMACOptions {
	if l := v.last.Load(); l != nil && l.service == service && l.region == region {
		return l.o
	}
	k := scopeKey{service, region}
	v.mu.RLock()
	o := v.opts[k]
	v.mu.RUnlock()
	if o != nil {
		v.last.Store(&scopedOptions{k, o})
		return o
	}
	o = &sigv4.HMACOptions{Service: service, Region: region, MaxSkew: v.MaxSkew, Keys: v.Keys}
	v.mu.Lock()
	if v.opts == nil {
		v.opts = make(map[scopeKey]*sigv4.HMACOptions)
	}
	if len(v.opts) < 64 { // services × regions in use; bounded against odd scopes
		v.opts[k] = o
		v.mu.Unlock()
		v.last.Store(&scopedOptions{k, o})
		return o
	}
	v.mu.Unlock()
	return o
}

// NewVerifier returns a Verifier over kr with a token cache and a signing
// key cache of the default sizes.
func NewVerifier(kr *Keyring, maxSkew time.Duration) *Verifier {
	return &Verifier{Keyring: kr, Tokens: NewTokenCache(kr, 0), Keys: sigv4.NewKeyCache(DefaultTokenCacheSize), MaxSkew: maxSkew}
}

// Verify authenticates r, whose body has been read into body, for service
// in region ("" accepts any region). It returns the session and the
// credential scope the request was signed for. Errors are *sigv4.Error
// (malformed, scope, time, signature) or *TokenError (unknown, altered,
// expired or revoked credentials); both carry the AWS code, status and a
// client-safe message.
//
// A request must carry X-Amz-Security-Token (signed or not); access keys that
// are not roam session credentials are refused with InvalidClientTokenId.
//
// With the caches warm, Verify allocates nothing.
func (v *Verifier) Verify(r *http.Request, body []byte, service, region string, now time.Time) (*Session, sigv4.Scope, error) {
	var s *Session
	cred, err := sigv4.VerifyRequestSlot(r, body, now, v.options(service, region), func(accessKeyID, token string) ([]byte, *sigv4.KeySlot, error) {
		if token == "" {
			return nil, nil, ErrMalformedToken
		}
		if v.Tokens != nil {
			e, err := v.Tokens.lookup(accessKeyID, token, now)
			if err != nil {
				return nil, nil, err
			}
			s = e.s
			return e.secret, &e.keys, nil
		}
		var err error
		if s, err = v.Keyring.Validate(accessKeyID, token, now); err != nil {
			return nil, nil, err
		}
		return []byte(s.SecretAccessKey), nil, nil
	})
	if err != nil {
		return nil, sigv4.Scope{}, err
	}
	return s, cred.Scope, nil
}

// Authenticate is Verify followed by NewRequestContext.
func (v *Verifier) Authenticate(r *http.Request, body []byte, service, region string, now time.Time, roleTags []Tag) (*RequestContext, error) {
	s, sc, err := v.Verify(r, body, service, region, now)
	if err != nil {
		return nil, err
	}
	rc := NewRequestContext(s, r, now, roleTags)
	rc.Service, rc.Region = sc.Service, sc.Region
	return rc, nil
}

// RequestContext is an authenticated request as policy evaluation sees it:
// the session that signed it, the principal it stands for, and the condition
// keys of the request. The gateway and the control plane build one per
// request with Verifier.Authenticate.
type RequestContext struct {
	// Session is the validated session. It may be shared; do not modify.
	Session *Session
	// Principal matches the session against Principal elements: its ARN is
	// the assumed-role session ARN, RoleARN the role's ARN (with path).
	Principal policy.Principal
	// Context holds the condition keys: aws:PrincipalArn, aws:userid,
	// aws:PrincipalAccount, aws:PrincipalType, aws:TokenIssueTime,
	// aws:SourceIdentity, aws:PrincipalTag/*, aws:CurrentTime,
	// aws:EpochTime, aws:SourceIp and aws:SecureTransport.
	Context *policy.Context
	// Service and Region are from the credential scope the request was
	// signed for.
	Service, Region string
	// Time is the time the request was authenticated at.
	Time time.Time
}

// Request-dependent condition keys NewRequestContext sets.
const (
	KeyCurrentTime     = "aws:CurrentTime"
	KeyEpochTime       = "aws:EpochTime"
	KeySourceIP        = "aws:SourceIp"
	KeySecureTransport = "aws:SecureTransport"
)

// NewRequestContext builds the request context of a request r made with
// session s at now. roleTags are the role's own tags (see
// Session.ConditionValues); aws:SourceIp is the peer address of r and
// aws:SecureTransport whether r arrived over TLS.
func NewRequestContext(s *Session, r *http.Request, now time.Time, roleTags []Tag) *RequestContext {
	c := policy.NewContext()
	for k, v := range s.ConditionValues(roleTags) {
		c.Set(k, v...)
	}
	now = now.UTC()
	c.Set(KeyCurrentTime, now.Format(time.RFC3339))
	c.Set(KeyEpochTime, strconv.FormatInt(now.Unix(), 10))
	c.Set(KeySecureTransport, strconv.FormatBool(r.TLS != nil))
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Set(KeySourceIP, host)
	}
	return &RequestContext{
		Session: s,
		Principal: policy.Principal{
			ARN:     s.AssumedRoleARN(),
			RoleARN: s.RoleARN,
			Account: s.Account,
			ID:      s.RoleID,
		},
		Context: c,
		Time:    now,
	}
}
