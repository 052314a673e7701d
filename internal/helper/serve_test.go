package helper

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-project/roam/credentials"
)

func newTestServer(t *testing.T, fetch FetchFunc) (*httptest.Server, *Refresher) {
	t.Helper()
	ref := NewRefresher(fetch, nil, nil)
	s := NewServer(ServerOptions{Creds: ref, RoleName: "TestRole", RoleARN: "arn:aws:iam::000000000000:role/path/TestRole", ContainerToken: "container-token-0123456789"})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, ref
}

func okFetch(ctx context.Context) (credentials.Credentials, error) {
	return credentials.Credentials{AccessKeyID: "ASIAX", SecretAccessKey: "S", SessionToken: "T", Expiration: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}, nil
}

func do(t *testing.T, method, url string, h map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestServeIMDS(t *testing.T) {
	ts, _ := newTestServer(t, okFetch)
	_, h, tok := do(t, "PUT", ts.URL+"/latest/api/token", map[string]string{headerTokenTTL: "60"})
	if len(tok) != 100 || h.Get(headerTokenTTL) != "60" {
		t.Fatalf("token %q (len %d), ttl header %q", tok, len(tok), h.Get(headerTokenTTL))
	}
	auth := map[string]string{headerToken: tok}
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		body               string
	}{
		{"token default ttl", "PUT", "/latest/api/token/", nil, 200, ""},
		{"token bad ttl", "PUT", "/latest/api/token", map[string]string{headerTokenTTL: "0"}, 400, "invalid token TTL"},
		{"token ttl too big", "PUT", "/latest/api/token", map[string]string{headerTokenTTL: "21601"}, 400, "invalid token TTL"},
		{"token x-forwarded-for", "PUT", "/latest/api/token", map[string]string{"X-Forwarded-For": "1.2.3.4"}, 400, "X-Forwarded-For"},
		{"no token", "GET", credsPath + "/", nil, 401, "no token provided"},
		{"bad token", "GET", credsPath + "/TestRole", map[string]string{headerToken: "nope"}, 401, "invalid token provided"},
		{"role list", "GET", credsPath, auth, 200, "TestRole"},
		{"role list slash", "GET", credsPath + "/", auth, 200, "TestRole"},
		{"credentials", "GET", credsPath + "/TestRole", auth, 200, `"Code":"Success"`},
		{"credentials slash", "GET", credsPath + "/TestRole/", auth, 200, `"Type":"AWS-HMAC"`},
		{"unknown role", "GET", credsPath + "/Other", auth, 404, ""},
		{"wrong method", "POST", credsPath + "/TestRole", auth, 405, ""},
		{"other path", "GET", "/latest/meta-data/instance-id", auth, 404, ""},
		{"container no auth", "GET", ContainerPath, nil, 401, "Unauthorized"},
		{"container bad auth", "GET", ContainerPath, map[string]string{"Authorization": "container-token-012345678X"}, 401, "Unauthorized"},
		{"container", "GET", ContainerPath, map[string]string{"Authorization": "container-token-0123456789"}, 200, `"RoleArn":"arn:aws:iam::000000000000:role/path/TestRole"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := do(t, tc.method, ts.URL+tc.path, tc.hdr)
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Fatalf("%s %s = %d %q; want %d containing %q", tc.method, tc.path, code, body, tc.code, tc.body)
			}
		})
	}
	_, _, body := do(t, "GET", ts.URL+credsPath+"/TestRole", auth)
	var doc map[string]string
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AccessKeyId", "SecretAccessKey", "Token", "Code", "Type", "Expiration", "LastUpdated"} {
		if doc[k] == "" {
			t.Errorf("IMDS document lacks %s: %s", k, body)
		}
	}
	if _, err := time.Parse(time.RFC3339, doc["Expiration"]); err != nil {
		t.Errorf("Expiration: %v", err)
	}
}

// TestServeNeverEmpty: when CreateSession fails and nothing valid is held,
// serve answers 503 — never 200 with empty credentials.
func TestServeNeverEmpty(t *testing.T) {
	ts, _ := newTestServer(t, func(ctx context.Context) (credentials.Credentials, error) {
		return credentials.Credentials{}, io.ErrUnexpectedEOF
	})
	_, _, tok := do(t, "PUT", ts.URL+"/latest/api/token", nil)
	code, _, body := do(t, "GET", ts.URL+credsPath+"/TestRole", map[string]string{headerToken: tok})
	if code != http.StatusServiceUnavailable || strings.Contains(body, "AccessKeyId") {
		t.Fatalf("got %d %q; want 503 without credentials", code, body)
	}
}

// TestServeConcurrentOneSession: N concurrent IMDS GETs make one
// CreateSession.
func TestServeConcurrentOneSession(t *testing.T) {
	var calls atomic.Int32
	ts, _ := newTestServer(t, func(ctx context.Context) (credentials.Credentials, error) {
		calls.Add(1)
		time.Sleep(50 * time.Millisecond)
		return okFetch(ctx)
	})
	_, _, tok := do(t, "PUT", ts.URL+"/latest/api/token", nil)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, _ := do(t, "GET", ts.URL+credsPath+"/TestRole", map[string]string{headerToken: tok}); code != 200 {
				t.Errorf("status %d", code)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d CreateSession calls, want 1", n)
	}
}

func TestListenHopLimit(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			ln, err := Listen(context.Background(), host, 0, 1)
			if err != nil {
				t.Skipf("cannot listen on %s: %v", host, err)
			}
			defer ln.Close()
			go func() {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err == nil {
					time.Sleep(100 * time.Millisecond)
					c.Close()
				}
			}()
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if n, err := HopLimit(c); err != nil || n != 1 {
				t.Fatalf("hop limit %d, %v; want 1", n, err)
			}
		})
	}
}
