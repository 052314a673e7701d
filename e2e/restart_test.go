package e2e

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
)

// TestRestartSessionToken: a session token issued before a restart still
// unseals with the keyring the restarted server reloads from its store and
// master key file, and the restarted server keeps issuing credentials.
// (STS GetCallerIdentity over HTTP comes later; the token is validated
// in-process after the server has stopped.)
func TestRestartSessionToken(t *testing.T) {
	f := newFixture(t)
	l := f.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "restart-workload"})

	// Before: the official helper.
	before, errOut, err := f.helper(t, l, "restart", nil, anchorARN, "s3-writer")
	if err != nil {
		t.Fatalf("helper failed: %v\n%s", err, errOut)
	}
	checkCredentials(t, before)

	f.srv.restart(t)

	// After: the Go client against the restarted server.
	n := &negFixture{srv: f.srv, dir: f.dir, root: f.root, good: l, profiles: map[string]string{"main": f.profileARN}}
	req, _ := n.request(t, reqOpts{})
	after := send(t, f.srv.Client, req).created(t)

	f.srv.stop()
	ctx := context.Background()
	master, err := sts.LoadOrCreateMasterKey(filepath.Join(f.srv.dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(f.srv.dir, "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr, err := sts.OpenKeyring(ctx, st, master, sts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name               string
		accessKeyID, token string
	}{
		{"issued before restart", before.AccessKeyID, before.SessionToken},
		{"issued after restart", after.Credentials.AccessKeyID, after.Credentials.SessionToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := kr.Validate(tc.accessKeyID, tc.token, now)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if s.RoleARN != roleARN("s3-writer") || s.TrustAnchorARN != anchorARN || s.ProfileARN != f.profileARN ||
				s.SourceIdentity != "CN=restart-workload" || s.SessionName != anywhere.HexSerial(l.cert.SerialNumber) {
				t.Errorf("session = role %s anchor %s profile %s source identity %s name %s",
					s.RoleARN, s.TrustAnchorARN, s.ProfileARN, s.SourceIdentity, s.SessionName)
			}
			if s.CertSerial() == nil || s.CertSerial().Cmp(l.cert.SerialNumber) != 0 {
				t.Errorf("certificate serial %v, want %v", s.CertSerial(), l.cert.SerialNumber)
			}
		})
	}
	// Control: Validate is not vacuous.
	t.Run("control/other access key id", func(t *testing.T) {
		if _, err := kr.Validate(after.Credentials.AccessKeyID, before.SessionToken, now); err == nil {
			t.Fatal("a token validated with another session's access key id")
		}
	})
	t.Run("control/wrong master key", func(t *testing.T) {
		wrong := make([]byte, sts.MasterKeySize)
		if _, err := sts.OpenKeyring(ctx, st, wrong, sts.Options{}); !errors.Is(err, sts.ErrWrongMasterKey) {
			t.Fatalf("OpenKeyring with a wrong master key: %v, want ErrWrongMasterKey", err)
		}
	})
}
