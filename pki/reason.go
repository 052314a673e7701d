package pki

import (
	"fmt"
	"strings"
)

// RevocationReason is a CRL reason code (RFC 5280 §5.3.1).
type RevocationReason int

// The reason codes roam accepts.
const (
	ReasonUnspecified          RevocationReason = 0
	ReasonKeyCompromise        RevocationReason = 1
	ReasonCACompromise         RevocationReason = 2
	ReasonAffiliationChanged   RevocationReason = 3
	ReasonSuperseded           RevocationReason = 4
	ReasonCessationOfOperation RevocationReason = 5
	ReasonCertificateHold      RevocationReason = 6
)

var reasonNames = map[RevocationReason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonCertificateHold:      "certificateHold",
}

// String returns the RFC 5280 name of r, e.g. "keyCompromise".
func (r RevocationReason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ParseRevocationReason parses an RFC 5280 reason name (case-insensitive).
func ParseRevocationReason(s string) (RevocationReason, error) {
	for r, name := range reasonNames {
		if strings.EqualFold(s, name) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown revocation reason %q (want keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold or unspecified)", s)
}
