package tpm

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
)

// encodeobjectPEM is a key file written by tpm2_encodeobject 5.4 with -p
// (emptyAuth encoded as BOOLEAN 0x01, which DER forbids).
func encodeobjectPEM(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/encodeobject-ecc.tss.pem")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sampleKeyFile() *KeyFile {
	return &KeyFile{
		EmptyAuth: true, Description: "test key", Parent: 0x81000001,
		Public: []byte{0x00, 0x23, 0x00, 0x0b, 1, 2, 3}, Private: []byte{9, 8, 7, 6},
	}
}

func TestParseKeyFileFromTool(t *testing.T) {
	k, err := ParseKeyFile(encodeobjectPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	if !k.EmptyAuth || k.Parent != HandleOwner || k.RSAParent || k.Description != "" {
		t.Errorf("got emptyAuth %v parent %#x rsaParent %v description %q; want true, 0x40000001, false, empty",
			k.EmptyAuth, k.Parent, k.RSAParent, k.Description)
	}
	if len(k.Public) < 80 || len(k.Private) < 80 {
		t.Errorf("public %d bytes, private %d bytes: too short for an ECC key", len(k.Public), len(k.Private))
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	for _, k := range []*KeyFile{
		sampleKeyFile(),
		{Parent: HandleOwner, Public: []byte{1}, Private: []byte{2}},
		{RSAParent: true, Parent: HandleEndorsement, Public: bytes.Repeat([]byte{1}, 300), Private: []byte{2}},
	} {
		data, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseKeyFile(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, k) {
			t.Errorf("round trip: %+v, want %+v", got, k)
		}
	}
}

// mutate returns the DER of sampleKeyFile with old replaced by new.
func mutate(t *testing.T, old, new []byte) []byte {
	t.Helper()
	der, err := sampleKeyFile().MarshalDER()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(der, old) {
		t.Fatalf("%x not in %x", old, der)
	}
	return bytes.Replace(der, old, new, 1)
}

// withPolicy inserts field after emptyAuth in the short-form SEQUENCE der.
func withPolicy(t *testing.T, der, field []byte) []byte {
	t.Helper()
	i := bytes.Index(der, []byte{0xa0, 0x03, 0x01, 0x01, 0xff})
	if der[1] >= 0x80 || i < 0 || len(der)+len(field) > 0x7f+2 {
		t.Fatal("sample key file is not short-form with emptyAuth")
	}
	body := append(append(bytes.Clone(der[2:i+5]), field...), der[i+5:]...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func TestParseKeyDER(t *testing.T) {
	good, _ := sampleKeyFile().MarshalDER()
	// emptyAuth TRUE as 0x01 (non-DER) is accepted as TRUE.
	k, err := ParseKeyDER(mutate(t, []byte{0xa0, 0x03, 0x01, 0x01, 0xff}, []byte{0xa0, 0x03, 0x01, 0x01, 0x01}))
	if err != nil || !k.EmptyAuth {
		t.Fatalf("BOOLEAN 0x01: %v, emptyAuth %v", err, k != nil && k.EmptyAuth)
	}
	policy := []byte{0xa1, 0x02, 0x30, 0x00}
	tests := []struct {
		name string
		der  []byte
		is   error
		want string
	}{
		{"trailing data", append(bytes.Clone(good), 0), ErrMalformedKeyFile, "trailing"},
		{"not a sequence", []byte{0x04, 0x00}, ErrMalformedKeyFile, "SEQUENCE"},
		{"empty", nil, ErrMalformedKeyFile, "SEQUENCE"},
		{"importable key", mutate(t, []byte{0x0a, 0x01, 0x03}, []byte{0x0a, 0x01, 0x04}), ErrUnsupportedKeyFile, "importable"},
		{"sealed data", mutate(t, []byte{0x0a, 0x01, 0x03}, []byte{0x0a, 0x01, 0x05}), ErrUnsupportedKeyFile, "sealed"},
		{"policy", withPolicy(t, good, policy), ErrUnsupportedKeyFile, "policy"},
		{"bad parent", mutate(t, []byte{0x02, 0x05, 0x00, 0x81, 0x00, 0x00, 0x01}, []byte{0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x01}), ErrMalformedKeyFile, "parent"},
		{"negative parent", mutate(t, []byte{0x02, 0x05, 0x00, 0x81, 0x00, 0x00, 0x01}, []byte{0x02, 0x05, 0xff, 0x81, 0x00, 0x00, 0x01}), ErrMalformedKeyFile, "parent"},
		{"TPM2B size mismatch", mutate(t, []byte{0x04, 0x06, 0x00, 0x04, 9, 8}, []byte{0x04, 0x06, 0x00, 0x05, 9, 8}), ErrMalformedKeyFile, "privkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyDER(tt.der)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.is, tt.want)
			}
		})
	}
	for _, bad := range [][]byte{
		[]byte("not pem"),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: good}),
	} {
		if _, err := ParseKeyFile(bad); !errors.Is(err, ErrMalformedKeyFile) {
			t.Errorf("ParseKeyFile(%.20q) = %v", bad, err)
		}
	}
}

// FuzzParseKeyDER: the parser never panics, and what it accepts marshals
// back to a key file that parses to the same value.
func FuzzParseKeyDER(f *testing.F) {
	good, _ := sampleKeyFile().MarshalDER()
	f.Add(good)
	if b, _ := pem.Decode(encodeobjectPEM(f)); b != nil {
		f.Add(b.Bytes)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := ParseKeyDER(der)
		if err != nil {
			if !errors.Is(err, ErrMalformedKeyFile) && !errors.Is(err, ErrUnsupportedKeyFile) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		again, err := k.MarshalDER()
		if err != nil {
			t.Fatalf("parsed key does not marshal: %v", err)
		}
		back, err := ParseKeyDER(again)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(back, k) {
			t.Fatalf("round trip: %+v != %+v", back, k)
		}
	})
}

// TestStreamTPM: a response that arrives in pieces reaches go-tpm's single
// Read whole.
func TestStreamTPM(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	resp := make([]byte, 300)
	binary.BigEndian.PutUint16(resp, 0x8001)
	binary.BigEndian.PutUint32(resp[2:], uint32(len(resp)))
	for i := 10; i < len(resp); i++ {
		resp[i] = byte(i)
	}
	go func() {
		defer server.Close()
		cmd := make([]byte, 12)
		io.ReadFull(server, cmd)
		for i := 0; i < len(resp); i += 7 {
			server.Write(resp[i:min(i+7, len(resp))])
		}
	}()
	s := &streamTPM{conn: client}
	if _, err := s.Write(make([]byte, 12)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := s.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], resp) {
		t.Fatalf("Read = %d bytes, %v; want the %d-byte response", n, err, len(resp))
	}
}

func TestParseSwtpmTCTI(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "localhost:2321",
		"host=127.0.0.1,port=2400": "127.0.0.1:2400",
		"port=9":                   "localhost:9",
		"host=::1":                 "[::1]:2321",
		"port=0":                   "error",
		"port=x":                   "error",
		"path=/tmp/sock":           "error",
		"host":                     "error",
	} {
		got, err := parseSwtpmTCTI(in)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("parseSwtpmTCTI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHandle(t *testing.T) {
	for in, ok := range map[string]bool{"0x81000001": true, "81000002": true, "0X81000003": true, "0x40000001": false, "zz": false, "0x1810000001": false} {
		_, err := parseHandle(in)
		if (err == nil) != ok {
			t.Errorf("parseHandle(%q): %v", in, err)
		}
	}
}
