package pki

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// RevokedCert is one entry of a CRL.
type RevokedCert struct {
	Serial    *big.Int
	RevokedAt time.Time
	Reason    RevocationReason
}

// CRLOptions describes a CRL to sign.
type CRLOptions struct {
	Number     *big.Int      // the CRL number; must be positive and grow with every CRL
	Now        time.Time     // thisUpdate; time.Now() if zero
	NextUpdate time.Duration // nextUpdate - thisUpdate; 7 days if zero
	Rand       io.Reader     // crypto/rand.Reader if nil
}

// CreateCRL signs a v2 CRL listing revoked, with a CRL number and an
// authority key identifier. It returns the DER encoding.
func (iss *Issuer) CreateCRL(revoked []RevokedCert, opts CRLOptions) ([]byte, error) {
	if opts.Number == nil || opts.Number.Sign() <= 0 {
		return nil, errors.New("CRL number must be positive")
	}
	if opts.NextUpdate < 0 {
		return nil, errors.New("next update must be in the future")
	}
	if opts.NextUpdate == 0 {
		opts.NextUpdate = 7 * Day
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	entries := make([]x509.RevocationListEntry, len(revoked))
	for i, rc := range revoked {
		entries[i] = x509.RevocationListEntry{
			SerialNumber:   rc.Serial,
			RevocationTime: rc.RevokedAt.UTC(),
			ReasonCode:     int(rc.Reason),
		}
	}
	tmpl := &x509.RevocationList{
		SignatureAlgorithm:        SignatureAlgorithmFor(iss.Key.Public()),
		RevokedCertificateEntries: entries,
		Number:                    opts.Number,
		ThisUpdate:                now.UTC(),
		NextUpdate:                now.Add(opts.NextUpdate).UTC(),
	}
	der, err := x509.CreateRevocationList(r, tmpl, iss.Cert, iss.Key)
	if err != nil {
		return nil, fmt.Errorf("sign CRL: %w", err)
	}
	return der, nil
}
