package gateway

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// S3Op is one IAM action on one resource that an S3 request needs.
type S3Op struct {
	Action   string
	Resource string
}

// S3Request is an S3 request mapped to what IAM must allow: every op in
// Ops, with Conditions (s3:prefix, s3:delimiter, s3:max-keys) in the
// request context.
type S3Request struct {
	// Operation is the S3 API operation, e.g. "PutObject".
	Operation string
	Bucket    string
	Key       string
	Ops       []S3Op
	// Conditions are the S3 condition keys of the request.
	Conditions map[string]string
	// DeleteObjects marks a multi-object delete: the keys are in the body
	// (see ParseDeleteObjects) and each needs s3:DeleteObject.
	DeleteObjects bool
	// VirtualHost reports a virtual-host-style request.
	VirtualHost bool
}

// ErrUnsupportedS3 is returned for requests the mapping does not know; they
// are denied.
var ErrUnsupportedS3 = errors.New("unsupported S3 request")

// S3ARN returns arn:aws:s3:::bucket or arn:aws:s3:::bucket/key.
func S3ARN(bucket, key string, object bool) string {
	if !object {
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// bucketSubresources maps GET/PUT/DELETE bucket subresources to the action
// suffix (Get…, Put…, Delete…).
var bucketSubresources = map[string]string{
	"acl": "BucketAcl", "policy": "BucketPolicy", "cors": "BucketCORS", "lifecycle": "LifecycleConfiguration",
	"tagging": "BucketTagging", "versioning": "BucketVersioning", "website": "BucketWebsite",
	"encryption": "EncryptionConfiguration", "notification": "BucketNotification", "logging": "BucketLogging",
	"replication": "ReplicationConfiguration", "requestPayment": "BucketRequestPayment",
	"object-lock": "BucketObjectLockConfiguration", "ownershipControls": "BucketOwnershipControls",
	"publicAccessBlock": "BucketPublicAccessBlock", "accelerate": "AccelerateConfiguration",
}

// MapS3 maps an S3 request (method, Host header, path as sent, query and
// headers) to the IAM actions and resources it needs. vhDomain, if not
// empty, enables virtual-host-style addressing (BUCKET.vhDomain).
func MapS3(method, host, escapedPath string, q url.Values, h http.Header, vhDomain string) (*S3Request, error) {
	r := &S3Request{}
	if escapedPath == "" {
		escapedPath = "/"
	}
	if !strings.HasPrefix(escapedPath, "/") {
		return nil, fmt.Errorf("%w: path must start with /", ErrUnsupportedS3)
	}
	hostname := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		hostname = hn
	}
	hostname = strings.ToLower(strings.TrimSuffix(hostname, "."))
	rawKey := ""
	if d := strings.ToLower(vhDomain); d != "" && strings.HasSuffix(hostname, "."+d) {
		r.VirtualHost = true
		r.Bucket = strings.TrimSuffix(hostname, "."+d)
		rawKey = escapedPath[1:]
	} else {
		seg, rest, _ := strings.Cut(escapedPath[1:], "/")
		b, err := url.PathUnescape(seg)
		if err != nil {
			return nil, fmt.Errorf("%w: bad bucket: %v", ErrUnsupportedS3, err)
		}
		r.Bucket, rawKey = b, rest
	}
	key, err := url.PathUnescape(rawKey)
	if err != nil {
		return nil, fmt.Errorf("%w: bad key: %v", ErrUnsupportedS3, err)
	}
	r.Key = key
	if hasDotSegment(strings.Split(key, "/")) {
		// A backend or proxy that normalises paths could resolve
		// bucket/../other/k to another bucket's object than the one
		// authorized: refuse rather than guess.
		return nil, fmt.Errorf("%w: key has a . or .. path segment", ErrUnsupportedS3)
	}
	if r.Bucket == "" {
		if method == http.MethodGet && key == "" {
			r.Operation = "ListBuckets"
			r.Ops = []S3Op{{"s3:ListAllMyBuckets", "arn:aws:s3:::*"}}
			return r, nil
		}
		return nil, fmt.Errorf("%w: no bucket", ErrUnsupportedS3)
	}
	if !validBucket(r.Bucket) {
		return nil, fmt.Errorf("%w: invalid bucket name", ErrUnsupportedS3)
	}
	bucketARN := S3ARN(r.Bucket, "", false)
	objectARN := S3ARN(r.Bucket, key, true)
	op := func(name string, ops ...S3Op) (*S3Request, error) {
		r.Operation, r.Ops = name, ops
		return r, nil
	}
	has := func(k string) bool { _, ok := q[k]; return ok }
	// At most one subresource: with two, the mapping and the backend
	// could pick different operations.
	if subs := subresources(q); len(subs) > 1 {
		return nil, fmt.Errorf("%w: more than one subresource (?%s)", ErrUnsupportedS3, strings.Join(subs, ", ?"))
	}
	if key == "" {
		// Bucket-level operations.
		for sub, suffix := range bucketSubresources {
			if !has(sub) {
				continue
			}
			switch method {
			case http.MethodGet:
				return op("Get"+suffix, S3Op{"s3:Get" + suffix, bucketARN})
			case http.MethodPut:
				return op("Put"+suffix, S3Op{"s3:Put" + suffix, bucketARN})
			case http.MethodDelete:
				action := "s3:Put" + suffix // IAM uses Put* for most deletes
				switch sub {
				case "policy":
					action = "s3:DeleteBucketPolicy"
				case "website":
					action = "s3:DeleteBucketWebsite"
				}
				return op("Delete"+suffix, S3Op{action, bucketARN})
			}
			return nil, fmt.Errorf("%w: %s ?%s", ErrUnsupportedS3, method, sub)
		}
		switch method {
		case http.MethodGet:
			switch {
			case has("location"):
				return op("GetBucketLocation", S3Op{"s3:GetBucketLocation", bucketARN})
			case has("uploads"):
				return op("ListMultipartUploads", S3Op{"s3:ListBucketMultipartUploads", bucketARN})
			case has("versions"):
				r.Conditions = listConditions(q)
				return op("ListObjectVersions", S3Op{"s3:ListBucketVersions", bucketARN})
			}
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: GET bucket ?%s", ErrUnsupportedS3, k)
			}
			r.Conditions = listConditions(q)
			if q.Get("list-type") == "2" {
				return op("ListObjectsV2", S3Op{"s3:ListBucket", bucketARN})
			}
			return op("ListObjects", S3Op{"s3:ListBucket", bucketARN})
		case http.MethodHead:
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: HEAD bucket ?%s", ErrUnsupportedS3, k)
			}
			return op("HeadBucket", S3Op{"s3:ListBucket", bucketARN})
		case http.MethodPut:
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: PUT bucket ?%s", ErrUnsupportedS3, k)
			}
			return op("CreateBucket", S3Op{"s3:CreateBucket", bucketARN})
		case http.MethodDelete:
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: DELETE bucket ?%s", ErrUnsupportedS3, k)
			}
			return op("DeleteBucket", S3Op{"s3:DeleteBucket", bucketARN})
		case http.MethodPost:
			if has("delete") {
				r.DeleteObjects = true
				r.Operation = "DeleteObjects"
				return r, nil // ops come from the body
			}
		}
		return nil, fmt.Errorf("%w: %s bucket", ErrUnsupportedS3, method)
	}
	// Object-level operations.
	copySrc := h.Get("X-Amz-Copy-Source")
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case has("uploadId"):
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: %s object ?uploadId&%s", ErrUnsupportedS3, method, k)
			}
			return op("ListParts", S3Op{"s3:ListMultipartUploadParts", objectARN})
		case has("tagging"):
			return op("GetObjectTagging", S3Op{"s3:GetObjectTagging", objectARN})
		case has("acl"):
			return op("GetObjectAcl", S3Op{"s3:GetObjectAcl", objectARN})
		case has("attributes"):
			return op("GetObjectAttributes", S3Op{"s3:GetObjectAttributes", objectARN})
		}
		if k := unknownSubresource(q); k != "" {
			return nil, fmt.Errorf("%w: GET object ?%s", ErrUnsupportedS3, k)
		}
		action := "s3:GetObject"
		if has("versionId") {
			action = "s3:GetObjectVersion"
		}
		if method == http.MethodHead {
			return op("HeadObject", S3Op{action, objectARN})
		}
		return op("GetObject", S3Op{action, objectARN})
	case http.MethodPut:
		switch {
		case has("tagging"):
			return op("PutObjectTagging", S3Op{"s3:PutObjectTagging", objectARN})
		case has("acl"):
			return op("PutObjectAcl", S3Op{"s3:PutObjectAcl", objectARN})
		}
		if k := unknownSubresource(q); k != "" {
			return nil, fmt.Errorf("%w: PUT object ?%s", ErrUnsupportedS3, k)
		}
		name := "PutObject"
		if has("uploadId") || has("partNumber") {
			if !has("uploadId") || !has("partNumber") {
				return nil, fmt.Errorf("%w: UploadPart needs uploadId and partNumber", ErrUnsupportedS3)
			}
			name = "UploadPart"
		}
		ops := []S3Op{{"s3:PutObject", objectARN}}
		if copySrc != "" {
			sb, sk, ver, err := parseCopySource(copySrc)
			if err != nil {
				return nil, err
			}
			read := "s3:GetObject"
			if ver {
				read = "s3:GetObjectVersion"
			}
			ops = append([]S3Op{{read, S3ARN(sb, sk, true)}}, ops...)
			if name == "PutObject" {
				name = "CopyObject"
			} else {
				name = "UploadPartCopy"
			}
		}
		return op(name, ops...)
	case http.MethodPost:
		switch {
		case has("uploads"):
			return op("CreateMultipartUpload", S3Op{"s3:PutObject", objectARN})
		case has("uploadId"):
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: POST object ?uploadId&%s", ErrUnsupportedS3, k)
			}
			return op("CompleteMultipartUpload", S3Op{"s3:PutObject", objectARN})
		case has("restore"):
			return op("RestoreObject", S3Op{"s3:RestoreObject", objectARN})
		}
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			if k := unknownSubresource(q); k != "" {
				return nil, fmt.Errorf("%w: DELETE object ?uploadId&%s", ErrUnsupportedS3, k)
			}
			return op("AbortMultipartUpload", S3Op{"s3:AbortMultipartUpload", objectARN})
		case has("tagging"):
			return op("DeleteObjectTagging", S3Op{"s3:DeleteObjectTagging", objectARN})
		}
		if k := unknownSubresource(q); k != "" {
			return nil, fmt.Errorf("%w: DELETE object ?%s", ErrUnsupportedS3, k)
		}
		if has("versionId") {
			return op("DeleteObject", S3Op{"s3:DeleteObjectVersion", objectARN})
		}
		return op("DeleteObject", S3Op{"s3:DeleteObject", objectARN})
	}
	return nil, fmt.Errorf("%w: %s object", ErrUnsupportedS3, method)
}

// knownParams are query parameters that are not subresources: listing and
// response options, SigV4 presign parameters, object selectors.
var knownParams = map[string]bool{
	"prefix": true, "delimiter": true, "max-keys": true, "marker": true, "list-type": true,
	"continuation-token": true, "start-after": true, "fetch-owner": true, "encoding-type": true,
	"versionId": true, "partNumber": true, "uploadId": true, "max-parts": true, "part-number-marker": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"x-id": true, "key-marker": true, "version-id-marker": true, "upload-id-marker": true, "max-uploads": true,
	"expected-bucket-owner": true, "optional-object-attributes": true,
	"X-Amz-Algorithm": true, "X-Amz-Credential": true, "X-Amz-Date": true, "X-Amz-Expires": true,
	"X-Amz-SignedHeaders": true, "X-Amz-Signature": true, "X-Amz-Security-Token": true,
}

// unknownSubresource returns a query parameter the mapping does not know,
// or "". Unknown parameters could name a subresource with other semantics,
// so the request is refused rather than guessed.
func unknownSubresource(q url.Values) string {
	for k := range q {
		if !knownParams[k] {
			return k
		}
	}
	return ""
}

// subresources returns the query parameters that are not knownParams,
// sorted.
func subresources(q url.Values) []string {
	var subs []string
	for k := range q {
		if !knownParams[k] {
			subs = append(subs, k)
		}
	}
	slices.Sort(subs)
	return subs
}

func listConditions(q url.Values) map[string]string {
	m := map[string]string{}
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if v, ok := q[k]; ok && len(v) > 0 {
			m["s3:"+k] = v[0]
		}
	}
	return m
}

// parseCopySource parses x-amz-copy-source: [/]bucket/key[?versionId=v],
// URL-encoded.
func parseCopySource(v string) (bucket, key string, version bool, err error) {
	raw, query, _ := strings.Cut(v, "?")
	if query != "" {
		qv, err := url.ParseQuery(query)
		if err != nil || len(qv) != 1 || qv.Get("versionId") == "" {
			return "", "", false, fmt.Errorf("%w: bad x-amz-copy-source", ErrUnsupportedS3)
		}
		version = true
	}
	s, err := url.PathUnescape(raw)
	if err != nil {
		return "", "", false, fmt.Errorf("%w: bad x-amz-copy-source", ErrUnsupportedS3)
	}
	s = strings.TrimPrefix(s, "/")
	bucket, key, ok := strings.Cut(s, "/")
	if !ok || key == "" || !validBucket(bucket) {
		return "", "", false, fmt.Errorf("%w: bad x-amz-copy-source", ErrUnsupportedS3)
	}
	return bucket, key, version, nil
}

// validBucket accepts S3 bucket names (3–63 of a-z 0-9 . -), plus upper
// case and underscores that legacy and S3-compatible stores allow; nothing
// that could change an ARN's meaning.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// MaxDeleteObjectsBody bounds the body of a DeleteObjects request (1,000
// keys of up to 1,024 bytes each, with XML).
const MaxDeleteObjectsBody = 2 << 20

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

// ParseDeleteObjects returns the ops a DeleteObjects body needs:
// s3:DeleteObject (or s3:DeleteObjectVersion) on every key.
func ParseDeleteObjects(bucket string, body []byte) ([]S3Op, error) {
	var d deleteRequest
	if err := xml.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: DeleteObjects body: %v", ErrUnsupportedS3, err)
	}
	if len(d.Objects) == 0 || len(d.Objects) > 1000 {
		return nil, fmt.Errorf("%w: DeleteObjects needs 1 to 1000 keys", ErrUnsupportedS3)
	}
	ops := make([]S3Op, 0, len(d.Objects))
	for _, o := range d.Objects {
		if o.Key == "" {
			return nil, fmt.Errorf("%w: DeleteObjects with an empty key", ErrUnsupportedS3)
		}
		a := "s3:DeleteObject"
		if o.VersionID != "" {
			a = "s3:DeleteObjectVersion"
		}
		ops = append(ops, S3Op{a, S3ARN(bucket, o.Key, true)})
	}
	return ops, nil
}
