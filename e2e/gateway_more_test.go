package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/roam-project/roam/pki"
)

// gatewayMoreYAML is seed 001's role with s3:DeleteObject added, so
// DeleteObjects can be allowed under the folder.
const gatewayMoreYAML = `account: "000000000000"
region: us-east-1
trustAnchors:
  - {name: onprem, id: ` + anchorID + `, certificateBundle: file:root.pem, enabled: true}
roles:
  - name: onprem-vm
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: rolesanywhere.amazonaws.com}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
          Condition:
            StringEquals: {aws:PrincipalTag/x509Subject/CN: MyOnpremVM}
    inlinePolicies:
      folder-access:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: s3:ListBucket
            Resource: arn:aws:s3:::seed-bucket
            Condition:
              StringLike: {s3:prefix: "vm-folder/*"}
          - Effect: Allow
            Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]
            Resource: arn:aws:s3:::seed-bucket/vm-folder/*
profiles:
  - {name: onprem, roles: [onprem-vm], durationSeconds: 3600, enabled: true}
`

// vhDomain is the gateway's virtual-host domain; the test's dialer sends
// every name to 127.0.0.1.
const vhDomain = "s3.gw.test"

// hostRecorder records the Host of every request an SDK client sends.
type hostRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	hosts []string
	paths []string
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, r.URL.Host)
	h.paths = append(h.paths, r.URL.EscapedPath())
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

// TestGatewayS3More: CopyObject (source read and destination write both
// checked), DeleteObjects (every key checked, all or nothing) and
// virtual-host-style requests through the gateway in sigv4 mode, with
// credentials from CreateSession and aws-sdk-go-v2's S3 client.
func TestGatewayS3More(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, "gateway-more root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	srv := startServer(t, dir, root, gatewayMoreYAML)
	f := &fixture{srv: srv, dir: dir, root: root, profileARN: profileARNFromLog(t, srv)}
	vm := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "MyOnpremVM"})
	pc, errOut, err := f.helper(t, vm, "vm", nil, anchorARN, "onprem-vm")
	if err != nil {
		t.Fatalf("CreateSession: %v\n%s", err, errOut)
	}

	mem := s3mem.New()
	if err := mem.CreateBucket("seed-bucket"); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		t.Helper()
		if _, err := mem.PutObject("seed-bucket", key, map[string]string{}, strings.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(key string) bool {
		_, err := mem.HeadObject("seed-bucket", key)
		return err == nil
	}
	read := func(key string) string {
		t.Helper()
		o, err := mem.GetObject("seed-bucket", key, nil)
		if err != nil {
			t.Fatalf("backend object %s: %v", key, err)
		}
		defer o.Contents.Close()
		b, _ := io.ReadAll(o.Contents)
		return string(b)
	}
	put("other-folder/secret.txt", "not yours")
	check := &resignCheck{next: gofakes3.New(mem).Server()}
	backend := httptest.NewServer(check)
	t.Cleanup(backend.Close)

	tlsCA := newCA(t, "gateway tls", pki.ECP256)
	gwLeaf := tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "localhost"}, "ip:127.0.0.1", "dns:"+vhDomain, "dns:*."+vhDomain)
	gwLeaf.write(t, dir, "gw-tls")
	cfg := fmt.Sprintf(`store: {db: roam.db, masterKeyFile: master.key}
routes:
  - name: s3
    listen: 127.0.0.1:0
    tls: {cert: gw-tls.pem, key: gw-tls.key}
    clientAuth: {mode: none}
    authorization: sigv4
    virtualHostDomain: %s
    backend:
      url: %s
      s3: true
      credentials: {accessKeyIdEnv: GW_BACKEND_KEY, secretAccessKeyEnv: GW_BACKEND_SECRET}
`, vhDomain, backend.URL)
	writeFile(t, filepath.Join(dir, "gateway.yaml"), []byte(cfg))
	gw := startGateway(t, filepath.Join(dir, "gateway.yaml"), 1, "GW_BACKEND_KEY="+backendKeyID, "GW_BACKEND_SECRET="+backendSecret)
	gwAddr := gw.addrs["s3"]
	_, port, _ := net.SplitHostPort(gwAddr)

	pool := x509.NewCertPool()
	pool.AddCert(tlsCA.iss.Cert)
	newClient := func(endpoint string, pathStyle bool) (*s3.Client, *hostRecorder) {
		var d net.Dialer
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			// Every name resolves to the gateway on 127.0.0.1.
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, gwAddr)
			},
		}
		rec := &hostRecorder{next: tr}
		return s3.New(s3.Options{
			Region:           "us-east-1",
			BaseEndpoint:     aws.String(endpoint),
			UsePathStyle:     pathStyle,
			Credentials:      awscreds.NewStaticCredentialsProvider(pc.AccessKeyID, pc.SecretAccessKey, pc.SessionToken),
			HTTPClient:       &http.Client{Timeout: 30 * time.Second, Transport: rec},
			RetryMaxAttempts: 1,
		}), rec
	}
	ctx := context.Background()
	bucket := aws.String("seed-bucket")
	pathClient, _ := newClient("https://"+gwAddr, true)

	t.Run("CopyObject", func(t *testing.T) {
		if _, err := pathClient.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("vm-folder/src file.txt"), Body: strings.NewReader("copy me")}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		// Allowed source and destination; a key that needs escaping.
		if _, err := pathClient.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("vm-folder/copy.txt"),
			CopySource: aws.String("seed-bucket/vm-folder/src%20file.txt")}); err != nil {
			t.Fatalf("CopyObject within vm-folder/: %v", err)
		}
		if got := read("vm-folder/copy.txt"); got != "copy me" {
			t.Fatalf("copied object %q", got)
		}
		// The source is outside the allowed prefix: the destination
		// write alone is not enough.
		_, err := pathClient.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("vm-folder/stolen.txt"),
			CopySource: aws.String("seed-bucket/other-folder/secret.txt")})
		wantAccessDenied(t, "CopyObject from other-folder/", err)
		// The destination is outside the allowed prefix.
		_, err = pathClient.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("other-folder/copy.txt"),
			CopySource: aws.String("seed-bucket/vm-folder/copy.txt")})
		wantAccessDenied(t, "CopyObject to other-folder/", err)
		if exists("vm-folder/stolen.txt") || exists("other-folder/copy.txt") {
			t.Fatal("a denied copy reached the backend")
		}
	})

	t.Run("DeleteObjects", func(t *testing.T) {
		for _, k := range []string{"vm-folder/d1", "vm-folder/d2", "vm-folder/d3"} {
			put(k, "x")
		}
		out, err := pathClient.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &s3types.Delete{
			Objects: []s3types.ObjectIdentifier{{Key: aws.String("vm-folder/d1")}, {Key: aws.String("vm-folder/d2")}}}})
		if err != nil {
			t.Fatalf("DeleteObjects under vm-folder/: %v", err)
		}
		if len(out.Deleted) != 2 || len(out.Errors) != 0 {
			t.Fatalf("DeleteObjects: %d deleted, errors %v", len(out.Deleted), out.Errors)
		}
		if exists("vm-folder/d1") || exists("vm-folder/d2") {
			t.Fatal("objects not deleted")
		}
		// One key outside the prefix denies the whole request.
		_, err = pathClient.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &s3types.Delete{
			Objects: []s3types.ObjectIdentifier{{Key: aws.String("vm-folder/d3")}, {Key: aws.String("other-folder/secret.txt")}}}})
		wantAccessDenied(t, "DeleteObjects with a key in other-folder/", err)
		if !exists("vm-folder/d3") || !exists("other-folder/secret.txt") {
			t.Fatal("a denied DeleteObjects deleted something")
		}
	})

	t.Run("virtual-host", func(t *testing.T) {
		vhClient, rec := newClient("https://"+net.JoinHostPort(vhDomain, port), false)
		if _, err := vhClient.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("vm-folder/vh.txt"), Body: strings.NewReader("virtual")}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		got, err := vhClient.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("vm-folder/vh.txt")})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(got.Body)
		got.Body.Close()
		if buf.String() != "virtual" || read("vm-folder/vh.txt") != "virtual" {
			t.Fatalf("GetObject %q", buf.String())
		}
		list, err := vhClient.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("vm-folder/vh")})
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "vm-folder/vh.txt" {
			t.Fatalf("ListObjectsV2: %v", list.Contents)
		}
		if _, err := vhClient.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("vm-folder/vh-copy.txt"),
			CopySource: aws.String("seed-bucket/vm-folder/vh.txt")}); err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		_, err = vhClient.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("other-folder/vh.txt"), Body: strings.NewReader("no")})
		wantAccessDenied(t, "PutObject in other-folder/", err)
		_, err = vhClient.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("other-folder/secret.txt")})
		wantAccessDenied(t, "GetObject in other-folder/", err)
		_, err = vhClient.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("other-folder/")})
		wantAccessDenied(t, "ListObjectsV2 other-folder/", err)
		// The requests really were virtual-host style.
		rec.mu.Lock()
		defer rec.mu.Unlock()
		wantHost := "seed-bucket." + vhDomain + ":" + port
		for i, h := range rec.hosts {
			if h != wantHost || strings.HasPrefix(rec.paths[i], "/seed-bucket") {
				t.Errorf("request %d went to %s%s, want virtual-host style on %s", i, h, rec.paths[i], wantHost)
			}
		}
		if len(rec.hosts) < 7 {
			t.Errorf("only %d requests recorded", len(rec.hosts))
		}
	})

	if n := check.bad.Load(); n != 0 {
		t.Errorf("%d of %d backend requests were not signed by the gateway: %v", n, check.n.Load(), check.last.Load())
	}
	log := gw.stderr.String()
	for _, want := range []string{`"operation":"CopyObject"`, `"operation":"DeleteObjects"`, `"actions":["s3:GetObject","s3:PutObject"]`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log has no %s", want)
		}
	}
}

// TestGatewaySIGHUP: the real process, polling effectively off: a replaced
// server certificate is served to new connections after SIGHUP, and a
// connection kept alive from before keeps working.
func TestGatewaySIGHUP(t *testing.T) {
	dir := t.TempDir()
	tlsCA, clientCA := newCA(t, "gateway tls", pki.ECP256), newCA(t, "clients", pki.ECP256)
	first := tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "first"}, "ip:127.0.0.1")
	first.write(t, dir, "gw-tls")
	writeFile(t, filepath.Join(dir, "client-ca.pem"), pki.EncodeCertificatesPEM(clientCA.iss.Cert))
	client := clientCA.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "workload"})
	backend := newCountingBackend(t)
	writeFile(t, filepath.Join(dir, "gateway.yaml"), []byte(fmt.Sprintf(`reloadInterval: 1h
routes:
  - name: api
    listen: 127.0.0.1:0
    tls: {cert: gw-tls.pem, key: gw-tls.key}
    clientAuth: {mode: require, caFiles: [client-ca.pem]}
    authorization: mtls
    backend: {url: %q}
`, backend.URL)))
	gw := startGateway(t, filepath.Join(dir, "gateway.yaml"), 1)
	url := "https://" + gw.addrs["api"] + "/x"
	pool := x509.NewCertPool()
	pool.AddCert(tlsCA.iss.Cert)
	newClient := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool,
			Certificates: []tls.Certificate{{Certificate: [][]byte{client.cert.Raw}, PrivateKey: client.key}}}}}
	}
	served := func(c *http.Client) *x509.Certificate {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0]
	}
	kept := newClient()
	if !served(kept).Equal(first.cert) {
		t.Fatal("not serving the first certificate")
	}
	second := tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "second"}, "ip:127.0.0.1")
	keyPEM, err := pki.MarshalPrivateKeyPEM(second.key, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(dir, "gw-tls.key"), keyPEM)
	writeAtomic(t, filepath.Join(dir, "gw-tls.pem"), pki.EncodeCertificatesPEM(second.cert))
	if !served(newClient()).Equal(first.cert) {
		t.Fatal("the certificate changed before SIGHUP (polling is an hour away)")
	}
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !served(newClient()).Equal(second.cert) {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload the certificate:\n%s", gw.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !served(kept).Equal(first.cert) {
		t.Error("the kept-alive connection was not kept")
	}
	if !strings.Contains(gw.stderr.String(), "reload requested") {
		t.Error("SIGHUP not logged")
	}
}
