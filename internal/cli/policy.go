package cli

import "github.com/spf13/cobra"

// newPolicyCommand is replaced by the `roam policy` implementation.
func newPolicyCommand(env *Env) *cobra.Command {
	return &cobra.Command{Use: "policy", Short: "Validate and simulate IAM policies"}
}
