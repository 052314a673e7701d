package e2e

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

const (
	offAnchorID  = "2c6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	offAnchorARN = "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/" + offAnchorID
	// unknownAnchorARN is well formed but names no trust anchor.
	unknownAnchorARN  = "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/3d6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"
	unknownProfileARN = "arn:aws:rolesanywhere:us-east-1:000000000000:profile/4e6c8b4e-7c1f-4a8e-9f0e-1a2b3c4d5e6f"

	// blockedCN is the common name the deny-cn role's trust policy denies.
	blockedCN = "blocked-workload"
)

const fullTrust = `
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]`

// negativeYAML declares what the negative matrix needs: an enabled and a
// disabled trust anchor; a role outside every profile; a role whose trust
// policy lacks sts:TagSession and one whose lacks sts:SetSourceIdentity; a role with an explicit Deny on a condition;
// a disabled profile; a profile that accepts roleSessionName; and a profile
// whose duration exceeds its role's maximum.
const negativeYAML = `account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: ` + anchorID + `, certificateBundle: file:root.pem, enabled: true}
  - {name: off, id: ` + offAnchorID + `, certificateBundle: file:off-root.pem, enabled: false}
roles:
  - name: s3-writer
    maxSessionDuration: 3600
    trustPolicy:` + fullTrust + `
  - name: outsider
    trustPolicy:` + fullTrust + `
  - name: no-tag-session
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:SetSourceIdentity]
  - name: no-source-identity
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession]
  - name: deny-cn
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
        - Effect: Deny
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: sts:AssumeRole
          Condition:
            StringEquals: {aws:PrincipalTag/x509Subject/CN: ` + blockedCN + `}
profiles:
  - {name: main, roles: [s3-writer, no-tag-session, no-source-identity, deny-cn], durationSeconds: 3600, enabled: true}
  - {name: off, roles: [s3-writer], enabled: false}
  - {name: names, roles: [s3-writer], acceptRoleSessionName: true}
  - {name: long, roles: [s3-writer], durationSeconds: 7200}
`

// negFixture is a running server for the negative matrix.
type negFixture struct {
	srv      *server
	dir      string
	root     *ca
	inter    *ca
	offRoot  *ca
	stranger *ca // configured nowhere
	profiles map[string]string
	good     *leaf // an EC client certificate straight under root
}

func newNegFixture(t *testing.T, yaml string) *negFixture {
	t.Helper()
	dir := t.TempDir()
	n := &negFixture{dir: dir}
	n.root = newCA(t, "e2e root", pki.ECP256)
	n.inter = n.root.intermediate(t, "e2e intermediate", pki.ECP256)
	n.offRoot = newCA(t, "disabled root", pki.ECP256)
	n.stranger = newCA(t, "stranger root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(n.root.iss.Cert))
	writeFile(t, filepath.Join(dir, "off-root.pem"), pki.EncodeCertificatesPEM(n.offRoot.iss.Cert))
	n.good = n.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "e2e-workload", Organization: []string{"Example"}})
	n.srv = startServer(t, dir, n.root, yaml)
	n.profiles = profileARNs(t, n.srv)
	return n
}

// profileARNs reads every bootstrapped profile's ARN from the server log.
func profileARNs(t *testing.T, s *server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		var rec struct {
			Msg  string `json:"msg"`
			Name string `json:"name"`
			ARN  string `json:"arn"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bootstrap profile" {
			out[rec.Name] = rec.ARN
		}
	}
	if len(out) == 0 {
		t.Fatalf("no profile ARN in the server log:\n%s", s.stderr.String())
	}
	return out
}

// reqOpts describes a CreateSession request; zero fields take the defaults
// of a request that succeeds.
type reqOpts struct {
	profile string // profile name, or a full ARN
	role    string // role name, or a full ARN
	anchor  string // trust anchor ARN
	query   url.Values
	body    string
	leaf    *leaf
	chain   []*x509.Certificate
	now     time.Time
}

// request builds a CreateSession request and signs it with sigv4.SignX509 as
// the official helper would. It returns the request and its body.
func (n *negFixture) request(t *testing.T, o reqOpts) (*http.Request, []byte) {
	t.Helper()
	if o.profile == "" {
		o.profile = "main"
	}
	if !strings.HasPrefix(o.profile, "arn:") {
		arn, ok := n.profiles[o.profile]
		if !ok {
			t.Fatalf("no profile %q", o.profile)
		}
		o.profile = arn
	}
	if o.role == "" {
		o.role = "s3-writer"
	}
	if !strings.HasPrefix(o.role, "arn:") {
		o.role = roleARN(o.role)
	}
	if o.anchor == "" {
		o.anchor = anchorARN
	}
	if o.body == "" {
		o.body = `{"durationSeconds":3600}`
	}
	if o.leaf == nil {
		o.leaf = n.good
	}
	if o.now.IsZero() {
		o.now = time.Now()
	}
	q := o.query
	if q == nil {
		q = url.Values{"profileArn": {o.profile}, "roleArn": {o.role}, "trustAnchorArn": {o.anchor}}
	}
	body := []byte(o.body)
	req, err := http.NewRequest(http.MethodPost, n.srv.Endpoint+"/sessions?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := sigv4.SignX509(req, body, o.leaf.key, o.leaf.cert, o.chain, "us-east-1", o.now); err != nil {
		t.Fatal(err)
	}
	return req, body
}

// resign replaces the Authorization of a request signed by request with one
// made by hand: algorithm alg, credential id credID and signed headers
// signedHeaders, with a signature that is valid for those values (so only
// the value under test is wrong). Empty arguments keep the current values.
func resign(t *testing.T, req *http.Request, body []byte, key crypto.Signer, alg sigv4.Algorithm, credID, signedHeaders string) {
	t.Helper()
	a, err := sigv4.ParseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if alg != "" {
		a.Algorithm = alg
	}
	if credID != "" {
		a.Credential.ID = credID
	}
	if signedHeaders != "" {
		a.SignedHeaders = signedHeaders
	}
	_, sts, err := sigv4.CanonicalX509(req, body, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte(sts))
	sig, err := key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s, SignedHeaders=%s, Signature=%s",
		a.Algorithm, a.Credential.String(), a.SignedHeaders, hex.EncodeToString(sig)))
}

// withoutSignedHeader returns the request's SignedHeaders without h.
func withoutSignedHeader(t *testing.T, req *http.Request, h string) string {
	t.Helper()
	a, err := sigv4.ParseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	hs := strings.Split(a.SignedHeaders, ";")
	if !slices.Contains(hs, h) {
		t.Fatalf("%s is not in SignedHeaders %s", h, a.SignedHeaders)
	}
	return strings.Join(slices.DeleteFunc(hs, func(s string) bool { return s == h }), ";")
}

// result is a CreateSession response as the test sees it.
type result struct {
	status    int
	errorType string
	requestID string
	raw       []byte
	body      map[string]json.RawMessage
	err       error // transport error: no response at all
}

func send(t *testing.T, c *http.Client, req *http.Request) *result {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		return &result{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	r := &result{status: resp.StatusCode, errorType: resp.Header.Get("X-Amzn-ErrorType"),
		requestID: resp.Header.Get("X-Amzn-Requestid"), raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// created checks a 201 with one credential set and returns it.
func (r *result) created(t *testing.T) anywhere.CredentialSetItem {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request failed: %v", r.err)
	}
	if r.status != http.StatusCreated {
		t.Fatalf("status %d (%s), want 201: %s", r.status, r.errorType, r.raw)
	}
	var resp anywhere.Response
	if err := json.Unmarshal(r.raw, &resp); err != nil {
		t.Fatalf("201 body: %v: %s", err, r.raw)
	}
	if len(resp.CredentialSet) != 1 {
		t.Fatalf("credentialSet has %d items: %s", len(resp.CredentialSet), r.raw)
	}
	c := resp.CredentialSet[0]
	if !strings.HasPrefix(c.Credentials.AccessKeyID, "ASIA") || c.Credentials.SecretAccessKey == "" || c.Credentials.SessionToken == "" {
		t.Fatalf("incomplete credentials: %s", r.raw)
	}
	return c
}

// message returns the JSON body's message.
func (r *result) message() string {
	var m string
	_ = json.Unmarshal(r.body["message"], &m)
	return m
}

// refusal returns the cause the server logged for request id, waiting a
// little for the log line to arrive.
func (s *server) refusal(t *testing.T, id string) (cause string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct {
				Msg       string `json:"msg"`
				RequestID string `json:"request_id"`
				Cause     string `json:"cause"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request refused" && rec.RequestID == id {
				return rec.Cause
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 'request refused' log line for request %s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// want is what a refused request must be answered with.
type want struct {
	status   int
	code     string
	msg      string // exact message, if set
	prefix   string // message prefix, if set
	contains string // message substring, if set
	cause    string // substring of the cause the server logged, if set
}

func (w want) check(t *testing.T, s *server, r *result) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("no response: %v", r.err)
	}
	if _, ok := r.body["credentialSet"]; ok || bytes.Contains(r.raw, []byte("credentialSet")) || bytes.Contains(r.raw, []byte("sessionToken")) {
		t.Fatalf("status %d response carries credentials: %s", r.status, r.raw)
	}
	if r.status != w.status {
		t.Fatalf("status %d, want %d: %s", r.status, w.status, r.raw)
	}
	if r.errorType != w.code {
		t.Errorf("X-Amzn-ErrorType %q, want %q", r.errorType, w.code)
	}
	var typ string
	_ = json.Unmarshal(r.body["__type"], &typ)
	if typ != w.code {
		t.Errorf("__type %q, want %q", typ, w.code)
	}
	msg := r.message()
	switch {
	case w.msg != "" && msg != w.msg:
		t.Errorf("message %q, want %q", msg, w.msg)
	case w.prefix != "" && !strings.HasPrefix(msg, w.prefix):
		t.Errorf("message %q, want prefix %q", msg, w.prefix)
	case w.contains != "" && !strings.Contains(msg, w.contains):
		t.Errorf("message %q, want it to contain %q", msg, w.contains)
	}
	if w.cause != "" {
		if cause := s.refusal(t, r.requestID); !strings.Contains(cause, w.cause) {
			t.Errorf("logged cause %q, want it to contain %q", cause, w.cause)
		}
	}
	t.Logf("%d %s: %s", r.status, r.errorType, msg)
}

func denied(msg string) want {
	return want{status: http.StatusForbidden, code: "AccessDeniedException", msg: msg}
}

func deniedPrefix(prefix, contains string) want {
	return want{status: http.StatusForbidden, code: "AccessDeniedException", prefix: prefix, contains: contains}
}

func invalid(msg string) want {
	return want{status: http.StatusBadRequest, code: "ValidationException", msg: msg}
}

// certLeaf signs, with crypto/x509 and issuer's key, a client certificate
// that meets every rule, after mutate has changed its template.
func certLeaf(t *testing.T, issuer *ca, cn string, mutate func(*x509.Certificate)) *leaf {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := pki.RandomSerial(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if mutate != nil {
		mutate(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.iss.Cert, key.Public(), issuer.iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &leaf{cert: cert, key: key}
}

// opensslLeaf has `openssl x509 -req` sign a leaf with issuer's key, written
// to disk, as seed 004 does; args are added to the command line (-sha1,
// -extfile …). Without -extfile openssl makes an X.509 v1 certificate.
func opensslLeaf(t *testing.T, dir, name string, issuer *ca, args ...string) *leaf {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := pki.MarshalPrivateKeyPEM(issuer.iss.Key, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := func(s string) string { return filepath.Join(dir, name+s) }
	writeFile(t, p(".csr"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	writeFile(t, p(".ca.pem"), pki.EncodeCertificatesPEM(issuer.iss.Cert))
	writeFile(t, p(".ca.key"), caKey)
	serial, err := pki.RandomSerial(nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("openssl", append([]string{"x509", "-req", "-in", p(".csr"), "-CA", p(".ca.pem"), "-CAkey", p(".ca.key"),
		"-set_serial", "0x" + serial.Text(16), "-days", "1", "-out", p(".pem")}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	data, err := os.ReadFile(p(".pem"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertificatesPEM(data)
	if err != nil || len(certs) != 1 {
		t.Fatalf("read openssl certificate: %v (%d certificates)", err, len(certs))
	}
	return &leaf{cert: certs[0], key: key}
}

// TestNegativeMatrix: every malformed, mis-signed or unauthorised
// CreateSession request is answered with the documented code and no
// credentials, and each family of failures has a positive control that
// differs from it only in the value under test.
func TestNegativeMatrix(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not found")
	}
	n := newNegFixture(t, negativeYAML)
	c := n.srv.Client

	// Positive control first: the request every case below tampers with.
	t.Run("control/good request", func(t *testing.T) {
		req, _ := n.request(t, reqOpts{})
		cs := send(t, c, req).created(t)
		if want := "arn:aws:sts::" + acct + ":assumed-role/s3-writer/" + anywhere.HexSerial(n.good.cert.SerialNumber); cs.AssumedRoleUser.ARN != want {
			t.Errorf("assumedRoleUser.arn %q, want %q", cs.AssumedRoleUser.ARN, want)
		}
	})

	// Certificates for the certificate cases.
	dir := n.dir
	v3ext := filepath.Join(dir, "v3.ext")
	writeFile(t, v3ext, []byte("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"))
	opensslGood := opensslLeaf(t, dir, "openssl-v3", n.root, "-sha256", "-extfile", v3ext)
	v1 := opensslLeaf(t, dir, "openssl-v1", n.root, "-sha256")
	if v1.cert.Version != 1 {
		t.Fatalf("openssl made a v%d certificate, want v1", v1.cert.Version)
	}
	sha1 := opensslLeaf(t, dir, "openssl-sha1", n.root, "-sha1", "-extfile", v3ext)
	if sha1.cert.SignatureAlgorithm != x509.ECDSAWithSHA1 {
		t.Fatalf("openssl signed with %s, want ECDSA-SHA1", sha1.cert.SignatureAlgorithm)
	}
	x509Good := certLeaf(t, n.root, "x509-good", nil)
	caLeaf := certLeaf(t, n.root, "ca-true", func(c *x509.Certificate) {
		c.IsCA = true
		c.KeyUsage |= x509.KeyUsageCertSign
	})
	noDS := certLeaf(t, n.root, "no-digital-signature", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
	expired := certLeaf(t, n.root, "expired", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	notYet := certLeaf(t, n.root, "not-yet-valid", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour)
	})
	strangerLeaf := n.stranger.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "stranger"})
	offLeaf := n.offRoot.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "off-anchor"})
	blocked := n.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: blockedCN})
	interLeaf := n.inter.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "under-intermediate"})
	chain := []*x509.Certificate{n.inter.iss.Cert}
	for i := range 5 {
		chain = append(chain, n.root.intermediate(t, fmt.Sprintf("extra intermediate %d", i), pki.ECP256).iss.Cert)
	}

	type tc struct {
		name string
		// build returns the request to send; nil means n.request(reqOpts{}).
		build func(t *testing.T) *http.Request
		opts  reqOpts
		ok    func(t *testing.T, cs anywhere.CredentialSetItem) // positive control
		want  want
	}
	tamper := func(o reqOpts, f func(t *testing.T, req *http.Request, body []byte)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			req, body := n.request(t, o)
			f(t, req, body)
			return req
		}
	}
	okAny := func(*testing.T, anywhere.CredentialSetItem) {}
	cases := []tc{
		// Signature.
		{name: "signature/control re-signed by hand", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			resign(t, req, body, n.good.key, "", "", "")
		}), ok: okAny},
		{name: "signature/bad signature", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			auth := req.Header.Get("Authorization")
			i := len(auth) - 1
			flip := map[byte]byte{'0': '1'}[auth[i]]
			if flip == 0 {
				flip = '0'
			}
			req.Header.Set("Authorization", auth[:i]+string(flip))
		}), want: denied("Invalid signature.")},
		{name: "signature/body changed after signing", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			nb := []byte(`{"durationSeconds":1800}`)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(nb)), int64(len(nb))
			req.GetBody = nil
		}), want: denied("Invalid signature.")},
		{name: "signature/X-Amz-X509 not signed", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			resign(t, req, body, n.good.key, "", "", withoutSignedHeader(t, req, "x-amz-x509"))
		}), want: denied("Invalid signature. 'x-amz-x509' must be a 'SignedHeader' in the AWS Authorization.")},
		{name: "signature/X-Amz-X509-Chain not signed", build: tamper(reqOpts{leaf: interLeaf, chain: chain[:1]}, func(t *testing.T, req *http.Request, body []byte) {
			resign(t, req, body, interLeaf.key, "", "", withoutSignedHeader(t, req, "x-amz-x509-chain"))
		}), want: denied("Invalid signature. 'x-amz-x509-chain' must be a 'SignedHeader' in the AWS Authorization.")},
		{name: "signature/serial in Credential is not the certificate's", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			other := new(big.Int).Add(n.good.cert.SerialNumber, big.NewInt(1))
			resign(t, req, body, n.good.key, "", other.String(), "")
		}), want: denied("Invalid signature. The Credential serial number does not match the X-Amz-X509 certificate.")},
		{name: "signature/RSA algorithm with an EC key", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			resign(t, req, body, n.good.key, sigv4.X509RSASHA256, "", "")
		}), want: denied("Invalid signature. The signing algorithm 'AWS4-X509-RSA-SHA256' does not match the certificate's key type.")},
		{name: "signature/signed 10 minutes ago", opts: reqOpts{now: time.Now().Add(-10 * time.Minute)},
			want: deniedPrefix("Signature expired: ", "is now earlier than")},
		{name: "signature/signed 10 minutes ahead", opts: reqOpts{now: time.Now().Add(10 * time.Minute)},
			want: deniedPrefix("Signature not yet current: ", "is still later than")},
		{name: "signature/malformed base64 in X-Amz-X509", build: tamper(reqOpts{}, func(t *testing.T, req *http.Request, body []byte) {
			req.Header.Set(sigv4.HeaderX509, "MIIB!!not*base64")
			resign(t, req, body, n.good.key, "", "", "") // signed, so only the encoding is wrong
		}), want: want{status: 403, code: "AccessDeniedException", msg: "Untrusted signing certificate.", cause: "illegal base64"}},

		// Certificate.
		{name: "certificate/control crypto/x509 leaf", opts: reqOpts{leaf: x509Good}, ok: okAny},
		{name: "certificate/control openssl v3 leaf", opts: reqOpts{leaf: opensslGood}, ok: okAny},
		{name: "certificate/v1 leaf", opts: reqOpts{leaf: v1}, want: deniedPrefix("Untrusted signing certificate. ", "X.509 v1")},
		{name: "certificate/CA:TRUE leaf", opts: reqOpts{leaf: caLeaf}, want: deniedPrefix("Untrusted signing certificate. ", "CA:TRUE")},
		{name: "certificate/no digitalSignature", opts: reqOpts{leaf: noDS}, want: deniedPrefix("Untrusted signing certificate. ", "digitalSignature")},
		{name: "certificate/SHA-1 signed leaf", opts: reqOpts{leaf: sha1}, want: deniedPrefix("Untrusted signing certificate. ", "SHA-1")},
		{name: "certificate/expired", opts: reqOpts{leaf: expired}, want: deniedPrefix("Untrusted signing certificate. ", "expired")},
		{name: "certificate/not yet valid", opts: reqOpts{leaf: notYet}, want: deniedPrefix("Untrusted signing certificate. ", "not valid yet")},
		{name: "certificate/chain does not reach the anchor", opts: reqOpts{leaf: strangerLeaf},
			want: want{status: 403, code: "AccessDeniedException", msg: "Untrusted signing certificate.", cause: "unknown authority"}},
		{name: "certificate/control chain of 5", opts: reqOpts{leaf: interLeaf, chain: chain[:5]}, ok: okAny},
		{name: "certificate/chain of 6", opts: reqOpts{leaf: interLeaf, chain: chain},
			want: denied("Untrusted signing certificate. X-Amz-X509-Chain holds 6 certificates; at most 5 are allowed.")},

		// Trust anchor and profile.
		{name: "anchor/disabled", opts: reqOpts{leaf: offLeaf, anchor: offAnchorARN},
			want: want{status: 403, code: "AccessDeniedException", msg: "Untrusted signing certificate.", cause: "trust anchor disabled"}},
		{name: "anchor/unknown", opts: reqOpts{anchor: unknownAnchorARN},
			want: want{status: 403, code: "AccessDeniedException", msg: "Untrusted signing certificate.", cause: "trust anchor not found"}},
		{name: "profile/disabled", opts: reqOpts{profile: "off"}, want: denied("Profile is disabled: " + n.profiles["off"])},
		{name: "profile/unknown", opts: reqOpts{profile: unknownProfileARN}, want: denied("Profile not found: " + unknownProfileARN)},

		// Role and trust policy.
		{name: "role/not in profile", opts: reqOpts{role: "outsider"},
			want: denied("Unable to assume role. The role " + roleARN("outsider") + " is not in the profile.")},
		{name: "role/trust policy without sts:TagSession", opts: reqOpts{role: "no-tag-session"},
			want: denied("Unable to assume role. The trust policy of role no-tag-session does not allow sts:TagSession by rolesanywhere.amazonaws.com with this certificate.")},
		{name: "role/trust policy without sts:SetSourceIdentity", opts: reqOpts{role: "no-source-identity"},
			want: denied("Unable to assume role. The trust policy of role no-source-identity does not allow sts:SetSourceIdentity by rolesanywhere.amazonaws.com with this certificate.")},
		{name: "role/control Deny condition does not match", opts: reqOpts{role: "deny-cn"}, ok: okAny},
		{name: "role/explicit Deny", opts: reqOpts{role: "deny-cn", leaf: blocked},
			want: denied("Unable to assume role. The trust policy of role deny-cn does not allow sts:AssumeRole by rolesanywhere.amazonaws.com with this certificate.")},

		// Session name.
		{name: "session name/without acceptRoleSessionName", opts: reqOpts{body: `{"durationSeconds":3600,"roleSessionName":"e2e-session"}`},
			want: denied("Not authorized to set roleSessionName.")},
		{name: "session name/control with acceptRoleSessionName", opts: reqOpts{profile: "names", body: `{"durationSeconds":3600,"roleSessionName":"e2e-session"}`},
			ok: func(t *testing.T, cs anywhere.CredentialSetItem) {
				if want := "arn:aws:sts::" + acct + ":assumed-role/s3-writer/e2e-session"; cs.AssumedRoleUser.ARN != want {
					t.Errorf("assumedRoleUser.arn %q, want %q", cs.AssumedRoleUser.ARN, want)
				}
			}},

		// Duration.
		{name: "duration/899", opts: reqOpts{body: `{"durationSeconds":899}`}, want: invalid(durationMsg)},
		{name: "duration/43201", opts: reqOpts{body: `{"durationSeconds":43201}`}, want: invalid(durationMsg)},
		{name: "duration/not an integer", opts: reqOpts{body: `{"durationSeconds":"3600"}`}, want: invalid(durationMsg)},
		{name: "duration/profile 7200 over role maximum 3600", opts: reqOpts{profile: "long", body: `{}`},
			want: denied("Unable to assume role. The requested duration of 7200 seconds exceeds the MaxSessionDuration of 3600 seconds set for role s3-writer.")},
		{name: "duration/control profile 7200 with request 3600", opts: reqOpts{profile: "long", body: `{"durationSeconds":3600}`},
			ok: func(t *testing.T, cs anywhere.CredentialSetItem) {
				exp, err := time.Parse(time.RFC3339, cs.Credentials.Expiration)
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Until(exp); d < 55*time.Minute || d > 61*time.Minute {
					t.Errorf("expiration %s is %s away, want about 1h", cs.Credentials.Expiration, d)
				}
			}},

		// ARNs.
		{name: "arn/malformed profileArn", opts: reqOpts{profile: "arn:aws:rolesanywhere:us-east-1:000000000000:profile/not-a-uuid"},
			want: invalid("1 validation error detected: Value at 'profileArn' failed to satisfy constraint: Member must be a valid Roles Anywhere ARN")},
		{name: "arn/malformed trustAnchorArn", opts: reqOpts{anchor: roleARN("s3-writer")},
			want: invalid("1 validation error detected: Value at 'trustAnchorArn' failed to satisfy constraint: Member must be a valid Roles Anywhere ARN")},
		{name: "arn/malformed roleArn", opts: reqOpts{role: "arn:aws:s3:::bucket"},
			want: invalid("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$")},
		{name: "arn/missing trustAnchorArn", opts: reqOpts{query: url.Values{"profileArn": {n.profiles["main"]}, "roleArn": {roleARN("s3-writer")}}},
			want: invalid("1 validation error detected: Value null at 'trustAnchorArn' failed to satisfy constraint: Member must not be null")},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var req *http.Request
			if tt.build != nil {
				req = tt.build(t)
			} else {
				req, _ = n.request(t, tt.opts)
			}
			r := send(t, c, req)
			if tt.ok != nil {
				tt.ok(t, r.created(t))
				return
			}
			tt.want.check(t, n.srv, r)
		})
	}

	// Headers over api.MaxHeaderBytes (64 KiB). Over HTTP/1.1 net/http
	// answers 431 itself; over HTTP/2 the server advertises the limit in
	// SETTINGS_MAX_HEADER_LIST_SIZE and Go's client refuses to send.
	padded := func(t *testing.T) *http.Request {
		req, _ := n.request(t, reqOpts{})
		req.Header.Set("X-Pad", strings.Repeat("a", 80<<10))
		return req
	}
	t.Run("headers/over 64 KiB over HTTP/1.1", func(t *testing.T) {
		r := send(t, http1Client(n.srv), padded(t))
		if r.err != nil {
			t.Fatalf("no response: %v", r.err)
		}
		if r.status < 400 || r.status > 499 || bytes.Contains(r.raw, []byte("credentialSet")) {
			t.Fatalf("status %d: %s; want a 4xx without credentials", r.status, r.raw)
		}
		t.Logf("%d: %q", r.status, r.raw)
	})
	t.Run("headers/over 64 KiB over HTTP/2", func(t *testing.T) {
		r := send(t, c, padded(t))
		if r.err != nil {
			t.Logf("client refused to send: %v", r.err)
			return
		}
		if r.status < 400 || r.status > 499 || bytes.Contains(r.raw, []byte("credentialSet")) {
			t.Fatalf("status %d: %s; want a 4xx without credentials", r.status, r.raw)
		}
		t.Logf("%d: %q", r.status, r.raw)
	})
	t.Run("control/good request after the matrix", func(t *testing.T) {
		req, _ := n.request(t, reqOpts{})
		send(t, c, req).created(t)
	})
}

const durationMsg = "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must be an integer between 900 and 43200"

// http1Client is s.Client restricted to HTTP/1.1.
func http1Client(s *server) *http.Client {
	tr := s.Client.Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	return &http.Client{Timeout: s.Client.Timeout, Transport: tr}
}

// TestNegativeCRL: a certificate whose serial is in an enabled CRL of its
// trust anchor is denied, as is one under a revoked intermediate; once the
// bootstrap file disables the CRL and the server restarts, both are
// accepted; re-enabling it denies them again.
func TestNegativeCRL(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, "crl root", pki.ECP256)
	inter := root.intermediate(t, "revoked intermediate", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	revoked := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "revoked"})
	kept := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "kept"})
	underRevoked := inter.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "under-revoked-intermediate"})
	crl, err := root.iss.CreateCRL([]pki.RevokedCert{
		{Serial: revoked.cert.SerialNumber, RevokedAt: time.Now().Add(-time.Hour), Reason: pki.ReasonKeyCompromise},
		{Serial: inter.iss.Cert.SerialNumber, RevokedAt: time.Now().Add(-time.Hour), Reason: pki.ReasonCACompromise},
	}, pki.CRLOptions{Number: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "onprem.crl"), crl)
	yaml := func(enabled bool) string {
		return fmt.Sprintf(`account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: %s, certificateBundle: file:root.pem, enabled: true}
crls:
  - {name: onprem-crl, trustAnchor: onprem, file: onprem.crl, enabled: %t}
roles:
  - name: s3-writer
    trustPolicy:%s
profiles:
  - {name: main, roles: [s3-writer], enabled: true}
`, anchorID, enabled, fullTrust)
	}
	n := &negFixture{dir: dir, root: root, srv: startServer(t, dir, root, yaml(true))}
	n.profiles = profileARNs(t, n.srv)
	interChain := []*x509.Certificate{inter.iss.Cert}

	expectRevoked := func(t *testing.T) {
		t.Helper()
		req, _ := n.request(t, reqOpts{leaf: revoked})
		denied("Certificate has been revoked.").check(t, n.srv, send(t, n.srv.Client, req))
		req, _ = n.request(t, reqOpts{leaf: underRevoked, chain: interChain})
		denied("A certificate in the chain has been revoked.").check(t, n.srv, send(t, n.srv.Client, req))
		req, _ = n.request(t, reqOpts{leaf: kept}) // control: same anchor, not listed
		send(t, n.srv.Client, req).created(t)
	}
	expectAccepted := func(t *testing.T) {
		t.Helper()
		for _, o := range []reqOpts{{leaf: revoked}, {leaf: underRevoked, chain: interChain}, {leaf: kept}} {
			req, _ := n.request(t, o)
			send(t, n.srv.Client, req).created(t)
		}
	}
	t.Run("enabled CRL denies", expectRevoked)
	t.Run("disabled CRL accepts", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "roam.yaml"), []byte(yaml(false)))
		n.srv.restart(t)
		expectAccepted(t)
	})
	t.Run("re-enabled CRL denies", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "roam.yaml"), []byte(yaml(true)))
		n.srv.restart(t)
		expectRevoked(t)
	})
}
