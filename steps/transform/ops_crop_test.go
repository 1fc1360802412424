package transform

import (
	"image"
	"testing"

	"dsbuild/dataset"
)

func TestCropSides(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "crop", map[string]any{"left": "2px", "top": "25%", "right": "10%", "bottom": "0px"})
	it := testItem(10, 8,
		rectMask("m", image.Rect(1, 1, 4, 3)),
		rectObj("r", image.Rect(6, 4, 10, 8)),
		geoPolyObj("p", dataset.Point{X: 1, Y: 1}, dataset.Point{X: 9, Y: 1}, dataset.Point{X: 9, Y: 7}),
		rectMask("gone", image.Rect(0, 0, 2, 2)),
	)
	before, _ := it.Pixels()
	want := before.RGBAAt(2, 2)
	out := applyOne(t, op, it)
	img, _ := out.Pixels()
	if img.Rect != image.Rect(0, 0, 7, 6) || out.Ann.Width != 7 || out.Ann.Height != 6 {
		t.Fatalf("size %v, annotation %dx%d; want 7x6", img.Rect, out.Ann.Width, out.Ann.Height)
	}
	if img.RGBAAt(0, 0) != want || img.RGBAAt(6, 5) != before.RGBAAt(8, 7) {
		t.Errorf("pixels not taken from (2,2)-(9,8)")
	}
	obs := out.Ann.Objects
	if len(obs) != 3 {
		t.Fatalf("%d objects, want 3 (the one outside dropped)", len(obs))
	}
	if obs[0].Bounds() != image.Rect(0, 0, 2, 1) || geoMaskArea(t, obs[0]) != 2 || obs[0].Mask.W != 2 || obs[0].Mask.H != 1 {
		t.Errorf("bitmap = %v (mask %dx%d), want (0,0)-(2,1) tight", obs[0].Bounds(), obs[0].Mask.W, obs[0].Mask.H)
	}
	if obs[1].Rect != image.Rect(4, 2, 7, 6) {
		t.Errorf("rectangle = %v, want (4,2)-(7,6)", obs[1].Rect)
	}
	if b := obs[2].Bounds(); b != image.Rect(0, 0, 7, 5) {
		t.Errorf("polygon bounds = %v, want (0,0)-(7,5)", b)
	}
	for _, p := range obs[2].Polygon.Exterior {
		if p.X < 0 || p.X > 7 || p.Y < 0 || p.Y > 6 {
			t.Errorf("polygon vertex %v outside the crop", p)
		}
	}

	// Empty crops leave the item out. (Percentages that remove everything,
	// left 60% with right 50% or bottom 100%, are diagnostics: below.)
	for _, attrs := range []map[string]any{
		{"left": "10px"},
		{"left": "6px", "right": "5px"},
	} {
		out, err := mustBuild(t, "crop", attrs).Apply(testItem(10, 8))
		if err != nil || len(out) != 0 {
			t.Errorf("crop %v = %d items, %v; want none", attrs, len(out), err)
		}
	}

	geoBadParams(t, "crop", []geoBadCase{
		{map[string]any{"left": "5"}, "left", `write "<int>px" or "<int>%"`},
		{map[string]any{"top": "1.5px"}, "top", "whole number"},
		{map[string]any{"right": "-1px"}, "right", "must not be negative"},
		{map[string]any{"bottom": "101%"}, "bottom", "at most 100%"},
		{map[string]any{"left": "1px", "width_min": 50.0}, "width_min", "cannot be given with left"},
		{map[string]any{}, "", "give the sides to cut"},
		{map[string]any{"left": "1px", "keep_aspect": true}, "keep_aspect", "only to a random part"},
		{map[string]any{"left": "60%", "right": "50%"}, "right", "removes 110% of the image"},
		{map[string]any{"bottom": "100%"}, "bottom", "removes 100% of the image"},
	})
}

func TestCropRandomPart(t *testing.T) {
	t.Parallel()
	attrs := map[string]any{"width_min": 50, "width_max": 50, "height_min": 50.0, "height_max": 50}
	op := mustBuild(t, "crop", attrs)
	it := testItem(10, 8, rectMask("all", image.Rect(0, 0, 10, 8)))
	out := applyOne(t, op, it)
	img, _ := out.Pixels()
	if img.Rect != image.Rect(0, 0, 5, 4) {
		t.Fatalf("size %v, want 5x4", img.Rect)
	}
	if b := out.Ann.Objects[0].Bounds(); b != image.Rect(0, 0, 5, 4) {
		t.Errorf("full mask = %v, want the whole crop", b)
	}
	// The gradient tells where the crop came from: it must be inside.
	c := img.RGBAAt(0, 0)
	x, y := int(c.R)*9/255, int(c.G)*7/255
	if x+5 > 10 || y+4 > 8 {
		t.Errorf("crop at (%d,%d) does not fit", x, y)
	}

	// Same seed, same result; other seeds, other places.
	attrs = map[string]any{"width_min": 30, "width_max": 90, "height_min": 30, "height_max": 90}
	op = mustBuild(t, "crop", attrs)
	run := func(seed byte) string {
		return geoFingerprint(t, applyOne(t, op, geoSeeded(testItem(40, 30, rectMask("m", image.Rect(5, 5, 30, 25))), seed)))
	}
	if run(1) != run(1) {
		t.Errorf("the same seed gave different crops")
	}
	seen := map[string]bool{}
	for s := byte(1); s <= 6; s++ {
		seen[run(s)] = true
	}
	if len(seen) < 2 {
		t.Errorf("six seeds gave %d distinct crops", len(seen))
	}

	// keep_aspect: one percentage for both sides.
	op = mustBuild(t, "crop", map[string]any{"width_min": 30, "width_max": 80, "height_min": 30, "height_max": 80, "keep_aspect": true})
	for s := byte(1); s <= 8; s++ {
		img, _ := applyOne(t, op, geoSeeded(testItem(100, 50), s)).Pixels()
		if w, h := img.Rect.Dx(), img.Rect.Dy(); w != 2*h && w != 2*h+1 {
			t.Errorf("seed %d: keep_aspect crop of 100x50 is %dx%d", s, w, h)
		}
	}

	// A part of 0% is empty: the item is left out.
	out0, err := mustBuild(t, "crop", map[string]any{"width_min": 0, "width_max": 0, "height_min": 0, "height_max": 10}).Apply(testItem(10, 8))
	if err != nil || len(out0) != 0 {
		t.Errorf("empty random part = %d items, %v", len(out0), err)
	}

	geoBadParams(t, "crop", []geoBadCase{
		{map[string]any{"width_min": 10, "width_max": 20, "height_min": 10}, "", "height_max is missing"},
		{map[string]any{"width_min": 30, "width_max": 20, "height_min": 10, "height_max": 20}, "width_min", "more than width_max"},
		{map[string]any{"width_min": 10, "width_max": 20, "height_min": 30, "height_max": 20}, "height_min", "more than height_max"},
		{map[string]any{"width_min": 10, "width_max": 120, "height_min": 10, "height_max": 20}, "width_max", "between 0 and 100"},
		{map[string]any{"width_min": -1, "width_max": 20, "height_min": 10, "height_max": 20}, "width_min", "between 0 and 100"},
		{map[string]any{"width_min": 10, "width_max": 20, "height_min": 10, "height_max": 30, "keep_aspect": true}, "keep_aspect", "equal width and height ranges"},
	})
}

func TestCropPercentagesThatLeaveNothing(t *testing.T) {
	t.Parallel()
	_, err := buildOp(t, "crop", map[string]any{"left": "60%", "right": "50%"})
	if err == nil || err.Error() != "right with left removes 110% of the image: nothing would be left" {
		t.Errorf("crop left 60%% right 50%%: %v", err)
	}
	if _, err := buildOp(t, "crop", map[string]any{"top": "40%", "bottom": "50%"}); err != nil {
		t.Errorf("crop top 40%% bottom 50%%: %v", err)
	}
}
