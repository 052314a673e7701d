package gateway

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// TestSigV4Decisions: a sigv4 S3 route decides with the role's policies ∩
// the session's, from the store snapshot in use; a new configuration
// version changes decisions for sessions already issued. Allowed requests
// reach the backend re-signed with the gateway's key and naming the
// session in X-Roam-Principal.
func TestSigV4Decisions(t *testing.T) {
	var mu sync.Mutex
	var last http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Header.Clone()
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	p := newBenchPKI(t)
	g, roleCreds := newBenchGateway(t, p, backend.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	now := time.Now()
	mint := func(sessionPolicy string) sts.Credentials {
		c, err := g.store.kr.Mint(sts.SessionSpec{RoleARN: "arn:aws:iam::000000000000:role/bench", Account: "000000000000", RoleName: "bench",
			RoleID: "AROABENCHBENCHBENCH01", SessionName: "limited", SessionPolicy: sessionPolicy, IssuedAt: now, Expiration: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	limited := mint(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bench/objects/public/*"}]}`)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	do := func(c sts.Credentials, method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+g.Addr("bench").String()+path, nil)
		if err := sigv4.SignHMAC(req, sigv4.UnsignedPayload, sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
			"s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		code := ""
		if resp.StatusCode != 200 {
			var e struct{ Code string }
			if err := xml.Unmarshal(b, &e); err != nil {
				t.Fatalf("%s %s: %d with a non-XML body %q", method, path, resp.StatusCode, b)
			}
			code = e.Code
		}
		return resp.StatusCode, code
	}
	type step struct {
		name         string
		creds        sts.Credentials
		method, path string
		status       int
		code         string
	}
	run := func(steps []step) {
		t.Helper()
		for _, s := range steps {
			if status, code := do(s.creds, s.method, s.path); status != s.status || code != s.code {
				t.Errorf("%s: %s %s: %d %s, want %d %s", s.name, s.method, s.path, status, code, s.status, s.code)
			}
		}
	}
	run([]step{
		{"role allows", roleCreds, "GET", "/bench/objects/a.txt", 200, ""},
		{"role does not allow PutObject there", roleCreds, "PUT", "/bench/objects/a.txt", 403, "AccessDenied"},
		{"role does not allow another bucket", roleCreds, "GET", "/other/a.txt", 403, "AccessDenied"},
		{"session policy limits the role", limited, "GET", "/bench/objects/a.txt", 403, "AccessDenied"},
		{"role ∩ session", limited, "GET", "/bench/objects/public/a.txt", 200, ""},
		{"session policy cannot widen the role", limited, "PUT", "/bench/objects/public/a.txt", 403, "AccessDenied"},
		{"unknown subresource", roleCreds, "GET", "/bench/objects/a.txt?torrent", 403, "AccessDenied"},
	})
	mu.Lock()
	h := last
	mu.Unlock()
	if got := h.Get(HeaderPrincipal); got != "arn:aws:sts::000000000000:assumed-role/bench/limited" {
		t.Errorf("X-Roam-Principal %q", got)
	}
	if a := h.Get("Authorization"); !strings.Contains(a, "Credential=AKIABACKEND/") || h.Get("X-Amz-Security-Token") != "" {
		t.Errorf("backend request not re-signed with the gateway's key: %q", a)
	}

	// Version 2 of the configuration: the role may also write under
	// objects/, but not read a.txt any more. Sessions already issued
	// follow at once.
	cfg2 := &store.Config{Version: 2, Settings: map[string]string{}, Roles: []*store.Role{{
		Name: "bench", Path: "/", InlinePolicies: map[string]string{"v2": `{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bench/objects/*"},` +
			`{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/objects/a.txt"}]}`},
	}}}
	g.store.snap.Store(&storeSnapshot{version: 2, perms: iam.NewPermissions(cfg2)})
	run([]step{
		{"v2: explicit deny", roleCreds, "GET", "/bench/objects/a.txt", 403, "AccessDenied"},
		{"v2: new allow", roleCreds, "PUT", "/bench/objects/a.txt", 200, ""},
		{"v2: other objects", roleCreds, "GET", "/bench/objects/b.txt", 200, ""},
		{"v2: session policy still applies", limited, "PUT", "/bench/objects/public/a.txt", 200, ""},
		{"v2: session policy still limits", limited, "PUT", "/bench/objects/b.txt", 403, "AccessDenied"},
	})
	// Version 3: the role is gone; its sessions get nothing.
	g.store.snap.Store(&storeSnapshot{version: 3, perms: iam.NewPermissions(&store.Config{Version: 3, Settings: map[string]string{}})})
	run([]step{{"v3: role deleted", roleCreds, "GET", "/bench/objects/b.txt", 403, "AccessDenied"}})
}
