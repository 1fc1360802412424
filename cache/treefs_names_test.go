package cache_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

// A stored tree may hold names that are not UTF-8 (a source's file names
// are bytes), which no fs.FS path can name: TreeFS says so, instead of a
// bare "invalid argument" that left an import's error unexplained.
func TestTreeFSNonUTF8Names(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, map[string]string{"ok/a.txt": "alpha\n", "caf\xc3/b.txt": "beta\n"})
	d, _, err := s.PutDir(ctx, root, cache.IngestOptions{})
	if err != nil {
		t.Fatalf("PutDir of names that are not UTF-8: %v", err)
	}
	tfs := s.TreeFS(d)
	ents, err := fs.ReadDir(tfs, ".")
	if err != nil || len(ents) != 2 {
		t.Fatalf("ReadDir(.) = %v, %v; want both directories listed", ents, err)
	}
	for _, op := range []func() error{
		func() error { _, err := fs.ReadDir(tfs, "caf\xc3"); return err },
		func() error { _, err := fs.ReadFile(tfs, "caf\xc3/b.txt"); return err },
		func() error { _, _, err := tfs.Digest("caf\xc3/b.txt"); return err },
	} {
		err := op()
		if !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), "caf\xc3") || !strings.Contains(err.Error(), "the name is not valid UTF-8") {
			t.Errorf("got %v, want fs.ErrInvalid naming the path and saying it is not valid UTF-8", err)
		}
	}
	if _, err := fs.ReadDir(tfs, "a/../ok"); !errors.Is(err, fs.ErrInvalid) || strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("ReadDir(a/../ok) = %v, want a plain fs.ErrInvalid", err)
	}
}
