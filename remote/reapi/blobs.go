package reapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dsbuild/cache"
)

// emptyDigest is the SHA-256 of no bytes: the empty blob, which every
// REAPI server holds without being asked.
var emptyDigest = cache.Sum(nil)

func pbDigest(ref cache.Ref) *repb.Digest {
	return &repb.Digest{Hash: ref.Digest.Hex(), SizeBytes: ref.Size}
}

// parseDigest reads a digest a server sent.
func parseDigest(d *repb.Digest) (cache.Ref, error) {
	if d == nil {
		return cache.Ref{}, errors.New("no digest")
	}
	dg, err := cache.ParseDigest(d.GetHash())
	if err != nil || hex.EncodeToString(dg[:]) != d.GetHash() {
		return cache.Ref{}, fmt.Errorf("digest hash %q is not 64 lower-case hex digits", d.GetHash())
	}
	if d.GetSizeBytes() < 0 {
		return cache.Ref{}, fmt.Errorf("digest %s has a negative size", d.GetHash())
	}
	return cache.Ref{Digest: dg, Size: d.GetSizeBytes()}, nil
}

// isEmpty reports whether ref is the empty blob.
func isEmpty(ref cache.Ref) bool { return ref.Size == 0 && ref.Digest == emptyDigest }

// checkRef refuses a ref that no server can hold: a negative size, or no
// bytes under a digest other than the empty blob's.
func checkRef(ref cache.Ref) error {
	if ref.Size < 0 || ref.Size == 0 && ref.Digest != emptyDigest {
		return fmt.Errorf("blob %s: invalid size for its digest", ref)
	}
	return nil
}

// Missing returns those of refs that the server does not hold, asking
// FindMissingBlobs about up to 10,000 digests a call. The empty blob is
// never missing.
func (r *Remote) Missing(ctx context.Context, refs []cache.Ref) ([]cache.Ref, error) {
	var missing, ask []cache.Ref
	seen := make(map[cache.Ref]bool, len(refs))
	for _, ref := range refs {
		if seen[ref] || isEmpty(ref) {
			continue
		}
		seen[ref] = true
		if checkRef(ref) != nil {
			missing = append(missing, ref) // no server holds it
			continue
		}
		ask = append(ask, ref)
	}
	for len(ask) > 0 {
		n := min(len(ask), r.missingStep)
		batch := ask[:n]
		ask = ask[n:]
		req := &repb.FindMissingBlobsRequest{InstanceName: r.instance, BlobDigests: make([]*repb.Digest, len(batch))}
		for i, ref := range batch {
			req.BlobDigests[i] = pbDigest(ref)
		}
		resp, err := r.findMissing(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, d := range resp.GetMissingBlobDigests() {
			ref, err := parseDigest(d)
			if err != nil {
				return nil, fmt.Errorf("remote %s: FindMissingBlobs answered %w", r.name, err)
			}
			missing = append(missing, ref)
		}
	}
	return missing, nil
}

func (r *Remote) findMissing(ctx context.Context, req *repb.FindMissingBlobsRequest) (*repb.FindMissingBlobsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.cas.FindMissingBlobs(ctx, req)
	if err != nil {
		return nil, r.fail(ctx, fmt.Sprintf("FindMissingBlobs (%d digests)", len(req.BlobDigests)), err)
	}
	return resp, nil
}

// small reports whether a blob of size bytes travels in a batch call.
func (r *Remote) small(size int64) bool {
	return size <= smallBlob && size+batchOverhead <= r.batchLimit
}

// Put stores a blob: a small one through BatchUpdateBlobs, a large one
// streamed through ByteStream Write. Both are zstd-compressed when the
// server offers it and the bytes compress.
func (r *Remote) Put(ctx context.Context, ref cache.Ref, src io.Reader) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	if isEmpty(ref) {
		return nil
	}
	if r.maxBlob > 0 && ref.Size > r.maxBlob {
		return fmt.Errorf("remote %s: blob %s is larger than the server's limit of %d bytes", r.name, ref, r.maxBlob)
	}
	if r.small(ref.Size) {
		data := make([]byte, ref.Size)
		if err := readExactly(src, data, ref); err != nil {
			return err
		}
		return r.batchUpdate(ctx, []blob{{ref, data}})
	}
	return r.write(ctx, ref, src)
}

// readExactly fills buf from src and checks that src ends there.
func readExactly(src io.Reader, buf []byte, ref cache.Ref) error {
	n, err := io.ReadFull(src, buf)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("blob %s: the source ended after %d bytes", ref, n)
		}
		return fmt.Errorf("blob %s: %w", ref, err)
	}
	var one [1]byte
	if n, _ := src.Read(one[:]); n > 0 {
		return fmt.Errorf("blob %s: the source has more than %d bytes", ref, ref.Size)
	}
	return nil
}

// blob is a blob held in memory for a batch call.
type blob struct {
	ref  cache.Ref
	data []byte
}

// batchUpdate uploads blobs in one BatchUpdateBlobs call; together they
// must fit r.batchLimit.
func (r *Remote) batchUpdate(ctx context.Context, blobs []blob) error {
	req := &repb.BatchUpdateBlobsRequest{InstanceName: r.instance}
	for _, b := range blobs {
		one := &repb.BatchUpdateBlobsRequest_Request{Digest: pbDigest(b.ref), Data: b.data}
		if r.zstdBatch {
			if c := encoder.EncodeAll(b.data, nil); compresses(len(c), len(b.data)) {
				one.Data, one.Compressor = c, repb.Compressor_ZSTD
			}
		}
		req.Requests = append(req.Requests, one)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	op := fmt.Sprintf("BatchUpdateBlobs (%s)", blobs[0].ref)
	if len(blobs) > 1 {
		op = fmt.Sprintf("BatchUpdateBlobs (%d blobs)", len(blobs))
	}
	resp, err := r.cas.BatchUpdateBlobs(ctx, req)
	if err != nil {
		return r.fail(ctx, op, err)
	}
	done := make(map[cache.Ref]bool, len(blobs))
	for _, one := range resp.GetResponses() {
		ref, err := parseDigest(one.GetDigest())
		if err != nil {
			return fmt.Errorf("remote %s: %s answered %w", r.name, op, err)
		}
		switch c := codes.Code(one.GetStatus().GetCode()); c {
		case codes.OK, codes.AlreadyExists:
			done[ref] = true
		default:
			return r.fail(ctx, fmt.Sprintf("BatchUpdateBlobs (%s)", ref), status.FromProto(one.GetStatus()).Err())
		}
	}
	for _, b := range blobs {
		if !done[b.ref] {
			return fmt.Errorf("remote %s: BatchUpdateBlobs did not answer for blob %s", r.name, b.ref)
		}
	}
	return nil
}

// compresses reports whether compressing n bytes to c bytes is worth it:
// it saves at least a tenth.
func compresses(c, n int) bool { return c < n-n/10 }

// encoder compresses whole batch blobs and samples of streamed ones
// (EncodeAll is safe for concurrent use). Compression levels never change
// a digest: REAPI names a blob by its uncompressed bytes.
var encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))

// batchDecoder decompresses batch blobs, none larger than smallBlob.
var batchDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(2*smallBlob), zstd.WithDecoderConcurrency(0))

// streamEncoders and streamDecoders are reused between streams.
var (
	streamEncoders = sync.Pool{New: func() any {
		e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		return e
	}}
	streamDecoders = sync.Pool{New: func() any {
		d, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		return d
	}}
)

// uploadID returns a random version 4 UUID, which keeps concurrent uploads
// of one blob apart.
func uploadID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// resource returns a ByteStream resource name: kind is "blobs" or
// "compressed-blobs/zstd", prefix "" for reads or "uploads/<uuid>/".
func (r *Remote) resource(prefix, kind string, ref cache.Ref) string {
	name := prefix + kind + "/" + ref.Digest.Hex() + "/" + strconv.FormatInt(ref.Size, 10)
	if r.instance != "" {
		name = r.instance + "/" + name
	}
	return name
}

// watchdog cancels a stream that makes no progress for a while: it is armed
// around each network operation of the stream and disarmed after it, so
// time spent by the caller does not count.
type watchdog struct {
	d time.Duration
	t *time.Timer
}

func newWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{d: d, t: time.AfterFunc(d, func() { cancel(errStalled{d}) })}
	w.t.Stop()
	return w
}

func (w *watchdog) arm()    { w.t.Reset(w.d) }
func (w *watchdog) disarm() { w.t.Stop() }

// write streams a large blob through ByteStream Write, in chunks of at most
// chunkSize bytes, zstd-compressed when the server offers it and a sample of
// the first chunk compresses.
func (r *Remote) write(ctx context.Context, ref cache.Ref, src io.Reader) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := newWatchdog(r.timeout, cancel)
	defer wd.disarm()

	// The first chunk decides whether to compress.
	first := make([]byte, min(ref.Size, chunkSize))
	if n, err := io.ReadFull(src, first); err != nil {
		return fmt.Errorf("blob %s: the source ended after %d bytes", ref, n)
	}
	compress := r.zstdStream && compresses(len(encoder.EncodeAll(first, nil)), len(first))
	kind := "blobs"
	if compress {
		kind = "compressed-blobs/zstd"
	}
	name := r.resource("uploads/"+uploadID()+"/", kind, ref)
	op := "ByteStream Write " + name

	wd.arm()
	stream, err := r.bs.Write(ctx)
	wd.disarm()
	if err != nil {
		return r.fail(ctx, op, err)
	}
	w := &chunkWriter{stream: stream, wd: wd, resource: name, buf: make([]byte, 0, chunkSize)}
	rest := io.MultiReader(bytes.NewReader(first), src)
	counted := &countingReader{r: io.LimitReader(rest, ref.Size+1)}
	if compress {
		enc := streamEncoders.Get().(*zstd.Encoder)
		enc.Reset(w)
		_, err = io.Copy(enc, counted)
		if err == nil {
			err = enc.Close()
		}
		enc.Reset(nil)
		streamEncoders.Put(enc)
	} else {
		_, err = io.Copy(w, counted)
	}
	if err == nil && !w.done && counted.n != ref.Size {
		err = fmt.Errorf("blob %s: the source has %d bytes", ref, counted.n)
		if counted.n > ref.Size {
			err = fmt.Errorf("blob %s: the source has more than %d bytes", ref, ref.Size)
		}
	}
	if err == nil && !w.done {
		err = w.flush(true)
	}
	if err != nil && !errors.Is(err, errServerDone) {
		if errors.Is(err, errSend) {
			return r.fail(ctx, op, w.sendErr)
		}
		// Abandon the upload, so that the server commits no partial blob.
		cancel(nil)
		return err
	}
	wd.arm()
	resp, err := stream.CloseAndRecv()
	wd.disarm()
	if err != nil {
		if status.Code(err) == codes.AlreadyExists {
			return nil
		}
		return r.fail(ctx, op, err)
	}
	// A finished upload commits the whole blob; an upload that another
	// client completed first answers -1 (compressed) or the blob's size.
	switch c := resp.GetCommittedSize(); {
	case c == -1 && compress, c == ref.Size:
	case compress && c == w.sent && !w.done:
	default:
		return fmt.Errorf("remote %s: %s: the server committed %d bytes of %d", r.name, op, c, ref.Size)
	}
	return nil
}

// errServerDone ends an upload that the server finished early (the blob
// exists, or the upload failed: CloseAndRecv tells which); errSend marks a
// stream that broke while sending (chunkWriter.sendErr says why).
var (
	errServerDone = errors.New("the server ended the upload")
	errSend       = errors.New("send failed")
)

// chunkWriter sends what is written to it as ByteStream WriteRequests of up
// to chunkSize bytes each.
type chunkWriter struct {
	stream   bytestream.ByteStream_WriteClient
	wd       *watchdog
	resource string // sent with the first request only
	buf      []byte
	sent     int64 // write_offset of the next request
	done     bool  // the server ended the stream early
	sendErr  error // why a Send failed
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.done {
			return n, errServerDone
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		n += k
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flush sends the buffered bytes, and finishes the write if last.
func (w *chunkWriter) flush(last bool) error {
	if len(w.buf) == 0 && !last {
		return nil
	}
	req := &bytestream.WriteRequest{WriteOffset: w.sent, Data: w.buf, FinishWrite: last}
	if w.resource != "" {
		req.ResourceName, w.resource = w.resource, ""
	}
	w.wd.arm()
	err := w.stream.Send(req)
	w.wd.disarm()
	if err == io.EOF {
		// The server closed the stream: it either has the blob already or
		// failed; CloseAndRecv tells which.
		w.done = true
		return errServerDone
	}
	if err != nil {
		w.sendErr = err
		return errSend
	}
	w.sent += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Get opens a blob: a small one is read whole through BatchReadBlobs, a
// large one streamed through ByteStream Read, zstd-compressed when the
// server offers it and decompressed as it arrives. The reader fails if the
// server sends more or fewer bytes than ref.Size; the caller verifies the
// digest.
func (r *Remote) Get(ctx context.Context, ref cache.Ref) (io.ReadCloser, error) {
	if isEmpty(ref) {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if err := checkRef(ref); err != nil {
		return nil, fmt.Errorf("%w: %w", cache.ErrRemoteMiss, err)
	}
	if r.small(ref.Size) {
		data, err := r.batchRead(ctx, ref)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return r.read(ctx, ref, 0, ref.Size)
}

// GetRange opens bytes [off, off+n) of a blob with one ByteStream Read
// from read_offset, uncompressed (REAPI defines offsets on the plain
// resource). It sets no read_limit: bazel-remote 2.6.2 fails a read whose
// limit ends before the blob does (OUT_OF_RANGE "READ LIMIT EXCEEDED") where
// the API says to stop there, so the reader stops after n bytes itself and
// Close cancels the rest of the stream. It fails if the server sends fewer
// than n bytes.
func (r *Remote) GetRange(ctx context.Context, ref cache.Ref, off, n int64) (io.ReadCloser, error) {
	if err := checkRef(ref); err != nil {
		return nil, fmt.Errorf("%w: %w", cache.ErrRemoteMiss, err)
	}
	if off < 0 || n < 1 || off+n > ref.Size {
		return nil, fmt.Errorf("remote %s: bytes [%d, %d) are not within blob %s", r.name, off, off+n, ref)
	}
	body, err := r.read(ctx, ref, off, ref.Size-off)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(body, n), body}, nil
}

// batchRead reads one small blob through BatchReadBlobs.
func (r *Remote) batchRead(ctx context.Context, ref cache.Ref) ([]byte, error) {
	req := &repb.BatchReadBlobsRequest{InstanceName: r.instance, Digests: []*repb.Digest{pbDigest(ref)}}
	if r.zstdBatch {
		req.AcceptableCompressors = []repb.Compressor_Value{repb.Compressor_ZSTD}
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	op := fmt.Sprintf("BatchReadBlobs (%s)", ref)
	resp, err := r.cas.BatchReadBlobs(ctx, req)
	if err != nil {
		return nil, r.fail(ctx, op, err)
	}
	for _, one := range resp.GetResponses() {
		if got, err := parseDigest(one.GetDigest()); err != nil || got != ref {
			continue
		}
		if err := status.FromProto(one.GetStatus()).Err(); err != nil {
			return nil, r.fail(ctx, op, err)
		}
		data := one.GetData()
		switch one.GetCompressor() {
		case repb.Compressor_IDENTITY:
		case repb.Compressor_ZSTD:
			if !r.zstdBatch {
				return nil, fmt.Errorf("remote %s: %s: the server sent zstd, which was not asked for", r.name, op)
			}
			data, err = batchDecoder.DecodeAll(data, make([]byte, 0, ref.Size))
			if err != nil {
				return nil, fmt.Errorf("remote %s: %s: zstd: %w", r.name, op, err)
			}
		default:
			return nil, fmt.Errorf("remote %s: %s: the server sent compressor %v, which was not asked for", r.name, op, one.GetCompressor())
		}
		if int64(len(data)) != ref.Size {
			return nil, fmt.Errorf("remote %s: %s: the server sent %d bytes", r.name, op, len(data))
		}
		return data, nil
	}
	return nil, fmt.Errorf("remote %s: %s: the server did not answer for the blob", r.name, op)
}

// read opens a ByteStream Read of a large blob. The first response is
// awaited here, so that a missing blob is Get's error.
//
// The blob's bytes from off on are read, n of them (the rest of the blob):
// from an offset other than 0, uncompressed, with read_offset.
func (r *Remote) read(ctx context.Context, ref cache.Ref, off, n int64) (io.ReadCloser, error) {
	whole := off == 0
	zstdStream := r.zstdStream && whole
	kind := "blobs"
	if zstdStream {
		kind = "compressed-blobs/zstd"
	}
	name := r.resource("", kind, ref)
	req := &bytestream.ReadRequest{ResourceName: name}
	op := "ByteStream Read " + name
	if !whole {
		req.ReadOffset = off
		op = fmt.Sprintf("%s from byte %d", op, off)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	wd := newWatchdog(r.timeout, cancel)
	sr := &streamReader{r: r, ctx: ctx, op: op, wd: wd}
	wd.arm()
	sr.stream, sr.err = r.bs.Read(ctx, req)
	if sr.err == nil {
		var resp *bytestream.ReadResponse
		if resp, sr.err = sr.stream.Recv(); sr.err == nil {
			sr.buf = resp.GetData()
		}
	}
	wd.disarm()
	if sr.err != nil && sr.err != io.EOF {
		err := r.fail(ctx, sr.op, sr.err)
		cancel(nil)
		return nil, err
	}
	body := &blobReader{src: sr, sr: sr, size: n, name: r.name, op: sr.op, cancel: cancel}
	if zstdStream {
		dec := streamDecoders.Get().(*zstd.Decoder)
		if err := dec.Reset(sr); err != nil {
			dec.Reset(nil)
			streamDecoders.Put(dec)
			cancel(nil)
			return nil, body.wrap(err)
		}
		body.src, body.dec = dec, dec
	}
	return body, nil
}

// streamReader reads the data of a ByteStream Read.
type streamReader struct {
	r      *Remote
	ctx    context.Context
	op     string
	wd     *watchdog
	stream bytestream.ByteStream_ReadClient
	buf    []byte
	err    error // io.EOF at the end
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.wd.arm()
		resp, err := s.stream.Recv()
		s.wd.disarm()
		if err == io.EOF {
			s.err = io.EOF
		} else if err != nil {
			s.err = s.r.fail(s.ctx, s.op, err)
		} else {
			s.buf = resp.GetData()
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// blobReader yields a blob's bytes and checks their count.
type blobReader struct {
	src    io.Reader // sr, or a zstd decoder reading sr
	sr     *streamReader
	dec    *zstd.Decoder // returned to the pool by Close
	size   int64
	n      int64
	name   string
	op     string
	cancel context.CancelCauseFunc
	closed bool
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read of a closed blob")
	}
	n, err := b.src.Read(p)
	b.n += int64(n)
	if b.n > b.size {
		return n, fmt.Errorf("remote %s: %s: the server sent more than %d bytes", b.name, b.op, b.size)
	}
	if err == io.EOF && b.n != b.size {
		return n, fmt.Errorf("remote %s: %s: the server sent %d bytes of %d: %w", b.name, b.op, b.n, b.size, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		err = b.wrap(err)
	}
	return n, err
}

// wrap returns a stream's error as it is, and says that any other error
// came from decompressing.
func (b *blobReader) wrap(err error) error {
	if b.sr.err != nil && b.sr.err != io.EOF {
		return b.sr.err
	}
	return fmt.Errorf("remote %s: %s: zstd: %w", b.name, b.op, err)
}

func (b *blobReader) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.cancel(nil)
	if b.dec != nil {
		b.dec.Reset(nil)
		streamDecoders.Put(b.dec)
		b.dec = nil
	}
	return nil
}
