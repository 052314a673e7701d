package store

import "time"

// KeyRecord is one key of the server's credential keyring as the store keeps
// it. The key material is sealed by internal/sts under the server's master key
// before it reaches the store; the store never sees it in the clear.
type KeyRecord struct {
	ID        string    // short, unique, embedded in every session token the key seals
	Sealed    []byte    // key material encrypted under the master key
	CreatedAt time.Time // when the key was made
	// ActiveUntil is when the key stops sealing new tokens; after it the key only
	// verifies. RetireAt is when it may be deleted (ActiveUntil + longest token
	// lifetime).
	ActiveUntil time.Time
	RetireAt    time.Time
}
