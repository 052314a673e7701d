package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/roam-project/roam/sigv4"
)

// loadBackendCredentials reads the gateway's static backend keys. A file
// holds either two lines (access key id, secret) or
// aws_access_key_id = … / aws_secret_access_key = … lines; it must not be
// readable by group or others. Errors never contain the secret.
func loadBackendCredentials(c *BackendCredentials, getenv func(string) string) (sigv4.Credentials, error) {
	var creds sigv4.Credentials
	if c.File != "" {
		st, err := os.Stat(c.File)
		if err != nil {
			return creds, fmt.Errorf("backend credentials: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return creds, fmt.Errorf("backend credentials %s: mode %v, must not be accessible by group or others", c.File, st.Mode().Perm())
		}
		data, err := os.ReadFile(c.File)
		if err != nil {
			return creds, fmt.Errorf("backend credentials: %w", err)
		}
		var plain []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
				continue
			}
			if k, v, ok := strings.Cut(line, "="); ok {
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "aws_access_key_id":
					creds.AccessKeyID = strings.TrimSpace(v)
				case "aws_secret_access_key":
					creds.SecretAccessKey = strings.TrimSpace(v)
				case "aws_session_token":
					creds.SessionToken = strings.TrimSpace(v)
				}
				continue
			}
			plain = append(plain, line)
		}
		if creds.AccessKeyID == "" && len(plain) >= 2 {
			creds.AccessKeyID, creds.SecretAccessKey = plain[0], plain[1]
		}
	} else {
		creds.AccessKeyID, creds.SecretAccessKey = getenv(c.AccessKeyIDEnv), getenv(c.SecretEnv)
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return creds, errors.New("backend credentials: access key id or secret is empty")
	}
	return creds, nil
}
