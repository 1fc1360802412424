package formats_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
)

var ctx = context.Background()

func fixture(name string) string { return filepath.Join("..", "..", "testdata", "fixtures", name) }

func importDir(t *testing.T, s *cache.Store, format, dir string, opt dataset.Options) *dataset.Dataset {
	t.Helper()
	res, err := ingest.ImportDir(ctx, engine.BareRun(s, 0, nil), dir, ingest.Settings{Format: format, Options: opt, Skip: format == "images"})
	if err != nil {
		t.Fatalf("import %s %s: %v", format, dir, err)
	}
	return res.Dataset
}

func exportTo(t *testing.T, s *cache.Store, ds *dataset.Dataset, format string, opt dataset.Options) string {
	t.Helper()
	dir := t.TempDir()
	if err := formats.Export(ctx, s, ds, format, opt, dir); err != nil {
		t.Fatalf("export %s: %v", format, err)
	}
	return dir
}

// sameAnnotations compares two datasets item by item: same names, images
// and canonical annotation bytes (so every object and mask is identical).
func sameAnnotations(t *testing.T, label string, a, b *dataset.Dataset) {
	t.Helper()
	if len(a.Entries) != len(b.Entries) {
		t.Fatalf("%s: %d items, then %d", label, len(a.Entries), len(b.Entries))
	}
	for i := range a.Entries {
		x, y := a.Entries[i], b.Entries[i]
		if x.Name != y.Name || x.Image != y.Image || x.Ann != y.Ann {
			t.Errorf("%s: item %d: %s (image %s, ann %s) became %s (image %s, ann %s)", label, i, x.Name, x.Image.Short(), x.Ann.Short(), y.Name, y.Image.Short(), y.Ann.Short())
		}
	}
}

// Every import format's fixture goes to Supervisely and back with nothing
// lost: the same items, images and canonical annotations, and the meta
// survives.
func TestEveryFormatThroughSupervisely(t *testing.T) {
	cases := []struct {
		format, dir string
	}{
		{"coco", "coco"},
		{"pascal_voc", "pascal_voc"},
		{"supervisely", "supervisely"},
		{"supervisely", "supervisely_legacy"},
		{"mapillary_vistas", "mapillary_vistas/v1.2"},
		{"mapillary_vistas", "mapillary_vistas/v2.0"},
		{"cityscapes", "cityscapes"},
		{"images", "images"},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			s, err := cache.Open(t.TempDir(), t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			ds := importDir(t, s, c.format, fixture(c.dir), nil)
			if len(ds.Entries) == 0 {
				t.Fatalf("the %s fixture imported no items", c.dir)
			}
			sly := exportTo(t, s, ds, "supervisely", nil)
			back := importDir(t, s, "supervisely", sly, nil)
			sameAnnotations(t, c.dir+" → supervisely → import", ds, back)
			if !bytes.Equal(dataset.EncodeMeta(ds.Meta), dataset.EncodeMeta(back.Meta)) {
				t.Errorf("meta changed:\n%s\n%s", dataset.EncodeMeta(ds.Meta), dataset.EncodeMeta(back.Meta))
			}
			if back.Tree != ds.Tree {
				t.Errorf("dataset tree %s became %s", ds.Tree.Short(), back.Tree.Short())
			}
		})
	}
}

// Every export format writes the same bytes twice, and the formats that
// can be read back give back what was written.
func TestExportsAreDeterministicAndRoundTrip(t *testing.T) {
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range formats.ExportNames() {
		t.Run(name, func(t *testing.T) {
			src, opt := fixture("coco"), dataset.Options(nil)
			format := "coco"
			if name == "pascal_voc" {
				src, format = fixture("pascal_voc"), "pascal_voc"
			}
			ds := importDir(t, s, format, src, nil)
			a, b := exportTo(t, s, ds, name, opt), exportTo(t, s, ds, name, opt)
			if diff := compareDirs(t, a, b); diff != "" {
				t.Errorf("two exports differ: %s", diff)
			}
			if name == "masks" {
				return // masks keep classes, not objects: TestMasksRoundTrip
			}
			back := importDir(t, s, name, a, nil)
			sameAnnotations(t, format+" → "+name+" → import", ds, back)
		})
	}
}

func compareDirs(t *testing.T, a, b string) string {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(a, p)
			files[rel], _ = os.ReadFile(p)
		}
		return nil
	})
	n := 0
	diff := ""
	filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
			rel, _ := filepath.Rel(b, p)
			got, _ := os.ReadFile(p)
			if want, ok := files[rel]; !ok || !bytes.Equal(want, got) {
				diff = rel
			}
		}
		return nil
	})
	if n != len(files) && diff == "" {
		diff = "different file counts"
	}
	if len(files) == 0 {
		diff = "no files written"
	}
	return diff
}
