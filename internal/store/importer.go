package store

import "context"

// Importer is implemented by stores that can take records verbatim, ids and
// timestamps included, as `roam store copy` needs to move a deployment from
// one backend to another. It is not part of Store: only Copy uses it.
type Importer interface {
	// NextPolicyVersions returns, by managed policy id, the number the policy's
	// next version id will get, so that a copy never reuses a deleted
	// version's id.
	NextPolicyVersions(ctx context.Context) (map[string]int64, error)
	// ImportConfig writes every record of cfg as it is (ids, timestamps, tags,
	// policy versions, access keys, keyring) in one transaction that bumps the
	// config version once; cfg.Version is ignored. nextVersions is what the
	// source's NextPolicyVersions returned; a policy missing from it gets one
	// more than its highest version. The store must hold no configuration
	// yet: otherwise ImportConfig fails with ErrConflict and writes nothing.
	ImportConfig(ctx context.Context, cfg *Config, nextVersions map[string]int64) error
	// ImportSubjects writes subjects as they are, replacing any subject with
	// the same X.509 subject, in one transaction. It does not bump the config
	// version.
	ImportSubjects(ctx context.Context, subjects []*Subject) error
}

// ConfigWatcher is implemented by stores that push config changes, such as
// PostgreSQL through LISTEN/NOTIFY, so that every replica reloads its
// snapshot at once rather than at its next poll.
type ConfigWatcher interface {
	// WatchConfig returns a channel that receives the new config version after
	// every config change committed by any client of the database (values may
	// be coalesced: only the latest matters), and the current version after
	// each reconnection, since changes may have been missed meanwhile. The
	// channel is closed when ctx ends. An error means the watch could not
	// start.
	WatchConfig(ctx context.Context) (<-chan int64, error)
}
