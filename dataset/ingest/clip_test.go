package ingest

import (
	"image"
	"reflect"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// clip = true cuts an object that crosses the border by dataset.ClipTo's
// rule: a rectangle stays a rectangle (it used to become a bitmap), other
// shapes become the bitmap of their pixels inside, and an object with no
// pixel inside is an error.
func TestClipFollowsClipTo(t *testing.T) {
	tags := []dataset.Tag{{Name: "occluded"}}
	rect := dataset.Object{Class: "car", Tags: tags, Shape: dataset.ShapeRectangle, Rect: image.Rect(5, -2, 12, 3)}
	got, err := clip(rect, 8, 6)
	want := dataset.Object{Class: "car", Tags: tags, Shape: dataset.ShapeRectangle, Rect: image.Rect(5, 0, 8, 3)}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("rectangle: clip = %+v, %v; want %+v", got, err, want)
	}

	// A triangle crossing the right border: the pixel centres it covers
	// inside the 8×6 image, as a tight bitmap.
	tri := dataset.Object{Class: "car", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: []dataset.Point{{X: 6, Y: 0}, {X: 10, Y: 0}, {X: 6, Y: 4}}}}
	got, err = clip(tri, 8, 6)
	if err != nil || got.Shape != dataset.ShapeBitmap || got.Origin != image.Pt(6, 0) || got.Mask == nil ||
		got.Mask.W != 2 || got.Mask.H != 3 || !reflect.DeepEqual(got.Mask.Bits, []uint8{1, 1, 1, 1, 1, 0}) {
		t.Errorf("triangle: clip = %+v, %v; want the 2x3 bitmap ##/##/#. at (6,0)", got, err)
	}

	// The box of this sliver crosses the border, but it covers no pixel
	// centre inside.
	sliver := dataset.Object{Class: "car", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: []dataset.Point{{X: 7.6, Y: 1}, {X: 9, Y: 1}, {X: 9, Y: 2}, {X: 7.6, Y: 2}}}}
	if _, err := clip(sliver, 8, 6); err == nil || !strings.Contains(err.Error(), "nothing of it lies inside the image") {
		t.Errorf("sliver: clip error = %v", err)
	}
}
