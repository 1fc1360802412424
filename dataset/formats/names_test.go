package formats_test

import (
	"bytes"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
)

// Every exporter refuses a dataset with an item name that would lead a
// file out of its directory (or mean another path elsewhere), before it
// writes anything: nothing appears outside the destination, or in it.
// The dataset is made by hand, not by Open or a Builder, as a caller that
// skipped them would.
func TestExportersRefuseEscapingNames(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	img, err := s.PutBytes(pic.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	b := dataset.NewBuilder(s)
	good, err := b.Add("train/a.png", img, int64(pic.Len()), &dataset.Annotation{Width: 4, Height: 4})
	if err != nil {
		t.Fatal(err)
	}
	meta := &dataset.Meta{Classes: []dataset.Class{{Title: "person", Shape: dataset.ShapeAny, Color: "#FF0000"}}}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{
		"train/../../x.png",
		"../../x.png",
		"/tmp/x.png",
		"train/..\\..\\x.png",
		"train/x\x00.png",
		"train//x.png",
		"train/..",
		"train/\xff.png",
	}
	for _, format := range formats.ExportNames() {
		for _, name := range names {
			root := t.TempDir()
			dest := filepath.Join(root, "a", "b", "out")
			bad := good
			bad.Name = name
			hostile := &dataset.Dataset{Tree: ds.Tree, Meta: ds.Meta, Entries: []dataset.Entry{good, bad}}
			exp, err := formats.Exporter(format, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			err = dataset.ExportTo(ctx, exp, hostile, s, dest)
			if err == nil || !strings.Contains(err.Error(), "item name") {
				t.Errorf("%s, item %q: %v; want an error about the item name", format, name, err)
			}
			var written []string
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					written = append(written, p)
				}
				return nil
			})
			if len(written) > 0 {
				t.Errorf("%s, item %q: wrote %s", format, name, strings.Join(written, ", "))
			}
		}
	}
}
