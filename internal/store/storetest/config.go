package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// testVersionBumps runs every mutating method once and checks each bumps the
// config version by exactly one.
func testVersionBumps(t *testing.T, s store.Store) {
	c := ctx(t)
	var ta *store.TrustAnchor
	var crl *store.CRL
	var p *store.Profile
	var pol *store.Policy
	steps := []struct {
		name string
		fn   func() error
	}{
		{"PutSetting", func() error { return s.PutSetting(c, store.SettingRegion, "us-east-1") }},
		{"CreateTrustAnchor", func() (err error) { ta, err = s.CreateTrustAnchor(c, anchor("ta")); return }},
		{"UpdateTrustAnchor", func() error {
			_, err := s.UpdateTrustAnchor(c, ta.ID, func(a *store.TrustAnchor) error { a.Enabled = false; return nil })
			return err
		}},
		{"UpsertTrustAnchorByName", func() error { _, err := s.UpsertTrustAnchorByName(c, anchor("ta")); return err }},
		{"CreateCRL", func() (err error) {
			crl, err = s.CreateCRL(c, &store.CRL{Name: "crl", TrustAnchorID: ta.ID})
			return
		}},
		{"UpdateCRL", func() error {
			_, err := s.UpdateCRL(c, crl.ID, func(c *store.CRL) error { c.Enabled = true; return nil })
			return err
		}},
		{"UpsertCRLByName", func() error {
			_, err := s.UpsertCRLByName(c, &store.CRL{Name: "crl2", TrustAnchorID: ta.ID})
			return err
		}},
		{"DeleteCRL", func() error { _, err := s.DeleteCRL(c, crl.ID); return err }},
		{"CreateProfile", func() (err error) { p, err = s.CreateProfile(c, profile("p")); return }},
		{"UpdateProfile", func() error {
			_, err := s.UpdateProfile(c, p.ID, func(p *store.Profile) error { p.Enabled = false; return nil })
			return err
		}},
		{"UpsertProfileByName", func() error { _, err := s.UpsertProfileByName(c, profile("p")); return err }},
		{"DeleteProfile", func() error { _, err := s.DeleteProfile(c, p.ID); return err }},
		{"CreatePolicy", func() (err error) {
			pol, err = s.CreatePolicy(c, &store.Policy{Name: "pol", ARN: policyARN("pol")}, policyDoc(1))
			return
		}},
		{"CreatePolicyVersion", func() error { _, err := s.CreatePolicyVersion(c, pol.ARN, policyDoc(2), false); return err }},
		{"SetDefaultPolicyVersion", func() error { return s.SetDefaultPolicyVersion(c, pol.ARN, "v2") }},
		{"DeletePolicyVersion", func() error { return s.DeletePolicyVersion(c, pol.ARN, "v1") }},
		{"UpsertPolicy", func() error {
			_, err := s.UpsertPolicy(c, &store.Policy{Name: "pol", ARN: pol.ARN}, policyDoc(3))
			return err
		}},
		{"CreateRole", func() error { _, err := s.CreateRole(c, role("Role")); return err }},
		{"UpdateRole", func() error {
			_, err := s.UpdateRole(c, "Role", func(r *store.Role) error {
				r.AttachedPolicies = []string{pol.ARN}
				r.SessionsRevokedBefore = time.Now()
				return nil
			})
			return err
		}},
		{"UpsertRole", func() error { _, err := s.UpsertRole(c, role("Role")); return err }},
		{"TagResource", func() error {
			return s.TagResource(c, store.ResourceRef{Kind: store.KindRole, Key: "Role"}, map[string]string{"a": "b"})
		}},
		{"UntagResource", func() error {
			return s.UntagResource(c, store.ResourceRef{Kind: store.KindRole, Key: "Role"}, []string{"a"})
		}},
		{"UpdateRole (detach all)", func() error {
			_, err := s.UpdateRole(c, "Role", func(r *store.Role) error {
				r.AttachedPolicies, r.InlinePolicies = nil, nil
				return nil
			})
			return err
		}},
		{"DeleteRole", func() error { _, err := s.DeleteRole(c, "Role"); return err }},
		{"DeletePolicy", func() error { _, err := s.DeletePolicy(c, pol.ARN); return err }},
		{"CreateUser", func() error { _, err := s.CreateUser(c, &store.User{Name: "u"}); return err }},
		{"UpdateUser", func() error {
			_, err := s.UpdateUser(c, "u", func(u *store.User) error { u.Path = "/x/"; return nil })
			return err
		}},
		{"CreateAccessKey", func() error {
			_, err := s.CreateAccessKey(c, &store.AccessKey{ID: "AKIA1", UserName: "u", SealedSecret: []byte("s")})
			return err
		}},
		{"SetAccessKeyStatus", func() error {
			_, err := s.SetAccessKeyStatus(c, "AKIA1", store.AccessKeyInactive)
			return err
		}},
		{"DeleteAccessKey", func() error { return s.DeleteAccessKey(c, "AKIA1") }},
		{"DeleteUser", func() error { _, err := s.DeleteUser(c, "u"); return err }},
		{"PutKey", func() error { return s.PutKey(c, store.KeyRecord{ID: "k", Sealed: []byte("x")}) }},
		{"DeleteKey", func() error { return s.DeleteKey(c, "k") }},
		{"DeleteTrustAnchor", func() error { _, err := s.DeleteTrustAnchor(c, ta.ID); return err }},
	}
	for _, step := range steps {
		before := version(t, s)
		if err := step.fn(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if after := version(t, s); after != before+1 {
			t.Fatalf("%s: version %d -> %d, want +1", step.name, before, after)
		}
		if got := must(s.LoadConfig(c))(t).Version; got != before+1 {
			t.Fatalf("%s: LoadConfig version %d, want %d", step.name, got, before+1)
		}
	}
}

// populate makes one of everything.
func populate(t *testing.T, s store.Store) {
	t.Helper()
	c := ctx(t)
	ok(t, s.PutSetting(c, store.SettingAccountID, "000000000000"))
	ta := must(s.CreateTrustAnchor(c, anchor("ta")))(t)
	must(s.CreateCRL(c, &store.CRL{Name: "crl", TrustAnchorID: ta.ID, Data: []byte("x")}))(t)
	must(s.CreateProfile(c, profile("p")))(t)
	pol := newPolicy(t, s, "pol")
	must(s.CreatePolicyVersion(c, pol.ARN, policyDoc(2), true))(t)
	r := role("Role")
	r.AttachedPolicies = []string{pol.ARN}
	must(s.CreateRole(c, r))(t)
	must(s.CreateUser(c, &store.User{Name: "admin", AttachedPolicies: []string{pol.ARN}}))(t)
	must(s.CreateAccessKey(c, &store.AccessKey{ID: "AKIA1", UserName: "admin", SealedSecret: []byte("s")}))(t)
	ok(t, s.PutKey(c, store.KeyRecord{ID: "k", Sealed: []byte("x"), CreatedAt: time.Now()}))
	ok(t, s.UpsertSubjects(c, []store.SubjectSighting{{X509Subject: "CN=x", SerialNumber: "1", Issuer: "CN=ca"}}))
}

func testReadsDoNotBump(t *testing.T, s store.Store) {
	c := ctx(t)
	populate(t, s)
	cfg := must(s.LoadConfig(c))(t)
	ta, p, crl := cfg.TrustAnchors[0], cfg.Profiles[0], cfg.CRLs[0]
	subjects, _ := mustPage(s.ListSubjects(c, store.ListOptions{}))(t)
	v := version(t, s)
	opts := store.ListOptions{MaxResults: 1}
	reads := []func() error{
		func() error { _, err := s.GetSetting(c, store.SettingAccountID); return err },
		func() error { _, err := s.Settings(c); return err },
		func() error { _, err := s.ConfigVersion(c); return err },
		func() error { _, err := s.LoadConfig(c); return err },
		func() error { _, err := s.GetTrustAnchor(c, ta.ID); return err },
		func() error { _, err := s.GetTrustAnchorByName(c, ta.Name); return err },
		func() error { _, _, err := s.ListTrustAnchors(c, opts); return err },
		func() error { _, err := s.GetCRL(c, crl.ID); return err },
		func() error { _, err := s.GetCRLByName(c, crl.Name); return err },
		func() error { _, _, err := s.ListCRLs(c, opts); return err },
		func() error { _, err := s.GetProfile(c, p.ID); return err },
		func() error { _, err := s.GetProfileByName(c, p.Name); return err },
		func() error { _, _, err := s.ListProfiles(c, opts); return err },
		func() error { _, err := s.GetSubject(c, subjects[0].ID); return err },
		func() error { _, _, err := s.ListSubjects(c, opts); return err },
		func() error { _, err := s.GetRole(c, "Role"); return err },
		func() error { _, _, err := s.ListRoles(c, opts); return err },
		func() error { _, err := s.GetPolicy(c, policyARN("pol")); return err },
		func() error { _, err := s.GetPolicyByName(c, "pol"); return err },
		func() error { _, _, err := s.ListPolicies(c, opts); return err },
		func() error { _, err := s.GetUser(c, "admin"); return err },
		func() error { _, _, err := s.ListUsers(c, opts); return err },
		func() error { _, err := s.GetAccessKey(c, "AKIA1"); return err },
		func() error { _, err := s.ListAccessKeys(c, "admin"); return err },
		func() error { _, err := s.ListKeys(c); return err },
		func() error {
			_, err := s.ListTags(c, store.ResourceRef{Kind: store.KindRole, Key: "Role"})
			return err
		},
		// Subjects are not configuration.
		func() error {
			return s.UpsertSubjects(c, []store.SubjectSighting{{X509Subject: "CN=y", SerialNumber: "2", Issuer: "CN=ca"}})
		},
	}
	for i, read := range reads {
		ok(t, read())
		if got := version(t, s); got != v {
			t.Fatalf("read %d bumped the version %d -> %d", i, v, got)
		}
	}
}

// testAtomicity checks that a failed mutation changes nothing: the whole
// configuration (and its version) reads back the same.
func testAtomicity(t *testing.T, s store.Store) {
	c := ctx(t)
	populate(t, s)
	cfg := must(s.LoadConfig(c))(t)
	ta, p := cfg.TrustAnchors[0], cfg.Profiles[0]
	must(s.CreateCRL(c, &store.CRL{Name: "crl2", TrustAnchorID: ta.ID}))(t)
	for i := 3; i <= store.MaxPolicyVersions; i++ {
		must(s.CreatePolicyVersion(c, policyARN("pol"), policyDoc(i), false))(t)
	}
	tooMany := map[string]string{}
	for i := range store.MaxTagsPerResource + 1 {
		tooMany[strconv.Itoa(i)] = "v"
	}
	boom := errors.New("boom")
	cases := []struct {
		name string
		fn   func() error
		want error
	}{
		{"create role attaching a missing policy", func() error {
			r := role("New")
			r.AttachedPolicies = []string{policyARN("pol"), policyARN("missing")}
			_, err := s.CreateRole(c, r)
			return err
		}, store.ErrNotFound},
		{"create profile with too many tags", func() error {
			pr := profile("new")
			pr.Tags = tooMany
			_, err := s.CreateProfile(c, pr)
			return err
		}, store.ErrLimitExceeded},
		{"update trust anchor: rename then too many tags", func() error {
			_, err := s.UpdateTrustAnchor(c, ta.ID, func(a *store.TrustAnchor) error {
				a.Name, a.Tags = "renamed", tooMany
				return nil
			})
			return err
		}, store.ErrLimitExceeded},
		{"update profile: fn fails after editing", func() error {
			_, err := s.UpdateProfile(c, p.ID, func(p *store.Profile) error {
				p.Name, p.RoleARNs = "changed", nil
				return boom
			})
			return err
		}, boom},
		{"update role: new inline policy, missing attachment", func() error {
			_, err := s.UpdateRole(c, "Role", func(r *store.Role) error {
				r.InlinePolicies = map[string]string{"other": "{}"}
				r.AttachedPolicies = []string{policyARN("missing")}
				return nil
			})
			return err
		}, store.ErrNotFound},
		{"third CRL for an anchor", func() error {
			_, err := s.CreateCRL(c, &store.CRL{Name: "crl3", TrustAnchorID: ta.ID})
			return err
		}, store.ErrLimitExceeded},
		{"sixth policy version", func() error {
			_, err := s.CreatePolicyVersion(c, policyARN("pol"), "{}", true)
			return err
		}, store.ErrLimitExceeded},
		{"upsert policy: new version, then too many tags", func() error {
			_, err := s.UpsertPolicy(c, &store.Policy{Name: "pol", ARN: policyARN("pol"), Tags: tooMany}, "{}")
			return err
		}, store.ErrLimitExceeded},
		{"create user attaching a missing policy", func() error {
			_, err := s.CreateUser(c, &store.User{Name: "new", InlinePolicies: map[string]string{"a": "{}"},
				AttachedPolicies: []string{policyARN("missing")}})
			return err
		}, store.ErrNotFound},
		{"delete role with policies", func() error { _, err := s.DeleteRole(c, "Role"); return err }, store.ErrConflict},
		{"delete attached policy", func() error { _, err := s.DeletePolicy(c, policyARN("pol")); return err }, store.ErrConflict},
		{"delete user with keys", func() error { _, err := s.DeleteUser(c, "admin"); return err }, store.ErrConflict},
		{"third access key", func() error {
			_, err := s.CreateAccessKey(c, &store.AccessKey{ID: "AKIA3", UserName: "admin"})
			return err
		}, store.ErrLimitExceeded},
		{"tag over the limit", func() error {
			return s.TagResource(c, store.ResourceRef{Kind: store.KindProfile, Key: p.ID}, tooMany)
		}, store.ErrLimitExceeded},
		{"delete missing trust anchor", func() error {
			_, err := s.DeleteTrustAnchor(c, "missing")
			return err
		}, store.ErrNotFound},
		{"rename profile onto a taken name", func() error {
			_, err := s.UpdateProfile(c, p.ID, func(p *store.Profile) error { p.Name = "taken"; return nil })
			return err
		}, store.ErrConflict},
	}
	// Setup for the last cases.
	must(s.CreateAccessKey(c, &store.AccessKey{ID: "AKIA2", UserName: "admin"}))(t)
	must(s.CreateProfile(c, profile("taken")))(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := must(s.LoadConfig(c))(t)
			wantErr(t, tc.fn(), tc.want)
			after := must(s.LoadConfig(c))(t)
			equal(t, "config after failed mutation", after, before)
		})
	}
}

func testLoadConfig(t *testing.T, s store.Store) {
	c := ctx(t)
	empty := must(s.LoadConfig(c))(t)
	if empty.TrustAnchors == nil || empty.Roles == nil || empty.Keys == nil || empty.AccessKeys == nil || empty.Settings == nil {
		t.Fatalf("empty config has nil collections: %+v", empty)
	}
	populate(t, s)
	cfg := must(s.LoadConfig(c))(t)
	equal(t, "version", cfg.Version, version(t, s))
	equal(t, "settings", cfg.Settings, must(s.Settings(c))(t))
	anchors, _ := mustPage(s.ListTrustAnchors(c, store.ListOptions{}))(t)
	equal(t, "trust anchors", cfg.TrustAnchors, anchors)
	crls, _ := mustPage(s.ListCRLs(c, store.ListOptions{}))(t)
	equal(t, "CRLs", cfg.CRLs, crls)
	profiles, _ := mustPage(s.ListProfiles(c, store.ListOptions{}))(t)
	equal(t, "profiles", cfg.Profiles, profiles)
	roles, _ := mustPage(s.ListRoles(c, store.ListOptions{}))(t)
	equal(t, "roles", cfg.Roles, roles)
	policies, _ := mustPage(s.ListPolicies(c, store.ListOptions{}))(t)
	equal(t, "policies", cfg.Policies, policies)
	users, _ := mustPage(s.ListUsers(c, store.ListOptions{}))(t)
	equal(t, "users", cfg.Users, users)
	equal(t, "access keys", cfg.AccessKeys, must(s.ListAccessKeys(c, "admin"))(t))
	equal(t, "keys", cfg.Keys, must(s.ListKeys(c))(t))

	// The role's attached policy resolves through Config.Policies to its
	// default version.
	if len(cfg.Roles) != 1 || len(cfg.Roles[0].AttachedPolicies) != 1 {
		t.Fatalf("roles: %+v", cfg.Roles)
	}
	var doc string
	for _, p := range cfg.Policies {
		if p.ARN == cfg.Roles[0].AttachedPolicies[0] {
			doc = p.DefaultDocument()
		}
	}
	equal(t, "resolved default document", doc, policyDoc(2))
}

// testLoadConfigConsistent runs LoadConfig while a writer makes changes that
// are only consistent as a whole.
func testLoadConfigConsistent(t *testing.T, s store.Store) {
	c := ctx(t)
	must(s.CreateRole(c, &store.Role{Name: "R", Description: "0", InlinePolicies: map[string]string{"p": "0"}}))(t)
	v0 := version(t, s)
	const steps = 60
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := 1; i <= steps; i++ {
			var err error
			if i%2 == 1 {
				_, err = s.CreateTrustAnchor(c, &store.TrustAnchor{Name: fmt.Sprint("ta-", i), SourceType: store.SourceCertificateBundle})
			} else {
				_, err = s.UpdateRole(c, "R", func(r *store.Role) error {
					n := strconv.Itoa(i)
					r.Description, r.InlinePolicies = n, map[string]string{"p": n}
					return nil
				})
			}
			if err != nil {
				t.Errorf("writer step %d: %v", i, err)
				return
			}
		}
	}()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loads := 0; ; loads++ {
				select {
				case <-done:
					if loads > 0 {
						return
					}
				default:
				}
				cfg, err := s.LoadConfig(c)
				if err != nil {
					t.Errorf("LoadConfig: %v", err)
					return
				}
				r := cfg.Version - v0
				if int64(len(cfg.TrustAnchors)) != (r+1)/2 {
					t.Errorf("version +%d with %d trust anchors", r, len(cfg.TrustAnchors))
					return
				}
				role := cfg.Roles[0]
				if role.Description != role.InlinePolicies["p"] {
					t.Errorf("torn role: description %s, policy %s", role.Description, role.InlinePolicies["p"])
					return
				}
			}
		}()
	}
	wg.Wait()
	equal(t, "final version", version(t, s), v0+steps)
}

// testConcurrentWriters has a bounded set of goroutines create, tag and
// update resources at once, with readers alongside.
func testConcurrentWriters(t *testing.T, s store.Store) {
	c := ctx(t)
	v0 := version(t, s)
	const workers, each = 6, 15
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("p-%d-%d", w, i)
				p, err := s.CreateProfile(c, &store.Profile{Name: name})
				if err != nil {
					t.Errorf("create %s: %v", name, err)
					return
				}
				if err := s.TagResource(c, store.ResourceRef{Kind: store.KindProfile, Key: p.ID},
					map[string]string{"w": strconv.Itoa(w)}); err != nil {
					t.Errorf("tag %s: %v", name, err)
					return
				}
				if _, err := s.UpdateProfile(c, p.ID, func(p *store.Profile) error {
					p.DurationSeconds += 100
					return nil
				}); err != nil {
					t.Errorf("update %s: %v", name, err)
					return
				}
				if _, err := s.GetProfile(c, p.ID); err != nil {
					t.Errorf("get %s: %v", name, err)
					return
				}
			}
		}()
	}
	// Writers to one shared record: every increment must land.
	must(s.CreateRole(c, &store.Role{Name: "Counter"}))(t)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := s.UpdateRole(c, "Counter", func(r *store.Role) error {
					r.MaxSessionDuration++
					return nil
				}); err != nil {
					t.Errorf("update counter: %v", err)
					return
				}
				if _, err := s.LoadConfig(c); err != nil {
					t.Errorf("LoadConfig: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	cfg := must(s.LoadConfig(c))(t)
	equal(t, "profiles", len(cfg.Profiles), workers*each)
	for _, p := range cfg.Profiles {
		if p.DurationSeconds != 100 || len(p.Tags) != 1 {
			t.Fatalf("profile %s: duration %d tags %v", p.Name, p.DurationSeconds, p.Tags)
		}
	}
	equal(t, "counter", cfg.Roles[0].MaxSessionDuration, workers*each)
	equal(t, "version", cfg.Version, v0+1+int64(workers*each*3+workers*each))
}
