package cadir

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roam-project/roam/pki"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o600, false); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite without force: %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "one" {
		t.Fatalf("content %q", got)
	}
	if err := WriteFile(p, []byte("three"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(p)
	if got, _ := os.ReadFile(p); string(got) != "three" || info.Mode().Perm() != 0o644 {
		t.Fatalf("content %q mode %v", got, info.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestDirLifecycle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ca")
	if _, err := Open(ctx, path); !errors.Is(err, ErrNotCA) {
		t.Fatalf("Open(missing) = %v", err)
	}
	pw := []byte("pw")
	res, err := Init(ctx, path, InitOptions{Name: "T", Intermediate: true, Password: pw, KDFIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(ctx, path, InitOptions{Name: "T"}); err == nil {
		t.Fatal("second Init without Force succeeded")
	}
	d, err := Open(ctx, path)
	if err != nil || !d.Config.HasIntermediate {
		t.Fatalf("Open: %v %+v", err, d)
	}
	if enc, err := d.IssuerKeyEncrypted(); err != nil || !enc {
		t.Fatalf("IssuerKeyEncrypted = %v, %v", enc, err)
	}
	iss, err := d.Issuer(ctx, pw)
	if err != nil || !iss.Cert.Equal(res.Intermediate) {
		t.Fatalf("Issuer: %v", err)
	}
	key, _ := pki.GenerateKey(pki.ECP256, nil)
	is, err := iss.Issue(pki.LeafRequest{Subject: pkixName("leaf"), PublicKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Record(ctx, is.Cert, pki.ProfileClient); err != nil {
		t.Fatal(err)
	}
	if err := d.Record(ctx, is.Cert, pki.ProfileClient); err == nil {
		t.Error("recorded the same serial twice")
	}
	if _, err := d.Revoke(ctx, big.NewInt(1), pki.ReasonSuperseded, time.Now()); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("revoke unknown: %v", err)
	}
	rec, err := d.Revoke(ctx, is.Cert.SerialNumber, pki.ReasonSuperseded, time.Now())
	if err != nil || rec.Status != StatusRevoked || rec.Reason != "superseded" {
		t.Fatalf("Revoke = %+v, %v", rec, err)
	}
	revoked, err := d.Revoked(ctx)
	if err != nil || len(revoked) != 1 || revoked[0].Serial.Cmp(is.Cert.SerialNumber) != 0 || revoked[0].Reason != pki.ReasonSuperseded {
		t.Fatalf("Revoked = %+v, %v", revoked, err)
	}
	for want := int64(1); want <= 3; want++ {
		n, err := d.PeekCRLNumber(ctx)
		if err != nil || n.Int64() != want {
			t.Fatalf("PeekCRLNumber = %v, %v; want %d", n, err, want)
		}
		if err := d.CommitCRLNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	recs, _ := d.Records(ctx)
	if len(recs) != 1 || recs[0].StatusAt(time.Now()) != StatusRevoked {
		t.Errorf("records %+v", recs)
	}
	if _, err := os.Stat(filepath.Join(path, CertsDir, pki.SerialKey(is.Cert.SerialNumber)+".pem")); err != nil {
		t.Errorf("certificate copy: %v", err)
	}
	// Force re-initialises without an intermediate and removes the old one.
	if _, err := Init(ctx, path, InitOptions{Name: "T2", Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, IntermediateKeyFile)); !os.IsNotExist(err) {
		t.Errorf("stale intermediate key: %v", err)
	}
}
