package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"dsbuild/cache"
	"dsbuild/remote/remotetest"
)

// openTest opens s3://BUCKET/PREFIX (or prefix, when it is an s3:// URL)
// on srv with its credentials (or those given in kv), through a transport
// that counts requests when count is set.
func openTest(t *testing.T, srv *remotetest.S3Server, prefix string, count *requestCounts, kv ...string) *Remote {
	t.Helper()
	env := envOf(t, append([]string{
		"AWS_ENDPOINT_URL", srv.Endpoint,
		"AWS_ACCESS_KEY_ID", srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY", srv.SecretKey,
	}, kv...)...)
	var wrap func(http.RoundTripper) http.RoundTripper
	if count != nil {
		wrap = func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{rt, count} }
	}
	url := "s3://" + srv.Bucket
	if prefix != "" {
		url += "/" + prefix
	}
	if strings.HasPrefix(prefix, "s3://") {
		url = prefix
	}
	r, err := open(url, env, wrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type requestCounts struct{ head, list, get, put, other atomic.Int64 }

type countingTransport struct {
	rt http.RoundTripper
	n  *requestCounts
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodHead:
		c.n.head.Add(1)
	case req.Method == http.MethodGet && req.URL.Query().Get("list-type") == "2":
		c.n.list.Add(1)
	case req.Method == http.MethodGet:
		c.n.get.Add(1)
	case req.Method == http.MethodPut:
		c.n.put.Add(1)
	default:
		c.n.other.Add(1)
	}
	return c.rt.RoundTrip(req)
}

func blob(s string) (cache.Ref, []byte) {
	b := []byte(s)
	return cache.Ref{Digest: cache.Sum(b), Size: int64(len(b))}, b
}

// plant writes an object as a foreign writer would, bypassing Put.
func plant(t *testing.T, r *Remote, key string, data []byte) {
	t.Helper()
	if _, err := r.client.PutObject(context.Background(), r.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, r *Remote, ref cache.Ref) []byte {
	t.Helper()
	rc, err := r.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformance runs the suite that every cache.Remote passes against
// versitygw.
func TestConformance(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	remotetest.RunWith(t, func(t *testing.T) cache.Remote {
		return openTest(t, srv, "conformance", nil)
	}, remotetest.Options{Secrets: []string{srv.SecretKey}})
}

// TestLayout: a blob is its raw bytes at PREFIX/cas/<2 hex>/<64 hex> (its
// SHA-256 checks by hand), an action entry a text object under ac/.
func TestLayout(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	r := openTest(t, srv, "team/ci", nil)
	ctx := context.Background()
	ref, data := blob("hello, bucket")
	if err := r.Put(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// versitygw's posix backend keeps object KEY at DATA/BUCKET/KEY.
	h := ref.Digest.Hex()
	raw, err := os.ReadFile(filepath.Join(srv.DataDir(), srv.Bucket, "team/ci/cas", h[:2], h))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); fmt.Sprintf("%x", sum) != h {
		t.Errorf("object bytes %q hash to %x, not to its name %s", raw, sum, h)
	}

	key := cache.ActionKey(cache.Sum([]byte("step")))
	if err := r.PutAction(ctx, key, []cache.RemoteOutput{{Name: "out put", Ref: ref}}); err != nil {
		t.Fatal(err)
	}
	kh := cache.Digest(key).Hex()
	entry, err := os.ReadFile(filepath.Join(srv.DataDir(), srv.Bucket, "team/ci/ac", kh[:2], kh))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(entry), "dsbuild-remote-action v1 sha256:"+kh+"\nout sha256:"+h+" 13 \"out put\"\ncheck sha256:") {
		t.Errorf("action entry:\n%s", entry)
	}
}

// TestPutCreateOnly: putting a blob that exists succeeds without writing
// it again, also from several writers at once.
func TestPutCreateOnly(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	var n requestCounts
	r := openTest(t, srv, "", &n)
	ctx := context.Background()
	ref, data := blob("the same bytes from everyone")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = r.Put(ctx, ref, bytes.NewReader(data)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if got := readAll(t, r, ref); !bytes.Equal(got, data) {
		t.Errorf("Get = %q", got)
	}
	// Existing: 412, then a HEAD confirms the size.
	n.put.Store(0)
	n.head.Store(0)
	if err := r.Put(ctx, ref, strings.NewReader(string(data))); err != nil {
		t.Fatal(err)
	}
	if n.put.Load() != 1 || n.head.Load() != 1 {
		t.Errorf("Put of an existing blob: %d PUTs, %d HEADs; want 1 and 1", n.put.Load(), n.head.Load())
	}
}

// TestPutLarge: a blob over the 16 MiB part size goes up in parts, from a
// plain reader or from a file-like one positioned at the blob, and is read
// back whole; putting it again costs one HEAD and no upload.
func TestPutLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 2 × 20 MiB")
	}
	srv := remotetest.StartVersitygw(t)
	var n requestCounts
	r := openTest(t, srv, "big", &n)
	ctx := context.Background()
	data := make([]byte, 20<<20+123)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	ref := cache.Ref{Digest: cache.Sum(data), Size: int64(len(data))}
	// A plain reader (no ReadAt): parts are read in order.
	if err := r.Put(ctx, ref, struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if n.other.Load() < 2 { // POST ?uploads and POST ?uploadId
		t.Errorf("no multipart upload: %d PUTs, %d other requests", n.put.Load(), n.other.Load())
	}
	if got := readAll(t, r, ref); !bytes.Equal(got, data) {
		t.Errorf("Get returned %d bytes, not the %d put", len(got), len(data))
	}

	n.head.Store(0)
	n.put.Store(0)
	if err := r.Put(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatalf("second Put of a large blob: %v", err)
	}
	if n.head.Load() != 1 || n.put.Load() != 0 {
		t.Errorf("second Put of a large blob: %d HEADs, %d PUTs; want one HEAD, no upload", n.head.Load(), n.put.Load())
	}

	// Another blob, over a truncated object of it, from a file-like reader
	// (ReadAt and Seek: parts in parallel) positioned after a header that
	// is not part of the blob: the object is replaced by the blob's bytes.
	data2 := append([]byte(nil), data...)
	data2[0]++
	ref2 := cache.Ref{Digest: cache.Sum(data2), Size: int64(len(data2))}
	plant(t, r, r.blobKey(ref2.Digest), data2[:100])
	rd := bytes.NewReader(append([]byte("header"), data2...))
	rd.Seek(6, io.SeekStart)
	if err := r.Put(ctx, ref2, rd); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r, ref2); !bytes.Equal(got, data2) {
		t.Errorf("Get returned %d bytes that are not the blob", len(got))
	}
	missing, err := r.Missing(ctx, []cache.Ref{ref, ref2})
	if err != nil || len(missing) != 0 {
		t.Errorf("Missing = %v, %v", missing, err)
	}
}

func TestEmptyBlob(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	r := openTest(t, srv, "", nil)
	ctx := context.Background()
	ref, _ := blob("")
	if m, err := r.Missing(ctx, []cache.Ref{ref}); err != nil || len(m) != 1 {
		t.Fatalf("Missing before Put = %v, %v", m, err)
	}
	if err := r.Put(ctx, ref, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r, ref); len(got) != 0 {
		t.Errorf("Get = %q", got)
	}
	if m, err := r.Missing(ctx, []cache.Ref{ref}); err != nil || len(m) != 0 {
		t.Errorf("Missing after Put = %v, %v", m, err)
	}
}

// TestWrongCredentials: every operation with a wrong secret or an unknown
// key is a *cache.RemoteAuthError naming the remote and what to check.
func TestWrongCredentials(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	ctx := context.Background()
	good := openTest(t, srv, "p", nil)
	ref, data := blob("guarded")
	if err := good.Put(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	key := cache.ActionKey(cache.Sum([]byte("k")))

	for _, creds := range [][]string{
		{"AWS_SECRET_ACCESS_KEY", "wrong-secret"},
		{"AWS_ACCESS_KEY_ID", "nobody"},
	} {
		r := openTest(t, srv, "p", nil, creds...)
		ops := map[string]func() error{
			"Put":     func() error { return r.Put(ctx, ref, bytes.NewReader(data)) },
			"Get":     func() error { _, err := r.Get(ctx, ref); return err },
			"Missing": func() error { _, err := r.Missing(ctx, []cache.Ref{ref}); return err },
			"Missing (listing)": func() error {
				var refs []cache.Ref
				for i := range listMinRefs {
					d := cache.Sum([]byte{byte(i)})
					d[0] = 0xab
					refs = append(refs, cache.Ref{Digest: d, Size: 1})
				}
				_, err := r.Missing(ctx, refs)
				return err
			},
			"GetAction": func() error { _, err := r.GetAction(ctx, key); return err },
			"PutAction": func() error { return r.PutAction(ctx, key, nil) },
		}
		for name, op := range ops {
			err := op()
			if name == "Missing" && creds[0] == "AWS_ACCESS_KEY_ID" && err == nil {
				// versitygw answers a HEAD with an unknown key 404, with
				// no body: indistinguishable from a missing object.
				if m, _ := r.Missing(ctx, []cache.Ref{ref}); len(m) != 1 {
					t.Errorf("Missing with an unknown key says the blob is there")
				}
				continue
			}
			var auth *cache.RemoteAuthError
			if !errors.As(err, &auth) {
				t.Errorf("%s with %s: %v (%T), want a *cache.RemoteAuthError", name, creds[0], err, err)
				continue
			}
			msg := err.Error()
			for _, want := range []string{"remote s3://" + srv.Bucket + "/p at " + strings.TrimPrefix(srv.Endpoint, "http://") + " refused the credentials", "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s with %s: %q does not say %q", name, creds[0], msg, want)
				}
			}
			if auth.Remote != r.String() || errors.Is(err, cache.ErrRemoteMiss) {
				t.Errorf("%s: Remote %q, miss %v", name, auth.Remote, errors.Is(err, cache.ErrRemoteMiss))
			}
			if strings.Contains(msg, "wrong-secret") || strings.Contains(msg, srv.SecretKey) {
				t.Errorf("%s: the message shows a secret: %s", name, msg)
			}
		}
	}
}

// TestPlantedAction: a damaged or foreign entry under ac/ is a miss with
// the reason, not an error and not outputs.
func TestPlantedAction(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	r := openTest(t, srv, "", nil)
	ctx := context.Background()
	key := cache.ActionKey(cache.Sum([]byte("step")))
	ref, _ := blob("x")
	good, err := encodeAction(key, []cache.RemoteOutput{{Name: "a", Ref: ref}, {Name: "b", Ref: ref}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := encodeAction(cache.ActionKey(cache.Sum([]byte("other"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"garbage":       []byte("<html>not an entry</html>"),
		"truncated":     good[:len(good)-20],
		"flipped byte":  bytes.Replace(good, []byte(`"b"`), []byte(`"c"`), 1),
		"another key's": other,
		"empty":         nil,
	} {
		plant(t, r, r.actionKey(key), data)
		outs, err := r.GetAction(ctx, key)
		if !errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), "corrupt entry") {
			t.Errorf("%s entry: %v, %v; want a miss saying corrupt entry", name, outs, err)
		}
	}
	if _, err := r.GetAction(ctx, cache.ActionKey(cache.Sum([]byte("never")))); !errors.Is(err, cache.ErrRemoteMiss) {
		t.Errorf("no entry: %v, want a miss", err)
	}
	plant(t, r, r.actionKey(key), good)
	if outs, err := r.GetAction(ctx, key); err != nil || len(outs) != 2 {
		t.Errorf("the good entry: %v, %v", outs, err)
	}
}

// TestPlantedBlobs: wrong bytes of the right size are returned as they
// are (the store verifies); an object of the wrong size is missing, Get
// says so, and Put replaces it.
func TestPlantedBlobs(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	r := openTest(t, srv, "p", nil)
	ctx := context.Background()
	wrongBytes, data1 := blob("the blob's own bytes")
	plant(t, r, r.blobKey(wrongBytes.Digest), []byte("THE BLOB'S OWN BYTES"))
	short, data2 := blob("a blob whose upload was cut")
	plant(t, r, r.blobKey(short.Digest), data2[:10])
	long, data3 := blob("padded")
	plant(t, r, r.blobKey(long.Digest), append(data3, 0))

	missing, err := r.Missing(ctx, []cache.Ref{wrongBytes, short, long})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 2 || missing[0] != short || missing[1] != long {
		t.Errorf("Missing = %v, want the short and the long one", missing)
	}
	if got := readAll(t, r, wrongBytes); string(got) != "THE BLOB'S OWN BYTES" {
		t.Errorf("Get of the wrong-bytes object = %q, want its bytes as they are", got)
	}
	for _, ref := range []cache.Ref{short, long} {
		rc, err := r.Get(ctx, ref)
		if !errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), "bytes, the blob") {
			t.Errorf("Get of a wrong-size object: %v, want a miss saying the sizes", err)
		}
		if rc != nil {
			rc.Close()
		}
	}

	// A reader that cannot start over cannot repair; a seekable one does.
	if err := r.Put(ctx, short, struct{ io.Reader }{bytes.NewReader(data2)}); err == nil || !strings.Contains(err.Error(), "cannot be repeated") {
		t.Errorf("Put over a wrong-size object from a plain reader: %v", err)
	}
	if err := r.Put(ctx, short, bytes.NewReader(data2)); err != nil {
		t.Errorf("Put over a wrong-size object: %v", err)
	}
	if got := readAll(t, r, short); !bytes.Equal(got, data2) {
		t.Errorf("after the repair Get = %q", got)
	}
	// The wrong-bytes object has the right size: Put leaves it (create-only).
	if err := r.Put(ctx, wrongBytes, bytes.NewReader(data1)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r, wrongBytes); string(got) != "THE BLOB'S OWN BYTES" {
		t.Errorf("Put replaced an object of the right size: %q", got)
	}
}

// TestMissingMany: thousands of refs are answered by shard listings, far
// fewer requests than refs, and correctly (present, absent, wrong size).
func TestMissingMany(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	var n requestCounts
	r := openTest(t, srv, "many", &n)
	ctx := context.Background()
	var refs, want []cache.Ref
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	put := func(key string, data []byte) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := r.client.PutObject(ctx, r.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	for i := range 3000 {
		ref, data := blob(fmt.Sprint("blob ", i))
		refs = append(refs, ref)
		switch {
		case i%3 == 1: // absent
			want = append(want, ref)
		case i%3 == 2 && i%2 == 0: // one byte short
			put(r.blobKey(ref.Digest), data[1:])
			want = append(want, ref)
		default:
			put(r.blobKey(ref.Digest), data)
		}
	}
	wg.Wait()
	n.head.Store(0)
	n.list.Store(0)
	got, err := r.Missing(ctx, append(refs, refs[:10]...)) // repeats are answered once
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Missing: %d refs, want %d", len(got), len(want))
	}
	t.Logf("%d refs: %d LIST and %d HEAD requests", len(refs), n.list.Load(), n.head.Load())
	if total := n.list.Load() + n.head.Load(); total > int64(len(refs))/5 || n.list.Load() == 0 {
		t.Errorf("%d refs cost %d LIST and %d HEAD requests", len(refs), n.list.Load(), n.head.Load())
	}

	// A few refs: HEADs, no listing.
	n.head.Store(0)
	n.list.Store(0)
	got, err = r.Missing(ctx, refs[:5])
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]cache.Ref{refs[1], refs[2], refs[4]}) {
		t.Errorf("Missing of 5 = %v, %v", got, err)
	}
	if n.list.Load() != 0 || n.head.Load() != 5 {
		t.Errorf("5 refs: %d LIST, %d HEAD requests", n.list.Load(), n.head.Load())
	}
}

// TestNoSuchBucket: a bucket that does not exist is an error that says
// so, not a miss.
func TestNoSuchBucket(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	r := openTest(t, srv, "s3://no-such-bucket", nil)
	ref, _ := blob("x")
	_, err := r.Get(context.Background(), ref)
	if err == nil || errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("Get from a missing bucket: %v", err)
	}
}

// TestServerDown: a server that is down is an error naming the operation
// and the key, never a miss and never refused credentials, given within
// the few tries allowed; the same Remote works again once it is back.
func TestServerDown(t *testing.T) {
	srv := remotetest.StartVersitygw(t)
	r := openTest(t, srv, "down", nil)
	ctx := context.Background()
	ref, data := blob("before the outage")
	if err := r.Put(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	key := cache.ActionKey(cache.Sum([]byte("k")))
	srv.Stop()
	start := time.Now()
	ops := []struct {
		name, inMsg string
		f           func() error
	}{
		{"Put", "put " + r.blobKey(ref.Digest), func() error { return r.Put(ctx, ref, bytes.NewReader(data)) }},
		{"Get", "get " + r.blobKey(ref.Digest), func() error { _, err := r.Get(ctx, ref); return err }},
		{"Missing", "stat " + r.blobKey(ref.Digest), func() error { _, err := r.Missing(ctx, []cache.Ref{ref}); return err }},
		{"GetAction", "get action " + r.actionKey(key), func() error { _, err := r.GetAction(ctx, key); return err }},
		{"PutAction", "put action " + r.actionKey(key), func() error { return r.PutAction(ctx, key, nil) }},
	}
	for _, op := range ops {
		err := op.f()
		var auth *cache.RemoteAuthError
		if err == nil || errors.Is(err, cache.ErrRemoteMiss) || errors.As(err, &auth) || !strings.Contains(err.Error(), op.inMsg+" on "+r.String()) {
			t.Errorf("%s with the server down: %v; want an error saying %q", op.name, err, op.inMsg)
		}
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("5 operations on a server that is down took %v", d)
	}
	srv.Restart()
	if got := readAll(t, r, ref); !bytes.Equal(got, data) {
		t.Errorf("after the restart Get = %q", got)
	}
}
