package transform

import (
	"image"
	"testing"

	"dsbuild/dataset"
)

func TestFlipObjects(t *testing.T) {
	t.Parallel()
	op, err := buildOp(t, "flip", map[string]any{"direction": "left_right"})
	if err != nil {
		t.Fatal(err)
	}
	it := testItem(10, 6,
		rectMask("person", image.Rect(1, 1, 4, 3)),
		dataset.Object{Class: "box", Shape: dataset.ShapeRectangle, Rect: image.Rect(0, 2, 2, 6)},
		dataset.Object{Class: "poly", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: []dataset.Point{{X: 1, Y: 1}, {X: 3, Y: 1}, {X: 3, Y: 4}}}},
	)
	before, _ := it.Pixels()
	corner := before.RGBAAt(0, 0)
	out, err := op.Apply(it)
	if err != nil || len(out) != 1 {
		t.Fatalf("Apply = %d items, %v", len(out), err)
	}
	after, _ := out[0].Pixels()
	if after.RGBAAt(9, 0) != corner {
		t.Errorf("pixel (0,0) did not move to (9,0)")
	}
	obs := out[0].Ann.Objects
	if obs[0].Bounds() != image.Rect(6, 1, 9, 3) {
		t.Errorf("bitmap bounds = %v, want (6,1)-(9,3)", obs[0].Bounds())
	}
	if obs[1].Rect != image.Rect(8, 2, 10, 6) {
		t.Errorf("rectangle = %v, want (8,2)-(10,6)", obs[1].Rect)
	}
	if got := obs[2].Polygon.Exterior[0]; got != (dataset.Point{X: 9, Y: 1}) {
		t.Errorf("polygon vertex = %v, want (9,1)", got)
	}
	if _, err := buildOp(t, "flip", map[string]any{"direction": "horizontal"}); err == nil {
		t.Errorf("DTL's axis name was accepted")
	}
}

// Flipping mirrors every pixel, in place, for odd and even sides, and
// marks the item's pixels as changed (so that they are encoded).
func TestFlipPixels(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"left_right", "up_down"} {
		for _, size := range [][2]int{{1, 1}, {5, 3}, {6, 4}, {7, 2}} {
			op, err := buildOp(t, "flip", map[string]any{"direction": dir})
			if err != nil {
				t.Fatal(err)
			}
			w, h := size[0], size[1]
			it := testItem(w, h)
			src, _ := it.Pixels()
			for i := range src.Pix {
				src.Pix[i] = uint8(i*37 + 11)
			}
			want := image.NewRGBA(src.Rect)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					sx, sy := w-1-x, y
					if dir == "up_down" {
						sx, sy = x, h-1-y
					}
					want.SetRGBA(x, y, src.RGBAAt(sx, sy))
				}
			}
			out, err := op.Apply(it)
			if err != nil || len(out) != 1 {
				t.Fatalf("Apply = %d items, %v", len(out), err)
			}
			got, _ := out[0].Pixels()
			if string(got.Pix) != string(want.Pix) {
				t.Errorf("%s %dx%d: pixels not mirrored", dir, w, h)
			}
			if !out[0].changed {
				t.Errorf("%s %dx%d: the item's pixels are not marked changed", dir, w, h)
			}
		}
	}
}
