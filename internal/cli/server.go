package cli

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/roam-project/roam/internal/api"
	"github.com/roam-project/roam/internal/server"
	"github.com/roam-project/roam/internal/sts"
	"github.com/spf13/cobra"
)

func newServerCommand(env *Env) *cobra.Command {
	var cfg server.Config
	var logLevel, cpuProfile string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the exchange server (CreateSession, STS, control plane)",
		Long: `Run roam's exchange server. Workloads sign CreateSession requests with their
X.509 certificate and receive temporary credentials for a role.

The database (--db, default $ROAM_DB or ./roam.db) is a SQLite file or a
postgres:// (postgresql://) URL. On PostgreSQL several replicas may share one
database behind a load balancer: they must share the --master-key-file too,
and each picks up the others' changes within a second (LISTEN/NOTIFY). See
docs/replicas.md. --bootstrap applies a roam.yaml file (trust anchors, CRLs,
policies, roles, profiles) by name before serving. The master key that seals
the credential keyring is created (0600) on first start if --master-key-file
does not exist.

CreateSession and STS are answered from an in-memory snapshot of the
configuration. If the database stops answering, they keep being answered
from it for --db-grace; after that every request but /healthz, /readyz and
/metrics gets 503 ServiceUnavailable and /readyz reports why, until the
database answers again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, err := newLogger(env, logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			if cfg.DBGrace <= 0 {
				return fmt.Errorf("--db-grace %s: want a positive duration", cfg.DBGrace)
			}
			if cfg.DBPath == "" {
				cfg.DBPath = firstEnv(env, "ROAM_DB", "roam.db")
			}
			srv, err := server.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			fmt.Fprintf(env.Stderr, "roam server listening on %s\n", srv.Addr())
			return srv.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:9443", "address to listen on")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "server certificate (PEM, leaf first)")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "server private key (PEM)")
	f.BoolVar(&cfg.InsecureHTTP, "insecure-http", false, "serve plain HTTP (tests only)")
	f.StringVar(&cfg.DBPath, "db", "", "SQLite database file or postgres:// URL (default $ROAM_DB or ./roam.db)")
	f.DurationVar(&cfg.DBGrace, "db-grace", server.DefaultDBGrace, "how long to keep serving from the snapshot while the database is unreachable, then answer 503")
	f.StringVar(&cfg.MasterKeyFile, "master-key-file", "roam-master.key", "master key file, created 0600 if absent")
	f.StringVar(&cfg.BootstrapFile, "bootstrap", "", "bootstrap file (roam.yaml) to apply at start")
	f.StringVar(&cfg.AuditFile, "audit-file", "", "also write audit events as JSON lines to this file (0600), or - for stdout")
	f.DurationVar(&cfg.Skew, "max-skew", 0, "allowed clock skew of signed requests (default 5m)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the server stops")
	f.MarkHidden("cpuprofile")
	cmd.AddCommand(newServerInitCommand(env))
	return cmd
}

// newServerInitCommand is `roam server init`: the first admin user.
func newServerInitCommand(env *Env) *cobra.Command {
	var db, masterKeyFile, userName, keyFile, profile string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the first admin user and its access key",
		Long: `Create the first admin user of the control plane (IAM and Roles Anywhere
APIs) with an AdministratorAccess managed policy (every action on every
resource) and issue its first long-term access key (AKIA…). The secret is
stored only sealed under the master key; it is printed once on standard
output, or with --key-file written (0600) as an AWS shared-credentials
profile for AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials.

init refuses if any admin user exists. --force creates or recovers --user:
the policy is attached, the user's existing access keys are deleted and a
new one is issued (use it when the only admin key is lost). Run it against
the same --db and --master-key-file as the server; a running server picks the
user up within a second.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if db == "" {
				db = firstEnv(env, "ROAM_DB", "roam.db")
			}
			if !isPostgresURL(db) && !strings.HasPrefix(db, "sqlite:") {
				db = "sqlite:" + db
			}
			master, err := sts.LoadOrCreateMasterKey(masterKeyFile)
			if err != nil {
				return err
			}
			defer clear(master)
			st, err := openStoreSpec(ctx, db)
			if err != nil {
				return fmt.Errorf("open store: %w", err)
			}
			defer st.Close()
			k, err := api.InitAdmin(ctx, st, master, api.InitAdminOptions{UserName: userName, Force: force})
			if err != nil {
				return err
			}
			for _, id := range k.Replaced {
				fmt.Fprintf(env.Stderr, "deleted access key %s of %s\n", id, k.UserName)
			}
			if keyFile != "" {
				if err := api.WriteCredentialsProfile(keyFile, profile, k, force); err != nil {
					return err
				}
				fmt.Fprintf(env.Stderr, "admin user %s created; access key %s written to %s (profile %q)\n", k.UserARN, k.AccessKeyID, keyFile, profileOrDefault(profile))
				return nil
			}
			fmt.Fprintf(env.Stderr, "admin user %s created; its secret is shown once, store it now:\n", k.UserARN)
			return api.WriteCredentials(env.Stdout, profileOrDefault(profile), k)
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "SQLite database file or postgres:// URL (default $ROAM_DB or ./roam.db)")
	f.StringVar(&masterKeyFile, "master-key-file", "roam-master.key", "master key file, created 0600 if absent")
	f.StringVar(&userName, "user", "admin", "name of the admin user")
	f.StringVar(&keyFile, "key-file", "", "write the access key (0600) to this AWS shared-credentials file instead of printing it")
	f.StringVar(&profile, "profile", "default", "profile name in the credentials output")
	f.BoolVar(&force, "force", false, "create or recover --user even if admin users exist, replacing its access keys")
	return cmd
}

func profileOrDefault(p string) string {
	if p == "" {
		return "default"
	}
	return p
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func newDevCommand(env *Env) *cobra.Command {
	var opts server.DevOptions
	var logLevel string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a ready-to-use development server with its own CA and certificates",
		Long: `Create (or reuse) in --dir a CA, a server certificate for 127.0.0.1/localhost,
a client certificate (CN dev-workload), and a roam.yaml with one trust anchor,
one role and one profile; start the server on them; print ready-to-paste
commands for AWS's official credential helper and roam's; write dev.json and
dev.env for scripts. --config serves your own bootstrap file instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, err := newLogger(env, logLevel)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg, err := server.PrepareDev(ctx, opts)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			srv, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			info, err := server.DevInfoFor(srv, opts.Dir)
			if err == nil {
				err = server.WriteDevFiles(opts.Dir, info)
			}
			if err != nil {
				return err
			}
			fmt.Fprint(env.Stdout, server.DevInstructions(info))
			return srv.Serve(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", "roam-dev", "directory for the dev CA, certificates, database and files")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:9443", "address to listen on")
	f.StringVar(&opts.ConfigFile, "config", "", "serve this bootstrap file instead of the generated one")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

// newLogger returns a JSON slog logger on stderr at level.
func newLogger(env *Env, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func firstEnv(env *Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}
