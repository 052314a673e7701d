// Package rfclint runs zlint's RFC lints on a certificate and returns the
// error- and warning-level findings. It is separate from package pki so that
// code needing only pki.CheckLeaf (the CreateSession pipeline) does not link
// zlint and its several hundred registered lints.
//
// The CA/Browser Forum, browser root-program and ETSI lints are left out on
// purpose: they describe the public Web PKI (certificate policies, AIA, CRL
// distribution points, ...) and would flag every private-CA certificate.
//
// Only zlint's lints/rfc package is linked (it registers every lint whose
// source is one of Sources), not the zlint root package, which registers
// all of zlint's lint packages at start-up of every roam command.
package rfclint

import (
	"crypto/x509"
	"fmt"
	"sort"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	_ "github.com/zmap/zlint/v3/lints/rfc" // registers the RFC lints
)

// Finding is one zlint result at warning level or above.
type Finding struct {
	Lint    string `json:"lint"`    // zlint lint name, e.g. "e_ext_san_empty_name"
	Level   string `json:"level"`   // "warn", "error" or "fatal"
	Message string `json:"message"` // the lint's description, plus details if any
	Source  string `json:"source"`  // e.g. "RFC 5280: 4.2.1.6"
}

// Sources are the zlint sources Lint runs.
var Sources = lint.SourceList{lint.RFC3279, lint.RFC5280, lint.RFC5480, lint.RFC5891, lint.RFC8813}

// Lint runs the RFC lints on cert and returns warn/error/fatal findings
// sorted by lint name.
func Lint(cert *x509.Certificate) ([]Finding, error) {
	zc, err := zx509.ParseCertificate(cert.Raw)
	if err != nil {
		return nil, fmt.Errorf("zlint could not parse the certificate: %w", err)
	}
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: Sources})
	if err != nil {
		return nil, fmt.Errorf("select zlint lints: %w", err)
	}
	// As zlint.LintCertificateEx does.
	cfg := reg.GetConfiguration()
	var out []Finding
	for _, l := range reg.CertificateLints().Lints() {
		r := l.Execute(zc, cfg)
		if r == nil || r.Status < lint.Warn {
			continue
		}
		msg := l.LintMetadata.Description
		if r.Details != "" {
			msg += " (" + r.Details + ")"
		}
		out = append(out, Finding{Lint: l.Name, Level: r.Status.String(), Message: msg, Source: l.LintMetadata.Citation})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lint < out[j].Lint })
	return out, nil
}
