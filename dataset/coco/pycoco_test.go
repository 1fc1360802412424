package coco_test

import (
	"context"
	"path/filepath"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/coco"
	"dsbuild/dataset/ingest"
	"dsbuild/dataset/internal/cocorules"
	"dsbuild/dataset/internal/importtest"
	"dsbuild/engine"
)

// TestExportsLoadInPycocotools exports the fixture of every format that
// dsbuild imports to COCO, in both mask modes, and holds each file to
// pycocotools' reading rules (package cocorules): box-only objects, crowds,
// holes and multi-part objects included.
func TestExportsLoadInPycocotools(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "fixtures")
	for _, src := range []struct {
		format, dir string
		opt         dataset.Options
	}{
		{"coco", "coco", nil},
		{"pascal_voc", "pascal_voc", nil},
		{"supervisely", "supervisely", nil},
		{"supervisely", "supervisely_legacy", nil},
		{"cityscapes", "cityscapes", dataset.Options{"stuff": "keep", "void": "keep"}},
		{"mapillary_vistas", "mapillary_vistas/v2.0", nil},
		{"synthetic", "", dataset.Options{"count": "3"}},
	} {
		store := importtest.NewStore(t)
		dir := ""
		if src.dir != "" {
			dir = filepath.Join(root, src.dir)
		}
		res, err := ingest.ImportDir(context.Background(), engine.BareRun(store, 0, nil), dir, ingest.Settings{Format: src.format, Options: src.opt, Workers: 1})
		if err != nil {
			t.Fatalf("%s: %v", src.dir, err)
		}
		for _, masks := range []string{"rle", "polygons"} {
			ex, err := coco.NewExporter(dataset.Options{"masks": masks})
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := dataset.ExportTo(context.Background(), ex, res.Dataset, store, out); err != nil {
				t.Fatalf("%s masks=%s: %v", src.dir, masks, err)
			}
			if err := cocorules.CheckDir(out); err != nil {
				t.Errorf("%s (%s) exported with masks=%s breaks pycocotools' rules:\n%v", src.dir, src.format, masks, err)
			}
		}
	}
}
