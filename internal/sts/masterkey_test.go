package sts

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestMasterKeyCreatedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != MasterKeySize {
		t.Fatalf("key length %d", len(k1))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("reload returned a different key")
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(ents))
	}
}

func TestMasterKeyConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreateMasterKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(keys[0], keys[i]) {
			t.Fatal("concurrent creators got different keys")
		}
	}
}

func TestMasterKeyRefused(t *testing.T) {
	secret := bytes.Repeat([]byte("S"), MasterKeySize)
	tests := []struct {
		name    string
		content []byte
		mode    fs.FileMode
		want    string
	}{
		{"group and other readable", secret, 0o644, "permissions 0644"},
		{"group readable", secret, 0o640, "permissions 0640"},
		{"short", secret[:31], 0o600, "length 31 bytes"},
		{"long", append(secret, 'S'), 0o600, "length 33 bytes"},
		{"empty", nil, 0o600, "length 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, tt.content, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask
				t.Fatal(err)
			}
			k, err := LoadOrCreateMasterKey(path)
			if err == nil {
				t.Fatalf("accepted, key %d bytes", len(k))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SSSS") {
				t.Fatalf("error leaks key material: %q", err)
			}
			// The file is left alone.
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tt.content) {
				t.Fatal("refused file was modified")
			}
		})
	}
}

func TestMasterKeyNotRegular(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateMasterKey(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v", err)
	}
}

func TestSealKeyMaterial(t *testing.T) {
	master := newMaster(t)
	material := bytes.Repeat([]byte{7}, MasterKeySize)
	sealed, err := sealKeyMaterial(master, "abcdefgh", material, randReader{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := unsealKeyMaterial(master, "abcdefgh", sealed)
	if err != nil || !bytes.Equal(got, material) {
		t.Fatalf("unseal: %v", err)
	}
	if _, err := unsealKeyMaterial(master, "abcdefgi", sealed); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("other id: %v", err)
	}
	if _, err := unsealKeyMaterial(newMaster(t), "abcdefgh", sealed); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("other master: %v", err)
	}
	if _, err := unsealKeyMaterial(master, "abcdefgh", sealed[:len(sealed)-1]); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("truncated: %v", err)
	}
}
