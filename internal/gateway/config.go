// Package gateway is roam's mTLS front door and IAM-policy authorizer: it
// terminates TLS, verifies client certificates against a hot-reloaded trust
// bundle and CRLs, authorizes each request (certificate only, an IAM policy
// over certificate attributes, or SigV4 with roam-issued credentials and the
// session's effective permissions), and forwards allowed requests to an HTTP
// or S3 backend with identity headers, re-signing S3 requests with the
// gateway's own backend credentials.
package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/storeopen"
	"github.com/roam-project/roam/policy"
)

// Client certificate modes.
const (
	// ModeRequire fails the TLS handshake without a trusted certificate.
	ModeRequire = "require"
	// ModeVerifyAtHTTP completes the handshake and answers 403 with a JSON
	// (or S3 XML) body saying what was wrong.
	ModeVerifyAtHTTP = "verify-at-http"
	// ModeNone asks for no client certificate; only valid with sigv4.
	ModeNone = "none"
)

// Authorization modes.
const (
	AuthMTLS       = "mtls"
	AuthMTLSPolicy = "mtls-policy"
	AuthSigV4      = "sigv4"
)

// DefaultReloadInterval is how often certificate, bundle and CRL files are
// checked for changes when a configuration does not say.
const DefaultReloadInterval = 500 * time.Millisecond

// Config is a gateway configuration file.
type Config struct {
	// Account and Region are used in ARNs and SigV4 scopes; defaults
	// 000000000000 and us-east-1 (the sigv4 store's settings win).
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
	// ReloadInterval is how often files are polled for changes.
	ReloadInterval Duration `yaml:"reloadInterval"`
	// Metrics, if set, serves Prometheus metrics over TLS.
	Metrics *MetricsConfig `yaml:"metrics"`
	// Store is where sigv4 routes read the credential keyring and roles.
	Store *StoreConfig `yaml:"store"`
	// Audit, if set, records every decision as an audit event (audit.go).
	Audit *AuditConfig `yaml:"audit"`
	// Routes are the listeners; at least one.
	Routes []*Route `yaml:"routes"`
}

// Duration is a time.Duration written as "500ms", "2s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MetricsConfig is the Prometheus endpoint.
type MetricsConfig struct {
	Listen string    `yaml:"listen"`
	TLS    TLSConfig `yaml:"tls"`
}

// StoreConfig locates the roam server's store.
type StoreConfig struct {
	// DB is the server's store, as the server's --db names it: its SQLite
	// database file, or a postgres:// (postgresql://) URL.
	DB string `yaml:"db"`
	// MasterKeyFile is the server's master key (read, never created).
	MasterKeyFile string `yaml:"masterKeyFile"`
	// PollInterval is how often the config version is checked; default 1s.
	PollInterval Duration `yaml:"pollInterval"`
}

// TLSConfig names a certificate and key file (PEM).
type TLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// ClientAuth configures client certificate verification.
type ClientAuth struct {
	// Mode is require, verify-at-http or none.
	Mode string `yaml:"mode"`
	// CAFiles are PEM files of trusted CAs (several per file allowed).
	CAFiles []string `yaml:"caFiles"`
	// CRLFiles are PEM or DER CRLs issued by those CAs (or intermediates).
	CRLFiles []string `yaml:"crlFiles"`
}

// Backend is where allowed requests go.
type Backend struct {
	URL string `yaml:"url"`
	// S3 selects the built-in S3 mapping and S3 dialect for denials.
	S3 bool `yaml:"s3"`
	// Credentials re-sign S3 requests for the backend; required when S3.
	Credentials *BackendCredentials `yaml:"credentials"`
	// Region is the SigV4 region the backend expects; default the
	// gateway's region.
	Region string `yaml:"region"`
	// CAFile verifies an https backend (default: system roots).
	CAFile string `yaml:"caFile"`
}

// BackendCredentials are the gateway's own credentials for the backend:
// static keys in a file with two lines (access key id, secret) or
// `aws_access_key_id =` style lines, or in environment variables named
// here; or, with Chain "default", whatever the AWS SDK's default
// credential chain finds (optionally for Profile), refreshed as it
// expires.
type BackendCredentials struct {
	File           string `yaml:"file"`
	AccessKeyIDEnv string `yaml:"accessKeyIdEnv"`
	SecretEnv      string `yaml:"secretAccessKeyEnv"`
	// Chain "default" selects the AWS SDK default credential chain.
	Chain string `yaml:"chain"`
	// Profile is the shared config profile the chain uses (default:
	// AWS_PROFILE, else "default"); only with Chain.
	Profile string `yaml:"profile"`
}

// APIRoute maps a request pattern to an IAM action and resource.
type APIRoute struct {
	// Pattern is "METHOD /path/{var}/..." ("*" or no method matches any);
	// {name...} as the last segment matches the rest of the path.
	Pattern  string `yaml:"pattern"`
	Action   string `yaml:"action"`
	Resource string `yaml:"resource"`
}

// Route is one listener and what it fronts.
type Route struct {
	Name       string     `yaml:"name"`
	Listen     string     `yaml:"listen"`
	TLS        TLSConfig  `yaml:"tls"`
	ClientAuth ClientAuth `yaml:"clientAuth"`
	// Authorization is mtls, mtls-policy or sigv4.
	Authorization string  `yaml:"authorization"`
	Backend       Backend `yaml:"backend"`
	// VirtualHostDomain enables virtual-host-style S3 requests:
	// BUCKET.VirtualHostDomain.
	VirtualHostDomain string `yaml:"virtualHostDomain"`
	// API is the route table for non-S3 backends (mtls-policy, sigv4).
	API []APIRoute `yaml:"api"`
	// Policy is the identity policy of an mtls-policy route: a YAML/JSON
	// document, or a string "file:PATH".
	Policy yaml.Node `yaml:"policy"`
	// AttributeMappings map certificate attributes to
	// aws:PrincipalTag/x509… keys (default: CreateSession's default).
	AttributeMappings []AttributeMapping `yaml:"attributeMappings"`
	// Service is the SigV4 service name expected from clients on a
	// non-S3 sigv4 route; default "execute-api".
	Service string `yaml:"service"`

	// compiled
	policy   *policy.Policy
	table    *RouteTable
	mappings []store.AttributeMapping
	backend  *url.URL
}

// AttributeMapping is one certificate field and its specifiers.
type AttributeMapping struct {
	CertificateField string   `yaml:"certificateField"`
	Specifiers       []string `yaml:"specifiers"`
}

// LoadConfig reads and checks the configuration file at path. Relative file
// names in it are resolved against the file's directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	cfg, err := ParseConfig(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("gateway config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses and checks a configuration; dir resolves relative file
// names ("" leaves them as they are). Every problem found is reported.
func ParseConfig(data []byte, dir string) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.ReloadInterval <= 0 {
		cfg.ReloadInterval = Duration(DefaultReloadInterval)
	}
	abs := func(p string) string {
		if p == "" || dir == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(cfg.Routes) == 0 {
		bad("no routes")
	}
	if cfg.Metrics != nil {
		if cfg.Metrics.Listen == "" || cfg.Metrics.TLS.Cert == "" || cfg.Metrics.TLS.Key == "" {
			bad("metrics: listen, tls.cert and tls.key are required (TLS always)")
		}
		cfg.Metrics.TLS.Cert, cfg.Metrics.TLS.Key = abs(cfg.Metrics.TLS.Cert), abs(cfg.Metrics.TLS.Key)
	}
	if a := cfg.Audit; a != nil {
		if a.Store && cfg.Store == nil {
			bad("audit: store: true needs the store section (the roam server's database)")
		}
		if a.File != "" && a.File != "-" {
			a.File = abs(a.File)
		}
	}
	if cfg.Store != nil {
		if cfg.Store.DB == "" || cfg.Store.MasterKeyFile == "" {
			bad("store: db and masterKeyFile are required")
		}
		if !storeopen.IsPostgres(cfg.Store.DB) {
			cfg.Store.DB = abs(cfg.Store.DB)
		}
		cfg.Store.MasterKeyFile = abs(cfg.Store.MasterKeyFile)
		if cfg.Store.PollInterval <= 0 {
			cfg.Store.PollInterval = Duration(time.Second)
		}
	}
	names := map[string]bool{}
	for i, r := range cfg.Routes {
		if r == nil {
			bad("routes[%d]: empty", i)
			continue
		}
		at := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			r.Name = fmt.Sprintf("route%d", i)
		}
		if names[r.Name] {
			bad("%s: duplicate name %q", at, r.Name)
			// Name the duplicate by its index too, so its other
			// problems are not attributed to the first route.
			at = fmt.Sprintf("route %q (routes[%d])", r.Name, i)
		} else {
			at = fmt.Sprintf("route %q", r.Name)
		}
		names[r.Name] = true
		if r.Listen == "" {
			bad("%s: listen is required", at)
		}
		if r.TLS.Cert == "" || r.TLS.Key == "" {
			bad("%s: tls.cert and tls.key are required (TLS always)", at)
		}
		r.TLS.Cert, r.TLS.Key = abs(r.TLS.Cert), abs(r.TLS.Key)
		for j := range r.ClientAuth.CAFiles {
			r.ClientAuth.CAFiles[j] = abs(r.ClientAuth.CAFiles[j])
		}
		for j := range r.ClientAuth.CRLFiles {
			r.ClientAuth.CRLFiles[j] = abs(r.ClientAuth.CRLFiles[j])
		}
		switch r.Authorization {
		case AuthMTLS, AuthMTLSPolicy, AuthSigV4:
		case "":
			bad("%s: authorization is required (mtls, mtls-policy or sigv4)", at)
		default:
			bad("%s: unknown authorization %q (want mtls, mtls-policy or sigv4)", at, r.Authorization)
		}
		switch r.ClientAuth.Mode {
		case ModeRequire, ModeVerifyAtHTTP:
			if len(r.ClientAuth.CAFiles) == 0 {
				bad("%s: clientAuth.caFiles is required with mode %s", at, r.ClientAuth.Mode)
			}
		case ModeNone:
			if r.Authorization != AuthSigV4 {
				bad("%s: clientAuth.mode none is only allowed with sigv4 authorization", at)
			}
			if len(r.ClientAuth.CAFiles)+len(r.ClientAuth.CRLFiles) > 0 {
				bad("%s: clientAuth.mode none takes no caFiles or crlFiles", at)
			}
		case "":
			bad("%s: clientAuth.mode is required (require, verify-at-http or none)", at)
		default:
			bad("%s: unknown clientAuth.mode %q", at, r.ClientAuth.Mode)
		}
		u, err := url.Parse(r.Backend.URL)
		switch {
		case r.Backend.URL == "":
			bad("%s: backend.url is required", at)
		case err != nil:
			bad("%s: backend.url: %v", at, err)
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			bad("%s: backend.url must be http(s)://host[:port][/path]", at)
		default:
			r.backend = u
		}
		r.Backend.CAFile = abs(r.Backend.CAFile)
		if r.Backend.Region == "" {
			r.Backend.Region = cfg.Region
		}
		if c := r.Backend.Credentials; c != nil {
			c.File = abs(c.File)
			switch {
			case c.Chain != "":
				if c.Chain != ChainDefault {
					bad("%s: backend.credentials.chain %q: the only chain is %q (the AWS SDK default credential chain)", at, c.Chain, ChainDefault)
				}
				if c.File != "" || c.AccessKeyIDEnv != "" || c.SecretEnv != "" {
					bad("%s: backend.credentials: chain takes no file, accessKeyIdEnv or secretAccessKeyEnv", at)
				}
			case c.Profile != "":
				bad("%s: backend.credentials.profile is only used with chain: %s", at, ChainDefault)
			case c.File == "" && (c.AccessKeyIDEnv == "" || c.SecretEnv == ""):
				bad("%s: backend.credentials needs file, or accessKeyIdEnv and secretAccessKeyEnv, or chain: %s", at, ChainDefault)
			}
		}
		if r.Backend.S3 {
			if len(r.API) > 0 {
				bad("%s: an S3 backend uses the built-in S3 mapping; api is not allowed", at)
			}
			if r.Backend.Credentials == nil {
				bad("%s: backend.credentials is required for an S3 backend (requests are re-signed)", at)
			}
		}
		if r.Authorization == AuthSigV4 && cfg.Store == nil {
			bad("%s: sigv4 authorization needs the top-level store section", at)
		}
		if r.Service == "" {
			r.Service = "execute-api"
		}
		if len(r.API) > 0 {
			t, err := CompileRouteTable(r.API)
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					bad("%s: api%v", at, e) // e is "[i] pattern: problem"
				}
			} else if err != nil {
				bad("%s: api: %v", at, err)
			}
			r.table = t
		}
		needsMapping := r.Authorization == AuthMTLSPolicy || r.Authorization == AuthSigV4
		if needsMapping && !r.Backend.S3 && len(r.API) == 0 {
			bad("%s: %s authorization needs an api route table or an S3 backend", at, r.Authorization)
		}
		if r.Authorization == AuthMTLSPolicy {
			p, err := compileRoutePolicy(&r.Policy, r.Name, dir)
			if err != nil {
				bad("%s: policy: %v", at, err)
			}
			r.policy = p
		} else if !r.Policy.IsZero() {
			bad("%s: policy is only used with mtls-policy authorization", at)
		}
		if r.Authorization == AuthMTLS && len(r.API) > 0 {
			bad("%s: api is only used with mtls-policy or sigv4 authorization", at)
		}
		for _, m := range r.AttributeMappings {
			am := store.AttributeMapping{CertificateField: m.CertificateField}
			for _, s := range m.Specifiers {
				n, err := anywhere.NormalizeSpecifier(m.CertificateField, s)
				if err != nil {
					bad("%s: attributeMappings: %v", at, err)
					continue
				}
				am.MappingRules = append(am.MappingRules, store.MappingRule{Specifier: n})
			}
			r.mappings = append(r.mappings, am)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// compileRoutePolicy parses the policy node: a mapping (the document in
// YAML or JSON flow form) or a "file:PATH" string.
func compileRoutePolicy(n *yaml.Node, name, dir string) (*policy.Policy, error) {
	if n.IsZero() {
		return nil, errors.New("required with mtls-policy authorization")
	}
	var doc []byte
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return nil, err
		}
		path, ok := strings.CutPrefix(s, "file:")
		if !ok {
			doc = []byte(s) // a JSON document as a string
		} else {
			if dir != "" && !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			doc = b
		}
	} else {
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		b, err := jsonFromYAML(v)
		if err != nil {
			return nil, err
		}
		doc = b
	}
	return policy.Parse(doc, policy.ParseOptions{Kind: policy.KindIdentity, Name: "route/" + name, MaxSize: -1})
}
