// Package storetest is the conformance suite every store.Store implementation
// runs: the SQLite store today, the PostgreSQL store later, unchanged.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// Run runs the conformance suite. open must return a new, empty, migrated
// store for each call; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Settings", testSettings},
		{"TrustAnchors", testTrustAnchors},
		{"CRLs", testCRLs},
		{"Profiles", testProfiles},
		{"Pagination", testPagination},
		{"Tags", testTags},
		{"Roles", testRoles},
		{"Policies", testPolicies},
		{"UsersAndAccessKeys", testUsers},
		{"Keyring", testKeyring},
		{"Subjects", testSubjects},
		{"ConfigVersionBumps", testVersionBumps},
		{"ReadsDoNotBump", testReadsDoNotBump},
		{"FailedMutationsChangeNothing", testAtomicity},
		{"LoadConfig", testLoadConfig},
		{"LoadConfigConsistent", testLoadConfigConsistent},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Audit", testAudit},
		{"AuditLargeBatch", testAuditLargeBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

var uuidRE = regexp.MustCompile(`^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$`)

func ctx(t *testing.T) context.Context { return t.Context() }

// must checks err and returns v: must(s.Get(…))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func version(t *testing.T, s store.Store) int64 {
	t.Helper()
	return must(s.ConfigVersion(ctx(t)))(t)
}

// recent checks that ts was set by the store just now.
func recent(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if d := time.Since(ts); d < -time.Minute || d > time.Minute {
		t.Fatalf("%s = %v, not recent", what, ts)
	}
}

// ---- fixtures ----

func anchor(name string) *store.TrustAnchor {
	return &store.TrustAnchor{
		Name:       name,
		SourceType: store.SourceCertificateBundle,
		SourceData: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		Enabled:    true,
		NotificationSettings: []store.NotificationSetting{
			{Enabled: true, Event: "CA_CERTIFICATE_EXPIRY", Threshold: 45, Channel: "ALL", ConfiguredBy: "rolesanywhere.amazonaws.com"},
		},
		Tags: map[string]string{"team": "infra"},
	}
}

func profile(name string) *store.Profile {
	return &store.Profile{
		Name:                  name,
		RoleARNs:              []string{"arn:aws:iam::000000000000:role/a", "arn:aws:iam::000000000000:role/b"},
		DurationSeconds:       3600,
		SessionPolicy:         `{"Version":"2012-10-17","Statement":[]}`,
		ManagedPolicyARNs:     []string{"arn:aws:iam::000000000000:policy/p"},
		Enabled:               true,
		AcceptRoleSessionName: true,
		AttributeMappings: []store.AttributeMapping{
			{CertificateField: "x509Subject", MappingRules: []store.MappingRule{{Specifier: "*"}}},
			{CertificateField: "x509SAN", MappingRules: []store.MappingRule{{Specifier: "DNS"}, {Specifier: "Name/*"}}},
		},
		CreatedBy: "arn:aws:iam::000000000000:user/admin",
		Tags:      map[string]string{"env": "test"},
	}
}

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`

func policyDoc(n int) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b%d/*"}]}`, n)
}

func policyARN(name string) string { return "arn:aws:iam::000000000000:policy/" + name }

func newPolicy(t *testing.T, s store.Store, name string) *store.Policy {
	t.Helper()
	return must(s.CreatePolicy(ctx(t), &store.Policy{Name: name, ARN: policyARN(name)}, policyDoc(1)))(t)
}

func role(name string) *store.Role {
	return &store.Role{
		Name:               name,
		Path:               "/svc/",
		AssumeRolePolicy:   trustPolicy,
		Description:        "a role",
		MaxSessionDuration: 3600,
		Tags:               map[string]string{"owner": "me"},
		InlinePolicies:     map[string]string{"inline": policyDoc(9)},
	}
}

// ---- settings ----

func testSettings(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetSetting(c, store.SettingAccountID)
	wantErr(t, err, store.ErrNotFound)
	ok(t, s.PutSetting(c, store.SettingAccountID, "000000000000"))
	ok(t, s.PutSetting(c, store.SettingRegion, "us-east-1"))
	ok(t, s.PutSetting(c, store.SettingRegion, "eu-west-1"))
	equal(t, "region", must(s.GetSetting(c, store.SettingRegion))(t), "eu-west-1")
	equal(t, "settings", must(s.Settings(c))(t), map[string]string{
		store.SettingAccountID: "000000000000", store.SettingRegion: "eu-west-1"})
	wantErr(t, s.PutSetting(c, "", "x"), store.ErrInvalid)
}

// ---- trust anchors ----

func testTrustAnchors(t *testing.T, s store.Store) {
	c := ctx(t)
	in := anchor("ta-1")
	a := must(s.CreateTrustAnchor(c, in))(t)
	if !uuidRE.MatchString(a.ID) {
		t.Fatalf("id %q is not a lower-case UUID v4", a.ID)
	}
	recent(t, "CreatedAt", a.CreatedAt)
	equal(t, "UpdatedAt", a.UpdatedAt, a.CreatedAt)
	want := *in
	want.ID, want.CreatedAt, want.UpdatedAt = a.ID, a.CreatedAt, a.UpdatedAt
	equal(t, "created", a, &want)
	if in.ID != "" {
		t.Fatal("Create modified its argument")
	}

	equal(t, "get", must(s.GetTrustAnchor(c, a.ID))(t), a)
	equal(t, "get by name", must(s.GetTrustAnchorByName(c, "ta-1"))(t), a)
	_, err := s.GetTrustAnchor(c, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetTrustAnchorByName(c, "nope")
	wantErr(t, err, store.ErrNotFound)

	_, err = s.CreateTrustAnchor(c, anchor("ta-1"))
	wantErr(t, err, store.ErrConflict)
	dup := anchor("ta-other")
	dup.ID = a.ID
	_, err = s.CreateTrustAnchor(c, dup)
	wantErr(t, err, store.ErrConflict)
	_, err = s.CreateTrustAnchor(c, &store.TrustAnchor{SourceType: store.SourceCertificateBundle})
	wantErr(t, err, store.ErrInvalid)

	// A caller-chosen id is kept.
	fixed := anchor("ta-fixed")
	fixed.ID = "11111111-1111-4111-8111-111111111111"
	equal(t, "fixed id", must(s.CreateTrustAnchor(c, fixed))(t).ID, fixed.ID)

	// Update: every mutable field, tags included.
	time.Sleep(2 * time.Millisecond)
	u := must(s.UpdateTrustAnchor(c, a.ID, func(a *store.TrustAnchor) error {
		a.Name = "ta-1b"
		a.Enabled = false
		a.CRLDPRevocationEnabled = true
		a.SourceData = "other"
		a.NotificationSettings = nil
		a.Tags = map[string]string{"new": "tag"}
		return nil
	}))(t)
	if !u.UpdatedAt.After(a.UpdatedAt) || !u.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("timestamps after update: created %v updated %v (before %v)", u.CreatedAt, u.UpdatedAt, a.UpdatedAt)
	}
	want = store.TrustAnchor{ID: a.ID, Name: "ta-1b", SourceType: store.SourceCertificateBundle, SourceData: "other",
		CRLDPRevocationEnabled: true, NotificationSettings: []store.NotificationSetting{},
		Tags: map[string]string{"new": "tag"}, CreatedAt: a.CreatedAt, UpdatedAt: u.UpdatedAt}
	equal(t, "updated", u, &want)
	equal(t, "get updated", must(s.GetTrustAnchor(c, a.ID))(t), u)

	_, err = s.UpdateTrustAnchor(c, a.ID, func(a *store.TrustAnchor) error { a.Name = "ta-fixed"; return nil })
	wantErr(t, err, store.ErrConflict)
	_, err = s.UpdateTrustAnchor(c, a.ID, func(a *store.TrustAnchor) error { a.ID = "x"; return nil })
	wantErr(t, err, store.ErrInvalid)
	_, err = s.UpdateTrustAnchor(c, "missing", func(*store.TrustAnchor) error { return nil })
	wantErr(t, err, store.ErrNotFound)
	boom := errors.New("boom")
	_, err = s.UpdateTrustAnchor(c, a.ID, func(a *store.TrustAnchor) error { a.Name = "zzz"; return boom })
	wantErr(t, err, boom)
	equal(t, "after failed update", must(s.GetTrustAnchor(c, a.ID))(t), u)

	// Upsert by name: creates, then overwrites keeping id and creation time.
	up := anchor("ta-up")
	created := must(s.UpsertTrustAnchorByName(c, up))(t)
	up2 := anchor("ta-up")
	up2.SourceData = "replaced"
	up2.Tags = nil
	replaced := must(s.UpsertTrustAnchorByName(c, up2))(t)
	if replaced.ID != created.ID || !replaced.CreatedAt.Equal(created.CreatedAt) ||
		replaced.SourceData != "replaced" || len(replaced.Tags) != 0 {
		t.Fatalf("upsert did not overwrite in place: %+v", replaced)
	}

	// Delete returns the deleted anchor and cascades to its CRLs.
	crl := must(s.CreateCRL(c, &store.CRL{Name: "crl", TrustAnchorID: a.ID, Data: []byte("x")}))(t)
	del := must(s.DeleteTrustAnchor(c, a.ID))(t)
	equal(t, "deleted", del, u)
	_, err = s.GetTrustAnchor(c, a.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetCRL(c, crl.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.DeleteTrustAnchor(c, a.ID)
	wantErr(t, err, store.ErrNotFound)
	// The name is free again, and the new anchor starts without old tags.
	again := must(s.CreateTrustAnchor(c, &store.TrustAnchor{Name: "ta-1b", SourceType: store.SourceCertificateBundle}))(t)
	equal(t, "tags of recreated", again.Tags, map[string]string{})
}

// ---- CRLs ----

func testCRLs(t *testing.T, s store.Store) {
	c := ctx(t)
	a := must(s.CreateTrustAnchor(c, anchor("ta")))(t)
	b := must(s.CreateTrustAnchor(c, anchor("tb")))(t)
	data := []byte{0x30, 0x82, 0x00, 0xff, 0x00} // binary, with NULs
	in := &store.CRL{Name: "crl-1", TrustAnchorID: a.ID, Data: data, Enabled: true, Tags: map[string]string{"k": "v"}}
	crl := must(s.CreateCRL(c, in))(t)
	if !uuidRE.MatchString(crl.ID) {
		t.Fatalf("id %q", crl.ID)
	}
	recent(t, "CreatedAt", crl.CreatedAt)
	want := *in
	want.ID, want.CreatedAt, want.UpdatedAt = crl.ID, crl.CreatedAt, crl.UpdatedAt
	equal(t, "created", crl, &want)
	equal(t, "get", must(s.GetCRL(c, crl.ID))(t), crl)
	equal(t, "get by name", must(s.GetCRLByName(c, "crl-1"))(t), crl)

	_, err := s.CreateCRL(c, &store.CRL{Name: "crl-1", TrustAnchorID: a.ID, Data: data})
	wantErr(t, err, store.ErrConflict)
	_, err = s.CreateCRL(c, &store.CRL{Name: "orphan", TrustAnchorID: "missing", Data: data})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetCRL(c, "missing")
	wantErr(t, err, store.ErrNotFound)

	// At most two per anchor.
	must(s.CreateCRL(c, &store.CRL{Name: "crl-2", TrustAnchorID: a.ID, Data: data}))(t)
	_, err = s.CreateCRL(c, &store.CRL{Name: "crl-3", TrustAnchorID: a.ID, Data: data})
	wantErr(t, err, store.ErrLimitExceeded)
	// Updating a CRL of a full anchor is fine; moving a third one there is not.
	must(s.UpdateCRL(c, crl.ID, func(c *store.CRL) error { c.Enabled = false; return nil }))(t)
	other := must(s.CreateCRL(c, &store.CRL{Name: "crl-b", TrustAnchorID: b.ID, Data: nil}))(t)
	equal(t, "nil data", other.Data, []byte{})
	_, err = s.UpdateCRL(c, other.ID, func(c *store.CRL) error { c.TrustAnchorID = a.ID; return nil })
	wantErr(t, err, store.ErrLimitExceeded)

	u := must(s.UpdateCRL(c, crl.ID, func(c *store.CRL) error {
		c.Name, c.Data, c.Enabled, c.Tags = "crl-1b", []byte("PEM"), true, nil
		return nil
	}))(t)
	if u.Name != "crl-1b" || string(u.Data) != "PEM" || !u.Enabled || len(u.Tags) != 0 {
		t.Fatalf("updated: %+v", u)
	}
	_, err = s.UpdateCRL(c, crl.ID, func(c *store.CRL) error { c.Name = "crl-2"; return nil })
	wantErr(t, err, store.ErrConflict)

	created := must(s.UpsertCRLByName(c, &store.CRL{Name: "crl-up", TrustAnchorID: b.ID, Data: []byte("1")}))(t)
	replaced := must(s.UpsertCRLByName(c, &store.CRL{Name: "crl-up", TrustAnchorID: b.ID, Data: []byte("2")}))(t)
	if created.ID != replaced.ID || string(replaced.Data) != "2" {
		t.Fatalf("upsert: %+v then %+v", created, replaced)
	}

	equal(t, "deleted", must(s.DeleteCRL(c, crl.ID))(t), u)
	_, err = s.DeleteCRL(c, crl.ID)
	wantErr(t, err, store.ErrNotFound)
	// Room for another one now.
	must(s.CreateCRL(c, &store.CRL{Name: "crl-3", TrustAnchorID: a.ID, Data: data}))(t)
}

// ---- profiles ----

func testProfiles(t *testing.T, s store.Store) {
	c := ctx(t)
	in := profile("p-1")
	p := must(s.CreateProfile(c, in))(t)
	if !uuidRE.MatchString(p.ID) {
		t.Fatalf("id %q", p.ID)
	}
	recent(t, "CreatedAt", p.CreatedAt)
	want := *in
	want.ID, want.CreatedAt, want.UpdatedAt = p.ID, p.CreatedAt, p.UpdatedAt
	equal(t, "created", p, &want)
	equal(t, "get", must(s.GetProfile(c, p.ID))(t), p)
	equal(t, "get by name", must(s.GetProfileByName(c, "p-1"))(t), p)

	// Empty lists come back empty, not nil.
	bare := must(s.CreateProfile(c, &store.Profile{Name: "bare"}))(t)
	if bare.RoleARNs == nil || bare.ManagedPolicyARNs == nil || bare.AttributeMappings == nil || bare.Tags == nil {
		t.Fatalf("nil collections: %+v", bare)
	}

	_, err := s.CreateProfile(c, profile("p-1"))
	wantErr(t, err, store.ErrConflict)
	_, err = s.GetProfile(c, "missing")
	wantErr(t, err, store.ErrNotFound)

	u := must(s.UpdateProfile(c, p.ID, func(p *store.Profile) error {
		p.Name = "p-1b"
		p.RoleARNs = []string{"arn:aws:iam::000000000000:role/c"}
		p.DurationSeconds = 900
		p.SessionPolicy = ""
		p.ManagedPolicyARNs = nil
		p.Enabled = false
		p.AcceptRoleSessionName = false
		p.RequireInstanceProperties = true
		p.AttributeMappings = p.AttributeMappings[:1]
		p.Tags["more"] = "x"
		return nil
	}))(t)
	want = store.Profile{ID: p.ID, Name: "p-1b", RoleARNs: []string{"arn:aws:iam::000000000000:role/c"},
		DurationSeconds: 900, ManagedPolicyARNs: []string{}, RequireInstanceProperties: true,
		AttributeMappings: in.AttributeMappings[:1], CreatedBy: in.CreatedBy,
		Tags: map[string]string{"env": "test", "more": "x"}, CreatedAt: p.CreatedAt, UpdatedAt: u.UpdatedAt}
	equal(t, "updated", u, &want)
	_, err = s.UpdateProfile(c, p.ID, func(p *store.Profile) error { p.Name = "bare"; return nil })
	wantErr(t, err, store.ErrConflict)
	_, err = s.UpdateProfile(c, "missing", func(*store.Profile) error { return nil })
	wantErr(t, err, store.ErrNotFound)

	up := must(s.UpsertProfileByName(c, profile("p-up")))(t)
	up2 := profile("p-up")
	up2.DurationSeconds = 43200
	re := must(s.UpsertProfileByName(c, up2))(t)
	if re.ID != up.ID || re.DurationSeconds != 43200 {
		t.Fatalf("upsert: %+v", re)
	}

	equal(t, "deleted", must(s.DeleteProfile(c, p.ID))(t), u)
	_, err = s.GetProfile(c, p.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.DeleteProfile(c, p.ID)
	wantErr(t, err, store.ErrNotFound)
}

// ---- pagination ----

func testPagination(t *testing.T, s store.Store) {
	c := ctx(t)
	const n = 7
	anchors := map[string]bool{}
	for i := range n {
		a := must(s.CreateTrustAnchor(c, anchor(fmt.Sprintf("ta-%d", i))))(t)
		anchors[a.ID] = true
		must(s.CreateCRL(c, &store.CRL{Name: fmt.Sprintf("crl-%d", i), TrustAnchorID: a.ID, Data: []byte("x")}))(t)
		must(s.CreateProfile(c, profile(fmt.Sprintf("p-%d", i))))(t)
		must(s.CreateRole(c, role(fmt.Sprintf("Role-%d", i))))(t)
		newPolicy(t, s, fmt.Sprintf("pol-%d", i))
		must(s.CreateUser(c, &store.User{Name: fmt.Sprintf("user-%d", i)}))(t)
	}
	var sightings []store.SubjectSighting
	for i := range n {
		sightings = append(sightings, store.SubjectSighting{X509Subject: fmt.Sprintf("CN=s%d", i), SerialNumber: "1", Issuer: "CN=ca"})
	}
	ok(t, s.UpsertSubjects(c, sightings))

	type lister func(store.ListOptions) ([]string, string, error)
	keys := func(f func(o store.ListOptions) (int, func(int) string, string, error)) lister {
		return func(o store.ListOptions) ([]string, string, error) {
			n, key, next, err := f(o)
			var out []string
			for i := range n {
				out = append(out, key(i))
			}
			return out, next, err
		}
	}
	listers := map[string]lister{
		"trust anchors": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListTrustAnchors(c, o)
			return len(l), func(i int) string { return l[i].ID }, next, err
		}),
		"CRLs": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListCRLs(c, o)
			return len(l), func(i int) string { return l[i].Name }, next, err
		}),
		"profiles": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListProfiles(c, o)
			return len(l), func(i int) string { return l[i].Name }, next, err
		}),
		"subjects": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListSubjects(c, o)
			return len(l), func(i int) string { return l[i].X509Subject }, next, err
		}),
		"roles": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListRoles(c, o)
			return len(l), func(i int) string { return l[i].Name }, next, err
		}),
		"policies": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListPolicies(c, o)
			return len(l), func(i int) string { return l[i].Name }, next, err
		}),
		"users": keys(func(o store.ListOptions) (int, func(int) string, string, error) {
			l, next, err := s.ListUsers(c, o)
			return len(l), func(i int) string { return l[i].Name }, next, err
		}),
	}
	for name, list := range listers {
		t.Run(name, func(t *testing.T) {
			all, next, err := list(store.ListOptions{})
			ok(t, err)
			if len(all) != n || next != "" {
				t.Fatalf("default page: %d items, next %q", len(all), next)
			}
			var got []string
			var sizes []int
			tok := ""
			for {
				page, next, err := list(store.ListOptions{MaxResults: 3, NextToken: tok})
				ok(t, err)
				got = append(got, page...)
				sizes = append(sizes, len(page))
				if next == "" {
					break
				}
				tok = next
				if len(sizes) > n {
					t.Fatal("pagination does not end")
				}
			}
			equal(t, "page sizes", sizes, []int{3, 3, 1})
			equal(t, "paged items", got, all)
			_, _, err = list(store.ListOptions{NextToken: "!!not a token!!"})
			wantErr(t, err, store.ErrInvalidToken)
		})
	}
	// IAM lists are ordered by name.
	roles, _ := mustPage(s.ListRoles(c, store.ListOptions{}))(t)
	for i, r := range roles {
		if want := fmt.Sprintf("Role-%d", i); r.Name != want {
			t.Fatalf("roles[%d] = %s, want %s", i, r.Name, want)
		}
	}
	_ = anchors
}

// mustPage checks the error of a List call: mustPage(s.ListX(…))(t).
func mustPage[T any](v T, next string, err error) func(t *testing.T) (T, string) {
	return func(t *testing.T) (T, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, next
	}
}

// ---- tags ----

func testTags(t *testing.T, s store.Store) {
	c := ctx(t)
	a := must(s.CreateTrustAnchor(c, &store.TrustAnchor{Name: "ta", SourceType: store.SourceCertificateBundle}))(t)
	crl := must(s.CreateCRL(c, &store.CRL{Name: "crl", TrustAnchorID: a.ID}))(t)
	p := must(s.CreateProfile(c, &store.Profile{Name: "p"}))(t)
	must(s.CreateRole(c, &store.Role{Name: "Role"}))(t)
	pol := newPolicy(t, s, "pol")
	must(s.CreateUser(c, &store.User{Name: "user"}))(t)
	refs := []store.ResourceRef{
		{Kind: store.KindTrustAnchor, Key: a.ID},
		{Kind: store.KindCRL, Key: crl.ID},
		{Kind: store.KindProfile, Key: p.ID},
		{Kind: store.KindRole, Key: "role"}, // names are case-insensitive
		{Kind: store.KindPolicy, Key: pol.ARN},
		{Kind: store.KindUser, Key: "user"},
	}
	for _, ref := range refs {
		t.Run(string(ref.Kind), func(t *testing.T) {
			equal(t, "initial", must(s.ListTags(c, ref))(t), map[string]string{})
			ok(t, s.TagResource(c, ref, map[string]string{"a": "1", "b": "2"}))
			ok(t, s.TagResource(c, ref, map[string]string{"b": "3", "c": ""}))
			equal(t, "tagged", must(s.ListTags(c, ref))(t), map[string]string{"a": "1", "b": "3", "c": ""})
			ok(t, s.UntagResource(c, ref, []string{"a", "missing"}))
			equal(t, "untagged", must(s.ListTags(c, ref))(t), map[string]string{"b": "3", "c": ""})

			many := map[string]string{}
			for i := range store.MaxTagsPerResource - 1 {
				many[fmt.Sprintf("k%02d", i)] = "v"
			}
			v := version(t, s)
			wantErr(t, s.TagResource(c, ref, many), store.ErrLimitExceeded) // 2 + 49 > 50
			equal(t, "version after failed tag", version(t, s), v)
			equal(t, "after failed tag", must(s.ListTags(c, ref))(t), map[string]string{"b": "3", "c": ""})
			ok(t, s.UntagResource(c, ref, []string{"b"}))
			ok(t, s.TagResource(c, ref, many)) // exactly 50
			ok(t, s.UntagResource(c, ref, slicesOfKeys(many)))
			ok(t, s.UntagResource(c, ref, []string{"c"}))

			missing := ref
			missing.Key = "arn:aws:iam::000000000000:policy/nope"
			wantErr(t, s.TagResource(c, missing, map[string]string{"a": "b"}), store.ErrNotFound)
			_, err := s.ListTags(c, missing)
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.UntagResource(c, missing, []string{"a"}), store.ErrNotFound)
		})
	}
	// Tags are per resource: tagging one does not tag another of the same kind.
	p2 := must(s.CreateProfile(c, &store.Profile{Name: "p2"}))(t)
	ok(t, s.TagResource(c, store.ResourceRef{Kind: store.KindProfile, Key: p.ID}, map[string]string{"only": "p"}))
	equal(t, "other profile", must(s.GetProfile(c, p2.ID))(t).Tags, map[string]string{})
	// Tags given at create time count against the limit too.
	big := map[string]string{}
	for i := range store.MaxTagsPerResource + 1 {
		big[fmt.Sprint(i)] = ""
	}
	_, err := s.CreateProfile(c, &store.Profile{Name: "big", Tags: big})
	wantErr(t, err, store.ErrLimitExceeded)
	_, err = s.GetProfileByName(c, "big")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.TagResource(c, store.ResourceRef{Kind: "bogus", Key: "x"}, nil), store.ErrInvalid)
}

func slicesOfKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
