package credentials

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// ResolveEndpoint returns the CreateSession endpoint. flag (--endpoint)
// always wins; then AWS_ENDPOINT_URL_ROLESANYWHERE and AWS_ENDPOINT_URL from
// getenv (nil means os.Getenv); then the region's public endpoint, derived
// as the AWS SDK does: https://rolesanywhere.<region>.amazonaws.com
// (amazonaws.com.cn in China; rolesanywhere-fips with
// AWS_USE_FIPS_ENDPOINT=true or a fips region; <region>.api.aws with
// AWS_USE_DUALSTACK_ENDPOINT=true).
//
// The official helper lets AWS_ENDPOINT_URL_ROLESANYWHERE override even
// --endpoint; roam does not.
func ResolveEndpoint(flag, region string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range []string{"AWS_ENDPOINT_URL_ROLESANYWHERE", "AWS_ENDPOINT_URL"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	fips := strings.EqualFold(getenv("AWS_USE_FIPS_ENDPOINT"), "true")
	if strings.HasPrefix(region, "fips-") || strings.HasSuffix(region, "-fips") {
		fips = true
		region = strings.TrimSuffix(strings.TrimPrefix(region, "fips-"), "-fips")
	}
	dual := strings.EqualFold(getenv("AWS_USE_DUALSTACK_ENDPOINT"), "true")
	host := "rolesanywhere"
	if fips {
		host += "-fips"
	}
	suffix := "amazonaws.com"
	switch {
	case dual:
		suffix = "api.aws"
	case strings.HasPrefix(region, "cn-"):
		suffix = "amazonaws.com.cn"
	}
	return "https://" + host + "." + region + "." + suffix
}

// HTTPOptions configure NewHTTPClient.
type HTTPOptions struct {
	// CABundle is a PEM file of CA certificates to trust instead of the
	// system roots (roam's --ca-bundle; the official helper honours
	// AWS_CA_BUNDLE, which callers pass here when the flag is not set).
	CABundle string
	// NoVerifySSL disables server certificate verification
	// (--no-verify-ssl). Only for tests.
	NoVerifySSL bool
	// NoProxy ignores HTTP(S)_PROXY (by default they are honoured).
	NoProxy bool
	// Timeout bounds each attempt (request and response); 0 means 30s.
	Timeout time.Duration
}

// NewHTTPClient returns an HTTP client for CreateSession: TLS 1.2 or later,
// HTTP/2 when offered, the given trust, proxies from the environment.
func NewHTTPClient(o HTTPOptions) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.NoVerifySSL} //nolint:gosec // explicit opt-in
	if o.CABundle != "" {
		pem, err := os.ReadFile(o.CABundle)
		if err != nil {
			return nil, fmt.Errorf("read CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("CA bundle " + o.CABundle + " holds no PEM certificates")
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
	}
	if !o.NoProxy {
		tr.Proxy = http.ProxyFromEnvironment
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}
