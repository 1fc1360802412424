package transform

import (
	"testing"

	"dsbuild/dataset"
)

// TestMultiPartObjectStaysOne: an object in two disjoint parts (as the
// COCO importer makes of an annotation with several polygons: one bitmap)
// stays one object, in two parts, through crop, resize and flip.
func TestMultiPartObjectStaysOne(t *testing.T) {
	t.Parallel()
	m, _ := dataset.NewMask(16, 12)
	for y := 2; y < 10; y++ {
		for x := 2; x < 6; x++ {
			m.Set(x, y, true) // left part
		}
		for x := 9; x < 14; x++ {
			m.Set(x, y, true) // right part, behind a pole at x = 6..8
		}
	}
	obj := dataset.Object{Class: "person", Shape: dataset.ShapeBitmap, Mask: m}
	for _, op := range []struct {
		name  string
		attrs map[string]any
	}{
		{"crop", map[string]any{"left": "1px", "top": "1px", "right": "1px", "bottom": "1px"}},
		{"resize", map[string]any{"width": 32, "height": 24}},
		{"resize", map[string]any{"width": 8, "height": 6}},
		{"flip", map[string]any{"direction": "left_right"}},
	} {
		it := testItem(16, 12, obj)
		out := applyOne(t, mustBuild(t, op.name, op.attrs), it)
		if n := len(out.Ann.Objects); n != 1 {
			t.Errorf("%s %v: %d objects, want 1", op.name, op.attrs, n)
			continue
		}
		o := out.Ann.Objects[0]
		r, err := o.Raster(out.Ann.Width, out.Ann.Height)
		if err != nil {
			t.Fatal(err)
		}
		if parts := r.Contours(); o.Class != "person" || len(parts) != 2 {
			t.Errorf("%s %v: a %s %s in %d parts, want one person in 2", op.name, op.attrs, o.Class, o.Shape, len(parts))
		}
	}
}
