package sts

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Long-term access key failures, answered like the session credential
// failures (InvalidClientTokenId / UnrecognizedClientException, 403).
var (
	// ErrUnknownAccessKey: an AKIA… access key id the store does not hold.
	ErrUnknownAccessKey = &TokenError{reason: "unknown long-term access key"}
	// ErrInactiveAccessKey: the access key exists but is Inactive.
	ErrInactiveAccessKey = &TokenError{reason: "long-term access key is inactive"}
)

// ErrSecretUnseal reports a sealed secret that does not open under the
// master key with its id: the wrong master key, or a corrupt or moved record.
var ErrSecretUnseal = errors.New("sealed secret does not unseal with this master key and id")

const sealedSecretVersion = 1

// secretAAD binds a sealed secret to its id (an access key id), so a record
// cannot be moved to another key.
func secretAAD(id string) []byte {
	return append([]byte("roam secret v1\x00"), id...)
}

// maxSecretLen bounds the secrets SealSecret accepts.
const maxSecretLen = 4096

// SealSecret encrypts secret (e.g. the secret access key of an admin user's
// long-term access key) under the master key with AES-256-GCM, bound to id
// (the access key id) as associated data. Layout: version || nonce ||
// ciphertext. Errors never contain the secret.
func SealSecret(master []byte, id string, secret []byte) ([]byte, error) {
	if len(secret) == 0 || len(secret) > maxSecretLen {
		return nil, fmt.Errorf("seal secret for %q: length %d out of range", id, len(secret))
	}
	aead, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(secret)+aead.Overhead())
	out[0] = sealedSecretVersion
	if _, err := io.ReadFull(rand.Reader, out[1:]); err != nil {
		return nil, fmt.Errorf("seal secret: random nonce: %w", err)
	}
	return aead.Seal(out, out[1:], secret, secretAAD(id)), nil
}

// OpenSecret reverses SealSecret. The caller should clear the returned slice
// when done with it and never log it.
func OpenSecret(master []byte, id string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	ns := aead.NonceSize()
	if len(sealed) < 1+ns+aead.Overhead() || sealed[0] != sealedSecretVersion {
		return nil, fmt.Errorf("secret of %q: malformed sealed record: %w", id, ErrSecretUnseal)
	}
	secret, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], secretAAD(id))
	if err != nil {
		return nil, fmt.Errorf("secret of %q: %w", id, ErrSecretUnseal)
	}
	return secret, nil
}
