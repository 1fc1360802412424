//go:build unix

package cache_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"dsbuild/cache"
)

// Link and Move give the same tree as Copy; Link shares the inode with the
// source, Move takes the file away, Copy leaves the source alone.
func TestPutDirAdopt(t *testing.T) {
	files := map[string]string{"a.txt": "alpha\n", "sub/b.bin": string(randomBytes(7, 100_000)), "sub/c.txt": "alpha\n"}
	want := func() cache.Digest {
		s, _ := newStore(t)
		root := filepath.Join(t.TempDir(), "src")
		writeFiles(t, root, files)
		d, _, err := s.PutDir(ctx, root, cache.IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}()

	t.Run("link", func(t *testing.T) {
		s, _ := newStore(t)
		root := filepath.Join(t.TempDir(), "src")
		writeFiles(t, root, files)
		d, _, err := s.PutDir(ctx, root, cache.IngestOptions{Adopt: cache.Link})
		if err != nil || d != want {
			t.Fatalf("PutDir(Link) = %s, %v; want %s", d.Short(), err, want.Short())
		}
		src, _ := os.Stat(filepath.Join(root, "sub", "b.bin"))
		blob, _ := blobFile(t, s, cache.Sum([]byte(files["sub/b.bin"])))
		bi, _ := os.Stat(blob)
		if !os.SameFile(src, bi) {
			t.Errorf("blob of sub/b.bin is not a hard link of the source file")
		}
		if src.Mode().Perm() != 0o444 {
			t.Errorf("linked source has mode %v, want 0444 (write bits removed: it is a store object now)", src.Mode().Perm())
		}
		if err := s.Materialize(ctx, d, filepath.Join(t.TempDir(), "out"), false); err != nil {
			t.Errorf("Materialize of a linked tree: %v", err)
		}
	})

	t.Run("move", func(t *testing.T) {
		s, _ := newStore(t)
		root, err := s.TempDir("out-")
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, root, files)
		d, _, err := s.PutDir(ctx, root, cache.IngestOptions{Adopt: cache.Move})
		if err != nil || d != want {
			t.Fatalf("PutDir(Move) = %s, %v; want %s", d.Short(), err, want.Short())
		}
		if _, err := os.Stat(filepath.Join(root, "sub", "b.bin")); !os.IsNotExist(err) {
			t.Errorf("sub/b.bin still in the scratch directory after Move: %v", err)
		}
		blob, _ := blobFile(t, s, cache.Sum([]byte(files["sub/b.bin"])))
		if fi, err := os.Stat(blob); err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("moved blob: %v, %v; want mode 0444", fi, err)
		}
		// Two files with one content: one moves, the other stays behind.
		if got, err := s.ReadBlob(cache.Sum([]byte("alpha\n"))); err != nil || string(got) != "alpha\n" {
			t.Errorf("ReadBlob(alpha) = %q, %v", got, err)
		}
	})
}

// A hard-linked source edited in place: the next ingest with the stat cache
// drops the blob that now holds other bytes and stores the new content.
func TestLinkedSourceEditedInPlace(t *testing.T) {
	s, log := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, map[string]string{"a.txt": "first\n"})
	old := time.Now().Add(-time.Hour)
	p := filepath.Join(root, "a.txt")
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	ingest := func() cache.Digest {
		t.Helper()
		sc, err := s.OpenStatCache(root)
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := s.PutDir(ctx, root, cache.IngestOptions{Adopt: cache.Link, StatCache: sc})
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.Save(s, nil); err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := ingest()
	firstBlob := cache.Sum([]byte("first\n"))
	if !s.Has(firstBlob) {
		t.Fatalf("blob of a.txt not stored")
	}
	// In place: same inode, new bytes, new mtime.
	if err := os.WriteFile(p, []byte("second, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := ingest()
	if second == first {
		t.Fatalf("tree digest unchanged after an edit")
	}
	if s.Has(firstBlob) {
		t.Errorf("the stale blob %s (now holding the edited bytes) is still in the store", firstBlob.Short())
	}
	if m := log.find("edited in place"); m == "" {
		t.Errorf("no warning about the in-place edit; log: %q", log.messages())
	}
	if got, err := s.ReadBlob(cache.Sum([]byte("second, longer\n"))); err != nil || string(got) != "second, longer\n" {
		t.Errorf("ReadBlob(new content) = %q, %v", got, err)
	}
}
