package pki

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseSAN(t *testing.T) {
	tests := []struct {
		spec    string
		want    string // SANs.Strings()[0]; "" means error
		wantErr string
	}{
		{spec: "dns:Host.Example.com", want: "dns:host.example.com"},
		{spec: "DNS:*.example.com", want: "dns:*.example.com"},
		{spec: "ip:10.0.0.1", want: "ip:10.0.0.1"},
		{spec: "ip:2001:db8::1", want: "ip:2001:db8::1"},
		{spec: "email:ops@example.com", want: "email:ops@example.com"},
		{spec: "uri:spiffe://example.org/ns/prod/sa/api", want: "uri:spiffe://example.org/ns/prod/sa/api"},
		{spec: "uri:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", want: "uri:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"},
		{spec: "dns:", wantErr: "empty dns value"},
		{spec: "dns:bad host", wantErr: "not a valid DNS name"},
		{spec: "dns:-a.example.com", wantErr: "not a valid DNS name"},
		{spec: "dns:a..b", wantErr: "not a valid DNS name"},
		{spec: "ip:notanip", wantErr: "not an IP address"},
		{spec: "ip:", wantErr: "empty ip value"},
		{spec: "uri:%zz", wantErr: "not a URI"},
		{spec: "uri:no-scheme", wantErr: "needs a scheme"},
		{spec: "uri:https://user:pw@example.com/", wantErr: "user information"},
		{spec: "email:no-at-sign", wantErr: "want local@domain"},
		{spec: "email:@example.com", wantErr: "want local@domain"},
		{spec: "email:Ops <ops@example.com>", wantErr: "not a plain email"},
		{spec: "upn:someone", wantErr: "unknown kind"},
		{spec: "example.com", wantErr: "want kind:value"},
		{spec: "dns:" + strings.Repeat("a", 3000), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.spec[:min(len(tt.spec), 40)], func(t *testing.T) {
			var s SANs
			err := s.ParseSAN(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSAN(%q) error = %v, want one containing %q", tt.spec, err, tt.wantErr)
				}
				if !s.Empty() {
					t.Fatalf("failed ParseSAN added a name: %v", s.Strings())
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSAN(%q): %v", tt.spec, err)
			}
			if got := s.Strings(); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("ParseSAN(%q) = %v, want [%s]", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseSerial(t *testing.T) {
	tests := []struct {
		in      string
		want    string // decimal; "" = error
		wantErr string
	}{
		{in: "1234", want: "1234"},
		{in: "0x4d2", want: "1234"},
		{in: "0X4D2", want: "1234"},
		{in: "04:d2", want: "1234"},
		{in: "04:D2", want: "1234"},
		{in: "4d2", want: "1234"},
		{in: " 42 ", want: "42"},
		{in: "70:53:72:0b:c9:da:bb:00:0c:38:b3:21:02:10:74:01", want: "149306809295844488291909760741276677121"},
		{in: "", wantErr: "empty"},
		{in: "0", wantErr: "positive"},
		{in: "0x", wantErr: "no digits"},
		{in: "-5", wantErr: "not a base-10 digit"},
		{in: "12g", wantErr: "not a base-10 digit"},
		{in: "1fg", wantErr: "not a base-16 digit"},
		{in: "04::d2", wantErr: "1-2 hex digits"},
		{in: "123:4", wantErr: "1-2 hex digits"},
		{in: "0x" + strings.Repeat("ff", 21), wantErr: "longer than 20 octets"},
		{in: strings.Repeat("1", 65), wantErr: "too long"},
		{in: strings.Repeat("ff:", 20) + "ff", wantErr: "longer than 20 octets"},
		{in: "0x01" + strings.Repeat("00", 20), wantErr: "longer than 20 octets"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := ParseSerial(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSerial(%q) = %v, %v; want error containing %q", tt.in, n, err, tt.wantErr)
				}
				return
			}
			if err != nil || n.String() != tt.want {
				t.Fatalf("ParseSerial(%q) = %v, %v; want %s", tt.in, n, err, tt.want)
			}
		})
	}
}

func TestFormatSerialHexRoundTrip(t *testing.T) {
	for _, v := range []int64{1, 255, 256, 1234, 1 << 40} {
		n := big.NewInt(v)
		got, err := ParseSerial(FormatSerialHex(n))
		if err != nil || got.Cmp(n) != 0 {
			t.Errorf("ParseSerial(FormatSerialHex(%d)) = %v, %v", v, got, err)
		}
	}
}

func TestRandomSerial(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		n, err := RandomSerial(nil)
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 {
			t.Fatalf("serial %v not positive", n)
		}
		if n.BitLen() > 127 {
			t.Fatalf("serial %v has %d bits; top bit must be clear", n, n.BitLen())
		}
		if seen[n.String()] {
			t.Fatalf("duplicate serial %v", n)
		}
		seen[n.String()] = true
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"24h", 24 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"30d", 30 * Day, false},
		{"10y", 10 * Year, false},
		{"1h30m", 90 * time.Minute, false},
		{"0s", 0, true},
		{"-1h", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"-3d", 0, true},
		{"201y", 0, true},
		{"99999999999d", 0, true},
		{"tomorrow", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseKeyTypeAndReason(t *testing.T) {
	for _, kt := range KeyTypes {
		if got, err := ParseKeyType(strings.ToUpper(string(kt))); err != nil || got != kt {
			t.Errorf("ParseKeyType(%s) = %v, %v", kt, got, err)
		}
	}
	if _, err := ParseKeyType("ed25519"); err == nil || !strings.Contains(err.Error(), "ec-p256") {
		t.Errorf("ParseKeyType(ed25519) error = %v, want list of types", err)
	}
	for r, name := range reasonNames {
		if got, err := ParseRevocationReason(name); err != nil || got != r {
			t.Errorf("ParseRevocationReason(%s) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseRevocationReason("because"); err == nil {
		t.Error("ParseRevocationReason(because) succeeded")
	}
}
