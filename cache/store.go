package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// layoutVersion is written to <store>/VERSION; a store with another version
// is refused rather than misread.
const layoutVersion = "dsbuild store v1\n"

// Store is a local content-addressed store rooted at a directory. It is safe
// for concurrent use by several goroutines and several processes.
type Store struct {
	dir  string
	logf func(format string, args ...any)
	// damagedVersion is set by OpenForCheck when the VERSION file names
	// no layout; badVersion is what it holds.
	damagedVersion bool
	badVersion     string
	// remote, if set, is where blobs missing here are fetched from and
	// where results go (SetRemote).
	remote *remoteLink
}

// DefaultDir is the store used when neither --cache nor DSBUILD_CACHE says
// otherwise: <user cache dir>/dsbuild.
func DefaultDir() (string, error) {
	if d := os.Getenv("DSBUILD_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory (set DSBUILD_CACHE or --cache): %w", err)
	}
	return filepath.Join(base, "dsbuild"), nil
}

var storeDirs = []string{"blobs", "ac", "memo", "stat", "tmp", "roots", "builds", "tags"}

// Open opens the store at dir, creating it if it does not exist. logf, if not
// nil, receives warnings such as the reason for a cache miss on a corrupt
// entry. A store of another layout version is refused; a store whose
// VERSION file is damaged is refused with an error saying to run
// "dsbuild cache check --repair", which opens it with [OpenForCheck].
func Open(dir string, logf func(format string, args ...any)) (*Store, error) {
	s, err := OpenForCheck(dir, logf)
	if err != nil {
		return nil, err
	}
	if s.damagedVersion {
		return nil, &VersionError{Dir: s.dir, Content: s.badVersion}
	}
	return s, nil
}

// OpenForCheck opens the store at dir like [Open], but accepts a damaged
// VERSION file (one that does not name any layout), so that [Store.Check]
// can look at the objects and, repairing, restore it. Only Check may be
// used on a store opened so; a store of another layout version is still
// refused.
func OpenForCheck(dir string, logf func(format string, args ...any)) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	for _, d := range storeDirs {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating store %s: %w", abs, err)
		}
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Store{dir: abs, logf: logf}
	vf := filepath.Join(abs, "VERSION")
	switch b, err := os.ReadFile(vf); {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeFileAtomic(filepath.Join(abs, "tmp"), vf, []byte(layoutVersion), 0o644); err != nil {
			return nil, fmt.Errorf("creating store %s: %w", abs, err)
		}
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", abs, err)
	case string(b) == layoutVersion:
	case otherLayout.Match(b):
		return nil, fmt.Errorf("store %s has layout %q, this dsbuild reads %q: use another --cache directory", abs, strings.TrimSpace(string(b)), strings.TrimSpace(layoutVersion))
	default:
		s.damagedVersion, s.badVersion = true, string(b)
	}
	return s, nil
}

// otherLayout matches a well-formed VERSION of any layout.
var otherLayout = regexp.MustCompile(`^dsbuild store v[0-9]+\n$`)

// VersionError reports a store whose VERSION file is damaged: it names no
// layout at all (a truncated or overwritten file), so the store is refused
// until "dsbuild cache check --repair" has checked the objects and
// restored it.
type VersionError struct {
	Dir     string
	Content string // what the file holds
}

func (e *VersionError) Error() string {
	c := e.Content
	if len(c) > 40 {
		c = c[:40] + "…"
	}
	return fmt.Sprintf("store %s: its VERSION file is damaged (it holds %q, not %q): run dsbuild cache check --repair to check the objects and restore it", e.Dir, c, strings.TrimSpace(layoutVersion))
}

// Dir returns the store's absolute directory.
func (s *Store) Dir() string { return s.dir }

// Logf reports a warning through the store's logger.
func (s *Store) Logf(format string, args ...any) { s.logf(format, args...) }

// TempDir creates a fresh directory under the store's tmp/, on the same
// file system as the blobs. The caller removes it.
func (s *Store) TempDir(pattern string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.dir, "tmp"), pattern)
}

func (s *Store) blobPath(d Digest, compressed bool) string {
	h := d.Hex()
	p := filepath.Join(s.dir, "blobs", h[:2], h)
	if compressed {
		p += ".zst"
	}
	return p
}

// CorruptError reports a stored object whose bytes do not match its name.
// The object has been removed; rebuilding whatever produced it repairs the
// store.
type CorruptError struct {
	Digest Digest
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("store object %s is corrupt (%s); it was removed and will be rebuilt", e.Digest.Short(), e.Reason)
}

// NotFoundError reports a blob that is not in the store.
type NotFoundError struct{ Digest Digest }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("blob %s is not in the store", e.Digest)
}

// IsCorrupt reports whether err is or wraps a *CorruptError.
func IsCorrupt(err error) bool {
	var c *CorruptError
	return errors.As(err, &c)
}

// ResolvePrefix finds the one stored blob whose hex digest starts with
// prefix (at least 4 hex digits, with or without "sha256:").
func (s *Store) ResolvePrefix(prefix string) (Digest, error) {
	h := strings.TrimPrefix(prefix, Prefix)
	if len(h) < 4 {
		return Digest{}, fmt.Errorf("digest prefix %q is too short: give at least 4 hex digits", prefix)
	}
	if len(h) == 64 {
		return ParseDigest(h)
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, "blobs", h[:2]))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Digest{}, err
	}
	var found []Digest
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".zst")
		if strings.HasPrefix(name, h) {
			if d, err := ParseDigest(name); err == nil && !slices.Contains(found, d) {
				found = append(found, d)
			}
		}
	}
	switch len(found) {
	case 0:
		return Digest{}, fmt.Errorf("no stored object has a digest starting with %s", h)
	case 1:
		return found[0], nil
	}
	return Digest{}, fmt.Errorf("digest prefix %s is ambiguous (%d objects): give more digits", h, len(found))
}

// Has reports whether the blob d is stored, without reading it.
func (s *Store) Has(d Digest) bool {
	_, _, ok := s.stat(d)
	return ok
}

func (s *Store) statSize(d Digest) (path string, size int64, compressed bool, ok bool) {
	p := s.blobPath(d, false)
	if fi, err := os.Lstat(p); err == nil {
		return p, fi.Size(), false, true
	}
	p = s.blobPath(d, true)
	if fi, err := os.Lstat(p); err == nil {
		return p, fi.Size(), true, true
	}
	return "", 0, false, false
}

func (s *Store) stat(d Digest) (path string, compressed bool, ok bool) {
	p := s.blobPath(d, false)
	if _, err := os.Lstat(p); err == nil {
		return p, false, true
	}
	p = s.blobPath(d, true)
	if _, err := os.Lstat(p); err == nil {
		return p, true, true
	}
	return "", false, false
}

var (
	encOnce sync.Once
	encoder *zstd.Encoder
	decOnce sync.Once
	decoder *zstd.Decoder
)

// zstdEncoder is shared; EncodeAll is safe for concurrent use. CRCs are off
// because SHA-256 already checks every byte.
func zstdEncoder() *zstd.Encoder {
	encOnce.Do(func() {
		var err error
		encoder, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err) // only invalid options fail
		}
	})
	return encoder
}

func zstdDecoder() *zstd.Decoder {
	decOnce.Do(func() {
		var err error
		decoder, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(8<<30))
		if err != nil {
			panic(err)
		}
	})
	return decoder
}

// mediaMagic lists prefixes of formats that are already compressed.
var mediaMagic = [][]byte{
	{0xFF, 0xD8, 0xFF},             // JPEG
	{0x89, 'P', 'N', 'G'},          // PNG
	{'P', 'K', 0x03, 0x04},         // zip, safetensors-in-zip, npz
	{0x1F, 0x8B},                   // gzip
	{0x28, 0xB5, 0x2F, 0xFD},       // zstd
	{'R', 'I', 'F', 'F'},           // WebP, WAV
	{'B', 'Z', 'h'},                // bzip2
	{0xFD, '7', 'z', 'X', 'Z', 0},  // xz
	{'G', 'I', 'F', '8'},           // GIF
	{0x00, 0x00, 0x00, 0x0C, 'j'},  // JPEG 2000
	{0x1A, 0x45, 0xDF, 0xA3},       // Matroska/WebM
	{0x00, 0x00, 0x00, 0x18, 'f'},  // MP4
	{0x00, 0x00, 0x00, 0x20, 'f'},  // MP4
	{0x00, 0x00, 0x00, 0x1C, 'f'},  // MP4
	{'O', 'g', 'g', 'S'},           // Ogg
	{'I', 'I', '*', 0x00, 0x10, 0}, // (rare) TIFF-wrapped JPEG
}

// sampleSize is how much of a blob decides whether it is worth compressing.
const sampleSize = 64 << 10

// minCompress is the size below which blobs are kept raw.
const minCompress = 512

// compressible reports whether a blob starting with sample is worth keeping
// zstd-compressed: not known media, not tiny, and the sample shrinks by at
// least a tenth.
func compressible(sample []byte, total int64) bool {
	if total < minCompress {
		return false
	}
	for _, m := range mediaMagic {
		if bytes.HasPrefix(sample, m) {
			return false
		}
	}
	out := zstdEncoder().EncodeAll(sample, make([]byte, 0, len(sample)))
	return len(out) < len(sample)*9/10
}

// PutBytes stores data and returns its digest. Storing bytes that are already
// present is cheap and leaves the existing blob.
func (s *Store) PutBytes(data []byte) (Digest, error) {
	d := Sum(data)
	if s.Has(d) {
		return d, nil
	}
	sample := data
	if len(sample) > sampleSize {
		sample = sample[:sampleSize]
	}
	body, comp := data, false
	if compressible(sample, int64(len(data))) {
		body, comp = zstdEncoder().EncodeAll(data, make([]byte, 0, len(data)/2)), true
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "tmp"), s.blobPath(d, comp), body, 0o444); err != nil {
		return d, fmt.Errorf("storing blob %s: %w", d.Short(), err)
	}
	return d, nil
}

// PutFile stores the file at path in one pass (hashing while writing) and
// returns its digest and size.
func (s *Store) PutFile(path string) (Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Digest{}, 0, err
	}
	return s.PutReader(f, fi.Size())
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// PutReader stores the bytes of r; size is a hint used to choose the
// encoding (pass -1 when unknown).
func (s *Store) PutReader(r io.Reader, size int64) (Digest, int64, error) {
	return s.putReader(r, size, nil)
}

// errWrongContent is putReader's error for bytes that are not the blob
// they were fetched as; nothing was stored.
type errWrongContent struct {
	want, got Digest
	n         int64
}

func (e *errWrongContent) Error() string {
	return fmt.Sprintf("%d bytes that hash to %s, not %s", e.n, e.got.Short(), e.want.Short())
}

// putReader is PutReader; with want set, bytes that do not hash to *want
// are not stored (an *errWrongContent).
func (s *Store) putReader(r io.Reader, size int64, want *Digest) (Digest, int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	n, err := io.ReadFull(r, buf[:sampleSize])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Digest{}, 0, err
	}
	sample := buf[:n]
	if n < sampleSize {
		// Small blob: all of it is in memory.
		if want != nil {
			if got := Sum(sample); got != *want {
				return Digest{}, int64(n), &errWrongContent{*want, got, int64(n)}
			}
		}
		d, err := s.PutBytes(sample)
		return d, int64(n), err
	}
	if size < 0 {
		size = sampleSize + 1
	}
	comp := compressible(sample, size)
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "blob-*")
	if err != nil {
		return Digest{}, 0, err
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	h := sha256.New()
	var w io.Writer = tmp
	var zw *zstd.Encoder
	if comp {
		zw, err = zstd.NewWriter(tmp, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return Digest{}, 0, err
		}
		w = zw
	}
	total := int64(0)
	chunk := sample
	for {
		h.Write(chunk)
		if _, err := w.Write(chunk); err != nil {
			return Digest{}, 0, err
		}
		total += int64(len(chunk))
		m, rerr := r.Read(buf[:cap(buf)])
		if m == 0 && rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.EOF {
			return Digest{}, 0, rerr
		}
		chunk = buf[:m]
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return Digest{}, 0, err
		}
	}
	var d Digest
	h.Sum(d[:0])
	if want != nil && d != *want {
		return Digest{}, total, &errWrongContent{*want, d, total}
	}
	if err := tmp.Chmod(0o444); err != nil {
		return d, 0, err
	}
	if err := tmp.Close(); err != nil {
		return d, 0, err
	}
	if s.Has(d) {
		os.Remove(tmpName)
		ok = true
		return d, total, nil
	}
	dst := s.blobPath(d, comp)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return d, 0, err
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return d, 0, err
	}
	ok = true
	return d, total, nil
}

// ReadBlob returns the bytes of blob d after checking that they hash to d.
func (s *Store) ReadBlob(d Digest) ([]byte, error) {
	p, comp, ok := s.stat(d)
	if !ok && s.fetch(d) {
		p, comp, ok = s.stat(d)
	}
	if !ok {
		return nil, &NotFoundError{d}
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Short(), err)
	}
	data := raw
	if comp {
		data, err = zstdDecoder().DecodeAll(raw, nil)
		if err != nil {
			return nil, s.corrupt(d, p, "zstd: "+err.Error())
		}
	}
	if got := Sum(data); got != d {
		return nil, s.corrupt(d, p, "content hashes to "+got.Short())
	}
	return data, nil
}

// verifyingReader hashes what it reads and, at the end, turns io.EOF into a
// *CorruptError when the bytes were not blob d.
type verifyingReader struct {
	s      *Store
	d      Digest
	path   string
	r      io.Reader
	h      hash.Hash
	closer func() error
	// mu and closed make a Read after (or during) Close an error, never a
	// verdict on the blob: an HTTP client may still read a request body
	// in its own goroutine after the request returned (a server that
	// answered before it read it all), and a closed zstd decoder's error
	// must not pass for a corrupt blob, which would be removed.
	mu     sync.Mutex
	closed bool
}

func (v *verifyingReader) Read(b []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, os.ErrClosed
	}
	n, err := v.r.Read(b)
	v.h.Write(b[:n])
	if err == io.EOF {
		var got Digest
		v.h.Sum(got[:0])
		if got != v.d {
			return n, v.s.corrupt(v.d, v.path, "content hashes to "+got.Short())
		}
	} else if err != nil && strings.HasSuffix(v.path, ".zst") {
		return n, v.s.corrupt(v.d, v.path, "zstd: "+err.Error())
	}
	return n, err
}

func (v *verifyingReader) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	return v.closer()
}

// openVerified streams blob d, checking its hash at the end (see TreeFS.Open).
func (s *Store) openVerified(d Digest) (io.ReadCloser, error) {
	p, comp, ok := s.stat(d)
	if !ok && s.fetch(d) {
		p, comp, ok = s.stat(d)
	}
	if !ok {
		return nil, &NotFoundError{d}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Short(), err)
	}
	v := &verifyingReader{s: s, d: d, path: p, r: f, h: sha256.New(), closer: f.Close}
	if comp {
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(8<<30))
		if err != nil {
			f.Close()
			return nil, s.corrupt(d, p, "zstd: "+err.Error())
		}
		v.r = zr
		v.closer = func() error { zr.Close(); return f.Close() }
	}
	return v, nil
}

// CopyBlob writes blob d to w, checking its hash as it streams. On a
// mismatch, the bytes already written are wrong and the error is a
// *CorruptError: the caller must discard w's content.
func (s *Store) CopyBlob(w io.Writer, d Digest) (int64, error) {
	p, comp, ok := s.stat(d)
	if !ok && s.fetch(d) {
		p, comp, ok = s.stat(d)
	}
	if !ok {
		return 0, &NotFoundError{d}
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("reading blob %s: %w", d.Short(), err)
	}
	defer f.Close()
	var r io.Reader = f
	if comp {
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(8<<30))
		if err != nil {
			return 0, s.corrupt(d, p, "zstd: "+err.Error())
		}
		defer zr.Close()
		r = zr
	}
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(io.MultiWriter(w, h), r, *bp)
	if err != nil {
		if comp {
			return n, s.corrupt(d, p, "zstd: "+err.Error())
		}
		return n, fmt.Errorf("reading blob %s: %w", d.Short(), err)
	}
	var got Digest
	h.Sum(got[:0])
	if got != d {
		return n, s.corrupt(d, p, "content hashes to "+got.Short())
	}
	return n, nil
}

// corrupt logs, removes the bad object and returns the error describing it.
// It also drops every stat cache, whose entries may name the removed blob:
// the next build of each source re-hashes it once.
func (s *Store) corrupt(d Digest, path, reason string) error {
	s.logf("cache: %s is corrupt (%s): removing it; whatever produced it will be rebuilt", d, reason)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.logf("cache: could not remove corrupt blob %s: %v", path, err)
	}
	s.dropStatCaches()
	return &CorruptError{Digest: d, Path: path, Reason: reason}
}

func (s *Store) dropStatCaches() {
	dir := filepath.Join(s.dir, "stat")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

// IsNotFound reports whether err is or wraps a *NotFoundError.
func IsNotFound(err error) bool {
	var n *NotFoundError
	return errors.As(err, &n)
}

// writeFileAtomic writes data to a temporary file in tmpDir and renames it to
// path, so that readers see either the old file or the whole new one.
func writeFileAtomic(tmpDir, path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmpDir, "w-*")
	if err != nil {
		return err
	}
	name := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

// WriteFileAtomic writes data to path (outside the store, e.g. a lockfile)
// through a temporary file in the same directory and a rename.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileAtomic(filepath.Dir(path), path, data, perm)
}
