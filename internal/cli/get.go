package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/spf13/cobra"
)

func newGetCommand(env *Env) *cobra.Command {
	var cp controlPlaneFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:       "get anchors|profiles|roles|policies|subjects",
		Short:     "List trust anchors, profiles, roles, managed policies or subjects of a roam server",
		Long:      "List resources through the control-plane API, as a table or (--json) as JSON. Credentials come from the AWS SDK chain, as for roam apply.",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"anchors", "profiles", "roles", "policies", "subjects"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := cp.connect(ctx, env)
			if err != nil {
				return err
			}
			var header []string
			var rows [][]string
			var items []any
			switch args[0] {
			case "anchors", "trust-anchors":
				header = []string{"NAME", "ID", "ENABLED", "SOURCE"}
				for pg := rolesanywhere.NewListTrustAnchorsPaginator(c.ra, &rolesanywhere.ListTrustAnchorsInput{}); pg.HasMorePages(); {
					page, err := pg.NextPage(ctx)
					if err != nil {
						return fmt.Errorf("list trust anchors: %w", err)
					}
					for _, t := range page.TrustAnchors {
						items = append(items, t)
						rows = append(rows, []string{aws.ToString(t.Name), aws.ToString(t.TrustAnchorId), strconv.FormatBool(aws.ToBool(t.Enabled)), string(t.Source.SourceType)})
					}
				}
			case "profiles":
				header = []string{"NAME", "ID", "ENABLED", "DURATION", "ROLES"}
				for pg := rolesanywhere.NewListProfilesPaginator(c.ra, &rolesanywhere.ListProfilesInput{}); pg.HasMorePages(); {
					page, err := pg.NextPage(ctx)
					if err != nil {
						return fmt.Errorf("list profiles: %w", err)
					}
					for _, p := range page.Profiles {
						items = append(items, p)
						rows = append(rows, []string{aws.ToString(p.Name), aws.ToString(p.ProfileId), strconv.FormatBool(aws.ToBool(p.Enabled)),
							strconv.Itoa(int(aws.ToInt32(p.DurationSeconds))), strings.Join(p.RoleArns, ",")})
					}
				}
			case "subjects":
				header = []string{"SUBJECT", "ID", "ENABLED", "LAST SEEN"}
				for pg := rolesanywhere.NewListSubjectsPaginator(c.ra, &rolesanywhere.ListSubjectsInput{}); pg.HasMorePages(); {
					page, err := pg.NextPage(ctx)
					if err != nil {
						return fmt.Errorf("list subjects: %w", err)
					}
					for _, s := range page.Subjects {
						items = append(items, s)
						seen := ""
						if s.LastSeenAt != nil {
							seen = s.LastSeenAt.UTC().Format("2006-01-02T15:04:05Z")
						}
						rows = append(rows, []string{aws.ToString(s.X509Subject), aws.ToString(s.SubjectId), strconv.FormatBool(aws.ToBool(s.Enabled)), seen})
					}
				}
			case "roles":
				header = []string{"NAME", "ARN", "MAX SESSION"}
				for pg := awsiam.NewListRolesPaginator(c.iam, &awsiam.ListRolesInput{}); pg.HasMorePages(); {
					page, err := pg.NextPage(ctx)
					if err != nil {
						return fmt.Errorf("list roles: %w", err)
					}
					for _, r := range page.Roles {
						items = append(items, r)
						rows = append(rows, []string{aws.ToString(r.RoleName), aws.ToString(r.Arn), strconv.Itoa(int(aws.ToInt32(r.MaxSessionDuration)))})
					}
				}
			case "policies":
				header = []string{"NAME", "ARN", "VERSION", "ATTACHMENTS"}
				for pg := awsiam.NewListPoliciesPaginator(c.iam, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}); pg.HasMorePages(); {
					page, err := pg.NextPage(ctx)
					if err != nil {
						return fmt.Errorf("list policies: %w", err)
					}
					for _, p := range page.Policies {
						items = append(items, p)
						rows = append(rows, []string{aws.ToString(p.PolicyName), aws.ToString(p.Arn), aws.ToString(p.DefaultVersionId), strconv.Itoa(int(aws.ToInt32(p.AttachmentCount)))})
					}
				}
			default:
				return fmt.Errorf("unknown resource %q: want anchors, profiles, roles, policies or subjects", args[0])
			}
			if asJSON {
				if items == nil {
					items = []any{}
				}
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(header, "\t"))
			for _, r := range rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cp.register(cmd)
	return cmd
}
