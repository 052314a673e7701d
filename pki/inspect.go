package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// Kind is the kind of a PKI object found in a file.
type Kind string

// The kinds Decode recognises.
const (
	KindCertificate Kind = "certificate"
	KindCSR         Kind = "certificate request"
	KindCRL         Kind = "CRL"
	KindPKCS12      Kind = "PKCS#12"
)

// MaxObjectSize bounds the input Decode accepts.
const MaxObjectSize = 1 << 20

// Object is a decoded certificate, CSR, CRL or PKCS#12 file. Exactly the
// fields matching Kind are set.
type Object struct {
	Kind         Kind
	Certificates []*x509.Certificate // KindCertificate (every PEM block), KindPKCS12 (leaf first)
	CSR          *x509.CertificateRequest
	CRL          *x509.RevocationList
	// Key is set for KindPKCS12: the bundled private key.
	Key any
}

// ErrNeedsPassword is returned by Decode for PKCS#12 input; call
// DecodePKCS12 with the password.
var ErrNeedsPassword = errors.New("PKCS#12 file needs a password")

// Decode detects what data holds (PEM or DER certificate(s), CSR or CRL) and
// parses it. For PKCS#12 input it returns an Object of KindPKCS12 with no
// contents and ErrNeedsPassword.
func Decode(data []byte) (*Object, error) {
	if len(data) > MaxObjectSize {
		return nil, fmt.Errorf("input is larger than %d bytes", MaxObjectSize)
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return decodePEM(data)
	}
	return decodeDER(data)
}

func decodePEM(data []byte) (*Object, error) {
	var obj *Object
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE", "TRUSTED CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			if obj == nil {
				obj = &Object{Kind: KindCertificate}
			}
			if obj.Kind != KindCertificate {
				return nil, fmt.Errorf("file mixes %s and certificate blocks", obj.Kind)
			}
			obj.Certificates = append(obj.Certificates, c)
		case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
			if obj != nil {
				return obj, nil
			}
			csr, err := x509.ParseCertificateRequest(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse CSR: %w", err)
			}
			return &Object{Kind: KindCSR, CSR: csr}, nil
		case "X509 CRL":
			if obj != nil {
				return obj, nil
			}
			crl, err := x509.ParseRevocationList(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse CRL: %w", err)
			}
			return &Object{Kind: KindCRL, CRL: crl}, nil
		case "PKCS12":
			return &Object{Kind: KindPKCS12}, ErrNeedsPassword
		}
	}
	if obj == nil {
		return nil, errors.New("no certificate, CSR or CRL PEM block found")
	}
	return obj, nil
}

// decodeDER tells a PFX (whose first inner element is the INTEGER version)
// from the signed structures (whose first inner element is the SEQUENCE
// being signed), then tries the certificate, CSR and CRL parsers in turn.
func decodeDER(der []byte) (*Object, error) {
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) != 0 || outer.Tag != asn1.TagSequence || !outer.IsCompound {
		return nil, errors.New("not a certificate, CSR, CRL or PKCS#12 file (neither PEM nor a DER SEQUENCE)")
	}
	var first asn1.RawValue
	if _, err := asn1.Unmarshal(outer.Bytes, &first); err != nil {
		return nil, errors.New("malformed DER: unreadable first element")
	}
	if first.Class == asn1.ClassUniversal && first.Tag == asn1.TagInteger {
		return &Object{Kind: KindPKCS12}, ErrNeedsPassword
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		return &Object{Kind: KindCertificate, Certificates: []*x509.Certificate{c}}, nil
	}
	if csr, err := x509.ParseCertificateRequest(der); err == nil {
		return &Object{Kind: KindCSR, CSR: csr}, nil
	}
	if crl, err := x509.ParseRevocationList(der); err == nil {
		return &Object{Kind: KindCRL, CRL: crl}, nil
	}
	return nil, errors.New("DER input is not a parsable certificate, CSR or CRL")
}

// DecodePKCS12 opens a PKCS#12 file with password ("" for none).
func DecodePKCS12(data []byte, password string) (*Object, error) {
	if b, _ := pem.Decode(data); b != nil && b.Type == "PKCS12" {
		data = b.Bytes
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, errors.New("open PKCS#12: wrong password")
		}
		return nil, fmt.Errorf("open PKCS#12: %w", err)
	}
	return &Object{Kind: KindPKCS12, Key: key, Certificates: append([]*x509.Certificate{cert}, chain...)}, nil
}
