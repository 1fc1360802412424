package reapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"dsbuild/cache"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		raw, addr, instance, name string
		tls, user                 bool
	}{
		{raw: "grpc://127.0.0.1:9092", addr: "127.0.0.1:9092", name: "grpc://127.0.0.1:9092"},
		{raw: "grpc://cache:9092/", addr: "cache:9092", name: "grpc://cache:9092/"},
		{raw: "grpc://cache:9092/team/ci", addr: "cache:9092", instance: "team/ci", name: "grpc://cache:9092/team/ci"},
		{raw: "grpcs://cache.example.com", addr: "cache.example.com:443", tls: true, name: "grpcs://cache.example.com"},
		{raw: "grpcs://[::1]:8443/x", addr: "[::1]:8443", instance: "x", tls: true, name: "grpcs://[::1]:8443/x"},
		{raw: "grpc://alice:s3cret@cache:9092", addr: "cache:9092", user: true, name: "grpc://cache:9092"},
	} {
		got, err := parseURL(c.raw)
		if err != nil {
			t.Errorf("parseURL(%q): %v", c.raw, err)
			continue
		}
		if got.addr != c.addr || got.instance != c.instance || got.tls != c.tls || got.name != c.name || (got.user != nil) != c.user {
			t.Errorf("parseURL(%q) = addr %q instance %q tls %v name %q user %v; want %q %q %v %q %v",
				c.raw, got.addr, got.instance, got.tls, got.name, got.user != nil, c.addr, c.instance, c.tls, c.name, c.user)
		}
	}
	for raw, want := range map[string]string{
		"http://cache:9092":                  `scheme "http" is not grpc or grpcs`,
		"grpc://cache":                       "no port",
		"grpc://alice:s3cret@cache":          "no port",
		"grpc:cache:9092":                    "no host",
		"grpc://cache:9092?compress=no":      "no query",
		"grpc://cache:9092/a/blobs":          `may not contain the segment "blobs"`,
		"grpc://cache:9092/a//b":             "empty, . or .. segment",
		"grpc://cache:9092/../x":             "empty, . or .. segment",
		"grpc://alice:s3cret@cache:9092/%zz": "not a valid URL",
	} {
		_, err := parseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseURL(%q) = %v; want an error containing %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseURL(%q): the error shows the password: %v", raw, err)
		}
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		url  string
		opt  Options
		want string
	}{
		{"grpc://127.0.0.1:1", Options{Headers: map[string]string{"bad header": "x"}}, `header "bad header" is not a valid gRPC metadata name`},
		{"grpc://127.0.0.1:1", Options{Headers: map[string]string{"grpc-timeout": "1"}}, "is not a valid gRPC metadata name"},
		{"grpc://127.0.0.1:1", Options{Headers: map[string]string{"x-token": "a\nb"}}, "line break"},
		{"grpc://u:p@127.0.0.1:1", Options{Headers: map[string]string{"Authorization": "Bearer t"}}, "credentials in the URL and an authorization header"},
		{"grpc://127.0.0.1:1", Options{CAFile: "ca.pem"}, "a CA file needs a grpcs:// URL"},
		{"grpcs://127.0.0.1:1", Options{CAFile: filepath.Join(t.TempDir(), "none.pem")}, "CA file"},
	} {
		r, err := Open(ctx, c.url, c.opt)
		if err == nil {
			r.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q, %+v) = %v; want an error containing %q", c.url, c.opt, err, c.want)
		}
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	if _, err := Open(ctx, "grpcs://127.0.0.1:1", Options{CAFile: notPEM}); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("Open with a CA file without certificates = %v", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Open(context.Background(), "grpc://alice:s3cret@"+addr, Options{})
	if err == nil || status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "remote grpc://"+addr+": GetCapabilities") {
		t.Fatalf("Open of a closed port = %v; want Unavailable naming the remote and GetCapabilities", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// The mapping of a step key onto an Action is what Bazel tools see and what
// keys the ActionCache: pinned here, because changing it orphans every entry
// that remotes hold.
func TestActionMapping(t *testing.T) {
	var key cache.ActionKey
	for i := range key {
		key[i] = byte(i)
	}
	a := actionOf(key)

	var cmd repb.Command
	if err := proto.Unmarshal(a.command, &cmd); err != nil {
		t.Fatal(err)
	}
	if want := []string{"dsbuild-step", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}; !equal(cmd.Arguments, want) {
		t.Errorf("Command.arguments = %q; want %q", cmd.Arguments, want)
	}
	if len(cmd.EnvironmentVariables) > 0 || len(cmd.OutputPaths) > 0 || cmd.WorkingDirectory != "" {
		t.Errorf("Command has more than the arguments: %v", &cmd)
	}
	var act repb.Action
	if err := proto.Unmarshal(a.action, &act); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(a.command)
	if act.CommandDigest.GetHash() != hex.EncodeToString(sum[:]) || act.CommandDigest.GetSizeBytes() != int64(len(a.command)) {
		t.Errorf("Action.command_digest = %v; want the Command's", act.CommandDigest)
	}
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if act.InputRootDigest.GetHash() != empty || act.InputRootDigest.GetSizeBytes() != 0 {
		t.Errorf("Action.input_root_digest = %v; want the empty Directory's", act.InputRootDigest)
	}
	if act.Timeout != nil || act.DoNotCache || len(act.Salt) > 0 || act.Platform != nil {
		t.Errorf("Action has more than its two digests: %v", &act)
	}
	if sum := sha256.Sum256(a.action); a.key.Digest != cache.Digest(sum) || a.key.Size != int64(len(a.action)) {
		t.Errorf("the AC key %v is not the Action's digest", a.key)
	}
	// Checked by encoding the two messages by hand (tag, length, bytes): an
	// 80-byte Command and a 138-byte Action.
	const golden = "sha256:3e2f61f5b6f8c0b58d5d13ec8febc6219b5320c273eed5243e8fa0b79f570b9c/138"
	if got := a.key.String(); got != golden {
		t.Errorf("the AC key of the pinned step key is %s; want %s", got, golden)
	}
	again := actionOf(key)
	if !bytes.Equal(again.action, a.action) || !bytes.Equal(again.command, a.command) {
		t.Error("actionOf is not deterministic")
	}
	key[0] ^= 1
	if actionOf(key).key == a.key {
		t.Error("two step keys map to one AC key")
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestFail(t *testing.T) {
	r := &Remote{name: "grpc://cache:9092"}
	ctx := context.Background()
	for _, c := range []codes.Code{codes.Unauthenticated, codes.PermissionDenied} {
		err := r.fail(ctx, "FindMissingBlobs (1 digests)", status.Error(c, "access denied"))
		var auth *cache.RemoteAuthError
		if !errors.As(err, &auth) || auth.Remote != "grpc://cache:9092" {
			t.Fatalf("%v: fail = %#v; want a *cache.RemoteAuthError naming the remote", c, err)
		}
		for _, want := range []string{"remote grpc://cache:9092 refused the credentials", "FindMissingBlobs", "access denied", "check the user and password in the URL, or the headers"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: %q does not say %q", c, err, want)
			}
		}
	}
	err := r.fail(ctx, "GetActionResult", status.Error(codes.NotFound, "abc not found in AC"))
	if !errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), "abc not found in AC") {
		t.Errorf("NotFound: fail = %v; want ErrRemoteMiss with the server's message", err)
	}
	err = r.fail(ctx, "BatchReadBlobs (x)", status.Error(codes.Unavailable, "connection refused"))
	if errors.Is(err, cache.ErrRemoteMiss) || status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "remote grpc://cache:9092: BatchReadBlobs (x): ") {
		t.Errorf("Unavailable: fail = %v; want the status kept, the remote and the operation named", err)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	cancel(errStalled{time.Second})
	err = r.fail(sctx, "ByteStream Read x", status.Error(codes.Canceled, "context canceled"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ByteStream Read x: no progress for 1s") {
		t.Errorf("stalled: fail = %v; want DeadlineExceeded saying no progress", err)
	}
}

// fake is a REAPI server in the test process whose answers a test sets.
type fake struct {
	repb.UnimplementedCapabilitiesServer
	repb.UnimplementedContentAddressableStorageServer
	repb.UnimplementedActionCacheServer
	bytestream.UnimplementedByteStreamServer

	caps      *repb.ServerCapabilities
	result    *repb.ActionResult // what GetActionResult answers
	writeErr  error              // what Write answers after reading its first message
	updateErr *rpcstatus.Status  // the status of every BatchUpdateBlobs blob
	stall     chan struct{}      // Read sends one chunk, then waits on it

	mu      sync.Mutex
	md      []metadata.MD // the metadata of every call
	batches []*repb.BatchUpdateBlobsRequest
}

func (f *fake) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.md = append(f.md, md)
	f.mu.Unlock()
}

func (f *fake) GetCapabilities(ctx context.Context, _ *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	f.record(ctx)
	return f.caps, nil
}

func (f *fake) FindMissingBlobs(ctx context.Context, req *repb.FindMissingBlobsRequest) (*repb.FindMissingBlobsResponse, error) {
	f.record(ctx)
	return &repb.FindMissingBlobsResponse{MissingBlobDigests: req.BlobDigests}, nil
}

func (f *fake) BatchUpdateBlobs(ctx context.Context, req *repb.BatchUpdateBlobsRequest) (*repb.BatchUpdateBlobsResponse, error) {
	f.record(ctx)
	f.mu.Lock()
	f.batches = append(f.batches, req)
	f.mu.Unlock()
	resp := &repb.BatchUpdateBlobsResponse{}
	for _, one := range req.Requests {
		resp.Responses = append(resp.Responses, &repb.BatchUpdateBlobsResponse_Response{Digest: one.Digest, Status: f.updateErr})
	}
	return resp, nil
}

func (f *fake) GetActionResult(ctx context.Context, _ *repb.GetActionResultRequest) (*repb.ActionResult, error) {
	f.record(ctx)
	return f.result, nil
}

func (f *fake) UpdateActionResult(ctx context.Context, req *repb.UpdateActionResultRequest) (*repb.ActionResult, error) {
	f.record(ctx)
	return req.ActionResult, nil
}

func (f *fake) Write(s bytestream.ByteStream_WriteServer) error {
	f.record(s.Context())
	if _, err := s.Recv(); err != nil {
		return err
	}
	if f.stall != nil {
		// Read nothing more: the client's sends block once gRPC's
		// flow-control window is full.
		select {
		case <-f.stall:
		case <-s.Context().Done():
		}
	}
	return f.writeErr
}

func (f *fake) Read(req *bytestream.ReadRequest, s bytestream.ByteStream_ReadServer) error {
	f.record(s.Context())
	if err := s.Send(&bytestream.ReadResponse{Data: []byte("first chunk")}); err != nil {
		return err
	}
	select {
	case <-f.stall:
	case <-s.Context().Done():
	}
	return nil
}

// sha256Caps are the capabilities of a plain SHA-256 cache without
// compression.
func sha256Caps() *repb.ServerCapabilities {
	return &repb.ServerCapabilities{CacheCapabilities: &repb.CacheCapabilities{
		DigestFunctions: []repb.DigestFunction_Value{repb.DigestFunction_SHA256},
	}}
}

// serve starts f on a loopback port and returns its address.
func serve(t *testing.T, f *fake) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	repb.RegisterCapabilitiesServer(s, f)
	repb.RegisterContentAddressableStorageServer(s, f)
	repb.RegisterActionCacheServer(s, f)
	bytestream.RegisterByteStreamServer(s, f)
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

func open(t *testing.T, url string, opt Options) *Remote {
	t.Helper()
	r, err := Open(context.Background(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestCapabilities(t *testing.T) {
	ctx := context.Background()
	f := &fake{caps: &repb.ServerCapabilities{CacheCapabilities: &repb.CacheCapabilities{
		DigestFunctions: []repb.DigestFunction_Value{repb.DigestFunction_SHA1, repb.DigestFunction_BLAKE3},
	}}}
	addr := serve(t, f)
	_, err := Open(ctx, "grpc://"+addr, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not offer SHA-256 digests (it offers [SHA1 BLAKE3])") {
		t.Errorf("Open of a server without SHA-256 = %v", err)
	}
	f.caps = &repb.ServerCapabilities{}
	if _, err := Open(ctx, "grpc://"+addr, Options{}); err == nil || !strings.Contains(err.Error(), "offers no cache") {
		t.Errorf("Open of a server without a cache = %v", err)
	}

	f.caps = sha256Caps()
	f.caps.CacheCapabilities.MaxBatchTotalSizeBytes = 256 << 10
	f.caps.CacheCapabilities.ActionCacheUpdateCapabilities = &repb.ActionCacheUpdateCapabilities{UpdateEnabled: false}
	r := open(t, "grpc://"+addr, Options{})
	if r.zstdStream || r.zstdBatch {
		t.Errorf("zstd on for a server that offers none")
	}
	if !r.small(100<<10) || r.small(200<<10) {
		t.Errorf("with a batch limit of 256 KiB, blobs up to 192 KiB are small; small(100 KiB) = %v, small(200 KiB) = %v", r.small(100<<10), r.small(200<<10))
	}
	err = r.PutAction(ctx, cache.ActionKey{1}, nil)
	if err == nil || !strings.Contains(err.Error(), "does not let clients write action entries") {
		t.Errorf("PutAction on a read-only action cache = %v", err)
	}

	f.caps = sha256Caps()
	f.caps.CacheCapabilities.SupportedCompressors = []repb.Compressor_Value{repb.Compressor_ZSTD}
	r = open(t, "grpc://"+addr, Options{})
	if !r.zstdStream || r.zstdBatch || r.batchLimit != defaultBatchLimit || !r.small(smallBlob) || r.small(smallBlob+1) {
		t.Errorf("zstd stream %v batch %v, batch limit %d, small(1 MiB) %v", r.zstdStream, r.zstdBatch, r.batchLimit, r.small(smallBlob))
	}
}

// Headers and the URL's credentials go with every call, unary or stream.
func TestHeaders(t *testing.T) {
	f := &fake{caps: sha256Caps(), writeErr: status.Error(codes.AlreadyExists, "have it")}
	addr := serve(t, f)
	r := open(t, "grpc://alice:s3cret@"+addr, Options{Headers: map[string]string{"X-Team": "vision", "x-build": "42"}})
	ctx := context.Background()
	if _, err := r.Missing(ctx, []cache.Ref{ref([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, 2<<20)
	if err := r.Put(ctx, ref(big), bytes.NewReader(big)); err != nil {
		t.Fatalf("Put answered ALREADY_EXISTS: %v; want success", err)
	}
	if len(f.md) != 3 {
		t.Fatalf("%d calls; want 3 (GetCapabilities, FindMissingBlobs, Write)", len(f.md))
	}
	for i, md := range f.md {
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Basic YWxpY2U6czNjcmV0" {
			t.Errorf("call %d: authorization %q; want basic auth of alice:s3cret", i, got)
		}
		if got := md.Get("x-team"); len(got) != 1 || got[0] != "vision" {
			t.Errorf("call %d: x-team %q", i, got)
		}
		if got := md.Get("x-build"); len(got) != 1 || got[0] != "42" {
			t.Errorf("call %d: x-build %q", i, got)
		}
	}
	if s := r.String(); s != "grpc://"+addr {
		t.Errorf("String() = %q", s)
	}
}

func ref(b []byte) cache.Ref { return cache.Ref{Digest: cache.Sum(b), Size: int64(len(b))} }

func TestBatchUpdateStatus(t *testing.T) {
	f := &fake{caps: sha256Caps()}
	r := open(t, "grpc://"+serve(t, f), Options{})
	ctx := context.Background()
	data := []byte("small blob")
	f.updateErr = &rpcstatus.Status{Code: int32(codes.AlreadyExists)}
	if err := r.Put(ctx, ref(data), bytes.NewReader(data)); err != nil {
		t.Errorf("Put answered ALREADY_EXISTS: %v; want success", err)
	}
	f.updateErr = &rpcstatus.Status{Code: int32(codes.InvalidArgument), Message: "digest mismatch"}
	err := r.Put(ctx, ref(data), bytes.NewReader(data))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "digest mismatch") {
		t.Errorf("Put answered INVALID_ARGUMENT = %v", err)
	}
	if err := r.Put(ctx, ref(data), strings.NewReader("small")); err == nil || !strings.Contains(err.Error(), "the source ended after 5 bytes") {
		t.Errorf("Put of a short source = %v", err)
	}
	if err := r.Put(ctx, ref(data), strings.NewReader("small blob and more")); err == nil || !strings.Contains(err.Error(), "the source has more than 10 bytes") {
		t.Errorf("Put of a long source = %v", err)
	}
}

// A stream is bounded by its progress: a server that stops sending makes
// the read fail after the timeout, with DeadlineExceeded; so does one that
// stops reading a write.
func TestStreamStall(t *testing.T) {
	f := &fake{caps: sha256Caps(), stall: make(chan struct{})}
	defer close(f.stall)
	r := open(t, "grpc://"+serve(t, f), Options{Timeout: 300 * time.Millisecond})
	big := cache.Ref{Digest: cache.Digest{1}, Size: 4 << 20}
	rc, err := r.Get(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	start := time.Now()
	n, err := io.Copy(io.Discard, rc)
	if n != int64(len("first chunk")) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no progress for 300ms") {
		t.Errorf("read %d bytes, %v; want the first chunk, then no progress for 300ms", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stalled read took %v", d)
	}

	data := random(32<<20, 4) // more than the flow-control windows hold
	start = time.Now()
	err = r.Put(context.Background(), ref(data), bytes.NewReader(data))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ByteStream Write uploads/") || !strings.Contains(err.Error(), "no progress for 300ms") {
		t.Errorf("Put to a server that stopped reading = %v; want no progress for 300ms", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stalled write took %v", d)
	}
}

func TestGetActionForeign(t *testing.T) {
	f := &fake{caps: sha256Caps()}
	r := open(t, "grpc://"+serve(t, f), Options{})
	ctx := context.Background()
	d := &repb.Digest{Hash: cache.Digest{1}.Hex(), SizeBytes: 3}
	for _, c := range []struct {
		result *repb.ActionResult
		want   string
	}{
		{&repb.ActionResult{ExitCode: 1, OutputFiles: []*repb.OutputFile{{Path: "out", Digest: d}}}, "has exit code 1"},
		{&repb.ActionResult{OutputDirectories: []*repb.OutputDirectory{{Path: "dir", TreeDigest: d}}}, "has output directories"},
		{&repb.ActionResult{OutputSymlinks: []*repb.OutputSymlink{{Path: "l", Target: "t"}}}, "has output symbolic links"},
		{&repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "out", Digest: &repb.Digest{Hash: "ABC", SizeBytes: 1}}}}, `is invalid: output out: digest hash "ABC"`},
		{&repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "out", Digest: d}, {Path: "out", Digest: d}}}, `names output "out" twice`},
		{&repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "", Digest: d}}}, "an output has no name"},
	} {
		f.result = c.result
		_, err := r.GetAction(ctx, cache.ActionKey{9})
		if !errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("GetAction of %v = %v; want a miss saying %q", c.result, err, c.want)
		}
	}
	f.result = &repb.ActionResult{OutputFiles: []*repb.OutputFile{
		{Path: "z", Digest: d}, {Path: "a", Digest: &repb.Digest{Hash: cache.Digest{2}.Hex(), SizeBytes: 5}, IsExecutable: true},
	}}
	outs, err := r.GetAction(ctx, cache.ActionKey{9})
	if err != nil || len(outs) != 2 || outs[0].Name != "a" || outs[0].Ref != (cache.Ref{Digest: cache.Digest{2}, Size: 5}) || outs[1].Name != "z" {
		t.Errorf("GetAction = %v, %v; want a and z, sorted", outs, err)
	}
}

func TestPutActionChecksOutputs(t *testing.T) {
	f := &fake{caps: sha256Caps()}
	r := open(t, "grpc://"+serve(t, f), Options{})
	ctx := context.Background()
	x := cache.Ref{Digest: cache.Digest{1}, Size: 1}
	for _, c := range []struct {
		outs []cache.RemoteOutput
		want string
	}{
		{[]cache.RemoteOutput{{Name: "", Ref: x}}, "an output has no name"},
		{[]cache.RemoteOutput{{Name: "/etc/passwd", Ref: x}}, "is absolute"},
		{[]cache.RemoteOutput{{Name: "a", Ref: x}, {Name: "a", Ref: x}}, `two outputs are named "a"`},
		{[]cache.RemoteOutput{{Name: "a", Ref: cache.Ref{Digest: cache.Digest{1}}}}, "invalid size for its digest"},
	} {
		if err := r.PutAction(ctx, cache.ActionKey{1}, c.outs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PutAction(%v) = %v; want an error saying %q", c.outs, err, c.want)
		}
	}
	if len(f.batches) != 0 {
		t.Errorf("a refused entry uploaded %d batches", len(f.batches))
	}
}
