package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roam-project/roam/internal/bootstrap"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/pki/cadir"
)

// DevOptions configure a development environment.
type DevOptions struct {
	// Dir holds everything the environment makes; it is reused on the next
	// run.
	Dir string
	// Listen is the server address; the default is 127.0.0.1:9443.
	Listen string
	// ConfigFile, if set, is the user's bootstrap file, served instead of the
	// generated one.
	ConfigFile string
}

// Dev file names inside DevOptions.Dir.
const (
	devCADir        = "ca"
	devServerCert   = "server.pem"
	devServerKey    = "server.key"
	devClientCert   = "client.pem"
	devClientKey    = "client.key"
	devBootstrap    = "roam.yaml"
	devDB           = "roam.db"
	devMasterKey    = "master.key"
	devJSON         = "dev.json"
	devEnv          = "dev.env"
	devClientCN     = "dev-workload"
	devAnchorName   = "dev"
	devRoleName     = "dev-role"
	devProfileName  = "dev"
	defaultDevAddr  = "127.0.0.1:9443"
	devCertLifetime = 30 * 24 * time.Hour
)

// DevInfo describes a running development environment; it is written to
// dev.json.
type DevInfo struct {
	Endpoint       string `json:"endpoint"`
	CABundle       string `json:"caBundle"`
	TrustAnchorARN string `json:"trustAnchorArn"`
	ProfileARN     string `json:"profileArn"`
	RoleARN        string `json:"roleArn"`
	Certificate    string `json:"certificate"`
	PrivateKey     string `json:"privateKey"`
	Account        string `json:"account"`
	Region         string `json:"region"`
	// With --config, every declared name and its ARN.
	TrustAnchors map[string]string `json:"trustAnchors,omitempty"`
	Profiles     map[string]string `json:"profiles,omitempty"`
	Roles        map[string]string `json:"roles,omitempty"`
}

// PrepareDev makes (or reuses) the CA, certificates and bootstrap file of a
// development environment in opts.Dir and returns the server configuration
// that serves them.
func PrepareDev(ctx context.Context, opts DevOptions) (Config, error) {
	if opts.Dir == "" {
		return Config{}, errors.New("dev: a directory is required")
	}
	if opts.Listen == "" {
		opts.Listen = defaultDevAddr
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return Config{}, fmt.Errorf("dev: %w", err)
	}
	p := func(name string) string { return filepath.Join(opts.Dir, name) }

	ca, err := cadir.Open(ctx, p(devCADir))
	if errors.Is(err, cadir.ErrNotCA) {
		var res *cadir.InitResult
		res, err = cadir.Init(ctx, p(devCADir), cadir.InitOptions{Name: "roam dev CA", KeyType: pki.ECP256})
		if res != nil {
			ca = res.Dir
		}
	}
	if err != nil {
		return Config{}, fmt.Errorf("dev: CA: %w", err)
	}
	iss, err := ca.Issuer(ctx, nil)
	if err != nil {
		return Config{}, fmt.Errorf("dev: CA: %w", err)
	}
	host := hostOf(opts.Listen)
	if err := ensureLeaf(ctx, ca, iss, p(devServerCert), p(devServerKey), pki.ProfileServer, "localhost", []string{"dns:localhost", "ip:127.0.0.1", "ip:::1", sanFor(host)}); err != nil {
		return Config{}, fmt.Errorf("dev: server certificate: %w", err)
	}
	if err := ensureLeaf(ctx, ca, iss, p(devClientCert), p(devClientKey), pki.ProfileClient, devClientCN, nil); err != nil {
		return Config{}, fmt.Errorf("dev: client certificate: %w", err)
	}
	bootFile := opts.ConfigFile
	if bootFile == "" {
		bootFile = p(devBootstrap)
		if _, err := os.Stat(bootFile); errors.Is(err, fs.ErrNotExist) {
			if err := cadir.WriteFile(bootFile, []byte(devBootstrapYAML(newUUID())), 0o600, false); err != nil {
				return Config{}, fmt.Errorf("dev: %w", err)
			}
		}
	}
	return Config{
		Listen:        opts.Listen,
		TLSCertFile:   p(devServerCert),
		TLSKeyFile:    p(devServerKey),
		DBPath:        p(devDB),
		MasterKeyFile: p(devMasterKey),
		BootstrapFile: bootFile,
	}, nil
}

// DevInfoFor describes the environment served by s, prepared in dir.
func DevInfoFor(s *Server, dir string) (*DevInfo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b := s.Bootstrap
	if b == nil || len(b.TrustAnchors) == 0 || len(b.Profiles) == 0 || len(b.Roles) == 0 {
		return nil, errors.New("dev: the bootstrap file must declare at least one trust anchor, profile and role")
	}
	info := &DevInfo{
		Endpoint:       "https://" + s.Addr().String(),
		CABundle:       filepath.Join(abs, devCADir, cadir.RootCertFile),
		TrustAnchorARN: b.TrustAnchors[0].ARN,
		ProfileARN:     b.Profiles[0].ARN,
		RoleARN:        b.Roles[0].ARN,
		Certificate:    filepath.Join(abs, devClientCert),
		PrivateKey:     filepath.Join(abs, devClientKey),
		Account:        b.Account,
		Region:         b.Region,
		TrustAnchors:   names(b.TrustAnchors),
		Profiles:       names(b.Profiles),
		Roles:          names(b.Roles),
	}
	return info, nil
}

// WriteDevFiles writes dev.json and dev.env into dir.
func WriteDevFiles(dir string, info *DevInfo) error {
	j, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := cadir.WriteFile(filepath.Join(dir, devJSON), append(j, '\n'), 0o600, true); err != nil {
		return err
	}
	var env strings.Builder
	for _, kv := range [][2]string{
		{"ROAM_ENDPOINT", info.Endpoint}, {"ROAM_CA_BUNDLE", info.CABundle},
		{"ROAM_TRUST_ANCHOR_ARN", info.TrustAnchorARN}, {"ROAM_PROFILE_ARN", info.ProfileARN},
		{"ROAM_ROLE_ARN", info.RoleARN}, {"ROAM_CERTIFICATE", info.Certificate},
		{"ROAM_PRIVATE_KEY", info.PrivateKey}, {"ROAM_ACCOUNT", info.Account}, {"ROAM_REGION", info.Region},
	} {
		fmt.Fprintf(&env, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return cadir.WriteFile(filepath.Join(dir, devEnv), []byte(env.String()), 0o600, true)
}

// DevInstructions returns the ready-to-paste commands printed by roam dev.
func DevInstructions(info *DevInfo) string {
	var b strings.Builder
	args := fmt.Sprintf("--certificate %s --private-key %s \\\n    --trust-anchor-arn %s \\\n    --profile-arn %s \\\n    --role-arn %s \\\n    --endpoint %s",
		info.Certificate, info.PrivateKey, info.TrustAnchorARN, info.ProfileARN, info.RoleARN, info.Endpoint)
	fmt.Fprintf(&b, "roam dev server ready at %s\n\n", info.Endpoint)
	fmt.Fprintf(&b, "Trust the server certificate (signed by the dev CA):\n  export AWS_CA_BUNDLE=%s\n  (or add it to your system store: cp %s /usr/local/share/ca-certificates/roam-dev.crt && update-ca-certificates)\n\n", info.CABundle, info.CABundle)
	fmt.Fprintf(&b, "Get credentials with AWS's official helper (it ignores AWS_CA_BUNDLE; Go's SSL_CERT_FILE works):\n  SSL_CERT_FILE=%s aws_signing_helper credential-process %s\n\n", info.CABundle, args)
	fmt.Fprintf(&b, "Or with roam's helper:\n  roam credential-process %s --ca-bundle %s\n\n", args, info.CABundle)
	fmt.Fprintf(&b, "~/.aws/config profile:\n  [profile roam-dev]\n  region = %s\n  credential_process = env SSL_CERT_FILE=%s aws_signing_helper credential-process --certificate %s --private-key %s --trust-anchor-arn %s --profile-arn %s --role-arn %s --endpoint %s\n\n",
		info.Region, info.CABundle, info.Certificate, info.PrivateKey, info.TrustAnchorARN, info.ProfileARN, info.RoleARN, info.Endpoint)
	fmt.Fprintf(&b, "For scripts: dev.json and dev.env (source it) are in %s\n", filepath.Dir(info.Certificate))
	return b.String()
}

func names(ns []bootstrap.Named) map[string]string {
	m := make(map[string]string, len(ns))
	for _, n := range ns {
		m[n.Name] = n.ARN
	}
	return m
}

// ensureLeaf issues a certificate and key pair unless a valid one exists.
func ensureLeaf(ctx context.Context, ca *cadir.Dir, iss *pki.Issuer, certPath, keyPath string, profile pki.Profile, cn string, sans []string) error {
	if data, err := os.ReadFile(certPath); err == nil {
		if certs, err := pki.ParseCertificatesPEM(data); err == nil && len(certs) > 0 && time.Until(certs[0].NotAfter) > 24*time.Hour {
			if _, err := os.Stat(keyPath); err == nil {
				return nil
			}
		}
	}
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		return err
	}
	var parsed pki.SANs
	for _, s := range sans {
		if s == "" {
			continue
		}
		if err := parsed.ParseSAN(s); err != nil {
			return err
		}
	}
	issued, err := iss.Issue(pki.LeafRequest{Profile: profile, Subject: pkix.Name{CommonName: cn}, SANs: parsed, PublicKey: key.Public(), Validity: devCertLifetime})
	if err != nil {
		return err
	}
	if err := ca.Record(ctx, issued.Cert, profile); err != nil {
		return err
	}
	keyPEM, err := pki.MarshalPrivateKeyPEM(key, nil, 0)
	if err != nil {
		return err
	}
	chain, err := ca.Chain()
	if err != nil {
		return err
	}
	if err := cadir.WriteFile(keyPath, keyPEM, 0o600, true); err != nil {
		return err
	}
	return cadir.WriteFile(certPath, pki.EncodeCertificatesPEM(append([]*x509.Certificate{issued.Cert}, chain...)...), 0o644, true)
}

func devBootstrapYAML(anchorID string) string {
	anchorARN := "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + anchorID
	return `# roam dev bootstrap file: one trust anchor (the dev CA), one role whose
# trust policy admits only certificates from that anchor, one profile.
account: "000000000000"
region: us-east-1
trustAnchors:
  - name: ` + devAnchorName + `
    id: ` + anchorID + `
    certificateBundle: file:ca/root.pem
    enabled: true
roles:
  - name: ` + devRoleName + `
    maxSessionDuration: 3600
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
          Condition:
            ArnEquals:
              aws:SourceArn: ` + anchorARN + `
    inlinePolicies:
      read-only:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: ["sts:GetCallerIdentity", "s3:GetObject", "s3:ListBucket"], Resource: "*"}
profiles:
  - name: ` + devProfileName + `
    roles: [` + devRoleName + `]
    durationSeconds: 3600
    enabled: true
`
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}

func sanFor(host string) string {
	switch host {
	case "", "localhost", "127.0.0.1", "::1", "0.0.0.0", "::":
		return ""
	}
	if strings.ContainsAny(host, ":") || strings.Trim(host, "0123456789.") == "" {
		return "ip:" + host
	}
	return "dns:" + host
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
