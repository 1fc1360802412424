package images

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

const fixtureDir = "../../testdata/fixtures/images"

// importDir stores dir and imports it with opt.
func importDir(t *testing.T, dir string, opt dataset.Options) ([]*dataset.SourceItem, *dataset.Meta, dataset.Source, error) {
	t.Helper()
	meta, items, _, src, err := importtest.ImportDir(t, NewImporter, dir, opt)
	return items, meta, src, err
}

func TestFixture(t *testing.T) {
	items, meta, src, err := importDir(t, fixtureDir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Classes) != 0 || len(meta.Tags) != 0 {
		t.Errorf("meta = %+v, want empty", meta)
	}
	want := []struct {
		name, path string
		w, h       int // the real size, which the import step will find
		broken     bool
	}{
		{"images/broken__truncated.jpg", "broken/truncated.jpg", 32, 24, true},
		{"images/park__a.png", "park/a.png", 48, 32, false},
		{"images/park__b.JPEG", "park/b.JPEG", 40, 30, false},
		{"images/park__evening__c.jpg", "park/evening/c.jpg", 32, 48, false},
		{"images/street.jpg", "street.jpg", 64, 48, false},
	}
	if len(items) != len(want) {
		t.Fatalf("items %q, want %d", importtest.Names(items), len(want))
	}
	for i, w := range want {
		it := items[i]
		if it.Name != w.name || it.Image != w.path || it.File != w.path || it.Err != nil || it.ImageBytes != nil {
			t.Errorf("item %d = {Name %q Image %q File %q Err %v}, want %q from %q", i, it.Name, it.Image, it.File, it.Err, w.name, w.path)
		}
		if err := dataset.ValidItemName(it.Name); err != nil {
			t.Error(err)
		}
		if it.Ann == nil || it.Ann.Width != 0 || it.Ann.Height != 0 || len(it.Ann.Objects) != 0 || len(it.Ann.Tags) != 0 {
			t.Errorf("%s: annotation %+v, want empty with size 0", it.Name, it.Ann)
		}
		// The image is in the source; the importer decoded nothing, the
		// import step will, and will reject the broken one: it is cut
		// inside its header (see the fixture's README.txt).
		if _, _, err := src.Digest(it.Image); err != nil {
			t.Errorf("%s: %v", it.Name, err)
		}
		data, err := fs.ReadFile(src, it.Image)
		if err != nil {
			t.Fatal(err)
		}
		if w.broken {
			if _, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
				t.Errorf("%s: the header decodes; the fixture must be broken", it.Name)
			}
			if _, _, err := image.Decode(bytes.NewReader(data)); err == nil {
				t.Errorf("%s: the image decodes; the fixture must be broken", it.Name)
			}
			continue
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != w.w || cfg.Height != w.h {
			t.Errorf("%s: header %dx%d (%v), want %dx%d", it.Name, cfg.Width, cfg.Height, err, w.w, w.h)
		}
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", it.Name, err)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Run("extensions and dataset", func(t *testing.T) {
		items, _, _, err := importDir(t, fixtureDir, dataset.Options{"extensions": " .PNG , .jpeg", "dataset": "unlabeled"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range items {
			names = append(names, it.Name)
		}
		want := []string{"unlabeled/park__a.png", "unlabeled/park__b.JPEG"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("items %q, want %q", names, want)
		}
	})
	t.Run("text files on request", func(t *testing.T) {
		items, _, _, err := importDir(t, fixtureDir, dataset.Options{"extensions": ".txt"})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Name != "images/README.txt" {
			t.Errorf("items %v, want images/README.txt only", items)
		}
	})
	bad := []struct {
		opt  dataset.Options
		want string
	}{
		{dataset.Options{"extensions": "jpg"}, `option extensions = "jpg"`},
		{dataset.Options{"extensions": ".jpg,"}, `option extensions = ".jpg,"`},
		{dataset.Options{"extensions": ""}, `option extensions = ""`},
		{dataset.Options{"extensions": ".tar.gz"}, `".tar.gz" is not an extension`},
		{dataset.Options{"dataset": ""}, `option dataset = ""`},
		{dataset.Options{"dataset": "a/b"}, `option dataset = "a/b"`},
		{dataset.Options{"dataset": ".hidden"}, `option dataset = ".hidden"`},
		{dataset.Options{"dataset": "meta.json"}, `reserved`},
		{dataset.Options{"recursive": "false"}, `format images has no option "recursive"`},
	}
	for _, b := range bad {
		_, err := NewImporter(b.opt)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("NewImporter(%v) = %v, want an error with %s", b.opt, err, b.want)
		}
	}
}

func TestCollisionsHiddenAndInvalid(t *testing.T) {
	src := fstest.MapFS{
		"a/b.jpg":        {Data: []byte("1")},
		"a__b.jpg":       {Data: []byte("2")},
		"a/b/c.png":      {Data: []byte("3")},
		"a__b__c.png":    {Data: []byte("4")},
		"a/b__c.png":     {Data: []byte("5")},
		"z.gif":          {Data: []byte("6")},
		".git/x.jpg":     {Data: []byte("7")},
		"d/.thumbs.jpg":  {Data: []byte("8")},
		"d/.cache/y.png": {Data: []byte("9")},
		"line\nfeed.jpg": {Data: []byte("10")},
		"Upper.JpG":      {Data: []byte("11")},
	}
	imp, err := NewImporter(dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type got struct{ name, path, err string }
	var gots []got
	meta, err := imp.Import(context.Background(), mapSource{src}, func(it *dataset.SourceItem) error {
		g := got{it.Name, it.Image, ""}
		if it.Err != nil {
			if !dataset.IsItemError(it.Err) {
				t.Errorf("%s: error %v is not an ItemError", it.Name, it.Err)
			}
			g.err = it.Err.Error()
		}
		gots = append(gots, g)
		return nil
	})
	if err != nil || meta == nil {
		t.Fatal(meta, err)
	}
	want := []got{
		{"images/Upper.JpG", "Upper.JpG", ""},
		{"images/a__b.jpg", "a/b.jpg", ""},
		{"images/a__b.jpg", "a__b.jpg", `a__b.jpg (item images/a__b.jpg): a/b.jpg and a__b.jpg both give the item name`},
		{"images/a__b__c.png", "a/b/c.png", ""},
		{"images/a__b__c.png", "a/b__c.png", `a/b__c.png (item images/a__b__c.png): a/b/c.png and a/b__c.png both`},
		{"images/a__b__c.png", "a__b__c.png", `a__b__c.png (item images/a__b__c.png): a/b/c.png and a__b__c.png both`},
		{"images/line\nfeed.jpg", "line\nfeed.jpg", `line` + "\n" + `feed.jpg (item images/line` + "\n" + `feed.jpg): item name`},
	}
	if len(gots) != len(want) {
		t.Fatalf("got %q, want %q", gots, want)
	}
	for i, w := range want {
		g := gots[i]
		if g.name != w.name || g.path != w.path || (w.err == "") != (g.err == "") || !strings.HasPrefix(g.err, w.err) {
			t.Errorf("item %d = %q, want %q", i, g, w)
		}
	}
}

// mapSource is a Source over an fstest.MapFS, for names the store cannot
// hold.
type mapSource struct{ fstest.MapFS }

func (m mapSource) Digest(name string) (cache.Digest, int64, error) {
	return cache.Digest{}, 0, errors.New("no digests here")
}

func TestSourceErrors(t *testing.T) {
	imp, err := NewImporter(dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	emit := func(*dataset.SourceItem) error { return nil }
	if _, err := imp.Import(ctx, nil, emit); err == nil || !strings.Contains(err.Error(), "no source directory") {
		t.Errorf("nil source: %v", err)
	}
	// An unreadable directory spoils the whole source and is named.
	if _, err := imp.Import(ctx, brokenDir{mapSource{fstest.MapFS{"ok.jpg": {}, "sub/x.jpg": {}}}}, emit); err == nil || !strings.Contains(err.Error(), "images: sub:") {
		t.Errorf("unreadable directory: %v", err)
	}
	// emit's error stops the import and is returned as it is.
	stop := errors.New("stop")
	n := 0
	_, err = imp.Import(ctx, mapSource{fstest.MapFS{"a.jpg": {}, "b.jpg": {}}}, func(*dataset.SourceItem) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("emit error: %v after %d items", err, n)
	}
	// A cancelled context stops it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := imp.Import(cctx, mapSource{fstest.MapFS{"a.jpg": {}}}, emit); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// brokenDir fails to list "sub".
type brokenDir struct{ mapSource }

func (b brokenDir) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == "sub" {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("corrupt tree")}
	}
	return b.mapSource.ReadDir(name)
}

func TestEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	items, meta, _, err := importDir(t, dir, dataset.Options{})
	if err != nil || len(items) != 0 || meta == nil {
		t.Errorf("items %v, meta %v, err %v; want none, an empty meta, no error", items, meta, err)
	}
}
