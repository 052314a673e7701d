package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestMapS3(t *testing.T) {
	const vh = "s3.example.test"
	type want struct {
		operation     string
		bucket, key   string
		ops           []S3Op
		conditions    map[string]string
		virtualHost   bool
		deleteObjects bool
	}
	obj := func(action, bucketKey string) S3Op { return S3Op{action, "arn:aws:s3:::" + bucketKey} }
	cases := []struct {
		name         string
		method, host string
		path, query  string
		copySource   string
		want         want
	}{
		{name: "ListBuckets", method: "GET", host: "s3.example.test", path: "/",
			want: want{operation: "ListBuckets", ops: []S3Op{{"s3:ListAllMyBuckets", "arn:aws:s3:::*"}}}},
		{name: "ListBuckets/empty path", method: "GET", host: "127.0.0.1:9000", path: "",
			want: want{operation: "ListBuckets", ops: []S3Op{{"s3:ListAllMyBuckets", "arn:aws:s3:::*"}}}},
		{name: "ListObjects v1 with conditions", method: "GET", host: "127.0.0.1:9000", path: "/photos", query: "prefix=2024%2F&delimiter=%2F&max-keys=50&marker=x",
			want: want{operation: "ListObjects", bucket: "photos", ops: []S3Op{obj("s3:ListBucket", "photos")},
				conditions: map[string]string{"s3:prefix": "2024/", "s3:delimiter": "/", "s3:max-keys": "50"}}},
		{name: "ListObjectsV2 with conditions", method: "GET", host: "127.0.0.1:9000", path: "/photos/", query: "list-type=2&prefix=vm-folder%2F&delimiter=%2F&max-keys=1000&continuation-token=abc&encoding-type=url",
			want: want{operation: "ListObjectsV2", bucket: "photos", ops: []S3Op{obj("s3:ListBucket", "photos")},
				conditions: map[string]string{"s3:prefix": "vm-folder/", "s3:delimiter": "/", "s3:max-keys": "1000"}}},
		{name: "ListObjectsV2 empty prefix is a condition", method: "GET", host: "127.0.0.1", path: "/photos", query: "list-type=2&prefix=",
			want: want{operation: "ListObjectsV2", bucket: "photos", ops: []S3Op{obj("s3:ListBucket", "photos")},
				conditions: map[string]string{"s3:prefix": ""}}},
		{name: "ListObjectsV2 without conditions", method: "GET", host: "127.0.0.1", path: "/photos", query: "list-type=2",
			want: want{operation: "ListObjectsV2", bucket: "photos", ops: []S3Op{obj("s3:ListBucket", "photos")}, conditions: map[string]string{}}},
		{name: "GetObject", method: "GET", host: "127.0.0.1:9000", path: "/photos/2024/cat.jpg", query: "x-id=GetObject",
			want: want{operation: "GetObject", bucket: "photos", key: "2024/cat.jpg", ops: []S3Op{obj("s3:GetObject", "photos/2024/cat.jpg")}}},
		{name: "GetObject version", method: "GET", host: "127.0.0.1:9000", path: "/photos/cat.jpg", query: "versionId=3",
			want: want{operation: "GetObject", bucket: "photos", key: "cat.jpg", ops: []S3Op{obj("s3:GetObjectVersion", "photos/cat.jpg")}}},
		{name: "HeadObject", method: "HEAD", host: "127.0.0.1:9000", path: "/photos/cat.jpg",
			want: want{operation: "HeadObject", bucket: "photos", key: "cat.jpg", ops: []S3Op{obj("s3:GetObject", "photos/cat.jpg")}}},
		{name: "PutObject", method: "PUT", host: "127.0.0.1:9000", path: "/photos/up/load.bin", query: "x-id=PutObject",
			want: want{operation: "PutObject", bucket: "photos", key: "up/load.bin", ops: []S3Op{obj("s3:PutObject", "photos/up/load.bin")}}},
		{name: "DeleteObject", method: "DELETE", host: "127.0.0.1:9000", path: "/photos/old.jpg", query: "x-id=DeleteObject",
			want: want{operation: "DeleteObject", bucket: "photos", key: "old.jpg", ops: []S3Op{obj("s3:DeleteObject", "photos/old.jpg")}}},
		{name: "DeleteObject version", method: "DELETE", host: "127.0.0.1:9000", path: "/photos/old.jpg", query: "versionId=7",
			want: want{operation: "DeleteObject", bucket: "photos", key: "old.jpg", ops: []S3Op{obj("s3:DeleteObjectVersion", "photos/old.jpg")}}},
		{name: "DeleteObjects", method: "POST", host: "127.0.0.1:9000", path: "/photos", query: "delete=",
			want: want{operation: "DeleteObjects", bucket: "photos", deleteObjects: true}},
		{name: "CreateMultipartUpload", method: "POST", host: "127.0.0.1:9000", path: "/photos/big.bin", query: "uploads=&x-id=CreateMultipartUpload",
			want: want{operation: "CreateMultipartUpload", bucket: "photos", key: "big.bin", ops: []S3Op{obj("s3:PutObject", "photos/big.bin")}}},
		{name: "UploadPart", method: "PUT", host: "127.0.0.1:9000", path: "/photos/big.bin", query: "partNumber=2&uploadId=u1&x-id=UploadPart",
			want: want{operation: "UploadPart", bucket: "photos", key: "big.bin", ops: []S3Op{obj("s3:PutObject", "photos/big.bin")}}},
		{name: "CompleteMultipartUpload", method: "POST", host: "127.0.0.1:9000", path: "/photos/big.bin", query: "uploadId=u1",
			want: want{operation: "CompleteMultipartUpload", bucket: "photos", key: "big.bin", ops: []S3Op{obj("s3:PutObject", "photos/big.bin")}}},
		{name: "AbortMultipartUpload", method: "DELETE", host: "127.0.0.1:9000", path: "/photos/big.bin", query: "uploadId=u1&x-id=AbortMultipartUpload",
			want: want{operation: "AbortMultipartUpload", bucket: "photos", key: "big.bin", ops: []S3Op{obj("s3:AbortMultipartUpload", "photos/big.bin")}}},
		{name: "ListParts", method: "GET", host: "127.0.0.1:9000", path: "/photos/big.bin", query: "uploadId=u1&max-parts=10&x-id=ListParts",
			want: want{operation: "ListParts", bucket: "photos", key: "big.bin", ops: []S3Op{obj("s3:ListMultipartUploadParts", "photos/big.bin")}}},
		{name: "ListMultipartUploads", method: "GET", host: "127.0.0.1:9000", path: "/photos", query: "uploads=&prefix=a",
			want: want{operation: "ListMultipartUploads", bucket: "photos", ops: []S3Op{obj("s3:ListBucketMultipartUploads", "photos")}}},
		{name: "CopyObject needs source read and destination write", method: "PUT", host: "127.0.0.1:9000", path: "/dst-bucket/copies/a.txt", copySource: "src-bucket/originals/a.txt",
			want: want{operation: "CopyObject", bucket: "dst-bucket", key: "copies/a.txt",
				ops: []S3Op{obj("s3:GetObject", "src-bucket/originals/a.txt"), obj("s3:PutObject", "dst-bucket/copies/a.txt")}}},
		{name: "CopyObject escaped source with leading slash and version", method: "PUT", host: "127.0.0.1:9000", path: "/photos/b%20c.txt", copySource: "/photos/a%20b%3Fc.txt?versionId=v9",
			want: want{operation: "CopyObject", bucket: "photos", key: "b c.txt",
				ops: []S3Op{obj("s3:GetObjectVersion", "photos/a b?c.txt"), obj("s3:PutObject", "photos/b c.txt")}}},
		{name: "UploadPartCopy", method: "PUT", host: "127.0.0.1:9000", path: "/photos/big.bin", query: "partNumber=1&uploadId=u1", copySource: "src-bucket/part.bin",
			want: want{operation: "UploadPartCopy", bucket: "photos", key: "big.bin",
				ops: []S3Op{obj("s3:GetObject", "src-bucket/part.bin"), obj("s3:PutObject", "photos/big.bin")}}},
		{name: "HeadBucket", method: "HEAD", host: "127.0.0.1", path: "/photos",
			want: want{operation: "HeadBucket", bucket: "photos", ops: []S3Op{obj("s3:ListBucket", "photos")}}},
		{name: "GetBucketPolicy", method: "GET", host: "127.0.0.1", path: "/photos", query: "policy=",
			want: want{operation: "GetBucketPolicy", bucket: "photos", ops: []S3Op{obj("s3:GetBucketPolicy", "photos")}}},
		{name: "DeleteBucketPolicy", method: "DELETE", host: "127.0.0.1", path: "/photos", query: "policy=",
			want: want{operation: "DeleteBucketPolicy", bucket: "photos", ops: []S3Op{obj("s3:DeleteBucketPolicy", "photos")}}},
		{name: "GetObjectTagging", method: "GET", host: "127.0.0.1", path: "/photos/a", query: "tagging=",
			want: want{operation: "GetObjectTagging", bucket: "photos", key: "a", ops: []S3Op{obj("s3:GetObjectTagging", "photos/a")}}},

		// Keys that need escaping: the resource carries the decoded key.
		{name: "key with space, plus and unicode", method: "GET", host: "127.0.0.1", path: "/photos/a%20b+c/%C3%A9t%C3%A9.txt",
			want: want{operation: "GetObject", bucket: "photos", key: "a b+c/été.txt", ops: []S3Op{obj("s3:GetObject", "photos/a b+c/été.txt")}}},
		{name: "key with encoded slash, question mark and percent", method: "PUT", host: "127.0.0.1", path: "/photos/a%2Fb%3Fc%25d",
			want: want{operation: "PutObject", bucket: "photos", key: "a/b?c%d", ops: []S3Op{obj("s3:PutObject", "photos/a/b?c%d")}}},
		{name: "key with empty segments", method: "GET", host: "127.0.0.1", path: "/photos//double//slash",
			want: want{operation: "GetObject", bucket: "photos", key: "/double//slash", ops: []S3Op{obj("s3:GetObject", "photos//double//slash")}}},

		// Virtual-host style: the bucket comes from the Host header.
		{name: "virtual host GetObject", method: "GET", host: "photos.s3.example.test:9443", path: "/2024/cat%20one.jpg",
			want: want{operation: "GetObject", bucket: "photos", key: "2024/cat one.jpg", virtualHost: true, ops: []S3Op{obj("s3:GetObject", "photos/2024/cat one.jpg")}}},
		{name: "virtual host dotted bucket, upper case host, trailing dot", method: "PUT", host: "My.Photos.S3.Example.Test.", path: "/k",
			want: want{operation: "PutObject", bucket: "my.photos", key: "k", virtualHost: true, ops: []S3Op{obj("s3:PutObject", "my.photos/k")}}},
		{name: "virtual host ListObjectsV2", method: "GET", host: "photos.s3.example.test", path: "/", query: "list-type=2&prefix=a%2F",
			want: want{operation: "ListObjectsV2", bucket: "photos", virtualHost: true, ops: []S3Op{obj("s3:ListBucket", "photos")}, conditions: map[string]string{"s3:prefix": "a/"}}},
		{name: "virtual host first path segment is part of the key", method: "DELETE", host: "photos.s3.example.test", path: "/other-bucket/k",
			want: want{operation: "DeleteObject", bucket: "photos", key: "other-bucket/k", virtualHost: true, ops: []S3Op{obj("s3:DeleteObject", "photos/other-bucket/k")}}},
		{name: "virtual host DeleteObjects", method: "POST", host: "photos.s3.example.test", path: "/", query: "delete",
			want: want{operation: "DeleteObjects", bucket: "photos", virtualHost: true, deleteObjects: true}},
		{name: "the domain itself is path style", method: "GET", host: "s3.example.test", path: "/photos/k",
			want: want{operation: "GetObject", bucket: "photos", key: "k", ops: []S3Op{obj("s3:GetObject", "photos/k")}}},
		{name: "another domain is path style", method: "GET", host: "photos.elsewhere.test", path: "/photos/k",
			want: want{operation: "GetObject", bucket: "photos", key: "k", ops: []S3Op{obj("s3:GetObject", "photos/k")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			if c.copySource != "" {
				h.Set("X-Amz-Copy-Source", c.copySource)
			}
			got, err := MapS3(c.method, c.host, c.path, q, h, vh)
			if err != nil {
				t.Fatalf("MapS3: %v", err)
			}
			w := c.want
			if got.Operation != w.operation || got.Bucket != w.bucket || got.Key != w.key || got.VirtualHost != w.virtualHost || got.DeleteObjects != w.deleteObjects {
				t.Errorf("got operation %q bucket %q key %q vh %v delete %v\nwant operation %q bucket %q key %q vh %v delete %v",
					got.Operation, got.Bucket, got.Key, got.VirtualHost, got.DeleteObjects, w.operation, w.bucket, w.key, w.virtualHost, w.deleteObjects)
			}
			if !reflect.DeepEqual(got.Ops, w.ops) {
				t.Errorf("ops %v, want %v", got.Ops, w.ops)
			}
			if len(got.Conditions) != 0 || len(w.conditions) != 0 {
				if !reflect.DeepEqual(got.Conditions, w.conditions) {
					t.Errorf("conditions %v, want %v", got.Conditions, w.conditions)
				}
			}
		})
	}
}

// TestMapS3Denied: requests the mapping does not know, or cannot map
// unambiguously, are refused rather than guessed.
func TestMapS3Denied(t *testing.T) {
	cases := []struct {
		name, method, host, path, query, copySource string
		wantInErr                                   string
	}{
		{name: "unknown object subresource", method: "GET", path: "/photos/k", query: "select=&select-type=2", wantInErr: "select"},
		{name: "unknown object subresource on PUT", method: "PUT", path: "/photos/k", query: "legal-hold=", wantInErr: "legal-hold"},
		{name: "unknown object subresource on DELETE", method: "DELETE", path: "/photos/k", query: "retention=", wantInErr: "retention"},
		{name: "unknown bucket subresource", method: "GET", path: "/photos", query: "analytics=&id=1", wantInErr: "unsupported"},
		{name: "unknown bucket subresource on PUT", method: "PUT", path: "/photos", query: "intelligent-tiering=", wantInErr: "intelligent-tiering"},
		{name: "unknown bucket subresource on DELETE", method: "DELETE", path: "/photos", query: "metrics=", wantInErr: "metrics"},
		{name: "two subresources on a bucket", method: "GET", path: "/photos", query: "acl=&policy=", wantInErr: "unsupported"},
		{name: "ListParts with another subresource", method: "GET", path: "/photos/k", query: "uploadId=u&acl=", wantInErr: "acl"},
		{name: "AbortMultipartUpload with another subresource", method: "DELETE", path: "/photos/k", query: "uploadId=u&tagging=", wantInErr: "tagging"},
		{name: "CompleteMultipartUpload with another subresource", method: "POST", path: "/photos/k", query: "uploadId=u&select=", wantInErr: "select"},
		{name: "HeadBucket with a subresource", method: "HEAD", path: "/photos", query: "website-config=", wantInErr: "website-config"},
		{name: "POST object without subresource", method: "POST", path: "/photos/k", wantInErr: "unsupported"},
		{name: "POST bucket without delete", method: "POST", path: "/photos", wantInErr: "unsupported"},
		{name: "PATCH object", method: "PATCH", path: "/photos/k", wantInErr: "unsupported"},
		{name: "dot-dot segment in key", method: "GET", path: "/photos/a/../../other/k", wantInErr: "path segment"},
		{name: "encoded dot-dot segment", method: "GET", path: "/photos/%2E%2E/k", wantInErr: "path segment"},
		{name: "dot segment", method: "PUT", path: "/photos/./k", wantInErr: "path segment"},
		{name: "UploadPart without uploadId", method: "PUT", path: "/photos/k", query: "partNumber=1", wantInErr: "uploadId"},
		{name: "PUT without bucket", method: "PUT", path: "/", wantInErr: "no bucket"},
		{name: "GET of an object without bucket", method: "GET", path: "//k", wantInErr: "no bucket"},
		{name: "bucket too short", method: "GET", path: "/ab/k", wantInErr: "invalid bucket"},
		{name: "bucket with a colon", method: "GET", path: "/a:b/k", wantInErr: "invalid bucket"},
		{name: "bucket with an escaped slash", method: "GET", path: "/pho%2Ftos/k", wantInErr: "invalid bucket"},
		{name: "bucket with a wildcard", method: "GET", path: "/ph*tos/k", wantInErr: "invalid bucket"},
		{name: "virtual-host bucket with a wildcard", method: "GET", host: "ph*tos.s3.example.test", path: "/k", wantInErr: "invalid bucket"},
		{name: "bad escape in key", method: "GET", path: "/photos/a%zz", wantInErr: "bad key"},
		{name: "bad escape in bucket", method: "GET", path: "/pho%zztos/k", wantInErr: "bad bucket"},
		{name: "relative path", method: "GET", path: "photos/k", wantInErr: "must start with /"},
		{name: "copy source without key", method: "PUT", path: "/photos/k", copySource: "src-bucket", wantInErr: "x-amz-copy-source"},
		{name: "copy source with a bad bucket", method: "PUT", path: "/photos/k", copySource: "s*/key", wantInErr: "x-amz-copy-source"},
		{name: "copy source with another query", method: "PUT", path: "/photos/k", copySource: "src-bucket/key?acl", wantInErr: "x-amz-copy-source"},
		{name: "copy source with a bad escape", method: "PUT", path: "/photos/k", copySource: "src-bucket/k%zz", wantInErr: "x-amz-copy-source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			if c.copySource != "" {
				h.Set("X-Amz-Copy-Source", c.copySource)
			}
			host := c.host
			if host == "" {
				host = "127.0.0.1:9000"
			}
			got, err := MapS3(c.method, host, c.path, q, h, "s3.example.test")
			if err == nil {
				t.Fatalf("mapped to %s %v, want a refusal", got.Operation, got.Ops)
			}
			if !errors.Is(err, ErrUnsupportedS3) {
				t.Errorf("error %v is not ErrUnsupportedS3", err)
			}
			if !strings.Contains(err.Error(), c.wantInErr) {
				t.Errorf("error %q does not mention %q", err, c.wantInErr)
			}
		})
	}
}

// TestMapS3Deterministic: a request maps to the same operation every time
// (the bucket subresource table is a map).
func TestMapS3Deterministic(t *testing.T) {
	q := url.Values{"acl": {""}, "policy": {""}}
	for range 50 {
		r, err := MapS3("GET", "127.0.0.1", "/photos", q, http.Header{}, "")
		if err == nil {
			t.Fatalf("GET ?acl&policy mapped to %s, want a refusal", r.Operation)
		}
	}
}

func TestParseDeleteObjects(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    []S3Op
		wantErr string
	}{
		{
			name: "keys and versions",
			body: `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>` +
				`<Object><Key>vm-folder/a.txt</Key></Object><Object><Key>vm-folder/b &amp; c.txt</Key><VersionId>v2</VersionId></Object></Delete>`,
			want: []S3Op{
				{"s3:DeleteObject", "arn:aws:s3:::photos/vm-folder/a.txt"},
				{"s3:DeleteObjectVersion", "arn:aws:s3:::photos/vm-folder/b & c.txt"},
			},
		},
		{name: "no keys", body: `<Delete></Delete>`, wantErr: "1 to 1000"},
		{name: "empty key", body: `<Delete><Object><Key></Key></Object></Delete>`, wantErr: "empty key"},
		{name: "not XML", body: `{"Objects":[]}`, wantErr: "DeleteObjects body"},
		{name: "too many keys", body: `<Delete>` + strings.Repeat(`<Object><Key>k</Key></Object>`, 1001) + `</Delete>`, wantErr: "1 to 1000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseDeleteObjects("photos", []byte(c.body))
			if c.wantErr != "" {
				if err == nil || !errors.Is(err, ErrUnsupportedS3) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ops %v, want %v", got, c.want)
			}
		})
	}
}
