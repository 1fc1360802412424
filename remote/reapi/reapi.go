package reapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"dsbuild/cache"
)

// Options configure a connection beyond what the URL says.
type Options struct {
	// Headers are sent as gRPC metadata on every call, like Bazel's
	// --remote_header (e.g. "authorization": "Bearer …"). Names are
	// case-insensitive and sent in lower case.
	Headers map[string]string
	// CAFile is a PEM file of the certificate authorities that a grpcs://
	// server's certificate must chain to, instead of the system's roots.
	CAFile string
	// Timeout bounds each call that moves no blob stream (capabilities,
	// existence checks, batches, action entries), and the time a stream may
	// go without progress. Zero means DefaultTimeout.
	Timeout time.Duration
	// Dialer, when set, opens the connections instead of a plain TCP dial
	// (for proxies, and for tests that count the bytes on the wire).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
}

// DefaultTimeout is Options.Timeout when none is given.
const DefaultTimeout = 60 * time.Second

const (
	// smallBlob is the largest blob that travels in a batch call; larger
	// ones are streamed through ByteStream.
	smallBlob = 1 << 20
	// chunkSize is the most data that one ByteStream message carries.
	chunkSize = 1 << 20
	// defaultBatchLimit is the batch size used when the server names none:
	// gRPC's default limit on a message a server receives.
	defaultBatchLimit = 4 << 20
	// batchOverhead is what a batch request may need beyond the blobs' bytes
	// (the instance name, the digests and the framing, with room to spare).
	batchOverhead = 64 << 10
	// findMissingBatch is the most digests asked about in one call.
	findMissingBatch = 10000
	// maxMessage is the size limit of one gRPC message either way.
	maxMessage = 64 << 20
)

// Remote is a REAPI v2 cache (ContentAddressableStorage, ActionCache and
// ByteStream) reached over gRPC. It implements cache.Remote and is safe for
// concurrent use.
type Remote struct {
	name     string // the URL without credentials, for messages
	instance string // the instance name, "" for none
	timeout  time.Duration

	conn *grpc.ClientConn
	cas  repb.ContentAddressableStorageClient
	ac   repb.ActionCacheClient
	bs   bytestream.ByteStreamClient

	// What the server offers (GetCapabilities).
	zstdStream  bool  // compressed-blobs/zstd in ByteStream
	zstdBatch   bool  // zstd in BatchUpdateBlobs and BatchReadBlobs
	batchLimit  int64 // the most bytes of blobs in one batch call
	maxBlob     int64 // the largest blob the server takes; 0: no limit
	updateAC    bool  // clients may write action entries
	missingStep int   // digests per FindMissingBlobs call
}

var _ cache.Remote = (*Remote)(nil)

// reserved are the path segments an instance name may not contain, because
// resource names are parsed on them.
var reserved = []string{"blobs", "uploads", "actions", "actionResults", "operations", "capabilities", "compressed-blobs"}

// target is what a URL names.
type target struct {
	addr     string // host:port
	tls      bool
	instance string
	name     string // the URL without credentials
	user     *url.Userinfo
}

// parseURL reads grpc://[user:pass@]host:port[/instance/name] or the same
// with grpcs://.
func parseURL(raw string) (target, error) {
	var t target
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole URL, password included.
		return t, fmt.Errorf("remote URL is not a valid URL (want grpc://host:port or grpcs://host:port)")
	}
	switch u.Scheme {
	case "grpc":
	case "grpcs":
		t.tls = true
	default:
		return t, fmt.Errorf("remote URL %s: scheme %q is not grpc or grpcs", redact(u), u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return t, fmt.Errorf("remote URL %s: no host (want %s://host:port)", redact(u), u.Scheme)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return t, fmt.Errorf("remote URL %s: a grpc remote takes no query or fragment", redact(u))
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return t, fmt.Errorf("remote URL %s: no host", redact(u))
	}
	if port == "" {
		if !t.tls {
			return t, fmt.Errorf("remote URL %s: no port (want grpc://host:port)", redact(u))
		}
		port = "443"
	}
	t.addr = net.JoinHostPort(host, port)
	if p := strings.Trim(u.Path, "/"); p != "" {
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return t, fmt.Errorf("remote URL %s: instance name %q has an empty, . or .. segment", redact(u), p)
			}
			if slices.Contains(reserved, seg) {
				return t, fmt.Errorf("remote URL %s: instance name %q may not contain the segment %q", redact(u), p, seg)
			}
		}
		t.instance = p
	}
	t.user = u.User
	t.name = redact(u)
	return t, nil
}

// redact returns u without credentials.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// validHeader reports whether name may be sent as gRPC metadata.
func validHeader(name string) bool {
	if name == "" || strings.HasPrefix(name, "grpc-") {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Open connects to the REAPI cache that rawURL names and asks for its
// capabilities: the server must offer SHA-256; zstd is used where it is
// offered.
func Open(ctx context.Context, rawURL string, opt Options) (*Remote, error) {
	t, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	r := &Remote{name: t.name, instance: t.instance, timeout: opt.Timeout}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}

	md := metadata.MD{}
	for k, v := range opt.Headers {
		name := strings.ToLower(k)
		if !validHeader(name) {
			return nil, fmt.Errorf("remote %s: header %q is not a valid gRPC metadata name", t.name, k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("remote %s: the value of header %q has a line break", t.name, k)
		}
		md.Append(name, v)
	}
	if t.user != nil {
		if len(md.Get("authorization")) > 0 {
			return nil, fmt.Errorf("remote %s: credentials in the URL and an authorization header; give one", t.name)
		}
		pass, _ := t.user.Password()
		md.Set("authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.user.Username()+":"+pass)))
	}

	var creds credentials.TransportCredentials
	if t.tls {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if opt.CAFile != "" {
			pem, err := os.ReadFile(opt.CAFile)
			if err != nil {
				return nil, fmt.Errorf("remote %s: CA file: %w", t.name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("remote %s: CA file %s holds no PEM certificate", t.name, opt.CAFile)
			}
			cfg.RootCAs = pool
		}
		creds = credentials.NewTLS(cfg)
	} else {
		if opt.CAFile != "" {
			return nil, fmt.Errorf("remote %s: a CA file needs a grpcs:// URL", t.name)
		}
		creds = insecure.NewCredentials()
	}

	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("dsbuild"),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
	}
	if len(md) > 0 {
		dialOpts = append(dialOpts,
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				return invoker(withMD(ctx, md), method, req, reply, cc, opts...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
				return streamer(withMD(ctx, md), desc, cc, method, opts...)
			}))
	}
	if opt.Dialer != nil {
		dialOpts = append(dialOpts, grpc.WithContextDialer(opt.Dialer))
	}
	// passthrough: the address is dialled as given (a DNS name is resolved
	// by the dialer), so a custom Dialer sees the URL's host:port.
	conn, err := grpc.NewClient("passthrough:///"+t.addr, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("remote %s: %w", t.name, err)
	}
	r.conn = conn
	r.cas = repb.NewContentAddressableStorageClient(conn)
	r.ac = repb.NewActionCacheClient(conn)
	r.bs = bytestream.NewByteStreamClient(conn)

	if err := r.capabilities(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return r, nil
}

// withMD adds md to the outgoing metadata of ctx.
func withMD(ctx context.Context, md metadata.MD) context.Context {
	if old, ok := metadata.FromOutgoingContext(ctx); ok {
		return metadata.NewOutgoingContext(ctx, metadata.Join(old, md))
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// capabilities reads what the server offers and sets r's limits from it.
func (r *Remote) capabilities(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	caps, err := repb.NewCapabilitiesClient(r.conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{InstanceName: r.instance})
	if err != nil {
		return r.fail(ctx, "GetCapabilities", err)
	}
	cc := caps.GetCacheCapabilities()
	if cc == nil {
		return fmt.Errorf("remote %s: the server offers no cache (its capabilities have no cache_capabilities)", r.name)
	}
	if !slices.Contains(cc.GetDigestFunctions(), repb.DigestFunction_SHA256) {
		return fmt.Errorf("remote %s: the server does not offer SHA-256 digests (it offers %v); dsbuild names blobs by SHA-256", r.name, cc.GetDigestFunctions())
	}
	r.zstdStream = slices.Contains(cc.GetSupportedCompressors(), repb.Compressor_ZSTD)
	r.zstdBatch = slices.Contains(cc.GetSupportedBatchUpdateCompressors(), repb.Compressor_ZSTD)
	r.batchLimit = defaultBatchLimit
	if n := cc.GetMaxBatchTotalSizeBytes(); n > 0 && n < r.batchLimit {
		r.batchLimit = n
	}
	r.maxBlob = cc.GetMaxCasBlobSizeBytes()
	// An absent update capability means the server did not say; only an
	// explicit false forbids writes.
	r.updateAC = cc.GetActionCacheUpdateCapabilities() == nil || cc.GetActionCacheUpdateCapabilities().GetUpdateEnabled()
	r.missingStep = findMissingBatch
	if n := int(r.batchLimit / 128); n < r.missingStep {
		r.missingStep = max(n, 100)
	}
	return nil
}

// String names the remote: its URL without credentials.
func (r *Remote) String() string { return r.name }

// Close closes the connection.
func (r *Remote) Close() error { return r.conn.Close() }

// errStalled is the cause of a stream cancelled for lack of progress.
type errStalled struct{ d time.Duration }

func (e errStalled) Error() string { return fmt.Sprintf("no progress for %s", e.d) }
func (e errStalled) Unwrap() error { return context.DeadlineExceeded }

// fail turns the error of a call named op into the error Remote returns:
// Unauthenticated and PermissionDenied become a *cache.RemoteAuthError,
// NotFound wraps cache.ErrRemoteMiss, a stalled stream says so, and every
// error names the remote and the operation.
func (r *Remote) fail(ctx context.Context, op string, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		var st errStalled
		if errors.As(cause, &st) {
			return fmt.Errorf("remote %s: %s: %w", r.name, op, cause)
		}
	}
	if status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "x509: ") {
		return fmt.Errorf("remote %s: %s: %w (the server's certificate is not trusted: give the CA that signed it as the CA file)", r.name, op, err)
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return &cache.RemoteAuthError{Remote: r.name,
			Err: fmt.Errorf("%s: %w (check the user and password in the URL, or the headers)", op, err)}
	case codes.NotFound:
		if msg := status.Convert(err).Message(); msg != "" {
			return fmt.Errorf("remote %s: %s: %w (%s)", r.name, op, cache.ErrRemoteMiss, msg)
		}
		return fmt.Errorf("remote %s: %s: %w", r.name, op, cache.ErrRemoteMiss)
	}
	return fmt.Errorf("remote %s: %s: %w", r.name, op, err)
}
