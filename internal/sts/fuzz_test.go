package sts

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// deterministicKeyring is a keyring whose keys, ids and tokens are the same on
// every run, so committed seed tokens stay valid.
func deterministicKeyring(t testing.TB) *Keyring {
	t.Helper()
	master := bytes.Repeat([]byte{0x42}, MasterKeySize)
	rnd := rand.NewChaCha8([32]byte{'r', 'o', 'a', 'm'})
	kr, err := OpenKeyring(context.Background(), newMemKeyStore(), master, Options{
		Now:  func() time.Time { return t0 },
		Rand: rnd,
	})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// seedSessions are claims worth fuzzing from.
func seedSessions() map[string]*Session {
	full := testSpec(t0)
	minimal := SessionSpec{RoleARN: "arn:aws:iam::000000000000:role/r", RoleID: "AROA1", SessionName: "s1", IssuedAt: t0, Expiration: t0.Add(time.Hour)}
	chained := testSpec(t0)
	chained.Chained = true
	chained.CertSerial = big.NewInt(-291)
	chained.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::000000000000:policy/p"}
	out := map[string]*Session{}
	for name, spec := range map[string]SessionSpec{"full": full, "minimal": minimal, "chained": chained} {
		kr := &Keyring{opts: Options{}.withDefaults()}
		s, err := kr.sessionFromSpec(&spec)
		if err != nil {
			panic(err)
		}
		s.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		out[name] = s
	}
	return out
}

func FuzzDecodeClaims(f *testing.F) {
	for _, s := range seedSessions() {
		f.Add(appendClaims(nil, s))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ok := decodeClaims(string(data))
		if !ok {
			return
		}
		// Whatever decodes re-encodes to the same bytes: one encoding per
		// session, no ignored bits.
		if re := appendClaims(nil, &s); !bytes.Equal(re, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, re)
		}
		if len(s.Tags) > maxTags || len(s.PolicyARNs) > maxPolicyARNs || len(s.SecretAccessKey) != secretLen {
			t.Fatalf("limits not enforced: %+v", s)
		}
		_ = s.AssumedRoleARN()
		_ = s.ConditionValues(nil)
		_ = s.CertSerial()
	})
}

// seedToken mints the deterministic keyring's canonical valid token.
func seedToken(t testing.TB, kr *Keyring) Credentials {
	t.Helper()
	return mustMint(t, kr, testSpec(t0))
}

func FuzzValidate(f *testing.F) {
	kr := deterministicKeyring(f)
	good := seedToken(f, kr)
	f.Add(good.AccessKeyID, good.SessionToken)
	f.Add(good.AccessKeyID, "")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "AQ==")
	now := t0.Add(time.Minute)
	f.Fuzz(func(t *testing.T, akid, token string) {
		s, err := kr.Validate(akid, token, now)
		if err != nil {
			var te *TokenError
			if !errors.As(err, &te) || s != nil {
				t.Fatalf("bad failure: %v %v", s, err)
			}
			return
		}
		// Only the one minted token, spelled exactly so, validates.
		if akid != good.AccessKeyID || token != good.SessionToken {
			t.Fatalf("forged token validated: %q %q", akid, token)
		}
		if s.SecretAccessKey != good.SecretAccessKey {
			t.Fatal("secret differs")
		}
	})
}

// TestDeterministicSeedToken guards the committed FuzzValidate seed: the
// deterministic keyring must keep minting the same token.
func TestDeterministicSeedToken(t *testing.T) {
	a := seedToken(t, deterministicKeyring(t))
	b := seedToken(t, deterministicKeyring(t))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("deterministic keyring is not deterministic")
	}
}

// TestWriteFuzzSeeds regenerates the committed seed corpus under
// testdata/fuzz when ROAM_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ROAM_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set ROAM_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz")
	}
	write := func(target, name string, args ...any) {
		var buf bytes.Buffer
		buf.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&buf, "[]byte(%q)\n", v)
			case string:
				fmt.Fprintf(&buf, "string(%q)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range seedSessions() {
		enc := appendClaims(nil, s)
		write("FuzzDecodeClaims", "seed-"+name, enc)
		write("FuzzDecodeClaims", "seed-"+name+"-truncated", enc[:len(enc)/2])
	}
	write("FuzzDecodeClaims", "seed-overlong-varint", []byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02})

	kr := deterministicKeyring(t)
	good := seedToken(t, kr)
	if _, err := kr.Validate(good.AccessKeyID, good.SessionToken, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	write("FuzzValidate", "seed-valid", good.AccessKeyID, good.SessionToken)
	raw, _ := base64.StdEncoding.DecodeString(good.SessionToken)
	raw[len(raw)/2] ^= 0x10
	write("FuzzValidate", "seed-flipped", good.AccessKeyID, base64.StdEncoding.EncodeToString(raw))
	write("FuzzValidate", "seed-empty", good.AccessKeyID, "")
	write("FuzzValidate", "seed-header-only", good.AccessKeyID, base64.StdEncoding.EncodeToString(raw[:headerLen+nonceLen+gcmTagLen+60]))
	write("FuzzValidate", "seed-other-akid", "ASIAAAAAAAAAAAAAAAAA", good.SessionToken)
}
