package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
)

var oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

// ParseCSR decodes a PEM or DER certificate signing request, checks its
// self-signature, refuses one that asks to be a CA (basicConstraints
// CA:TRUE in its extensionRequest) and checks its key type (see
// CheckPublicKey).
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("PEM block is %q, not a CERTIFICATE REQUEST", b.Type)
		}
		der = b.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("parse CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("CSR signature is invalid (the request was altered or not signed by its key): %w", err)
	}
	for _, ext := range csr.Extensions {
		if !ext.Id.Equal(oidBasicConstraints) {
			continue
		}
		var bc struct {
			IsCA       bool `asn1:"optional"`
			MaxPathLen int  `asn1:"optional,default:-1"`
		}
		if rest, err := asn1.Unmarshal(ext.Value, &bc); err != nil || len(rest) != 0 {
			return nil, errors.New("CSR has a malformed basicConstraints extension")
		}
		if bc.IsCA {
			return nil, errors.New("CSR requests basicConstraints CA:TRUE; roam issues only end-entity certificates from CSRs")
		}
	}
	if err := CheckPublicKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("CSR public key: %w", err)
	}
	return csr, nil
}

// CSRSANs returns the subject alternative names requested in csr.
func CSRSANs(csr *x509.CertificateRequest) SANs {
	return SANs{
		DNSNames:       csr.DNSNames,
		EmailAddresses: csr.EmailAddresses,
		IPAddresses:    csr.IPAddresses,
		URIs:           append([]*url.URL(nil), csr.URIs...),
	}
}

// Merge returns the union of s and o, s first.
func (s SANs) Merge(o SANs) SANs {
	return SANs{
		DNSNames:       append(append([]string(nil), s.DNSNames...), o.DNSNames...),
		EmailAddresses: append(append([]string(nil), s.EmailAddresses...), o.EmailAddresses...),
		IPAddresses:    append(append(s.IPAddresses[:0:0], s.IPAddresses...), o.IPAddresses...),
		URIs:           append(append([]*url.URL(nil), s.URIs...), o.URIs...),
	}
}
