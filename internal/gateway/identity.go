package gateway

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/roam-project/roam/pki"
)

// Identity headers the gateway sets for the backend. Inbound copies are
// always removed, whatever the route's mode.
const (
	HeaderClientCert        = "Client-Cert"       // RFC 9440
	HeaderClientCertChain   = "Client-Cert-Chain" // RFC 9440
	HeaderXFCC              = "X-Forwarded-Client-Cert"
	HeaderClientSubject     = "X-Roam-Client-Subject"
	HeaderClientSAN         = "X-Roam-Client-San"
	HeaderClientSerial      = "X-Roam-Client-Serial"
	HeaderClientFingerprint = "X-Roam-Client-Fingerprint"
	HeaderPrincipal         = "X-Roam-Principal"
)

var identityHeaders = []string{
	HeaderClientCert, HeaderClientCertChain, HeaderXFCC, HeaderClientSubject,
	HeaderClientSAN, HeaderClientSerial, HeaderClientFingerprint, HeaderPrincipal,
}

// stripIdentity removes every identity header and any X-Roam-* header from
// h, whatever the spelling: any case, and "_" for "-" (CGI-style backends
// read X_Roam_Client_Subject as X-Roam-Client-Subject).
func stripIdentity(h http.Header) {
	for k := range h {
		n := k
		if strings.IndexByte(n, '_') >= 0 {
			n = strings.ReplaceAll(n, "_", "-")
		}
		n = textproto.CanonicalMIMEHeaderKey(n)
		if strings.HasPrefix(n, "X-Roam-") || slices.Contains(identityHeaders, n) {
			delete(h, k)
		}
	}
}

// setIdentity sets the identity headers for a verified client certificate
// (leaf and the certificates it presented after it) and principal ("" for
// none).
func setIdentity(h http.Header, leaf *x509.Certificate, chain []*x509.Certificate, principal string) {
	if leaf != nil {
		h.Set(HeaderClientCert, sfBinary(leaf.Raw))
		if len(chain) > 0 {
			parts := make([]string, len(chain))
			for i, c := range chain {
				parts[i] = sfBinary(c.Raw)
			}
			h.Set(HeaderClientCertChain, strings.Join(parts, ", "))
		}
		sum := sha256.Sum256(leaf.Raw)
		fp := hex.EncodeToString(sum[:])
		sans := pki.CertificateSANs(leaf)
		h.Set(HeaderXFCC, xfcc(leaf, fp, sans))
		h.Set(HeaderClientSubject, headerSafe(leaf.Subject.String()))
		if s := sanString(sans); s != "" {
			h.Set(HeaderClientSAN, headerSafe(s))
		}
		h.Set(HeaderClientSerial, pki.FormatSerialHex(leaf.SerialNumber))
		h.Set(HeaderClientFingerprint, fp)
	}
	if principal != "" {
		h.Set(HeaderPrincipal, principal)
	}
}

// sfBinary is an RFC 8941 byte sequence: base64 between colons.
func sfBinary(b []byte) string { return ":" + base64.StdEncoding.EncodeToString(b) + ":" }

// xfcc builds an Envoy-style X-Forwarded-Client-Cert element:
// Hash=…;Cert="…";Subject="…";URI=…;DNS=… (values with special characters
// quoted, the PEM URL-encoded, as Envoy does).
func xfcc(leaf *x509.Certificate, fp string, sans pki.SANs) string {
	var b strings.Builder
	b.WriteString("Hash=")
	b.WriteString(fp)
	b.WriteString(`;Cert="`)
	b.WriteString(url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))))
	b.WriteString(`";Subject="`)
	b.WriteString(xfccQuote(leaf.Subject.String()))
	b.WriteByte('"')
	for _, u := range sans.URIs {
		b.WriteString(";URI=")
		b.WriteString(xfccQuote(u.String()))
	}
	for _, d := range sans.DNSNames {
		b.WriteString(";DNS=")
		b.WriteString(xfccQuote(d))
	}
	return headerSafe(b.String())
}

func xfccQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func sanString(s pki.SANs) string {
	var parts []string
	for _, d := range s.DNSNames {
		parts = append(parts, "DNS:"+d)
	}
	for _, ip := range s.IPAddresses {
		parts = append(parts, "IP:"+ip.String())
	}
	for _, e := range s.EmailAddresses {
		parts = append(parts, "email:"+e)
	}
	for _, u := range s.URIs {
		parts = append(parts, "URI:"+u.String())
	}
	return strings.Join(parts, ", ")
}

// headerSafe replaces control characters, which a certificate may carry but
// a header value must not.
func headerSafe(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
