package api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roam-project/roam/internal/anywhere"
)

// TestAvailable: while Config.Available fails, every request but /healthz,
// /readyz and /metrics is answered 503 ServiceUnavailable in its protocol
// (restJson1 for CreateSession and the control plane, awsQuery in the
// namespace of the scope's service for "/"), the cause is not shown, and
// requests are routed normally again once it succeeds.
func TestAvailable(t *testing.T) {
	var down atomic.Bool
	cause := errors.New("database unreachable for 6m0s (grace 5m0s): dial tcp 10.0.0.7:5432: connection refused")
	h := New(Config{
		// No snapshot: CreateSession answers with an error of its own.
		Sessions: anywhere.NewService(anywhere.Config{}),
		Available: func() error {
			if down.Load() {
				return cause
			}
			return nil
		},
		Ready: func(context.Context) error {
			if down.Load() {
				return cause
			}
			return nil
		},
	})
	scope := func(svc string) string {
		return "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE00/20260101/us-east-1/" + svc + "/aws4_request, SignedHeaders=host, Signature=00"
	}
	tests := []struct {
		name       string
		method     string
		path       string
		auth       string
		wantFormat string // "json", "query" or "" (not intercepted)
		wantCode   string
		wantNS     string
	}{
		{name: "CreateSession", method: "POST", path: "/sessions", wantFormat: "json", wantCode: "ServiceUnavailableException"},
		{name: "Roles Anywhere control plane", method: "POST", path: "/profiles/0b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f/disable", wantFormat: "json", wantCode: "ServiceUnavailableException"},
		{name: "STS", method: "POST", path: "/", auth: scope("sts"), wantFormat: "query", wantCode: "ServiceUnavailable", wantNS: STSNamespace},
		{name: "IAM", method: "POST", path: "/", auth: scope("iam"), wantFormat: "query", wantCode: "ServiceUnavailable", wantNS: IAMNamespace},
		{name: "unsigned query", method: "GET", path: "/", wantFormat: "query", wantCode: "ServiceUnavailable", wantNS: STSNamespace},
		{name: "healthz", method: "GET", path: "/healthz"},
		{name: "readyz", method: "GET", path: "/readyz"},
		{name: "metrics", method: "GET", path: "/metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down.Store(true)
			w := serve(h, tt.method, tt.path, tt.auth)
			body := w.Body.String()
			// /readyz says why; the APIs do not.
			if tt.path != "/readyz" && strings.Contains(body, "10.0.0.7") {
				t.Errorf("the cause leaked into the response: %s", body)
			}
			switch tt.wantFormat {
			case "json":
				var e struct {
					Type    string `json:"__type"`
					Message string `json:"message"`
				}
				if w.Code != http.StatusServiceUnavailable || w.Header().Get("X-Amzn-ErrorType") != tt.wantCode ||
					json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Type != tt.wantCode || e.Message != unavailableMessage {
					t.Fatalf("got %d %q %s, want 503 %s", w.Code, w.Header().Get("X-Amzn-ErrorType"), body, tt.wantCode)
				}
			case "query":
				var e queryErrorResponse
				if w.Code != http.StatusServiceUnavailable || xml.Unmarshal(w.Body.Bytes(), &e) != nil ||
					e.Error.Code != tt.wantCode || e.Error.Type != "Receiver" || e.Xmlns != tt.wantNS || e.Error.Message != unavailableMessage || e.RequestID == "" {
					t.Fatalf("got %d %s, want 503 %s in %s", w.Code, body, tt.wantCode, tt.wantNS)
				}
			default:
				if w.Code == http.StatusServiceUnavailable && tt.path != "/readyz" {
					t.Fatalf("%s was refused: %d %s", tt.path, w.Code, body)
				}
				if tt.path == "/readyz" {
					var st struct{ Status, Reason string }
					if w.Code != http.StatusServiceUnavailable || json.Unmarshal(w.Body.Bytes(), &st) != nil ||
						st.Status != "unavailable" || !strings.Contains(st.Reason, "database unreachable") {
						t.Fatalf("readyz: %d %s, want 503 with the reason", w.Code, body)
					}
				}
			}
			// Once available, the request reaches its handler.
			down.Store(false)
			w = serve(h, tt.method, tt.path, tt.auth)
			if strings.Contains(w.Body.String(), unavailableMessage) {
				t.Fatalf("still refused once available: %d %s", w.Code, w.Body.String())
			}
		})
	}
}

func serve(h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "https://127.0.0.1:9443"+path, strings.NewReader(""))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if method == "POST" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
