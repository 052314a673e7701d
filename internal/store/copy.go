package store

import (
	"context"
	"fmt"
)

// copyPageSize is how many subjects Copy moves per transaction.
const copyPageSize = 500

// CopyStats counts what Copy moved.
type CopyStats struct {
	TrustAnchors, CRLs, Profiles, Roles, Policies, Users, AccessKeys, Keys, Settings int
	Subjects                                                                         int
}

// Copy copies every record of src into dst, which must hold no configuration
// yet: the configuration in one transaction (ids, timestamps, tags, policy
// versions, access keys and keyring kept), then the subjects page by page.
// Both stores must implement Importer (src for its policy version counters).
// Nothing should write to src meanwhile: stop the servers first.
func Copy(ctx context.Context, dst, src Store) (CopyStats, error) {
	var st CopyStats
	in, ok := dst.(Importer)
	if !ok {
		return st, fmt.Errorf("copy: destination store %T cannot import", dst)
	}
	out, ok := src.(Importer)
	if !ok {
		return st, fmt.Errorf("copy: source store %T cannot export policy version counters", src)
	}
	cfg, err := src.LoadConfig(ctx)
	if err != nil {
		return st, fmt.Errorf("copy: read source: %w", err)
	}
	next, err := out.NextPolicyVersions(ctx)
	if err != nil {
		return st, fmt.Errorf("copy: read source: %w", err)
	}
	if err := in.ImportConfig(ctx, cfg, next); err != nil {
		return st, fmt.Errorf("copy: %w", err)
	}
	st = CopyStats{
		TrustAnchors: len(cfg.TrustAnchors), CRLs: len(cfg.CRLs), Profiles: len(cfg.Profiles),
		Roles: len(cfg.Roles), Policies: len(cfg.Policies), Users: len(cfg.Users),
		AccessKeys: len(cfg.AccessKeys), Keys: len(cfg.Keys), Settings: len(cfg.Settings),
	}
	for tok := ""; ; {
		page, nextTok, err := src.ListSubjects(ctx, ListOptions{MaxResults: copyPageSize, NextToken: tok})
		if err != nil {
			return st, fmt.Errorf("copy: read source subjects: %w", err)
		}
		if len(page) > 0 {
			if err := in.ImportSubjects(ctx, page); err != nil {
				return st, fmt.Errorf("copy: %w", err)
			}
			st.Subjects += len(page)
		}
		if nextTok == "" {
			return st, nil
		}
		tok = nextTok
	}
}
