package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
)

// populateForCopy makes one or more of every kind of record, with the odd
// corners: tags everywhere, a deleted policy version, an inactive access key,
// revoked sessions, binary data, subjects with credentials and instance
// properties.
func populateForCopy(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.PutSetting(ctx, store.SettingAccountID, "123456789012"))
	check(s.PutSetting(ctx, store.SettingRegion, "eu-west-1"))
	var anchors []*store.TrustAnchor
	for i := range 3 {
		a, err := s.CreateTrustAnchor(ctx, &store.TrustAnchor{Name: fmt.Sprint("ta-", i), SourceType: store.SourceCertificateBundle,
			SourceData: "PEM", Enabled: i != 1, CRLDPRevocationEnabled: i == 2,
			NotificationSettings: []store.NotificationSetting{{Enabled: true, Event: "CA_CERTIFICATE_EXPIRY", Threshold: 30}},
			Tags:                 map[string]string{"i": fmt.Sprint(i)}})
		check(err)
		anchors = append(anchors, a)
	}
	_, err := s.CreateCRL(ctx, &store.CRL{Name: "crl", TrustAnchorID: anchors[0].ID, Data: []byte{0, 1, 0xff}, Enabled: true,
		Tags: map[string]string{"k": "v"}})
	check(err)
	_, err = s.CreateCRL(ctx, &store.CRL{Name: "crl-empty", TrustAnchorID: anchors[0].ID})
	check(err)
	_, err = s.CreateProfile(ctx, &store.Profile{Name: "p", RoleARNs: []string{"arn:aws:iam::123456789012:role/r"},
		DurationSeconds: 3600, SessionPolicy: `{"Version":"2012-10-17","Statement":[]}`, Enabled: true,
		AttributeMappings: []store.AttributeMapping{{CertificateField: "x509Subject",
			MappingRules: []store.MappingRule{{Specifier: "CN"}}}},
		CreatedBy: "arn:aws:iam::123456789012:user/admin", Tags: map[string]string{"env": "prod"}})
	check(err)
	_, err = s.CreateProfile(ctx, &store.Profile{Name: "bare"})
	check(err)

	arn := "arn:aws:iam::123456789012:policy/pol"
	_, err = s.CreatePolicy(ctx, &store.Policy{Name: "pol", ARN: arn, Path: "/", Description: "d",
		Tags: map[string]string{"t": "1"}}, `{"v":1}`)
	check(err)
	for i := 2; i <= 4; i++ {
		_, err = s.CreatePolicyVersion(ctx, arn, fmt.Sprintf(`{"v":%d}`, i), i == 3)
		check(err)
	}
	check(s.DeletePolicyVersion(ctx, arn, "v4")) // the next version is still v5
	check(s.DeletePolicyVersion(ctx, arn, "v1"))
	_, err = s.CreatePolicy(ctx, &store.Policy{Name: "other", ARN: "arn:aws:iam::123456789012:policy/other"}, `{}`)
	check(err)

	_, err = s.CreateRole(ctx, &store.Role{Name: "Admin", Path: "/ops/", AssumeRolePolicy: `{"Statement":[]}`,
		Description: "admin", MaxSessionDuration: 7200, PermissionsBoundary: arn,
		InlinePolicies: map[string]string{"a": `{}`, "b": `{"x":1}`}, AttachedPolicies: []string{arn},
		SessionsRevokedBefore: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Tags: map[string]string{"o": "p"}})
	check(err)
	_, err = s.CreateRole(ctx, &store.Role{Name: "plain"})
	check(err)
	_, err = s.CreateUser(ctx, &store.User{Name: "alice", Path: "/people/", InlinePolicies: map[string]string{"i": "{}"},
		AttachedPolicies: []string{arn}, Tags: map[string]string{"team": "a"}})
	check(err)
	_, err = s.CreateAccessKey(ctx, &store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA1", UserName: "alice", SealedSecret: []byte{9, 0, 9}})
	check(err)
	_, err = s.CreateAccessKey(ctx, &store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA2", UserName: "ALICE", SealedSecret: []byte{1},
		Status: store.AccessKeyInactive})
	check(err)
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	check(s.PutKey(ctx, store.KeyRecord{ID: "k1", Sealed: []byte{1, 2}, CreatedAt: t0, ActiveUntil: t0.Add(time.Hour),
		RetireAt: t0.Add(2 * time.Hour)}))
	check(s.PutKey(ctx, store.KeyRecord{ID: "k2", Sealed: []byte{3}, CreatedAt: t0.Add(time.Minute)}))

	var sightings []store.SubjectSighting
	for i := range 1200 { // more than one page of the copy
		sightings = append(sightings, store.SubjectSighting{X509Subject: fmt.Sprintf("CN=s%d", i%1100),
			SerialNumber: fmt.Sprint(i % 3), Issuer: "CN=ca", Certificate: []byte("cert"), Failed: i%5 == 0,
			InstanceProperties: map[string]string{"host": fmt.Sprint(i % 2)}, SeenAt: t0.Add(time.Duration(i) * time.Second),
			Count: i % 4})
	}
	sightings = append(sightings, store.SubjectSighting{X509Subject: "CN=bare"})
	check(s.UpsertSubjects(ctx, sightings))
}

// dump is everything a store holds, minus the config version.
type dump struct {
	Config       *store.Config
	Subjects     []*store.Subject
	NextVersions map[string]int64
}

func dumpStore(t *testing.T, s store.Store) dump {
	t.Helper()
	ctx := t.Context()
	cfg, err := s.LoadConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Version = 0
	d := dump{Config: cfg}
	for tok := ""; ; {
		page, next, err := s.ListSubjects(ctx, store.ListOptions{MaxResults: store.MaxPageSize, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		d.Subjects = append(d.Subjects, page...)
		if next == "" {
			break
		}
		tok = next
	}
	if d.NextVersions, err = s.(store.Importer).NextPolicyVersions(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func compareDumps(t *testing.T, what string, got, want dump) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, w := reflect.ValueOf(*got.Config), reflect.ValueOf(*want.Config)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s: Config.%s differs:\n got  %#v\n want %#v", what, g.Type().Field(i).Name,
				g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
	if !reflect.DeepEqual(got.NextVersions, want.NextVersions) {
		t.Errorf("%s: next policy versions %v, want %v", what, got.NextVersions, want.NextVersions)
	}
	if len(got.Subjects) != len(want.Subjects) {
		t.Fatalf("%s: %d subjects, want %d", what, len(got.Subjects), len(want.Subjects))
	}
	for i := range got.Subjects {
		if !reflect.DeepEqual(got.Subjects[i], want.Subjects[i]) {
			t.Fatalf("%s: subject %d:\n got  %#v\n want %#v", what, i, got.Subjects[i], want.Subjects[i])
		}
	}
}

// TestCopyRoundTrip copies a populated SQLite store into PostgreSQL and back
// into a new SQLite store; all three hold the same records.
func TestCopyRoundTrip(t *testing.T) {
	ctx := t.Context()
	openSQLite := func(name string) *sqlite.Store {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	src := openSQLite("src.db")
	populateForCopy(t, src)
	pg := openTest(t)
	back := openSQLite("back.db")

	want := dumpStore(t, src)
	st, err := store.Copy(ctx, pg, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SQLite → PostgreSQL: %+v", st)
	if st.Subjects != len(want.Subjects) || st.Roles != 2 || st.Policies != 2 {
		t.Fatalf("stats %+v", st)
	}
	if v, _ := pg.ConfigVersion(ctx); v != 1 {
		t.Fatalf("config version %d after the import, want 1", v)
	}
	compareDumps(t, "PostgreSQL", dumpStore(t, pg), want)
	if _, err := store.Copy(ctx, back, pg); err != nil {
		t.Fatal(err)
	}
	compareDumps(t, "SQLite after the round trip", dumpStore(t, back), want)

	// The copy behaves like the original: the next policy version is v5 on both.
	for _, s := range []store.Store{src, pg, back} {
		v, err := s.CreatePolicyVersion(ctx, "arn:aws:iam::123456789012:policy/pol", `{"v":5}`, false)
		if err != nil {
			t.Fatal(err)
		}
		if v.ID != "v5" {
			t.Fatalf("%T: next version %s, want v5", s, v.ID)
		}
	}

	// A store that already holds configuration refuses an import, and keeps
	// what it has.
	before := dumpStore(t, pg)
	if _, err := store.Copy(ctx, pg, src); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("copy into a populated store: %v, want ErrConflict", err)
	}
	compareDumps(t, "PostgreSQL after a refused import", dumpStore(t, pg), before)
}

// TestImportSubjectsReplaces: importing a subject that exists replaces it.
func TestImportSubjectsReplaces(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.UpsertSubjects(ctx, []store.SubjectSighting{{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := &store.Subject{ID: store.SubjectID("CN=a"), X509Subject: "CN=a", Enabled: false, CreatedAt: t0, UpdatedAt: t0,
		LastSeenAt: t0, Credentials: []store.SubjectCredential{{SerialNumber: "2", Issuer: "CN=ca", Certificate: []byte{},
			Enabled: true, FirstSeenAt: t0, LastSeenAt: t0, SeenCount: 7}},
		InstanceProperties: []store.InstanceProperties{}}
	if err := s.ImportSubjects(ctx, []*store.Subject{in}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSubject(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %#v\nwant %#v", got, in)
	}
}
