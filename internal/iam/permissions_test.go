package iam

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/policy"
)

const permAccount = "111122223333"

func permDoc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func permAllow(action, resource string) string {
	return fmt.Sprintf(`{"Effect":"Allow","Action":%q,"Resource":%q}`, action, resource)
}

func permDeny(action, resource string) string {
	return fmt.Sprintf(`{"Effect":"Deny","Action":%q,"Resource":%q}`, action, resource)
}

func permManaged(name, document string) *store.Policy {
	return &store.Policy{Name: name, Path: "/", ARN: PolicyARN(permAccount, "/", name), DefaultVersionID: "v2",
		Versions: []store.PolicyVersion{{ID: "v1", Document: permDoc(permAllow("*", "*"))}, {ID: "v2", Document: document}}}
}

func permARN(name string) string { return PolicyARN(permAccount, "/", name) }

// permConfig: role "app" reads and writes bucket/*, lists the bucket
// (attached policy) and is denied bucket/secret/*; role "bounded" has the
// same identity policies and a boundary allowing only reads under
// bucket/public/*; "lost-boundary" names a boundary that does not exist;
// "broken" attaches a policy that does not exist.
func permConfig(version int64) *store.Config {
	identity := map[string]string{
		"rw":     permDoc(permAllow("s3:GetObject", "arn:aws:s3:::bucket/*"), permAllow("s3:PutObject", "arn:aws:s3:::bucket/*")),
		"secret": permDoc(permDeny("s3:*", "arn:aws:s3:::bucket/secret/*")),
	}
	role := func(name, path, boundary string, attached ...string) *store.Role {
		return &store.Role{Name: name, Path: path, InlinePolicies: identity, AttachedPolicies: attached, PermissionsBoundary: boundary,
			Tags: map[string]string{"team": name}}
	}
	return &store.Config{
		Version:  version,
		Settings: map[string]string{store.SettingAccountID: permAccount},
		Policies: []*store.Policy{
			permManaged("list", permDoc(permAllow("s3:ListBucket", "arn:aws:s3:::bucket"))),
			permManaged("public-read", permDoc(permAllow("s3:GetObject", "arn:aws:s3:::bucket/public/*"), permAllow("s3:ListBucket", "*"))),
			permManaged("session-read", permDoc(permAllow("s3:GetObject", "*"))),
			permManaged("session-deny-tmp", permDoc(permAllow("s3:*", "*"), permDeny("s3:PutObject", "arn:aws:s3:::bucket/tmp/*"))),
			permManaged("broken-doc", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`),
		},
		Roles: []*store.Role{
			role("app", "/", "", permARN("list")),
			role("bounded", "/teams/", permARN("public-read"), permARN("list")),
			role("lost-boundary", "/", permARN("deleted"), permARN("list")),
			role("broken", "/", "", permARN("deleted")),
			role("broken-boundary", "/", permARN("broken-doc")),
		},
	}
}

func TestPermissionsForSession(t *testing.T) {
	p := NewPermissions(permConfig(1))
	app := RoleARN(permAccount, "/", "app")
	bounded := RoleARN(permAccount, "/teams/", "bounded")
	lost := RoleARN(permAccount, "/", "lost-boundary")
	none := SessionPolicies{}
	inlineRead := SessionPolicies{Inline: permDoc(permAllow("s3:GetObject", "*"))}
	inlineDenyPut := SessionPolicies{Inline: permDoc(permAllow("s3:*", "*"), permDeny("s3:PutObject", "arn:aws:s3:::bucket/a.txt"))}
	managedRead := SessionPolicies{PolicyARNs: []string{permARN("session-read")}}
	managedDenyTmp := SessionPolicies{PolicyARNs: []string{permARN("session-deny-tmp")}}
	missingManaged := SessionPolicies{PolicyARNs: []string{permARN("deleted")}}
	missingAndRead := SessionPolicies{PolicyARNs: []string{permARN("deleted"), permARN("session-read")}}
	sessionAllowsSecret := SessionPolicies{Inline: permDoc(permAllow("s3:*", "arn:aws:s3:::bucket/secret/*"))}

	cases := []struct {
		name     string
		role     string
		sp       SessionPolicies
		action   string
		resource string
		want     policy.Decision
	}{
		// Identity policies alone.
		{"identity allows", app, none, "s3:PutObject", "arn:aws:s3:::bucket/a.txt", policy.Allow},
		{"attached managed policy allows", app, none, "s3:ListBucket", "arn:aws:s3:::bucket", policy.Allow},
		{"managed default version is used, not v1", app, none, "s3:DeleteObject", "arn:aws:s3:::bucket/a.txt", policy.ImplicitDeny},
		{"nothing allows another bucket", app, none, "s3:GetObject", "arn:aws:s3:::other/a.txt", policy.ImplicitDeny},
		{"identity deny wins over identity allow", app, none, "s3:GetObject", "arn:aws:s3:::bucket/secret/k", policy.ExplicitDeny},
		{"role ARN is case-insensitive", "ARN:AWS:IAM::111122223333:ROLE/APP", none, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.Allow},

		// Identity ∩ session.
		{"session allows what identity allows", app, inlineRead, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.Allow},
		{"session does not allow put", app, inlineRead, "s3:PutObject", "arn:aws:s3:::bucket/a.txt", policy.ImplicitDeny},
		{"session cannot widen identity", app, inlineRead, "s3:GetObject", "arn:aws:s3:::other/a.txt", policy.ImplicitDeny},
		{"session deny wins", app, inlineDenyPut, "s3:PutObject", "arn:aws:s3:::bucket/a.txt", policy.ExplicitDeny},
		{"session deny is specific", app, inlineDenyPut, "s3:PutObject", "arn:aws:s3:::bucket/b.txt", policy.Allow},
		{"identity deny wins over session allow", app, sessionAllowsSecret, "s3:GetObject", "arn:aws:s3:::bucket/secret/k", policy.ExplicitDeny},
		{"managed session policy", app, managedRead, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.Allow},
		{"managed session policy limits", app, managedRead, "s3:PutObject", "arn:aws:s3:::bucket/a.txt", policy.ImplicitDeny},
		{"managed session policy deny", app, managedDenyTmp, "s3:PutObject", "arn:aws:s3:::bucket/tmp/x", policy.ExplicitDeny},
		{"missing managed session policy allows nothing", app, missingManaged, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.ImplicitDeny},
		{"missing managed session policy, others still apply", app, missingAndRead, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.Allow},

		// Identity ∩ boundary (∩ session).
		{"boundary allows", bounded, none, "s3:GetObject", "arn:aws:s3:::bucket/public/a", policy.Allow},
		{"boundary limits identity", bounded, none, "s3:GetObject", "arn:aws:s3:::bucket/private/a", policy.ImplicitDeny},
		{"boundary limits put", bounded, none, "s3:PutObject", "arn:aws:s3:::bucket/public/a", policy.ImplicitDeny},
		{"boundary does not grant", bounded, none, "s3:ListBucket", "arn:aws:s3:::other", policy.ImplicitDeny},
		{"identity ∩ boundary ∩ session", bounded, inlineRead, "s3:GetObject", "arn:aws:s3:::bucket/public/a", policy.Allow},
		{"session cannot widen boundary", bounded, inlineDenyPut, "s3:PutObject", "arn:aws:s3:::bucket/public/b", policy.ImplicitDeny},
		{"session deny with boundary", bounded, inlineDenyPut, "s3:PutObject", "arn:aws:s3:::bucket/a.txt", policy.ExplicitDeny},
		{"missing boundary allows nothing", lost, none, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.ImplicitDeny},
		{"missing boundary allows nothing with a session", lost, inlineRead, "s3:GetObject", "arn:aws:s3:::bucket/a.txt", policy.ImplicitDeny},
		{"missing boundary, identity deny still explicit", lost, none, "s3:GetObject", "arn:aws:s3:::bucket/secret/k", policy.ExplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := p.ForSession(c.role, c.sp)
			if err != nil {
				t.Fatal(err)
			}
			req := &policy.Request{Action: c.action, Resource: c.resource, Context: policy.NewContext()}
			if got := set.Evaluate(req); got != c.want {
				t.Errorf("%s on %s: %v, want %v\n%s", c.action, c.resource, got, c.want, set.Explain(req))
			}
			if c.sp.Inline == "" && len(c.sp.PolicyARNs) == 0 {
				rs, err := p.ForRole(c.role)
				if err != nil {
					t.Fatal(err)
				}
				if got := rs.Evaluate(req); got != c.want {
					t.Errorf("ForRole: %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestPermissionsErrors(t *testing.T) {
	p := NewPermissions(permConfig(1))
	cases := []struct {
		name   string
		role   string
		sp     SessionPolicies
		is     error
		inText string
	}{
		{"unknown role", RoleARN(permAccount, "/", "deleted"), SessionPolicies{}, ErrUnknownRole, "role not found"},
		{"role in another permAccount", RoleARN("999999999999", "/", "app"), SessionPolicies{}, ErrUnknownRole, "role not found"},
		{"role with the wrong path", RoleARN(permAccount, "/teams/", "app"), SessionPolicies{}, ErrUnknownRole, "role not found"},
		{"attached policy missing", RoleARN(permAccount, "/", "broken"), SessionPolicies{}, store.ErrNotFound, "attached policy"},
		{"attached policy missing, with a session", RoleARN(permAccount, "/", "broken"), SessionPolicies{Inline: permDoc(permAllow("*", "*"))}, store.ErrNotFound, "attached policy"},
		{"boundary does not compile", RoleARN(permAccount, "/", "broken-boundary"), SessionPolicies{}, nil, "permissions boundary"},
		{"session policy does not compile", RoleARN(permAccount, "/", "app"), SessionPolicies{Inline: `{"Statement":`}, nil, "session policy"},
		{"managed session policy does not compile", RoleARN(permAccount, "/", "app"), SessionPolicies{PolicyARNs: []string{permARN("broken-doc")}}, nil, "managed session policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Twice: a cached failure fails the same way.
			for range 2 {
				set, err := p.ForSession(c.role, c.sp)
				if err == nil {
					t.Fatalf("got a policy set %v, want an error", set)
				}
				if c.is != nil && !errors.Is(err, c.is) {
					t.Errorf("error %v is not %v", err, c.is)
				}
				if !strings.Contains(err.Error(), c.inText) {
					t.Errorf("error %q does not mention %q", err, c.inText)
				}
			}
		})
	}
}

// TestPermissionsCache: compiled sets are shared while the inputs are the
// same, and a new configuration version gets its own.
func TestPermissionsCache(t *testing.T) {
	cfg1 := permConfig(1)
	p1 := NewPermissions(cfg1)
	app := RoleARN(permAccount, "/", "app")
	read := SessionPolicies{Inline: permDoc(permAllow("s3:GetObject", "*"))}
	must := func(s *policy.PolicySet, err error) *policy.PolicySet {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if p1.Version() != 1 {
		t.Errorf("version %d", p1.Version())
	}
	if must(p1.ForRole(app)) != must(p1.ForRole(strings.ToUpper(app))) {
		t.Error("ForRole compiled twice for the same role")
	}
	if must(p1.ForSession(app, SessionPolicies{})) != must(p1.ForRole(app)) {
		t.Error("a session without session policies does not share the role's set")
	}
	a, b := must(p1.ForSession(app, read)), must(p1.ForSession(app, SessionPolicies{Inline: read.Inline}))
	if a != b {
		t.Error("the same session policy compiled twice")
	}
	if c := must(p1.ForSession(app, SessionPolicies{Inline: permDoc(permAllow("s3:PutObject", "*"))})); c == a {
		t.Error("different session policies share a set")
	}
	// Inline and ARN parts are kept apart in the cache key.
	x := must(p1.ForSession(app, SessionPolicies{PolicyARNs: []string{permARN("session-read"), permARN("list")}}))
	y := must(p1.ForSession(app, SessionPolicies{PolicyARNs: []string{permARN("session-read")}}))
	if x == y {
		t.Error("different managed session policies share a set")
	}
	bounded := RoleARN(permAccount, "/teams/", "bounded")
	if must(p1.ForSession(bounded, read)) == a {
		t.Error("two roles with the same session policy share a set")
	}
	if tags := p1.RoleTags(app); tags["team"] != "app" {
		t.Errorf("role tags %v", tags)
	}

	// Version 2: the role's inline policy loses PutObject. Version 1's
	// permissions and cached sets are unchanged.
	cfg2 := permConfig(2)
	for _, r := range cfg2.Roles {
		if r.Name == "app" {
			r.InlinePolicies = map[string]string{"ro": permDoc(permAllow("s3:GetObject", "arn:aws:s3:::bucket/*"))}
		}
	}
	p2 := NewPermissions(cfg2)
	put := &policy.Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::bucket/a.txt", Context: policy.NewContext()}
	if got := must(p2.ForRole(app)).Evaluate(put); got != policy.ImplicitDeny {
		t.Errorf("version 2 PutObject: %v, want implicitDeny", got)
	}
	if got := must(p1.ForRole(app)).Evaluate(put); got != policy.Allow {
		t.Errorf("version 1 PutObject after version 2 was built: %v, want allowed", got)
	}
	if must(p2.ForSession(app, read)) == a {
		t.Error("version 2 reuses version 1's session set")
	}
	if p2.Version() != 2 {
		t.Errorf("version %d", p2.Version())
	}
}
