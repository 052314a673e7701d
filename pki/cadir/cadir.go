// Package cadir keeps a roam certificate authority in a directory: the CA
// certificates and their encrypted keys, the index of issued certificates
// and the CRL number counter.
//
// Layout:
//
//	ca.json            what the directory holds (version, name, issuing CA)
//	root.pem           root CA certificate (the Roles Anywhere trust anchor)
//	root.key           root CA key, PKCS#8, encrypted unless created without password; 0600
//	intermediate.pem   intermediate CA certificate (only with an intermediate)
//	intermediate.key   intermediate CA key; 0600
//	index.json         every issued certificate with its status
//	crlnumber          the number of the last CRL issued (decimal)
//	certs/SERIAL.pem   a copy of every issued certificate (serial in hex)
//	lock               the advisory lock every change holds (0600, empty)
//
// Every file is replaced atomically, and every change (Init, Record, Revoke,
// publishing a CRL number) holds an exclusive lock on the lock file, so any
// number of writers, in one process or several, may share a directory.
package cadir

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/roam-project/roam/pki"
)

// File names inside a CA directory.
const (
	ConfigFile           = "ca.json"
	RootCertFile         = "root.pem"
	RootKeyFile          = "root.key"
	IntermediateCertFile = "intermediate.pem"
	IntermediateKeyFile  = "intermediate.key"
	IndexFile            = "index.json"
	CRLNumberFile        = "crlnumber"
	CertsDir             = "certs"
)

// Config is the content of ca.json.
type Config struct {
	Version         int       `json:"version"`
	Name            string    `json:"name"`
	KeyType         string    `json:"key_type"`
	HasIntermediate bool      `json:"intermediate"`
	Created         time.Time `json:"created"`
}

// Dir is an opened CA directory.
type Dir struct {
	Path   string
	Config Config

	// mu serializes this Dir's changes within the process (the
	// directory lock serializes them across Dirs and processes) and
	// guards crlLock.
	mu sync.Mutex
	// crlLock is the directory lock held from PeekCRLNumber until
	// CommitCRLNumber or ReleaseCRLNumber.
	crlLock *dirLock
}

// ErrNotCA is returned by Open when the path is not a CA directory.
var ErrNotCA = errors.New("not a roam CA directory (run `roam ca init` first)")

func (d *Dir) file(name string) string { return filepath.Join(d.Path, name) }

// Open opens the CA directory at path.
func Open(ctx context.Context, path string) (*Dir, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(path, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(path); serr != nil {
			return nil, fmt.Errorf("CA directory %s does not exist: %w", path, ErrNotCA)
		}
		return nil, fmt.Errorf("%s: %w", path, ErrNotCA)
	}
	if err != nil {
		return nil, fmt.Errorf("open CA directory: %w", err)
	}
	d := &Dir{Path: path}
	if err := json.Unmarshal(data, &d.Config); err != nil {
		return nil, fmt.Errorf("read %s: %w", ConfigFile, err)
	}
	if d.Config.Version != 1 {
		return nil, fmt.Errorf("%s: unsupported CA directory version %d", path, d.Config.Version)
	}
	return d, nil
}

// InitFiles returns the paths of the files Init creates in dir.
func InitFiles(dir string) []string {
	names := []string{ConfigFile, RootCertFile, RootKeyFile, IntermediateCertFile, IntermediateKeyFile, IndexFile, CRLNumberFile}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

// InitOptions describes a new CA.
type InitOptions struct {
	Name                 string
	KeyType              pki.KeyType
	RootValidity         time.Duration
	Intermediate         bool
	IntermediateValidity time.Duration
	// Password encrypts the CA keys; empty leaves them unencrypted.
	Password []byte
	// KDFIterations overrides pki.DefaultKDFIterations when positive.
	KDFIterations int
	// Force allows replacing an existing CA (its index is reset).
	Force bool
	Now   time.Time
}

// InitResult reports what Init created.
type InitResult struct {
	Dir          *Dir
	Root         *x509.Certificate
	Intermediate *x509.Certificate // nil without an intermediate
	// Clamped is set when the intermediate's validity was cut to the root's.
	Clamped bool
}

// Init creates a CA in path: a root and, if asked, an intermediate signed by
// it. Nothing is written unless every key and certificate was made and no
// CA file exists (or opts.Force is set).
func Init(ctx context.Context, path string, opts InitOptions) (*InitResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &Dir{Path: path}
	if !opts.Force {
		for _, p := range InitFiles(path) {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("CA already exists: %s: %w", p, ErrExists)
			}
		}
	}
	if opts.Name == "" {
		return nil, errors.New("CA name must not be empty")
	}
	if opts.KeyType == "" {
		opts.KeyType = pki.ECP256
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rootKey, err := pki.GenerateKey(opts.KeyType, nil)
	if err != nil {
		return nil, fmt.Errorf("generate root key: %w", err)
	}
	pathLen := 0
	if opts.Intermediate {
		pathLen = 1
	}
	rootName := opts.Name
	if opts.Intermediate {
		rootName += " Root CA"
	}
	root, err := pki.NewRootCA(rootKey, pki.CAOptions{
		Subject:    subject(rootName),
		Validity:   opts.RootValidity,
		MaxPathLen: pathLen,
		Now:        now,
	})
	if err != nil {
		return nil, fmt.Errorf("create root CA: %w", err)
	}
	res := &InitResult{Dir: d, Root: root}
	type out struct {
		name string
		data []byte
		perm fs.FileMode
	}
	rootKeyPEM, err := pki.MarshalPrivateKeyPEM(rootKey, opts.Password, opts.KDFIterations)
	if err != nil {
		return nil, fmt.Errorf("encode root key: %w", err)
	}
	outs := []out{
		{RootKeyFile, rootKeyPEM, 0o600},
		{RootCertFile, pki.EncodeCertificatesPEM(root), 0o644},
	}
	if opts.Intermediate {
		intKey, err := pki.GenerateKey(opts.KeyType, nil)
		if err != nil {
			return nil, fmt.Errorf("generate intermediate key: %w", err)
		}
		parent := &pki.Issuer{Cert: root, Key: rootKey}
		inter, clamped, err := parent.NewIntermediateCA(intKey.Public(), pki.CAOptions{
			Subject:  subject(opts.Name + " Intermediate CA"),
			Validity: opts.IntermediateValidity,
			Now:      now,
		})
		if err != nil {
			return nil, fmt.Errorf("create intermediate CA: %w", err)
		}
		res.Intermediate, res.Clamped = inter, clamped
		intKeyPEM, err := pki.MarshalPrivateKeyPEM(intKey, opts.Password, opts.KDFIterations)
		if err != nil {
			return nil, fmt.Errorf("encode intermediate key: %w", err)
		}
		outs = append(outs,
			out{IntermediateKeyFile, intKeyPEM, 0o600},
			out{IntermediateCertFile, pki.EncodeCertificatesPEM(inter), 0o644})
	}
	d.Config = Config{Version: 1, Name: opts.Name, KeyType: string(opts.KeyType), HasIntermediate: opts.Intermediate, Created: now.UTC()}
	cfg, err := json.MarshalIndent(d.Config, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ConfigFile, err)
	}
	idx, _ := json.MarshalIndent(Index{Certificates: []Record{}}, "", "  ")
	outs = append(outs,
		out{IndexFile, append(idx, '\n'), 0o644},
		out{CRLNumberFile, []byte("0\n"), 0o644},
		out{ConfigFile, append(cfg, '\n'), 0o644}) // last: marks the directory complete

	if err := os.MkdirAll(filepath.Join(path, CertsDir), 0o700); err != nil {
		return nil, fmt.Errorf("create CA directory: %w", err)
	}
	unlock, err := d.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !opts.Force {
		// Again, under the lock: another init may have won meanwhile.
		for _, p := range InitFiles(path) {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("CA already exists: %s: %w", p, ErrExists)
			}
		}
	}
	if opts.Force && !opts.Intermediate {
		// A replaced CA must not leave a stale intermediate behind.
		for _, f := range []string{IntermediateCertFile, IntermediateKeyFile} {
			if err := os.Remove(d.file(f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove old %s: %w", f, err)
			}
		}
	}
	for _, o := range outs {
		if err := WriteFile(d.file(o.name), o.data, o.perm, opts.Force); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func subject(cn string) pkix.Name { return pkix.Name{CommonName: cn} }
