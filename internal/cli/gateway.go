package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/roam-project/roam/internal/gateway"
)

func newGatewayCommand(env *Env) *cobra.Command {
	var configFile, logLevel string
	var check bool
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the mTLS and SigV4 gateway in front of HTTP and S3 backends",
		Long: `Run roam's gateway: each route of --config is a TLS listener that verifies
client certificates against a hot-reloaded trust bundle and CRLs, authorizes
every request (mtls, mtls-policy or sigv4 with roam session credentials) and
forwards allowed requests to its backend with identity headers, re-signing S3
requests with the gateway's own backend credentials.

Certificates, trust bundles and CRLs are re-read when they change on disk and
on SIGHUP; a file that does not load leaves the previous one in use.
See docs/gateway.md for the configuration format.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if configFile == "" {
				return fmt.Errorf("--config is required")
			}
			cfg, err := gateway.LoadConfig(configFile)
			if err != nil {
				return err
			}
			if check {
				fmt.Fprintf(env.Stdout, "%s: %d route(s), configuration is valid\n", configFile, len(cfg.Routes))
				return nil
			}
			logger, err := newLogger(env, logLevel)
			if err != nil {
				return err
			}
			g, err := gateway.New(cmd.Context(), cfg, gateway.Options{Logger: logger, Getenv: env.Getenv})
			if err != nil {
				return err
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					select {
					case <-hup:
						g.Reload()
					case <-done:
						return
					}
				}
			}()
			for _, r := range cfg.Routes {
				fmt.Fprintf(env.Stderr, "roam gateway route %s listening on %s\n", r.Name, g.Addr(r.Name))
			}
			if a := g.MetricsAddr(); a != nil {
				fmt.Fprintf(env.Stderr, "roam gateway metrics on https://%s/metrics\n", a)
			}
			return g.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "gateway configuration file (YAML)")
	f.BoolVar(&check, "check", false, "check the configuration and exit")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
