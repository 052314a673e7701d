package sts

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// memKeyStore is an in-memory KeyStore.
type memKeyStore struct {
	mu      sync.Mutex
	recs    map[string]store.KeyRecord
	listErr error
	putErr  error
}

func newMemKeyStore() *memKeyStore { return &memKeyStore{recs: map[string]store.KeyRecord{}} }

func (m *memKeyStore) ListKeys(ctx context.Context) ([]store.KeyRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listErr != nil {
		return nil, m.listErr
	}
	out := make([]store.KeyRecord, 0, len(m.recs))
	for _, r := range m.recs {
		r.Sealed = slices.Clone(r.Sealed)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *memKeyStore) PutKey(ctx context.Context, rec store.KeyRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.putErr != nil {
		return m.putErr
	}
	rec.Sealed = slices.Clone(rec.Sealed)
	m.recs[rec.ID] = rec
	return nil
}

func (m *memKeyStore) DeleteKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, id)
	return nil
}

func (m *memKeyStore) ids() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.recs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func newMaster(t testing.TB) []byte {
	t.Helper()
	m := make([]byte, MasterKeySize)
	rand.Read(m)
	return m
}

// newTestKeyring opens a keyring over a fresh in-memory store with a fake
// clock starting at t0.
func newTestKeyring(t testing.TB, opts Options) (*Keyring, *memKeyStore, *fakeClock, []byte) {
	t.Helper()
	ks := newMemKeyStore()
	clk := &fakeClock{t: t0}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	master := newMaster(t)
	kr, err := OpenKeyring(context.Background(), ks, master, opts)
	if err != nil {
		t.Fatalf("OpenKeyring: %v", err)
	}
	return kr, ks, clk, master
}

func testSpec(issued time.Time) SessionSpec {
	return SessionSpec{
		RoleARN:        "arn:aws:iam::000000000000:role/team/ci/deploy",
		RoleID:         "AROAEXAMPLEROLEID0001",
		SessionName:    "61d5692c1982239b82255b38e6ced2aa34712ff0",
		SourceIdentity: "CN=runner-01.example.com",
		Tags: []Tag{
			{Key: "x509Subject/CN", Value: "runner-01.example.com", Transitive: true},
			{Key: "x509Subject/OU", Value: "Security/Engineering"},
			{Key: "x509Issuer/CN", Value: "roam root CA"},
		},
		SessionPolicy: `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
}`,
		PolicyARNs:     []string{"arn:aws:iam::000000000000:policy/ReadOnly"},
		IssuedAt:       issued,
		Expiration:     issued.Add(time.Hour),
		TrustAnchorARN: "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/8a7c3a61-8c4e-4e5e-9b0f-1f6f5d2f0a11",
		ProfileARN:     "arn:aws:rolesanywhere:us-east-1:000000000000:profile/4f6b7d2e-0a3b-4c5d-8e9f-0a1b2c3d4e5f",
		CertSerial:     new(big.Int).SetBytes([]byte{0x61, 0xd5, 0x69, 0x2c, 0x19, 0x82, 0x23, 0x9b, 0x82, 0x25, 0x5b, 0x38, 0x6e, 0xce, 0xd2, 0xaa, 0x34, 0x71, 0x2f, 0xf0}),
	}
}

func mustMint(t testing.TB, kr *Keyring, spec SessionSpec) Credentials {
	t.Helper()
	c, err := kr.Mint(spec)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return c
}

// randReader is crypto/rand as an io.Reader value.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return rand.Read(p) }

// notFoundOnMissing makes DeleteKey of an absent id fail like the SQLite store.
type notFoundOnMissing struct{ *memKeyStore }

func (m notFoundOnMissing) DeleteKey(ctx context.Context, id string) error {
	m.mu.Lock()
	_, ok := m.recs[id]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("delete key %s: %w", id, store.ErrNotFound)
	}
	return m.memKeyStore.DeleteKey(ctx, id)
}
