package transform

import (
	"image"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// A chain of pixel ops decodes an item's image once and encodes it once;
// an op that makes several items of one (instances_crop) decodes once and
// encodes each item once.
func TestPixelChainDecodesAndEncodesOnce(t *testing.T) {
	t.Parallel()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	src := testItem(40, 30, rectMask("person", image.Rect(2, 2, 10, 20)), rectMask("person", image.Rect(20, 5, 35, 25)))
	png, err := encodePNG(src.pixels)
	if err != nil {
		t.Fatal(err)
	}
	imgD, err := s.PutBytes(png)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dataset.EncodeAnnotation(src.Ann)
	if err != nil {
		t.Fatal(err)
	}
	annD, err := s.PutBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	e := dataset.Entry{Name: "ds/a.png", Image: imgD, ImageSize: int64(len(png)), Ann: annD, AnnSize: int64(len(raw)), Width: 40, Height: 30}
	meta := &dataset.Meta{Classes: []dataset.Class{{Title: "person", Shape: dataset.ShapeBitmap, Color: "#FF0000"}}}
	op := func(name string, attrs map[string]any) builtOp {
		return builtOp{op: mustBuild(t, name, attrs), typ: name}
	}
	for _, c := range []struct {
		name             string
		ops              []builtOp
		items            int
		decodes, encodes int
	}{
		{"four pixel ops", []builtOp{
			op("flip", map[string]any{"direction": "left_right"}), op("noise", map[string]any{"std": 3}),
			op("flip", map[string]any{"direction": "up_down"}), op("blur", map[string]any{"kind": "median", "kernel": 3}),
		}, 1, 1, 1},
		{"crops of each person, resized and mirrored", []builtOp{
			op("instances_crop", map[string]any{"classes": []string{"person"}, "pad": "10%"}),
			op("resize", map[string]any{"width": 16, "height": 16}), op("flip", map[string]any{"direction": "left_right"}),
		}, 2, 1, 2},
		{"no pixel op", []builtOp{op("tag", map[string]any{"add": []string{"x"}})}, 1, 0, 0},
	} {
		var w pixelWork
		out, err := apply(s, meta, c.ops, e, [32]byte{7}, &w)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(out) != c.items || w.decodes != c.decodes || w.encodes != c.encodes {
			t.Errorf("%s: %d items, %d decodes, %d encodes; want %d, %d, %d", c.name, len(out), w.decodes, w.encodes, c.items, c.decodes, c.encodes)
		}
	}
}
