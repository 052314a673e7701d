// Package bootstrap reads roam's declarative bootstrap file (roam.yaml) and
// applies it to a store: every trust anchor, CRL, managed policy, role and
// profile it declares is created, or updated in place, by name.
package bootstrap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/roam-project/roam/internal/anywhere"
	"go.yaml.in/yaml/v3"
)

// File is a parsed bootstrap file. Policy documents are held as compact JSON
// text; file: references are resolved relative to the file's directory.
type File struct {
	Account      string        `yaml:"account"`
	Region       string        `yaml:"region"`
	TrustAnchors []TrustAnchor `yaml:"trustAnchors"`
	CRLs         []CRL         `yaml:"crls"`
	Policies     []Policy      `yaml:"policies"`
	Roles        []Role        `yaml:"roles"`
	Profiles     []Profile     `yaml:"profiles"`
}

// TrustAnchor declares a trust anchor with a CERTIFICATE_BUNDLE source.
type TrustAnchor struct {
	Name string `yaml:"name"`
	// ID optionally fixes the anchor's id (a lower-case UUID) so its ARN is
	// known before the file is applied, e.g. for a trust policy condition.
	// It only takes effect when the anchor is created.
	ID                string            `yaml:"id"`
	CertificateBundle string            `yaml:"certificateBundle"` // PEM, or file:PATH
	Enabled           *bool             `yaml:"enabled"`           // default true
	Tags              map[string]string `yaml:"tags"`
}

// CRL declares a CRL imported for a trust anchor.
type CRL struct {
	Name        string            `yaml:"name"`
	TrustAnchor string            `yaml:"trustAnchor"` // name of a declared or existing trust anchor
	File        string            `yaml:"file"`        // PEM or DER CRL file
	Enabled     *bool             `yaml:"enabled"`     // default true
	Tags        map[string]string `yaml:"tags"`
}

// Policy declares a managed policy.
type Policy struct {
	Name        string            `yaml:"name"`
	Path        string            `yaml:"path"`
	Description string            `yaml:"description"`
	Document    Document          `yaml:"document"`
	Tags        map[string]string `yaml:"tags"`
}

// Role declares an IAM role.
type Role struct {
	Name                string              `yaml:"name"`
	Path                string              `yaml:"path"`
	Description         string              `yaml:"description"`
	MaxSessionDuration  int                 `yaml:"maxSessionDuration"` // default 3600
	TrustPolicy         Document            `yaml:"trustPolicy"`
	InlinePolicies      map[string]Document `yaml:"inlinePolicies"`
	ManagedPolicies     []string            `yaml:"managedPolicies"`     // names or ARNs
	PermissionsBoundary string              `yaml:"permissionsBoundary"` // name or ARN
	Tags                map[string]string   `yaml:"tags"`
}

// Profile declares a Roles Anywhere profile.
type Profile struct {
	Name                  string             `yaml:"name"`
	Roles                 []string           `yaml:"roles"` // names or ARNs
	DurationSeconds       int                `yaml:"durationSeconds"`
	Enabled               *bool              `yaml:"enabled"` // default true
	AcceptRoleSessionName bool               `yaml:"acceptRoleSessionName"`
	SessionPolicy         Document           `yaml:"sessionPolicy"`
	ManagedPolicies       []string           `yaml:"managedPolicies"` // names or ARNs
	AttributeMappings     []AttributeMapping `yaml:"attributeMappings"`
	Tags                  map[string]string  `yaml:"tags"`
}

// AttributeMapping declares which attributes of a certificate field become
// session tags; a profile without any gets the default mapping.
type AttributeMapping struct {
	CertificateField string   `yaml:"certificateField"`
	Specifiers       []string `yaml:"specifiers"`
}

// Document is a policy document given inline (as YAML or JSON) or as
// "file:PATH". After Load it holds compact JSON text.
type Document struct {
	JSON string
	node *yaml.Node
}

// UnmarshalYAML keeps the node; Load resolves it.
func (d *Document) UnmarshalYAML(n *yaml.Node) error {
	d.node = n
	return nil
}

// IsZero reports whether no document was given.
func (d Document) IsZero() bool { return d.JSON == "" && d.node == nil }

// maxFileBytes bounds the bootstrap file and every file it references.
const maxFileBytes = 4 << 20

// Load reads and checks the bootstrap file at path.
func Load(path string) (*File, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("read bootstrap file: %w", err)
	}
	f, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse parses a bootstrap file; file: references are read relative to dir.
func Parse(data []byte, dir string) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	r := resolver{dir: dir}
	if err := r.resolve(&f); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return &f, nil
}

type resolver struct{ dir string }

func (r resolver) resolve(f *File) error {
	for i := range f.TrustAnchors {
		a := &f.TrustAnchors[i]
		if ref, ok := strings.CutPrefix(a.CertificateBundle, "file:"); ok {
			b, err := readLimited(r.path(ref))
			if err != nil {
				return fmt.Errorf("trustAnchors[%d] (%s): certificateBundle: %w", i, a.Name, err)
			}
			a.CertificateBundle = string(b)
		}
	}
	for i := range f.CRLs {
		if f.CRLs[i].File != "" {
			f.CRLs[i].File = r.path(f.CRLs[i].File)
		}
	}
	for i := range f.Policies {
		if err := r.doc(&f.Policies[i].Document, fmt.Sprintf("policies[%d] (%s).document", i, f.Policies[i].Name)); err != nil {
			return err
		}
	}
	for i := range f.Roles {
		ro := &f.Roles[i]
		if err := r.doc(&ro.TrustPolicy, fmt.Sprintf("roles[%d] (%s).trustPolicy", i, ro.Name)); err != nil {
			return err
		}
		for name, d := range ro.InlinePolicies {
			if err := r.doc(&d, fmt.Sprintf("roles[%d] (%s).inlinePolicies.%s", i, ro.Name, name)); err != nil {
				return err
			}
			ro.InlinePolicies[name] = d
		}
	}
	for i := range f.Profiles {
		if err := r.doc(&f.Profiles[i].SessionPolicy, fmt.Sprintf("profiles[%d] (%s).sessionPolicy", i, f.Profiles[i].Name)); err != nil {
			return err
		}
	}
	return nil
}

func (r resolver) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.dir, p)
}

// doc turns a document node into compact JSON.
func (r resolver) doc(d *Document, where string) error {
	n := d.node
	if n == nil {
		return nil
	}
	d.node = nil
	var raw []byte
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	case n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, "file:"):
		b, err := readLimited(r.path(strings.TrimPrefix(n.Value, "file:")))
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		raw = b
	case n.Kind == yaml.ScalarNode:
		raw = []byte(n.Value) // a JSON document written as a string
	case n.Kind == yaml.MappingNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		raw = b
	default:
		return fmt.Errorf("%s: a policy document must be a mapping, a JSON string or file:PATH", where)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fmt.Errorf("%s: not valid JSON: %w", where, err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return fmt.Errorf("%s: a policy document must be a JSON object", where)
	}
	d.JSON = buf.String()
	return nil
}

// Compiled on first use (sync.OnceValue): most commands never validate
// these, and compiling them at start-up cost every invocation.
var (
	resourceNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[ a-zA-Z0-9_-]{1,255}$`) })
	accountRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{12}$`) })
	uuidRE         = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{8}-([a-f0-9]{4}-){3}[a-f0-9]{12}$`) })
	regionRE       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-\d+$`) })
)

// check validates names, references and ranges; policy grammar is checked
// when the file is applied.
func (f *File) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if f.Account != "" && !accountRE().MatchString(f.Account) {
		bad("account %q: must be 12 digits", f.Account)
	}
	if f.Region != "" && !regionRE().MatchString(f.Region) {
		bad("region %q: not a region name like us-east-1", f.Region)
	}
	seen := map[string]map[string]bool{}
	dup := func(kind, name string) bool {
		if seen[kind] == nil {
			seen[kind] = map[string]bool{}
		}
		k := strings.ToLower(name)
		d := seen[kind][k]
		seen[kind][k] = true
		return d
	}
	for i, a := range f.TrustAnchors {
		if !resourceNameRE().MatchString(a.Name) {
			bad("trustAnchors[%d]: name %q: 1-255 letters, digits, spaces, - and _", i, a.Name)
		}
		if dup("anchor", a.Name) {
			bad("trustAnchors[%d]: name %q declared twice", i, a.Name)
		}
		if a.ID != "" && !uuidRE().MatchString(a.ID) {
			bad("trustAnchors[%d] (%s): id %q: must be a lower-case UUID", i, a.Name, a.ID)
		}
		if !strings.Contains(a.CertificateBundle, "-----BEGIN CERTIFICATE-----") {
			bad("trustAnchors[%d] (%s): certificateBundle: no PEM certificate", i, a.Name)
		}
	}
	for i, c := range f.CRLs {
		if !resourceNameRE().MatchString(c.Name) {
			bad("crls[%d]: name %q: 1-255 letters, digits, spaces, - and _", i, c.Name)
		}
		if dup("crl", c.Name) {
			bad("crls[%d]: name %q declared twice", i, c.Name)
		}
		if c.TrustAnchor == "" {
			bad("crls[%d] (%s): trustAnchor is required", i, c.Name)
		}
		if c.File == "" {
			bad("crls[%d] (%s): file is required", i, c.Name)
		}
	}
	for i, p := range f.Policies {
		if p.Name == "" || len(p.Name) > 128 {
			bad("policies[%d]: name %q: 1-128 characters", i, p.Name)
		}
		if dup("policy", p.Name) {
			bad("policies[%d]: name %q declared twice", i, p.Name)
		}
		if p.Document.JSON == "" {
			bad("policies[%d] (%s): document is required", i, p.Name)
		}
	}
	for i, r := range f.Roles {
		if dup("role", r.Name) {
			bad("roles[%d]: name %q declared twice", i, r.Name)
		}
		if r.TrustPolicy.JSON == "" {
			bad("roles[%d] (%s): trustPolicy is required", i, r.Name)
		}
		if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200) {
			bad("roles[%d] (%s): maxSessionDuration %d: must be 3600-43200 seconds", i, r.Name, r.MaxSessionDuration)
		}
	}
	for i, p := range f.Profiles {
		if !resourceNameRE().MatchString(p.Name) {
			bad("profiles[%d]: name %q: 1-255 letters, digits, spaces, - and _", i, p.Name)
		}
		if dup("profile", p.Name) {
			bad("profiles[%d]: name %q declared twice", i, p.Name)
		}
		for j, m := range p.AttributeMappings {
			for _, spec := range m.Specifiers {
				if _, err := anywhere.NormalizeSpecifier(m.CertificateField, spec); err != nil {
					bad("profiles[%d] (%s): attributeMappings[%d]: %v", i, p.Name, j, err)
				}
			}
		}
		if p.DurationSeconds != 0 && (p.DurationSeconds < 900 || p.DurationSeconds > 43200) {
			bad("profiles[%d] (%s): durationSeconds %d: must be 900-43200", i, p.Name, p.DurationSeconds)
		}
	}
	return errors.Join(errs...)
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(fh, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFileBytes)
	}
	return buf.Bytes(), nil
}
