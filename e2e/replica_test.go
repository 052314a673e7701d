package e2e

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"

	roamcreds "github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/pki"
)

// replicaYAML is applied by replica A at its first start: one anchor, one
// role, one profile.
const replicaYAML = `account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: ` + anchorID + `, certificateBundle: file:root.pem, enabled: true}
roles:
  - name: s3-writer
    maxSessionDuration: 3600
    trustPolicy:` + fullTrust + `
profiles:
  - {name: onprem, roles: [s3-writer], durationSeconds: 3600, enabled: true}
`

// replicaWithin is how soon a change made through one replica must reach
// another: the issue's "within 1 s".
const replicaWithin = time.Second

// TestReplicas runs two `roam server` replicas, A and B, on one PostgreSQL
// database on 127.0.0.1 with one master key, and checks that:
//   - credentials minted by A pass STS GetCallerIdentity on B and the
//     reverse (one shared keyring);
//   - a profile disabled through A's control plane (aws-sdk-go-v2
//     rolesanywhere DisableProfile, signed with the admin key of `roam
//     server init --db DSN`) makes CreateSession fail on B within 1 s, and
//     enabling it again works on B within 1 s;
//   - SIGKILL of A loses no acknowledged change: every CreateProfile that A
//     answered 2xx while a stream of them was cut by the kill, and a
//     DisableProfile acknowledged just before it, are visible on B and on A
//     once restarted.
//
// "Acknowledged" means a 2xx response: A commits the transaction before it
// answers.
func TestReplicas(t *testing.T) {
	pg := startPGCluster(t)
	shared := t.TempDir()
	masterKey := filepath.Join(shared, "master.key")
	root := newCA(t, "replica root", pki.ECP256)
	tlsCA := newCA(t, "replica TLS", pki.ECP256)

	dirA, dirB := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dirA, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	a := startServerOn(t, dirA, tlsCA, pg.DSN, masterKey, replicaYAML)
	profileARN := profileARNFromLog(t, a)
	profileID := profileARN[strings.LastIndex(profileARN, "/")+1:]
	// A restart of A must not apply the bootstrap file over later changes.
	a.dropBootstrap()
	b := startServerOn(t, dirB, tlsCA, pg.DSN, masterKey, "")

	creds := filepath.Join(shared, "credentials")
	if out, err := exec.Command(bins.roam, "server", "init", "--db", pg.DSN, "--master-key-file", masterKey,
		"--key-file", creds).CombinedOutput(); err != nil {
		t.Fatalf("roam server init: %v\n%s", err, out)
	}
	admin := adminCredentials(t, creds)
	raClient := func(s *server) *rolesanywhere.Client {
		return rolesanywhere.New(rolesanywhere.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
			HTTPClient: s.Client, Credentials: admin, RetryMaxAttempts: 1})
	}

	leaf := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "replica-workload"})
	onA := sessionProvider(t, a, leaf, profileARN, "s3-writer")
	onB := sessionProvider(t, b, leaf, profileARN, "s3-writer")
	ctx := context.Background()

	t.Run("shared keyring", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			mint        *roamcreds.Provider
			check       *server
			checkerName string
		}{{"minted by A", onA, b, "B"}, {"minted by B", onB, a, "A"}} {
			c, err := tc.mint.CreateSession(ctx)
			if err != nil {
				t.Fatalf("%s: CreateSession: %v", tc.name, err)
			}
			arn, err := stsCallerARN(ctx, tc.check, c)
			if err != nil {
				t.Fatalf("%s: GetCallerIdentity on %s: %v", tc.name, tc.checkerName, err)
			}
			if !strings.HasPrefix(arn, "arn:aws:sts::000000000000:assumed-role/s3-writer/") {
				t.Fatalf("%s: GetCallerIdentity on %s = %s", tc.name, tc.checkerName, arn)
			}
		}
	})

	t.Run("disable through A reaches B within 1s", func(t *testing.T) {
		// The admin user was created by another process: A learns of it
		// through the database's notification.
		var err error
		if _, perr := pollUntil(time.Now(), 10*time.Second, 50*time.Millisecond, func() bool {
			_, err = raClient(a).GetProfile(ctx, &rolesanywhere.GetProfileInput{ProfileId: aws.String(profileID)})
			return err == nil
		}); perr != nil {
			t.Fatalf("the admin key never worked on A: %v", err)
		}
		for _, step := range []struct {
			name   string
			change func() error
			wantOK bool
		}{
			{"DisableProfile", func() error {
				_, err := raClient(a).DisableProfile(ctx, &rolesanywhere.DisableProfileInput{ProfileId: aws.String(profileID)})
				return err
			}, false},
			{"EnableProfile", func() error {
				_, err := raClient(a).EnableProfile(ctx, &rolesanywhere.EnableProfileInput{ProfileId: aws.String(profileID)})
				return err
			}, true},
		} {
			if err := step.change(); err != nil {
				t.Fatalf("%s through A: %v", step.name, err)
			}
			acked := time.Now()
			var last error
			took, err := pollUntil(acked, replicaWithin, 50*time.Millisecond, func() bool {
				_, last = onB.CreateSession(ctx)
				return (last == nil) == step.wantOK
			})
			if err != nil {
				t.Fatalf("after %s through A, CreateSession on B still gives %v after %s", step.name, last, replicaWithin)
			}
			if !step.wantOK {
				var ae *roamcreds.APIError
				if !errors.As(last, &ae) || ae.StatusCode != 403 || ae.Code != "AccessDeniedException" || !strings.Contains(ae.Message, "disabled") {
					t.Fatalf("CreateSession on B with the profile disabled: %v, want 403 AccessDeniedException (disabled)", last)
				}
			}
			t.Logf("%s through A reached B in %s", step.name, took.Round(time.Millisecond))
		}
	})

	t.Run("SIGKILL of A loses no acknowledged change", func(t *testing.T) {
		// A stream of CreateProfile calls through A, cut by SIGKILL.
		var (
			mu    sync.Mutex
			acked []string
			done  = make(chan struct{})
		)
		ra := raClient(a)
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				name := fmt.Sprintf("durable-%03d", i)
				_, err := ra.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{Name: aws.String(name),
					RoleArns: []string{roleARN("s3-writer")}, Enabled: aws.Bool(true)})
				if err != nil {
					return // A is gone
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		}()
		if _, err := pollUntil(time.Now(), 30*time.Second, 10*time.Millisecond, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(acked) >= 10
		}); err != nil {
			t.Fatalf("CreateProfile through A: fewer than 10 acknowledged: %v", err)
		}
		// The last change before the kill: acknowledged, then SIGKILL at once.
		if _, err := ra.DisableProfile(ctx, &rolesanywhere.DisableProfileInput{ProfileId: aws.String(profileID)}); err != nil {
			t.Fatalf("DisableProfile through A: %v", err)
		}
		a.kill(t)
		<-done
		mu.Lock()
		names := append([]string(nil), acked...)
		mu.Unlock()
		t.Logf("%d CreateProfile calls acknowledged before SIGKILL", len(names))

		check := func(who string, s *server) {
			t.Helper()
			have := map[string]bool{}
			p := rolesanywhere.NewListProfilesPaginator(raClient(s), &rolesanywhere.ListProfilesInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListProfiles on %s: %v", who, err)
				}
				for _, pd := range page.Profiles {
					have[aws.ToString(pd.Name)] = true
					if aws.ToString(pd.ProfileId) == profileID && aws.ToBool(pd.Enabled) {
						t.Errorf("%s: profile onprem is enabled; its DisableProfile was acknowledged before SIGKILL", who)
					}
				}
			}
			for _, n := range names {
				if !have[n] {
					t.Errorf("%s: acknowledged profile %s is missing", who, n)
				}
			}
			// The snapshot follows within the replication delay.
			sp := sessionProvider(t, s, leaf, profileARN, "s3-writer")
			if _, err := pollUntil(time.Now(), replicaWithin, 50*time.Millisecond, func() bool {
				_, err := sp.CreateSession(ctx)
				return err != nil
			}); err != nil {
				t.Errorf("%s: CreateSession still works on the profile disabled before SIGKILL: %v", who, err)
			}
		}
		check("B", b)
		a.start(t)
		check("A after restart", a)
	})
}
