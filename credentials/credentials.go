package credentials

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/roam-project/roam/sigv4"
)

// Signer is a private key with its certificate and the intermediates to
// send in X-Amz-X509-Chain. internal/helper's signers (file, PKCS#12,
// PKCS#11, TPM) implement it; NewSigner wraps an in-memory key.
type Signer interface {
	crypto.Signer
	Certificate() *x509.Certificate
	Chain() []*x509.Certificate
}

type memSigner struct {
	crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
}

func (s *memSigner) Certificate() *x509.Certificate { return s.cert }
func (s *memSigner) Chain() []*x509.Certificate     { return s.chain }

// NewSigner returns a Signer for an in-memory key, its certificate and the
// intermediates to send. It fails if key is not cert's private key.
func NewSigner(key crypto.Signer, cert *x509.Certificate, chain ...*x509.Certificate) (Signer, error) {
	if cert == nil {
		return nil, errors.New("credentials: no certificate")
	}
	if k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(cert.PublicKey) {
		return nil, errors.New("credentials: private key does not match the certificate")
	}
	return &memSigner{Signer: key, cert: cert, chain: chain}, nil
}

// SourceName is the aws.Credentials.Source of credentials from a Provider.
const SourceName = "RolesAnywhereProvider"

// DefaultDuration is the session duration requested when Options.Duration
// is zero, as the official helper does.
const DefaultDuration = time.Hour

// Options configure a Provider.
type Options struct {
	// Signer signs the request; required.
	Signer Signer
	// TrustAnchorARN, ProfileARN and RoleARN select the session; required.
	TrustAnchorARN, ProfileARN, RoleARN string
	// RoleSessionName is sent when not empty.
	RoleSessionName string
	// Duration is durationSeconds (DefaultDuration when zero).
	Duration time.Duration
	// Region is the signing region; "" means the trust anchor ARN's region.
	Region string
	// Endpoint is the service URL (ResolveEndpoint gives the usual one);
	// "" means the region's public Roles Anywhere endpoint.
	Endpoint string
	// HTTPClient sends the request; nil means NewHTTPClient(HTTPOptions{}).
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts of a retryable failure (server error,
	// throttling, transport error); 0 means 3.
	MaxAttempts int
	// UserAgent is sent as User-Agent; "" means "roam/credentials (go…)".
	UserAgent string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Provider calls CreateSession for credentials. It implements
// aws.CredentialsProvider and is safe for concurrent use; it does not
// cache (wrap it in aws.NewCredentialsCache).
type Provider struct {
	opts     Options
	endpoint *url.URL
	client   *http.Client
}

var _ aws.CredentialsProvider = (*Provider)(nil)

// New checks opts and returns a Provider.
func New(opts Options) (*Provider, error) {
	if opts.Signer == nil || opts.Signer.Certificate() == nil {
		return nil, errors.New("credentials: a signer with a certificate is required")
	}
	ta, err := parseARN(opts.TrustAnchorARN, "rolesanywhere", "trust-anchor/")
	if err != nil {
		return nil, fmt.Errorf("credentials: trust anchor ARN: %w", err)
	}
	pa, err := parseARN(opts.ProfileARN, "rolesanywhere", "profile/")
	if err != nil {
		return nil, fmt.Errorf("credentials: profile ARN: %w", err)
	}
	if ta.region != pa.region {
		return nil, errors.New("credentials: trust anchor and profile regions don't match")
	}
	if _, err := parseARN(opts.RoleARN, "iam", "role/"); err != nil {
		return nil, fmt.Errorf("credentials: role ARN: %w", err)
	}
	if opts.Region == "" {
		opts.Region = ta.region
	}
	if opts.Endpoint == "" {
		opts.Endpoint = ResolveEndpoint("", opts.Region, nil)
	}
	u, err := url.Parse(opts.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("credentials: endpoint %q is not an http(s) URL", opts.Endpoint)
	}
	if opts.Duration == 0 {
		opts.Duration = DefaultDuration
	}
	if opts.Duration < time.Second {
		return nil, fmt.Errorf("credentials: duration %s is shorter than a second", opts.Duration)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.UserAgent == "" {
		opts.UserAgent = fmt.Sprintf("roam/credentials (%s; %s; %s)", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		if client, err = NewHTTPClient(HTTPOptions{}); err != nil {
			return nil, err
		}
	}
	return &Provider{opts: opts, endpoint: u, client: client}, nil
}

// Retrieve implements aws.CredentialsProvider.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CreateSession(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Source:          SourceName,
		CanExpire:       true,
		Expires:         c.Expiration,
	}, nil
}

// CreateSession calls CreateSession, retrying server errors, throttling and
// transport errors with exponential backoff and jitter, up to MaxAttempts.
// Client errors (4xx) and malformed responses are not retried.
func (p *Provider) CreateSession(ctx context.Context) (Credentials, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var c Credentials
		var retry bool
		c, retry, err = p.once(ctx)
		if err == nil {
			return c, nil
		}
		if !retry || attempt >= p.opts.MaxAttempts {
			break
		}
		if werr := sleep(ctx, Backoff(attempt, 100*time.Millisecond, 20*time.Second)); werr != nil {
			return Credentials{}, fmt.Errorf("%w (after %v)", werr, err)
		}
	}
	return Credentials{}, err
}

// Backoff returns the wait before retry number attempt (1-based):
// exponential from base, capped at max, with full jitter in [d/2, d].
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base << min(attempt-1, 30)
	if d > max || d <= 0 {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Request returns the signed CreateSession request for the time now: the
// ARNs in the query, {"durationSeconds":…[,"roleSessionName":…]} as body,
// signed with SigV4-X509 exactly as the official helper signs it.
func (p *Provider) Request(ctx context.Context, now time.Time) (*http.Request, []byte, error) {
	body, err := json.Marshal(struct {
		DurationSeconds int64  `json:"durationSeconds"`
		RoleSessionName string `json:"roleSessionName,omitempty"`
	}{int64(p.opts.Duration / time.Second), p.opts.RoleSessionName})
	if err != nil {
		return nil, nil, err
	}
	u := *p.endpoint
	u.Path = strings.TrimSuffix(u.Path, "/") + "/sessions"
	u.RawPath = ""
	u.RawQuery = url.Values{
		"profileArn":     {p.opts.ProfileARN},
		"roleArn":        {p.opts.RoleARN},
		"trustAnchorArn": {p.opts.TrustAnchorARN},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build CreateSession request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := sigv4.SignX509(req, body, p.opts.Signer, p.opts.Signer.Certificate(), p.opts.Signer.Chain(), p.opts.Region, now); err != nil {
		return nil, nil, fmt.Errorf("sign CreateSession request: %w", err)
	}
	req.Header.Set("User-Agent", p.opts.UserAgent)
	return req, body, nil
}

// maxResponse bounds the response body read.
const maxResponse = 1 << 20

func (p *Provider) once(ctx context.Context) (c Credentials, retry bool, err error) {
	req, _, err := p.Request(ctx, p.opts.Now())
	if err != nil {
		return Credentials{}, false, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Credentials{}, false, fmt.Errorf("CreateSession: %w", ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is known; keep the message short
		}
		return Credentials{}, true, fmt.Errorf("CreateSession %s: %w", p.endpoint.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return Credentials{}, true, fmt.Errorf("CreateSession: read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := parseAPIError(resp.StatusCode, resp.Header, body)
		return Credentials{}, ae.Retryable(), ae
	}
	c, err = ParseResponse(body, p.opts.Now())
	if err != nil {
		return Credentials{}, false, fmt.Errorf("CreateSession (HTTP %d, RequestID %s): %w", resp.StatusCode, resp.Header.Get("X-Amzn-Requestid"), err)
	}
	return c, false, nil
}

type arnParts struct{ partition, service, region, account, resource string }

func parseARN(s, service, resourcePrefix string) (arnParts, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return arnParts{}, fmt.Errorf("%q is not an ARN", s)
	}
	a := arnParts{f[1], f[2], f[3], f[4], f[5]}
	if a.service != service || !strings.HasPrefix(a.resource, resourcePrefix) {
		return arnParts{}, fmt.Errorf("%q is not a %s %s ARN", s, service, strings.TrimSuffix(resourcePrefix, "/"))
	}
	if service != "iam" && a.region == "" {
		return arnParts{}, fmt.Errorf("%q has no region", s)
	}
	return a, nil
}

// RegionFromARN returns the region of a Roles Anywhere ARN.
func RegionFromARN(s string) (string, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[3] == "" {
		return "", fmt.Errorf("%q is not a regional ARN", s)
	}
	return f[3], nil
}
