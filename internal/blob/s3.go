package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3OpTimeout bounds one call to the object store, so that a hung endpoint is an outage
// (503) rather than a request that hangs until the client gives up.
const s3OpTimeout = 30 * time.Second

// maxObject bounds what Get reads into memory: images are at most 20 MB (docs/benchmarks.md), so
// anything much larger under our prefix is not ours.
const maxObject = 64 << 20

// S3 stores blobs as objects PREFIX<orderID>/<sha256 hex> of one bucket of an
// S3-compatible service (AWS, MinIO, OSS, COS, versitygw…). A PUT of an object is atomic
// and durable once acknowledged, so Put needs no temporary object; an interrupted one
// leaves at most an incomplete multipart upload, which List reports as a Leftover.
type S3 struct {
	c        *minio.Client
	bucket   string
	prefix   string
	endpoint string
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket named by u (s3://bucket/prefix?endpoint=…&region=…) and
// checks that it exists and that the credentials are accepted.
func NewS3(ctx context.Context, u *url.URL, getenv func(string) string) (*S3, error) {
	bucket := u.Host
	if bucket == "" {
		return nil, errors.New("BEIANSCAN_BLOB_URL: s3://BUCKET/PREFIX needs a bucket")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
	}
	eu, err := url.Parse(endpoint)
	if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
		return nil, fmt.Errorf("BEIANSCAN_BLOB_URL: endpoint %q must be http://host:port or https://host", endpoint)
	}
	access, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if access == "" || secret == "" {
		return nil, errors.New("BEIANSCAN_BLOB_URL is s3://…: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	lookup := minio.BucketLookupPath // MinIO, versitygw and most on-premise services
	if q.Get("endpoint") == "" || q.Get("virtual_host") == "true" {
		lookup = minio.BucketLookupAuto
	}
	c, err := minio.New(eu.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, getenv("AWS_SESSION_TOKEN")),
		Secure:       eu.Scheme == "https",
		Region:       q.Get("region"),
		BucketLookup: lookup,
		// The client's own retries (10 by default, with backoff) would turn an outage into
		// a long hang; one retry covers a dropped keep-alive connection.
		MaxRetries: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("BEIANSCAN_BLOB_URL: %w", err)
	}
	s := &S3{c: c, bucket: bucket, prefix: prefix, endpoint: eu.Scheme + "://" + eu.Host}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A listing rather than HEAD: HEAD answers carry no error code, so some services'
	// refusal of the credentials would read as a missing bucket. The sweeper lists too.
	// Only the first answer matters; cancel (deferred) stops the listing's goroutine.
	if o, ok := <-c.ListObjects(cctx, bucket, minio.ListObjectsOptions{Prefix: prefix, MaxKeys: 1}); ok && o.Err != nil {
		if minio.ToErrorResponse(o.Err).Code == "NoSuchBucket" {
			return nil, fmt.Errorf("blob store %s: bucket %q does not exist (create it first)", s, bucket)
		}
		return nil, fmt.Errorf("blob store %s: %s", s, describe(o.Err))
	}
	return s, nil
}

// String names the store without secrets.
func (s *S3) String() string {
	return "s3://" + s.bucket + "/" + s.prefix + " at " + s.endpoint
}

// describe turns a failed first contact into one line saying what to fix.
func describe(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "endpoint unreachable: no answer within 10s"
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return "endpoint unreachable: " + err.Error()
	}
	r := minio.ToErrorResponse(err)
	switch r.Code {
	// versitygw answers an unknown access key with 404 XAdminUserNotFound.
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "XAdminUserNotFound":
		return "credentials refused (" + r.Code + "): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
	}
	if r.StatusCode == 403 || r.StatusCode == 401 {
		return "credentials refused (403): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
	}
	return fmt.Sprintf("%s (%s, HTTP %d)", err, r.Code, r.StatusCode)
}

func (s *S3) object(key string) (string, error) {
	if _, _, err := splitKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

func opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s3OpTimeout)
}

// Put uploads data in one PUT; S3 acknowledges it only once it is stored.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	_, err = s.c.PutObject(ctx, s.bucket, name, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	if err != nil {
		return unavailable("put", err)
	}
	return nil
}

// Get downloads a blob.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	obj, err := s.c.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.getErr(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, maxObject+1))
	if err != nil {
		return nil, s.getErr(err)
	}
	if len(b) > maxObject {
		return nil, fmt.Errorf("blob %s: object larger than %d bytes is not an image of ours", key, maxObject)
	}
	return b, nil
}

func (s *S3) getErr(err error) error {
	if r := minio.ToErrorResponse(err); r.Code == "NoSuchKey" || r.StatusCode == 404 && r.Code != "NoSuchBucket" {
		return ErrNotFound
	}
	return unavailable("get", err)
}

// Delete removes a blob; a missing one is not an error (S3 says so itself).
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return unavailable("delete", err)
	}
	return nil
}

// List reports every blob under the prefix and every incomplete multipart upload.
// Objects under the prefix that are not blob keys are not ours to judge and are skipped.
func (s *S3) List(ctx context.Context, fn func(Entry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutines when fn returns early
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if o.Err != nil {
			return unavailable("list", o.Err)
		}
		key := strings.TrimPrefix(o.Key, s.prefix)
		if _, _, err := splitKey(key); err != nil {
			continue
		}
		if err := fn(Entry{Kind: Blob, Key: key, Name: o.Key, ModTime: o.LastModified, Size: o.Size}); err != nil {
			return err
		}
	}
	for u := range s.c.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if u.Err != nil {
			// Not every S3-compatible service lists multipart uploads; blobs are what matter.
			break
		}
		if err := fn(Entry{Kind: Leftover, Name: u.Key, ModTime: u.Initiated, Size: u.Size}); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes a listed entry unless the object was written again since it was listed.
func (s *S3) Remove(ctx context.Context, e Entry) error {
	if !strings.HasPrefix(e.Name, s.prefix) {
		return fmt.Errorf("%w: %q", errBadKey, e.Name)
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	switch e.Kind {
	case Leftover:
		if err := s.c.RemoveIncompleteUpload(ctx, s.bucket, e.Name); err != nil {
			return unavailable("remove", err)
		}
		return nil
	case Blob:
		if _, err := s.object(e.Key); err != nil || s.prefix+e.Key != e.Name {
			return fmt.Errorf("%w: %q", errBadKey, e.Name)
		}
		st, err := s.c.StatObject(ctx, s.bucket, e.Name, minio.StatObjectOptions{})
		if err != nil {
			if minio.ToErrorResponse(err).StatusCode == 404 {
				return nil
			}
			return unavailable("remove", err)
		}
		if st.LastModified.After(e.ModTime) {
			return ErrChanged
		}
		return s.Delete(ctx, e.Key)
	}
	return nil
}
