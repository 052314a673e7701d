package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseConfig: the config parser never panics, and an accepted config
// has routes with a listener, TLS files and a known authorization mode.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("routes:\n  - {name: a, listen: \"127.0.0.1:0\", tls: {cert: c, key: k}, clientAuth: {mode: require, caFiles: [ca]}, authorization: mtls, backend: {url: \"http://127.0.0.1:1\"}}\n"))
	f.Add([]byte("routes: [{listen: x, authorization: sigv4, clientAuth: {mode: none}}]\nstore: {db: a, masterKeyFile: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "")
		if err != nil {
			return
		}
		for _, r := range cfg.Routes {
			if r.Listen == "" || r.TLS.Cert == "" || r.backend == nil {
				t.Fatalf("accepted route %+v", r)
			}
			switch r.Authorization {
			case AuthMTLS, AuthMTLSPolicy, AuthSigV4:
			default:
				t.Fatalf("accepted authorization %q", r.Authorization)
			}
		}
	})
}

// FuzzMapS3: the S3 mapper never panics; a mapped request names only
// s3: actions on arn:aws:s3::: resources of its own bucket (or its copy
// source), and object resources carry the decoded key.
func FuzzMapS3(f *testing.F) {
	for _, s := range [][4]string{
		{"GET", "/", "", ""}, {"GET", "/b1b/k%20ey", "", ""}, {"PUT", "/bkt/a/b", "uploadId=1&partNumber=2", ""},
		{"PUT", "/bkt/dst", "", "/src/key?versionId=3"}, {"GET", "/bkt", "list-type=2&prefix=a/&max-keys=5", ""},
		{"POST", "/bkt", "delete", ""}, {"DELETE", "/bkt/k", "uploadId=x", ""}, {"GET", "/k", "", "vh"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, method, path, rawQuery, extra string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		h := http.Header{}
		host := "s3.test"
		if extra == "vh" {
			host = "bucket.s3.test"
		} else if extra != "" {
			h.Set("X-Amz-Copy-Source", extra)
		}
		r, err := MapS3(method, host, path, q, h, "s3.test")
		if err != nil {
			return
		}
		if r.DeleteObjects {
			return
		}
		if len(r.Ops) == 0 {
			t.Fatalf("no ops for %s %s", method, path)
		}
		for _, op := range r.Ops {
			if !strings.HasPrefix(op.Action, "s3:") || !strings.HasPrefix(op.Resource, "arn:aws:s3:::") {
				t.Fatalf("bad op %+v", op)
			}
		}
		if r.Bucket != "" && !validBucket(r.Bucket) {
			t.Fatalf("invalid bucket %q accepted", r.Bucket)
		}
	})
}

// FuzzRouteMatch: the pattern compiler and matcher never panic; a match
// substitutes every variable and binds no value holding "/" to a
// single-segment variable.
func FuzzRouteMatch(f *testing.F) {
	f.Add("GET /customers/{id}", "arn:roam:api:::customers/{id}", "GET", "/customers/42")
	f.Add("* /files/{path...}", "arn:roam:api:::files/{path}", "PUT", "/files/a/b%2Fc")
	f.Add("GET /a/{x}/b", "arn:x:::{x}", "GET", "/a/%2e%2e/b")
	f.Fuzz(func(t *testing.T, pattern, resource, method, path string) {
		tbl, err := CompileRouteTable([]APIRoute{{Pattern: pattern, Action: "api:Do", Resource: resource}})
		if err != nil {
			return
		}
		m, ok := tbl.Match(method, path)
		if !ok {
			return
		}
		if m.Action != "api:Do" {
			t.Fatalf("action %q", m.Action)
		}
		for k, v := range m.Vars {
			if v == "" || v == "." || v == ".." {
				t.Fatalf("variable %s bound to %q", k, v)
			}
			if !strings.Contains(pattern, "{"+k+"...}") && strings.Contains(v, "/") {
				t.Fatalf("single-segment variable %s bound to %q", k, v)
			}
		}
	})
}
