package helper

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/credentials"
)

var testCreds = credentials.Credentials{AccessKeyID: "ASIANEW", SecretAccessKey: "newsecret", SessionToken: "newtoken", Expiration: time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)}

const newKeys = "aws_access_key_id = ASIANEW\naws_secret_access_key = newsecret\naws_session_token = newtoken\naws_expiration = 2026-11-30T16:00:00Z\n"

func TestSetProfile(t *testing.T) {
	tests := []struct {
		name, profile, in, want string
	}{
		{"empty file", "default", "", "[default]\n" + newKeys},
		{"append section", "roam", "[default]\nregion = x\n", "[default]\nregion = x\n\n[roam]\n" + newKeys},
		{"append no final newline", "roam", "[default]\nregion = x", "[default]\nregion = x\n\n[roam]\n" + newKeys},
		// The official helper drops "output = json" here.
		{"last section keeps its last line", "roam",
			"[default]\nregion = x\n\n[roam]\naws_access_key_id = OLD\noutput = json",
			"[default]\nregion = x\n\n[roam]\naws_access_key_id = ASIANEW\noutput = json\naws_secret_access_key = newsecret\naws_session_token = newtoken\naws_expiration = 2026-11-30T16:00:00Z\n"},
		{"replace in place, keep others", "roam",
			"# top comment\n[roam]\n# keep me\naws_access_key_id=OLD\nregion = eu\naws_secret_access_key = OLD\naws_session_token = OLD\naws_expiration = 2020-01-01T00:00:00Z\n\n[other]\naws_access_key_id = KEEP\n",
			"# top comment\n[roam]\n# keep me\naws_access_key_id = ASIANEW\nregion = eu\naws_secret_access_key = newsecret\naws_session_token = newtoken\naws_expiration = 2026-11-30T16:00:00Z\n\n[other]\naws_access_key_id = KEEP\n"},
		{"missing keys go before blank lines", "roam",
			"[roam]\nregion = eu\n\n\n[other]\nx = 1\n",
			"[roam]\nregion = eu\n" + newKeys + "\n\n[other]\nx = 1\n"},
		{"duplicate keys collapse", "roam", "[roam]\naws_session_token = A\naws_session_token = B\n",
			"[roam]\naws_session_token = newtoken\naws_access_key_id = ASIANEW\naws_secret_access_key = newsecret\naws_expiration = 2026-11-30T16:00:00Z\n"},
		{"commented header is not the section", "roam", "# [roam]\n", "# [roam]\n\n[roam]\n" + newKeys},
		{"crlf other lines kept", "roam", "[a]\r\nx = 1\r\n", "[a]\r\nx = 1\r\n\n[roam]\n" + newKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(SetProfile([]byte(tc.in), tc.profile, testCreds))
			if got != tc.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, tc.want)
			}
			// Idempotent: a second write changes nothing.
			if again := string(SetProfile([]byte(got), tc.profile, testCreds)); again != got {
				t.Fatalf("second write changed the file:\n%q", again)
			}
		})
	}
}

func TestWriteCredentialsFileMissingDir(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".aws", "credentials")
	if err := WriteCredentialsFile(path, "default", testCreds); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode(), want)
		}
	}
	b, _ := os.ReadFile(path)
	if string(b) != "[default]\n"+newKeys {
		t.Fatalf("content %q", b)
	}
	// An existing 0644 file becomes 0600 (it holds secrets).
	os.Chmod(path, 0o644)
	if err := WriteCredentialsFile(path, "default", testCreds); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode() != 0o600 {
		t.Fatalf("mode %v after rewrite", fi.Mode())
	}
}

// TestWriteCredentialsFileConcurrent: concurrent writers of different
// profiles never lose each other's sections (lock + atomic rename).
func TestWriteCredentialsFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(path, []byte("[keep]\noutput = json"), 0o600)
	var wg sync.WaitGroup
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- WriteCredentialsFile(path, fmt.Sprintf("p%d", i), testCreds)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	s := string(b)
	if !strings.HasPrefix(s, "[keep]\noutput = json\n") {
		t.Fatalf("first section damaged:\n%s", s)
	}
	for i := range n {
		if strings.Count(s, fmt.Sprintf("[p%d]\n", i)) != 1 {
			t.Fatalf("profile p%d missing or duplicated:\n%s", i, s)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".credentials.tmp*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}
