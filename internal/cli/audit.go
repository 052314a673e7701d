package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/postgres"
	"github.com/roam-project/roam/internal/store/sqlite"
)

func newAuditCommand(env *Env) *cobra.Command {
	var db, since, until, principal, outcome, action string
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--since 1h] [--principal P] [--outcome denied] [--json]",
		Short: "Show audit events: CreateSession outcomes, control-plane changes, gateway decisions",
		Long: `Show the audit events in a roam store (--db: a SQLite file or a postgres://
URL; default $ROAM_DB or ./roam.db), oldest first.

Every CreateSession (allowed, or denied with its error code and reason), every
control-plane change (IAM and Roles Anywhere, with the record before and after
it; never a secret) and every gateway decision is an event. --since and
--until take a duration before now (1h, 30m, 7d) or an RFC 3339 time.
--outcome is allowed, denied or error. --json prints one JSON object per
line, as the server's --audit-file sink writes them.`,
		Example: `  roam audit --since 1h --outcome denied
  roam audit --principal arn:aws:iam::000000000000:user/admin --json
  roam audit --db postgres://roam@db/roam --action rolesanywhere:CreateSession --since 2026-11-30T00:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			q := store.AuditQuery{Principal: principal, Action: action, Outcome: outcome}
			var err error
			if q.Since, err = parseWhen(since, now); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if q.Until, err = parseWhen(until, now); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			switch outcome {
			case "", store.OutcomeAllowed, store.OutcomeDenied, store.OutcomeError:
			default:
				return fmt.Errorf("--outcome %q: want allowed, denied or error", outcome)
			}
			if db == "" {
				db = firstEnv(env, "ROAM_DB", "roam.db")
			}
			var st store.Store
			if isPostgresURL(db) {
				st, err = postgres.Open(cmd.Context(), db)
			} else {
				// A query must not create an empty database by mistake.
				if _, serr := os.Stat(db); serr != nil {
					return fmt.Errorf("open %s: %w", db, serr)
				}
				st, err = sqlite.Open(cmd.Context(), db)
			}
			if err != nil {
				return fmt.Errorf("open %s: %w", redactSpec(db), err)
			}
			defer st.Close()

			var tw *tabwriter.Writer
			if !asJSON {
				tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tOUTCOME\tACTION\tPRINCIPAL\tRESOURCE\tSOURCE IP\tERROR\tREASON")
			}
			shown := 0
			for {
				page, next, err := st.ListAudit(cmd.Context(), q)
				if err != nil {
					return err
				}
				for i := range page {
					if limit > 0 && shown == limit {
						break
					}
					e := &page[i]
					shown++
					if asJSON {
						b, err := audit.MarshalLine(e)
						if err != nil {
							return err
						}
						fmt.Fprintf(env.Stdout, "%s\n", b)
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339Nano), e.Outcome, e.Action,
						dash(e.Principal), dash(e.Resource), dash(e.SourceIP), dash(e.ErrorCode), dash(oneLine(e.Reason)))
				}
				if next == "" || (limit > 0 && shown == limit) {
					break
				}
				q.NextToken = next
			}
			if tw != nil {
				return tw.Flush()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "SQLite database file or postgres:// URL (default $ROAM_DB or ./roam.db)")
	f.StringVar(&since, "since", "", "only events at or after this time: a duration before now (1h, 7d) or RFC 3339")
	f.StringVar(&until, "until", "", "only events before this time: a duration before now or RFC 3339")
	f.StringVar(&principal, "principal", "", "only events of this principal (an ARN, or a certificate subject)")
	f.StringVar(&outcome, "outcome", "", "only events with this outcome: allowed, denied or error")
	f.StringVar(&action, "action", "", "only events of this action, e.g. rolesanywhere:CreateSession, iam:CreateRole")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	f.IntVar(&limit, "limit", 0, "print at most this many events (0: all)")
	return cmd
}

// parseWhen parses a --since/--until value: "" (none), a duration before
// now (with a d suffix for days), or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := parseAgo(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q: want a duration such as 1h, 30m or 7d, or an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

func parseAgo(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
