package cache_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"

	"dsbuild/cache"
)

// logRecorder collects what a store logs.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, fmt.Sprintf(format, args...))
}

func (l *logRecorder) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// find returns the first message containing all of subs, or "".
func (l *logRecorder) find(subs ...string) string {
	for _, m := range l.messages() {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(m, s)
		}
		if ok {
			return m
		}
	}
	return ""
}

// newStore opens a fresh store in a temporary directory.
func newStore(t *testing.T) (*cache.Store, *logRecorder) {
	t.Helper()
	log := &logRecorder{}
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), log.logf)
	if err != nil {
		t.Fatalf("cache.Open: %v", err)
	}
	return s, log
}

// blobFile returns the path of blob d on disk and whether it is the
// zstd-compressed form. It fails the test unless exactly one form exists.
func blobFile(t *testing.T, s *cache.Store, d cache.Digest) (string, bool) {
	t.Helper()
	raw := filepath.Join(s.Dir(), "blobs", d.Hex()[:2], d.Hex())
	zst := raw + ".zst"
	_, errRaw := os.Lstat(raw)
	_, errZst := os.Lstat(zst)
	switch {
	case errRaw == nil && errZst == nil:
		t.Fatalf("blob %s is stored both raw and compressed", d.Short())
	case errRaw == nil:
		return raw, false
	case errZst == nil:
		return zst, true
	}
	t.Fatalf("blob %s: no file at %s[.zst]", d.Short(), raw)
	return "", false
}

// overwrite replaces the content of a (read-only) stored file.
func overwrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// listFiles returns every regular file under dir, relative and
// slash-separated, mapped to its size.
func listFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// text returns n bytes of highly compressible, line-structured text.
func text(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%17))
		b.WriteString(" of some very repetitive dataset text\n")
	}
	return b.Bytes()[:n]
}

func TestOpenLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "store")
	s, err := cache.Open(dir, nil)
	if err != nil {
		t.Fatalf("cache.Open(%s) = %v", dir, err)
	}
	if !filepath.IsAbs(s.Dir()) || s.Dir() != dir {
		t.Errorf("s.Dir() = %q, want %q", s.Dir(), dir)
	}
	for _, sub := range []string{"blobs", "ac", "memo", "stat", "tmp", "roots", "builds", "tags"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("store subdirectory %s: %v, want a directory", sub, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "VERSION")); err != nil || string(b) != "dsbuild store v1\n" {
		t.Errorf("VERSION = %q, %v, want %q", b, err, "dsbuild store v1\n")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ after Open holds %d entries, want 0", len(ents))
	}
	// A nil logger is allowed: Logf must not panic.
	s.Logf("hello %d", 1)

	// Reopening keeps the store.
	d, err := s.PutBytes([]byte("kept"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := cache.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopening: cache.Open(%s) = %v", dir, err)
	}
	if !s2.Has(d) {
		t.Errorf("after reopening, s.Has(%v) = false, want true", d.Short())
	}

	// A store of another layout version is refused.
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("dsbuild store v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Open(dir, nil); err == nil || !strings.Contains(err.Error(), "dsbuild store v2") {
		t.Errorf("cache.Open of a v2 store = %v, want an error naming the layout", err)
	}
}

func TestLogf(t *testing.T) {
	s, log := newStore(t)
	s.Logf("a %s %d", "b", 3)
	if got := log.messages(); len(got) != 1 || got[0] != "a b 3" {
		t.Errorf("log after s.Logf = %q, want [%q]", got, "a b 3")
	}
}

func TestPutBytesReadBlob(t *testing.T) {
	pngLike := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, text(100<<10)...)
	jpegLike := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, text(100<<10)...)
	gzipLike := append([]byte{0x1F, 0x8B}, text(4<<10)...)
	for _, tt := range []struct {
		name       string
		data       []byte
		compressed bool
	}{
		{"empty", nil, false},
		{"small", []byte("hello, world\n"), false},
		{"511 repeated bytes", bytes.Repeat([]byte("a"), 511), false},
		{"512 repeated bytes", bytes.Repeat([]byte("a"), 512), true},
		{"text 100KiB", text(100 << 10), true},
		{"text exactly 64KiB", text(64 << 10), true},
		{"random 200KiB", randomBytes(1, 200<<10), false},
		{"random 1KiB", randomBytes(2, 1<<10), false},
		{"png magic", pngLike, false},
		{"jpeg magic", jpegLike, false},
		{"gzip magic", gzipLike, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			d, err := s.PutBytes(tt.data)
			if err != nil {
				t.Fatalf("s.PutBytes(%d bytes) = %v", len(tt.data), err)
			}
			if want := cache.Sum(tt.data); d != want {
				t.Fatalf("s.PutBytes(%d bytes) = %v, want %v", len(tt.data), d, want)
			}
			if !s.Has(d) {
				t.Errorf("s.Has(%v) = false after PutBytes, want true", d.Short())
			}
			p, comp := blobFile(t, s, d)
			if comp != tt.compressed {
				t.Errorf("blob stored as %s, compressed = %v, want %v", filepath.Base(p), comp, tt.compressed)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o444 {
				t.Errorf("blob file mode = %v, want -r--r--r--", fi.Mode().Perm())
			}
			if comp && fi.Size() >= int64(len(tt.data)) {
				t.Errorf("compressed blob is %d bytes for %d bytes of data, want it smaller", fi.Size(), len(tt.data))
			}
			if !comp && fi.Size() != int64(len(tt.data)) {
				t.Errorf("raw blob is %d bytes, want %d", fi.Size(), len(tt.data))
			}
			got, err := s.ReadBlob(d)
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Errorf("s.ReadBlob(%v) = %d bytes, %v, want the %d bytes stored, nil", d.Short(), len(got), err, len(tt.data))
			}
			var buf bytes.Buffer
			n, err := s.CopyBlob(&buf, d)
			if err != nil || n != int64(len(tt.data)) || !bytes.Equal(buf.Bytes(), tt.data) {
				t.Errorf("s.CopyBlob(w, %v) = %d, %v (equal=%v), want %d, nil, equal", d.Short(), n, err, bytes.Equal(buf.Bytes(), tt.data), len(tt.data))
			}
			if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
				t.Errorf("tmp/ holds %d entries after PutBytes, want 0", len(ents))
			}
		})
	}
}

func TestPutBytesIdempotent(t *testing.T) {
	s, _ := newStore(t)
	data := text(70 << 10)
	d1, err := s.PutBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := blobFile(t, s, d1)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := s.PutBytes(data)
	if err != nil || d2 != d1 {
		t.Fatalf("second s.PutBytes = %v, %v, want %v, nil", d2, err, d1)
	}
	d3, n, err := s.PutReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || d3 != d1 || n != int64(len(data)) {
		t.Fatalf("s.PutReader of the same bytes = %v, %d, %v, want %v, %d, nil", d3, n, err, d1, len(data))
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("re-putting a blob replaced its file, want the existing one left")
	}
	if files := listFiles(t, filepath.Join(s.Dir(), "blobs")); len(files) != 1 {
		t.Errorf("blobs/ holds %v, want exactly one file", files)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d entries after re-putting, want 0", len(ents))
	}
}

func TestPutReaderMatchesPutBytes(t *testing.T) {
	t.Parallel()
	const sample = 64 << 10
	sizes := []int{0, 1, 100, sample - 1, sample, sample + 1, 3<<19 + 7} // the last spans several 1 MiB buffers
	ref, _ := newStore(t)
	s, _ := newStore(t)
	for _, kind := range []string{"text", "random"} {
		for _, n := range sizes {
			var data []byte
			if kind == "text" {
				data = text(n)
			} else {
				data = randomBytes(uint64(n), n)
			}
			want, err := ref.PutBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			_, wantComp := blobFile(t, ref, want)
			readers := map[string]func() io.Reader{
				"bytes":    func() io.Reader { return bytes.NewReader(data) },
				"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
				"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
			}
			for rname, mk := range readers {
				for _, hint := range []int64{int64(n), -1} {
					d, got, err := s.PutReader(mk(), hint)
					if err != nil || d != want || got != int64(n) {
						t.Errorf("%s %d bytes, %s reader: s.PutReader(r, %d) = %v, %d, %v, want %v, %d, nil", kind, n, rname, hint, d.Short(), got, err, want.Short(), n)
						continue
					}
					p, comp := blobFile(t, s, d)
					if comp != wantComp && hint >= 0 {
						t.Errorf("%s %d bytes: PutReader stored compressed=%v, PutBytes compressed=%v", kind, n, comp, wantComp)
					}
					b, err := s.ReadBlob(d)
					if err != nil || !bytes.Equal(b, data) {
						t.Errorf("%s %d bytes: s.ReadBlob(%v) after PutReader = %d bytes, %v, want the data", kind, n, d.Short(), len(b), err)
					}
					if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
						t.Errorf("%s %d bytes: tmp/ holds %d entries after PutReader, want 0", kind, n, len(ents))
					}
					// Start over for the next reader.
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
}

func TestPutReaderError(t *testing.T) {
	for _, n := range []int{100, 3 << 20} {
		s, _ := newStore(t)
		data := text(n)
		// TimeoutReader fails its second read.
		_, _, err := s.PutReader(iotest.TimeoutReader(bytes.NewReader(data)), int64(n))
		if !errors.Is(err, iotest.ErrTimeout) {
			t.Errorf("s.PutReader(failing reader of %d bytes) = %v, want %v", n, err, iotest.ErrTimeout)
		}
		if files := listFiles(t, filepath.Join(s.Dir(), "blobs")); len(files) != 0 {
			t.Errorf("blobs/ after a failed PutReader holds %v, want nothing", files)
		}
		if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
			t.Errorf("tmp/ after a failed PutReader holds %d entries, want 0", len(ents))
		}
	}
}

func TestPutFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		data []byte
		comp bool
	}{
		{"large.txt", text(2<<20 + 3), true},
		{"large.bin", randomBytes(7, 2<<20+3), false},
		{"small.txt", []byte("small\n"), false},
		{"empty", nil, false},
	} {
		p := filepath.Join(dir, tt.name)
		if err := os.WriteFile(p, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, _ := newStore(t)
		d, n, err := s.PutFile(p)
		if want := cache.Sum(tt.data); err != nil || d != want || n != int64(len(tt.data)) {
			t.Errorf("s.PutFile(%s) = %v, %d, %v, want %v, %d, nil", tt.name, d.Short(), n, err, want.Short(), len(tt.data))
			continue
		}
		if _, comp := blobFile(t, s, d); comp != tt.comp {
			t.Errorf("s.PutFile(%s) stored compressed=%v, want %v", tt.name, comp, tt.comp)
		}
		if b, err := s.ReadBlob(d); err != nil || !bytes.Equal(b, tt.data) {
			t.Errorf("s.ReadBlob(%v) after PutFile(%s) = %d bytes, %v, want the file", d.Short(), tt.name, len(b), err)
		}
		// The same bytes through PutBytes name the same blob.
		if d2, err := s.PutBytes(tt.data); err != nil || d2 != d {
			t.Errorf("s.PutBytes(content of %s) = %v, %v, want %v, nil", tt.name, d2.Short(), err, d.Short())
		}
	}
	s, _ := newStore(t)
	if _, _, err := s.PutFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("s.PutFile(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestReadBlobNotFound(t *testing.T) {
	s, _ := newStore(t)
	d := cache.Sum([]byte("absent"))
	if s.Has(d) {
		t.Errorf("s.Has(absent) = true, want false")
	}
	_, err := s.ReadBlob(d)
	var nf *cache.NotFoundError
	if !errors.As(err, &nf) || nf.Digest != d {
		t.Errorf("s.ReadBlob(absent) = %v, want a *NotFoundError for %v", err, d.Short())
	}
	if cache.IsCorrupt(err) {
		t.Errorf("cache.IsCorrupt(%v) = true, want false", err)
	}
	if _, err := s.CopyBlob(io.Discard, d); !errors.As(err, &nf) {
		t.Errorf("s.CopyBlob(absent) = %v, want a *NotFoundError", err)
	}
	if !strings.Contains(err.Error(), d.String()) {
		t.Errorf("NotFoundError = %q, want it to name %s", err, d)
	}
}

// corruption is one way of damaging a stored blob.
type corruption struct {
	name string
	make func(t *testing.T, path string, size int64) []byte
}

func corruptions() []corruption {
	return []corruption{
		{"same size", func(t *testing.T, p string, size int64) []byte {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xFF
			return b
		}},
		{"shorter", func(t *testing.T, p string, size int64) []byte {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return b[:len(b)-1]
		}},
		{"longer", func(t *testing.T, p string, size int64) []byte {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return append(b, 'x')
		}},
		{"empty", func(*testing.T, string, int64) []byte { return nil }},
	}
}

// checkCorruptErr checks that err reports blob d as corrupt, that the blob
// is gone and that the store logged it.
func checkCorruptErr(t *testing.T, call string, s *cache.Store, log *logRecorder, d cache.Digest, path string, err error) {
	t.Helper()
	if !cache.IsCorrupt(err) {
		t.Fatalf("%s = %v, want a corrupt-blob error", call, err)
	}
	var ce *cache.CorruptError
	errors.As(err, &ce)
	if ce.Digest != d || ce.Path != path || ce.Reason == "" {
		t.Errorf("%s = CorruptError{Digest: %v, Path: %q, Reason: %q}, want Digest %v, Path %q and a reason", call, ce.Digest.Short(), ce.Path, ce.Reason, d.Short(), path)
	}
	if !strings.Contains(err.Error(), d.Short()) {
		t.Errorf("%s error %q does not name the blob %s", call, err, d.Short())
	}
	if s.Has(d) {
		t.Errorf("after %s, s.Has(%v) = true, want the corrupt blob removed", call, d.Short())
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after %s, %s still exists (%v)", call, path, err)
	}
	if log.find(d.String(), "corrupt") == "" {
		t.Errorf("after %s, the log %q has no message naming %v as corrupt", call, log.messages(), d)
	}
	// A second read is a plain miss.
	var nf *cache.NotFoundError
	if _, err := s.ReadBlob(d); !errors.As(err, &nf) {
		t.Errorf("s.ReadBlob after removal = %v, want a *NotFoundError", err)
	}
}

func TestReadBlobCorrupt(t *testing.T) {
	for _, src := range []struct {
		name string
		data []byte
		comp bool
	}{
		{"raw", randomBytes(3, 10<<10), false},
		{"zst", text(100 << 10), true},
	} {
		for _, c := range corruptions() {
			for _, read := range []string{"ReadBlob", "CopyBlob", "ReadTree"} {
				t.Run(src.name+"/"+c.name+"/"+read, func(t *testing.T) {
					t.Parallel()
					s, log := newStore(t)
					d, err := s.PutBytes(src.data)
					if err != nil {
						t.Fatal(err)
					}
					p, comp := blobFile(t, s, d)
					if comp != src.comp {
						t.Fatalf("blob stored compressed=%v, want %v", comp, src.comp)
					}
					fi, _ := os.Stat(p)
					overwrite(t, p, c.make(t, p, fi.Size()))
					switch read {
					case "ReadBlob":
						b, err := s.ReadBlob(d)
						if b != nil {
							t.Errorf("s.ReadBlob(corrupt) returned %d bytes, want none", len(b))
						}
						checkCorruptErr(t, "s.ReadBlob(d)", s, log, d, p, err)
					case "CopyBlob":
						_, err := s.CopyBlob(io.Discard, d)
						checkCorruptErr(t, "s.CopyBlob(w, d)", s, log, d, p, err)
					case "ReadTree":
						_, err := s.ReadTree(d)
						checkCorruptErr(t, "s.ReadTree(d)", s, log, d, p, err)
					}
				})
			}
		}
	}
}

// A .zst blob that is valid zstd but of other bytes is caught by the hash.
func TestReadBlobCorruptValidZstd(t *testing.T) {
	s, log := newStore(t)
	data := text(100 << 10)
	d, err := s.PutBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	p, comp := blobFile(t, s, d)
	if !comp {
		t.Fatalf("text blob stored raw, want .zst")
	}
	other := bytes.ToUpper(data)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	overwrite(t, p, enc.EncodeAll(other, nil))
	_, err = s.ReadBlob(d)
	checkCorruptErr(t, "s.ReadBlob(d)", s, log, d, p, err)
	var ce *cache.CorruptError
	if errors.As(err, &ce); !strings.Contains(ce.Reason, cache.Sum(other).Short()) {
		t.Errorf("CorruptError.Reason = %q, want it to name what the content hashes to (%s)", ce.Reason, cache.Sum(other).Short())
	}

	// The same through CopyBlob, which streams.
	d, err = s.PutBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	overwrite(t, p, enc.EncodeAll(other, nil))
	var buf bytes.Buffer
	n, err := s.CopyBlob(&buf, d)
	checkCorruptErr(t, "s.CopyBlob(w, d)", s, log, d, p, err)
	if n != int64(len(other)) {
		t.Errorf("s.CopyBlob(w, corrupt) = %d bytes written, want %d (the caller discards them)", n, len(other))
	}
}

func TestTempDir(t *testing.T) {
	s, _ := newStore(t)
	d, err := s.TempDir("job-*")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(d) != filepath.Join(s.Dir(), "tmp") || !strings.HasPrefix(filepath.Base(d), "job-") {
		t.Errorf("s.TempDir(%q) = %s, want a job-* directory in %s", "job-*", d, filepath.Join(s.Dir(), "tmp"))
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Errorf("s.TempDir result: %v, want a directory", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.lock")
	for _, content := range []string{"first\n", "second, longer\n", ""} {
		if err := cache.WriteFileAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatalf("WriteFileAtomic(%s, %q) = %v", p, content, err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Errorf("after WriteFileAtomic(%q), file = %q, %v", content, b, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("WriteFileAtomic mode = %v, want -rw-------", fi.Mode().Perm())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after WriteFileAtomic, want 1 (no temporary files)", len(ents))
	}
	if err := cache.WriteFileAtomic(filepath.Join(dir, "no", "such", "dir", "f"), []byte("x"), 0o644); err != nil {
		t.Errorf("WriteFileAtomic into a new directory = %v, want it created", err)
	}
}
