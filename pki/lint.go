package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// Rule names reported in Problem.Rule.
const (
	RuleVersion            = "version"
	RuleBasicConstraints   = "basic-constraints"
	RuleKeyUsage           = "key-usage"
	RuleSignatureAlgorithm = "signature-algorithm"
	RuleKeyType            = "key-type"
	RuleValidity           = "validity"
	RuleSubject            = "subject"
	RuleChain              = "chain"
)

// Problem is one Roles Anywhere rule a certificate breaks.
type Problem struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// String returns "rule: message".
func (p Problem) String() string { return p.Rule + ": " + p.Message }

var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// emptyName is the DER encoding of an empty RDNSequence.
var emptyName = []byte{0x30, 0x00}

// CheckLeaf reports every IAM Roles Anywhere rule that cert breaks as a
// CreateSession signing (leaf) certificate at time now: it must be X.509 v3,
// carry basicConstraints with CA:FALSE, a keyUsage including
// digitalSignature, a SHA-256-or-stronger signature, an RSA (>= 2048 bits)
// or ECDSA P-256/P-384 key, a non-empty subject, and be within its validity
// period. It does not check the chain (see CheckChain). CheckLeaf is cheap
// and has no side effects; a nil result means the certificate is acceptable.
func CheckLeaf(cert *x509.Certificate, now time.Time) []Problem {
	var ps []Problem
	add := func(rule, format string, args ...any) {
		ps = append(ps, Problem{Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if cert.Version != 3 {
		add(RuleVersion, "certificate is X.509 v%d; Roles Anywhere requires v3 (v1/v2 certificates cannot carry the required extensions)", cert.Version)
	}
	switch {
	case !cert.BasicConstraintsValid:
		add(RuleBasicConstraints, "basicConstraints extension is missing; it must be present with CA:FALSE")
	case cert.IsCA:
		add(RuleBasicConstraints, "basicConstraints says CA:TRUE; a signing certificate must be CA:FALSE")
	}
	hasKU := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidKeyUsage) {
			hasKU = true
			break
		}
	}
	switch {
	case !hasKU:
		add(RuleKeyUsage, "keyUsage extension is missing; it must be present and include digitalSignature")
	case cert.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		add(RuleKeyUsage, "keyUsage does not include digitalSignature")
	}
	if !strongSignature(cert.SignatureAlgorithm) {
		add(RuleSignatureAlgorithm, "signature algorithm %s is not accepted; use SHA-256 or stronger (SHA-1 and MD5 are rejected)", cert.SignatureAlgorithm)
	}
	if err := CheckPublicKey(cert.PublicKey); err != nil {
		add(RuleKeyType, "%v", err)
	}
	if len(cert.RawSubject) == 0 || bytes.Equal(cert.RawSubject, emptyName) {
		add(RuleSubject, "subject is empty; Roles Anywhere does not accept certificates with an empty subject")
	}
	switch {
	case now.Before(cert.NotBefore):
		add(RuleValidity, "certificate is not valid yet: notBefore is %s (in %s)", cert.NotBefore.UTC().Format(time.RFC3339), cert.NotBefore.Sub(now).Round(time.Second))
	case now.After(cert.NotAfter):
		add(RuleValidity, "certificate expired on %s (%s ago)", cert.NotAfter.UTC().Format(time.RFC3339), now.Sub(cert.NotAfter).Round(time.Second))
	}
	return ps
}

// strongSignature reports whether alg uses SHA-256 or a stronger hash.
func strongSignature(alg x509.SignatureAlgorithm) bool {
	switch alg {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		return true
	}
	return false
}

// CheckPublicKey accepts the key types Roles Anywhere and its credential
// helper support: RSA of at least 2048 bits and ECDSA on P-256 or P-384.
func CheckPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 {
			return fmt.Errorf("RSA key is %d bits; at least 2048 bits are required", n)
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return fmt.Errorf("ECDSA curve %s is not supported; use P-256 or P-384", k.Curve.Params().Name)
		}
		return nil
	case nil:
		return errors.New("public key is missing or of an unknown type")
	}
	return fmt.Errorf("key type %s is not supported; use RSA (>= 2048 bits) or ECDSA P-256/P-384", DescribePublicKey(pub))
}

// CheckChain verifies that leaf chains to one of anchors, using
// intermediates as an unordered pool, at time now. Anchors are trusted as
// given even if they are not self-signed (a Roles Anywhere trust anchor may
// be an intermediate CA). Extended key usage is not constrained. It returns
// nil when a chain is found.
func CheckChain(leaf *x509.Certificate, intermediates, anchors []*x509.Certificate, now time.Time) *Problem {
	if len(anchors) == 0 {
		return &Problem{Rule: RuleChain, Message: "no trust anchor given"}
	}
	roots := x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	pool := x509.NewCertPool()
	for _, c := range intermediates {
		pool.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return &Problem{Rule: RuleChain, Message: "no valid chain to the trust anchor: " + err.Error()}
	}
	return nil
}
