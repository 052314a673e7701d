package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	ratypes "github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
)

const raAcct = "000000000000"

// raEnv is a Handler over a SQLite store behind httptest TLS, with an admin
// user whose access key the SDK clients sign with.
type raEnv struct {
	t        *testing.T
	st       store.Store
	srv      *httptest.Server
	sessions *anywhere.Service
	master   []byte
	reloads  atomic.Int32
	admin    aws.Credentials
	calls    *raCallLog
}

// raCallLog records the method, path and status of every response.
type raCallLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *raCallLog) add(s string) { l.mu.Lock(); l.calls = append(l.calls, s); l.mu.Unlock() }
func (l *raCallLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		if c == s {
			return true
		}
	}
	return false
}

type raRecordingTransport struct {
	next http.RoundTripper
	log  *raCallLog
}

func (t raRecordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.log.add(r.Method + " " + r.URL.Path + " " + http.StatusText(resp.StatusCode))
	}
	return resp, err
}

const raAllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func newRAEnv(t *testing.T) *raEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roam.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutSetting(ctx, store.SettingAccountID, raAcct); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, store.SettingRegion, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	e := &raEnv{t: t, st: st, master: make([]byte, sts.MasterKeySize), calls: &raCallLog{}}
	rand.Read(e.master)
	kr, err := sts.OpenKeyring(ctx, st, e.master, sts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.sessions = anywhere.NewService(anywhere.Config{Minter: kr})
	reload := func(ctx context.Context) error {
		cfg, err := st.LoadConfig(ctx)
		if err != nil {
			return err
		}
		e.sessions.SetSnapshot(anywhere.NewSnapshot(cfg))
		e.reloads.Add(1)
		return nil
	}
	if err := reload(ctx); err != nil {
		t.Fatal(err)
	}
	e.admin = e.addUser("admin", raAllowAll)
	h := New(Config{Sessions: e.sessions, Verifier: sts.NewVerifier(kr, 5*time.Minute), Keyring: kr,
		Store: st, MasterKey: e.master, Reload: reload})
	e.srv = httptest.NewTLSServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// addUser creates an admin user with an inline policy and an access key.
func (e *raEnv) addUser(name, policy string) aws.Credentials {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.st.CreateUser(ctx, &store.User{Name: name, Path: "/", InlinePolicies: map[string]string{"p": policy}}); err != nil {
		e.t.Fatal(err)
	}
	id := store.NewIAMID("AKIA")
	var b [20]byte
	rand.Read(b[:])
	secret := hex.EncodeToString(b[:])
	sealed, err := sts.SealSecret(e.master, id, []byte(secret))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateAccessKey(ctx, &store.AccessKey{ID: id, UserName: name, SealedSecret: sealed, Status: store.AccessKeyActive}); err != nil {
		e.t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "test"}
}

// client returns an SDK client signing with creds.
func (e *raEnv) client(creds aws.Credentials) *rolesanywhere.Client {
	hc := &http.Client{Transport: raRecordingTransport{next: e.srv.Client().Transport, log: e.calls}}
	return rolesanywhere.New(rolesanywhere.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(e.srv.URL),
		HTTPClient:       hc,
		Credentials:      awscreds.StaticCredentialsProvider{Value: creds},
		RetryMaxAttempts: 1,
	})
}

// do sends a raw request signed with the admin key.
func (e *raEnv) do(method, path, body string) (*http.Response, raErrBody) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), e.admin, req, hex.EncodeToString(sum[:]), "rolesanywhere", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb raErrBody
	json.Unmarshal(b, &eb)
	eb.raw = b
	return resp, eb
}

type raErrBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	raw     []byte
}

// raTestCA is a CA for trust anchors and client certificates.
type raTestCA struct{ iss *pki.Issuer }

func newRATestCA(t *testing.T, name string) *raTestCA {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.NewRootCA(key, pki.CAOptions{Subject: pkix.Name{CommonName: name}})
	if err != nil {
		t.Fatal(err)
	}
	return &raTestCA{iss: &pki.Issuer{Cert: cert, Key: key}}
}

func (c *raTestCA) pem() string { return string(pki.EncodeCertificatesPEM(c.iss.Cert)) }

func (c *raTestCA) crl(t *testing.T, serials ...*big.Int) []byte {
	t.Helper()
	var rev []pki.RevokedCert
	for _, s := range serials {
		rev = append(rev, pki.RevokedCert{Serial: s, RevokedAt: time.Now().Add(-time.Minute)})
	}
	der, err := c.iss.CreateCRL(rev, pki.CRLOptions{Number: big.NewInt(time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCRLPEM(der)
}

func (c *raTestCA) leafPEM(t *testing.T) string {
	t.Helper()
	key, _ := pki.GenerateKey(pki.ECP256, rand.Reader)
	is, err := c.iss.Issue(pki.LeafRequest{Profile: pki.ProfileClient, Subject: pkix.Name{CommonName: "leaf"}, PublicKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return string(pki.EncodeCertificatesPEM(is.Cert))
}

func raRole(name string) string { return "arn:aws:iam::" + raAcct + ":role/" + name }

// TestRolesAnywhereSDKWalkthrough drives every operation with aws-sdk-go-v2's
// rolesanywhere client, in the order of seed 001, and checks what the
// client decodes, the status codes on the wire and that each change reached
// the CreateSession snapshot at once.
func TestRolesAnywhereSDKWalkthrough(t *testing.T) {
	e := newRAEnv(t)
	ctx := context.Background()
	c := e.client(e.admin)
	ca := newRATestCA(t, "walkthrough root")

	// Trust anchor from a PEM bundle; default notification settings.
	before := e.reloads.Load()
	ta, err := c.CreateTrustAnchor(ctx, &rolesanywhere.CreateTrustAnchorInput{
		Name:    aws.String("onprem"),
		Enabled: aws.Bool(true),
		Source: &ratypes.Source{SourceType: ratypes.TrustAnchorTypeCertificateBundle,
			SourceData: &ratypes.SourceDataMemberX509CertificateData{Value: ca.pem()}},
		Tags: []ratypes.Tag{{Key: aws.String("team"), Value: aws.String("infra")}},
	})
	if err != nil {
		t.Fatalf("CreateTrustAnchor: %v", err)
	}
	anchor := ta.TrustAnchor
	if !e.calls.has("POST /trustanchors Created") {
		t.Errorf("CreateTrustAnchor did not answer 201: %v", e.calls.calls)
	}
	if e.reloads.Load() == before {
		t.Error("CreateTrustAnchor did not reload the snapshot")
	}
	if !strings.HasPrefix(aws.ToString(anchor.TrustAnchorArn), "arn:aws:rolesanywhere:us-east-1:"+raAcct+":trust-anchor/") ||
		!aws.ToBool(anchor.Enabled) || anchor.CreatedAt == nil || anchor.UpdatedAt == nil {
		t.Errorf("trust anchor = %+v", anchor)
	}
	if sd, ok := anchor.Source.SourceData.(*ratypes.SourceDataMemberX509CertificateData); !ok || sd.Value != ca.pem() {
		t.Errorf("source data = %#v", anchor.Source.SourceData)
	}
	if len(anchor.NotificationSettings) != 2 || aws.ToInt32(anchor.NotificationSettings[0].Threshold) != 45 ||
		aws.ToString(anchor.NotificationSettings[0].ConfiguredBy) != "rolesanywhere.amazonaws.com" {
		t.Errorf("default notification settings = %+v", anchor.NotificationSettings)
	}

	// Notification settings: put a custom threshold, then reset it.
	ns, err := c.PutNotificationSettings(ctx, &rolesanywhere.PutNotificationSettingsInput{
		TrustAnchorId: anchor.TrustAnchorId,
		NotificationSettings: []ratypes.NotificationSetting{{Enabled: aws.Bool(true),
			Event: ratypes.NotificationEventCaCertificateExpiry, Threshold: aws.Int32(10)}},
	})
	if err != nil {
		t.Fatalf("PutNotificationSettings: %v", err)
	}
	for _, s := range ns.TrustAnchor.NotificationSettings {
		if s.Event == ratypes.NotificationEventCaCertificateExpiry && (aws.ToInt32(s.Threshold) != 10 || aws.ToString(s.ConfiguredBy) != raAcct) {
			t.Errorf("put notification setting = %+v", s)
		}
	}
	rs, err := c.ResetNotificationSettings(ctx, &rolesanywhere.ResetNotificationSettingsInput{
		TrustAnchorId:           anchor.TrustAnchorId,
		NotificationSettingKeys: []ratypes.NotificationSettingKey{{Event: ratypes.NotificationEventCaCertificateExpiry}},
	})
	if err != nil {
		t.Fatalf("ResetNotificationSettings: %v", err)
	}
	if s := rs.TrustAnchor.NotificationSettings[0]; aws.ToInt32(s.Threshold) != 45 || aws.ToString(s.ConfiguredBy) != "rolesanywhere.amazonaws.com" {
		t.Errorf("reset notification setting = %+v", s)
	}

	// Profile created disabled (enabled omitted), then enabled.
	cp, err := c.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{
		Name: aws.String("s3-read"), RoleArns: []string{raRole("s3-read")},
	})
	if err != nil {
		t.Fatalf("CreateProfile: %v", err)
	}
	p := cp.Profile
	if aws.ToBool(p.Enabled) || aws.ToInt32(p.DurationSeconds) != 3600 || aws.ToBool(p.AcceptRoleSessionName) ||
		len(p.AttributeMappings) != 3 || !strings.HasSuffix(aws.ToString(p.CreatedBy), ":user/admin") {
		t.Errorf("new profile = %+v", p)
	}
	if !e.calls.has("POST /profiles Created") {
		t.Error("CreateProfile did not answer 201")
	}
	before = e.reloads.Load()
	ep, err := c.EnableProfile(ctx, &rolesanywhere.EnableProfileInput{ProfileId: p.ProfileId})
	if err != nil || !aws.ToBool(ep.Profile.Enabled) {
		t.Fatalf("EnableProfile: %v %+v", err, ep)
	}
	if e.reloads.Load() == before {
		t.Error("EnableProfile did not reload the snapshot")
	}

	// UpdateProfile changes only what it names.
	up, err := c.UpdateProfile(ctx, &rolesanywhere.UpdateProfileInput{ProfileId: p.ProfileId, DurationSeconds: aws.Int32(900), AcceptRoleSessionName: aws.Bool(true)})
	if err != nil {
		t.Fatalf("UpdateProfile: %v", err)
	}
	if got := up.Profile; aws.ToInt32(got.DurationSeconds) != 900 || !aws.ToBool(got.AcceptRoleSessionName) || !aws.ToBool(got.Enabled) || aws.ToString(got.Name) != "s3-read" {
		t.Errorf("updated profile = %+v", got)
	}

	// Attribute mappings: Put adds (normalised), Delete removes specifiers,
	// then a whole field.
	pm, err := c.PutAttributeMapping(ctx, &rolesanywhere.PutAttributeMappingInput{
		ProfileId: p.ProfileId, CertificateField: ratypes.CertificateFieldX509Subject,
		MappingRules: []ratypes.MappingRule{{Specifier: aws.String("CN")}},
	})
	if err != nil {
		t.Fatalf("PutAttributeMapping: %v", err)
	}
	if got := raSpecs(pm.Profile, "x509Subject"); strings.Join(got, ",") != "*,CN" {
		t.Errorf("x509Subject specifiers after put = %v", got)
	}
	dm, err := c.DeleteAttributeMapping(ctx, &rolesanywhere.DeleteAttributeMappingInput{
		ProfileId: p.ProfileId, CertificateField: ratypes.CertificateFieldX509SAN, Specifiers: []string{"URI", "Name"},
	})
	if err != nil {
		t.Fatalf("DeleteAttributeMapping: %v", err)
	}
	if got := raSpecs(dm.Profile, "x509SAN"); strings.Join(got, ",") != "DNS" {
		t.Errorf("x509SAN specifiers after delete = %v", got)
	}
	dm, err = c.DeleteAttributeMapping(ctx, &rolesanywhere.DeleteAttributeMappingInput{ProfileId: p.ProfileId, CertificateField: ratypes.CertificateFieldX509Issuer})
	if err != nil {
		t.Fatalf("DeleteAttributeMapping (field): %v", err)
	}
	if got := raSpecs(dm.Profile, "x509Issuer"); got != nil {
		t.Errorf("x509Issuer still mapped: %v", got)
	}

	// Paginators: three more profiles, pages of one.
	for _, n := range []string{"p2", "p3", "p4"} {
		if _, err := c.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{Name: aws.String(n), RoleArns: []string{}}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	for pg := rolesanywhere.NewListProfilesPaginator(c, &rolesanywhere.ListProfilesInput{PageSize: aws.Int32(1)}); pg.HasMorePages(); {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListProfiles: %v", err)
		}
		pages++
		for _, p := range out.Profiles {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if len(names) != 4 || pages < 4 {
		t.Errorf("ListProfiles paginator: %d pages, %v", pages, names)
	}
	var anchors int
	for pg := rolesanywhere.NewListTrustAnchorsPaginator(c, &rolesanywhere.ListTrustAnchorsInput{}); pg.HasMorePages(); {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListTrustAnchors: %v", err)
		}
		anchors += len(out.TrustAnchors)
	}
	if anchors != 1 {
		t.Errorf("ListTrustAnchors: %d anchors", anchors)
	}

	// Subjects, as CreateSession's batcher records them.
	for i := range 3 {
		if err := e.st.UpsertSubjects(ctx, []store.SubjectSighting{{X509Subject: "CN=workload-" + string(rune('a'+i)), SerialNumber: "42", Issuer: "CN=walkthrough root", Certificate: []byte(ca.leafPEM(t))}}); err != nil {
			t.Fatal(err)
		}
	}
	var subjects []ratypes.SubjectSummary
	for pg := rolesanywhere.NewListSubjectsPaginator(c, &rolesanywhere.ListSubjectsInput{PageSize: aws.Int32(2)}); pg.HasMorePages(); {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListSubjects: %v", err)
		}
		subjects = append(subjects, out.Subjects...)
	}
	if len(subjects) != 3 {
		t.Fatalf("ListSubjects: %d subjects", len(subjects))
	}
	gs, err := c.GetSubject(ctx, &rolesanywhere.GetSubjectInput{SubjectId: subjects[0].SubjectId})
	if err != nil {
		t.Fatalf("GetSubject: %v", err)
	}
	if len(gs.Subject.Credentials) != 1 || aws.ToString(gs.Subject.Credentials[0].SerialNumber) != "42" ||
		!strings.HasPrefix(aws.ToString(gs.Subject.Credentials[0].X509CertificateData), "-----BEGIN CERTIFICATE-----") || gs.Subject.LastSeenAt == nil {
		t.Errorf("GetSubject = %+v", gs.Subject)
	}

	// Disable the profile: the snapshot sees it at once.
	dp, err := c.DisableProfile(ctx, &rolesanywhere.DisableProfileInput{ProfileId: p.ProfileId})
	if err != nil || aws.ToBool(dp.Profile.Enabled) {
		t.Fatalf("DisableProfile: %v", err)
	}

	// CRLs: import (base64 PEM on the wire), update, disable/enable, list.
	ic, err := c.ImportCrl(ctx, &rolesanywhere.ImportCrlInput{
		Name: aws.String("revoked"), CrlData: ca.crl(t, big.NewInt(42)), TrustAnchorArn: anchor.TrustAnchorArn, Enabled: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("ImportCrl: %v", err)
	}
	if !e.calls.has("POST /crls Created") || !bytes.HasPrefix(ic.Crl.CrlData, []byte("-----BEGIN X509 CRL-----")) || !aws.ToBool(ic.Crl.Enabled) ||
		aws.ToString(ic.Crl.TrustAnchorArn) != aws.ToString(anchor.TrustAnchorArn) {
		t.Errorf("ImportCrl = %+v", ic.Crl)
	}
	uc, err := c.UpdateCrl(ctx, &rolesanywhere.UpdateCrlInput{CrlId: ic.Crl.CrlId, Name: aws.String("revoked-2"), CrlData: ca.crl(t, big.NewInt(42), big.NewInt(43))})
	if err != nil || aws.ToString(uc.Crl.Name) != "revoked-2" {
		t.Fatalf("UpdateCrl: %v", err)
	}
	if dc, err := c.DisableCrl(ctx, &rolesanywhere.DisableCrlInput{CrlId: ic.Crl.CrlId}); err != nil || aws.ToBool(dc.Crl.Enabled) {
		t.Fatalf("DisableCrl: %v", err)
	}
	if ec, err := c.EnableCrl(ctx, &rolesanywhere.EnableCrlInput{CrlId: ic.Crl.CrlId}); err != nil || !aws.ToBool(ec.Crl.Enabled) {
		t.Fatalf("EnableCrl: %v", err)
	}
	var crls int
	for pg := rolesanywhere.NewListCrlsPaginator(c, &rolesanywhere.ListCrlsInput{}); pg.HasMorePages(); {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListCrls: %v", err)
		}
		crls += len(out.Crls)
	}
	if crls != 1 {
		t.Errorf("ListCrls: %d", crls)
	}
	if _, err := c.GetCrl(ctx, &rolesanywhere.GetCrlInput{CrlId: ic.Crl.CrlId}); err != nil {
		t.Fatalf("GetCrl: %v", err)
	}

	// Tags.
	if _, err := c.TagResource(ctx, &rolesanywhere.TagResourceInput{ResourceArn: p.ProfileArn, Tags: []ratypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("x"), Value: aws.String("")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if !e.calls.has("POST /TagResource Created") {
		t.Error("TagResource did not answer 201")
	}
	if _, err := c.UntagResource(ctx, &rolesanywhere.UntagResourceInput{ResourceArn: p.ProfileArn, TagKeys: []string{"x"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	lt, err := c.ListTagsForResource(ctx, &rolesanywhere.ListTagsForResourceInput{ResourceArn: p.ProfileArn})
	if err != nil || len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Key) != "env" || aws.ToString(lt.Tags[0].Value) != "prod" {
		t.Fatalf("ListTagsForResource: %v %+v", err, lt)
	}
	at, err := c.ListTagsForResource(ctx, &rolesanywhere.ListTagsForResourceInput{ResourceArn: anchor.TrustAnchorArn})
	if err != nil || len(at.Tags) != 1 || aws.ToString(at.Tags[0].Key) != "team" {
		t.Fatalf("ListTagsForResource (anchor): %v %+v", err, at)
	}

	// Trust anchor: update, disable, enable, get.
	ut, err := c.UpdateTrustAnchor(ctx, &rolesanywhere.UpdateTrustAnchorInput{TrustAnchorId: anchor.TrustAnchorId, Name: aws.String("onprem-2")})
	if err != nil || aws.ToString(ut.TrustAnchor.Name) != "onprem-2" || !aws.ToBool(ut.TrustAnchor.Enabled) {
		t.Fatalf("UpdateTrustAnchor: %v", err)
	}
	if d, err := c.DisableTrustAnchor(ctx, &rolesanywhere.DisableTrustAnchorInput{TrustAnchorId: anchor.TrustAnchorId}); err != nil || aws.ToBool(d.TrustAnchor.Enabled) {
		t.Fatalf("DisableTrustAnchor: %v", err)
	}
	if d, err := c.EnableTrustAnchor(ctx, &rolesanywhere.EnableTrustAnchorInput{TrustAnchorId: anchor.TrustAnchorId}); err != nil || !aws.ToBool(d.TrustAnchor.Enabled) {
		t.Fatalf("EnableTrustAnchor: %v", err)
	}
	if _, err := c.GetTrustAnchor(ctx, &rolesanywhere.GetTrustAnchorInput{TrustAnchorId: anchor.TrustAnchorId}); err != nil {
		t.Fatalf("GetTrustAnchor: %v", err)
	}

	// Delete everything; then Get is a typed ResourceNotFoundException.
	if _, err := c.DeleteCrl(ctx, &rolesanywhere.DeleteCrlInput{CrlId: ic.Crl.CrlId}); err != nil {
		t.Fatalf("DeleteCrl: %v", err)
	}
	if _, err := c.DeleteProfile(ctx, &rolesanywhere.DeleteProfileInput{ProfileId: p.ProfileId}); err != nil {
		t.Fatalf("DeleteProfile: %v", err)
	}
	if dt, err := c.DeleteTrustAnchor(ctx, &rolesanywhere.DeleteTrustAnchorInput{TrustAnchorId: anchor.TrustAnchorId}); err != nil || aws.ToString(dt.TrustAnchor.Name) != "onprem-2" {
		t.Fatalf("DeleteTrustAnchor: %v", err)
	}
	var nf *ratypes.ResourceNotFoundException
	if _, err := c.GetProfile(ctx, &rolesanywhere.GetProfileInput{ProfileId: p.ProfileId}); !errors.As(err, &nf) {
		t.Errorf("GetProfile after delete: %v, want ResourceNotFoundException", err)
	}
	if _, err := c.GetTrustAnchor(ctx, &rolesanywhere.GetTrustAnchorInput{TrustAnchorId: anchor.TrustAnchorId}); !errors.As(err, &nf) {
		t.Errorf("GetTrustAnchor after delete: %v, want ResourceNotFoundException", err)
	}
	if snap := e.sessions.Snapshot(); snap.TrustAnchorName(aws.ToString(anchor.TrustAnchorId)) != "" {
		t.Error("the deleted trust anchor is still in the CreateSession snapshot")
	}
}

func raSpecs(p *ratypes.ProfileDetail, field string) []string {
	for _, m := range p.AttributeMappings {
		if string(m.CertificateField) == field {
			var out []string
			for _, r := range m.MappingRules {
				out = append(out, aws.ToString(r.Specifier))
			}
			return out
		}
	}
	return nil
}

// TestRolesAnywhereTypedErrors checks that the SDK decodes roam's errors into
// the modelled exception types.
func TestRolesAnywhereTypedErrors(t *testing.T) {
	e := newRAEnv(t)
	ctx := context.Background()
	c := e.client(e.admin)
	var ve *ratypes.ValidationException
	_, err := c.CreateTrustAnchor(ctx, &rolesanywhere.CreateTrustAnchorInput{Name: aws.String("pca"),
		Source: &ratypes.Source{SourceType: ratypes.TrustAnchorTypeAwsAcmPca,
			SourceData: &ratypes.SourceDataMemberAcmPcaArn{Value: "arn:aws:acm-pca:us-east-1:" + raAcct + ":certificate-authority/x"}}})
	if !errors.As(err, &ve) || !strings.Contains(aws.ToString(ve.Message), "AWS_ACM_PCA") {
		t.Errorf("AWS_ACM_PCA: %v, want a ValidationException naming AWS_ACM_PCA", err)
	}
	var nf *ratypes.ResourceNotFoundException
	if _, err := c.GetCrl(ctx, &rolesanywhere.GetCrlInput{CrlId: aws.String("00000000-0000-4000-8000-000000000000")}); !errors.As(err, &nf) {
		t.Errorf("GetCrl of a missing id: %v", err)
	}
	// A caller limited to rolesanywhere:List* lists but cannot create.
	lister := e.client(e.addUser("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rolesanywhere:List*","Resource":"*"}]}`))
	if _, err := lister.ListProfiles(ctx, &rolesanywhere.ListProfilesInput{}); err != nil {
		t.Errorf("lister ListProfiles: %v", err)
	}
	var ad *ratypes.AccessDeniedException
	_, err = lister.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{Name: aws.String("nope"), RoleArns: []string{}})
	if !errors.As(err, &ad) {
		t.Errorf("lister CreateProfile: %v, want AccessDeniedException", err)
	}
	// CreateProfile needs iam:PassRole for its roles.
	nopass := e.client(e.addUser("nopass", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rolesanywhere:*","Resource":"*"}]}`))
	_, err = nopass.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{Name: aws.String("nope"), RoleArns: []string{raRole("r")}})
	if !errors.As(err, &ad) || !strings.Contains(aws.ToString(ad.Message), "iam:PassRole") {
		t.Errorf("CreateProfile without iam:PassRole: %v", err)
	}
	// A wrong secret is refused with the restJson code.
	bad := e.admin
	bad.SecretAccessKey = "wrong"
	_, err = e.client(bad).ListProfiles(ctx, &rolesanywhere.ListProfilesInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Errorf("wrong secret: %v, want InvalidSignatureException", err)
	}
	if n, _, _ := e.st.ListProfiles(ctx, store.ListOptions{}); len(n) != 0 {
		t.Errorf("refused calls created %d profiles", len(n))
	}
}

// TestRolesAnywhereBadInput sends malformed, unknown, duplicate and
// oversized inputs; each gets the AWS error and changes nothing.
func TestRolesAnywhereBadInput(t *testing.T) {
	e := newRAEnv(t)
	ctx := context.Background()
	ca := newRATestCA(t, "bad input root")
	other := newRATestCA(t, "other root")
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	bundle := quote(ca.pem())
	resp, _ := e.do("POST", "/trustanchors", `{"name":"taken","enabled":true,"source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":`+bundle+`}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed anchor: %d", resp.StatusCode)
	}
	var created raTrustAnchorOutput
	{
		list, _, _ := e.st.ListTrustAnchors(ctx, store.ListOptions{})
		created.TrustAnchor.TrustAnchorID = list[0].ID
	}
	anchorARN := anywhere.TrustAnchorARN("us-east-1", raAcct, created.TrustAnchor.TrustAnchorID)
	resp, _ = e.do("POST", "/profiles", `{"name":"taken","roleArns":[]}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed profile: %d", resp.StatusCode)
	}
	list, _, _ := e.st.ListProfiles(ctx, store.ListOptions{})
	profileID := list[0].ID
	manyTags := make([]string, 51)
	for i := range manyTags {
		manyTags[i] = `{"key":"k` + strconv.Itoa(i) + `","value":"v"}`
	}
	three := quote(ca.pem() + other.pem() + newRATestCA(t, "third").pem())

	cases := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"malformed JSON", "POST", "/profiles", `{"name":"x",`, 400, "ValidationException", "not valid JSON"},
		{"not an object", "POST", "/profiles", `[1,2]`, 400, "ValidationException", "JSON object"},
		{"unknown field", "POST", "/profiles", `{"name":"x","roleArns":[],"colour":"blue"}`, 400, "ValidationException", `"colour" is not a member`},
		{"unknown nested field", "POST", "/trustanchors", `{"name":"x","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"pem":"x"}}}`, 400, "ValidationException", "not a member"},
		{"wrong type", "POST", "/profiles", `{"name":"x","roleArns":[],"durationSeconds":"long"}`, 400, "ValidationException", "durationSeconds"},
		{"trailing data", "POST", "/profiles", `{"name":"x","roleArns":[]} {}`, 400, "ValidationException", "exactly one"},
		{"missing required", "POST", "/profiles", `{"name":"x"}`, 400, "ValidationException", "roleArns"},
		{"duplicate profile name", "POST", "/profiles", `{"name":"taken","roleArns":[]}`, 400, "ValidationException", "already exists"},
		{"duplicate anchor name", "POST", "/trustanchors", `{"name":"taken","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":` + bundle + `}}}`, 400, "ValidationException", "already exists"},
		{"name too long", "POST", "/profiles", `{"name":"` + strings.Repeat("a", 256) + `","roleArns":[]}`, 400, "ValidationException", "name"},
		{"bad name characters", "POST", "/profiles", `{"name":"a/b","roleArns":[]}`, 400, "ValidationException", "name"},
		{"oversized body", "POST", "/profiles", `{"name":"x","roleArns":[],"sessionPolicy":"` + strings.Repeat("a", 600<<10) + `"}`, 400, "ValidationException", "larger than"},
		{"session policy too long", "POST", "/profiles", `{"name":"x","roleArns":[],"sessionPolicy":"` + strings.Repeat("a", 100001) + `"}`, 400, "ValidationException", "sessionPolicy"},
		{"invalid session policy", "POST", "/profiles", `{"name":"x","roleArns":[],"sessionPolicy":"{\"Statement\":[]}"}`, 400, "ValidationException", "session policy"},
		{"duration out of range", "POST", "/profiles", `{"name":"x","roleArns":[],"durationSeconds":60}`, 400, "ValidationException", "durationSeconds"},
		{"not a role ARN", "POST", "/profiles", `{"name":"x","roleArns":["arn:aws:s3:::bucket"]}`, 400, "ValidationException", "roleArns.1"},
		{"too many tags", "POST", "/profiles", `{"name":"x","roleArns":[],"tags":[` + strings.Join(manyTags, ",") + `]}`, 400, "TooManyTagsException", "at most 50"},
		{"bad tag key", "POST", "/profiles", `{"name":"x","roleArns":[],"tags":[{"key":"a&b","value":"v"}]}`, 400, "ValidationException", "tags.1.key"},
		{"ACM PCA", "POST", "/trustanchors", `{"name":"x","source":{"sourceType":"AWS_ACM_PCA","sourceData":{"acmPcaArn":"arn:aws:acm-pca:us-east-1:000000000000:certificate-authority/x"}}}`, 400, "ValidationException", "AWS_ACM_PCA"},
		{"self-signed repository", "POST", "/trustanchors", `{"name":"x","source":{"sourceType":"SELF_SIGNED_REPOSITORY","sourceData":{"x509CertificateData":"x"}}}`, 400, "ValidationException", "SELF_SIGNED_REPOSITORY"},
		{"leaf certificate as anchor", "POST", "/trustanchors", `{"name":"x","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":` + quote(ca.leafPEM(t)) + `}}}`, 400, "ValidationException", "not a CA"},
		{"three certificates", "POST", "/trustanchors", `{"name":"x","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":` + three + `}}}`, 400, "ValidationException", "at most 2"},
		{"bundle too long", "POST", "/trustanchors", `{"name":"x","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":"` + strings.Repeat("a", 8001) + `"}}}`, 400, "ValidationException", "x509CertificateData"},
		{"CRL not base64", "POST", "/crls", `{"name":"c","crlData":"***","trustAnchorArn":"` + anchorARN + `"}`, 400, "ValidationException", "base64"},
		{"CRL garbage", "POST", "/crls", `{"name":"c","crlData":"` + raB64("not a crl") + `","trustAnchorArn":"` + anchorARN + `"}`, 400, "ValidationException", "Invalid CRL"},
		{"CRL of another CA with the anchor's name", "POST", "/crls", `{"name":"c","crlData":"` + raB64(string(raForgedCRL(t, ca))) + `","trustAnchorArn":"` + anchorARN + `"}`, 400, "ValidationException", "signature"},
		{"CRL for a missing anchor", "POST", "/crls", `{"name":"c","crlData":"` + raB64(string(ca.crl(t))) + `","trustAnchorArn":"arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/00000000-0000-4000-8000-000000000000"}`, 404, "ResourceNotFoundException", ""},
		{"bad page size", "GET", "/profiles?pageSize=0", "", 400, "ValidationException", "pageSize"},
		{"forged next token", "GET", "/profiles?nextToken=%2A%2A%2A", "", 400, "ValidationException", "nextToken"},
		{"id not a UUID", "GET", "/profile/nope", "", 400, "ValidationException", "profileId"},
		{"missing profile", "GET", "/profile/00000000-0000-4000-8000-000000000000", "", 404, "ResourceNotFoundException", ""},
		{"unknown specifier", "PUT", "/profiles/" + profileID + "/mappings", `{"certificateField":"x509Subject","mappingRules":[{"specifier":"NOPE"}]}`, 400, "ValidationException", "specifier"},
		{"tag ARN of another account", "GET", "/ListTagsForResource?resourceArn=arn:aws:rolesanywhere:us-east-1:111111111111:profile/" + profileID, "", 404, "ResourceNotFoundException", ""},
		{"threshold out of range", "PATCH", "/put-notifications-settings", `{"trustAnchorId":"` + created.TrustAnchor.TrustAnchorID + `","notificationSettings":[{"enabled":true,"event":"CA_CERTIFICATE_EXPIRY","threshold":361}]}`, 400, "ValidationException", "threshold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ver, _ := e.st.ConfigVersion(ctx)
			resp, eb := e.do(tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, eb.raw)
			}
			if tc.code == "" {
				return
			}
			if got := resp.Header.Get("X-Amzn-Errortype"); got != tc.code || eb.Type != tc.code {
				t.Errorf("error type header %q body %q, want %s", got, eb.Type, tc.code)
			}
			if !strings.Contains(eb.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", eb.Message, tc.msg)
			}
			if after, _ := e.st.ConfigVersion(ctx); after != ver {
				t.Errorf("config version %d -> %d: a refused call changed something", ver, after)
			}
		})
	}
	if n, _, _ := e.st.ListProfiles(ctx, store.ListOptions{}); len(n) != 1 {
		t.Errorf("%d profiles after the refused calls, want 1", len(n))
	}
}

func raB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// raForgedCRL is a CRL naming ca as issuer but signed by another key.
func raForgedCRL(t *testing.T, ca *raTestCA) []byte {
	t.Helper()
	key, _ := pki.GenerateKey(pki.ECP256, rand.Reader)
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}
	fake := *ca.iss.Cert
	fake.PublicKey = key.Public()
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, &fake, key)
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCRLPEM(der)
}
