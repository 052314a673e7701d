package gateway

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseConfigReportsEveryProblem: one parse reports every problem of
// every route, one line each, each naming the route and the field.
func TestParseConfigReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // the error's lines, in order
	}{
		{
			name: "no routes",
			yaml: "region: eu-west-1\n",
			want: []string{"no routes"},
		},
		{
			name: "several routes, several problems each",
			yaml: `
metrics: {listen: "127.0.0.1:0"}
routes:
  - name: api
    tls: {cert: c.pem}
    clientAuth: {mode: require}
    authorization: mtls-policy
    backend: {url: "ftp://backend"}
    api:
      - {pattern: "GET customers", action: "api:Get", resource: "arn:x"}
      - {pattern: "GET /c/{id}", action: "Get", resource: "arn:x:::{id}"}
      - {pattern: "GET /d/{id}", action: "api:Get", resource: "arn:x:::{name}"}
  - name: api
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {mode: none}
    authorization: mtls
    backend: {url: "http://backend", s3: true}
    policy: {Version: "2012-10-17"}
  - name: s3
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {mode: sometimes}
    authorization: sigv4
    backend: {url: "http://backend", s3: true, credentials: {accessKeyIdEnv: K}}
    api: [{pattern: "GET /x", action: "api:X", resource: "arn:x"}]
    attributeMappings: [{certificateField: x509Subject, specifiers: ["Bad Spec"]}]
  - name: plain
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {mode: verify-at-http, caFiles: [ca.pem]}
    authorization: sigv4
    backend: {url: "http://backend"}
  - name: noauth
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {mode: require, caFiles: [ca.pem]}
    backend: {}
  -
`,
			want: []string{
				`metrics: listen, tls.cert and tls.key are required (TLS always)`,
				`route "api": listen is required`,
				`route "api": tls.cert and tls.key are required (TLS always)`,
				`route "api": clientAuth.caFiles is required with mode require`,
				`route "api": backend.url must be http(s)://host[:port][/path]`,
				`route "api": api[0] "GET customers": path must start with /`,
				`route "api": api[1] "GET /c/{id}": action "Get" must be service:Action`,
				`route "api": api[2] "GET /d/{id}": resource uses {name}, which the path does not bind`,
				`route "api": policy: required with mtls-policy authorization`,
				`routes[1]: duplicate name "api"`,
				`route "api" (routes[1]): clientAuth.mode none is only allowed with sigv4 authorization`,
				`route "api" (routes[1]): backend.credentials is required for an S3 backend (requests are re-signed)`,
				`route "api" (routes[1]): policy is only used with mtls-policy authorization`,
				`route "s3": unknown clientAuth.mode "sometimes"`,
				`route "s3": backend.credentials needs file, or accessKeyIdEnv and secretAccessKeyEnv, or chain: default`,
				`route "s3": an S3 backend uses the built-in S3 mapping; api is not allowed`,
				`route "s3": sigv4 authorization needs the top-level store section`,
				`route "s3": attributeMappings: unknown specifier "Bad Spec" for x509Subject`,
				`route "plain": sigv4 authorization needs the top-level store section`,
				`route "plain": sigv4 authorization needs an api route table or an S3 backend`,
				`route "noauth": authorization is required (mtls, mtls-policy or sigv4)`,
				`route "noauth": backend.url is required`,
				`routes[5]: empty`,
			},
		},
		{
			name: "modes and authorizations",
			yaml: `
store: {db: roam.db}
routes:
  - name: a
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {}
    authorization: oauth
    backend: {url: "http://backend"}
  - name: b
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {mode: none, caFiles: [ca.pem]}
    authorization: sigv4
    backend: {url: "http://backend", s3: true, credentials: {file: creds}}
  - name: c
    listen: 127.0.0.1:0
    tls: {cert: c.pem, key: k.pem}
    clientAuth: {mode: require, caFiles: [ca.pem]}
    authorization: mtls
    backend: {url: "http://backend"}
    api: [{pattern: "GET /x", action: "api:X", resource: "arn:x"}]
`,
			want: []string{
				`store: db and masterKeyFile are required`,
				`route "a": unknown authorization "oauth" (want mtls, mtls-policy or sigv4)`,
				`route "a": clientAuth.mode is required (require, verify-at-http or none)`,
				`route "b": clientAuth.mode none takes no caFiles or crlFiles`,
				`route "c": api is only used with mtls-policy or sigv4 authorization`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(c.yaml), "")
			if err == nil {
				t.Fatalf("accepted: %+v", cfg)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, c.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(c.want, "\n"))
				for _, w := range c.want {
					if !slices.Contains(got, w) {
						t.Errorf("missing: %s", w)
					}
				}
				for _, g := range got {
					if !slices.Contains(c.want, g) {
						t.Errorf("unexpected: %s", g)
					}
				}
			}
		})
	}
}

func TestParseConfigYAMLErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown field", "routes:\n  - name: a\n    listne: 127.0.0.1:0\n", "field listne not found"},
		{"bad duration", "reloadInterval: soon\nroutes: []\n", `line 1: time: invalid duration "soon"`},
		{"wrong type", "routes: {name: a}\n", "cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.yaml), "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

// TestParseConfigDefaultsAndPaths: defaults are filled in and relative
// file names resolve against the configuration's directory.
func TestParseConfigDefaultsAndPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "policy.json"), []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"api:Get","Resource":"*"}]}`))
	cfgPath := filepath.Join(dir, "gateway.yaml")
	writeFile(t, cfgPath, []byte(`
store: {db: roam.db, masterKeyFile: /etc/roam/master.key}
metrics: {listen: "127.0.0.1:0", tls: {cert: m.pem, key: m.key}}
routes:
  - listen: 127.0.0.1:0
    tls: {cert: certs/gw.pem, key: /abs/gw.key}
    clientAuth: {mode: verify-at-http, caFiles: [ca.pem], crlFiles: [crl/ca.crl]}
    authorization: mtls-policy
    backend: {url: "http://127.0.0.1:8080/base", caFile: backend-ca.pem}
    api: [{pattern: "GET /c/{id}", action: "api:Get", resource: "arn:roam:api:::c/{id}"}]
    policy: "file:policy.json"
  - name: s3
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: none}
    authorization: sigv4
    backend: {url: "http://127.0.0.1:9000", s3: true, credentials: {file: creds}}
`))
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	in := func(p string) string { return filepath.Join(dir, p) }
	r0, r1 := cfg.Routes[0], cfg.Routes[1]
	checks := []struct{ what, got, want string }{
		{"account", cfg.Account, "000000000000"},
		{"region", cfg.Region, "us-east-1"},
		{"unnamed route", r0.Name, "route0"},
		{"tls.cert", r0.TLS.Cert, in("certs/gw.pem")},
		{"absolute tls.key", r0.TLS.Key, "/abs/gw.key"},
		{"caFiles", r0.ClientAuth.CAFiles[0], in("ca.pem")},
		{"crlFiles", r0.ClientAuth.CRLFiles[0], in("crl/ca.crl")},
		{"backend.caFile", r0.Backend.CAFile, in("backend-ca.pem")},
		{"backend.region", r0.Backend.Region, "us-east-1"},
		{"service", r0.Service, "execute-api"},
		{"metrics cert", cfg.Metrics.TLS.Cert, in("m.pem")},
		{"store db", cfg.Store.DB, in("roam.db")},
		{"absolute master key", cfg.Store.MasterKeyFile, "/etc/roam/master.key"},
		{"credentials file", r1.Backend.Credentials.File, in("creds")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if time.Duration(cfg.ReloadInterval) != DefaultReloadInterval || time.Duration(cfg.Store.PollInterval) != time.Second {
		t.Errorf("intervals %v %v", time.Duration(cfg.ReloadInterval), time.Duration(cfg.Store.PollInterval))
	}
	if r0.policy == nil || r0.table == nil || r0.backend.Path != "/base" {
		t.Errorf("route0 not compiled: policy %v table %v backend %v", r0.policy, r0.table, r0.backend)
	}
	// A policy file that does not exist is reported against the route.
	os.Remove(filepath.Join(dir, "policy.json"))
	_, err = LoadConfig(cfgPath)
	if err == nil || !strings.Contains(err.Error(), `route "route0": policy: open `) {
		t.Errorf("missing policy file: %v", err)
	}
}

// TestParseConfigBackendChain: credentials: {chain: default} (with an
// optional profile) is a source of its own; anything else is reported.
func TestParseConfigBackendChain(t *testing.T) {
	route := func(creds string) string {
		return `routes:
  - {name: s3, listen: "127.0.0.1:0", tls: {cert: c.pem, key: c.key}, clientAuth: {mode: none}, authorization: sigv4,
     backend: {url: "http://127.0.0.1:1", s3: true, credentials: ` + creds + `}}
store: {db: roam.db, masterKeyFile: m.key}
`
	}
	for _, ok := range []string{`{chain: default}`, `{chain: default, profile: backend}`} {
		if _, err := ParseConfig([]byte(route(ok)), ""); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for creds, want := range map[string]string{
		`{chain: sdk}`:                        `route "s3": backend.credentials.chain "sdk": the only chain is "default"`,
		`{chain: default, file: k}`:           `route "s3": backend.credentials: chain takes no file, accessKeyIdEnv or secretAccessKeyEnv`,
		`{chain: default, accessKeyIdEnv: K}`: `route "s3": backend.credentials: chain takes no file`,
		`{file: k, profile: p}`:               `route "s3": backend.credentials.profile is only used with chain: default`,
		`{}`:                                  `route "s3": backend.credentials needs file, or accessKeyIdEnv and secretAccessKeyEnv, or chain: default`,
	} {
		_, err := ParseConfig([]byte(route(creds)), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", creds, err, want)
		}
	}
}
