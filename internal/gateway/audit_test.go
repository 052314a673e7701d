package gateway

import (
	"bufio"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/roam-project/roam/pki"
)

// TestAuditDecisions: with an audit section, every decision (allowed and
// denied) becomes an audit event in the roam store and in the JSON-lines
// file, with the principal, action, resource, outcome and deny reason.
func TestAuditDecisions(t *testing.T) {
	dir := t.TempDir()
	tlsCA, clients := newTestCA(t, "gateway tls"), newTestCA(t, "clients")
	tlsCA.issue(t, leafOpts{profile: pki.ProfileServer, subject: pkix.Name{CommonName: "127.0.0.1"}}).writeKeyPair(t, dir, "gw")
	writeFile(t, filepath.Join(dir, "ca.pem"), pki.EncodeCertificatesPEM(clients.Cert))
	writeFile(t, filepath.Join(dir, "master.key"), make([]byte, 32))
	db := filepath.Join(dir, "roam.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	billing := clients.client(t, "billing-service")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(backend.Close)
	g := startGateway(t, dir, fmt.Sprintf(`store: {db: roam.db, masterKeyFile: master.key}
audit: {store: true, file: audit.jsonl}
routes:
  - name: customers
    listen: 127.0.0.1:0
    tls: {cert: gw.pem, key: gw.key}
    clientAuth: {mode: verify-at-http, caFiles: [ca.pem]}
    authorization: mtls-policy
    backend: {url: %q}
    api:
      - {pattern: "GET /customers/{id}", action: "api:GetCustomer", resource: "arn:roam:api:::customers/{id}"}
    policy:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: "api:GetCustomer", Resource: "arn:roam:api:::customers/*"}
        - {Effect: Deny, Action: "api:*", Resource: "arn:roam:api:::customers/vip-*"}
`, backend.URL))
	client := httpsClient(certPool(tlsCA.Cert), true, billing.tlsCert())
	for path, want := range map[string]int{"/customers/1": 200, "/customers/vip-1": 403} {
		resp, err := client.Get("https://" + g.Addr("customers").String() + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	var events []store.AuditEvent
	eventually(t, "two audit events in the store", func() bool {
		events, _, err = st.ListAudit(context.Background(), store.AuditQuery{})
		return err == nil && len(events) == 2
	})
	byResource := map[string]store.AuditEvent{}
	for _, e := range events {
		byResource[e.Resource] = e
	}
	ok, deny := byResource["arn:roam:api:::customers/1"], byResource["arn:roam:api:::customers/vip-1"]
	if ok.Outcome != store.OutcomeAllowed || ok.Action != "api:GetCustomer" || !strings.Contains(ok.Principal, "billing-service") ||
		ok.SourceIP != "127.0.0.1" || ok.RequestID == "" || !strings.Contains(ok.Details, `"route":"customers"`) {
		t.Errorf("allowed event: %+v", ok)
	}
	if deny.Outcome != store.OutcomeDenied || deny.ErrorCode != "AccessDenied" || !strings.HasPrefix(deny.Reason, denyExplicit) ||
		!strings.Contains(deny.Details, `"status":403`) {
		t.Errorf("denied event: %+v", deny)
	}

	// The same two in the file, written privately.
	eventually(t, "two lines in the audit file", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
		return strings.Count(string(b), "\n") == 2
	})
	f, err := os.Open(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v", fi.Mode().Perm())
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			ID      string         `json:"id"`
			Details map[string]any `json:"details"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || (l.ID != ok.ID && l.ID != deny.ID) || l.Details["route"] != "customers" {
			t.Errorf("file line %s: %v", sc.Text(), err)
		}
	}
}
