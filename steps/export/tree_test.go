package export

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

// The tree writer names blobs without reading them, yet a blob that is not
// in the store is an error a read would give (cache.IsNotFound: the engine
// rebuilds the step that made it); files it makes are stored as written.
func TestTreeWriter(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.PutBytes([]byte("an image"))
	if err != nil {
		t.Fatal(err)
	}
	tw := &treeWriter{s: s}
	if err := tw.WriteBlob("a/img.png", img, 8); err != nil {
		t.Fatal(err)
	}
	f, err := tw.Create("a/list.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "img\n"); err != nil {
		t.Fatal(err)
	}
	if err := tw.close(); err == nil || !strings.Contains(err.Error(), "a/list.txt was not closed") {
		t.Errorf("a file left open: %v", err)
	}
	// close ended it; a new writer for the rest.
	tw = &treeWriter{s: s}
	tw.WriteBlob("a/img.png", img, 8)
	if err := writeString(tw, "a/list.txt", "img\n"); err != nil {
		t.Fatal(err)
	}
	tw.Mkdir("empty")
	if err := tw.close(); err != nil {
		t.Fatal(err)
	}
	if err := tw.checkNamed(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := s.PutFiles(tw.files, tw.dirs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	s.WalkTree(d, func(p string, e cache.TreeEntry) error {
		got = append(got, p)
		return nil
	})
	if want := "a a/img.png a/list.txt empty"; strings.Join(got, " ") != want {
		t.Errorf("tree %q, want %q", strings.Join(got, " "), want)
	}
	if err := s.TreeComplete(d); err != nil {
		t.Error(err)
	}

	gone := cache.Sum([]byte("never stored"))
	tw = &treeWriter{s: s}
	tw.WriteBlob("b/x.png", gone, 12)
	if err := tw.checkNamed(context.Background()); !cache.IsNotFound(err) || !strings.Contains(err.Error(), "b/x.png") {
		t.Errorf("a blob not in the store: %v, want a not-found error naming b/x.png", err)
	}
}

func writeString(tw *treeWriter, rel, s string) error {
	f, err := tw.Create(rel)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, s); err != nil {
		return err
	}
	return f.Close()
}
