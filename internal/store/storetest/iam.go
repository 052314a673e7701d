package storetest

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
)

var iamIDRE = regexp.MustCompile(`^[A-Z]{4}[A-Z2-7]{17}$`)

func testRoles(t *testing.T, s store.Store) {
	c := ctx(t)
	p1 := newPolicy(t, s, "p1")
	p2 := newPolicy(t, s, "p2")
	in := role("Admin")
	in.AttachedPolicies = []string{p2.ARN, p1.ARN, p1.ARN} // unsorted, duplicated
	in.PermissionsBoundary = p1.ARN
	r := must(s.CreateRole(c, in))(t)
	if !iamIDRE.MatchString(r.ID) || r.ID[:4] != "AROA" {
		t.Fatalf("role id %q", r.ID)
	}
	recent(t, "CreatedAt", r.CreatedAt)
	want := *in
	want.ID, want.CreatedAt, want.UpdatedAt = r.ID, r.CreatedAt, r.UpdatedAt
	want.AttachedPolicies = []string{p1.ARN, p2.ARN}
	equal(t, "created", r, &want)
	equal(t, "get", must(s.GetRole(c, "Admin"))(t), r)
	equal(t, "get, other case", must(s.GetRole(c, "ADMIN"))(t), r)
	_, err := s.GetRole(c, "nobody")
	wantErr(t, err, store.ErrNotFound)

	// Names are unique case-insensitively.
	_, err = s.CreateRole(c, role("admin"))
	wantErr(t, err, store.ErrConflict)
	// Attaching a policy that does not exist fails and creates nothing.
	bad := role("Bad")
	bad.AttachedPolicies = []string{policyARN("nope")}
	_, err = s.CreateRole(c, bad)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetRole(c, "Bad")
	wantErr(t, err, store.ErrNotFound)

	// Defaults: path "/", empty collections.
	bare := must(s.CreateRole(c, &store.Role{Name: "Bare"}))(t)
	if bare.Path != "/" || bare.InlinePolicies == nil || bare.AttachedPolicies == nil || bare.Tags == nil {
		t.Fatalf("bare role: %+v", bare)
	}

	cutoff := time.Now().Add(-time.Hour).Round(0).UTC()
	u := must(s.UpdateRole(c, "admin", func(r *store.Role) error {
		r.Description = "changed"
		r.MaxSessionDuration = 43200
		r.AssumeRolePolicy = "{}"
		r.PermissionsBoundary = ""
		r.InlinePolicies = map[string]string{"second": "{}"}
		r.AttachedPolicies = r.AttachedPolicies[1:]
		r.SessionsRevokedBefore = cutoff
		delete(r.Tags, "owner")
		return nil
	}))(t)
	want = store.Role{Name: "Admin", ID: r.ID, Path: "/svc/", AssumeRolePolicy: "{}", Description: "changed",
		MaxSessionDuration: 43200, Tags: map[string]string{}, InlinePolicies: map[string]string{"second": "{}"},
		AttachedPolicies: []string{p2.ARN}, SessionsRevokedBefore: cutoff, CreatedAt: r.CreatedAt, UpdatedAt: u.UpdatedAt}
	equal(t, "updated", u, &want)
	if !u.SessionsRevokedBefore.Equal(cutoff) {
		t.Fatalf("cutoff %v, want %v", u.SessionsRevokedBefore, cutoff)
	}
	_, err = s.UpdateRole(c, "Admin", func(r *store.Role) error { r.Name = "Other"; return nil })
	wantErr(t, err, store.ErrInvalid)
	_, err = s.UpdateRole(c, "Admin", func(r *store.Role) error {
		r.AttachedPolicies = append(r.AttachedPolicies, policyARN("nope"))
		r.Description = "lost"
		return nil
	})
	wantErr(t, err, store.ErrNotFound)
	equal(t, "after failed update", must(s.GetRole(c, "Admin"))(t), u)
	_, err = s.UpdateRole(c, "nobody", func(*store.Role) error { return nil })
	wantErr(t, err, store.ErrNotFound)

	// Attachment limit.
	var many []string
	for i := range store.MaxAttachedPoliciesPerRole + 1 {
		many = append(many, newPolicy(t, s, fmt.Sprintf("many-%d", i)).ARN)
	}
	_, err = s.UpdateRole(c, "Bare", func(r *store.Role) error { r.AttachedPolicies = many; return nil })
	wantErr(t, err, store.ErrLimitExceeded)
	must(s.UpdateRole(c, "Bare", func(r *store.Role) error {
		r.AttachedPolicies = many[:store.MaxAttachedPoliciesPerRole]
		return nil
	}))(t)

	// Attachment counts and delete conflicts.
	equal(t, "p2 attachments", must(s.GetPolicy(c, p2.ARN))(t).AttachmentCount, 1)
	_, err = s.DeletePolicy(c, p2.ARN)
	wantErr(t, err, store.ErrConflict)
	_, err = s.DeleteRole(c, "Admin")
	wantErr(t, err, store.ErrConflict)
	must(s.UpdateRole(c, "Admin", func(r *store.Role) error {
		r.AttachedPolicies, r.InlinePolicies = nil, nil
		return nil
	}))(t)
	equal(t, "p2 attachments after detach", must(s.GetPolicy(c, p2.ARN))(t).AttachmentCount, 0)
	del := must(s.DeleteRole(c, "ADMIN"))(t)
	equal(t, "deleted name", del.Name, "Admin")
	_, err = s.GetRole(c, "Admin")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.DeleteRole(c, "Admin")
	wantErr(t, err, store.ErrNotFound)
	must(s.DeletePolicy(c, p2.ARN))(t)

	// Upsert: creates, then overwrites everything but name, id and creation time.
	up := must(s.UpsertRole(c, role("Boot")))(t)
	next := role("BOOT")
	next.Description = "v2"
	next.InlinePolicies = nil
	next.AttachedPolicies = []string{p1.ARN}
	re := must(s.UpsertRole(c, next))(t)
	if re.ID != up.ID || re.Name != "Boot" || re.Description != "v2" || len(re.InlinePolicies) != 0 ||
		len(re.AttachedPolicies) != 1 || !re.CreatedAt.Equal(up.CreatedAt) {
		t.Fatalf("upsert: %+v", re)
	}
}

func testPolicies(t *testing.T, s store.Store) {
	c := ctx(t)
	in := &store.Policy{Name: "ReadOnly", Path: "/team/", ARN: policyARN("team/ReadOnly"), Description: "d",
		Tags: map[string]string{"t": "1"}}
	p := must(s.CreatePolicy(c, in, policyDoc(1)))(t)
	if !iamIDRE.MatchString(p.ID) || p.ID[:4] != "ANPA" {
		t.Fatalf("policy id %q", p.ID)
	}
	recent(t, "CreatedAt", p.CreatedAt)
	want := store.Policy{Name: "ReadOnly", ID: p.ID, Path: "/team/", ARN: in.ARN, Description: "d",
		DefaultVersionID: "v1", Versions: []store.PolicyVersion{{ID: "v1", Document: policyDoc(1), IsDefault: true,
			CreatedAt: p.CreatedAt}}, Tags: map[string]string{"t": "1"}, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	equal(t, "created", p, &want)
	equal(t, "get", must(s.GetPolicy(c, in.ARN))(t), p)
	equal(t, "get by name", must(s.GetPolicyByName(c, "readonly"))(t), p)
	equal(t, "default document", p.DefaultDocument(), policyDoc(1))

	_, err := s.CreatePolicy(c, &store.Policy{Name: "READONLY", ARN: policyARN("x")}, "{}")
	wantErr(t, err, store.ErrConflict)
	_, err = s.CreatePolicy(c, &store.Policy{Name: "x", ARN: in.ARN}, "{}")
	wantErr(t, err, store.ErrConflict)
	_, err = s.CreatePolicy(c, &store.Policy{Name: "noarn"}, "{}")
	wantErr(t, err, store.ErrInvalid)
	_, err = s.GetPolicy(c, policyARN("nope"))
	wantErr(t, err, store.ErrNotFound)

	// Versions: v2..v5, then the limit.
	for i := 2; i <= store.MaxPolicyVersions; i++ {
		v := must(s.CreatePolicyVersion(c, in.ARN, policyDoc(i), false))(t)
		equal(t, "version id", v.ID, fmt.Sprintf("v%d", i))
	}
	_, err = s.CreatePolicyVersion(c, in.ARN, policyDoc(6), true)
	wantErr(t, err, store.ErrLimitExceeded)
	_, err = s.CreatePolicyVersion(c, policyARN("nope"), "{}", false)
	wantErr(t, err, store.ErrNotFound)

	ok(t, s.SetDefaultPolicyVersion(c, in.ARN, "v3"))
	got := must(s.GetPolicy(c, in.ARN))(t)
	equal(t, "default", got.DefaultVersionID, "v3")
	equal(t, "default document", got.DefaultDocument(), policyDoc(3))
	for _, v := range got.Versions {
		if v.IsDefault != (v.ID == "v3") {
			t.Fatalf("version %s IsDefault = %v", v.ID, v.IsDefault)
		}
	}
	wantErr(t, s.SetDefaultPolicyVersion(c, in.ARN, "v9"), store.ErrNotFound)
	wantErr(t, s.DeletePolicyVersion(c, in.ARN, "v3"), store.ErrConflict)
	wantErr(t, s.DeletePolicyVersion(c, in.ARN, "v9"), store.ErrNotFound)
	ok(t, s.DeletePolicyVersion(c, in.ARN, "v1"))
	// Version ids are never reused.
	v := must(s.CreatePolicyVersion(c, in.ARN, policyDoc(6), true))(t)
	equal(t, "new version id", v.ID, "v6")
	got = must(s.GetPolicy(c, in.ARN))(t)
	var ids []string
	for _, v := range got.Versions {
		ids = append(ids, v.ID)
	}
	equal(t, "versions", ids, []string{"v2", "v3", "v4", "v5", "v6"})
	equal(t, "default", got.DefaultVersionID, "v6")

	// Upsert: same document is a no-op for versions; a new one evicts the
	// oldest non-default version and becomes the default.
	same := must(s.UpsertPolicy(c, &store.Policy{Name: "ReadOnly", ARN: in.ARN}, policyDoc(6)))(t)
	equal(t, "versions after same-doc upsert", len(same.Versions), 5)
	changed := must(s.UpsertPolicy(c, &store.Policy{Name: "ReadOnly", ARN: in.ARN}, policyDoc(7)))(t)
	ids = nil
	for _, v := range changed.Versions {
		ids = append(ids, v.ID)
	}
	equal(t, "versions after upsert", ids, []string{"v3", "v4", "v5", "v6", "v7"})
	equal(t, "default after upsert", changed.DefaultDocument(), policyDoc(7))
	fresh := must(s.UpsertPolicy(c, &store.Policy{Name: "Fresh", ARN: policyARN("Fresh")}, "{}"))(t)
	equal(t, "fresh default", fresh.DefaultVersionID, "v1")

	del := must(s.DeletePolicy(c, in.ARN))(t)
	equal(t, "deleted", del.ID, p.ID)
	_, err = s.GetPolicy(c, in.ARN)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.DeletePolicy(c, in.ARN)
	wantErr(t, err, store.ErrNotFound)
	// The name is free again and starts at v1.
	again := must(s.CreatePolicy(c, in, "{}"))(t)
	equal(t, "recreated versions", len(again.Versions), 1)
	equal(t, "recreated tags", again.Tags, map[string]string{"t": "1"})
}

func testUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	pol := newPolicy(t, s, "admin")
	in := &store.User{Name: "alice", Path: "/ops/", Tags: map[string]string{"a": "b"},
		InlinePolicies: map[string]string{"x": "{}"}, AttachedPolicies: []string{pol.ARN}}
	u := must(s.CreateUser(c, in))(t)
	if !iamIDRE.MatchString(u.ID) || u.ID[:4] != "AIDA" {
		t.Fatalf("user id %q", u.ID)
	}
	want := *in
	want.ID, want.CreatedAt, want.UpdatedAt = u.ID, u.CreatedAt, u.UpdatedAt
	equal(t, "created", u, &want)
	equal(t, "get", must(s.GetUser(c, "ALICE"))(t), u)
	_, err := s.CreateUser(c, &store.User{Name: "Alice"})
	wantErr(t, err, store.ErrConflict)
	_, err = s.GetUser(c, "bob")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.CreateUser(c, &store.User{Name: "bad", AttachedPolicies: []string{policyARN("nope")}})
	wantErr(t, err, store.ErrNotFound)
	equal(t, "policy attachments", must(s.GetPolicy(c, pol.ARN))(t).AttachmentCount, 1)

	created := time.Now().Add(-time.Minute).Round(0).UTC()
	k1 := must(s.CreateAccessKey(c, &store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA1", UserName: "Alice",
		SealedSecret: []byte{1, 2, 0, 3}, CreatedAt: created}))(t)
	equal(t, "key", k1, &store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA1", UserName: "alice", SealedSecret: []byte{1, 2, 0, 3},
		Status: store.AccessKeyActive, CreatedAt: created})
	equal(t, "get key", must(s.GetAccessKey(c, k1.ID))(t), k1)
	_, err = s.CreateAccessKey(c, &store.AccessKey{ID: k1.ID, UserName: "alice"})
	wantErr(t, err, store.ErrConflict)
	_, err = s.CreateAccessKey(c, &store.AccessKey{ID: "AKIAX", UserName: "bob"})
	wantErr(t, err, store.ErrNotFound)
	k2 := must(s.CreateAccessKey(c, &store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA2", UserName: "alice",
		Status: store.AccessKeyInactive}))(t)
	recent(t, "key CreatedAt", k2.CreatedAt)
	_, err = s.CreateAccessKey(c, &store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA3", UserName: "alice"})
	wantErr(t, err, store.ErrLimitExceeded)
	equal(t, "list keys", must(s.ListAccessKeys(c, "alice"))(t), []*store.AccessKey{k1, k2})
	_, err = s.ListAccessKeys(c, "bob")
	wantErr(t, err, store.ErrNotFound)

	st := must(s.SetAccessKeyStatus(c, k1.ID, store.AccessKeyInactive))(t)
	equal(t, "status", st.Status, store.AccessKeyInactive)
	_, err = s.SetAccessKeyStatus(c, k1.ID, "Bogus")
	wantErr(t, err, store.ErrInvalid)
	_, err = s.SetAccessKeyStatus(c, "AKIANOPE", store.AccessKeyActive)
	wantErr(t, err, store.ErrNotFound)

	uu := must(s.UpdateUser(c, "alice", func(u *store.User) error {
		u.Path = "/"
		u.InlinePolicies = nil
		u.AttachedPolicies = nil
		u.Tags = map[string]string{}
		return nil
	}))(t)
	if uu.Path != "/" || len(uu.InlinePolicies)+len(uu.AttachedPolicies)+len(uu.Tags) != 0 {
		t.Fatalf("updated user: %+v", uu)
	}
	_, err = s.UpdateUser(c, "alice", func(u *store.User) error { u.Name = "x"; return nil })
	wantErr(t, err, store.ErrInvalid)

	_, err = s.DeleteUser(c, "alice")
	wantErr(t, err, store.ErrConflict) // still has keys
	ok(t, s.DeleteAccessKey(c, k1.ID))
	ok(t, s.DeleteAccessKey(c, k2.ID))
	wantErr(t, s.DeleteAccessKey(c, k2.ID), store.ErrNotFound)
	_, err = s.GetAccessKey(c, k1.ID)
	wantErr(t, err, store.ErrNotFound)
	must(s.DeleteUser(c, "alice"))(t)
	_, err = s.GetUser(c, "alice")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.DeleteUser(c, "alice")
	wantErr(t, err, store.ErrNotFound)
}

func testKeyring(t *testing.T, s store.Store) {
	c := ctx(t)
	equal(t, "empty", must(s.ListKeys(c))(t), []store.KeyRecord{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	k1 := store.KeyRecord{ID: "k1", Sealed: []byte{0, 1, 2}, CreatedAt: t0, ActiveUntil: t0.Add(24 * time.Hour),
		RetireAt: t0.Add(36 * time.Hour)}
	k2 := store.KeyRecord{ID: "k2", Sealed: []byte("sealed"), CreatedAt: t0.Add(time.Hour),
		ActiveUntil: t0.Add(25 * time.Hour), RetireAt: t0.Add(37 * time.Hour)}
	ok(t, s.PutKey(c, k2))
	ok(t, s.PutKey(c, k1))
	equal(t, "keys oldest first", must(s.ListKeys(c))(t), []store.KeyRecord{k1, k2})
	k1.ActiveUntil = t0.Add(time.Hour)
	ok(t, s.PutKey(c, k1))
	equal(t, "replaced", must(s.ListKeys(c))(t), []store.KeyRecord{k1, k2})
	ok(t, s.DeleteKey(c, "k1"))
	equal(t, "after delete", must(s.ListKeys(c))(t), []store.KeyRecord{k2})
	wantErr(t, s.DeleteKey(c, "k1"), store.ErrNotFound)
	wantErr(t, s.PutKey(c, store.KeyRecord{}), store.ErrInvalid)
	equal(t, "in config", must(s.LoadConfig(c))(t).Keys, []store.KeyRecord{k2})
}

func testSubjects(t *testing.T, s store.Store) {
	c := ctx(t)
	v := version(t, s)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	batch := []store.SubjectSighting{
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", Certificate: []byte("pem1"), SeenAt: t0,
			InstanceProperties: map[string]string{"host": "x"}},
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", SeenAt: t0.Add(2 * time.Minute), Failed: true,
			InstanceProperties: map[string]string{"host": "x"}},
		{X509Subject: "CN=a", SerialNumber: "2", Issuer: "CN=ca", Certificate: []byte("pem2"), SeenAt: t0.Add(time.Minute)},
		{X509Subject: "CN=b", SerialNumber: "9", Issuer: "CN=ca"},
	}
	ok(t, s.UpsertSubjects(c, batch))
	equal(t, "version after subjects", version(t, s), v)
	// An older sighting arriving late does not move last-seen backwards.
	ok(t, s.UpsertSubjects(c, []store.SubjectSighting{
		{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca", SeenAt: t0.Add(-time.Minute)},
	}))

	list, _ := mustPage(s.ListSubjects(c, store.ListOptions{}))(t)
	if len(list) != 2 {
		t.Fatalf("%d subjects", len(list))
	}
	var a *store.Subject
	for _, sj := range list {
		if sj.ID != store.SubjectID(sj.X509Subject) {
			t.Fatalf("subject id %q, want store.SubjectID(%q) = %q", sj.ID, sj.X509Subject, store.SubjectID(sj.X509Subject))
		}
		if sj.X509Subject == "CN=a" {
			a = sj
		}
	}
	got := must(s.GetSubject(c, a.ID))(t)
	equal(t, "get = list entry", got, a)
	if !got.Enabled || !got.LastSeenAt.Equal(t0.Add(2*time.Minute)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("subject: %+v", got)
	}
	equal(t, "credentials", got.Credentials, []store.SubjectCredential{
		{SerialNumber: "1", Issuer: "CN=ca", Certificate: []byte("pem1"), Enabled: true, Failed: true,
			FirstSeenAt: t0.Add(-time.Minute), LastSeenAt: t0.Add(2 * time.Minute), SeenCount: 3},
		{SerialNumber: "2", Issuer: "CN=ca", Certificate: []byte("pem2"), Enabled: true,
			FirstSeenAt: t0.Add(time.Minute), LastSeenAt: t0.Add(time.Minute), SeenCount: 1},
	})
	equal(t, "instance properties", got.InstanceProperties, []store.InstanceProperties{
		{Properties: map[string]string{"host": "x"}, Failed: true, SeenAt: t0.Add(2 * time.Minute)},
	})
	var b *store.Subject
	for _, sj := range list {
		if sj.X509Subject == "CN=b" {
			b = sj
		}
	}
	recent(t, "default SeenAt", b.LastSeenAt)
	equal(t, "no instance properties", b.InstanceProperties, []store.InstanceProperties{})

	_, err := s.GetSubject(c, "missing")
	wantErr(t, err, store.ErrNotFound)
	ok(t, s.UpsertSubjects(c, nil))
	// A bad sighting rejects the whole batch.
	err = s.UpsertSubjects(c, []store.SubjectSighting{{X509Subject: "CN=c", SerialNumber: "1"}, {SerialNumber: "2"}})
	wantErr(t, err, store.ErrInvalid)
	list, _ = mustPage(s.ListSubjects(c, store.ListOptions{}))(t)
	equal(t, "subjects after bad batch", len(list), 2)

	// A big batch in one call.
	var big []store.SubjectSighting
	for i := range 500 {
		big = append(big, store.SubjectSighting{X509Subject: fmt.Sprintf("CN=bulk-%d", i%100), SerialNumber: fmt.Sprint(i % 7),
			Issuer: "CN=ca"})
	}
	ok(t, s.UpsertSubjects(c, big))
	n := 0
	var total int64
	for tok := ""; ; {
		page, next, err := s.ListSubjects(c, store.ListOptions{MaxResults: 40, NextToken: tok})
		ok(t, err)
		for _, sj := range page {
			n++
			for _, cr := range sj.Credentials {
				if sj.X509Subject != "CN=a" && sj.X509Subject != "CN=b" {
					total += cr.SeenCount
				}
			}
		}
		if next == "" {
			break
		}
		tok = next
	}
	equal(t, "subjects", n, 102)
	equal(t, "sightings counted", total, int64(500))

	// A merged sighting counts Count times; zero or less counts once.
	ok(t, s.UpsertSubjects(c, []store.SubjectSighting{
		{X509Subject: "CN=merged", SerialNumber: "5", Issuer: "CN=ca", SeenAt: t0, Count: 40},
		{X509Subject: "CN=merged", SerialNumber: "5", Issuer: "CN=ca", SeenAt: t0.Add(time.Second), Count: 2, Failed: true},
		{X509Subject: "CN=merged", SerialNumber: "6", Issuer: "CN=ca", SeenAt: t0, Count: -3},
	}))
	merged := must(s.GetSubject(c, store.SubjectID("CN=merged")))(t)
	equal(t, "merged credentials", merged.Credentials, []store.SubjectCredential{
		{SerialNumber: "5", Issuer: "CN=ca", Certificate: []byte{}, Enabled: true, Failed: true,
			FirstSeenAt: t0, LastSeenAt: t0.Add(time.Second), SeenCount: 42},
		{SerialNumber: "6", Issuer: "CN=ca", Certificate: []byte{}, Enabled: true,
			FirstSeenAt: t0, LastSeenAt: t0, SeenCount: 1},
	})
}
