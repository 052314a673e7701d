package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/spf13/cobra"
)

func newSessionsCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "Manage issued sessions (revoke)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newSessionsRevokeCommand(env))
	return cmd
}

func newSessionsRevokeCommand(env *Env) *cobra.Command {
	var role, before, db string
	cmd := &cobra.Command{
		Use:   "revoke --role NAME [--before TIME]",
		Short: "Revoke a role's sessions issued before a time (default: now)",
		Long: `Revoke the active sessions of a role, as AWS's "Revoke active sessions" does:
credentials for the role issued before --before (RFC 3339; default now) are
refused from then on by every roam server and gateway sharing the database
(each picks the cutoff up with its next configuration reload, within about a
second). Sessions issued later, including new ones, are not affected.

A cutoff never moves back: if the role already has a later one, it is kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				return errors.New("--role is required")
			}
			now := time.Now()
			cutoff := now
			if before != "" {
				t, err := time.Parse(time.RFC3339Nano, before)
				if err != nil {
					return fmt.Errorf("--before %q: want an RFC 3339 time such as 2026-11-30T15:04:05Z", before)
				}
				if t.After(now) {
					return fmt.Errorf("--before %s is in the future; it would refuse sessions not yet issued", before)
				}
				cutoff = t
			}
			if db == "" {
				db = firstEnv(env, "ROAM_DB", "roam.db")
			}
			st, err := sqlite.Open(cmd.Context(), db)
			if err != nil {
				return fmt.Errorf("open %s: %w", db, err)
			}
			defer st.Close()
			kept := false
			r, err := st.UpdateRole(cmd.Context(), role, func(r *store.Role) error {
				if r.SessionsRevokedBefore.After(cutoff) {
					kept = true
					return nil
				}
				r.SessionsRevokedBefore = cutoff.UTC()
				return nil
			})
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no role named %q", role)
			}
			if err != nil {
				return err
			}
			if kept {
				fmt.Fprintf(env.Stdout, "role %s: sessions issued before %s are already revoked (a later cutoff than %s)\n",
					r.Name, r.SessionsRevokedBefore.Format(time.RFC3339Nano), cutoff.UTC().Format(time.RFC3339Nano))
				return nil
			}
			fmt.Fprintf(env.Stdout, "role %s: sessions issued before %s are revoked\n", r.Name, r.SessionsRevokedBefore.Format(time.RFC3339Nano))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "role name (required)")
	f.StringVar(&before, "before", "", "revoke sessions issued before this RFC 3339 time (default now)")
	f.StringVar(&db, "db", "", "SQLite database file (default $ROAM_DB or ./roam.db)")
	return cmd
}
