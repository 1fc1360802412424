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
