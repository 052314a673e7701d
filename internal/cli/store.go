package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/postgres"
	"github.com/roam-project/roam/internal/store/sqlite"
)

func newStoreCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Manage roam's database (copy between SQLite and PostgreSQL)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newStoreCopyCommand(env))
	return cmd
}

func newStoreCopyCommand(env *Env) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "copy --from STORE --to STORE",
		Short: "Copy every record from one store into another, empty one",
		Long: `Copy every record of one store into another: settings, trust anchors, CRLs,
profiles, roles, managed policies with all their versions, users, access keys,
the credential keyring, tags and subjects, keeping ids and timestamps, so that
credentials issued before the move stay valid after it.

A store is sqlite:PATH (a SQLite file, created if missing) or a PostgreSQL URL,
postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=… (migrated if needed).
The destination must hold no configuration yet; the configuration is copied in
one transaction, then the subjects in batches. Stop the servers using the source
first: changes made during the copy may be missed.

  roam store copy --from sqlite:/var/lib/roam/roam.db --to postgres://roam@db/roam
  roam store copy --from postgres://roam@db/roam --to sqlite:backup.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return errors.New("--from and --to are required")
			}
			if from == to {
				return errors.New("--from and --to name the same store")
			}
			ctx := cmd.Context()
			src, err := openStoreSpec(ctx, from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer src.Close()
			dst, err := openStoreSpec(ctx, to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			defer dst.Close()
			st, err := store.Copy(ctx, dst, src)
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("%s already holds configuration; copy into an empty store (%w)", redactSpec(to), err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "copied %s to %s:\n", redactSpec(from), redactSpec(to))
			for _, row := range []struct {
				what string
				n    int
			}{
				{"settings", st.Settings}, {"trust anchors", st.TrustAnchors}, {"CRLs", st.CRLs},
				{"profiles", st.Profiles}, {"roles", st.Roles}, {"managed policies", st.Policies},
				{"users", st.Users}, {"access keys", st.AccessKeys}, {"keyring keys", st.Keys},
				{"subjects", st.Subjects},
			} {
				fmt.Fprintf(env.Stdout, "  %-17s %d\n", row.what, row.n)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source store: sqlite:PATH or postgres://… (required)")
	f.StringVar(&to, "to", "", "destination store, empty: sqlite:PATH or postgres://… (required)")
	return cmd
}

// isPostgresURL reports whether spec is a PostgreSQL URL.
func isPostgresURL(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// openStoreSpec opens the store spec names: sqlite:PATH, or a postgres:// or
// postgresql:// URL.
func openStoreSpec(ctx context.Context, spec string) (store.Store, error) {
	switch {
	case isPostgresURL(spec):
		return postgres.Open(ctx, spec)
	case strings.HasPrefix(spec, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(spec, "sqlite:"))
	}
	return nil, fmt.Errorf("%s: want sqlite:PATH or a postgres:// URL", redactSpec(spec))
}

// redactSpec returns spec fit for messages: without a PostgreSQL password.
func redactSpec(spec string) string {
	if strings.HasPrefix(spec, "sqlite:") {
		return spec
	}
	return postgres.Redact(spec)
}
