package helper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roam-project/roam/credentials"
)

// Keys written to a shared credentials file section, in order.
var credentialKeys = []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_expiration"}

// SetProfile returns content (a shared credentials file) with section
// [profile] holding creds. Every other line is kept byte for byte: other
// sections, comments, other keys of the section and the last line of the
// file (which the official helper drops). Existing credential keys are
// replaced in place (a repeated key is removed); missing ones are added
// after the section's last non-blank line; a missing section is appended.
func SetProfile(content []byte, profile string, creds credentials.Credentials) []byte {
	values := map[string]string{
		"aws_access_key_id":     creds.AccessKeyID,
		"aws_secret_access_key": creds.SecretAccessKey,
		"aws_session_token":     creds.SessionToken,
		"aws_expiration":        creds.Expiration.UTC().Format(time.RFC3339),
	}
	text := string(content)
	lines := strings.Split(text, "\n") // a final "\n" yields a last empty element
	header := "[" + profile + "]"
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == header {
			start = i
			break
		}
	}
	if start < 0 {
		var b strings.Builder
		b.WriteString(text)
		if text != "" && !strings.HasSuffix(text, "\n") {
			b.WriteString("\n")
		}
		if strings.TrimSpace(text) != "" && !strings.HasSuffix(text, "\n\n") {
			b.WriteString("\n")
		}
		b.WriteString(header + "\n")
		for _, k := range credentialKeys {
			b.WriteString(k + " = " + values[k] + "\n")
		}
		return []byte(b.String())
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "[") {
			end = i
			break
		}
	}
	out := make([]string, 0, len(lines)+len(credentialKeys))
	out = append(out, lines[:start+1]...)
	seen := map[string]bool{}
	lastContent := len(out) - 1 // index in out after which missing keys go
	for _, l := range lines[start+1 : end] {
		if k, ok := lineKey(l); ok {
			if _, ours := values[k]; ours {
				if seen[k] {
					continue
				}
				seen[k] = true
				l = k + " = " + values[k]
			}
		}
		out = append(out, l)
		if strings.TrimSpace(l) != "" {
			lastContent = len(out) - 1
		}
	}
	var missing []string
	for _, k := range credentialKeys {
		if !seen[k] {
			missing = append(missing, k+" = "+values[k])
		}
	}
	if len(missing) > 0 {
		tail := append([]string(nil), out[lastContent+1:]...)
		out = append(append(out[:lastContent+1], missing...), tail...)
	}
	out = append(out, lines[end:]...)
	// A section that was the last in a file without a final newline now
	// needs one before the keys we added; Join takes care of it, and we end
	// the file with a newline if we appended at its very end.
	res := strings.Join(out, "\n")
	if end == len(lines) && len(missing) > 0 && !strings.HasSuffix(res, "\n") {
		res += "\n"
	}
	return []byte(res)
}

// lineKey returns the key of a "key = value" line.
func lineKey(l string) (string, bool) {
	t := strings.TrimSpace(l)
	if t == "" || t[0] == '#' || t[0] == ';' {
		return "", false
	}
	i := strings.IndexByte(t, '=')
	if i <= 0 {
		return "", false
	}
	return strings.TrimSpace(t[:i]), true
}

// CredentialsFilePath returns $AWS_SHARED_CREDENTIALS_FILE, else
// ~/.aws/credentials. getenv nil means os.Getenv.
func CredentialsFilePath(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv("AWS_SHARED_CREDENTIALS_FILE"); p != "" {
		return p, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("credentials file: %w", err)
		}
	}
	return filepath.Join(home, ".aws", "credentials"), nil
}

// WriteCredentialsFile sets [profile] in the shared credentials file at
// path, under an exclusive lock on path+".lock" and atomically (temporary
// file + rename). A missing directory is created 0700; the file is written
// 0600.
func WriteCredentialsFile(path, profile string, creds credentials.Credentials) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials file directory: %w", err)
	}
	lock, err := LockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	content, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read credentials file: %w", err)
	}
	return WriteFileAtomic(path, SetProfile(content, profile, creds), 0o600)
}

// Updater keeps a profile of the shared credentials file fresh.
type Updater struct {
	Fetch   FetchFunc
	Path    string // the credentials file
	Profile string
	Logger  *slog.Logger
	Now     func() time.Time
	// MaxWait bounds the backoff between failed attempts (default 1 min).
	MaxWait time.Duration
	// OnceAttempts bounds the attempts of a --once run (default 4).
	OnceAttempts int
}

// Run fetches credentials and writes them; with once it returns after the
// first write, otherwise it refreshes at RefreshAt until ctx ends. A failed
// CreateSession is retried with exponential backoff instead of exiting (the
// official helper exits); a --once run gives up after OnceAttempts.
func (u *Updater) Run(ctx context.Context, once bool) error {
	log := u.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := u.Now
	if now == nil {
		now = time.Now
	}
	maxWait := u.MaxWait
	if maxWait == 0 {
		maxWait = time.Minute
	}
	attempts := u.OnceAttempts
	if attempts == 0 {
		attempts = 4
	}
	failures := 0
	for {
		creds, err := u.Fetch(ctx)
		if err == nil {
			if err = WriteCredentialsFile(u.Path, u.Profile, creds); err == nil {
				failures = 0
				log.Info("updated credentials file", "path", u.Path, "profile", u.Profile, "access_key_id", creds.AccessKeyID, "expiration", creds.Expiration)
				if once {
					return nil
				}
				if err := sleep(ctx, time.Until(RefreshAt(now(), creds.Expiration))); err != nil {
					return nil
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failures++
		if once && failures >= attempts {
			return err
		}
		wait := credentials.Backoff(failures, time.Second, maxWait)
		log.Warn("updating credentials failed; retrying", "error", err, "failures", failures, "retry_in", wait.Round(time.Millisecond))
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
