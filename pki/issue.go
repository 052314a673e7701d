package pki

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Profile selects the kind of leaf certificate to issue.
type Profile string

// The leaf profiles.
const (
	// ProfileClient is a Roles Anywhere client certificate: keyUsage
	// digitalSignature, extKeyUsage clientAuth.
	ProfileClient Profile = "client"
	// ProfileServer is a TLS server certificate: keyUsage digitalSignature
	// (and keyEncipherment for RSA), extKeyUsage serverAuth, at least one SAN.
	ProfileServer Profile = "server"
)

// ParseProfile returns the Profile named s.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(strings.ToLower(s)); p {
	case ProfileClient, ProfileServer:
		return p, nil
	}
	return "", fmt.Errorf("unknown profile %q (want client or server)", s)
}

// DefaultValidity returns the profile's default certificate lifetime.
func (p Profile) DefaultValidity() time.Duration {
	if p == ProfileServer {
		return DefaultServerValidity
	}
	return DefaultClientValidity
}

// LeafRequest describes a leaf certificate to issue.
type LeafRequest struct {
	Profile   Profile
	Subject   pkix.Name
	SANs      SANs
	PublicKey crypto.PublicKey
	Validity  time.Duration // the profile's default if zero
	Now       time.Time     // time.Now() if zero
	Rand      io.Reader     // crypto/rand.Reader if nil
}

// Issued is the result of Issuer.Issue.
type Issued struct {
	Cert *x509.Certificate
	// Clamped is set when the requested validity ran past the issuer's
	// notAfter and was cut short to it.
	Clamped bool
}

// Issue signs a leaf certificate for req. Client certificates meet every
// Roles Anywhere rule (see CheckLeaf). A server certificate without SANs gets
// its common name as a DNS (or IP) SAN.
func (iss *Issuer) Issue(req LeafRequest) (*Issued, error) {
	if req.Profile == "" {
		req.Profile = ProfileClient
	}
	if _, err := ParseProfile(string(req.Profile)); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Subject.CommonName) == "" {
		return nil, errors.New("common name must not be empty (Roles Anywhere rejects empty subjects)")
	}
	if err := CheckPublicKey(req.PublicKey); err != nil {
		return nil, err
	}
	if req.Validity < 0 {
		return nil, errors.New("validity must be positive")
	}
	if req.Validity == 0 {
		req.Validity = req.Profile.DefaultValidity()
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	sans := req.SANs
	if req.Profile == ProfileServer && sans.Empty() {
		cn := req.Subject.CommonName
		if ip := net.ParseIP(cn); ip != nil {
			sans.IPAddresses = []net.IP{ip}
		} else if err := checkDNSName(cn); err != nil {
			return nil, fmt.Errorf("server certificate has no SAN and its common name cannot be one: %w", err)
		} else {
			sans.DNSNames = []string{strings.ToLower(cn)}
		}
	}
	serial, err := RandomSerial(req.Rand)
	if err != nil {
		return nil, err
	}
	skid, err := PublicKeyID(req.PublicKey)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(req.Validity).UTC(),
		BasicConstraintsValid: true,
		IsCA:                  false,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		SubjectKeyId:          skid,
		DNSNames:              sans.DNSNames,
		EmailAddresses:        sans.EmailAddresses,
		IPAddresses:           sans.IPAddresses,
		URIs:                  sans.URIs,
	}
	switch req.Profile {
	case ProfileClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case ProfileServer:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		if _, ok := req.PublicKey.(*rsa.PublicKey); ok {
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
	}
	clamped, err := iss.clamp(tmpl)
	if err != nil {
		return nil, err
	}
	cert, err := sign(tmpl, iss.Cert, req.PublicKey, iss.Key, req.Rand)
	if err != nil {
		return nil, err
	}
	return &Issued{Cert: cert, Clamped: clamped}, nil
}
