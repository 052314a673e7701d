package gateway

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// CertLoader holds a listener's certificate and key, reloaded when either
// file changes. GetCertificate is lock-free.
type CertLoader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
	mu                sync.Mutex
	certMod, keyMod   time.Time
	certSize, keySize int64
	// certInfo and keyInfo identify the files loaded: a file renamed into
	// place is a change even with the same size and a modification time
	// in the same clock tick.
	certInfo, keyInfo os.FileInfo
}

// NewCertLoader loads the certificate and key.
func NewCertLoader(certFile, keyFile string) (*CertLoader, error) {
	l := &CertLoader{certFile: certFile, keyFile: keyFile}
	if _, err := l.Reload(true); err != nil {
		return nil, err
	}
	return l, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (l *CertLoader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return l.cur.Load(), nil
}

// Reload re-reads the files when their modification time or size changed
// (or always with force) and reports whether a new certificate is in use.
// A pair that does not load leaves the old one in place.
func (l *CertLoader) Reload(force bool) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cs, err := os.Stat(l.certFile)
	if err != nil {
		return false, fmt.Errorf("server certificate: %w", err)
	}
	ks, err := os.Stat(l.keyFile)
	if err != nil {
		return false, fmt.Errorf("server key: %w", err)
	}
	if !force && cs.ModTime().Equal(l.certMod) && ks.ModTime().Equal(l.keyMod) && cs.Size() == l.certSize && ks.Size() == l.keySize &&
		os.SameFile(cs, l.certInfo) && os.SameFile(ks, l.keyInfo) {
		return false, nil
	}
	pair, err := tls.LoadX509KeyPair(l.certFile, l.keyFile)
	if err != nil {
		// The key and certificate may be written one after the other;
		// the next poll retries.
		return false, fmt.Errorf("server certificate %s: %w", l.certFile, err)
	}
	l.cur.Store(&pair)
	l.certMod, l.keyMod, l.certSize, l.keySize = cs.ModTime(), ks.ModTime(), cs.Size(), ks.Size()
	l.certInfo, l.keyInfo = cs, ks
	return true, nil
}
