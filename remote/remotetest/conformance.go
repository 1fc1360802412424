package remotetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dsbuild/cache"
)

// Options adjust the conformance suite to a backend.
type Options struct {
	// Secrets are strings that the remote's String must not contain
	// (passwords, secret keys, tokens it was configured with).
	Secrets []string
}

// LargeSize is the size of the suite's large blob: over 8 MiB, and not a
// multiple of any chunk size, so that it crosses every backend's limit
// for single requests (batches, messages, single-part uploads) unevenly.
const LargeSize = 8<<20 + 12345

// promptly bounds how long a call may take to give up once its context
// is cancelled.
const promptly = 10 * time.Second

// Run is RunWith without options.
func Run(t *testing.T, open func(t *testing.T) cache.Remote) {
	t.Helper()
	RunWith(t, open, Options{})
}

// RunWith runs the conformance suite: what every cache.Remote must do, as
// subtests. open returns a remote for one subtest; the subtests may share
// its storage (one server), and the suite closes each remote it opened.
// The blobs of each run carry a fresh random nonce, so a remote that
// keeps what earlier runs put does not turn an expected miss into a hit.
func RunWith(t *testing.T, open func(t *testing.T) cache.Remote, opt Options) {
	t.Helper()
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		t.Fatal(err)
	}
	s := &suite{open: open, opt: opt, nonce: nonce}
	for _, c := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"RoundTrip", s.roundTrip},
		{"GetAbsent", s.getAbsent},
		{"GetRange", s.getRange},
		{"Missing", s.missing},
		{"MissingMany", s.missingMany},
		{"PutExisting", s.putExisting},
		{"ConcurrentPut", s.concurrentPut},
		{"FailedPut", s.failedPut},
		{"Action", s.action},
		{"ActionAbsent", s.actionAbsent},
		{"ActionTwice", s.actionTwice},
		{"String", s.str},
		{"CancelPut", s.cancelPut},
		{"CancelGet", s.cancelGet},
		{"CancelOthers", s.cancelOthers},
	} {
		t.Run(c.name, c.f)
	}
}

type suite struct {
	open  func(t *testing.T) cache.Remote
	opt   Options
	nonce [16]byte
}

// remote opens a remote for the subtest t and closes it when t ends.
func (s *suite) remote(t *testing.T) cache.Remote {
	t.Helper()
	r := s.open(t)
	if r == nil {
		t.Fatal("open returned a nil remote")
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("closing %s: %v", r, err)
		}
	})
	return r
}

// blob is test content: size bytes drawn from a generator seeded by the
// run's nonce and a label, produced as a stream (never held whole).
type blob struct {
	label string
	seed  [32]byte
	size  int64
	ref   cache.Ref
}

// newBlob describes the blob label of size bytes and computes its digest.
func (s *suite) newBlob(label string, size int64) blob {
	b := blob{label: label, seed: sha256.Sum256(append(s.nonce[:], label...)), size: size}
	h := sha256.New()
	if _, err := io.Copy(h, b.reader()); err != nil {
		panic(err) // the generator does not fail
	}
	b.ref = cache.Ref{Digest: cache.Digest(h.Sum(nil)), Size: size}
	return b
}

// reader streams the blob's bytes.
func (b blob) reader() io.Reader {
	return io.LimitReader(mrand.NewChaCha8(b.seed), b.size)
}

// bytes returns the blob's bytes (for small blobs).
func (b blob) bytes() []byte {
	data, _ := io.ReadAll(b.reader())
	return data
}

func (s *suite) put(t *testing.T, r cache.Remote, b blob) {
	t.Helper()
	if err := r.Put(context.Background(), b.ref, b.reader()); err != nil {
		t.Fatalf("Put %s (%s, %d bytes): %v", b.label, b.ref, b.size, err)
	}
}

// checkGet reads the blob back and checks that it has the blob's exact
// bytes, comparing as it streams.
func checkGet(t *testing.T, r cache.Remote, b blob) {
	t.Helper()
	rc, err := r.Get(context.Background(), b.ref)
	if err != nil {
		t.Fatalf("Get %s (%s): %v", b.label, b.ref, err)
	}
	defer rc.Close()
	if err := sameStream(rc, b.reader()); err != nil {
		t.Fatalf("Get %s (%s): %v", b.label, b.ref, err)
	}
}

// errDiffers marks sameStream's verdict that the bytes read are not the
// blob's (as opposed to an error reading them).
var errDiffers = errors.New("not the blob's bytes")

// sameStream reads got to its end and compares it with want.
func sameStream(got, want io.Reader) error {
	bg, bw := make([]byte, 64<<10), make([]byte, 64<<10)
	var off int64
	for {
		n, err := io.ReadFull(got, bg)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return fmt.Errorf("reading at byte %d: %w", off, err)
		}
		m, _ := io.ReadFull(want, bw)
		if n != m {
			if n < m {
				return fmt.Errorf("%w: it ends at byte %d, before the blob's end", errDiffers, off+int64(n))
			}
			return fmt.Errorf("%w: it goes on past the blob's end (byte %d)", errDiffers, off+int64(m))
		}
		if i := firstDiff(bg[:n], bw[:m]); i >= 0 {
			return fmt.Errorf("%w: byte %d differs", errDiffers, off+int64(i))
		}
		off += int64(n)
		if n < len(bg) {
			return nil
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// refSet returns refs as a set.
func refSet(refs []cache.Ref) map[cache.Ref]bool {
	m := make(map[cache.Ref]bool, len(refs))
	for _, r := range refs {
		m[r] = true
	}
	return m
}

// checkMissing calls Missing(query) and checks that it returns exactly
// the set want (duplicates in the answer are tolerated).
func checkMissing(t *testing.T, r cache.Remote, query, want []cache.Ref) {
	t.Helper()
	got, err := r.Missing(context.Background(), query)
	if err != nil {
		t.Fatalf("Missing of %d refs: %v", len(query), err)
	}
	g, w := refSet(got), refSet(want)
	var extra, lacking []string
	for ref := range g {
		if !w[ref] {
			extra = append(extra, ref.String())
		}
	}
	for ref := range w {
		if !g[ref] {
			lacking = append(lacking, ref.String())
		}
	}
	if len(extra) > 0 || len(lacking) > 0 {
		slices.Sort(extra)
		slices.Sort(lacking)
		t.Fatalf("Missing of %d refs: %d reported missing that are held (%s), %d held that are missing (%s)",
			len(query), len(extra), clip(extra), len(lacking), clip(lacking))
	}
}

func clip(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + ", …"
	}
	return strings.Join(s, ", ")
}

func (s *suite) roundTrip(t *testing.T) {
	r := s.remote(t)
	for _, b := range []blob{
		s.newBlob("empty", 0),
		s.newBlob("one byte", 1),
		s.newBlob("small", 1000),
		s.newBlob("medium", 300<<10),
		s.newBlob("large", LargeSize),
	} {
		t.Run(b.label, func(t *testing.T) {
			if b.size > 0 { // REAPI servers hold the empty blob always
				checkMissing(t, r, []cache.Ref{b.ref}, []cache.Ref{b.ref})
			}
			s.put(t, r, b)
			checkMissing(t, r, []cache.Ref{b.ref}, nil)
			checkGet(t, r, b)
		})
	}
}

func (s *suite) getAbsent(t *testing.T) {
	r := s.remote(t)
	b := s.newBlob("never put", 100)
	rc, err := r.Get(context.Background(), b.ref)
	if err == nil {
		// A backend may find out at the first read.
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, cache.ErrRemoteMiss) {
		t.Fatalf("Get of an absent blob: %v; want an error for which errors.Is(err, cache.ErrRemoteMiss)", err)
	}
}

// getRange checks a backend that reads parts of blobs (cache.RangeReader,
// which the store uses to read the members of packs): every range read
// back is the blob's exact bytes there, and a range of an absent blob is a
// miss. A backend without it is skipped: the store then reads packs whole.
func (s *suite) getRange(t *testing.T) {
	r := s.remote(t)
	rr, ok := r.(cache.RangeReader)
	if !ok {
		t.Skipf("%s does not implement cache.RangeReader", r)
	}
	ctx := context.Background()
	b := s.newBlob("ranges", 300<<10)
	s.put(t, r, b)
	data := b.bytes()
	for _, c := range []struct{ off, n int64 }{{0, 1}, {0, b.size}, {16, 1000}, {b.size - 1, 1}, {b.size / 2, b.size - b.size/2}, {70000, 131072}} {
		rc, err := rr.GetRange(ctx, b.ref, c.off, c.n)
		if err != nil {
			t.Fatalf("GetRange(%d, %d): %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("GetRange(%d, %d): reading: %v", c.off, c.n, err)
		}
		if !bytes.Equal(got, data[c.off:c.off+c.n]) {
			t.Fatalf("GetRange(%d, %d): %d bytes that are not the blob's there (first difference at %d)", c.off, c.n, len(got), firstDiff(got, data[c.off:c.off+c.n]))
		}
	}
	absent := s.newBlob("range of nothing", 1000)
	rc, err := rr.GetRange(ctx, absent.ref, 10, 100)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, cache.ErrRemoteMiss) {
		t.Fatalf("GetRange of an absent blob: %v; want an error for which errors.Is(err, cache.ErrRemoteMiss)", err)
	}
}

func (s *suite) missing(t *testing.T) {
	r := s.remote(t)
	var present, absent []cache.Ref
	for i := range 3 {
		b := s.newBlob(fmt.Sprintf("present %d", i), int64(10+i))
		s.put(t, r, b)
		present = append(present, b.ref)
		absent = append(absent, s.newBlob(fmt.Sprintf("absent %d", i), int64(10+i)).ref)
	}

	if got, err := r.Missing(context.Background(), nil); err != nil || len(got) != 0 {
		t.Fatalf("Missing of no refs = %v, %v; want nothing, no error", got, err)
	}
	checkMissing(t, r, present, nil)
	checkMissing(t, r, absent, absent)
	query := []cache.Ref{absent[0], present[0], absent[0], present[1], absent[1], present[0], absent[2], present[2], absent[1]}
	checkMissing(t, r, query, absent)
}

func (s *suite) missingMany(t *testing.T) {
	r := s.remote(t)
	const n, held = 5000, 20
	var query, want []cache.Ref
	for i := range n {
		b := s.newBlob(fmt.Sprintf("many %d", i), int64(32+i%7))
		if i%(n/held) == 0 {
			s.put(t, r, b)
		} else {
			want = append(want, b.ref)
		}
		query = append(query, b.ref)
	}
	checkMissing(t, r, query, want)
}

func (s *suite) putExisting(t *testing.T) {
	r := s.remote(t)
	for _, b := range []blob{s.newBlob("again small", 500), s.newBlob("again medium", 2<<20+7)} {
		s.put(t, r, b)
		s.put(t, r, b)
		checkMissing(t, r, []cache.Ref{b.ref}, nil)
		checkGet(t, r, b)
	}
}

func (s *suite) concurrentPut(t *testing.T) {
	r := s.remote(t)
	for _, b := range []blob{s.newBlob("raced small", 4000), s.newBlob("raced large", 3<<20+11)} {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				errs[i] = r.Put(context.Background(), b.ref, b.reader())
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Put %s by goroutine %d of %d at once: %v", b.label, i, len(errs), err)
			}
		}
		checkGet(t, r, b)
	}
}

// failingReader yields the first n bytes of r, then fails with err (or,
// if err is nil, ends as if the blob were that short).
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

var errReaderBroke = errors.New("remotetest: the reader broke on purpose")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.err == nil {
			return 0, io.EOF
		}
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func (s *suite) failedPut(t *testing.T) {
	r := s.remote(t)
	for _, c := range []struct {
		name string
		size int64
		err  error
	}{
		{"small, the reader fails", 2000, errReaderBroke},
		{"large, the reader fails", LargeSize, errReaderBroke},
		{"small, the reader ends early", 2000, nil},
		{"large, the reader ends early", LargeSize, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := s.newBlob("failed put: "+c.name, c.size)
			err := r.Put(context.Background(), b.ref, &failingReader{r: b.reader(), n: c.size / 2, err: c.err})
			if err == nil {
				t.Fatalf("Put from a reader that gave %d of %d bytes succeeded", c.size/2, c.size)
			}
			checkMissing(t, r, []cache.Ref{b.ref}, []cache.Ref{b.ref})
			rc, err := r.Get(context.Background(), b.ref)
			if err != nil {
				if !errors.Is(err, cache.ErrRemoteMiss) {
					t.Fatalf("Get after a failed Put: %v; want a miss", err)
				}
				return
			}
			defer rc.Close()
			// Only the whole blob is acceptable, never a prefix.
			if err := sameStream(rc, b.reader()); err != nil {
				t.Fatalf("Get after a failed Put opened an object that is not the whole blob: %v", err)
			}
		})
	}
}

// outputs puts blobs for an action entry's outputs and returns the entry,
// sorted by name as GetAction returns it.
func (s *suite) outputs(t *testing.T, r cache.Remote, label string) []cache.RemoteOutput {
	t.Helper()
	names := []string{".closure", "dataset", "model weights", "report.html"}
	outs := make([]cache.RemoteOutput, 0, len(names))
	for i, name := range names {
		b := s.newBlob(label+" output "+name, int64(100*(i+1)))
		s.put(t, r, b)
		outs = append(outs, cache.RemoteOutput{Name: name, Ref: b.ref})
	}
	return outs
}

// actionKey is a step key of the run, derived from label.
func (s *suite) actionKey(label string) cache.ActionKey {
	return cache.ActionKey(sha256.Sum256(append(append([]byte("remotetest action "), s.nonce[:]...), label...)))
}

func (s *suite) action(t *testing.T) {
	r := s.remote(t)
	key := s.actionKey("round trip")
	outs := s.outputs(t, r, "round trip")
	// Given in another order, returned sorted by name.
	given := slices.Clone(outs)
	slices.Reverse(given)
	if err := r.PutAction(context.Background(), key, given); err != nil {
		t.Fatalf("PutAction: %v", err)
	}
	got, err := r.GetAction(context.Background(), key)
	if err != nil {
		t.Fatalf("GetAction: %v", err)
	}
	if !slices.Equal(got, outs) {
		t.Fatalf("GetAction = %v\nwant %v (sorted by name)", got, outs)
	}
	// Another key is another entry.
	if _, err := r.GetAction(context.Background(), s.actionKey("round trip, another key")); !errors.Is(err, cache.ErrRemoteMiss) {
		t.Fatalf("GetAction of a key never put: %v; want cache.ErrRemoteMiss", err)
	}
}

func (s *suite) actionAbsent(t *testing.T) {
	r := s.remote(t)
	_, err := r.GetAction(context.Background(), s.actionKey("absent"))
	if !errors.Is(err, cache.ErrRemoteMiss) {
		t.Fatalf("GetAction of an absent key: %v; want an error for which errors.Is(err, cache.ErrRemoteMiss)", err)
	}
}

func (s *suite) actionTwice(t *testing.T) {
	r := s.remote(t)
	key := s.actionKey("twice")
	outs := s.outputs(t, r, "twice")
	for i := range 2 {
		if err := r.PutAction(context.Background(), key, outs); err != nil {
			t.Fatalf("PutAction #%d of the same entry: %v", i+1, err)
		}
	}
	got, err := r.GetAction(context.Background(), key)
	if err != nil || !slices.Equal(got, outs) {
		t.Fatalf("GetAction after two PutActions = %v, %v; want %v", got, err, outs)
	}
	// A different entry under the same key: either one is kept, whole.
	other := s.outputs(t, r, "twice, other")[:2]
	if err := r.PutAction(context.Background(), key, other); err != nil {
		t.Fatalf("PutAction of another entry under a used key: %v", err)
	}
	got, err = r.GetAction(context.Background(), key)
	if err != nil || !(slices.Equal(got, outs) || slices.Equal(got, other)) {
		t.Fatalf("GetAction after PutAction of another entry = %v, %v; want the old entry %v or the new %v", got, err, outs, other)
	}
}

func (s *suite) str(t *testing.T) {
	r := s.remote(t)
	name := r.String()
	if strings.TrimSpace(name) == "" {
		t.Fatal("String() is empty; it names the remote in messages")
	}
	for _, secret := range s.opt.Secrets {
		if secret != "" && strings.Contains(name, secret) {
			t.Errorf("String() = %q contains a secret", name)
		}
	}
}

// gatedReader yields its first n bytes, then waits until gate is closed
// (and tells reached), then yields the rest: a caller that ignores its
// context would then finish the upload.
type gatedReader struct {
	r       io.Reader
	n       int64
	gate    <-chan struct{}
	reached chan<- struct{}
	once    sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		g.once.Do(func() { close(g.reached) })
		<-g.gate
		return g.r.Read(p)
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n, err := g.r.Read(p)
	g.n -= int64(n)
	return n, err
}

// within runs f and fails the test if f fails or takes longer than
// promptly.
func within(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	case <-time.After(promptly):
		t.Fatalf("%s did not return within %v of its context's cancellation", what, promptly)
	}
}

func (s *suite) cancelPut(t *testing.T) {
	r := s.remote(t)
	// Cancelled before the call.
	b := s.newBlob("cancelled put", 1000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, "Put with a cancelled context", func() error {
		if err := r.Put(ctx, b.ref, b.reader()); err == nil {
			return errors.New("succeeded")
		}
		return nil
	})

	// Cancelled while the blob streams: the reader stalls after 1 MiB
	// until the cancellation.
	big := s.newBlob("cancelled put, streaming", 16<<20+3)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	gate, reached := make(chan struct{}), make(chan struct{})
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = r.Put(ctx, big.ref, &gatedReader{r: big.reader(), n: 1 << 20, gate: gate, reached: reached})
	}()
	select {
	case <-reached:
	case <-done:
		t.Fatalf("Put returned before reading 1 MiB of the blob: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("Put did not read 1 MiB of the blob within a minute")
	}
	cancel()
	close(gate)
	select {
	case <-done:
	case <-time.After(promptly):
		t.Fatalf("Put did not return within %v of its context's cancellation", promptly)
	}
	if err == nil {
		t.Fatal("Put succeeded although its context was cancelled while it read the blob")
	}
	// Nothing partial is readable.
	if rc, err := r.Get(context.Background(), big.ref); err == nil {
		err := sameStream(rc, big.reader())
		rc.Close()
		if err != nil {
			t.Fatalf("after a cancelled Put, Get opened an object that is not the whole blob: %v", err)
		}
	}
}

func (s *suite) cancelGet(t *testing.T) {
	r := s.remote(t)
	b := s.newBlob("cancelled get", LargeSize)
	s.put(t, r, b)

	// Cancelled before the call: Get or its first read fails.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, "Get with a cancelled context", func() error {
		rc, err := r.Get(ctx, b.ref)
		if err != nil {
			return nil
		}
		defer rc.Close()
		if _, err := io.ReadAll(rc); err == nil {
			return errors.New("read the blob without an error")
		}
		return nil
	})

	// Cancelled after the first MiB: reading on ends promptly, with an
	// error or (when the rest was already buffered) the exact blob.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	rc, err := r.Get(ctx, b.ref)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	want := b.reader()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatalf("reading the first MiB: %v", err)
	}
	wantHead := make([]byte, len(head))
	io.ReadFull(want, wantHead)
	if !bytes.Equal(head, wantHead) {
		t.Fatal("the first MiB of the blob differs")
	}
	cancel()
	within(t, "reading a blob after its Get's context was cancelled", func() error {
		// A read error is expected; a silent early end or wrong bytes not.
		if err := sameStream(rc, want); errors.Is(err, errDiffers) {
			return err
		}
		return nil
	})
}

func (s *suite) cancelOthers(t *testing.T) {
	r := s.remote(t)
	b := s.newBlob("cancelled others", 10)
	key := s.actionKey("cancelled others")
	outs := s.outputs(t, r, "cancelled others")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, "Missing with a cancelled context", func() error {
		if _, err := r.Missing(ctx, []cache.Ref{b.ref}); err == nil {
			return errors.New("succeeded")
		}
		return nil
	})
	within(t, "PutAction with a cancelled context", func() error {
		if err := r.PutAction(ctx, key, outs); err == nil {
			return errors.New("succeeded")
		}
		return nil
	})
	within(t, "GetAction with a cancelled context", func() error {
		if _, err := r.GetAction(ctx, key); err == nil {
			return errors.New("succeeded")
		}
		return nil
	})
}
