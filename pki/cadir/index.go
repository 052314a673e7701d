package cadir

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/roam-project/roam/pki"
)

// Certificate statuses in the index.
const (
	StatusValid   = "valid"
	StatusRevoked = "revoked"
	StatusExpired = "expired" // computed when listing, never stored
)

// Record is the index entry of one issued certificate.
type Record struct {
	Serial    string     `json:"serial"` // lower-case hex, no colons
	Subject   string     `json:"subject"`
	SANs      []string   `json:"sans,omitempty"`
	Profile   string     `json:"profile"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	Status    string     `json:"status"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// StatusAt returns the record's status at now: revoked, expired or valid.
func (r Record) StatusAt(now time.Time) string {
	if r.Status == StatusRevoked {
		return StatusRevoked
	}
	if now.After(r.NotAfter) {
		return StatusExpired
	}
	return StatusValid
}

// Index is the content of index.json.
type Index struct {
	Certificates []Record `json:"certificates"`
}

// Records returns every issued certificate, oldest first.
func (d *Dir) Records(ctx context.Context) ([]Record, error) {
	idx, err := d.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	return idx.Certificates, nil
}

func (d *Dir) readIndex(ctx context.Context) (*Index, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(d.file(IndexFile))
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("parse %s: %w", IndexFile, err)
	}
	return &idx, nil
}

func (d *Dir) writeIndex(idx *Index) error {
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	return WriteFile(d.file(IndexFile), append(data, '\n'), 0o644, true)
}

// Record adds cert, issued under profile, to the index and stores a copy
// in certs/.
func (d *Dir) Record(ctx context.Context, cert *x509.Certificate, profile pki.Profile) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	unlock, err := d.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := d.readIndex(ctx)
	if err != nil {
		return err
	}
	sans := pki.SANs{DNSNames: cert.DNSNames, EmailAddresses: cert.EmailAddresses, IPAddresses: cert.IPAddresses, URIs: cert.URIs}
	serial := pki.SerialKey(cert.SerialNumber)
	for _, r := range idx.Certificates {
		if r.Serial == serial {
			return fmt.Errorf("serial %s is already in the index", serial)
		}
	}
	certPath := filepath.Join(d.Path, CertsDir, serial+".pem")
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return fmt.Errorf("create certs directory: %w", err)
	}
	if err := WriteFile(certPath, pki.EncodeCertificatesPEM(cert), 0o644, false); err != nil {
		return err
	}
	idx.Certificates = append(idx.Certificates, Record{
		Serial:    serial,
		Subject:   cert.Subject.String(),
		SANs:      sans.Strings(),
		Profile:   string(profile),
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		Status:    StatusValid,
	})
	return d.writeIndex(idx)
}

// ErrUnknownSerial is returned by Revoke for a serial not in the index.
var ErrUnknownSerial = errors.New("no certificate with that serial was issued by this CA")

// Revoke marks the certificate with serial as revoked at now for reason.
// Revoking an already revoked certificate is an error.
func (d *Dir) Revoke(ctx context.Context, serial *big.Int, reason pki.RevocationReason, now time.Time) (Record, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	unlock, err := d.lock(ctx)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	idx, err := d.readIndex(ctx)
	if err != nil {
		return Record{}, err
	}
	key := pki.SerialKey(serial)
	for i := range idx.Certificates {
		r := &idx.Certificates[i]
		if r.Serial != key {
			continue
		}
		if r.Status == StatusRevoked {
			return *r, fmt.Errorf("serial %s was already revoked on %s", pki.FormatSerialHex(serial), r.RevokedAt.Format(time.RFC3339))
		}
		t := now.UTC().Truncate(time.Second)
		r.Status, r.RevokedAt, r.Reason = StatusRevoked, &t, reason.String()
		if err := d.writeIndex(idx); err != nil {
			return Record{}, err
		}
		return *r, nil
	}
	return Record{}, fmt.Errorf("serial %s: %w", pki.FormatSerialHex(serial), ErrUnknownSerial)
}

// Revoked returns the CRL entries for every revoked certificate, expired
// ones included.
func (d *Dir) Revoked(ctx context.Context) ([]pki.RevokedCert, error) {
	idx, err := d.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	var out []pki.RevokedCert
	for _, r := range idx.Certificates {
		if r.Status != StatusRevoked || r.RevokedAt == nil {
			continue
		}
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("%s: bad serial %q", IndexFile, r.Serial)
		}
		reason, err := pki.ParseRevocationReason(r.Reason)
		if err != nil {
			reason = pki.ReasonUnspecified
		}
		out = append(out, pki.RevokedCert{Serial: n, RevokedAt: *r.RevokedAt, Reason: reason})
	}
	return out, nil
}

// PeekCRLNumber returns the number the next CRL must carry (one more than
// the last one published) without changing the counter. It takes the
// directory lock and keeps it until CommitCRLNumber or ReleaseCRLNumber
// (or the end of the process), so that concurrent publishers get distinct
// numbers and a failure between peek and commit leaves no gap; d's other
// changes meanwhile use the lock d holds, and peeking again returns the
// same number.
func (d *Dir) PeekCRLNumber(ctx context.Context) (*big.Int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crlLock == nil {
		l, err := lockDir(ctx, d.Path)
		if err != nil {
			return nil, err
		}
		d.crlLock = l
	}
	n, err := d.readCRLNumber()
	if err != nil {
		d.releaseCRLLocked()
		return nil, err
	}
	return new(big.Int).SetUint64(n + 1), nil
}

// CommitCRLNumber records n as the number of the last CRL published and
// releases the lock PeekCRLNumber took. n must be above the number
// recorded: CRL numbers only increase.
func (d *Dir) CommitCRLNumber(ctx context.Context, n *big.Int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.releaseCRLLocked()
	unlock, err := d.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	last, err := d.readCRLNumber()
	if err != nil {
		return err
	}
	if n.Sign() <= 0 || n.Cmp(new(big.Int).SetUint64(last)) <= 0 {
		return fmt.Errorf("CRL number %s is not above the last one published (%d)", n, last)
	}
	return WriteFile(d.file(CRLNumberFile), []byte(n.String()+"\n"), 0o644, true)
}

// ReleaseCRLNumber gives up the number PeekCRLNumber returned, releasing
// the directory lock without changing the counter. It does nothing if d
// holds no number.
func (d *Dir) ReleaseCRLNumber() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.releaseCRLLocked()
}

func (d *Dir) releaseCRLLocked() {
	if d.crlLock != nil {
		d.crlLock.unlock()
		d.crlLock = nil
	}
}

// readCRLNumber returns the number of the last CRL published.
func (d *Dir) readCRLNumber() (uint64, error) {
	data, err := os.ReadFile(d.file(CRLNumberFile))
	if err != nil {
		return 0, fmt.Errorf("read CRL number: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 62)
	if err != nil {
		return 0, fmt.Errorf("%s is corrupted: %w", CRLNumberFile, err)
	}
	return n, nil
}
