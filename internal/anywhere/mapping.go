package anywhere

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
)

// Certificate fields an attribute mapping can name.
const (
	FieldSubject = "x509Subject"
	FieldIssuer  = "x509Issuer"
	FieldSAN     = "x509SAN"
)

// DefaultAttributeMappings returns the mapping every new profile starts with.
func DefaultAttributeMappings() []store.AttributeMapping {
	return []store.AttributeMapping{
		{CertificateField: FieldIssuer, MappingRules: []store.MappingRule{{Specifier: "*"}}},
		{CertificateField: FieldSAN, MappingRules: []store.MappingRule{{Specifier: "DNS"}, {Specifier: "URI"}, {Specifier: "Name/*"}}},
		{CertificateField: FieldSubject, MappingRules: []store.MappingRule{{Specifier: "*"}}},
	}
}

// NormalizeSpecifier returns the canonical form of a mapping specifier for
// field, or an error if the specifier is not one roam recognises. "Name" and
// "Name/" are shown as "Name/*".
func NormalizeSpecifier(field, spec string) (string, error) {
	switch field {
	case FieldSubject, FieldIssuer:
		if spec == "*" {
			return spec, nil
		}
		if name, ok := canonicalRDN(spec); ok {
			return name, nil
		}
	case FieldSAN:
		switch spec {
		case "DNS", "URI":
			return spec, nil
		case "Name", "Name/", "Name/*":
			return "Name/*", nil
		}
		if rest, ok := strings.CutPrefix(spec, "Name/"); ok {
			if name, ok := canonicalRDN(rest); ok {
				return "Name/" + name, nil
			}
		}
	default:
		return "", fmt.Errorf("unknown certificate field %q (want x509Subject, x509Issuer or x509SAN)", field)
	}
	return "", fmt.Errorf("unknown specifier %q for %s", spec, field)
}

// rdn is one recognised relative distinguished name attribute.
type rdn struct {
	name string
	oid  asn1.ObjectIdentifier
}

// rdns lists the attributes roam maps, in the order "*" expands them.
var rdns = [...]rdn{
	{"CN", asn1.ObjectIdentifier{2, 5, 4, 3}},
	{"SERIALNUMBER", asn1.ObjectIdentifier{2, 5, 4, 5}},
	{"C", asn1.ObjectIdentifier{2, 5, 4, 6}},
	{"L", asn1.ObjectIdentifier{2, 5, 4, 7}},
	{"ST", asn1.ObjectIdentifier{2, 5, 4, 8}},
	{"STREET", asn1.ObjectIdentifier{2, 5, 4, 9}},
	{"O", asn1.ObjectIdentifier{2, 5, 4, 10}},
	{"OU", asn1.ObjectIdentifier{2, 5, 4, 11}},
	{"POSTALCODE", asn1.ObjectIdentifier{2, 5, 4, 17}},
	{"UID", asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}},
	{"DC", asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}},
	{"emailAddress", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}},
}

func canonicalRDN(s string) (string, bool) {
	for _, r := range rdns {
		if strings.EqualFold(r.name, s) {
			return r.name, true
		}
	}
	return "", false
}

func rdnName(oid asn1.ObjectIdentifier) (string, bool) {
	for _, r := range rdns {
		if r.oid.Equal(oid) {
			return r.name, true
		}
	}
	return "", false
}

// Tag is one session tag.
type Tag struct {
	Key, Value string
}

// nameValues returns, for each recognised RDN of name in certificate order,
// its values joined with "/" (Roles Anywhere's rule for multi-valued RDNs).
// The result keeps the order in which each attribute first appears.
func nameValues(name pkix.Name) (keys []string, vals map[string]string) {
	vals = make(map[string]string)
	for _, atv := range name.Names {
		key, ok := rdnName(atv.Type)
		if !ok {
			continue
		}
		v, ok := atv.Value.(string)
		if !ok {
			continue
		}
		if old, seen := vals[key]; seen {
			vals[key] = old + "/" + v
			continue
		}
		keys = append(keys, key)
		vals[key] = v
	}
	return keys, vals
}

// oidSubjectAltName is the subjectAltName extension.
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// firstDirectoryName returns the first directoryName of cert's
// subjectAltName extension, if any.
func firstDirectoryName(cert *x509.Certificate) (pkix.Name, bool) {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) != 0 || !seq.IsCompound || seq.Tag != asn1.TagSequence {
			return pkix.Name{}, false
		}
		rest := seq.Bytes
		for len(rest) > 0 {
			var gn asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
				return pkix.Name{}, false
			}
			if gn.Class != asn1.ClassContextSpecific || gn.Tag != 4 {
				continue
			}
			var rdnSeq pkix.RDNSequence
			if r, err := asn1.Unmarshal(gn.Bytes, &rdnSeq); err != nil || len(r) != 0 {
				return pkix.Name{}, false
			}
			var n pkix.Name
			n.FillFromRDNSequence(&rdnSeq)
			return n, true
		}
	}
	return pkix.Name{}, false
}

// SessionTags maps cert's attributes to session tags with the given mappings
// (the profile's; nil means DefaultAttributeMappings). Tags come in a fixed
// order: subject, issuer, then SAN. A value that STS would not accept as a
// session tag fails the whole mapping with the AccessDeniedException Roles
// Anywhere answers in that case.
func SessionTags(cert *x509.Certificate, mappings []store.AttributeMapping) ([]Tag, error) {
	if mappings == nil {
		mappings = DefaultAttributeMappings()
	}
	specs := map[string][]string{}
	for _, m := range mappings {
		for _, r := range m.MappingRules {
			specs[m.CertificateField] = append(specs[m.CertificateField], r.Specifier)
		}
	}
	var tags []Tag
	var bad [3][]string // issuer, subject, SAN attribute names that failed
	add := func(slot int, key, shortName, value string) {
		if !validTagKey(key) || !validTagValue(value) {
			bad[slot] = append(bad[slot], shortName)
			return
		}
		tags = append(tags, Tag{Key: key, Value: value})
	}
	mapName := func(slot int, prefix string, name pkix.Name, want []string) {
		if len(want) == 0 {
			return
		}
		keys, vals := nameValues(name)
		for _, k := range keys {
			if selected(want, k) {
				add(slot, prefix+k, k, vals[k])
			}
		}
	}
	mapName(1, "x509Subject/", cert.Subject, specs[FieldSubject])
	mapName(0, "x509Issuer/", cert.Issuer, specs[FieldIssuer])
	if san := specs[FieldSAN]; len(san) > 0 {
		if selected(san, "DNS") && len(cert.DNSNames) > 0 {
			add(2, "x509SAN/DNS", "DNS", cert.DNSNames[0])
		}
		if selected(san, "URI") && len(cert.URIs) > 0 {
			add(2, "x509SAN/URI", "URI", cert.URIs[0].String())
		}
		var nameSpecs []string
		for _, s := range san {
			if rest, ok := strings.CutPrefix(s, "Name/"); ok {
				nameSpecs = append(nameSpecs, rest)
			}
		}
		if len(nameSpecs) > 0 {
			if dn, ok := firstDirectoryName(cert); ok {
				mapName(2, "x509SAN/Name/", dn, nameSpecs)
			}
		}
	}
	if len(bad[0])+len(bad[1])+len(bad[2]) > 0 {
		return nil, apierr.AccessDenied("Unable to assume role. Some attributes failed to be mapped into session tags. Issuer: [ %s ]; Subject: [ %s ]; SAN: [ %s ]",
			strings.Join(bad[0], ", "), strings.Join(bad[1], ", "), strings.Join(bad[2], ", "))
	}
	if len(tags) > maxSessionTags {
		return nil, apierr.AccessDenied("Unable to assume role. The certificate maps to %d session tags; at most %d are allowed.", len(tags), maxSessionTags)
	}
	return tags, nil
}

// maxSessionTags is STS's limit on session tags.
const maxSessionTags = 50

func selected(specs []string, name string) bool {
	for _, s := range specs {
		if s == "*" || strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// validTagRune reports whether r is allowed in an STS session tag key or
// value: letters, separators, numbers and _ . : / = + - @.
func validTagRune(r rune) bool {
	if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Z) {
		return true
	}
	return strings.ContainsRune("_.:/=+-@", r)
}

func validTagKey(k string) bool {
	n := utf8.RuneCountInString(k)
	return n >= 1 && n <= 128 && validTagString(k)
}

func validTagValue(v string) bool {
	return utf8.RuneCountInString(v) <= 256 && validTagString(v)
}

func validTagString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !validTagRune(r) {
			return false
		}
	}
	return true
}

// HexSerial returns serial in lower-case hex, left-padded with a zero to an
// even number of digits: the default role session name and the ID= form of
// the source identity.
func HexSerial(serial *big.Int) string {
	if serial.Sign() <= 0 {
		return "00"
	}
	return hex.EncodeToString(serial.Bytes())
}

// SourceIdentity returns the source identity Roles Anywhere derives from a
// certificate: "CN=<cn>" for a common name of at most 61 characters, the bare
// name for 62–64 characters, and "ID=<hex serial>" when the subject has no
// common name. roam also uses the ID= form when the common name is longer
// than 64 characters or has characters a source identity cannot hold.
func SourceIdentity(cert *x509.Certificate) string {
	cn := cert.Subject.CommonName
	n := utf8.RuneCountInString(cn)
	switch {
	case cn == "" || n > 64 || !validTagString(cn):
		return "ID=" + HexSerial(cert.SerialNumber)
	case n <= 61:
		return "CN=" + cn
	default:
		return cn
	}
}
