package cadir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LockFile is the advisory lock file in a CA directory. Every operation
// that changes the directory (Init, Record, Revoke, publishing a CRL
// number) holds an exclusive lock on it, so concurrent `roam ca` commands,
// in one process or several, take turns instead of losing each other's
// index entries or handing out a CRL number twice. Readers do not lock:
// every file is replaced atomically.
const LockFile = "lock"

// dirLock is a held exclusive lock on a CA directory.
type dirLock struct{ f *os.File }

// lockDir takes the exclusive lock of the CA directory at path (creating
// the lock file, mode 0600, if needed), waiting while another process or
// another Dir holds it. ctx ends the wait.
func lockDir(ctx context.Context, path string) (*dirLock, error) {
	name := filepath.Join(path, LockFile)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock CA directory: %w", err)
	}
	wait := time.Millisecond
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock CA directory: %s: %w", name, err)
		}
		if ok {
			return &dirLock{f}, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for the lock on CA directory %s: %w", path, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// unlock releases the lock. Closing the file would release it too, as
// does the end of the process, however it ends.
func (l *dirLock) unlock() {
	unlockFile(l.f)
	l.f.Close()
}

// lock takes the directory lock for one mutation of d and returns its
// release. d's own mutations are serialized in the process by d.mu, which
// the caller must hold; if d already holds the directory lock (between
// PeekCRLNumber and CommitCRLNumber) that lock is used.
func (d *Dir) lock(ctx context.Context) (release func(), err error) {
	if d.crlLock != nil {
		return func() {}, nil
	}
	l, err := lockDir(ctx, d.Path)
	if err != nil {
		return nil, err
	}
	return l.unlock, nil
}
