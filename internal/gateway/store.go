package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/storeopen"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// storeSource is what sigv4 routes read from the roam server's store: the
// credential keyring (to open session tokens) and the roles and managed
// policies (to compile effective permissions). It polls the config version
// and reloads on change; it never writes to the store.
type storeSource struct {
	st     store.Store
	kr     *sts.Keyring
	tokens *sts.TokenCache
	keys   *sigv4.KeyCache
	log    *slog.Logger
	snap   atomic.Pointer[storeSnapshot]
}

// storeSnapshot is one configuration version's compiled permissions.
type storeSnapshot struct {
	version int64
	perms   *iam.Permissions
}

// readOnlyKeys lets sts.OpenKeyring run without writing: a key it would
// create (no key yet, or rotation due) lives only in this process's memory
// and is never used, since the gateway only validates tokens.
type readOnlyKeys struct{ st store.Store }

func (k readOnlyKeys) ListKeys(ctx context.Context) ([]store.KeyRecord, error) {
	return k.st.ListKeys(ctx)
}
func (readOnlyKeys) PutKey(context.Context, store.KeyRecord) error { return nil }
func (readOnlyKeys) DeleteKey(context.Context, string) error       { return nil }

// checkStoreDB fails unless cfg.DB names an existing SQLite file or a
// PostgreSQL URL: the gateway never creates the server's database.
func checkStoreDB(cfg *StoreConfig) error {
	if storeopen.IsPostgres(cfg.DB) {
		return nil
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// openStore opens the roam server's store the way the server does: the
// SQLite file cfg.DB, or the PostgreSQL database a postgres:// or
// postgresql:// URL names (so a gateway can follow a replicated server).
// Call checkStoreDB first.
func openStore(ctx context.Context, cfg *StoreConfig) (store.Store, error) {
	return storeopen.Open(ctx, cfg.DB)
}

func openStoreSource(ctx context.Context, cfg *StoreConfig, log *slog.Logger) (*storeSource, error) {
	// The master key must exist: the gateway never creates one.
	if _, err := os.Stat(cfg.MasterKeyFile); err != nil {
		return nil, fmt.Errorf("store: master key: %w", err)
	}
	if err := checkStoreDB(cfg); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	master, err := sts.LoadOrCreateMasterKey(cfg.MasterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &storeSource{st: st, log: log, keys: sigv4.NewKeyCache(4096)}
	s.kr, err = sts.OpenKeyring(ctx, readOnlyKeys{st}, master, sts.Options{Revocation: sts.RevocationFunc(s.cutoff)})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store: keyring: %w", err)
	}
	s.tokens = sts.NewTokenCache(s.kr, 0)
	if err := s.refresh(ctx, true); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// cutoff is the keyring's revocation source: a role's SessionsRevokedBefore.
func (s *storeSource) cutoff(roleARN string) (time.Time, bool) {
	snap := s.snap.Load()
	if snap == nil {
		return time.Time{}, false
	}
	r, ok := snap.perms.Role(roleARN)
	if !ok || r.SessionsRevokedBefore.IsZero() {
		return time.Time{}, false
	}
	return r.SessionsRevokedBefore, true
}

func (s *storeSource) current() *storeSnapshot { return s.snap.Load() }

// refresh reloads configuration and keys if the config version changed.
func (s *storeSource) refresh(ctx context.Context, force bool) error {
	v, err := s.st.ConfigVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: config version: %w", err)
	}
	if cur := s.snap.Load(); cur != nil && cur.version == v && !force {
		return nil
	}
	cfg, err := s.st.LoadConfig(ctx)
	if err != nil {
		return fmt.Errorf("store: load config: %w", err)
	}
	if err := s.kr.Refresh(ctx); err != nil {
		return fmt.Errorf("store: keyring: %w", err)
	}
	s.snap.Store(&storeSnapshot{version: cfg.Version, perms: iam.NewPermissions(cfg)})
	s.log.Info("gateway loaded roam configuration", "version", cfg.Version, "roles", len(cfg.Roles), "keys", len(s.kr.Keys()))
	return nil
}

func (s *storeSource) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.refresh(ctx, false); err != nil && !errors.Is(err, context.Canceled) {
			if err.Error() != last {
				s.log.Error("store refresh failed; keeping the previous configuration", "err", err)
			}
			last = err.Error()
		} else {
			last = ""
		}
	}
}

func (s *storeSource) close() {
	if s.st != nil {
		s.st.Close()
	}
}
