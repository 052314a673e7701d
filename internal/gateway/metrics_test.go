package gateway

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roam-project/roam/pki"
)

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape fetches url and returns the samples of the Prometheus text format
// by series: `name{k="v",…}` with labels sorted.
func scrape(t *testing.T, c *http.Client, url string) map[string]string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: status %d", resp.StatusCode)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unparsable metrics line %q", line)
		}
		labels := map[string]string{}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			labels[l[1]] = l[2]
		}
		out[series(m[1], labels)] = m[3]
	}
	return out
}

func series(name string, labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// TestMetricsDecisions: after allowed and denied requests, the metrics
// listener reports each decision by route, authorization mode, decision and
// reason, and certificate rejections by reason and stage.
func TestMetricsDecisions(t *testing.T) {
	dir := t.TempDir()
	tlsCA, clients, other := newTestCA(t, "gateway tls"), newTestCA(t, "clients"), newTestCA(t, "other")
	tlsCA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "127.0.0.1"}}).writeKeyPair(t, dir, "gw")
	writeFile(t, filepath.Join(dir, "ca.pem"), pki.EncodeCertificatesPEM(clients.Cert))
	billing := clients.client(t, "billing-service")
	untrusted := other.client(t, "billing-service")
	var backendCalls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { backendCalls.Add(1) }))
	t.Cleanup(backend.Close)
	g := startGateway(t, dir, fmt.Sprintf(`metrics: {listen: "127.0.0.1:0", tls: {cert: gw.pem, key: gw.key}}
routes:
  - name: customers
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: verify-at-http, caFiles: [ca.pem]}
    authorization: mtls-policy
    backend: {url: %[1]q}
    api:
      - {pattern: "GET /customers/{id}", action: "api:GetCustomer", resource: "arn:roam:api:::customers/{id}"}
      - {pattern: "DELETE /customers/{id}", action: "api:DeleteCustomer", resource: "arn:roam:api:::customers/{id}"}
    policy:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: "api:GetCustomer", Resource: "arn:roam:api:::customers/*",
           Condition: {StringEquals: {"aws:PrincipalTag/x509Subject/CN": billing-service}}}
        - {Effect: Deny, Action: "api:*", Resource: "arn:roam:api:::customers/vip-*"}
  - name: plain
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: require, caFiles: [ca.pem]}
    authorization: mtls
    backend: {url: %[1]q}
`, backend.URL))
	roots := certPool(tlsCA.Cert)
	do := func(route string, l *testLeaf, method, path string, want int) {
		t.Helper()
		var certs []tls.Certificate
		if l != nil {
			certs = append(certs, l.tlsCert())
		}
		req, _ := http.NewRequest(method, "https://"+g.Addr(route).String()+path, nil)
		resp, err := httpsClient(roots, true, certs...).Do(req)
		if err != nil {
			t.Fatalf("%s %s %s: %v", route, method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s %s: status %d, want %d", route, method, path, resp.StatusCode, want)
		}
	}
	do("customers", billing, "GET", "/customers/1", 200)
	do("customers", billing, "GET", "/customers/2", 200)
	do("customers", billing, "GET", "/customers/vip-1", 403)
	do("customers", billing, "DELETE", "/customers/1", 403)
	do("customers", billing, "GET", "/orders/1", 403)
	do("customers", untrusted, "GET", "/customers/1", 403)
	do("customers", nil, "GET", "/customers/1", 403)
	do("plain", billing, "GET", "/anything", 200)
	// Refused at the handshake: no request, no decision.
	if _, err := httpsClient(roots, true, untrusted.tlsCert()).Get("https://" + g.Addr("plain").String() + "/"); err == nil {
		t.Fatal("require mode accepted an untrusted certificate")
	}
	if n := backendCalls.Load(); n != 3 {
		t.Errorf("backend called %d times, want 3", n)
	}

	got := scrape(t, httpsClient(roots, true), "https://"+g.MetricsAddr().String()+"/metrics")
	decision := func(route, authz, d, reason string) string {
		return series("roam_gateway_decisions_total", map[string]string{"route": route, "authorization": authz, "decision": d, "reason": reason})
	}
	rejection := func(route, reason, stage string) string {
		return series("roam_gateway_client_certificate_rejections_total", map[string]string{"route": route, "reason": reason, "stage": stage})
	}
	want := map[string]string{
		decision("customers", "mtls-policy", "allow", "policy-allow"):                                  "2",
		decision("customers", "mtls-policy", "deny", "explicit-deny"):                                  "1",
		decision("customers", "mtls-policy", "deny", "implicit-deny"):                                  "1",
		decision("customers", "mtls-policy", "deny", "no-route"):                                       "1",
		decision("customers", "mtls-policy", "deny", "client-certificate"):                             "2",
		decision("plain", "mtls", "allow", "trusted-certificate"):                                      "1",
		rejection("customers", "untrusted", "http"):                                                    "1",
		rejection("customers", "missing", "http"):                                                      "1",
		rejection("plain", "untrusted", "handshake"):                                                   "1",
		series("roam_gateway_request_duration_seconds_count", map[string]string{"route": "customers"}): "2",
		series("roam_gateway_request_duration_seconds_count", map[string]string{"route": "plain"}):     "1",
	}
	for s, v := range want {
		if got[s] != v {
			t.Errorf("%s = %q, want %s", s, got[s], v)
		}
	}
	// No other decision series exist.
	for s := range got {
		if strings.HasPrefix(s, "roam_gateway_decisions_total{") || strings.HasPrefix(s, "roam_gateway_client_certificate_rejections_total{") {
			if _, ok := want[s]; !ok {
				t.Errorf("unexpected series %s = %s", s, got[s])
			}
		}
	}
	// The metrics listener is TLS only.
	if resp, err := http.Get("http://" + g.MetricsAddr().String() + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("metrics served over plain HTTP")
		}
	}
}
