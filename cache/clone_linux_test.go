//go:build linux

package cache_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"dsbuild/cache"
)

// canReflink reports whether the file system holding dir clones files.
func canReflink(t *testing.T, dir string) bool {
	t.Helper()
	a, err := os.CreateTemp(dir, "probe-")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.CreateTemp(dir, "probe-")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return unix.IoctlFileClone(int(b.Fd()), int(a.Fd())) == nil
}

// freeBytes returns the free space of the file system holding dir.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bfree) * st.Bsize
}

// The reflink path, where the file system under TMPDIR supports it (btrfs,
// XFS with reflink): storing a 16 MiB file takes no new data blocks.
// Elsewhere, the copy it falls back to. Either way the blob is its own
// read-only inode with the source's bytes, and the source is untouched.
func TestCloneLargeFile(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	reflinks := canReflink(t, dir)
	root := filepath.Join(dir, "src")
	content := randomBytes(9, 16<<20)
	writeFiles(t, root, map[string]string{"img.bin": string(content)})
	src := filepath.Join(root, "img.bin")
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // allocate its blocks now
		t.Fatal(err)
	}
	f.Close()
	free := freeBytes(t, dir)
	d, _ := ingestWith(t, s, root, cache.Clone)
	used := free - freeBytes(t, dir)
	blob, compressed := blobFile(t, s, cache.Sum(content))
	bi, _ := os.Stat(blob)
	si, _ := os.Stat(src)
	if compressed || os.SameFile(bi, si) || bi.Mode().Perm() != 0o444 || si.Mode().Perm() != 0o644 {
		t.Errorf("blob of img.bin: compressed %v, same file as the source %v, mode %v (source %v); want its own raw read-only inode",
			compressed, os.SameFile(bi, si), bi.Mode().Perm(), si.Mode().Perm())
	}
	if reflinks {
		if used > int64(len(content))/2 {
			t.Errorf("the file system reflinks, but storing %d bytes used %d bytes of space", len(content), used)
		}
		t.Logf("reflink file system: %d bytes stored, %d bytes of space used", len(content), used)
	} else {
		t.Logf("no reflink under %s: the copy fallback was tested", dir)
	}
	appendTo(t, src, "more\n")
	if err := s.Materialize(ctx, d, filepath.Join(t.TempDir(), "out"), false); err != nil {
		t.Errorf("Materialize after the source was edited: %v", err)
	}
}
