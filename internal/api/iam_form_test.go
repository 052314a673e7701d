package api

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	for _, tc := range []struct {
		name, form string
		wantErr    string
		check      func(t *testing.T, f *formNode)
	}{
		{name: "scalars", form: "Action=GetRole&RoleName=app", check: func(t *testing.T, f *formNode) {
			if f.get("RoleName") != "app" || f.get("Missing") != "" {
				t.Errorf("RoleName %q", f.get("RoleName"))
			}
		}},
		{name: "string list", form: "TagKeys.member.2=b&TagKeys.member.1=a", check: func(t *testing.T, f *formNode) {
			got, err := f.strings("TagKeys")
			if err != nil || strings.Join(got, ",") != "a,b" {
				t.Errorf("TagKeys %v %v", got, err)
			}
		}},
		{name: "structure list", form: "Tags.member.1.Key=k&Tags.member.1.Value=v", check: func(t *testing.T, f *formNode) {
			ms, err := f.list("Tags")
			if err != nil || len(ms) != 1 || ms[0].get("Key") != "k" || ms[0].get("Value") != "v" {
				t.Errorf("Tags %v %v", ms, err)
			}
		}},
		{name: "nested lists", form: "ContextEntries.member.1.ContextKeyName=aws:SourceIp&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.1", check: func(t *testing.T, f *formNode) {
			ms, _ := f.list("ContextEntries")
			vals, err := ms[0].strings("ContextKeyValues")
			if err != nil || len(vals) != 1 || vals[0] != "10.0.0.1" {
				t.Errorf("values %v %v", vals, err)
			}
		}},
		{name: "empty list", form: "Tags=", check: func(t *testing.T, f *formNode) {
			if ms, err := f.list("Tags"); err != nil || len(ms) != 0 {
				t.Errorf("empty list %v %v", ms, err)
			}
		}},
		{name: "gap", form: "TagKeys.member.1=a&TagKeys.member.3=c", check: func(t *testing.T, f *formNode) {
			if _, err := f.strings("TagKeys"); err == nil {
				t.Error("a gap is accepted")
			}
		}},
		{name: "index zero", form: "TagKeys.member.0=a", wantErr: "invalid list index"},
		{name: "index with leading zero", form: "TagKeys.member.01=a", wantErr: "invalid list index"},
		{name: "index too large", form: "TagKeys.member.1001=a", wantErr: "invalid list index"},
		{name: "missing index", form: "TagKeys.member=a", wantErr: "lacks a list index"},
		{name: "value and structure", form: "Tags=x&Tags.member.1.Key=k", wantErr: "both"},
		{name: "list and structure", form: "Tags.member.1.Key=k&Tags.Other=k", wantErr: "both"},
		{name: "empty segment", form: "Tags..Key=k", wantErr: "malformed"},
		{name: "repeated", form: "RoleName=a&RoleName=b", wantErr: "given 2 times"},
		{name: "too deep", form: "A.b.c.d.e.f.g.h.i.j=1", wantErr: "nested too deeply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.form)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parseForm(v)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
}

func TestCheckAllowed(t *testing.T) {
	v, _ := url.ParseQuery("Action=TagRole&RoleName=r&Tags.member.1.Key=k")
	f, err := parseForm(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.checkAllowed("TagRole", []string{"Action", "RoleName", "Tags[]"}); err != nil {
		t.Errorf("allowed: %v", err)
	}
	if err := f.checkAllowed("TagRole", []string{"Action", "Tags[]"}); err == nil || !strings.Contains(err.Error(), "Unknown parameter RoleName") {
		t.Errorf("unknown: %v", err)
	}
	if err := f.checkAllowed("TagRole", []string{"Action", "RoleName", "Tags"}); err == nil {
		t.Error("a list where a value is expected is accepted")
	}
}

// FuzzParseForm: parseForm and the accessors never panic, and whatever
// parses reads back consistently.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"Action=CreateRole&Version=2010-05-08&RoleName=a&Tags.member.1.Key=k&Tags.member.1.Value=v",
		"TagKeys.member.1=a&TagKeys.member.2=b",
		"ContextEntries.member.1.ContextKeyValues.member.1=x",
		"Tags=&A.member.1000=z",
		"A.member.0=x&A..b=c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		n, err := parseForm(v)
		if err != nil {
			return
		}
		for _, name := range n.names() {
			val, ok := n.str(name)
			if !ok {
				t.Fatalf("%s listed but absent", name)
			}
			if c := n.child(name); c.hasValue && v.Get(name) != val {
				t.Fatalf("%s: %q, form has %q", name, val, v.Get(name))
			}
			if ms, err := n.list(name); err == nil {
				for i, m := range ms {
					if m == nil {
						t.Fatalf("%s member %d is nil", name, i+1)
					}
					m.names()
					m.strings(name)
				}
			}
			n.strings(name)
		}
		n.checkAllowed("X", []string{"Action", "Tags[]"})
	})
}
