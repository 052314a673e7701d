package gateway

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roam-project/roam/pki"
)

// sfBinaryRE is an RFC 8941 byte sequence: base64 (RFC 4648 §4, padded)
// between colons.
var sfBinaryRE = regexp.MustCompile(`^:[A-Za-z0-9+/]*={0,2}:$`)

// parseSFBinary decodes an RFC 8941 byte sequence strictly.
func parseSFBinary(t *testing.T, v string) []byte {
	t.Helper()
	if !sfBinaryRE.MatchString(v) {
		t.Fatalf("%q is not an RFC 8941 byte sequence", v)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v[1 : len(v)-1])
	if err != nil {
		t.Fatalf("%q: %v", v, err)
	}
	return b
}

// spoofedIdentity is every identity header a client might send to
// impersonate another, in the spellings a backend may treat as the same.
var spoofedIdentity = map[string]string{
	"Client-Cert":               ":AAAA:",
	"Client-Cert-Chain":         ":AAAA:, :BBBB:",
	"X-Forwarded-Client-Cert":   "Hash=spoofed;Subject=\"CN=admin\"",
	"X-Roam-Client-Subject":     "CN=admin",
	"X-Roam-Client-San":         "DNS:admin.internal",
	"X-Roam-Client-Serial":      "01",
	"X-Roam-Client-Fingerprint": strings.Repeat("0", 64),
	"X-Roam-Principal":          "arn:aws:iam::000000000000:role/admin",
	"X-Roam-Client-Role":        "admin",         // any X-Roam-* header
	"x-roam-client-subject":     "CN=lower-case", // canonicalized by net/http
	"X_Roam_Client_Subject":     "CN=underscore", // CGI-style backends read it as X-Roam-Client-Subject
	"Client_Cert":               ":CCCC:",
	"X_Forwarded_Client_Cert":   "Hash=underscore",
	"X-Roam_Principal":          "arn:aws:iam::000000000000:role/mixed",
}

func TestStripIdentity(t *testing.T) {
	h := http.Header{}
	for k, v := range spoofedIdentity {
		h[k] = []string{v} // exactly as sent, not canonicalized
		h.Add(k, v)        // and canonicalized, as net/http delivers it
	}
	keep := map[string]string{"Authorization": "AWS4-HMAC-SHA256 x", "X-Amz-Date": "20260101T000000Z", "Content-Type": "text/plain", "X-Roamer": "not ours", "Client-Certainty": "high"}
	for k, v := range keep {
		h.Set(k, v)
	}
	stripIdentity(h)
	var left []string
	for k := range h {
		if _, ok := keep[k]; !ok {
			left = append(left, k)
		}
	}
	if len(left) != 0 {
		t.Errorf("identity headers left: %v", left)
	}
	for k, v := range keep {
		if h.Get(k) != v {
			t.Errorf("%s removed", k)
		}
	}
}

func TestSetIdentity(t *testing.T) {
	root := newTestCA(t, "Root")
	inter := root.intermediate(t, "Issuing")
	leaf := inter.issue(t, leafOpts{
		subject: pkix.Name{CommonName: "billing \"svc\"", Organization: []string{"Example, Inc."}},
		sans:    []string{"dns:billing.internal", "uri:spiffe://example.org/billing", "email:ops@example.org", "ip:10.0.0.7"},
	})
	cases := []struct {
		name      string
		chain     []*x509.Certificate
		principal string
	}{
		{name: "leaf only"},
		{name: "leaf and intermediate", chain: []*x509.Certificate{inter.Cert}},
		{name: "leaf, intermediate and root", chain: []*x509.Certificate{inter.Cert, root.Cert}, principal: "arn:aws:sts::000000000000:assumed-role/r/s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			setIdentity(h, leaf.cert, c.chain, c.principal)
			checkIdentityHeaders(t, h, leaf.cert, c.chain)
			if got := h.Values(HeaderPrincipal); c.principal == "" && len(got) != 0 || c.principal != "" && !slices.Equal(got, []string{c.principal}) {
				t.Errorf("%s = %q, want %q", HeaderPrincipal, got, c.principal)
			}
		})
	}
	// A principal without a certificate (sigv4 with client auth none).
	h := http.Header{}
	setIdentity(h, nil, nil, "arn:aws:sts::000000000000:assumed-role/r/s")
	if len(h) != 1 || h.Get(HeaderPrincipal) == "" {
		t.Errorf("principal only: %v", h)
	}
}

// checkIdentityHeaders asserts the identity headers describe leaf and
// chain (the presented certificates after the leaf), one field line each.
func checkIdentityHeaders(t *testing.T, h http.Header, leaf *x509.Certificate, chain []*x509.Certificate) {
	t.Helper()
	one := func(k string) string {
		t.Helper()
		v := h.Values(k)
		if len(v) != 1 {
			t.Fatalf("%s: %d field lines %q, want 1", k, len(v), v)
		}
		return v[0]
	}
	// RFC 9440 §2.2: Client-Cert is the DER certificate as a byte sequence.
	if der := parseSFBinary(t, one(HeaderClientCert)); string(der) != string(leaf.Raw) {
		t.Errorf("Client-Cert is not the leaf's DER")
	}
	// RFC 9440 §2.3: Client-Cert-Chain is a list of byte sequences, the
	// leaf excluded, in the order presented; absent without a chain.
	if len(chain) == 0 {
		if v := h.Values(HeaderClientCertChain); len(v) != 0 {
			t.Errorf("Client-Cert-Chain %q without a chain", v)
		}
	} else {
		members := strings.Split(one(HeaderClientCertChain), ", ")
		if len(members) != len(chain) {
			t.Fatalf("Client-Cert-Chain has %d members, want %d", len(members), len(chain))
		}
		for i, m := range members {
			if der := parseSFBinary(t, m); string(der) != string(chain[i].Raw) {
				t.Errorf("Client-Cert-Chain member %d is not %s", i, chain[i].Subject)
			}
		}
	}
	sum := sha256.Sum256(leaf.Raw)
	fp := hex.EncodeToString(sum[:])
	if got := one(HeaderClientFingerprint); got != fp {
		t.Errorf("fingerprint %s, want %s", got, fp)
	}
	if got := one(HeaderClientSerial); got != pki.FormatSerialHex(leaf.SerialNumber) {
		t.Errorf("serial %s", got)
	}
	if got := one(HeaderClientSubject); got != leaf.Subject.String() {
		t.Errorf("subject %q, want %q", got, leaf.Subject.String())
	}
	var sans []string
	for _, d := range leaf.DNSNames {
		sans = append(sans, "DNS:"+d)
	}
	for _, ip := range leaf.IPAddresses {
		sans = append(sans, "IP:"+ip.String())
	}
	for _, e := range leaf.EmailAddresses {
		sans = append(sans, "email:"+e)
	}
	for _, u := range leaf.URIs {
		sans = append(sans, "URI:"+u.String())
	}
	if len(sans) > 0 {
		if got := one(HeaderClientSAN); got != strings.Join(sans, ", ") {
			t.Errorf("SAN %q, want %q", got, strings.Join(sans, ", "))
		}
	}
	// Envoy's XFCC: Hash, the URL-encoded PEM in Cert, the quoted
	// Subject, then URI and DNS.
	xfcc := one(HeaderXFCC)
	wantPrefix := "Hash=" + fp + `;Cert="` + url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))) + `";Subject="` +
		strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(leaf.Subject.String()) + `"`
	if !strings.HasPrefix(xfcc, wantPrefix) {
		t.Errorf("XFCC %q, want prefix %q", xfcc, wantPrefix)
	}
	for _, u := range leaf.URIs {
		if !strings.Contains(xfcc, ";URI="+u.String()) {
			t.Errorf("XFCC has no URI %s", u)
		}
	}
	for _, d := range leaf.DNSNames {
		if !strings.Contains(xfcc, ";DNS="+d) {
			t.Errorf("XFCC has no DNS %s", d)
		}
	}
}

// TestIdentityHeadersReachBackend: through a running gateway, the backend
// sees the verified certificate's identity headers and none of the
// client's spoofed copies.
func TestIdentityHeadersReachBackend(t *testing.T) {
	dir := t.TempDir()
	tlsCA, root := newTestCA(t, "gateway tls"), newTestCA(t, "clients")
	inter := root.intermediate(t, "clients issuing")
	srv := tlsCA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "127.0.0.1"}})
	srv.writeKeyPair(t, dir, "gw")
	writeFile(t, filepath.Join(dir, "ca.pem"), pki.EncodeCertificatesPEM(root.Cert))
	client := inter.issue(t, leafOpts{subject: pkix.Name{CommonName: "billing-service", Organization: []string{"Example"}}, sans: []string{"dns:billing.internal", "uri:spiffe://example.org/billing"}})

	var mu sync.Mutex
	var seen []http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
	}))
	t.Cleanup(backend.Close)
	g := startGateway(t, dir, fmt.Sprintf(`routes:
  - name: require
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: require, caFiles: [ca.pem]}
    authorization: mtls
    backend: {url: %[1]q}
  - name: verify
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: verify-at-http, caFiles: [ca.pem]}
    authorization: mtls
    backend: {url: %[1]q}
`, backend.URL))
	c := httpsClient(certPool(tlsCA.Cert), false, client.tlsCert(inter.Cert))
	for _, route := range []string{"require", "verify"} {
		t.Run(route, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "https://"+g.Addr(route).String()+"/customers/42", nil)
			for k, v := range spoofedIdentity {
				req.Header[k] = append(req.Header[k], v)
			}
			// Asking the gateway to drop its own headers as hop-by-hop
			// does not work either.
			req.Header.Set("Connection", "Client-Cert, X-Roam-Client-Subject")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			mu.Lock()
			h := seen[len(seen)-1]
			mu.Unlock()
			checkIdentityHeaders(t, h, client.cert, []*x509.Certificate{inter.Cert})
			for k := range h {
				n := http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))
				if n != k && (strings.HasPrefix(n, "X-Roam-") || n == "Client-Cert" || n == "X-Forwarded-Client-Cert") {
					t.Errorf("spoofed %s reached the backend: %q", k, h[k])
				}
			}
			for _, k := range []string{HeaderPrincipal, "X-Roam-Client-Role"} {
				if v := h.Values(k); len(v) != 0 {
					t.Errorf("spoofed %s reached the backend: %q", k, v)
				}
			}
		})
	}
}
