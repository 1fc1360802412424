//go:build unix

package cache_test

import (
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
)

// link = "hard" never links or chmods a file reached through a symbolic
// link to a directory: such a file may lie anywhere (here outside the
// source directory), and is stored by copy, like the target of a link to a
// file (TestLinkCopiesSymlinkTargets). The files of the source directory
// itself are still linked. Before the fix the file under the linked
// directory was hard-linked into the store and made read-only.
func TestLinkCopiesFilesUnderLinkedDirectories(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	writeFiles(t, outside, map[string]string{"x.txt": "elsewhere\n", "deep/y.txt": "deeper\n"})
	root := filepath.Join(dir, "src")
	writeFiles(t, root, map[string]string{"a.txt": "alpha\n", "sub/b.txt": "beta\n"})
	if err := os.Symlink(outside, filepath.Join(root, "sub", "out")); err != nil {
		t.Fatal(err)
	}
	// A link to a directory inside the source: its files are the source's
	// own, reached a second way; through the link they are copied.
	if err := os.Symlink("sub", filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}

	d, st := ingestWith(t, s, root, cache.Link)
	if st.Files != 7 {
		t.Errorf("stats.Files = %d, want 7 (a, sub/b, sub/out/{x,deep/y}, alias/b, alias/out/{x,deep/y})", st.Files)
	}
	for _, p := range []string{filepath.Join(outside, "x.txt"), filepath.Join(outside, "deep", "y.txt")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := linkCount(t, p); n != 1 || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s, under a linked directory, after PutDir(Link): %d links, mode %v; want 1 link, 0644", p, n, fi.Mode().Perm())
		}
	}
	// a.txt is linked. (sub/b.txt may not be: alias/b.txt has its bytes,
	// and whichever is stored first makes the blob.)
	a := filepath.Join(root, "a.txt")
	if fi, _ := os.Stat(a); linkCount(t, a) != 2 || fi.Mode().Perm() != 0o444 {
		t.Errorf("a.txt after PutDir(Link): %d links, mode %v; want 2 links, 0444", linkCount(t, a), fi.Mode().Perm())
	}
	for _, content := range []string{"elsewhere\n", "deeper\n"} {
		if got, err := s.ReadBlob(cache.Sum([]byte(content))); err != nil || string(got) != content {
			t.Errorf("ReadBlob(%q) = %q, %v", content, got, err)
		}
	}
	// The outside files stay as they were at the next ingest too (stat
	// cache hits), and the tree is the one Copy gives.
	if d2, _ := ingestWith(t, s, root, cache.Link); d2 != d {
		t.Errorf("a second PutDir(Link) gives %s, the first %s", d2.Short(), d.Short())
	}
	other, _ := newStore(t)
	if dc, _, err := other.PutDir(ctx, root, cache.IngestOptions{}); err != nil || dc != d {
		t.Errorf("PutDir(Copy) = %s, %v; want the tree of PutDir(Link), %s", dc.Short(), err, d.Short())
	}
	if n := linkCount(t, filepath.Join(outside, "x.txt")); n != 1 {
		t.Errorf("outside/x.txt has %d links after the second ingest, want 1", n)
	}
}
