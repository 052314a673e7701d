package cli_test

import (
	"os"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// caDecodePKCS12 checks that go-pkcs12 opens the file with the chain.
func caDecodePKCS12(t *testing.T, path, password string, chainLen int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		t.Fatalf("pkcs12.DecodeChain(%s): %v", path, err)
	}
	if key == nil || cert == nil || len(chain) != chainLen {
		t.Errorf("%s: key %T cert %v chain %d, want chain %d", path, key, cert != nil, len(chain), chainLen)
	}
}
