package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/roam-project/roam/sigv4"
)

// ChainDefault is the backend.credentials.chain value that selects the AWS
// SDK's default credential chain.
const ChainDefault = "default"

// backendCredentials yields the credentials that re-sign one request for
// the backend. It is asked on every re-signing, so credentials that expire
// (from the SDK chain) are refreshed without a restart.
type backendCredentials interface {
	Retrieve(ctx context.Context) (sigv4.Credentials, error)
}

// staticCredentials are keys read once, from a file or the environment.
type staticCredentials sigv4.Credentials

func (c staticCredentials) Retrieve(context.Context) (sigv4.Credentials, error) {
	return sigv4.Credentials(c), nil
}

// chainCredentials come from an AWS SDK credentials provider behind the
// SDK's cache: Retrieve returns the cached credentials and refreshes them
// (once, for all concurrent callers) when they are about to expire.
type chainCredentials struct{ p aws.CredentialsProvider }

func (c chainCredentials) Retrieve(ctx context.Context) (sigv4.Credentials, error) {
	v, err := c.p.Retrieve(ctx)
	if err != nil {
		return sigv4.Credentials{}, fmt.Errorf("backend credentials from the AWS SDK default chain: %w", err)
	}
	if v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return sigv4.Credentials{}, errors.New("backend credentials from the AWS SDK default chain: access key id or secret is empty")
	}
	return sigv4.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken}, nil
}

// chainStartTimeout bounds the first retrieval from the SDK chain at
// start-up (the chain may end with the EC2 instance metadata service).
const chainStartTimeout = 30 * time.Second

// newBackendCredentials returns the route's backend credentials: static
// keys (loadBackendCredentials), or with chain: default the AWS SDK's
// default credential chain (environment, shared config and credentials
// files with AWS_PROFILE or c.Profile, web identity, SSO, ECS and EC2
// roles), loaded with region, the route's backend region. The chain is
// asked once here so that a gateway without usable credentials does not
// start. The SDK reads the process environment itself, not getenv.
func newBackendCredentials(ctx context.Context, c *BackendCredentials, region string, getenv func(string) string) (backendCredentials, error) {
	if c.Chain == "" {
		creds, err := loadBackendCredentials(c, getenv)
		if err != nil {
			return nil, err
		}
		return staticCredentials(creds), nil
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region)}
	if c.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("backend credentials: AWS SDK default chain: %w", err)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("backend credentials: the AWS SDK default chain found no credentials")
	}
	p := cfg.Credentials
	if !aws.IsCredentialsProvider(p, (*aws.CredentialsCache)(nil)) {
		p = aws.NewCredentialsCache(p)
	}
	src := chainCredentials{p}
	ctx, cancel := context.WithTimeout(ctx, chainStartTimeout)
	defer cancel()
	if _, err := src.Retrieve(ctx); err != nil {
		return nil, err
	}
	return src, nil
}

// loadBackendCredentials reads the gateway's static backend keys. A file
// holds either two lines (access key id, secret) or
// aws_access_key_id = … / aws_secret_access_key = … lines; it must not be
// readable by group or others. Errors never contain the secret.
func loadBackendCredentials(c *BackendCredentials, getenv func(string) string) (sigv4.Credentials, error) {
	var creds sigv4.Credentials
	if c.File != "" {
		st, err := os.Stat(c.File)
		if err != nil {
			return creds, fmt.Errorf("backend credentials: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return creds, fmt.Errorf("backend credentials %s: mode %v, must not be accessible by group or others", c.File, st.Mode().Perm())
		}
		data, err := os.ReadFile(c.File)
		if err != nil {
			return creds, fmt.Errorf("backend credentials: %w", err)
		}
		var plain []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
				continue
			}
			if k, v, ok := strings.Cut(line, "="); ok {
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "aws_access_key_id":
					creds.AccessKeyID = strings.TrimSpace(v)
				case "aws_secret_access_key":
					creds.SecretAccessKey = strings.TrimSpace(v)
				case "aws_session_token":
					creds.SessionToken = strings.TrimSpace(v)
				}
				continue
			}
			plain = append(plain, line)
		}
		if creds.AccessKeyID == "" && len(plain) >= 2 {
			creds.AccessKeyID, creds.SecretAccessKey = plain[0], plain[1]
		}
	} else {
		creds.AccessKeyID, creds.SecretAccessKey = getenv(c.AccessKeyIDEnv), getenv(c.SecretEnv)
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return creds, errors.New("backend credentials: access key id or secret is empty")
	}
	return creds, nil
}
