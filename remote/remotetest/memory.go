package remotetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"dsbuild/cache"
)

// The operations of a cache.Remote, as MemRemote's BeforeCall hook names
// them.
const (
	OpMissing   = "Missing"
	OpPut       = "Put"
	OpGet       = "Get"
	OpGetAction = "GetAction"
	OpPutAction = "PutAction"
)

// MemRemote is an in-memory cache.Remote, the reference implementation of
// the interface, with knobs that make it misbehave. It is safe for
// concurrent use. Close does nothing: the memory outlives it, so one
// MemRemote can stand for a remote that several stores (machines) share.
//
// Blobs are first-writer-wins (a Put of a blob it holds keeps the stored
// bytes, like a create-only S3 write), and Put checks what it is given: a
// reader that fails, ends early or yields bytes of another digest stores
// nothing. Get returns the stored bytes as they are, corrupt or not: the
// caller verifies. Action entries are overwritten by PutAction and not
// checked against the blobs (a test can make an entry whose blobs are
// gone with Delete).
type MemRemote struct {
	mu      sync.Mutex
	blobs   map[cache.Digest]memBlob
	actions map[cache.ActionKey][]cache.RemoteOutput
	delay   time.Duration
	before  func(op string) error

	down atomic.Bool

	gets, puts, missingCalls, getBytes, putBytes, actionGets, actionPuts atomic.Int64
}

// memBlob is a stored blob: the size it was put with and its bytes, which
// the fault knobs may have changed. A knob replaces data, never changes
// it in place, so readers of the old bytes are not disturbed.
type memBlob struct {
	size int64
	data []byte
}

// MemStats counts a MemRemote's calls, every call made, those that failed
// included, and the bytes that went through it: GetBytes read from Get's
// readers, PutBytes stored by Puts that succeeded (a Put of a blob already
// held stores nothing).
type MemStats struct {
	Gets, Puts, MissingCalls int64
	GetBytes, PutBytes       int64
	ActionGets, ActionPuts   int64
}

// Memory returns an empty in-memory remote.
func Memory() *MemRemote {
	return &MemRemote{
		blobs:   map[cache.Digest]memBlob{},
		actions: map[cache.ActionKey][]cache.RemoteOutput{},
	}
}

// Stats returns the counters so far.
func (m *MemRemote) Stats() MemStats {
	return MemStats{
		Gets:         m.gets.Load(),
		Puts:         m.puts.Load(),
		MissingCalls: m.missingCalls.Load(),
		GetBytes:     m.getBytes.Load(),
		PutBytes:     m.putBytes.Load(),
		ActionGets:   m.actionGets.Load(),
		ActionPuts:   m.actionPuts.Load(),
	}
}

// SetDown takes the remote down (true) or brings it back: while it is
// down every call, and every Read of a blob opened before, fails with an
// error for which errors.Is(err, syscall.ECONNREFUSED) holds, as a
// connection to a dead server does.
func (m *MemRemote) SetDown(down bool) { m.down.Store(down) }

// SetDelay makes every call wait d first (or until its context ends).
func (m *MemRemote) SetDelay(d time.Duration) {
	m.mu.Lock()
	m.delay = d
	m.mu.Unlock()
}

// BeforeCall sets a hook called with the operation's name (OpGet, …) at
// the start of every call; an error it returns fails the call (wrapped).
// The hook may be called from several goroutines at once, and may use
// the remote's knobs. nil removes it.
func (m *MemRemote) BeforeCall(hook func(op string) error) {
	m.mu.Lock()
	m.before = hook
	m.mu.Unlock()
}

// Corrupt flips the bits of one byte of the stored blob d (an empty blob
// gains a byte), keeping its size as put; it reports whether d was held.
func (m *MemRemote) Corrupt(d cache.Digest) bool {
	return m.change(d, func(b []byte) []byte {
		if len(b) == 0 {
			return []byte{0}
		}
		c := bytes.Clone(b)
		c[len(c)/2] ^= 0xff
		return c
	})
}

// Truncate cuts the stored blob d to half its length (Missing still
// reports it held, Get returns the short bytes); it reports whether d
// was held with at least one byte.
func (m *MemRemote) Truncate(d cache.Digest) bool {
	m.mu.Lock()
	b, ok := m.blobs[d]
	m.mu.Unlock()
	if !ok || len(b.data) == 0 {
		return false
	}
	return m.change(d, func(b []byte) []byte { return bytes.Clone(b[:len(b)/2]) })
}

// Refs lists the blobs held, sorted by digest, each with the size it was
// put with.
func (m *MemRemote) Refs() []cache.Ref {
	m.mu.Lock()
	defer m.mu.Unlock()
	refs := make([]cache.Ref, 0, len(m.blobs))
	for d, b := range m.blobs {
		refs = append(refs, cache.Ref{Digest: d, Size: b.size})
	}
	slices.SortFunc(refs, func(a, b cache.Ref) int { return bytes.Compare(a.Digest[:], b.Digest[:]) })
	return refs
}

// Delete removes the blob d; it reports whether d was held.
func (m *MemRemote) Delete(d cache.Digest) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.blobs[d]
	delete(m.blobs, d)
	return ok
}

// Plant stores data under ref as it is, unchecked, replacing what is
// there: a blob that another, buggy or malicious, client wrote.
func (m *MemRemote) Plant(ref cache.Ref, data []byte) {
	m.mu.Lock()
	m.blobs[ref.Digest] = memBlob{size: ref.Size, data: bytes.Clone(data)}
	m.mu.Unlock()
}

// Has reports whether the remote holds a blob under ref, whatever its
// bytes are now.
func (m *MemRemote) Has(ref cache.Ref) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[ref.Digest]
	return ok && b.size == ref.Size
}

func (m *MemRemote) change(d cache.Digest, f func([]byte) []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[d]
	if !ok {
		return false
	}
	b.data = f(b.data)
	m.blobs[d] = b
	return true
}

// errDown is the error of a call to a remote that is down.
var errDown = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// enter is what every call does first: wait the delay, fail if the remote
// is down or the hook says so or ctx has ended.
func (m *MemRemote) enter(ctx context.Context, op string) error {
	m.mu.Lock()
	delay, hook := m.delay, m.before
	m.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s on %s: %w", op, m, ctx.Err())
		case <-t.C:
		}
	}
	if m.down.Load() {
		return fmt.Errorf("%s on %s: %w", op, m, errDown)
	}
	if hook != nil {
		if err := hook(op); err != nil {
			return fmt.Errorf("%s on %s: %w", op, m, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s on %s: %w", op, m, err)
	}
	return nil
}

// Missing returns the refs whose blobs the remote does not hold under
// that size, each once.
func (m *MemRemote) Missing(ctx context.Context, refs []cache.Ref) ([]cache.Ref, error) {
	m.missingCalls.Add(1)
	if err := m.enter(ctx, OpMissing); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var missing []cache.Ref
	seen := map[cache.Ref]bool{}
	for _, r := range refs {
		if seen[r] {
			continue
		}
		seen[r] = true
		if b, ok := m.blobs[r.Digest]; !ok || b.size != r.Size {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// putChunk is how much of a blob Put reads between checks of its context.
const putChunk = 256 << 10

// Put reads the blob from r in chunks, checking ctx between them, and
// stores it if it has ref's size and digest and is not held already.
func (m *MemRemote) Put(ctx context.Context, ref cache.Ref, r io.Reader) error {
	m.puts.Add(1)
	if err := m.enter(ctx, OpPut); err != nil {
		return err
	}
	if ref.Size < 0 {
		return fmt.Errorf("putting blob %s on %s: negative size", ref, m)
	}
	var buf bytes.Buffer
	h := sha256.New()
	chunk := make([]byte, putChunk)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("putting blob %s on %s: %w", ref, m, err)
		}
		if m.down.Load() {
			return fmt.Errorf("putting blob %s on %s: %w", ref, m, errDown)
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		h.Write(chunk[:n])
		if int64(buf.Len()) > ref.Size {
			return fmt.Errorf("putting blob %s on %s: the reader gave more than %d bytes", ref, m, ref.Size)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("putting blob %s on %s: reading it: %w", ref, m, err)
		}
	}
	if int64(buf.Len()) != ref.Size {
		return fmt.Errorf("putting blob %s on %s: the reader gave %d bytes, not %d", ref, m, buf.Len(), ref.Size)
	}
	if d := cache.Digest(h.Sum(nil)); d != ref.Digest {
		return fmt.Errorf("putting blob %s on %s: the bytes have digest %s", ref, m, d)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.blobs[ref.Digest]; ok && b.size == ref.Size {
		return nil
	}
	m.blobs[ref.Digest] = memBlob{size: ref.Size, data: buf.Bytes()}
	m.putBytes.Add(ref.Size)
	return nil
}

// Get opens the stored bytes of ref, whatever they are now. Reading
// fails once ctx ends or the remote goes down.
func (m *MemRemote) Get(ctx context.Context, ref cache.Ref) (io.ReadCloser, error) {
	m.gets.Add(1)
	if err := m.enter(ctx, OpGet); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok := m.blobs[ref.Digest]
	m.mu.Unlock()
	if !ok || b.size != ref.Size {
		return nil, fmt.Errorf("getting blob %s from %s: %w", ref, m, cache.ErrRemoteMiss)
	}
	return &memReader{m: m, ctx: ctx, ref: ref, r: bytes.NewReader(b.data)}, nil
}

// GetRange opens bytes [off, off+n) of the stored bytes of ref (a ranged
// read counts as a Get). Bytes past the stored ones are not there: the
// reader ends early.
func (m *MemRemote) GetRange(ctx context.Context, ref cache.Ref, off, n int64) (io.ReadCloser, error) {
	m.gets.Add(1)
	if err := m.enter(ctx, OpGet); err != nil {
		return nil, err
	}
	if off < 0 || n < 1 || off+n > ref.Size {
		return nil, fmt.Errorf("getting bytes [%d, %d) of blob %s from %s: not within the blob", off, off+n, ref, m)
	}
	m.mu.Lock()
	b, ok := m.blobs[ref.Digest]
	m.mu.Unlock()
	if !ok || b.size != ref.Size {
		return nil, fmt.Errorf("getting blob %s from %s: %w", ref, m, cache.ErrRemoteMiss)
	}
	data := b.data[min(off, int64(len(b.data))):min(off+n, int64(len(b.data)))]
	return &memReader{m: m, ctx: ctx, ref: ref, r: bytes.NewReader(data)}, nil
}

// memReader reads a blob that Get opened, counting the bytes.
type memReader struct {
	m      *MemRemote
	ctx    context.Context
	ref    cache.Ref
	r      *bytes.Reader
	closed bool
}

func (r *memReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("reading blob %s from %s: %w", r.ref, r.m, errors.New("read after Close"))
	}
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("reading blob %s from %s: %w", r.ref, r.m, err)
	}
	if r.m.down.Load() {
		return 0, fmt.Errorf("reading blob %s from %s: %w", r.ref, r.m, errDown)
	}
	n, err := r.r.Read(p)
	r.m.getBytes.Add(int64(n))
	return n, err
}

func (r *memReader) Close() error {
	r.closed = true
	return nil
}

// GetAction returns a copy of the entry under key.
func (m *MemRemote) GetAction(ctx context.Context, key cache.ActionKey) ([]cache.RemoteOutput, error) {
	m.actionGets.Add(1)
	if err := m.enter(ctx, OpGetAction); err != nil {
		return nil, err
	}
	m.mu.Lock()
	outs, ok := m.actions[key]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("getting action %s from %s: %w", key, m, cache.ErrRemoteMiss)
	}
	return slices.Clone(outs), nil
}

// PutAction stores a copy of outs, sorted by name, under key, replacing
// any entry there. Names must be non-empty and distinct.
func (m *MemRemote) PutAction(ctx context.Context, key cache.ActionKey, outs []cache.RemoteOutput) error {
	m.actionPuts.Add(1)
	if err := m.enter(ctx, OpPutAction); err != nil {
		return err
	}
	sorted := slices.Clone(outs)
	slices.SortStableFunc(sorted, func(a, b cache.RemoteOutput) int { return strings.Compare(a.Name, b.Name) })
	for i, o := range sorted {
		if o.Name == "" {
			return fmt.Errorf("putting action %s on %s: an output has no name", key, m)
		}
		if i > 0 && sorted[i-1].Name == o.Name {
			return fmt.Errorf("putting action %s on %s: two outputs are named %q", key, m, o.Name)
		}
	}
	m.mu.Lock()
	m.actions[key] = sorted
	m.mu.Unlock()
	return nil
}

// String names the remote.
func (m *MemRemote) String() string { return "memory" }

// Close does nothing; the remote stays usable.
func (m *MemRemote) Close() error { return nil }

var _ cache.Remote = (*MemRemote)(nil)
