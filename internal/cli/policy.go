package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-project/roam/policy"
)

// newPolicyCommand returns `roam policy` and its subcommands.
func newPolicyCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate and simulate IAM policies",
		Long: `roam policy checks IAM policy documents the way IAM would when they are
attached (validate) and decides requests against them with AWS's evaluation
logic, explaining the decision like the IAM policy simulator (simulate).`,
	}
	cmd.AddCommand(newPolicyValidateCommand(env), newPolicySimulateCommand(env))
	return cmd
}

// newPolicyValidateCommand returns `roam policy validate`.
func newPolicyValidateCommand(env *Env) *cobra.Command {
	var (
		kindName string
		inline   bool
		maxSize  int
	)
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy documents; print OK or every error with its JSON path",
		Long: `validate parses each FILE ("-" for standard input) as a policy of the given
kind and prints "FILE: OK" or one line per problem, naming the JSON path of
the offending element, e.g.

  role.json: Statement[2].Condition.NumericLessThan.aws:MultiFactorAuthAge: NumericLessThan: "an hour" is not a number

Exit status: 0 if every file is valid, 1 if any is invalid, 2 on a usage
error or an unreadable file.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := policy.ParseKind(kindName)
			if err != nil {
				return err
			}
			opts := policy.ParseOptions{Kind: kind, Inline: inline, MaxSize: maxSize}
			invalid := false
			var readErr error
			for _, file := range args {
				data, err := readPolicyFile(env, file)
				if err != nil {
					fmt.Fprintf(env.Stderr, "roam: %v\n", err)
					readErr = err
					continue
				}
				opts.Name = file
				if _, err := policy.Parse(data, opts); err != nil {
					invalid = true
					printPolicyErrors(env.Stdout, file, err)
					continue
				}
				fmt.Fprintf(env.Stdout, "%s: OK\n", file)
			}
			switch {
			case readErr != nil:
				return &ExitError{Code: 2}
			case invalid:
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kindName, "kind", "identity", "policy kind: identity, trust, session, boundary or resource")
	cmd.Flags().BoolVar(&inline, "inline", false, "identity policy is inline (10,240-character limit instead of 6,144)")
	cmd.Flags().IntVar(&maxSize, "max-size", 0, "size limit in characters (0: the kind's default; trust policies up to 4096; -1: no limit)")
	return cmd
}

// printPolicyErrors prints one line per problem of a policy that failed
// to parse.
func printPolicyErrors(w io.Writer, file string, err error) {
	var list policy.ErrorList
	if !errors.As(err, &list) {
		fmt.Fprintf(w, "%s: %v\n", file, err)
		return
	}
	for _, e := range list {
		fmt.Fprintf(w, "%s: %v\n", file, e)
	}
}

// readPolicyFile reads a policy document; "-" is standard input.
func readPolicyFile(env *Env, file string) ([]byte, error) {
	if file == "-" {
		data, err := io.ReadAll(env.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return data, nil
}

// simulateFlags are the flags of `roam policy simulate`.
type simulateFlags struct {
	identity, boundary, session, resourcePols []string
	trust                                     string
	action, resource, principal               string
	context                                   []string
	json                                      bool
}

// newPolicySimulateCommand returns `roam policy simulate`.
func newPolicySimulateCommand(env *Env) *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate --action ACTION [--resource ARN] [policy flags] [--context key=value]...",
		Short: "Decide a request against policies and explain why",
		Long: `simulate evaluates one request against the given policies with AWS's
evaluation logic and prints Allow or Deny with the statements that decided
it, or the policy types that had no Allow.

  --policy             identity-based policies of the caller (repeatable)
  --boundary           permissions boundary (repeatable)
  --session-policy     session policies (repeatable; any of them may allow)
  --resource-policy    resource-based policies of the resource (repeatable)
  --trust              trust policy of a role being assumed

With only --trust, the trust policy is evaluated alone (as CreateSession
does); with other policies too, they are the caller's and an Allow that
names only the caller's account also needs an identity-based Allow.

--principal is an IAM ARN (user, role, assumed-role session), a 12-digit
account id, a service principal (rolesanywhere.amazonaws.com or
service:NAME), federated:PROVIDER or canonical:ID.

--context key=value sets a condition key; repeat a key to give it several
values (commas are not separators: values are taken literally).

Exit status: 0 on Allow, 1 on Deny, 2 on an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSimulate(env, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.identity, "policy", nil, "identity-based policy `FILE` (repeatable)")
	fl.StringArrayVar(&f.boundary, "boundary", nil, "permissions boundary `FILE`")
	fl.StringArrayVar(&f.session, "session-policy", nil, "session policy `FILE` (repeatable)")
	fl.StringArrayVar(&f.resourcePols, "resource-policy", nil, "resource-based policy `FILE` (repeatable)")
	fl.StringVar(&f.trust, "trust", "", "role trust policy `FILE`")
	fl.StringVar(&f.action, "action", "", "action, e.g. s3:GetObject (required)")
	fl.StringVar(&f.resource, "resource", "", "resource ARN (required unless only --trust is given)")
	fl.StringVar(&f.principal, "principal", "", "caller: ARN, account id, service, federated:P or canonical:ID")
	fl.StringArrayVar(&f.context, "context", nil, "condition key=value (repeat a key for several values)")
	fl.BoolVar(&f.json, "json", false, "print the decision as JSON")
	_ = cmd.MarkFlagRequired("action")
	return cmd
}

func runSimulate(env *Env, f *simulateFlags) error {
	trustOnly := f.trust != "" && len(f.identity)+len(f.boundary)+len(f.session)+len(f.resourcePols) == 0
	if f.trust == "" && len(f.identity)+len(f.boundary)+len(f.session)+len(f.resourcePols) == 0 {
		return errors.New("no policies: give --policy, --boundary, --session-policy, --resource-policy or --trust")
	}
	if f.resource == "" && !trustOnly {
		return errors.New("--resource is required")
	}
	principal, err := parsePrincipalFlag(f.principal)
	if err != nil {
		return err
	}
	ctx := policy.NewContext()
	for _, kv := range f.context {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--context %q: want key=value", kv)
		}
		ctx.Add(k, v)
	}
	load := func(files []string, kind policy.Kind) ([]*policy.Policy, error) {
		var out []*policy.Policy
		for _, file := range files {
			data, err := readPolicyFile(env, file)
			if err != nil {
				return nil, err
			}
			p, err := policy.Parse(data, policy.ParseOptions{Kind: kind, Name: file})
			if err != nil {
				printPolicyErrors(env.Stderr, file, err)
				return nil, fmt.Errorf("%s: invalid %s policy", file, kind)
			}
			out = append(out, p)
		}
		return out, nil
	}
	set := &policy.PolicySet{}
	for _, l := range []struct {
		files []string
		kind  policy.Kind
		dst   *[]*policy.Policy
	}{
		{f.identity, policy.KindIdentity, &set.Identity},
		{f.boundary, policy.KindBoundary, &set.Boundary},
		{f.session, policy.KindSession, &set.Session},
		{f.resourcePols, policy.KindResource, &set.Resource},
	} {
		if *l.dst, err = load(l.files, l.kind); err != nil {
			return err
		}
	}
	if f.trust != "" {
		ps, err := load([]string{f.trust}, policy.KindTrust)
		if err != nil {
			return err
		}
		set.Trust = ps[0]
	}
	req := &policy.Request{Principal: principal, Action: f.action, Resource: f.resource, Context: ctx}
	var ex policy.Explanation
	if trustOnly {
		ex = policy.ExplainTrust(set.Trust, req)
	} else {
		ex = set.Explain(req)
	}
	if f.json {
		out := struct {
			Action    string `json:"action"`
			Resource  string `json:"resource,omitempty"`
			Principal string `json:"principal,omitempty"`
			policy.Explanation
		}{f.action, f.resource, f.principal, ex}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	} else {
		fmt.Fprint(env.Stdout, ex.String())
	}
	if ex.Decision != policy.Allow {
		return &ExitError{Code: 1}
	}
	return nil
}

// parsePrincipalFlag turns --principal into a policy.Principal.
func parsePrincipalFlag(s string) (policy.Principal, error) {
	switch {
	case s == "":
		return policy.Principal{}, nil
	case strings.HasPrefix(s, "arn:"):
		return policy.PrincipalFromARN(s), nil
	case strings.HasPrefix(s, "service:"):
		return policy.ServicePrincipal(strings.TrimPrefix(s, "service:")), nil
	case strings.HasPrefix(s, "federated:"):
		return policy.Principal{Federated: strings.TrimPrefix(s, "federated:")}, nil
	case strings.HasPrefix(s, "canonical:"):
		return policy.Principal{CanonicalUser: strings.TrimPrefix(s, "canonical:")}, nil
	case len(s) == 12 && strings.Trim(s, "0123456789") == "":
		return policy.Principal{Account: s}, nil
	case strings.Contains(s, ".") && !strings.ContainsAny(s, ":/ "):
		return policy.ServicePrincipal(s), nil
	}
	return policy.Principal{}, fmt.Errorf("--principal %q: want an ARN, account id, service name, federated:P or canonical:ID", s)
}
