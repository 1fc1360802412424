//go:build unix

package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dsbuild/cache"
)

var ctx = context.Background()

// srcFiles is the content of the source tree made by makeSource.
var srcFiles = map[string]string{
	"a.txt":          "alpha\n",
	"bin/run.sh":     "#!/bin/sh\necho hi\n",
	"sub/y.txt":      "why\n",
	"sub/deep/x.dat": string(text(70 << 10)), // over the sample size: streamed, compressed
}

// makeSource writes srcFiles under a new directory, plus
//
//	link.txt -> a.txt         (a symbolic link to a file, followed)
//	empty/                    (an empty directory)
//	emptyparent/emptychild/   (a directory holding only an empty directory)
//
// bin/run.sh is executable.
func makeSource(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, srcFiles)
	if err := os.Chmod(filepath.Join(root, "bin", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(root, "link.txt")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"empty", "emptyparent/emptychild"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// encodeDigest is the digest of a tree listing, computed without the store.
func encodeDigest(t *testing.T, entries ...cache.TreeEntry) cache.Digest {
	t.Helper()
	b, err := cache.EncodeTree(entries)
	if err != nil {
		t.Fatal(err)
	}
	return cache.Sum(b)
}

func fileEntry(name, content string, kind cache.EntryKind) cache.TreeEntry {
	return cache.TreeEntry{Name: name, Kind: kind, Digest: cache.Sum([]byte(content)), Size: int64(len(content))}
}

// expectedSource is the root digest PutDir must give for makeSource's tree,
// built by hand from EncodeTree.
func expectedSource(t *testing.T, keepEmpty bool) cache.Digest {
	x := srcFiles["sub/deep/x.dat"]
	deep := encodeDigest(t, fileEntry("x.dat", x, cache.File))
	sub := encodeDigest(t,
		cache.TreeEntry{Name: "deep", Kind: cache.Dir, Digest: deep, Size: int64(len(x))},
		fileEntry("y.txt", srcFiles["sub/y.txt"], cache.File))
	bin := encodeDigest(t, fileEntry("run.sh", srcFiles["bin/run.sh"], cache.Exec))
	entries := []cache.TreeEntry{
		fileEntry("a.txt", srcFiles["a.txt"], cache.File),
		{Name: "bin", Kind: cache.Dir, Digest: bin, Size: int64(len(srcFiles["bin/run.sh"]))},
		fileEntry("link.txt", srcFiles["a.txt"], cache.File),
		{Name: "sub", Kind: cache.Dir, Digest: sub, Size: int64(len(x) + len(srcFiles["sub/y.txt"]))},
	}
	if keepEmpty {
		emptyparent := encodeDigest(t, cache.TreeEntry{Name: "emptychild", Kind: cache.Dir, Digest: cache.EmptyTree})
		entries = append(entries,
			cache.TreeEntry{Name: "empty", Kind: cache.Dir, Digest: cache.EmptyTree},
			cache.TreeEntry{Name: "emptyparent", Kind: cache.Dir, Digest: emptyparent})
	}
	return encodeDigest(t, entries...)
}

func sourceBytes() int64 {
	n := int64(len(srcFiles["a.txt"])) // link.txt
	for _, c := range srcFiles {
		n += int64(len(c))
	}
	return n
}

// walkList lists a stored tree as "path kind size" lines.
func walkList(t *testing.T, s *cache.Store, d cache.Digest) string {
	t.Helper()
	var out []string
	err := s.WalkTree(d, func(p string, e cache.TreeEntry) error {
		out = append(out, fmt.Sprintf("%s %c %d", p, e.Kind, e.Size))
		return nil
	})
	if err != nil {
		t.Fatalf("s.WalkTree(%v) = %v", d.Short(), err)
	}
	return strings.Join(out, "\n")
}

func TestPutDir(t *testing.T) {
	s, _ := newStore(t)
	src := makeSource(t)
	d, st, err := s.PutDir(ctx, src, cache.IngestOptions{})
	if err != nil {
		t.Fatalf("s.PutDir(%s) = %v", src, err)
	}
	if want := expectedSource(t, false); d != want {
		t.Errorf("s.PutDir(src) = %v, want %v\ngot tree:\n%s", d, want, walkList(t, s, d))
	}
	if want := (cache.IngestStats{Files: 5, Bytes: sourceBytes(), Hashed: 5}); st != want {
		t.Errorf("s.PutDir(src) stats = %+v, want %+v", st, want)
	}
	wantList := strings.Join([]string{
		"a.txt f 6",
		"bin d 18",
		"bin/run.sh x 18",
		"link.txt f 6",
		fmt.Sprintf("sub d %d", 4+70<<10),
		fmt.Sprintf("sub/deep d %d", 70<<10),
		fmt.Sprintf("sub/deep/x.dat f %d", 70<<10),
		"sub/y.txt f 4",
	}, "\n")
	if got := walkList(t, s, d); got != wantList {
		t.Errorf("tree of s.PutDir(src):\n%s\nwant:\n%s", got, wantList)
	}
	if err := s.TreeComplete(d); err != nil {
		t.Errorf("s.TreeComplete(PutDir result) = %v, want nil", err)
	}
	for name, content := range srcFiles {
		b, err := s.ReadBlob(cache.Sum([]byte(content)))
		if err != nil || string(b) != content {
			t.Errorf("s.ReadBlob(digest of %s) = %d bytes, %v, want the file", name, len(b), err)
		}
	}
	if _, comp := blobFile(t, s, cache.Sum([]byte(srcFiles["sub/deep/x.dat"]))); !comp {
		t.Errorf("70 KiB text file stored raw, want .zst")
	}
	// The empty directories left no tree behind.
	if s.Has(cache.EmptyTree) {
		t.Errorf("s.Has(EmptyTree) = true after PutDir without KeepEmptyDirs, want false")
	}

	// Ingesting again is idempotent.
	d2, _, err := s.PutDir(ctx, src, cache.IngestOptions{Workers: 1})
	if err != nil || d2 != d {
		t.Errorf("second s.PutDir(src) = %v, %v, want %v, nil", d2, err, d)
	}
}

func TestPutDirKeepEmptyDirs(t *testing.T) {
	s, _ := newStore(t)
	src := makeSource(t)
	d, st, err := s.PutDir(ctx, src, cache.IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatalf("s.PutDir(src, KeepEmptyDirs) = %v", err)
	}
	if want := expectedSource(t, true); d != want {
		t.Errorf("s.PutDir(src, KeepEmptyDirs) = %v, want %v\ngot tree:\n%s", d, want, walkList(t, s, d))
	}
	if st.Files != 5 {
		t.Errorf("s.PutDir(src, KeepEmptyDirs) stats.Files = %d, want 5", st.Files)
	}
	list := walkList(t, s, d)
	for _, want := range []string{"empty d 0", "emptyparent d 0", "emptyparent/emptychild d 0"} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("tree with KeepEmptyDirs lacks %q:\n%s", want, list)
		}
	}
	if err := s.TreeComplete(d); err != nil {
		t.Errorf("s.TreeComplete = %v, want nil", err)
	}
}

func TestPutDirEmptyRoot(t *testing.T) {
	s, _ := newStore(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, st, err := s.PutDir(ctx, root, cache.IngestOptions{})
	if err != nil || d != cache.EmptyTree || st != (cache.IngestStats{}) {
		t.Errorf("s.PutDir(only empty dirs) = %v, %+v, %v, want EmptyTree, {}, nil", d, st, err)
	}
	if !s.Has(cache.EmptyTree) {
		t.Errorf("s.Has(EmptyTree) = false after ingesting an empty root, want the root tree stored")
	}
}

func TestPutDirErrors(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutDir(ctx, file, cache.IngestOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("s.PutDir(a file) = %v, want a not-a-directory error", err)
	}
	if _, _, err := s.PutDir(ctx, filepath.Join(dir, "missing"), cache.IngestOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("s.PutDir(missing) = %v, want fs.ErrNotExist", err)
	}

	for _, tt := range []struct {
		name  string
		setup func(root string) error
		want  string // in the error, after the root is prefixed
	}{
		{"link loop to itself", func(root string) error {
			return os.Symlink(".", filepath.Join(root, "sub", "loop"))
		}, "sub/loop"},
		{"link loop to the root", func(root string) error {
			return os.Symlink("../..", filepath.Join(root, "sub", "deep", "up"))
		}, "sub/deep/up"},
		{"dangling link", func(root string) error {
			return os.Symlink("nowhere", filepath.Join(root, "sub", "dangling"))
		}, "sub/dangling"},
		{"newline in name", func(root string) error {
			return os.WriteFile(filepath.Join(root, "sub", "a\nb"), nil, 0o644)
		}, "sub/a\nb"},
		{"fifo", func(root string) error {
			return syscall.Mkfifo(filepath.Join(root, "sub", "pipe"), 0o644)
		}, "sub/pipe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := makeSource(t)
			if err := tt.setup(root); err != nil {
				t.Fatal(err)
			}
			for _, hashOnly := range []bool{false, true} {
				d, _, err := s.PutDir(ctx, root, cache.IngestOptions{HashOnly: hashOnly})
				if want := filepath.Join(root, tt.want); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("s.PutDir(src with %s, HashOnly=%v) = %v, %v, want an error naming %q", tt.name, hashOnly, d, err, want)
				}
			}
			if strings.Contains(tt.name, "loop") {
				_, _, err := s.PutDir(ctx, root, cache.IngestOptions{})
				if err == nil || !strings.Contains(err.Error(), "loop") {
					t.Errorf("s.PutDir(src with %s) = %v, want it to say it is a loop", tt.name, err)
				}
			}
		})
	}
}

func TestPutDirSymlinkToDir(t *testing.T) {
	s, _ := newStore(t)
	root := makeSource(t)
	if err := os.Symlink("sub", filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	d, st, err := s.PutDir(ctx, root, cache.IngestOptions{})
	if err != nil {
		t.Fatalf("s.PutDir(src with a link to a directory) = %v", err)
	}
	if st.Files != 7 {
		t.Errorf("stats.Files = %d, want 7 (the linked directory's two files counted again)", st.Files)
	}
	entries, err := s.ReadTree(d)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cache.TreeEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if a, sub := byName["alias"], byName["sub"]; a.Kind != cache.Dir || a.Digest != sub.Digest || a.Size != sub.Size {
		t.Errorf("alias entry = %+v, want a directory equal to sub %+v", a, sub)
	}
}

func TestPutDirKeep(t *testing.T) {
	s, _ := newStore(t)
	root := makeSource(t)
	var mu sync.Mutex
	var calls []string
	keep := func(rel string, isDir bool) bool {
		mu.Lock()
		calls = append(calls, fmt.Sprintf("%s:%v", rel, isDir))
		mu.Unlock()
		return rel != "sub" && !strings.HasSuffix(rel, ".sh")
	}
	d, st, err := s.PutDir(ctx, root, cache.IngestOptions{Keep: keep})
	if err != nil {
		t.Fatalf("s.PutDir(src, Keep) = %v", err)
	}
	want := encodeDigest(t,
		fileEntry("a.txt", srcFiles["a.txt"], cache.File),
		fileEntry("link.txt", srcFiles["a.txt"], cache.File))
	if d != want {
		t.Errorf("s.PutDir(src, Keep) = %v, want %v\ngot tree:\n%s", d, want, walkList(t, s, d))
	}
	if st.Files != 2 || st.Bytes != 12 {
		t.Errorf("s.PutDir(src, Keep) stats = %+v, want 2 files of 12 bytes", st)
	}
	sort.Strings(calls)
	wantCalls := "a.txt:false bin/run.sh:false bin:true empty:true emptyparent/emptychild:true emptyparent:true link.txt:false sub:true"
	if got := strings.Join(calls, " "); got != wantCalls {
		t.Errorf("Keep was called with %s, want %s (nothing below the pruned sub)", got, wantCalls)
	}
	if s.Has(cache.Sum([]byte(srcFiles["sub/y.txt"]))) || s.Has(cache.Sum([]byte(srcFiles["bin/run.sh"]))) {
		t.Errorf("files dropped by Keep were stored")
	}
}

// The digest depends only on names, contents and the executable bit.
func TestPutDirIndependentOfMtimeAndOrder(t *testing.T) {
	s, _ := newStore(t)
	names := []string{"z", "a", "m/n", "m/b", "q/r/s"}
	mk := func(order []string, mtime time.Time) string {
		root := t.TempDir()
		for _, n := range order {
			writeFiles(t, root, map[string]string{n: "content of " + n})
			p := filepath.Join(root, n)
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	rev := append([]string(nil), names...)
	sort.Sort(sort.Reverse(sort.StringSlice(rev)))
	d1, _, err1 := s.PutDir(ctx, mk(names, time.Unix(1e9, 0)), cache.IngestOptions{})
	d2, _, err2 := s.PutDir(ctx, mk(rev, time.Unix(1.5e9, 123)), cache.IngestOptions{Workers: 1})
	if err1 != nil || err2 != nil || d1 != d2 {
		t.Errorf("PutDir of the same files in another order with other mtimes = %v, %v and %v, %v, want equal digests", d1, err1, d2, err2)
	}
	// A different permission bit that is not executable changes nothing;
	// the executable bit does.
	root := mk(names, time.Now())
	if err := os.Chmod(filepath.Join(root, "a"), 0o600); err != nil {
		t.Fatal(err)
	}
	d3, _, _ := s.PutDir(ctx, root, cache.IngestOptions{})
	if d3 != d1 {
		t.Errorf("PutDir after chmod 0600 = %v, want %v", d3, d1)
	}
	if err := os.Chmod(filepath.Join(root, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	d4, _, _ := s.PutDir(ctx, root, cache.IngestOptions{})
	if d4 == d1 {
		t.Errorf("PutDir after chmod 0700 = %v, the same as without the executable bit", d4)
	}
}

func TestPutDirHashOnly(t *testing.T) {
	src := makeSource(t)
	ref, _ := newStore(t)
	want, _, err := ref.PutDir(ctx, src, cache.IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newStore(t)
	d, st, err := s.PutDir(ctx, src, cache.IngestOptions{HashOnly: true, KeepEmptyDirs: true})
	if err != nil || d != want {
		t.Fatalf("s.PutDir(src, HashOnly) = %v, %v, want %v, nil", d, err, want)
	}
	if st.Files != 5 || st.Hashed != 5 || st.Bytes != sourceBytes() {
		t.Errorf("s.PutDir(src, HashOnly) stats = %+v, want 5 files hashed, %d bytes", st, sourceBytes())
	}
	if files := listFiles(t, filepath.Join(s.Dir(), "blobs")); len(files) != 0 {
		t.Errorf("blobs/ after a HashOnly PutDir holds %v, want nothing", files)
	}
	if files := listFiles(t, filepath.Join(s.Dir(), "tmp")); len(files) != 0 {
		t.Errorf("tmp/ after a HashOnly PutDir holds %v, want nothing", files)
	}
}

func TestPutDirProgressAndWorkers(t *testing.T) {
	s, _ := newStore(t)
	root := t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("d%d/f%02d", i%3, i)] = fmt.Sprint("file ", i)
	}
	writeFiles(t, root, files)
	var want cache.Digest
	for _, workers := range []int{1, 3, 0, 64} {
		var mu sync.Mutex
		var dones []int64
		bad := ""
		progress := func(done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			if total != 40 {
				bad = fmt.Sprintf("Progress(%d, %d), want total 40", done, total)
			}
			dones = append(dones, done)
		}
		d, st, err := s.PutDir(ctx, root, cache.IngestOptions{Workers: workers, Progress: progress})
		if err != nil {
			t.Fatalf("s.PutDir(Workers: %d) = %v", workers, err)
		}
		if want.IsZero() {
			want = d
		} else if d != want {
			t.Errorf("s.PutDir(Workers: %d) = %v, want %v as with 1 worker", workers, d, want)
		}
		if st.Files != 40 || st.Hashed != 40 {
			t.Errorf("s.PutDir(Workers: %d) stats = %+v, want 40 files hashed", workers, st)
		}
		sort.Slice(dones, func(i, j int) bool { return dones[i] < dones[j] })
		if bad != "" {
			t.Errorf("Workers %d: %s", workers, bad)
		}
		if len(dones) != 40 || dones[0] != 1 || dones[39] != 40 {
			t.Errorf("Workers %d: Progress called %d times (first %v), want 40 calls with done 1..40", workers, len(dones), dones)
		}
	}
}

func TestPutDirCanceled(t *testing.T) {
	s, _ := newStore(t)
	src := makeSource(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if d, _, err := s.PutDir(c, src, cache.IngestOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("s.PutDir(canceled context) = %v, %v, want context.Canceled", d, err)
	}
	d, _, err := s.PutDir(ctx, src, cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "out")
	if err := s.Materialize(c, d, dest, false); !errors.Is(err, context.Canceled) {
		t.Errorf("s.Materialize(canceled context) = %v, want context.Canceled", err)
	}
}

// readDirTree lists a directory on disk as "path mode [content digest]".
// Group and other write bits, which depend on the umask, are left out.
func readDirTree(t *testing.T, root string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := fmt.Sprintf("%s %v", filepath.ToSlash(rel), info.Mode()&^0o022)
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += " " + cache.Sum(b).Short()
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

func TestMaterialize(t *testing.T) {
	s, _ := newStore(t)
	src := makeSource(t)
	d, _, err := s.PutDir(ctx, src, cache.IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string) string { return cache.Sum([]byte(srcFiles[name])).Short() }
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("readOnly=", readOnly), func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "out")
			t.Cleanup(func() {
				if err := cache.RemoveAll(dest); err != nil {
					t.Errorf("cache.RemoveAll(%s) = %v", dest, err)
				}
				if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after cache.RemoveAll, Stat(%s) = %v, want not exist", dest, err)
				}
			})
			if err := s.Materialize(ctx, d, dest, readOnly); err != nil {
				t.Fatalf("s.Materialize(%v, dest, %v) = %v", d.Short(), readOnly, err)
			}
			dir, file, exec := "drwxr-xr-x", "-rw-r--r--", "-rwxr-xr-x"
			if readOnly {
				dir, file, exec = "dr-xr-xr-x", "-r--r--r--", "-r-xr-xr-x"
			}
			want := strings.Join([]string{
				". " + dir,
				"a.txt " + file + " " + sum("a.txt"),
				"bin " + dir,
				"bin/run.sh " + exec + " " + sum("bin/run.sh"),
				"empty " + dir,
				"emptyparent " + dir,
				"emptyparent/emptychild " + dir,
				"link.txt " + file + " " + sum("a.txt"),
				"sub " + dir,
				"sub/deep " + dir,
				"sub/deep/x.dat " + file + " " + sum("sub/deep/x.dat"),
				"sub/y.txt " + file + " " + sum("sub/y.txt"),
			}, "\n")
			if got := readDirTree(t, dest); got != want {
				t.Errorf("s.Materialize(readOnly=%v) wrote:\n%s\nwant:\n%s", readOnly, got, want)
			}
			// Ingesting the copy gives the same tree.
			if d2, _, err := s.PutDir(ctx, dest, cache.IngestOptions{KeepEmptyDirs: true}); err != nil || d2 != d {
				t.Errorf("s.PutDir(materialized copy) = %v, %v, want %v, nil", d2, err, d)
			}
		})
	}

	// A non-empty destination with a clashing file fails.
	dest := t.TempDir()
	writeFiles(t, dest, map[string]string{"a.txt": "other"})
	if err := s.Materialize(ctx, d, dest, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("s.Materialize into a directory holding a.txt = %v, want fs.ErrExist", err)
	}
	// A missing tree.
	var nf *cache.NotFoundError
	if err := s.Materialize(ctx, cache.Sum([]byte("none")), filepath.Join(t.TempDir(), "x"), false); !errors.As(err, &nf) {
		t.Errorf("s.Materialize(absent tree) = %v, want a *NotFoundError", err)
	}
}

func TestMaterializeCorrupt(t *testing.T) {
	for _, name := range []string{"sub/y.txt", "sub/deep/x.dat"} { // raw and .zst, each the only file with its content
		t.Run(name, func(t *testing.T) {
			s, log := newStore(t)
			src := makeSource(t)
			d, _, err := s.PutDir(ctx, src, cache.IngestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bd := cache.Sum([]byte(srcFiles[name]))
			p, _ := blobFile(t, s, bd)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			overwrite(t, p, b)

			dest := filepath.Join(t.TempDir(), "out")
			err = s.Materialize(ctx, d, dest, true)
			t.Cleanup(func() { cache.RemoveAll(dest) })
			checkCorruptErr(t, "s.Materialize(d)", s, log, bd, p, err)
			// The damaged copy is not left behind.
			if _, err := os.Lstat(filepath.Join(dest, filepath.FromSlash(name))); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after a corrupt Materialize, %s exists (%v), want it removed", name, err)
			}
			// Re-ingesting the source repairs the store.
			if _, _, err := s.PutDir(ctx, src, cache.IngestOptions{}); err != nil {
				t.Fatal(err)
			}
			dest2 := filepath.Join(t.TempDir(), "out2")
			t.Cleanup(func() { cache.RemoveAll(dest2) })
			if err := s.Materialize(ctx, d, dest2, true); err != nil {
				t.Errorf("s.Materialize after re-ingesting = %v, want nil", err)
			}
			if got, err := os.ReadFile(filepath.Join(dest2, filepath.FromSlash(name))); err != nil || !bytes.Equal(got, []byte(srcFiles[name])) {
				t.Errorf("materialized %s = %d bytes, %v, want the source", name, len(got), err)
			}
		})
	}
}

// Regression: when a tree holds several files with the same content and
// that blob is corrupt, the worker that detects the corruption removes the
// blob and a concurrent worker copying another file with the same digest
// fails with a *NotFoundError. Materialize must report the corruption
// (callers test cache.IsCorrupt), not whichever error came first.
func TestMaterializeCorruptDuplicateContent(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("Materialize runs one worker per CPU; the race needs two")
	}
	s, _ := newStore(t)
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]string{}
	for i := range 64 {
		files[fmt.Sprintf("copy%02d", i)] = "the same content in every file\n"
	}
	writeFiles(t, src, files)
	bd := cache.Sum([]byte(files["copy00"]))
	for try := range 60 {
		d, _, err := s.PutDir(ctx, src, cache.IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := blobFile(t, s, bd)
		overwrite(t, p, []byte("THE SAME CONTENT IN EVERY FILE\n"))
		dest := filepath.Join(t.TempDir(), "out")
		err = s.Materialize(ctx, d, dest, false)
		if !cache.IsCorrupt(err) {
			t.Fatalf("try %d: s.Materialize(tree of 64 copies of a corrupt blob) = %v, want a corrupt-blob error", try, err)
		}
	}
}
