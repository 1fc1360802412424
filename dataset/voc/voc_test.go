package voc

import (
	"errors"
	"image/color"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

// fixtureDir is the committed pascal_voc fixture (dataset/fixtures/voc.go).
var fixtureDir = filepath.Join("..", "..", "testdata", "fixtures", "pascal_voc")

// importDir imports dir with the given options and returns the items
// emitted, the meta and the source.
func importDir(t *testing.T, s *cache.Store, dir string, opt dataset.Options) ([]*dataset.SourceItem, *dataset.Meta, dataset.Source, error) {
	t.Helper()
	src := importtest.PutDir(t, s, dir)
	items, meta, err := importSource(t, src, opt)
	return items, meta, src, err
}

// files is a source directory in memory, slash path → content; tests that
// damage a fixture edit a copy and store it with put, which is faster and
// steadier than copying directories on disk.
type files map[string][]byte

// readFiles loads a directory tree.
func readFiles(t *testing.T, dir string) files {
	t.Helper()
	return importtest.ReadFiles(t, dir)
}

func (f files) clone() files {
	c := files{}
	for k, v := range f {
		c[k] = v
	}
	return c
}

// put stores the files as a tree and returns it as a source.
func (f files) put(t *testing.T, s *cache.Store) dataset.Source {
	t.Helper()
	d, _, err := putTree(s, f, "")
	if err != nil {
		t.Fatal(err)
	}
	return s.TreeFS(d)
}

func putTree(s *cache.Store, f files, prefix string) (cache.Digest, int64, error) {
	var entries []cache.TreeEntry
	dirs := map[string]bool{}
	var total int64
	for p, data := range f {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if dir, _, sub := strings.Cut(rest, "/"); sub {
			if !dirs[dir] {
				dirs[dir] = true
				d, n, err := putTree(s, f, prefix+dir+"/")
				if err != nil {
					return cache.Digest{}, 0, err
				}
				entries = append(entries, cache.TreeEntry{Name: dir, Kind: cache.Dir, Digest: d, Size: n})
				total += n
			}
			continue
		}
		d, err := s.PutBytes(data)
		if err != nil {
			return cache.Digest{}, 0, err
		}
		entries = append(entries, cache.TreeEntry{Name: rest, Kind: cache.File, Digest: d, Size: int64(len(data))})
		total += int64(len(data))
	}
	d, err := s.PutTree(entries)
	return d, total, err
}

// importSource runs the importer over src.
func importSource(t *testing.T, src dataset.Source, opt dataset.Options) ([]*dataset.SourceItem, *dataset.Meta, error) {
	t.Helper()
	meta, items, err := importtest.Import(t, NewImporter, src, opt)
	return items, meta, err
}

func TestColormap(t *testing.T) {
	p := Colormap()
	if len(p) != 256 {
		t.Fatalf("len(Colormap()) = %d, want 256", len(p))
	}
	// formats.md §2.4 checks and §2.3 table entries.
	for i, want := range map[int]color.RGBA{
		0: {0, 0, 0, 255}, 1: {128, 0, 0, 255}, 2: {0, 128, 0, 255}, 3: {128, 128, 0, 255},
		4: {0, 0, 128, 255}, 5: {128, 0, 128, 255}, 8: {64, 0, 0, 255}, 11: {192, 128, 0, 255},
		12: {64, 0, 128, 255}, 15: {192, 128, 128, 255}, 16: {0, 64, 0, 255}, 20: {0, 64, 128, 255},
		255: {224, 224, 192, 255},
	} {
		if p[i] != want {
			t.Errorf("Colormap()[%d] = %v, want %v", i, p[i], want)
		}
	}
	if got := hexColor(15); got != "#C08080" {
		t.Errorf("hexColor(15) = %s, want #C08080", got)
	}
	if len(inverseColormap) != 256 {
		t.Errorf("the colormap has %d distinct colours, want 256", len(inverseColormap))
	}
	if Classes[14] != "person" || len(Classes) != 20 {
		t.Errorf("person must have index 15 of 20 classes")
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  dataset.Options
		want string // error substring; "" for none
	}{
		{dataset.Options{}, ""},
		{dataset.Options{"dataset": "voc", "void": "drop", "classes": "a, b"}, ""},
		{dataset.Options{"void": "keep"}, `option void is "keep"`},
		{dataset.Options{"dataset": "a/b"}, "option dataset"},
		{dataset.Options{"dataset": ".hidden"}, "option dataset"},
		{dataset.Options{"classes": "a,a"}, `class "a" is listed twice`},
		{dataset.Options{"classes": "a,,b"}, "empty class name"},
		{dataset.Options{"classes": "person,neutral"}, `class "neutral" cannot have an index`},
		{dataset.Options{"colour": "x"}, `has no option "colour"`},
	} {
		_, err := NewImporter(tc.opt)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("NewImporter(%v) = %v, want error containing %q", tc.opt, err, tc.want)
		}
	}
	for _, tc := range []struct {
		opt  dataset.Options
		want string
	}{
		{dataset.Options{}, ""},
		{dataset.Options{"classes": "meta", "subsets": "train, val", "default_subset": ""}, ""},
		{dataset.Options{"subsets": "a/b"}, "option subsets"},
		{dataset.Options{"default_subset": "../x"}, "option default_subset"},
		{dataset.Options{"classes": "background,person"}, `class "background" cannot have an index`},
		{dataset.Options{"mode": "index"}, `has no option "mode"`},
	} {
		_, err := NewExporter(tc.opt)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("NewExporter(%v) = %v, want error containing %q", tc.opt, err, tc.want)
		}
	}
	var names []string
	for i := range 255 {
		names = append(names, "c"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	if _, err := NewImporter(dataset.Options{"classes": strings.Join(names, ",")}); err == nil || !strings.Contains(err.Error(), "at most 254") {
		t.Errorf("255 classes: err = %v, want at most 254", err)
	}
	if _, err := NewImporter(dataset.Options{"classes": strings.Join(names[:254], ",")}); err != nil {
		t.Errorf("254 classes: %v", err)
	}
}

// itemErr returns the item error of the item named name.
func itemErr(t *testing.T, items []*dataset.SourceItem, name string) *dataset.ItemError {
	t.Helper()
	for _, it := range items {
		if it.Name == name {
			var ie *dataset.ItemError
			if !errors.As(it.Err, &ie) {
				t.Fatalf("item %s: err = %v, want an *ItemError", name, it.Err)
			}
			return ie
		}
	}
	t.Fatalf("no item %s", name)
	return nil
}
