package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

const (
	backendKeyID  = "AKIAGATEWAYBACKEND01"
	backendSecret = "gateway-backend-secret-not-a-workload-secret"
)

// seed001YAML: seed 001's role — read and write one folder of one bucket
// only — assumable with a certificate whose CN is MyOnpremVM.
const seed001YAML = `account: "000000000000"
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
          - Sid: ListFolder
            Effect: Allow
            Action: s3:ListBucket
            Resource: arn:aws:s3:::seed-bucket
            Condition:
              StringLike: {s3:prefix: "vm-folder/*"}
          - Sid: ReadWriteFolder
            Effect: Allow
            Action: [s3:GetObject, s3:PutObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts]
            Resource: arn:aws:s3:::seed-bucket/vm-folder/*
profiles:
  - {name: onprem, roles: [onprem-vm], durationSeconds: 3600, enabled: true}
`

// resignCheck is the S3 backend's front: it verifies that every request is
// signed with the gateway's backend key (never the workload's session
// credentials) before gofakes3 sees it.
type resignCheck struct {
	next http.Handler
	bad  atomic.Int64
	n    atomic.Int64
	last atomic.Value
}

func (c *resignCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	p, err := sigv4.ParseRequest(r, time.Now(), &sigv4.HMACOptions{Service: "s3", S3: true})
	if err == nil && p.AccessKeyID() != backendKeyID {
		err = fmt.Errorf("signed with %s", p.AccessKeyID())
	}
	if err == nil {
		err = p.VerifyStreaming([]byte(backendSecret))
	}
	if err == nil && r.Header.Get(sigv4.HeaderSecurityToken) != "" {
		err = errors.New("the workload's session token reached the backend")
	}
	if err != nil {
		c.bad.Add(1)
		c.last.Store(err.Error())
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	c.next.ServeHTTP(w, r)
}

// TestGatewaySeed001S3: seed 001's last step. Credentials from CreateSession
// (the official helper against a real roam server) reach an S3-compatible
// backend (gofakes3) through the gateway in sigv4 mode: /usr/bin/aws s3 cp
// and aws-sdk-go-v2 succeed under the allowed prefix and get AccessDenied
// under another; a multipart upload and a ListObjectsV2 limited by
// s3:prefix work; the backend only ever sees the gateway's signature.
func TestGatewaySeed001S3(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, "seed 001 root", pki.ECP256)
	writeFile(t, filepath.Join(dir, "root.pem"), pki.EncodeCertificatesPEM(root.iss.Cert))
	srv := startServer(t, dir, root, seed001YAML)
	f := &fixture{srv: srv, dir: dir, root: root, profileARN: profileARNFromLog(t, srv)}
	vm := root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "MyOnpremVM"})
	pc, errOut, err := f.helper(t, vm, "vm", nil, anchorARN, "onprem-vm")
	if err != nil {
		t.Fatalf("CreateSession: %v\n%s", err, errOut)
	}

	// The S3 backend: gofakes3 over plain HTTP on 127.0.0.1.
	mem := s3mem.New()
	if err := mem.CreateBucket("seed-bucket"); err != nil {
		t.Fatal(err)
	}
	check := &resignCheck{next: gofakes3.New(mem).Server()}
	backend := httptest.NewServer(check)
	t.Cleanup(backend.Close)

	// The gateway, reading the server's store.
	tlsCA := newCA(t, "gateway tls", pki.ECP256)
	gwLeaf := tlsCA.issue(t, pki.ProfileServer, pki.ECP256, pkix.Name{CommonName: "localhost"}, "ip:127.0.0.1", "dns:localhost")
	gwLeaf.write(t, dir, "gw-tls")
	caFile := filepath.Join(dir, "gw-ca.pem")
	writeFile(t, caFile, pki.EncodeCertificatesPEM(tlsCA.iss.Cert))
	cfg := fmt.Sprintf(`store: {db: roam.db, masterKeyFile: master.key}
routes:
  - name: s3
    listen: 127.0.0.1:0
    tls: {cert: gw-tls.pem, key: gw-tls.key}
    clientAuth: {mode: none}
    authorization: sigv4
    backend:
      url: %s
      s3: true
      credentials: {accessKeyIdEnv: GW_BACKEND_KEY, secretAccessKeyEnv: GW_BACKEND_SECRET}
`, backend.URL)
	writeFile(t, filepath.Join(dir, "gateway.yaml"), []byte(cfg))
	gw := startGateway(t, filepath.Join(dir, "gateway.yaml"), 1, "GW_BACKEND_KEY="+backendKeyID, "GW_BACKEND_SECRET="+backendSecret)
	endpoint := "https://" + gw.addrs["s3"]

	t.Run("aws-cli", func(t *testing.T) {
		const cli = "/usr/bin/aws"
		if _, err := os.Stat(cli); err != nil {
			t.Skip("Debian AWS CLI v2 not installed")
		}
		home := t.TempDir()
		payload := filepath.Join(home, "report.csv")
		writeFile(t, payload, bytes.Repeat([]byte("seed,001\n"), 1000))
		run := func(args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, cli, append(args, "--endpoint-url", endpoint, "--region", "us-east-1")...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
				"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"), "AWS_CA_BUNDLE=" + caFile,
				"AWS_ACCESS_KEY_ID=" + pc.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + pc.SecretAccessKey,
				"AWS_SESSION_TOKEN=" + pc.SessionToken, "AWS_MAX_ATTEMPTS=1", "AWS_EC2_METADATA_DISABLED=true"}
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := run("s3", "cp", payload, "s3://seed-bucket/vm-folder/report.csv"); err != nil {
			t.Fatalf("aws s3 cp under the allowed prefix: %v\n%s", err, out)
		}
		back := filepath.Join(home, "back.csv")
		if out, err := run("s3", "cp", "s3://seed-bucket/vm-folder/report.csv", back); err != nil {
			t.Fatalf("aws s3 cp download: %v\n%s", err, out)
		}
		if a, b := mustRead(t, payload), mustRead(t, back); !bytes.Equal(a, b) {
			t.Fatalf("downloaded %d bytes, uploaded %d", len(b), len(a))
		}
		out, err := run("s3", "cp", payload, "s3://seed-bucket/other-folder/report.csv")
		if err == nil || !strings.Contains(out, "AccessDenied") {
			t.Fatalf("aws s3 cp under another prefix: err %v, want AccessDenied:\n%s", err, out)
		}
	})

	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(tlsCA.iss.Cert)
		client := s3.New(s3.Options{
			Region:           "us-east-1",
			BaseEndpoint:     aws.String(endpoint),
			UsePathStyle:     true,
			Credentials:      awscreds.NewStaticCredentialsProvider(pc.AccessKeyID, pc.SecretAccessKey, pc.SessionToken),
			HTTPClient:       &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
			RetryMaxAttempts: 1,
		})
		ctx := context.Background()
		bucket := aws.String("seed-bucket")
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("vm-folder/sdk.txt"), Body: strings.NewReader("hello")}); err != nil {
			t.Fatalf("PutObject allowed: %v", err)
		}
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("elsewhere/sdk.txt"), Body: strings.NewReader("hello")})
		wantAccessDenied(t, "PutObject elsewhere", err)
		_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("elsewhere/x")})
		wantAccessDenied(t, "GetObject elsewhere", err)

		// Multipart upload: two parts (5 MiB and 1 KiB).
		key := aws.String("vm-folder/big.bin")
		mp, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
		if err != nil {
			t.Fatalf("CreateMultipartUpload: %v", err)
		}
		var parts []s3types.CompletedPart
		var whole []byte
		for i, size := range []int{5 << 20, 1024} {
			data := bytes.Repeat([]byte{byte('a' + i)}, size)
			whole = append(whole, data...)
			up, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: mp.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			parts = append(parts, s3types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
		}
		if _, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: mp.UploadId,
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
			t.Fatalf("CompleteMultipartUpload: %v", err)
		}
		got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key})
		if err != nil {
			t.Fatalf("GetObject multipart result: %v", err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(got.Body)
		got.Body.Close()
		if !bytes.Equal(buf.Bytes(), whole) {
			t.Fatalf("multipart object: %d bytes back, %d uploaded", buf.Len(), len(whole))
		}
		_, err = client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String("elsewhere/big.bin")})
		wantAccessDenied(t, "CreateMultipartUpload elsewhere", err)

		// ListObjectsV2 is limited by s3:prefix.
		list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("vm-folder/")})
		if err != nil {
			t.Fatalf("ListObjectsV2 vm-folder/: %v", err)
		}
		var keys []string
		for _, o := range list.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if strings.Join(keys, ",") != "vm-folder/big.bin,vm-folder/report.csv,vm-folder/sdk.txt" && strings.Join(keys, ",") != "vm-folder/big.bin,vm-folder/sdk.txt" {
			t.Errorf("ListObjectsV2 keys %v", keys)
		}
		_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("other-folder/")})
		wantAccessDenied(t, "ListObjectsV2 other-folder/", err)
		_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket})
		wantAccessDenied(t, "ListObjectsV2 without prefix", err)
	})
	if n := check.bad.Load(); n != 0 {
		t.Errorf("%d of %d backend requests were not signed by the gateway: %v", n, check.n.Load(), check.last.Load())
	}
	if !strings.Contains(gw.stderr.String(), `"principal":"arn:aws:sts::000000000000:assumed-role/onprem-vm/`) {
		t.Errorf("audit log does not name the session principal")
	}
}

func wantAccessDenied(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("%s: %v, want AccessDenied", what, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
