package helper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/roam-project/roam/credentials"
)

// CacheMinRemaining is how long cached credentials must still be valid to be
// reused; with less left, credential-process fetches new ones. The AWS CLI
// and botocore refresh credential_process credentials 15 and 10 minutes
// before expiry, so this is the floor, not what they see.
const CacheMinRemaining = 5 * time.Minute

// Cache reuses credential_process credentials across invocations: one file
// per session key in a directory (0700), written atomically (0600) under an
// flock, so that N concurrent invocations make one CreateSession.
type Cache struct {
	Dir string
	Now func() time.Time // nil means time.Now
}

// CacheKey identifies a session: everything that selects the credentials
// (ARNs, certificate, endpoint, region, duration, session name).
type CacheKey struct {
	TrustAnchorARN, ProfileARN, RoleARN string
	CertificateSHA256                   [32]byte
	Endpoint, Region, RoleSessionName   string
	DurationSeconds                     int
}

// Name returns the file name stem for k: hex SHA-256 of its fields.
func (k CacheKey) Name() string {
	h := sha256.New()
	for _, s := range []string{k.TrustAnchorARN, k.ProfileARN, k.RoleARN, hex.EncodeToString(k.CertificateSHA256[:]), k.Endpoint, k.Region, k.RoleSessionName, strconv.Itoa(k.DurationSeconds)} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Get returns cached credentials for k when at least CacheMinRemaining is
// left; otherwise it calls fetch and caches the result. hit reports whether
// the cache answered.
func (c *Cache) Get(ctx context.Context, k CacheKey, fetch FetchFunc) (creds credentials.Credentials, hit bool, err error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return creds, false, fmt.Errorf("cache directory: %w", err)
	}
	if fi, err := os.Stat(c.Dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// Never leave secrets in a directory others can read.
		if err := os.Chmod(c.Dir, 0o700); err != nil {
			return creds, false, fmt.Errorf("cache directory: %w", err)
		}
	}
	name := k.Name()
	path := filepath.Join(c.Dir, name+".json")
	if creds, ok := c.read(path, now()); ok {
		return creds, true, nil // fast path without the lock
	}
	lock, err := LockFile(filepath.Join(c.Dir, name+".lock"))
	if err != nil {
		return creds, false, err
	}
	defer lock.Unlock()
	if creds, ok := c.read(path, now()); ok {
		return creds, true, nil // another process just fetched
	}
	creds, err = fetch(ctx)
	if err != nil {
		return creds, false, err
	}
	if err := WriteFileAtomic(path, NewProcessOutput(creds).Marshal(), 0o600); err != nil {
		return creds, false, fmt.Errorf("cache: %w", err)
	}
	return creds, false, nil
}

func (c *Cache) read(path string, now time.Time) (credentials.Credentials, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return credentials.Credentials{}, false
	}
	var po ProcessOutput
	if json.Unmarshal(data, &po) != nil || po.AccessKeyID == "" || po.SecretAccessKey == "" || po.SessionToken == "" {
		return credentials.Credentials{}, false
	}
	creds, err := po.Credentials()
	if err != nil || creds.Expiration.Sub(now) < CacheMinRemaining {
		return credentials.Credentials{}, false
	}
	return creds, true
}

// Purge removes the cache entry for k, if any.
func (c *Cache) Purge(k CacheKey) error {
	err := os.Remove(filepath.Join(c.Dir, k.Name()+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
