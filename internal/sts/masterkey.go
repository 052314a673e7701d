package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// MasterKeySize is the length in bytes of the master key and of every keyring
// key.
const MasterKeySize = 32

// ErrWrongMasterKey reports a keyring record that does not unseal under the
// master key in use: the master key file is not the one the keyring was made
// with, or the record is corrupt.
var ErrWrongMasterKey = errors.New("keyring record does not unseal with this master key (wrong master key file, or corrupt record)")

// LoadOrCreateMasterKey returns the 32-byte master key kept in the file at
// path, creating the file with fresh random bytes and mode 0600 if it does
// not exist. Creation is atomic: the key is written to a temporary file in the
// same directory and hard-linked into place, so a crash or a concurrent start
// never leaves a partial key behind, and two processes racing to create it
// end up with the same key.
//
// An existing file is refused if it is not a regular file, if group or others
// have any permission on it, or if it is not exactly 32 bytes long. Errors
// never contain key material.
func LoadOrCreateMasterKey(path string) ([]byte, error) {
	key, err := loadMasterKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createMasterKey(path); err != nil {
		return nil, err
	}
	return loadMasterKey(path)
}

func loadMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("master key %s: permissions %04o allow group or other access; refusing to use it (chmod 600 %s, and consider the key exposed)", path, perm, path)
	}
	if fi.Size() != MasterKeySize {
		return nil, fmt.Errorf("master key %s: length %d bytes, want exactly %d", path, fi.Size(), MasterKeySize)
	}
	key := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("master key %s: read: %w", path, err)
	}
	// The file may have grown between Stat and ReadFull.
	var one [1]byte
	if n, _ := f.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("master key %s: longer than %d bytes", path, MasterKeySize)
	}
	return key, nil
}

func createMasterKey(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("master key: create directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".roam-master-key-*")
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		tmp.Close()
		os.Remove(tmpName)
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	key := make([]byte, MasterKeySize)
	rand.Read(key)
	if _, err := tmp.Write(key); err != nil {
		return fmt.Errorf("master key: write: %w", err)
	}
	clear(key)
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("master key: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	// link(2) fails if path exists: whoever links first wins, and the loser
	// loads the winner's key.
	if err := os.Link(tmpName, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("master key: install %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// keyringAAD is the associated data binding a sealed keyring key to its id.
func keyringAAD(id string) []byte {
	return append([]byte("roam keyring v1\x00"), id...)
}

const sealedKeyVersion = 1

// sealKeyMaterial encrypts a keyring key under the master key with
// AES-256-GCM; the key id is associated data, so a record cannot be moved to
// another id. Layout: version || nonce || ciphertext.
func sealKeyMaterial(master []byte, id string, material []byte, rnd io.Reader) ([]byte, error) {
	aead, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(material)+aead.Overhead())
	out[0] = sealedKeyVersion
	if _, err := io.ReadFull(rnd, out[1:]); err != nil {
		return nil, fmt.Errorf("keyring: random nonce: %w", err)
	}
	return aead.Seal(out, out[1:], material, keyringAAD(id)), nil
}

// unsealKeyMaterial reverses sealKeyMaterial.
func unsealKeyMaterial(master []byte, id string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	ns := aead.NonceSize()
	if len(sealed) != 1+ns+MasterKeySize+aead.Overhead() || sealed[0] != sealedKeyVersion {
		return nil, fmt.Errorf("keyring key %q: malformed sealed record: %w", id, ErrWrongMasterKey)
	}
	material, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], keyringAAD(id))
	if err != nil {
		return nil, fmt.Errorf("keyring key %q: %w", id, ErrWrongMasterKey)
	}
	return material, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("key length %d, want %d", len(key), MasterKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
