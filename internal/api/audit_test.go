package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/metrics"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// blockingAppender is an audit store whose writes block until release is
// closed; entered is closed when the first write starts.
type blockingAppender struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	events           []store.AuditEvent
}

func (b *blockingAppender) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, events...)
	return nil
}

// TestCreateSessionAuditOffHotPath: while the audit store write is blocked,
// CreateSession (allowed and refused) still answers at once; the events are
// written once the store unblocks, with the right outcomes, and counted in
// the metrics.
func TestCreateSessionAuditOffHotPath(t *testing.T) {
	const account, region, anchorID, profileID = "000000000000", "us-east-1",
		"0b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f", "1b6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	rootKey, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootCert, err := pki.NewRootCA(rootKey, pki.CAOptions{Subject: pkix.Name{CommonName: "audit root"}})
	if err != nil {
		t.Fatal(err)
	}
	anchorARN := anywhere.TrustAnchorARN(region, account, anchorID)
	profileARN := anywhere.ProfileARN(region, account, profileID)
	role := iam.RoleARN(account, "/", "worker")
	cfg := &store.Config{
		Version:  1,
		Settings: map[string]string{store.SettingAccountID: account, store.SettingRegion: region},
		TrustAnchors: []*store.TrustAnchor{{ID: anchorID, Name: "a", SourceType: store.SourceCertificateBundle,
			SourceData: string(pki.EncodeCertificatesPEM(rootCert)), Enabled: true}},
		Profiles: []*store.Profile{{ID: profileID, Name: "p", RoleARNs: []string{role}, DurationSeconds: 3600, Enabled: true}},
		Roles: []*store.Role{{Name: "worker", ID: "AROAAUDITAUDITAUDIT2", Path: "/", MaxSessionDuration: 3600,
			AssumeRolePolicy: trust(`{"Service":"rolesanywhere.amazonaws.com"}`, allSTS...)}},
	}
	kr, err := sts.OpenKeyring(context.Background(), &memKeyStore{}, make([]byte, sts.MasterKeySize), sts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &blockingAppender{entered: make(chan struct{}), release: make(chan struct{})}
	rec := audit.NewRecorder(audit.Options{FlushEvery: time.Millisecond}, audit.NewStoreSink(st))
	m, err := metrics.New(metrics.Sources{AuditQueueDepth: rec.QueueDepth})
	if err != nil {
		t.Fatal(err)
	}
	svc := anywhere.NewService(anywhere.Config{Minter: kr, Observe: SessionObserver(rec, m)})
	svc.SetSnapshot(anywhere.NewSnapshot(cfg))
	h := New(Config{Sessions: svc, Audit: rec, Metrics: m})

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(runCtx); close(done) }()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(st.release) }) }
	t.Cleanup(func() { release(); stop(); <-done })

	request := func(roleARN string, i int) *http.Request {
		key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		is, err := (&pki.Issuer{Cert: rootCert, Key: rootKey}).Issue(pki.LeafRequest{Profile: pki.ProfileClient,
			Subject: pkix.Name{CommonName: fmt.Sprintf("w%d", i)}, PublicKey: key.Public()})
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Appendf(nil, `{"profileArn":%q,"roleArn":%q,"trustAnchorArn":%q}`, profileARN, roleARN, anchorARN)
		r := httptest.NewRequest(http.MethodPost, "https://127.0.0.1:9443/sessions", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := sigv4.SignX509(r, body, key, is.Cert, nil, region, time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}

	// The first event gets the writer stuck in the store.
	serve := func(r *http.Request) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if c := serve(request(role, 0)); c != http.StatusCreated {
		t.Fatalf("CreateSession: %d", c)
	}
	select {
	case <-st.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the audit writer never reached the store")
	}
	// Now every CreateSession must still answer promptly.
	const n = 20
	for i := 1; i <= n; i++ {
		want, roleARN := http.StatusCreated, role
		if i%4 == 0 {
			want, roleARN = http.StatusForbidden, iam.RoleARN(account, "/", "not-in-profile")
		}
		start := time.Now()
		if c := serve(request(roleARN, i)); c != want {
			t.Fatalf("request %d: %d, want %d", i, c, want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("request %d took %v while the audit store was blocked", i, d)
		}
	}
	if d := rec.QueueDepth(); d == 0 {
		t.Fatal("nothing queued while the store is blocked")
	}
	st.mu.Lock()
	if len(st.events) != 0 {
		t.Fatalf("%d events written while the store was blocked", len(st.events))
	}
	st.mu.Unlock()

	// Unblock: every event arrives (Run writes what is queued when it
	// stops).
	release()
	stop()
	<-done
	st.mu.Lock()
	defer st.mu.Unlock()
	var allowed, denied int
	for _, e := range st.events {
		switch {
		case e.Outcome == store.OutcomeAllowed && e.Resource == role && strings.HasPrefix(e.Principal, "CN=w") &&
			strings.Contains(e.Details, anchorARN):
			allowed++
		case e.Outcome == store.OutcomeDenied && e.ErrorCode == "AccessDeniedException" && strings.Contains(e.Reason, "not in the profile"):
			denied++
		default:
			t.Errorf("unexpected event %+v", e)
		}
	}
	if allowed != 1+n-n/4 || denied != n/4 {
		t.Errorf("%d allowed and %d denied events, want %d and %d", allowed, denied, 1+n-n/4, n/4)
	}
}
