package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"
)

// BenchmarkValidate measures Validate on a typical token against a bare
// AES-256-GCM Open of the same ciphertext size, the floor it cannot beat.
func BenchmarkValidate(b *testing.B) {
	kr, _, _, _ := newTestKeyring(b, Options{Revocation: RevocationFunc(func(string) (time.Time, bool) { return t0.Add(-time.Hour), true })})
	c := mustMint(b, kr, testSpec(t0))
	now := t0.Add(time.Minute)
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	b.Logf("token %d characters, %d bytes, ciphertext %d bytes", len(c.SessionToken), len(raw), len(raw)-headerLen-nonceLen)

	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Validate/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := kr.Validate(c.AccessKeyID, c.SessionToken, now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Expired", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			kr.Validate(c.AccessKeyID, c.SessionToken, t0.Add(2*time.Hour))
		}
	})
	b.Run("Base64+GCMOpen", func(b *testing.B) {
		key := make([]byte, 32)
		rand.Read(key)
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		nonce := make([]byte, nonceLen)
		aad := make([]byte, headerLen+accessKeyIDLen)
		pt := make([]byte, len(raw)-headerLen-nonceLen-gcmTagLen)
		tok := []byte(base64.StdEncoding.EncodeToString(append(make([]byte, headerLen+nonceLen), aead.Seal(nil, nonce, pt, aad)...)))
		buf := make([]byte, len(raw))
		dst := make([]byte, 0, len(pt))
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			n, err := base64.StdEncoding.Decode(buf, tok)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := aead.Open(dst, nonce, buf[headerLen+nonceLen:n], aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GCMOpen", func(b *testing.B) {
		key := make([]byte, 32)
		rand.Read(key)
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		nonce := make([]byte, nonceLen)
		aad := make([]byte, headerLen+accessKeyIDLen)
		pt := make([]byte, len(raw)-headerLen-nonceLen-gcmTagLen)
		ct := aead.Seal(nil, nonce, pt, aad)
		dst := make([]byte, 0, len(pt))
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := aead.Open(dst, nonce, ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMint(b *testing.B) {
	kr, _, _, _ := newTestKeyring(b, Options{})
	spec := testSpec(t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Mint(spec); err != nil {
			b.Fatal(err)
		}
	}
}
