package cli

import (
	"github.com/spf13/cobra"
)

// defaultCADir is where `roam ca` keeps its CA unless --dir says otherwise.
const defaultCADir = "./roam-ca"

// caPasswordEnv is the environment variable holding the CA key password.
const caPasswordEnv = "ROAM_CA_PASSWORD"

// newCACommand returns `roam ca` and its subcommands.
func newCACommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Run a private certificate authority",
		Long: `roam ca runs a private certificate authority for Roles Anywhere: it makes a
root (and optionally an intermediate) CA, issues client and server
certificates that meet Roles Anywhere's rules, signs CSRs, revokes and
publishes CRLs, exports PKCS#12 bundles, and explains why a certificate
would be rejected (roam ca lint).

The CA lives in a directory (--dir, default ./roam-ca). Its private keys are
encrypted with a password read from --password-file, the ROAM_CA_PASSWORD
environment variable, or a terminal prompt.`,
	}
	cmd.AddCommand(
		newCAInitCommand(env),
		newCAIssueCommand(env),
		newCARevokeCommand(env),
		newCACRLCommand(env),
		newCAListCommand(env),
		newCAExportPKCS12Command(env),
		newCALintCommand(env),
		newCAInspectCommand(env),
	)
	return cmd
}

// caDirFlags are the flags of commands that use the CA directory.
type caDirFlags struct {
	dir          string
	passwordFile string
	noPassword   bool
}

func (f *caDirFlags) register(cmd *cobra.Command, withPassword bool) {
	cmd.Flags().StringVar(&f.dir, "dir", defaultCADir, "CA directory")
	if withPassword {
		cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "file holding the CA key password (else $"+caPasswordEnv+", else a terminal prompt)")
	}
}
