package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/pki/cadir"
	"github.com/spf13/cobra"
)

func newCAInitCommand(env *Env) *cobra.Command {
	var (
		df                    caDirFlags
		name, keyType         string
		validity, intValidity string
		intermediate, force   bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a root CA (and optionally an intermediate)",
		Long: `Create a CA in --dir: a root CA and, with --intermediate, an intermediate CA
signed by it. With an intermediate, certificates are issued by the
intermediate, so the root key (root.key) can be moved offline.

The keys are encrypted (PKCS#8, PBKDF2-HMAC-SHA256, AES-256-CBC) with the
password from --password-file, $ROAM_CA_PASSWORD or a terminal prompt;
--insecure-no-password writes them unencrypted.`,
		Example: `  roam ca init --name "Example Corp" --password-file ca.pw
  roam ca init --dir /etc/roam/ca --intermediate --key-type ec-p384 --validity 20y`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kt, err := pki.ParseKeyType(keyType)
			if err != nil {
				return err
			}
			rootValidity, err := parseValidityFlag("validity", validity, pki.DefaultRootValidity)
			if err != nil {
				return err
			}
			iv, err := parseValidityFlag("intermediate-validity", intValidity, pki.DefaultIntermediateValidity)
			if err != nil {
				return err
			}
			if df.noPassword && df.passwordFile != "" {
				return fmt.Errorf("--insecure-no-password and --password-file contradict each other")
			}
			if !force {
				if _, err := os.Lstat(filepath.Join(df.dir, cadir.ConfigFile)); err == nil {
					return fmt.Errorf("CA already exists in %s (use --force to replace it)", df.dir)
				}
			}
			var password []byte
			if !df.noPassword {
				password, err = env.readPassword(passwordRequest{what: "CA key", file: df.passwordFile, envVar: caPasswordEnv, confirm: true})
				if err != nil {
					return fmt.Errorf("%w; or --insecure-no-password to store the CA keys unencrypted", err)
				}
			}
			res, err := cadir.Init(cmd.Context(), df.dir, cadir.InitOptions{
				Name:                 name,
				KeyType:              kt,
				RootValidity:         rootValidity,
				Intermediate:         intermediate,
				IntermediateValidity: iv,
				Password:             password,
				Force:                force,
			})
			if err != nil {
				return err
			}
			if res.Clamped {
				fmt.Fprintf(env.Stderr, "warning: intermediate validity clamped to the root's notAfter %s\n", res.Root.NotAfter.Format(time.RFC3339))
			}
			w := env.Stdout
			fmt.Fprintf(w, "Created CA %q in %s\n", name, df.dir)
			fmt.Fprintf(w, "  root:         %s (%s, until %s)\n", res.Root.Subject, pki.DescribePublicKey(res.Root.PublicKey), res.Root.NotAfter.Format(time.DateOnly))
			if res.Intermediate != nil {
				fmt.Fprintf(w, "  intermediate: %s (until %s) - issues certificates; root.key can go offline\n", res.Intermediate.Subject, res.Intermediate.NotAfter.Format(time.DateOnly))
			}
			if password == nil {
				fmt.Fprintln(w, "  keys:         NOT encrypted (--insecure-no-password)")
			} else {
				fmt.Fprintln(w, "  keys:         encrypted (PKCS#8, AES-256-CBC, PBKDF2-HMAC-SHA256)")
			}
			fmt.Fprintf(w, "Trust anchor for Roles Anywhere: %s/%s\n", df.dir, cadir.RootCertFile)
			return nil
		},
	}
	df.register(cmd, true)
	f := cmd.Flags()
	f.BoolVar(&df.noPassword, "insecure-no-password", false, "store the CA keys unencrypted")
	f.StringVar(&name, "name", "roam CA", "CA name (the root's common name; with --intermediate, \"NAME Root CA\" and \"NAME Intermediate CA\")")
	f.StringVar(&keyType, "key-type", string(pki.ECP256), "key type: ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096")
	f.StringVar(&validity, "validity", "10y", "root validity (Go duration or Nd / Ny)")
	f.StringVar(&intValidity, "intermediate-validity", "5y", "intermediate validity")
	f.BoolVar(&intermediate, "intermediate", false, "also create an intermediate CA that issues certificates")
	f.BoolVar(&force, "force", false, "replace an existing CA in --dir (its index is reset)")
	return cmd
}

// parseValidityFlag parses a duration flag, def if empty.
func parseValidityFlag(flag, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := pki.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", flag, err)
	}
	return d, nil
}
