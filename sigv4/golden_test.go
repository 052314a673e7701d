package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readCapture reads the request captured in protocol.md §2.5 as a server
// would receive it.
func readCapture(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "createsession-ec.http"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) != 60 {
		t.Fatalf("body is %d bytes, want 60", len(body))
	}
	return r, body
}

func TestGoldenCreateSession(t *testing.T) {
	r, body := readCapture(t)
	wantCR, err := os.ReadFile(filepath.Join("testdata", "createsession-ec.canonical"))
	if err != nil {
		t.Fatal(err)
	}
	wantSTS, err := os.ReadFile(filepath.Join("testdata", "createsession-ec.sts"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, chain, err := ParseCertificateHeaders(r.Header)
	if err != nil {
		t.Fatal(err)
	}
	if chain != nil || leaf.SerialNumber.Int64() != 4660 {
		t.Fatalf("leaf serial %v, chain %d", leaf.SerialNumber, len(chain))
	}
	a, err := ParseX509Authorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Algorithm != X509ECDSASHA256 || a.Credential.ID != "4660" || len(a.Signature) != 70 {
		t.Fatalf("parsed %+v", a)
	}
	cr, sts, err := CanonicalX509(r, body, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cr != string(wantCR) {
		t.Errorf("canonical request differs:\n got %q\nwant %q", cr, wantCR)
	}
	if sts != string(wantSTS) {
		t.Errorf("string to sign differs:\n got %q\nwant %q", sts, wantSTS)
	}
	if HashPayload([]byte(cr)) != "08f3db474a1368e16ff635a2daf71dc12c3682306fa04fce6922e3cfc5ecd2cb" {
		t.Errorf("canonical request hash differs from protocol.md")
	}

	signedAt := time.Date(2026, 11, 30, 15, 20, 7, 0, time.UTC)
	tests := []struct {
		name string
		now  time.Time
		opts *X509Options
		want error
	}{
		{"replay without time check", time.Now(), &X509Options{SkipTimeCheck: true}, nil},
		{"in window", signedAt.Add(4 * time.Minute), nil, nil},
		{"region pinned", signedAt, &X509Options{Region: "us-east-1"}, nil},
		{"other region", signedAt, &X509Options{Region: "eu-west-1"}, ErrScope},
		{"stale", signedAt.Add(6 * time.Minute), nil, ErrTimeSkew},
		{"wider window", signedAt.Add(6 * time.Minute), &X509Options{MaxSkew: 15 * time.Minute}, nil},
		{"future", signedAt.Add(-6 * time.Minute), nil, ErrTimeSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyX509(r, body, leaf, tt.now, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyX509 = %v, want %v", err, tt.want)
			}
		})
	}
}
