package reapi

// Tests against a real bazel-remote (remotetest.StartBazelRemote; skipped
// with a reason when bin/bazel-remote is absent, outside CI).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dsbuild/cache"
	"dsbuild/remote/remotetest"
)

// compressible returns n bytes that zstd shrinks a hundredfold, different
// for each seed.
func compressible(n int, seed byte) []byte {
	b := bytes.Repeat([]byte("dsbuild remote cache line\n"), n/26+1)[:n]
	b[0] = seed
	return b
}

// random returns n bytes that do not compress.
func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	rng.Read(b)
	return b
}

func roundTrip(t *testing.T, r *Remote, data []byte) {
	t.Helper()
	ctx := context.Background()
	ref := ref(data)
	if err := r.Put(ctx, ref, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put %v: %v", ref, err)
	}
	rc, err := r.Get(ctx, ref)
	if err != nil {
		t.Fatalf("Get %v: %v", ref, err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get %v: %d bytes, %v; want the %d bytes put", ref, len(got), err, len(data))
	}
}

// The conformance suite, with zstd where bazel-remote offers it (for every
// blob that compresses) and with it off (every blob as it is), over basic
// auth so that every call is seen to carry the credentials.
func TestBazelRemoteConformance(t *testing.T) {
	b := remotetest.StartBazelRemote(t, remotetest.WithBasicAuth("ci", "conformance-pw"))
	for _, zstd := range []bool{true, false} {
		name := "zstd"
		if !zstd {
			name = "identity"
		}
		t.Run(name, func(t *testing.T) {
			remotetest.RunWith(t, func(t *testing.T) cache.Remote {
				r, err := Open(context.Background(), "grpc://ci:conformance-pw@"+b.Addr, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !zstd {
					r.zstdStream, r.zstdBatch = false, false
				}
				return r
			}, remotetest.Options{Secrets: []string{"conformance-pw"}})
		})
	}
}

// The right user and password work, given in the URL or as a header; a
// wrong password, or none, is a *cache.RemoteAuthError naming the remote
// and never showing the password.
func TestBazelRemoteBasicAuth(t *testing.T) {
	b := remotetest.StartBazelRemote(t, remotetest.WithBasicAuth("ci", "right-horse"))
	ctx := context.Background()

	r := open(t, "grpc://ci:right-horse@"+b.Addr, Options{})
	roundTrip(t, r, []byte("with basic auth"))
	roundTrip(t, r, compressible(3<<20, 1)) // ByteStream calls carry it too
	if strings.Contains(r.String(), "right-horse") || strings.Contains(r.String(), "ci@") {
		t.Errorf("String() = %q shows the credentials", r.String())
	}
	h := open(t, "grpc://"+b.Addr, Options{Headers: map[string]string{"Authorization": "Basic Y2k6cmlnaHQtaG9yc2U="}})
	if _, err := h.Missing(ctx, []cache.Ref{ref([]byte("x"))}); err != nil {
		t.Errorf("basic auth as a header: %v", err)
	}

	for _, url := range []string{"grpc://ci:wrong-horse@" + b.Addr, "grpc://" + b.Addr} {
		_, err := Open(ctx, url, Options{})
		var auth *cache.RemoteAuthError
		if !errors.As(err, &auth) || auth.Remote != "grpc://"+b.Addr {
			t.Fatalf("Open(%s) = %v; want a *cache.RemoteAuthError naming grpc://%s", url, err, b.Addr)
		}
		if msg := err.Error(); !strings.Contains(msg, "check the user and password in the URL, or the headers") || strings.Contains(msg, "horse") {
			t.Errorf("Open(%s): %q", url, msg)
		}
		t.Logf("Open(%s): %v", strings.Replace(url, "wrong-horse", "…", 1), err)
	}
}

// grpcs:// checks the server's certificate: against the CA file it works,
// against the system's roots (which do not hold the test's self-signed
// certificate) it fails.
func TestBazelRemoteTLS(t *testing.T) {
	b := remotetest.StartBazelRemote(t, remotetest.WithTLS())
	r := open(t, b.URL(), Options{CAFile: b.CAFile})
	if !strings.HasPrefix(r.String(), "grpcs://") {
		t.Errorf("String() = %q", r.String())
	}
	roundTrip(t, r, []byte("over TLS"))
	roundTrip(t, r, random(2<<20, 1))

	_, err := Open(context.Background(), b.URL(), Options{})
	if err == nil || status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate is not trusted: give the CA that signed it as the CA file") {
		t.Errorf("Open without the CA file = %v; want the certificate refused", err)
	}
	t.Logf("Open without the CA file: %v", err)
	if _, err := Open(context.Background(), "grpc://"+b.Addr, Options{}); err == nil {
		t.Error("a plaintext client talked to a TLS server")
	}
}

// countingDialer counts the bytes a connection reads and writes.
type countingDialer struct{ read, written atomic.Int64 }

func (d *countingDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d}, nil
}

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.d.written.Add(int64(n))
	return n, err
}

// zstd is used where bazel-remote offers it: compressible blobs, in batches
// and streamed, cross the wire in a fraction of their size both ways;
// with compression off, the same bytes cross whole.
func TestBazelRemoteZstdOnTheWire(t *testing.T) {
	b := remotetest.StartBazelRemote(t)
	for _, zstd := range []bool{true, false} {
		var d countingDialer
		r := open(t, b.URL(), Options{Dialer: d.dial})
		if !r.zstdStream || !r.zstdBatch {
			t.Fatalf("bazel-remote offers zstd, but the client uses it for streams %v, batches %v", r.zstdStream, r.zstdBatch)
		}
		if !zstd {
			r.zstdStream, r.zstdBatch = false, false
		}
		seed := byte(2)
		if zstd {
			seed = 1
		}
		small, large := compressible(512<<10, seed), compressible(6<<20, seed)
		total := int64(len(small) + len(large))

		w0, r0 := d.written.Load(), d.read.Load()
		ctx := context.Background()
		for _, data := range [][]byte{small, large} {
			if err := r.Put(ctx, ref(data), bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
		}
		up := d.written.Load() - w0
		for _, data := range [][]byte{small, large} {
			rc, err := r.Get(ctx, ref(data))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Get: %d bytes, %v", len(got), err)
			}
		}
		down := d.read.Load() - r0
		t.Logf("zstd %v: %d bytes of blobs, %d bytes sent, %d received", zstd, total, up, down)
		if zstd && (up > total/20 || down > total/20) {
			t.Errorf("with zstd, %d bytes of compressible blobs sent %d bytes and received %d; want under a twentieth", total, up, down)
		}
		if !zstd && (up < total || down < total) {
			t.Errorf("without zstd, %d bytes of blobs sent %d bytes and received %d; want at least all", total, up, down)
		}
	}
}

// bazel-remote validates action entries when they are read, not when they
// are written: an entry naming a blob the server lacks is accepted by
// UpdateActionResult, then answered NOT_FOUND, which GetAction reports as a
// miss; once the blob is there, the same entry is a hit.
func TestBazelRemoteValidatesActionEntries(t *testing.T) {
	b := remotetest.StartBazelRemote(t)
	r := open(t, b.URL(), Options{})
	ctx := context.Background()
	present, absent := []byte("an output that is there"), []byte("an output that is not")
	if err := r.Put(ctx, ref(present), bytes.NewReader(present)); err != nil {
		t.Fatal(err)
	}
	key := cache.ActionKey{0xac}
	outs := []cache.RemoteOutput{{Name: "a", Ref: ref(present)}, {Name: "b", Ref: ref(absent)}}
	if err := r.PutAction(ctx, key, outs); err != nil {
		t.Fatalf("PutAction naming a missing blob: %v (bazel-remote accepted such entries when this test was written)", err)
	}
	_, err := r.GetAction(ctx, key)
	if !errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), "not found in AC") {
		t.Fatalf("GetAction of an entry naming a missing blob = %v; want a miss, reported by the server", err)
	}
	if err := r.Put(ctx, ref(absent), bytes.NewReader(absent)); err != nil {
		t.Fatal(err)
	}
	got, err := r.GetAction(ctx, key)
	if err != nil || len(got) != 2 || got[0] != outs[0] || got[1] != outs[1] {
		t.Fatalf("GetAction once the blob is there = %v, %v; want %v", got, err, outs)
	}
	// The Command and the Action are in the CAS, for REAPI tools to show.
	a := actionOf(key)
	if miss, err := r.Missing(ctx, []cache.Ref{a.commandRef, a.key}); err != nil || len(miss) != 0 {
		t.Errorf("the Command and Action blobs: missing %v, %v", miss, err)
	}
}

// A server killed in the middle of a download makes the reader fail; it
// never ends the blob early as if it were whole.
func TestBazelRemoteKilledMidRead(t *testing.T) {
	b := remotetest.StartBazelRemote(t)
	r := open(t, b.URL(), Options{Timeout: 5 * time.Second})
	ctx := context.Background()
	// Larger than gRPC's flow-control windows (16 MiB at most), so most of
	// it is still on the server when it dies.
	data := random(40<<20, 3)
	if err := r.Put(ctx, ref(data), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := r.Get(ctx, ref(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	n, err := io.Copy(io.Discard, rc)
	if err == nil {
		t.Fatalf("read the rest (%d bytes) of a blob whose server died", n)
	}
	if !strings.Contains(err.Error(), "remote "+b.URL()) {
		t.Errorf("the error does not name the remote: %v", err)
	}
	t.Logf("after the kill: %d more bytes, then %v", n, err)
}
