package policy

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// globRegexp is the reference semantics of a StringLike pattern.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func randString(r *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	for range r.IntN(n + 1) {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// TestGlobAgainstRegexp compares the matcher with regexp on random
// patterns and inputs.
func TestGlobAgainstRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		pat := randString(r, "ab*?:", 8)
		s := randString(r, "ab:", 10)
		p := compilePattern(parseTemplate(pat, true, false, false), false)
		if got, want := p.match(s, nil), globRegexp(pat).MatchString(s); got != want {
			t.Fatalf("pattern %q on %q: got %v, want %v", pat, s, got, want)
		}
	}
}

// TestARNPatternAgainstRegexp checks that wildcards stay inside the first
// five components and that the resource component is one glob.
func TestARNPatternAgainstRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var pp, sp [6]string
		for i := range pp {
			pp[i] = randString(r, "ab*?", 3)
			sp[i] = randString(r, "ab", 3)
		}
		pp[0], sp[0], pp[2] = "arn", "arn", "s3"
		if r.IntN(2) == 0 {
			sp[2] = "s3"
		}
		if r.IntN(3) == 0 {
			sp[5] += ":" + randString(r, "ab", 2)
		}
		pat, val := strings.Join(pp[:], ":"), strings.Join(sp[:], ":")
		want := true
		for i := 0; i < 5; i++ {
			want = want && globRegexp(pp[i]).MatchString(sp[i])
		}
		want = want && globRegexp(pp[5]).MatchString(sp[5])
		ap := compileARN(pat, false)
		if got := ap.match(val, nil); got != want {
			t.Fatalf("ARN pattern %q on %q: got %v, want %v", pat, val, got, want)
		}
	}
}

func TestParseDateForms(t *testing.T) {
	for _, s := range []string{"2026", "2026-11", "2026-11-30", "2026-11-30T10:00Z", "2026-11-30T10:00:00Z",
		"2026-11-30T10:00:00.123Z", "2026-11-30T10:00:00+01:00", "2026-11-30T10:00:00", "1700000000", "-1"} {
		if _, err := parseDate(s); err != nil {
			t.Errorf("parseDate(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "tomorrow", "2026-11-30 10:00", "2026-13-01", "20261130T1000Z"} {
		if _, err := parseDate(s); err == nil {
			t.Errorf("parseDate(%q) accepted", s)
		}
	}
}
