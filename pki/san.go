package pki

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
)

// SANs is a set of subject alternative names.
type SANs struct {
	DNSNames       []string
	EmailAddresses []string
	IPAddresses    []net.IP
	URIs           []*url.URL
}

// Empty reports whether s holds no names.
func (s SANs) Empty() bool {
	return len(s.DNSNames)+len(s.EmailAddresses)+len(s.IPAddresses)+len(s.URIs) == 0
}

// Strings returns the names in "kind:value" form, the inverse of ParseSAN.
func (s SANs) Strings() []string {
	var out []string
	for _, n := range s.DNSNames {
		out = append(out, "dns:"+n)
	}
	for _, n := range s.IPAddresses {
		out = append(out, "ip:"+n.String())
	}
	for _, n := range s.EmailAddresses {
		out = append(out, "email:"+n)
	}
	for _, n := range s.URIs {
		out = append(out, "uri:"+n.String())
	}
	return out
}

// maxSANLength bounds a single SAN specification.
const maxSANLength = 2048

// ParseSAN parses one subject alternative name written as kind:value, where
// kind is dns, ip, email or uri (case-insensitive), and adds it to s.
//
//	dns:host.example.com   dns:*.example.com
//	ip:10.0.0.1            ip:2001:db8::1
//	email:ops@example.com
//	uri:spiffe://example.org/ns/prod/sa/api
func (s *SANs) ParseSAN(spec string) error {
	if len(spec) > maxSANLength {
		return fmt.Errorf("SAN %.32q... is longer than %d bytes", spec, maxSANLength)
	}
	kind, value, ok := strings.Cut(spec, ":")
	if !ok {
		return fmt.Errorf("SAN %q: want kind:value with kind dns, ip, email or uri", spec)
	}
	if value == "" {
		return fmt.Errorf("SAN %q: empty %s value", spec, kind)
	}
	switch strings.ToLower(kind) {
	case "dns":
		if err := checkDNSName(value); err != nil {
			return fmt.Errorf("SAN %q: %w", spec, err)
		}
		s.DNSNames = append(s.DNSNames, strings.ToLower(value))
	case "ip":
		ip := net.ParseIP(value)
		if ip == nil {
			return fmt.Errorf("SAN %q: %q is not an IP address", spec, value)
		}
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		s.IPAddresses = append(s.IPAddresses, ip)
	case "email":
		if err := checkEmail(value); err != nil {
			return fmt.Errorf("SAN %q: %w", spec, err)
		}
		s.EmailAddresses = append(s.EmailAddresses, value)
	case "uri":
		u, err := url.Parse(value)
		if err != nil {
			return fmt.Errorf("SAN %q: not a URI", spec)
		}
		if u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
			return fmt.Errorf("SAN %q: a URI needs a scheme and a host or path (e.g. spiffe://trust.domain/workload)", spec)
		}
		if u.User != nil {
			return fmt.Errorf("SAN %q: URI must not contain user information", spec)
		}
		s.URIs = append(s.URIs, u)
	default:
		return fmt.Errorf("SAN %q: unknown kind %q (want dns, ip, email or uri)", spec, kind)
	}
	return nil
}

// ParseSANs parses every spec with ParseSAN.
func ParseSANs(specs []string) (SANs, error) {
	var s SANs
	for _, spec := range specs {
		if err := s.ParseSAN(spec); err != nil {
			return SANs{}, err
		}
	}
	return s, nil
}

// checkDNSName accepts host names of letters, digits, hyphens and
// underscores, with an optional leading "*." wildcard label.
func checkDNSName(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("DNS name longer than 253 characters")
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 {
			return fmt.Errorf("%q is not a valid DNS name (empty or over-long label)", name)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q is not a valid DNS name (label starts or ends with '-')", name)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a valid DNS name (character %q)", name, c)
			}
		}
	}
	return nil
}

// checkEmail accepts a bare addr-spec such as ops@example.com.
func checkEmail(addr string) error {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" {
		return fmt.Errorf("%q is not an email address (want local@domain)", addr)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return fmt.Errorf("%q is not a plain email address", addr)
	}
	return checkDNSName(domain)
}
