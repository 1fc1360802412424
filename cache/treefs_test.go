package cache_test

import (
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"dsbuild/cache"
)

func TestTreeFS(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, map[string]string{"a.txt": "alpha\n", "d/b.txt": "beta\n", "d/e/c.bin": "gamma"})
	d, _, err := s.PutDir(ctx, root, cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tfs := s.TreeFS(d)
	if err := fstest.TestFS(tfs, "a.txt", "d/b.txt", "d/e/c.bin"); err != nil {
		t.Fatal(err)
	}
	got, size, err := tfs.Digest("d/b.txt")
	if err != nil || got != cache.Sum([]byte("beta\n")) || size != 5 {
		t.Errorf("Digest(d/b.txt) = %s, %d, %v", got.Short(), size, err)
	}
	if _, _, err := tfs.Digest("d"); err == nil {
		t.Errorf("Digest of a directory succeeded")
	}
	if _, err := fs.ReadFile(tfs, "nope"); err == nil {
		t.Errorf("ReadFile(nope) succeeded")
	}
	// A corrupt blob is never read through the file system.
	p, _ := blobFile(t, s, cache.Sum([]byte("alpha\n")))
	overwrite(t, p, []byte("ALPHA\n"))
	if _, err := fs.ReadFile(tfs, "a.txt"); !cache.IsCorrupt(err) {
		t.Errorf("ReadFile of a corrupt blob: %v, want a corrupt error", err)
	}
}
