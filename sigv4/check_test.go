package sigv4

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// checkBasicTime fails t unless parseBasicTime(s) agrees with
// time.Parse(TimeFormat, s) restricted to strings of TimeFormat's length.
func checkBasicTime(t *testing.T, s string) {
	t.Helper()
	want, err := time.Parse(TimeFormat, s)
	wantOK := err == nil && len(s) == len(TimeFormat)
	got, ok := parseBasicTime(s)
	if ok != wantOK || ok && (!got.Equal(want) || got.Location() != want.Location() || got != want) {
		t.Fatalf("parseBasicTime(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
	}
}

func TestParseBasicTime(t *testing.T) {
	for _, s := range []string{
		"20261130T152007Z", "00000101T000000Z", "99991231T235959Z",
		"20240229T120000Z", "20230229T120000Z", "21000229T000000Z", "20000229T000000Z",
		"20260431T000000Z", "20260430T000000Z", "20261301T000000Z", "20260001T000000Z",
		"20260100T000000Z", "20260132T000000Z", "20261130T240000Z", "20261130T236000Z",
		"20261130T235960Z", "20261130t152007Z", "20261130T152007z", "20261130T152007+",
		"2026113 T152007Z", "2026-113T152007Z", "+0261130T152007Z", "20261130T 52007Z",
		"20261130T1520070Z", "20261130T15200Z", "20261130T152007.5Z", "", "20261130",
		"２0261130T152007Z", "20261130T1\x0020007Z",
	} {
		checkBasicTime(t, s)
	}
	if _, err := parseAmzDate("20261130T15200Z"); err == nil || !strings.Contains(err.Error(), "ISO-8601 'basic format'") {
		t.Fatalf("parseAmzDate error = %v", err)
	}
}

func FuzzParseBasicTime(f *testing.F) {
	f.Add("20261130T152007Z")
	f.Add("20240229T235959Z")
	f.Add("20261130T240000Z")
	f.Fuzz(func(t *testing.T, s string) { checkBasicTime(t, s) })
}

func TestDecodeSignature(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("ab", 32), strings.Repeat("AB", 32), strings.Repeat("0f", 32),
		strings.Repeat("ab", 31) + "aG", strings.Repeat("ab", 31) + "a", strings.Repeat("ab", 33),
		"", "00", "0", "zz", strings.Repeat(" 1", 32),
	} {
		var buf [32]byte
		got, ok := decodeSignature(s, &buf)
		if len(s) == 64 && ok {
			if got != nil {
				t.Errorf("decodeSignature(%q) did not use the buffer", s)
			}
			got = buf[:]
		}
		want, err := hex.DecodeString(s)
		wantOK := err == nil && len(want) > 0
		if ok != wantOK || ok && string(got) != string(want) {
			t.Errorf("decodeSignature(%q) = %x, %v; hex.DecodeString: %x, %v", s, got, ok, want, err)
		}
		if got2, ok2 := decodeSignature(s, nil); ok2 != ok || string(got2) != string(got) {
			t.Errorf("decodeSignature(%q, nil) = %x, %v; with a buffer: %x, %v", s, got2, ok2, got, ok)
		}
	}
}

func TestAppendScope(t *testing.T) {
	for _, sc := range []Scope{NewScope("20261130", "us-east-1", "sts"), {Date: "20261130", Region: "r", Service: "s"}, {}} {
		if got := string(appendScope([]byte("x"), sc)); got != "x"+sc.String() {
			t.Errorf("appendScope(%+v) = %q, want %q", sc, got, "x"+sc.String())
		}
	}
}

// TestHMACVerifyAllocs guards the verification hot path: with a warm key
// cache, parsing and verifying a header-signed request allocates only the
// Parsed it returns.
func TestHMACVerifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r := httptest.NewRequest("POST", "https://sts.example.com/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	now := time.Now()
	creds := Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: strings.Repeat("T", 600)}
	if err := SignHMAC(r, HashPayload(body), creds, "sts", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	o := &HMACOptions{Service: "sts", Region: "us-east-1", Keys: NewKeyCache(4)}
	secret := []byte(testSecret)
	verify := func() {
		p, err := ParseRequest(r, now, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(secret, body); err != nil {
			t.Fatal(err)
		}
	}
	verify()
	if n := testing.AllocsPerRun(100, verify); n > 1 {
		t.Fatalf("warm ParseRequest+Verify: %v allocations, want at most 1", n)
	}
}

func TestKnownKey(t *testing.T) {
	for _, name := range []string{"content-type", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
		"amz-sdk-invocation-id", "amz-sdk-request", "x-amz-user-agent", "content-md5"} {
		var kb [64]byte
		if got, want := knownKey(name), string(canonicalKey(kb[:0], name)); got != want {
			t.Errorf("knownKey(%q) = %q, canonicalKey %q", name, got, want)
		}
	}
	if k := knownKey("x-amz-meta-a"); k != "" {
		t.Errorf("knownKey of an unlisted name = %q", k)
	}
}

func TestHeaderNameByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := !('A' <= c && c <= 'Z' || c <= ' ' || c >= 0x7f || c == ':')
		if got := headerNameByte(byte(c)); got != want {
			t.Errorf("headerNameByte(%#x) = %v, want %v", c, got, want)
		}
	}
}

func TestScanSignedHeaders(t *testing.T) {
	for _, tt := range []struct {
		s     string
		flags signedFlags
		ok    bool
	}{
		{"host", signsHost, true},
		{"content-type;host;x-amz-date;x-amz-security-token", signsHost | signsToken | signsDate, true},
		{"a;b;c", 0, true},
		{"", 0, false}, {";", 0, false}, {"a;", 0, false}, {";a", 0, false}, {"a;;b", 0, false},
		{"b;a", 0, false}, {"ab;aa", 0, false}, {"a;a", 0, false}, {"host;Host", 0, false},
		{"ho st", 0, false}, {"a:b", 0, false}, {"a\x7f", 0, false}, {"\xc3\xa9", 0, false},
		{"aa;ab", 0, true}, {"a;aa", 0, true},
	} {
		flags, ok := scanSignedHeaders(tt.s)
		if ok != tt.ok || ok && flags != tt.flags {
			t.Errorf("scanSignedHeaders(%q) = %b, %v; want %b, %v", tt.s, flags, ok, tt.flags, tt.ok)
		}
	}
}

func TestHasPrefixFold(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{{"X-Amz-Date", true}, {"x-amz-", true}, {"X-AMZ-META", true}, {"X-Amz", false}, {"Y-Amz-Date", false}, {"X_Amz-Date", false}} {
		if got := hasPrefixFold(tt.s, "x-amz-"); got != tt.want {
			t.Errorf("hasPrefixFold(%q) = %v", tt.s, got)
		}
	}
}

func TestHeaderName(t *testing.T) {
	ref := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if !headerNameByte(s[i]) {
				return false
			}
		}
		return true
	}
	// Every byte value at every position of a word and of a tail.
	for pos := range 11 {
		for c := range 256 {
			b := []byte("abcdefghijk")
			b[pos] = byte(c)
			if s := string(b); headerName(s) != ref(s) {
				t.Fatalf("headerName(%q) = %v", s, !ref(s))
			}
		}
	}
	// Random words, mostly of allowed bytes.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		b := make([]byte, 1+rng.IntN(20))
		for i := range b {
			if rng.IntN(8) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte('a' + rng.IntN(26))
			}
		}
		if s := string(b); headerName(s) != ref(s) {
			t.Fatalf("headerName(%q) = %v", s, !ref(s))
		}
	}
}

func TestVerifyRequest(t *testing.T) {
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r := httptest.NewRequest("POST", "https://sts.example.com/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	now := time.Now()
	creds := Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: strings.Repeat("T", 300)}
	if err := SignHMAC(r, HashPayload(body), creds, "sts", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	o := &HMACOptions{Service: "sts", Keys: NewKeyCache(4)}
	key := []byte(testSecret)
	secret := func(id, token string) ([]byte, error) {
		if id != testKeyID || token != creds.SessionToken {
			t.Fatalf("secret(%q, %q)", id, token)
		}
		return key, nil
	}
	c, err := VerifyRequest(r, body, now, o, secret)
	if err != nil || c.ID != testKeyID || c.Scope != NewScope(now.UTC().Format(DateFormat), "us-east-1", "sts") {
		t.Fatalf("VerifyRequest = %+v, %v", c, err)
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(100, func() { VerifyRequest(r, body, now, o, secret) }); n != 0 {
			t.Errorf("warm VerifyRequest: %v allocations, want 0", n)
		}
	}
	errNope := errors.New("nope")
	if _, err := VerifyRequest(r, body, now, o, func(string, string) ([]byte, error) { return nil, errNope }); err != errNope {
		t.Errorf("secret's error: got %v", err)
	}
	var se *Error
	if _, err := VerifyRequest(r, body, now, o, func(string, string) ([]byte, error) { return []byte("wrong"), nil }); !errors.As(err, &se) || se.Code != CodeSignatureDoesNotMatch {
		t.Errorf("wrong secret: got %v", err)
	}
	if _, err := VerifyRequest(r, body, now.Add(time.Hour), o, secret); !errors.As(err, &se) || !errors.Is(err, ErrTimeSkew) {
		t.Errorf("skewed: got %v", err)
	}
}
