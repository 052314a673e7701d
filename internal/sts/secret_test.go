package sts

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealSecret(t *testing.T) {
	master := bytes.Repeat([]byte{7}, MasterKeySize)
	other := bytes.Repeat([]byte{8}, MasterKeySize)
	sealed, err := SealSecret(master, "AKIAEXAMPLE", []byte("s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cr3t")) {
		t.Fatal("sealed record holds the secret in the clear")
	}
	got, err := OpenSecret(master, "AKIAEXAMPLE", sealed)
	if err != nil || string(got) != "s3cr3t" {
		t.Fatalf("open: %q %v", got, err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name   string
		master []byte
		id     string
		sealed []byte
	}{
		{"other id", master, "AKIAOTHER", sealed},
		{"other master key", other, "AKIAEXAMPLE", sealed},
		{"tampered", master, "AKIAEXAMPLE", tampered},
		{"truncated", master, "AKIAEXAMPLE", sealed[:5]},
		{"keyring record version", master, "AKIAEXAMPLE", append([]byte{9}, sealed[1:]...)},
	} {
		if _, err := OpenSecret(tc.master, tc.id, tc.sealed); !errors.Is(err, ErrSecretUnseal) {
			t.Errorf("%s: %v, want ErrSecretUnseal", tc.name, err)
		}
	}
	if _, err := SealSecret(master, "x", nil); err == nil {
		t.Error("empty secret sealed")
	}
}
