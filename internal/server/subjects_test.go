package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
)

func TestPendingSightingsMerge(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sg := func(subject, serial string, failed bool, at time.Time) store.SubjectSighting {
		return store.SubjectSighting{X509Subject: subject, SerialNumber: serial, Issuer: "CN=ca", Failed: failed, SeenAt: at}
	}
	var p pendingSightings
	p.add(sg("CN=a", "1", false, t0.Add(2*time.Second)))
	p.add(sg("CN=a", "1", false, t0)) // late arrival: SeenAt stays the latest
	p.add(sg("CN=a", "1", true, t0.Add(time.Second)))
	p.add(sg("CN=b", "1", false, t0))
	withCert := sg("CN=a", "1", false, t0.Add(time.Second))
	withCert.Certificate, withCert.Count = []byte("der"), 3
	p.add(withCert)
	props := sg("CN=a", "1", false, t0)
	props.InstanceProperties = map[string]string{"host": "x"}
	p.add(props)
	p.add(props)

	got := p.take()
	want := []store.SubjectSighting{
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", SeenAt: t0.Add(2 * time.Second), Certificate: []byte("der"), Count: 5},
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", Failed: true, SeenAt: t0.Add(time.Second), Count: 1},
		{X509Subject: "CN=b", SerialNumber: "1", Issuer: "CN=ca", SeenAt: t0, Count: 1},
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", SeenAt: t0, InstanceProperties: map[string]string{"host": "x"}, Count: 1},
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", SeenAt: t0, InstanceProperties: map[string]string{"host": "x"}, Count: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.X509Subject != w.X509Subject || g.SerialNumber != w.SerialNumber || g.Issuer != w.Issuer || g.Failed != w.Failed ||
			!g.SeenAt.Equal(w.SeenAt) || string(g.Certificate) != string(w.Certificate) || g.Count != w.Count ||
			len(g.InstanceProperties) != len(w.InstanceProperties) {
			t.Errorf("row %d = %+v\nwant %+v", i, g, w)
		}
	}
	if p.len() != 0 {
		t.Fatalf("after take: %d rows pending", p.len())
	}
	// A zero SeenAt ("now" when written) is the latest of all.
	p.add(sg("CN=c", "1", false, t0))
	p.add(sg("CN=c", "1", false, time.Time{}))
	p.add(sg("CN=c", "1", false, t0.Add(time.Hour)))
	if got := p.take(); len(got) != 1 || !got[0].SeenAt.IsZero() || got[0].Count != 3 {
		t.Fatalf("zero SeenAt merge: %+v", got)
	}
}

// TestSubjectBatcherCounts checks that merging keeps the store's seen counts,
// times and latest outcome exact.
func TestSubjectBatcherCounts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := newSubjectBatcher(st, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 1000 {
		b.add(store.SubjectSighting{X509Subject: "CN=fleet", SerialNumber: "7", Issuer: "CN=ca", Certificate: []byte("der"),
			Failed: i == 998, SeenAt: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	b.flush(ctx)
	sj, err := st.GetSubject(ctx, store.SubjectID("CN=fleet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sj.Credentials) != 1 {
		t.Fatalf("credentials: %+v", sj.Credentials)
	}
	c := sj.Credentials[0]
	if c.SeenCount != 1000 || !c.LastSeenAt.Equal(t0.Add(999*time.Millisecond)) || c.Failed || string(c.Certificate) != "der" ||
		!sj.LastSeenAt.Equal(t0.Add(999*time.Millisecond)) {
		t.Fatalf("credential %+v, subject last seen %v", c, sj.LastSeenAt)
	}
}

// TestSubjectBatcherRun checks that a running batcher writes what it is
// given within a few flush intervals, and what is pending when stopped.
func TestSubjectBatcherRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := newSubjectBatcher(st, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); b.run(ctx) }()
	seen := func(subject string) int64 {
		sj, err := st.GetSubject(context.Background(), store.SubjectID(subject))
		if err != nil || len(sj.Credentials) == 0 {
			return 0
		}
		return sj.Credentials[0].SeenCount
	}
	for range 3 {
		b.add(store.SubjectSighting{X509Subject: "CN=running", SerialNumber: "1", Issuer: "CN=ca", SeenAt: time.Now()})
	}
	deadline := time.Now().Add(10 * subjectFlushEvery)
	for seen("CN=running") != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("seen count %d after %v, want 3", seen("CN=running"), 10*subjectFlushEvery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// More than a batch of distinct certificates in one drain.
	for i := range subjectBatchMax + 10 {
		b.add(store.SubjectSighting{X509Subject: "CN=many", SerialNumber: fmt.Sprint(i), Issuer: "CN=ca", SeenAt: time.Now()})
	}
	time.Sleep(2 * subjectDrainEvery) // drained, maybe not yet written
	cancel()
	<-done
	b.flush(context.Background())
	sj, err := st.GetSubject(context.Background(), store.SubjectID("CN=many"))
	if err != nil || len(sj.Credentials) != subjectBatchMax+10 {
		t.Fatalf("CN=many: %v, %d credentials, want %d", err, len(sj.Credentials), subjectBatchMax+10)
	}
}
