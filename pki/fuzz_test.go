package pki

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseSAN checks that ParseSAN never panics, that a failed parse adds
// nothing, and that an accepted name survives a round trip through Strings.
func FuzzParseSAN(f *testing.F) {
	for _, s := range []string{"dns:example.com", "ip:10.0.0.1", "ip:::1", "email:a@b.c", "uri:spiffe://td/x", "dns:", "x:y", ":", "uri:%", "email:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		var s SANs
		if err := s.ParseSAN(spec); err != nil {
			if !s.Empty() {
				t.Fatalf("failed parse of %q added %v", spec, s.Strings())
			}
			return
		}
		out := s.Strings()
		if len(out) != 1 {
			t.Fatalf("ParseSAN(%q) gave %d names", spec, len(out))
		}
		var again SANs
		if err := again.ParseSAN(out[0]); err != nil {
			t.Fatalf("ParseSAN(%q) ok, but its rendering %q fails: %v", spec, out[0], err)
		}
		if again.Strings()[0] != out[0] {
			t.Fatalf("round trip %q -> %q -> %q", spec, out[0], again.Strings()[0])
		}
	})
}

// FuzzParseSerial checks that accepted serials are positive, at most 20
// octets, and round-trip through FormatSerialHex.
func FuzzParseSerial(f *testing.F) {
	for _, s := range []string{"1", "0x1f", "01:ff", "ab", "0", "-1", "::", "0x", "99999999999999999999999999999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSerial(s)
		if err != nil {
			return
		}
		if n.Sign() <= 0 || len(n.Bytes()) > 20 {
			t.Fatalf("ParseSerial(%q) = %v", s, n)
		}
		m, err := ParseSerial("0x" + n.Text(16))
		if err != nil || m.Cmp(n) != 0 {
			t.Fatalf("0x round trip of %q: %v, %v", s, m, err)
		}
		// The colon form reads back as hex whenever it is unambiguous: it
		// has a colon or a hex letter. (A single octet of decimal digits
		// such as "14" reads as decimal; ParseSerial documents that.)
		if h := FormatSerialHex(n); strings.ContainsAny(h, ":abcdef") {
			if m, err := ParseSerial(h); err != nil || m.Cmp(n) != 0 {
				t.Fatalf("colon round trip of %q via %q: %v, %v", s, h, m, err)
			}
		}
		if d, err := ParseSerial(n.String()); err != nil || d.Cmp(n) != 0 {
			t.Fatalf("decimal round trip of %v: %v, %v", n, d, err)
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the inspect kind detector/decoder:
// it must not panic, and a success must carry the objects its Kind names.
func FuzzDecode(f *testing.F) {
	// Seeds in testdata/fuzz/FuzzDecode hold a certificate, CSR, CRL and
	// PKCS#12 file in PEM and DER.
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Decode(data)
		if errors.Is(err, ErrNeedsPassword) {
			if obj == nil || obj.Kind != KindPKCS12 {
				t.Fatalf("ErrNeedsPassword with %+v", obj)
			}
			_, _ = DecodePKCS12(data, "")
			return
		}
		if err != nil {
			return
		}
		switch obj.Kind {
		case KindCertificate:
			if len(obj.Certificates) == 0 {
				t.Fatal("certificate kind without certificates")
			}
			_ = CheckLeaf(obj.Certificates[0], obj.Certificates[0].NotBefore)
		case KindCSR:
			if obj.CSR == nil {
				t.Fatal("CSR kind without CSR")
			}
			_, _ = ParseCSR(obj.CSR.Raw)
		case KindCRL:
			if obj.CRL == nil {
				t.Fatal("CRL kind without CRL")
			}
		default:
			t.Fatalf("unexpected kind %q", obj.Kind)
		}
	})
}

// FuzzParseDuration checks that accepted durations are positive.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1h", "30d", "10y", "0d", "-1y", "1.5h", "y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil && d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
