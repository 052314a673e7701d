package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/internal/helper"
	"github.com/roam-project/roam/internal/helper/pkcs11"
	"github.com/roam-project/roam/internal/helper/tpm"
)

// helperFlags are the flags credential-process, serve and update share with
// the official aws_signing_helper, plus roam's additions.
type helperFlags struct {
	key helper.SignerOptions

	certSelector, systemStoreName string
	useLatestExpiring             bool

	roleARN, profileARN, trustAnchorARN string
	sessionDuration                     int
	roleSessionName                     string
	region, endpoint                    string
	noVerifySSL, withProxy, debug       bool
	caBundle                            string
}

func (h *helperFlags) addKeyFlags(f *pflag.FlagSet) {
	f.StringVar(&h.key.Certificate, "certificate", "", "certificate: PEM/DER file, combined PEM with the key, PKCS#12 file, or PKCS#11 URI")
	f.StringVar(&h.key.PrivateKey, "private-key", "", "private key: PEM file (PKCS#1, SEC 1, PKCS#8, encrypted PKCS#8), PKCS#11 URI, TPM handle:0x81… or TSS2 key file")
	f.StringVar(&h.certSelector, "cert-selector", "", "OS certificate store selector (Windows/macOS only; not available on Linux)")
	f.StringVar(&h.systemStoreName, "system-store-name", "MY", "Windows certificate store name (not available on Linux)")
	f.BoolVar(&h.useLatestExpiring, "use-latest-expiring-certificate", false, "pick the latest-expiring of several matching store certificates (not available on Linux)")
	f.StringVar(&h.key.PKCS11Lib, "pkcs11-lib", "", "PKCS#11 module (default p11-kit-proxy.so)")
	f.BoolVar(&h.key.ReusePIN, "reuse-pin", false, "use the user PIN for PKCS#11 keys that require re-authentication")
	f.StringVar(&h.key.PKCS11PIN, "pkcs11-pin", "", "PKCS#11 user PIN when the URI has no pin-value (roam addition)")
	f.StringVar(&h.key.TPMKeyPassword, "tpm-key-password", "", "TPM key password")
	f.BoolVar(&h.key.NoTPMKeyPassword, "no-tpm-key-password", false, "the TPM key has no password")
	f.StringVar(&h.key.PKCS8Password, "pkcs8-password", "", "password of an encrypted PKCS#8 key (or PKCS#12 file); prefer --private-key-password-file")
	f.StringVar(&h.key.PasswordFile, "private-key-password-file", "", "file whose first line is the key or PKCS#12 password (roam addition)")
	f.BoolVar(&h.debug, "debug", false, "log debug information to stderr (never secrets)")
}

func (h *helperFlags) addSessionFlags(f *pflag.FlagSet) {
	h.addKeyFlags(f)
	f.StringVar(&h.key.Intermediates, "intermediates", "", "PEM bundle of intermediate certificates to send")
	f.StringVar(&h.roleARN, "role-arn", "", "role to assume")
	f.StringVar(&h.profileARN, "profile-arn", "", "profile to use")
	f.StringVar(&h.trustAnchorARN, "trust-anchor-arn", "", "trust anchor to use")
	f.IntVar(&h.sessionDuration, "session-duration", 3600, "session duration in seconds (900-43200)")
	f.StringVar(&h.roleSessionName, "role-session-name", "", "role session name")
	f.StringVar(&h.region, "region", "", "signing region (default: the trust anchor ARN's)")
	f.StringVar(&h.endpoint, "endpoint", "", "CreateSession endpoint; wins over AWS_ENDPOINT_URL_ROLESANYWHERE (default: from the region)")
	f.BoolVar(&h.noVerifySSL, "no-verify-ssl", false, "do not verify the server certificate (tests only)")
	f.BoolVar(&h.withProxy, "with-proxy", false, "use HTTP(S)_PROXY (always honoured; kept for compatibility)")
	f.StringVar(&h.caBundle, "ca-bundle", "", "PEM file of CAs to trust for the endpoint (default $AWS_CA_BUNDLE, else system roots; roam addition)")
}

// logger returns the helper's logger: warnings and errors on stderr, debug
// with --debug. Credentials are never logged, only access key ids.
func (h *helperFlags) logger(env *Env) *slog.Logger {
	level := slog.LevelWarn
	if h.debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
}

// openSigner opens the key the flags select.
func (h *helperFlags) openSigner(ctx context.Context, env *Env) (helper.Signer, error) {
	if h.certSelector != "" || h.useLatestExpiring || (h.key.Certificate == "" && h.key.PrivateKey == "") {
		return nil, errors.New("unable to use cert store signer on linux: give --certificate (and --private-key)")
	}
	o := h.key
	if o.TPMDevice == "" {
		o.TPMDevice = env.Getenv("TPM_DEVICE")
	}
	o.Prompt = ttyPrompt
	wireKeySources(&o)
	return helper.OpenSigner(ctx, &o)
}

// wireKeySources plugs the PKCS#11 and TPM sources into o. Those packages
// (internal/helper/pkcs11, internal/helper/tpm) export
// `Open(ctx, *helper.SignerOptions) (helper.Signer, error)`; set
// o.OpenPKCS11 = pkcs11.Open and o.OpenTPM = tpm.Open here.
func wireKeySources(o *helper.SignerOptions) {
	o.OpenPKCS11 = pkcs11.Open
	o.OpenTPM = tpm.Open
}

// ttyPrompt reads a secret from /dev/tty without echo.
func ttyPrompt(ctx context.Context, what string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("no terminal to ask for the %s: %w", what, err)
	}
	defer tty.Close()
	fmt.Fprintf(tty, "Enter %s: ", what)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return string(b), nil
}

// target checks the session flags and returns the signing region and the
// CreateSession endpoint.
func (h *helperFlags) target(env *Env) (region, endpoint string, err error) {
	if h.trustAnchorARN == "" || h.profileARN == "" || h.roleARN == "" {
		return "", "", errors.New("--trust-anchor-arn, --profile-arn and --role-arn are required")
	}
	if h.sessionDuration < 900 || h.sessionDuration > 43200 {
		return "", "", fmt.Errorf("--session-duration %d is not in 900..43200", h.sessionDuration)
	}
	region = h.region
	if region == "" {
		r, err := credentials.RegionFromARN(h.trustAnchorARN)
		if err != nil {
			return "", "", fmt.Errorf("--trust-anchor-arn: %w", err)
		}
		region = r
	}
	return region, credentials.ResolveEndpoint(h.endpoint, region, env.Getenv), nil
}

// provider builds the CreateSession provider for signer.
func (h *helperFlags) provider(env *Env, signer helper.Signer) (*credentials.Provider, string, error) {
	region, endpoint, err := h.target(env)
	if err != nil {
		return nil, "", err
	}
	ca := h.caBundle
	if ca == "" {
		ca = env.Getenv("AWS_CA_BUNDLE")
	}
	client, err := credentials.NewHTTPClient(credentials.HTTPOptions{CABundle: ca, NoVerifySSL: h.noVerifySSL})
	if err != nil {
		return nil, "", err
	}
	p, err := credentials.New(credentials.Options{
		Signer:          signer,
		TrustAnchorARN:  h.trustAnchorARN,
		ProfileARN:      h.profileARN,
		RoleARN:         h.roleARN,
		RoleSessionName: h.roleSessionName,
		Duration:        time.Duration(h.sessionDuration) * time.Second,
		Region:          region,
		Endpoint:        endpoint,
		HTTPClient:      client,
		UserAgent:       fmt.Sprintf("roam-helper (%s; %s; %s)", runtime.Version(), runtime.GOOS, runtime.GOARCH),
	})
	if err != nil {
		return nil, "", err
	}
	return p, endpoint, nil
}

// session opens the signer and builds the provider; close releases the
// signer.
func (h *helperFlags) session(ctx context.Context, env *Env) (helper.Signer, *credentials.Provider, string, error) {
	s, err := h.openSigner(ctx, env)
	if err != nil {
		return nil, nil, "", err
	}
	p, endpoint, err := h.provider(env, s)
	if err != nil {
		s.Close()
		return nil, nil, "", err
	}
	return s, p, endpoint, nil
}

// exit1 makes failures exit 1, as the official helper does.
func exit1(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: 1, Err: err}
}

func newCredentialProcessCommand(env *Env) *cobra.Command {
	var h helperFlags
	var cacheDir string
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print temporary credentials in the credential_process format",
		Long: `Call CreateSession with the certificate's key and print the credentials as
the JSON the AWS CLI and SDKs expect from a credential_process:

  [profile roam]
  credential_process = /usr/local/bin/roam credential-process --certificate … --private-key … --trust-anchor-arn … --profile-arn … --role-arn … --endpoint https://roam:8443

With --cache DIR, unexpired credentials (more than 5 minutes left) are reused
across invocations, so each CLI command does not create a session.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := h.openSigner(ctx, env)
			if err != nil {
				return exit1(err)
			}
			defer s.Close()
			_, endpoint, err := h.target(env)
			if err != nil {
				return exit1(err)
			}
			// The provider, with its HTTP client (which may parse a large CA
			// bundle), is built only when a session is needed: not when the
			// cache answers.
			fetch := func(ctx context.Context) (credentials.Credentials, error) {
				p, _, err := h.provider(env, s)
				if err != nil {
					return credentials.Credentials{}, err
				}
				return p.CreateSession(ctx)
			}
			var creds credentials.Credentials
			if cacheDir != "" {
				c := &helper.Cache{Dir: cacheDir}
				var hit bool
				creds, hit, err = c.Get(ctx, helper.CacheKey{
					TrustAnchorARN: h.trustAnchorARN, ProfileARN: h.profileARN, RoleARN: h.roleARN,
					CertificateSHA256: sha256.Sum256(s.Certificate().Raw),
					Endpoint:          endpoint, Region: h.region, RoleSessionName: h.roleSessionName,
					DurationSeconds: h.sessionDuration,
				}, fetch)
				h.logger(env).Debug("credential cache", "hit", hit)
			} else {
				creds, err = fetch(ctx)
			}
			if err != nil {
				return exit1(err)
			}
			_, err = env.Stdout.Write(helper.NewProcessOutput(creds).Marshal())
			return err
		},
	}
	h.addSessionFlags(cmd.Flags())
	cmd.Flags().StringVar(&cacheDir, "cache", "", "reuse unexpired credentials across invocations, cached in this directory (0700, files 0600; roam addition)")
	return cmd
}

func newUpdateCommand(env *Env) *cobra.Command {
	var h helperFlags
	var profile string
	var once bool
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Keep a profile of the shared credentials file updated",
		Long: `Write temporary credentials to [profile] of the shared credentials file
($AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and rewrite them before
they expire. The write is atomic and locked, keeps every other line, creates
~/.aws (0700) and the file (0600), and adds aws_expiration. A failed
CreateSession is retried with backoff; --once writes once and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, p, _, err := h.session(ctx, env)
			if err != nil {
				return exit1(err)
			}
			defer s.Close()
			path, err := helper.CredentialsFilePath(env.Getenv)
			if err != nil {
				return exit1(err)
			}
			u := &helper.Updater{Fetch: p.CreateSession, Path: path, Profile: profile, Logger: h.logger(env)}
			if err := u.Run(ctx, once); err != nil && !errors.Is(err, context.Canceled) {
				return exit1(err)
			}
			return nil
		},
	}
	h.addSessionFlags(cmd.Flags())
	cmd.Flags().StringVar(&profile, "profile", "default", "profile (section) of the credentials file to write")
	cmd.Flags().BoolVar(&once, "once", false, "write once and exit")
	return cmd
}

func newServeCommand(env *Env) *cobra.Command {
	var h helperFlags
	var port, hopLimit int
	var bind, tokenFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve credentials over IMDSv2 (and an ECS-style container endpoint)",
		Long: `Serve temporary credentials the way EC2's IMDSv2 does, on 127.0.0.1:9911 by
default. Point SDKs at it with
  export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9911/
Credentials are refreshed early (half their lifetime, or 5 minutes before
expiry) with backoff; a failed refresh keeps the last good set until it
expires, and only then are requests answered 503.

--container-token-file FILE enables an ECS-style endpoint protected by the
token in FILE (created with a random token, 0600, if missing):
  export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/v1/credentials
  export AWS_CONTAINER_AUTHORIZATION_TOKEN="$(cat FILE)"
(or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=FILE for SDKs that support it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := h.logger(env)
			s, p, _, err := h.session(ctx, env)
			if err != nil {
				return exit1(err)
			}
			defer s.Close()
			var token string
			if tokenFile != "" {
				if token, err = containerToken(tokenFile); err != nil {
					return exit1(err)
				}
			}
			ref := helper.NewRefresher(p.CreateSession, log, nil)
			// Fail fast: a helper that cannot get credentials at start
			// is misconfigured (the official one starts anyway).
			if _, err := ref.Get(ctx); err != nil {
				return exit1(err)
			}
			ln, err := helper.Listen(ctx, bind, port, hopLimit)
			if err != nil {
				return exit1(err)
			}
			if ip := net.ParseIP(strings.Trim(bind, "[]")); ip != nil && !ip.IsLoopback() {
				log.Warn("serving credentials on a non-loopback address; anyone who can reach it gets them", "bind", bind, "hop_limit", hopLimit)
			}
			base := "http://" + ln.Addr().String() + "/"
			fmt.Fprintf(env.Stderr, "Local server started on %s\nexport AWS_EC2_METADATA_SERVICE_ENDPOINT=%s\n", ln.Addr(), base)
			if token != "" {
				fmt.Fprintf(env.Stderr, "export AWS_CONTAINER_CREDENTIALS_FULL_URI=%s\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN=\"$(cat %s)\"\n", strings.TrimSuffix(base, "/")+helper.ContainerPath, tokenFile)
			}
			srv := helper.NewServer(helper.ServerOptions{
				Creds: ref, RoleName: helper.RoleName(h.roleARN), RoleARN: h.roleARN,
				ContainerToken: token, Logger: log,
			})
			return exit1(srv.Serve(ctx, ln))
		},
	}
	h.addSessionFlags(cmd.Flags())
	f := cmd.Flags()
	f.IntVar(&port, "port", helper.DefaultServePort, "port to listen on (0 picks one)")
	f.IntVar(&hopLimit, "hop-limit", helper.DefaultHopLimit, "IP TTL / IPv6 hop limit of responses (1 keeps them on the host)")
	f.StringVar(&bind, "bind", "127.0.0.1", "address to listen on, e.g. ::1 (roam addition)")
	f.StringVar(&tokenFile, "container-token-file", "", "enable the container credentials endpoint with the token in this file, created if missing (roam addition)")
	return cmd
}

// containerToken reads the token from path, or creates path (0600) with a
// random token.
func containerToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		t := strings.TrimSpace(string(b))
		if len(t) < 16 {
			return "", fmt.Errorf("container token in %s is shorter than 16 characters", path)
		}
		return t, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("container token: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	t := base64.RawURLEncoding.EncodeToString(raw)
	if err := helper.WriteFileAtomic(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("container token: %w", err)
	}
	return t, nil
}

func newSignStringCommand(env *Env) *cobra.Command {
	var h helperFlags
	var format, digest string
	cmd := &cobra.Command{
		Use:   "sign-string",
		Short: "Sign the fixed test message with the key (diagnostic)",
		Long: `Sign the official helper's fixed test message ("AWS Roles Anywhere Credential
Helper Signing Test" + "1" + SHA-256("IAM RA" || public key)) and print the
signature: --format json (default, a JSON string of the hex), text or bin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hash, err := helper.ParseDigest(digest)
			if err != nil {
				return exit1(err)
			}
			s, err := h.openSigner(cmd.Context(), env)
			if err != nil {
				return exit1(err)
			}
			defer s.Close()
			out, err := helper.SignString(s, hash, format)
			if err != nil {
				return exit1(err)
			}
			_, err = env.Stdout.Write(out)
			return err
		},
	}
	h.addKeyFlags(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "json", "output format: json, text or bin")
	cmd.Flags().StringVar(&digest, "digest", "SHA256", "digest: SHA256, SHA384 or SHA512")
	return cmd
}

func newReadCertificateDataCommand(env *Env) *cobra.Command {
	var h helperFlags
	cmd := &cobra.Command{
		Use:   "read-certificate-data",
		Short: "Print a certificate's type, serial and DER as JSON (diagnostic)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if h.certSelector != "" || h.key.Certificate == "" {
				return exit1(errors.New("unable to use cert store signer on linux: give --certificate"))
			}
			if helper.IsPKCS11URI(h.key.Certificate) {
				s, err := h.openSigner(cmd.Context(), env)
				if err != nil {
					return exit1(err)
				}
				defer s.Close()
				d, err := helper.NewCertificateData(s.Certificate())
				if err != nil {
					return exit1(err)
				}
				return writeCompactJSON(env, d)
			}
			d, err := helper.ReadCertificateData(&h.key)
			if err != nil {
				return exit1(err)
			}
			return writeCompactJSON(env, d)
		},
	}
	f := cmd.Flags()
	f.StringVar(&h.key.Certificate, "certificate", "", "certificate: PEM/DER file, PKCS#12 file or PKCS#11 URI")
	f.StringVar(&h.certSelector, "cert-selector", "", "OS certificate store selector (not available on Linux)")
	f.StringVar(&h.systemStoreName, "system-store-name", "MY", "Windows certificate store name (not available on Linux)")
	f.StringVar(&h.key.PKCS11Lib, "pkcs11-lib", "", "PKCS#11 module (default p11-kit-proxy.so)")
	f.StringVar(&h.key.PasswordFile, "private-key-password-file", "", "password file for a PKCS#12 certificate (roam addition)")
	f.BoolVar(&h.debug, "debug", false, "log debug information to stderr")
	return cmd
}

func writeCompactJSON(env *Env, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(b)
	return err
}
