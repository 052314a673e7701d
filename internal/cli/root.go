// Package cli builds roam's command tree. Each command group lives in a file of
// its own; the files parse flags and print results, the work is done by the
// packages they call.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// ExitError carries a process exit code out of a command. Commands that need an
// exit code other than 0 (success) or 2 (error) return one, e.g. `roam ca lint`
// exits 1 for an unacceptable certificate.
type ExitError struct {
	Code int
	Err  error // may be nil when the command already printed what it had to say
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Env is what every command may use from its surroundings instead of reaching
// for globals: standard streams and the environment.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// NewRootCommand returns the `roam` command with every command group attached.
func NewRootCommand(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "roam",
		Short: "IAM Roles Anywhere you can run yourself",
		Long: `roam trades X.509 certificates for short-lived, policy-scoped AWS-style
credentials. It is a private CA (roam ca), an exchange server (roam server),
a credential helper (roam credential-process|serve|update) and an mTLS + SigV4
gateway (roam gateway) in one binary.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	for _, add := range commandGroups {
		root.AddCommand(add(env))
	}
	return root
}

// commandGroups lists the constructors of the top-level command groups.
var commandGroups = []func(*Env) *cobra.Command{
	newCACommand,
	newPolicyCommand,
	newServerCommand,
	newDevCommand,
	newBenchCommand,
	newStoreCommand,
	newGatewayCommand,
	newSessionsCommand,
	newCredentialProcessCommand,
	newServeCommand,
	newUpdateCommand,
	newSignStringCommand,
	newReadCertificateDataCommand,
	newApplyCommand,
	newGetCommand,
	newAuditCommand,
}

// Main runs roam with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: osGetenv}
	root := NewRootCommand(env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "roam: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "roam: %v\n", err)
	return 2
}
