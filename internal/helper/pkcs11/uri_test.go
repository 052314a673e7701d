package pkcs11

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		want    URI
		pin     string
		hasPIN  bool
		wantErr string
	}{
		{
			in:   "pkcs11:token=rolesanywhere;object=rsa-imp;type=cert",
			want: URI{Token: "rolesanywhere", Object: "rsa-imp", HasObject: true, Type: "cert"},
		},
		{
			// The official helper's documented form: PIN in the query.
			in:   "pkcs11:token=rolesanywhere;object=rsa-imp?pin-value=1234",
			want: URI{Token: "rolesanywhere", Object: "rsa-imp", HasObject: true},
			pin:  "1234", hasPIN: true,
		},
		{
			in:   "pkcs11:manufacturer=piv_II;id=%01%A0",
			want: URI{Manufacturer: "piv_II", ID: []byte{0x01, 0xa0}},
		},
		{
			in:   "pkcs11:object=Certificate%20for%20Digital%20Signature?pin-value=12%2634",
			want: URI{Object: "Certificate for Digital Signature", HasObject: true},
			pin:  "12&34", hasPIN: true,
		},
		{
			in: "pkcs11:slot-id=946500416;serial=abc;model=SoftHSM%20v2;slot-description=SoftHSM%20slot%20ID%200x1;slot-manufacturer=SoftHSM%20project;library-manufacturer=SoftHSM;library-description=Implementation%20of%20PKCS11",
			want: URI{SlotID: 946500416, HasSlotID: true, Serial: "abc", Model: "SoftHSM v2",
				SlotDescription: "SoftHSM slot ID 0x1", SlotManufacturer: "SoftHSM project",
				LibraryManufacturer: "SoftHSM", LibraryDescription: "Implementation of PKCS11"},
		},
		{
			in:   "pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
			want: URI{Token: "t", ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: "file:/run/pin"},
		},
		{
			// An empty label is a label; an empty path matches everything.
			in:   "pkcs11:object=",
			want: URI{HasObject: true},
		},
		{in: "pkcs11:", want: URI{}},
		{in: "pkcs11:x-vendor=1;token=t", want: URI{Token: "t"}},
		{in: "file:/etc/passwd", wantErr: "must start with"},
		{in: "PKCS11:token=t", wantErr: "must start with"},
		{in: "pkcs11:token", wantErr: "malformed path attribute"},
		{in: "pkcs11:token=a;token=b", wantErr: "malformed path attribute"},
		{in: "pkcs11:slot-id=x", wantErr: "slot-id"},
		{in: "pkcs11:slot-id=-1", wantErr: "slot-id"},
		{in: "pkcs11:type=bogus", wantErr: "Invalid type"},
		{in: "pkcs11:token=t?pin-value=1&pin-source=/x", wantErr: "mutually exclusive"},
		{in: "pkcs11:token=t?module-path=relative.so", wantErr: "must be absolute"},
		{in: "pkcs11:token=%zz", wantErr: "invalid percent-encoding"},
		{in: "pkcs11:token=t?pin-value", wantErr: "malformed query attribute"},
		{in: "pkcs11:token=" + strings.Repeat("a", maxURILength), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 60)], func(t *testing.T) {
			u, err := ParseURI(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrMalformedURI) {
					t.Fatalf("err = %v, want ErrMalformedURI with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pin, hasPIN := u.PIN()
			if pin != tt.pin || hasPIN != tt.hasPIN {
				t.Errorf("PIN() = %q, %v; want %q, %v", pin, hasPIN, tt.pin, tt.hasPIN)
			}
			got := *u
			got.pin, got.hasPIN = "", false
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseURI = %+v\nwant       %+v", got, tt.want)
			}
			// Formatting and parsing again gives the same URI.
			back, err := ParseURI(u.format(true))
			if err != nil {
				t.Fatalf("re-parse %q: %v", u.format(true), err)
			}
			if !reflect.DeepEqual(back, u) {
				t.Errorf("round trip through %q = %+v, want %+v", u.format(true), back, u)
			}
		})
	}
}

// TestURIRedaction: the PIN never appears in String or in parse errors.
func TestURIRedaction(t *testing.T) {
	const pin = "s3cr3t-PIN"
	u, err := ParseURI("pkcs11:token=t;object=k?pin-value=" + pin)
	if err != nil {
		t.Fatal(err)
	}
	if s := u.String(); strings.Contains(s, pin) || !strings.Contains(s, "pin-value=REDACTED") {
		t.Errorf("String() = %q: want the PIN redacted", s)
	}
	if s := u.WithPIN("other").String(); strings.Contains(s, "other") {
		t.Errorf("WithPIN(...).String() = %q: want the PIN redacted", s)
	}
	if p, _ := u.WithPIN("other").PIN(); p != "other" {
		t.Errorf("WithPIN: PIN() = %q", p)
	}
	for _, bad := range []string{
		"pkcs11:token=t?pin-value=" + pin + "%zz",
		"pkcs11:token=t?pin-value=%G" + pin,
		"pkcs11:token=t?pin-value=" + pin + "&pin-value=" + pin,
		"pkcs11:token=t?pin-value=" + pin + "&pin-source=/x",
		"pkcs11:token=t?pin-value=" + pin + "&module-path=rel",
	} {
		_, err := ParseURI(bad)
		if err == nil {
			t.Errorf("ParseURI(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), pin) || strings.Contains(err.Error(), pin[:4]) {
			t.Errorf("ParseURI error %q shows the PIN", err)
		}
	}
}

// FuzzParseURI: ParseURI never panics; what it accepts formats back to a
// URI that parses to the same value; its errors and String never show a
// pin-value.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=rolesanywhere;object=rsa-imp;type=cert",
		"pkcs11:token=rolesanywhere;object=rsa-imp?pin-value=1234",
		"pkcs11:manufacturer=piv_II;id=%01",
		"pkcs11:slot-id=1;serial=abc?module-path=/usr/lib/x.so&pin-source=file:/p",
		"pkcs11:object=a%20b;id=;type=private?pin-value=%zz",
		"pkcs11:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedURI) {
				t.Fatalf("error %v does not wrap ErrMalformedURI", err)
			}
			if _, q, ok := strings.Cut(s, "?"); ok {
				for _, part := range strings.Split(q, "&") {
					if v, ok := strings.CutPrefix(part, "pin-value="); ok && len(v) >= 6 && strings.Contains(err.Error(), v) {
						t.Fatalf("error %q shows pin-value %q", err, v)
					}
				}
			}
			return
		}
		if _, ok := u.PIN(); ok && u.String() != u.WithPIN("x").String() {
			t.Fatalf("String() %q depends on the PIN", u.String())
		}
		formatted := u.format(true)
		if len(formatted) > maxURILength {
			return // percent-encoding grew it past the input limit
		}
		back, err := ParseURI(formatted)
		if err != nil {
			t.Fatalf("ParseURI(%.200q) ok but its format %.200q fails: %v", s, formatted, err)
		}
		if !reflect.DeepEqual(back, u) {
			t.Fatalf("round trip of %.200q: %+v != %+v", s, back, u)
		}
	})
}
