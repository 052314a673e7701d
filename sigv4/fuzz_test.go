package sigv4

import (
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	f.Add("AWS4-X509-ECDSA-SHA256 Credential=4660/20261130/us-east-1/rolesanywhere/aws4_request,SignedHeaders=host;x-amz-date;x-amz-x509,Signature=3044")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=, Signature=zz")
	f.Add("AWS4-HMAC-SHA256   Credential=A/20200101/r/s/aws4_request ,, Signature=00 , SignedHeaders=host")
	f.Fuzz(func(t *testing.T, v string) {
		a, err := ParseAuthorization(v)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		again := formatAuthorization(a.Algorithm, a.Credential.String(), a.SignedHeaders, hex.EncodeToString(a.Signature))
		b, err := ParseAuthorization(again)
		if err != nil {
			t.Fatalf("reparse of %q: %v", again, err)
		}
		if b.Algorithm != a.Algorithm || b.Credential != a.Credential || b.SignedHeaders != a.SignedHeaders || string(b.Signature) != string(a.Signature) {
			t.Fatalf("round trip changed %+v to %+v", a, b)
		}
		if _, ok := scanSignedHeaders(a.SignedHeaders); !ok {
			t.Fatalf("accepted bad SignedHeaders %q", a.SignedHeaders)
		}
	})
}

func FuzzParseCredential(f *testing.F) {
	f.Add("AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request")
	f.Add("47724914708969405121171/20261130/us-east-1/rolesanywhere/aws4_request")
	f.Add("x/2015083/us-east-1/iam/aws4_request")
	f.Add("x/20150830//iam/aws4_request")
	f.Add("x/20150830/r/s/aws4_request/extra")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredential(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("String() = %q, want %q", c.String(), s)
		}
		sc, err := ParseScope(c.Scope.String())
		if err != nil || sc != c.Scope {
			t.Fatalf("scope round trip: %v %+v %+v", err, sc, c.Scope)
		}
		if !isDate(sc.Date) || strings.Contains(c.ID, "/") {
			t.Fatalf("accepted %q", s)
		}
	})
}

// referenceCanonicalQuery is the canonical query built with net/url, for
// inputs net/url accepts.
func referenceCanonicalQuery(raw string) (string, bool) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "", false
	}
	var pairs []string
	for k, vs := range v {
		for _, x := range vs {
			pairs = append(pairs, EscapeRFC3986(k)+"\x00"+EscapeRFC3986(x))
		}
	}
	slices.Sort(pairs)
	for i, p := range pairs {
		pairs[i] = strings.Replace(p, "\x00", "=", 1)
	}
	return strings.Join(pairs, "&"), true
}

func FuzzPresignQuery(f *testing.F) {
	f.Add("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA%2F20261130%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261130T152007Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=a%2Bb&X-Amz-Signature=00ff")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604801")
	f.Add("a=1&a=0&b&c=&%41=%7e+x")
	f.Add("profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A1%3Aprofile%2Fx&roleArn=&trustAnchorArn=arn%3Aaws")
	f.Add("X-Amz-Signature=1&X-Amz-Signature=2")
	f.Add("%zz=1")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parsePresignQuery(raw)
		if err == nil && q.present {
			if p := new(Parsed); q.parsed(p) == nil {
				if p.Expires <= 0 || p.Expires > MaxPresignExpires || len(p.Signature) == 0 {
					t.Fatalf("accepted %+v", p)
				}
			}
		}
		cq, err := CanonicalQuery(raw, "")
		if err != nil {
			return
		}
		again, err := CanonicalQuery(cq, "")
		if err != nil || again != cq {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", raw, cq, again, err)
		}
		if want, ok := referenceCanonicalQuery(raw); ok && want != cq {
			t.Fatalf("CanonicalQuery(%q) = %q, net/url reference %q", raw, cq, want)
		}
		ex, _ := CanonicalQuery(raw, QuerySignature)
		for _, pair := range strings.Split(ex, "&") {
			if strings.HasPrefix(pair, QuerySignature+"=") {
				t.Fatalf("exclude kept %s: %q", QuerySignature, ex)
			}
		}
	})
}
