package cli

import "github.com/spf13/cobra"

// newCACommand is replaced by the `roam ca` implementation.
func newCACommand(env *Env) *cobra.Command {
	return &cobra.Command{Use: "ca", Short: "Run a private certificate authority"}
}
