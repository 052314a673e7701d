package e2e

import (
	"strings"
	"testing"
)

// init adds the SoftHSM2 and swtpm keys to TestHelperModes' key sources, so
// every helper mode (credential_process, serve's IMDSv2 and container
// endpoints, update) also runs with PKCS#11 and TPM keys.
func init() {
	for _, name := range []string{"softhsm-rsa", "softhsm-ec", "swtpm-ec", "swtpm-rsa"} {
		extraKeySources = append(extraKeySources, keySource{name: name, args: func(t *testing.T, f *fixture) []string {
			for _, k := range hardwareKeys(t, f) {
				if k.name != name {
					continue
				}
				// The helper processes (and the AWS CLI that runs
				// credential_process) inherit the test's environment.
				for _, kv := range k.env {
					key, val, _ := strings.Cut(kv, "=")
					t.Setenv(key, val)
				}
				return k.flags
			}
			t.Skipf("%s is not available on this machine", name)
			return nil
		}})
	}
}
