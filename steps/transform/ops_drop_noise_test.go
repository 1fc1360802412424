package transform

import (
	"image"
	"strings"
	"testing"

	"dsbuild/dataset"
)

func TestDropNoise(t *testing.T) {
	t.Parallel()
	m, _ := dataset.NewMask(3, 3) // 2 pixels set out of 9
	m.Bits[0], m.Bits[8] = 1, 1
	it := testItem(20, 10,
		rectMask("m4", image.Rect(0, 0, 2, 2)),
		rectMask("m6", image.Rect(5, 5, 8, 7)),
		dataset.Object{Class: "sparse", Shape: dataset.ShapeBitmap, Mask: m, Origin: image.Pt(10, 0)},
		rectObj("r1", image.Rect(0, 0, 1, 1)),
		geoPolyObj("sq9", dataset.Point{X: 0, Y: 0}, dataset.Point{X: 3, Y: 0}, dataset.Point{X: 3, Y: 3}, dataset.Point{X: 0, Y: 3}),
		geoPolyObj("sq4", dataset.Point{X: 10, Y: 5}, dataset.Point{X: 12, Y: 5}, dataset.Point{X: 12, Y: 7}, dataset.Point{X: 10, Y: 7}),
		rectMask("edge", image.Rect(18, 0, 22, 2)), // 8 pixels, 4 inside
	)
	out := applyOne(t, mustBuild(t, "drop_noise", map[string]any{"min_area": 5}), it)
	var got []string
	for _, o := range out.Ann.Objects {
		got = append(got, o.Class)
	}
	if s := strings.Join(got, ","); s != "m6,r1,sq9" {
		t.Errorf("kept %s, want m6,r1,sq9", s)
	}
	out = applyOne(t, mustBuild(t, "drop_noise", map[string]any{"min_area": 5, "classes": []string{"m4"}}), testItem(20, 10, rectMask("m4", image.Rect(0, 0, 2, 2)), rectMask("x", image.Rect(0, 0, 1, 1))))
	if len(out.Ann.Objects) != 1 || out.Ann.Objects[0].Class != "x" {
		t.Errorf("classes: kept %+v", out.Ann.Objects)
	}
	geoBadParams(t, "drop_noise", []geoBadCase{
		{map[string]any{"min_area": 0}, "min_area", "at least 1"},
		{map[string]any{"min_area": 2.5}, "min_area", "whole number"},
	})
}
