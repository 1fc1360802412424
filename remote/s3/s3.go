package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"

	"dsbuild/cache"
)

// Transport limits. minio-go retries a failed request (a connection error,
// a 5xx, a throttling code) with backoff of 200 ms doubling up to 1 s;
// maxAttempts keeps that modest, because the store's circuit breaker above
// the interface decides when a remote is down.
const (
	connectTimeout        = 10 * time.Second
	responseHeaderTimeout = 60 * time.Second
	maxAttempts           = 3
	// maxActionEntry bounds the bytes GetAction reads: an entry of that
	// size would name tens of thousands of outputs.
	maxActionEntry = 16 << 20
)

// Remote is a cache.Remote on an S3 bucket.
type Remote struct {
	client    *minio.Client
	core      minio.Core
	transport *http.Transport
	bucket    string
	prefix    string // "" or a key prefix without a trailing "/"
	name      string // String(): s3://bucket/prefix [at host]
	credHint  string
}

var _ cache.Remote = (*Remote)(nil)

// Open opens the remote named by rawURL, s3://BUCKET[/PREFIX], configured
// by the AWS variables read through env (os.Getenv when nil): see the
// package documentation. It sends no request; a wrong bucket or
// credentials show on first use.
func Open(ctx context.Context, rawURL string, env func(string) string) (*Remote, error) {
	if env == nil {
		env = os.Getenv
	}
	return open(rawURL, env, nil)
}

// open is Open; tests may wrap the transport to watch the requests.
func open(rawURL string, env func(string) string, wrap func(http.RoundTripper) http.RoundTripper) (*Remote, error) {
	c, err := loadConfig(rawURL, env)
	if err != nil {
		return nil, err
	}

	host, secure, lookup := awsHost, true, minio.BucketLookupAuto
	if c.endpoint != nil {
		// Custom servers (versitygw, MinIO, Ceph, R2 …) get path-style
		// addressing: their host names rarely resolve per bucket.
		host, secure, lookup = c.endpoint.Host, c.endpoint.Scheme == "https", minio.BucketLookupPath
	}
	caFile := c.caFile
	if !secure {
		// Plain HTTP: no certificate is ever checked, so loading the
		// system roots and the bundle (about 40 ms a command) is waste.
		caFile = ""
	}
	tr, err := newTransport(caFile)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = tr
	if wrap != nil {
		rt = wrap(tr)
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        c.creds,
		Secure:       secure,
		Transport:    rt,
		Region:       c.region,
		BucketLookup: lookup,
		MaxRetries:   maxAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("remote %s: %w", rawURL, err)
	}

	name := "s3://" + c.bucket
	if c.prefix != "" {
		name += "/" + c.prefix
	}
	if c.endpoint != nil {
		name += " at " + c.endpoint.Host
	}
	return &Remote{
		client:    client,
		core:      minio.Core{Client: client},
		transport: tr,
		bucket:    c.bucket,
		prefix:    c.prefix,
		name:      name,
		credHint:  c.credHint,
	}, nil
}

func newTransport(caFile string) (*http.Transport, error) {
	var tlsConfig *tls.Config
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AWS_CA_BUNDLE %s: no PEM certificate in it", caFile)
		}
		tlsConfig = &tls.Config{RootCAs: pool}
	}
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		TLSClientConfig:       tlsConfig,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		// Objects are mostly compressed media or zstd; gzip on the wire
		// would only cost CPU (and hide Content-Length).
		DisableCompression: true,
	}, nil
}

// String names the remote: s3://bucket/prefix, plus "at host:port" for a
// server that is not AWS. It holds no secret.
func (r *Remote) String() string { return r.name }

// Close releases idle connections.
func (r *Remote) Close() error {
	r.transport.CloseIdleConnections()
	return nil
}

// key joins the prefix and the parts of an object key.
func (r *Remote) key(ns string, d cache.Digest) string {
	h := d.Hex()
	k := ns + "/" + h[:2] + "/" + h
	if r.prefix != "" {
		k = r.prefix + "/" + k
	}
	return k
}

func (r *Remote) blobKey(d cache.Digest) string      { return r.key("cas", d) }
func (r *Remote) actionKey(k cache.ActionKey) string { return r.key("ac", cache.Digest(k)) }

// miss is a Get or GetAction miss; why, when not empty, says why an object
// that exists does not count.
func (r *Remote) miss(op, key, why string) error {
	if why != "" {
		return fmt.Errorf("%s %s on %s: %s: %w", op, key, r, why, cache.ErrRemoteMiss)
	}
	return fmt.Errorf("%s %s on %s: %w", op, key, r, cache.ErrRemoteMiss)
}

// s3Error is the S3 error response in err's chain, or the zero value.
func s3Error(err error) minio.ErrorResponse {
	var e minio.ErrorResponse
	errors.As(err, &e)
	return e
}

func isNoSuchKey(err error) bool { return s3Error(err).Code == "NoSuchKey" }

// isInvalidRange is S3's answer (416) to a range past an object's end: a
// shorter object than the blob, so not the blob.
func isInvalidRange(err error) bool { return s3Error(err).Code == "InvalidRange" }

func sizeMismatch(got, want int64) string {
	return fmt.Sprintf("the object has %d bytes, the blob %d", got, want)
}

// authCodes are the S3 error codes of refused credentials.
// XAdminUserNotFound is versitygw's answer (HTTP 404) to an unknown access
// key, where AWS says 403 InvalidAccessKeyId. (A HEAD has no body, so a
// HEAD that versitygw answers so looks like a missing object: Missing with
// few refs reports them missing, and the Put that follows is refused.)
var authCodes = []string{
	"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
	"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled",
	"XAdminUserNotFound",
}

// wrap gives err the operation and the object key, or turns refused
// credentials into a *cache.RemoteAuthError.
func (r *Remote) wrap(op, key string, err error) error {
	e := s3Error(err)
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden || slices.Contains(authCodes, e.Code) {
		return &cache.RemoteAuthError{
			Remote: r.name,
			Err:    fmt.Errorf("%s %s: %s (%s, HTTP %d); %s", op, key, e.Error(), e.Code, e.StatusCode, r.credHint),
		}
	}
	if e.Code == "NoSuchBucket" {
		return fmt.Errorf("%s %s on %s: bucket %q does not exist: %w", op, key, r, r.bucket, err)
	}
	if e.Code != "" {
		return fmt.Errorf("%s %s on %s: %w (%s, HTTP %d)", op, key, r, err, e.Code, e.StatusCode)
	}
	return fmt.Errorf("%s %s on %s: %w", op, key, r, err)
}

// singlePutMax is the largest blob that minio-go's PutObject sends in one
// PUT (its minPartSize); larger ones go up in parts.
const singlePutMax = 16 << 20

// Put stores a blob under cas/, create-only.
//
// A blob of up to 16 MiB goes up in one PUT with If-None-Match: *, so that
// an object once written is never replaced: a 412 (the object exists) is
// success, after a HEAD shows that the object has the blob's size. So is
// any other failed PUT after which a HEAD finds the object, of the blob's
// size: a writer that got there first.
//
// A larger blob goes up in parts (minio-go's multipart upload, read
// straight from rd, parts in parallel when rd can read at offsets).
// minio-go v7.4.1 drops If-None-Match from CompleteMultipartUpload, so
// Put asks with a HEAD first and uploads only when the object is absent:
// two machines uploading the same large blob at the same moment both write
// it, and S3 keeps one of the two identical objects.
//
// An object of the wrong size under the blob's key is replaced when rd can
// be read again from its start (it seeks, as files do); otherwise Put
// fails and says why.
func (r *Remote) Put(ctx context.Context, ref cache.Ref, rd io.Reader) error {
	key := r.blobKey(ref.Digest)
	body, rewind := uploadBody(rd, ref.Size)
	var found *minio.ObjectInfo
	if ref.Size > singlePutMax {
		info, err := r.client.StatObject(ctx, r.bucket, key, minio.StatObjectOptions{})
		switch {
		case err == nil && info.Size == ref.Size:
			return nil
		case err == nil:
			found = &info
		case !isNoSuchKey(err):
			return r.wrap("put (stat)", key, err)
		}
	} else {
		err := r.upload(ctx, key, body, ref.Size, true)
		if err == nil {
			return nil
		}
		var auth *cache.RemoteAuthError
		if werr := r.wrap("put", key, err); ctx.Err() != nil || errors.As(werr, &auth) {
			return werr
		}
		// 412: the object exists. 409 ConditionalRequestConflict (AWS):
		// another conditional write of the key is in flight. Any other
		// failure may be a server that answered 412 before it read the
		// body and closed the connection under it (versitygw does), or a
		// writer that got there first. A HEAD tells.
		e := s3Error(err)
		exists := e.StatusCode == http.StatusPreconditionFailed || e.Code == "PreconditionFailed"
		info, serr := r.client.StatObject(ctx, r.bucket, key, minio.StatObjectOptions{})
		switch {
		case serr == nil && info.Size == ref.Size:
			return nil
		case serr != nil && exists && !isNoSuchKey(serr):
			return r.wrap("put (stat after 412)", key, serr)
		case serr != nil || !exists:
			return r.wrap("put", key, err)
		}
		found = &info
	}
	if found != nil {
		// The object exists with the wrong size: replace it.
		if rewind == nil {
			return fmt.Errorf("put %s on %s: the remote holds an object of %d bytes under the key of a blob of %d, and the upload cannot be repeated to replace it", key, r, found.Size, ref.Size)
		}
		if err := rewind(); err != nil {
			return fmt.Errorf("put %s on %s: rewinding to replace a wrong-size object: %w", key, r, err)
		}
	}
	if err := r.upload(ctx, key, body, ref.Size, false); err != nil {
		return r.wrap("put", key, err)
	}
	return nil
}

// upload PUTs body, create-only when createOnly (for single PUTs only).
// Replace overwrites the blob's object unconditionally: the store calls it
// for a blob it found corrupt on the remote (cache.Replacer), which
// create-only Put would keep. Writing the right bytes over any object is
// safe: a blob's key admits only one content.
func (r *Remote) Replace(ctx context.Context, ref cache.Ref, rd io.Reader) error {
	key := r.blobKey(ref.Digest)
	body, _ := uploadBody(rd, ref.Size)
	if err := r.upload(ctx, key, body, ref.Size, false); err != nil {
		return r.wrap("replace", key, err)
	}
	return nil
}

func (r *Remote) upload(ctx context.Context, key string, body io.Reader, size int64, createOnly bool) error {
	// No payload checksum in the signature: minio-go would otherwise sign
	// the body chunk by chunk over plain HTTP (a fifth of a push's CPU).
	// The content is the blob's and every reader verifies it against the
	// digest, and the signature still covers the request.
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true}
	if createOnly {
		opts.SetMatchETagExcept("*")
	}
	_, err := r.client.PutObject(ctx, r.bucket, key, body, size, opts)
	return err
}

// uploadBody gives minio-go a reader of the blob's size bytes from rd's
// current position. A reader that can read at offsets and seek (a file, a
// section) becomes a section from that position: minio-go then retries
// single uploads and sends parts in parallel, and rewind starts it over.
// Any other reader is hidden behind a plain io.Reader, so that minio-go
// never seeks it to an offset of its own choosing.
func uploadBody(rd io.Reader, size int64) (io.Reader, func() error) {
	if ra, ok := rd.(io.ReaderAt); ok {
		if s, ok := rd.(io.Seeker); ok {
			if off, err := s.Seek(0, io.SeekCurrent); err == nil {
				sr := io.NewSectionReader(ra, off, size)
				return sr, func() error { _, err := sr.Seek(0, io.SeekStart); return err }
			}
		}
	}
	return struct{ io.Reader }{rd}, nil
}

// Get opens the blob's object with one GET. The bytes are not verified
// here; an object whose size is not the blob's is a miss.
func (r *Remote) Get(ctx context.Context, ref cache.Ref) (io.ReadCloser, error) {
	key := r.blobKey(ref.Digest)
	body, info, _, err := r.core.GetObject(ctx, r.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, r.miss("get", key, "")
		}
		return nil, r.wrap("get", key, err)
	}
	if info.Size != ref.Size {
		body.Close()
		return nil, r.miss("get", key, sizeMismatch(info.Size, ref.Size))
	}
	return &objectReader{rc: body, key: key, r: r}, nil
}

// GetRange opens bytes [off, off+n) of the blob's object with one ranged
// GET. The bytes are not verified here; the reader fails if the server
// sends more or fewer than n.
func (r *Remote) GetRange(ctx context.Context, ref cache.Ref, off, n int64) (io.ReadCloser, error) {
	key := r.blobKey(ref.Digest)
	if off < 0 || n < 1 || off+n > ref.Size {
		return nil, fmt.Errorf("remote %s: bytes [%d, %d) are not within blob %s", r, off, off+n, ref)
	}
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+n-1); err != nil {
		return nil, fmt.Errorf("remote %s: range of %s: %w", r, key, err)
	}
	body, info, _, err := r.core.GetObject(ctx, r.bucket, key, opts)
	if err != nil {
		if isNoSuchKey(err) || isInvalidRange(err) {
			return nil, r.miss("get range", key, "")
		}
		return nil, r.wrap("get range", key, err)
	}
	if info.Size != n {
		body.Close()
		return nil, r.miss("get range", key, fmt.Sprintf("the server sent %d bytes for a range of %d", info.Size, n))
	}
	return &objectReader{rc: body, key: key, r: r}, nil
}

// objectReader names the object and the remote in read errors.
type objectReader struct {
	rc  io.ReadCloser
	key string
	r   *Remote
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.rc.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("reading %s from %s: %w", o.key, o.r, err)
	}
	return n, err
}

func (o *objectReader) Close() error { return o.rc.Close() }

// GetAction reads and decodes the action entry under ac/. No object, an
// object too large, or one that does not decode is a miss with the reason.
func (r *Remote) GetAction(ctx context.Context, k cache.ActionKey) ([]cache.RemoteOutput, error) {
	key := r.actionKey(k)
	body, info, _, err := r.core.GetObject(ctx, r.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, r.miss("get action", key, "")
		}
		return nil, r.wrap("get action", key, err)
	}
	defer body.Close()
	if info.Size > maxActionEntry {
		return nil, r.miss("get action", key, fmt.Sprintf("corrupt entry: %d bytes, over the limit of %d", info.Size, maxActionEntry))
	}
	data, err := io.ReadAll(io.LimitReader(body, maxActionEntry+1))
	if err != nil {
		return nil, r.wrap("get action", key, err)
	}
	outs, err := decodeAction(k, data)
	if err != nil {
		return nil, r.miss("get action", key, "corrupt entry: "+err.Error())
	}
	return outs, nil
}

// PutAction writes the action entry under ac/ with a plain PUT: a newer
// entry replaces an older one.
func (r *Remote) PutAction(ctx context.Context, k cache.ActionKey, outs []cache.RemoteOutput) error {
	key := r.actionKey(k)
	data, err := encodeAction(k, outs)
	if err != nil {
		return fmt.Errorf("put action %s on %s: %w", key, r, err)
	}
	opts := minio.PutObjectOptions{ContentType: "text/plain; charset=utf-8"}
	if _, err := r.client.PutObject(ctx, r.bucket, key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		return r.wrap("put action", key, err)
	}
	return nil
}

// shardPrefix is the key prefix of the cas/<xx>/ shard that d falls in.
func (r *Remote) shardPrefix(d cache.Digest) string {
	k := r.blobKey(d)
	return k[:len(k)-64]
}
