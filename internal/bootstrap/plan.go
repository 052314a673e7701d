package bootstrap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/iam"
)

// Resource kinds, in the order changes are applied (deletes run in reverse).
const (
	KindTrustAnchor = "trust anchor"
	KindCRL         = "crl"
	KindPolicy      = "policy"
	KindRole        = "role"
	KindProfile     = "profile"
)

var kindOrder = []string{KindTrustAnchor, KindCRL, KindPolicy, KindRole, KindProfile}

// Resource is one resource flattened to comparable fields: every field is
// rendered as a canonical string (sorted lists, compact JSON with sorted
// keys, digests of binary data), so the declared and the live state of a
// resource are equal exactly when their fields are.
type Resource struct {
	Kind   string
	Name   string
	Fields map[string]string
}

// Op is what a Change does.
type Op string

// Change operations.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// FieldDiff is one field that differs.
type FieldDiff struct {
	Field, From, To string
}

// Change is one resource to create, update or delete.
type Change struct {
	Op    Op
	Kind  string
	Name  string
	Diffs []FieldDiff // for updates; for creates the new fields
}

// Plan is the list of changes that takes the live state to the declared one,
// ordered so that references resolve (anchors before CRLs, policies before
// roles, roles before profiles; deletes in reverse).
type Plan struct {
	Changes []Change
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Write prints the plan as a readable diff: "+" creates, "~" updates with
// the changed fields, "-" deletes.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	if p.Empty() {
		b.WriteString("No changes: the live state matches the file.\n")
	}
	for _, c := range p.Changes {
		sign := map[Op]string{OpCreate: "+", OpUpdate: "~", OpDelete: "-"}[c.Op]
		fmt.Fprintf(&b, "%s %s %q\n", sign, c.Kind, c.Name)
		for _, d := range c.Diffs {
			switch c.Op {
			case OpCreate:
				fmt.Fprintf(&b, "    %s: %s\n", d.Field, short(d.To))
			default:
				fmt.Fprintf(&b, "    %s: %s -> %s\n", d.Field, short(d.From), short(d.To))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// short abbreviates long field values (certificates, documents) for display.
func short(s string) string {
	if s == "" {
		return `""`
	}
	if len(s) > 72 {
		return s[:60] + "…(" + strconv.Itoa(len(s)) + " chars)"
	}
	return s
}

// Diff returns the plan that takes live to desired. Resources are matched by
// kind and name (case-insensitively for roles and policies, as IAM does).
// With prune, live resources the file does not declare are deleted, except
// kinds in keep (e.g. managed policies, which admin users may depend on).
func Diff(desired, live []Resource, prune bool, keep ...string) *Plan {
	key := func(r Resource) string {
		if r.Kind == KindRole || r.Kind == KindPolicy {
			return r.Kind + "\x00" + strings.ToLower(r.Name)
		}
		return r.Kind + "\x00" + r.Name
	}
	liveBy := map[string]Resource{}
	for _, r := range live {
		liveBy[key(r)] = r
	}
	declared := map[string]bool{}
	p := &Plan{}
	for _, kind := range kindOrder {
		for _, d := range desired {
			if d.Kind != kind {
				continue
			}
			declared[key(d)] = true
			l, ok := liveBy[key(d)]
			if !ok {
				p.Changes = append(p.Changes, Change{Op: OpCreate, Kind: d.Kind, Name: d.Name, Diffs: fieldDiffs(nil, d.Fields)})
				continue
			}
			if diffs := fieldDiffs(l.Fields, d.Fields); len(diffs) > 0 {
				p.Changes = append(p.Changes, Change{Op: OpUpdate, Kind: d.Kind, Name: d.Name, Diffs: diffs})
			}
		}
	}
	if prune {
		for _, kind := range slices.Backward(kindOrder) {
			if slices.Contains(keep, kind) {
				continue
			}
			for _, l := range live {
				if l.Kind == kind && !declared[key(l)] {
					p.Changes = append(p.Changes, Change{Op: OpDelete, Kind: l.Kind, Name: l.Name})
				}
			}
		}
	}
	return p
}

// fieldDiffs lists the fields of to that differ from from, sorted by name.
func fieldDiffs(from, to map[string]string) []FieldDiff {
	var out []FieldDiff
	for _, k := range slices.Sorted(maps.Keys(to)) {
		if from == nil {
			if to[k] != "" {
				out = append(out, FieldDiff{Field: k, To: to[k]})
			}
			continue
		}
		if from[k] != to[k] {
			out = append(out, FieldDiff{Field: k, From: from[k], To: to[k]})
		}
	}
	return out
}

// Canonical field renderings, shared by Desired and by clients that read the
// live state.

// JoinSorted renders a list whose order does not matter.
func JoinSorted(items []string) string {
	s := slices.Clone(items)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// TagString renders tags as sorted k=v pairs.
func TagString(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}

// CanonicalJSON renders a JSON document with sorted keys and no spaces, so
// that documents equal as JSON render equally; text that is not JSON is
// returned trimmed.
func CanonicalJSON(doc string) string {
	if strings.TrimSpace(doc) == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return strings.TrimSpace(doc)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

// Digest renders binary data (a CRL) by its SHA-256.
func Digest(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// MappingString renders attribute mappings as field:spec,spec;… sorted.
func MappingString(m map[string][]string) string {
	var parts []string
	for _, f := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, f+":"+JoinSorted(m[f]))
	}
	return strings.Join(parts, ";")
}

// Bool renders a boolean field.
func Bool(b bool) string { return strconv.FormatBool(b) }

// Desired returns every resource f declares, flattened, with references
// resolved to ARNs in account.
func (f *File) Desired(account string) ([]Resource, error) {
	var out []Resource
	for _, a := range f.TrustAnchors {
		out = append(out, Resource{Kind: KindTrustAnchor, Name: a.Name, Fields: map[string]string{
			"certificateBundle": strings.TrimSpace(a.CertificateBundle),
			"enabled":           Bool(enabled(a.Enabled)),
			"tags":              TagString(a.Tags),
		}})
	}
	for i, c := range f.CRLs {
		data, err := f.CRLData(i)
		if err != nil {
			return nil, err
		}
		out = append(out, Resource{Kind: KindCRL, Name: c.Name, Fields: map[string]string{
			"trustAnchor": c.TrustAnchor,
			"crlData":     Digest(data),
			"enabled":     Bool(enabled(c.Enabled)),
			"tags":        TagString(c.Tags),
		}})
	}
	for _, p := range f.Policies {
		out = append(out, Resource{Kind: KindPolicy, Name: p.Name, Fields: map[string]string{
			"path":     pathOrRoot(p.Path),
			"document": CanonicalJSON(p.Document.JSON),
		}})
	}
	for _, r := range f.Roles {
		msd := r.MaxSessionDuration
		if msd == 0 {
			msd = 3600
		}
		fields := map[string]string{
			"path":                pathOrRoot(r.Path),
			"description":         r.Description,
			"maxSessionDuration":  strconv.Itoa(msd),
			"trustPolicy":         CanonicalJSON(r.TrustPolicy.JSON),
			"managedPolicies":     JoinSorted(f.PolicyARNs(account, r.ManagedPolicies)),
			"permissionsBoundary": strings.Join(f.PolicyARNs(account, nonEmpty(r.PermissionsBoundary)), ""),
			"tags":                TagString(r.Tags),
			"inlinePolicies":      JoinSorted(slices.Collect(maps.Keys(r.InlinePolicies))),
		}
		for name, d := range r.InlinePolicies {
			fields["inlinePolicy/"+name] = CanonicalJSON(d.JSON)
		}
		out = append(out, Resource{Kind: KindRole, Name: r.Name, Fields: fields})
	}
	for _, p := range f.Profiles {
		dur := p.DurationSeconds
		if dur == 0 {
			dur = 3600
		}
		out = append(out, Resource{Kind: KindProfile, Name: p.Name, Fields: map[string]string{
			"roles":                 JoinSorted(f.RoleARNs(account, p.Roles)),
			"durationSeconds":       strconv.Itoa(dur),
			"enabled":               Bool(enabled(p.Enabled)),
			"acceptRoleSessionName": Bool(p.AcceptRoleSessionName),
			"sessionPolicy":         CanonicalJSON(p.SessionPolicy.JSON),
			"managedPolicies":       JoinSorted(f.PolicyARNs(account, p.ManagedPolicies)),
			"attributeMappings":     MappingString(DesiredMappings(p.AttributeMappings)),
			"tags":                  TagString(p.Tags),
		}})
	}
	return out, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// CRLData reads and checks the file of the i-th declared CRL.
func (f *File) CRLData(i int) ([]byte, error) {
	c := f.CRLs[i]
	data, err := readLimited(c.File)
	if err != nil {
		return nil, fmt.Errorf("crls[%d] (%s): %w", i, c.Name, err)
	}
	return data, nil
}

// PolicyARNs resolves policy references (names of declared policies, or
// ARNs) to ARNs in account.
func (f *File) PolicyARNs(account string, refs []string) []string {
	var out []string
	for _, ref := range refs {
		if strings.HasPrefix(ref, "arn:") {
			out = append(out, ref)
			continue
		}
		path := "/"
		for _, p := range f.Policies {
			if p.Name == ref {
				path = pathOrRoot(p.Path)
			}
		}
		out = append(out, iam.PolicyARN(account, path, ref))
	}
	return out
}

// RoleARNs resolves role references (names of declared roles, or ARNs) to
// ARNs in account.
func (f *File) RoleARNs(account string, refs []string) []string {
	var out []string
	for _, ref := range refs {
		if strings.HasPrefix(ref, "arn:") {
			out = append(out, ref)
			continue
		}
		path := "/"
		for _, r := range f.Roles {
			if r.Name == ref {
				path = pathOrRoot(r.Path)
			}
		}
		out = append(out, iam.RoleARN(account, path, ref))
	}
	return out
}

// DesiredMappings returns a profile's attribute mappings, normalised, by
// certificate field; no declared mapping means the default mapping.
func DesiredMappings(in []AttributeMapping) map[string][]string {
	out := map[string][]string{}
	for _, m := range mappings(in) {
		for _, r := range m.MappingRules {
			out[m.CertificateField] = append(out[m.CertificateField], r.Specifier)
		}
	}
	return out
}

// DefaultMappings is the default attribute mapping, by field.
func DefaultMappings() map[string][]string { return DesiredMappings(nil) }
