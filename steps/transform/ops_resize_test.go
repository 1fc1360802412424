package transform

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"dsbuild/dataset"
)

func TestResizeStretch(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "resize", map[string]any{"width": 5, "height": 4})
	it := testItem(10, 8,
		rectMask("m", image.Rect(2, 2, 6, 6)),
		rectMask("thin", image.Rect(0, 0, 1, 8)),
		rectObj("r", image.Rect(0, 0, 10, 8)),
		geoPolyObj("p", dataset.Point{X: 2, Y: 2}, dataset.Point{X: 8, Y: 2}, dataset.Point{X: 8, Y: 6}),
	)
	out := applyOne(t, op, it)
	img, _ := out.Pixels()
	if img.Rect != image.Rect(0, 0, 5, 4) || out.Ann.Width != 5 || out.Ann.Height != 4 {
		t.Fatalf("size %v, annotation %dx%d; want 5x4", img.Rect, out.Ann.Width, out.Ann.Height)
	}
	// Output (0,0) samples source (0.5, 0.5): the mean of pixels 0 and 1.
	if got, want := img.RGBAAt(0, 0), (color.RGBA{14, 18, 100, 255}); got != want {
		t.Errorf("pixel (0,0) = %v, want %v", got, want)
	}
	obs := out.Ann.Objects
	if len(obs) != 3 {
		t.Fatalf("%d objects, want 3 (the thin mask vanishes)", len(obs))
	}
	if obs[0].Bounds() != image.Rect(1, 1, 3, 3) || geoMaskArea(t, obs[0]) != 4 {
		t.Errorf("bitmap = %v area %d, want (1,1)-(3,3) area 4", obs[0].Bounds(), obs[0].Mask.Area())
	}
	if obs[1].Rect != image.Rect(0, 0, 5, 4) {
		t.Errorf("rectangle = %v", obs[1].Rect)
	}
	wantPoly := []dataset.Point{{X: 1, Y: 1}, {X: 4, Y: 1}, {X: 4, Y: 3}}
	for i, p := range obs[2].Polygon.Exterior {
		if p != wantPoly[i] {
			t.Errorf("polygon vertex %d = %v, want %v", i, p, wantPoly[i])
		}
	}

	// The same size is an exact copy.
	it = testItem(7, 5)
	before, _ := it.Pixels()
	want := append([]uint8(nil), before.Pix...)
	img, _ = applyOne(t, mustBuild(t, "resize", map[string]any{"width": 7, "height": 5}), it).Pixels()
	if !bytes.Equal(img.Pix, want) {
		t.Errorf("resizing to the same size changed pixels")
	}

	// A 1x1 image becomes one colour.
	it = testItem(1, 1)
	src, _ := it.Pixels()
	c := src.RGBAAt(0, 0)
	img, _ = applyOne(t, mustBuild(t, "resize", map[string]any{"width": 3, "height": 2}), it).Pixels()
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			if img.RGBAAt(x, y) != c {
				t.Errorf("1x1 upscale pixel (%d,%d) = %v, want %v", x, y, img.RGBAAt(x, y), c)
			}
		}
	}
	if _, err := mustBuild(t, "resize", map[string]any{"width": 3, "height": 2}).Apply(testItem(0, 0)); err == nil {
		t.Errorf("resizing an empty image did not fail")
	}
}

func TestResizeKeepAspect(t *testing.T) {
	t.Parallel()
	// Letterbox: 10x8 into 20x20 scales by 2 to 20x16, 2 rows of black
	// above and below.
	op := mustBuild(t, "resize", map[string]any{"width": 20, "height": 20, "keep_aspect": true})
	it := testItem(10, 8, rectMask("m", image.Rect(2, 2, 6, 6)), rectObj("r", image.Rect(0, 0, 10, 8)))
	out := applyOne(t, op, it)
	img, _ := out.Pixels()
	if img.Rect != image.Rect(0, 0, 20, 20) {
		t.Fatalf("size %v, want 20x20", img.Rect)
	}
	for _, p := range []image.Point{{0, 0}, {19, 1}, {0, 18}, {19, 19}} {
		if img.RGBAAt(p.X, p.Y) != geoBlack {
			t.Errorf("padding pixel %v = %v, want opaque geoBlack", p, img.RGBAAt(p.X, p.Y))
		}
	}
	if got := img.RGBAAt(0, 2); got != (color.RGBA{0, 0, 100, 255}) {
		t.Errorf("pixel (0,2) = %v, want the source's (0,0)", got)
	}
	if got := img.RGBAAt(19, 17); got != (color.RGBA{255, 255, 100, 255}) {
		t.Errorf("pixel (19,17) = %v, want the source's (9,7)", got)
	}
	if b := out.Ann.Objects[0].Bounds(); b != image.Rect(4, 6, 12, 14) || geoMaskArea(t, out.Ann.Objects[0]) != 64 {
		t.Errorf("bitmap = %v, want (4,6)-(12,14) area 64", b)
	}
	if r := out.Ann.Objects[1].Rect; r != image.Rect(0, 2, 20, 18) {
		t.Errorf("rectangle = %v, want (0,2)-(20,18)", r)
	}

	// One side: the other is proportional (rounded), whether absent or -1.
	for _, attrs := range []map[string]any{
		{"width": 5, "keep_aspect": true},
		{"width": 5, "height": -1, "keep_aspect": true},
		{"height": 4, "keep_aspect": true},
		{"width": -1, "height": 4, "keep_aspect": true},
	} {
		img, _ := applyOne(t, mustBuild(t, "resize", attrs), testItem(10, 8)).Pixels()
		if img.Rect != image.Rect(0, 0, 5, 4) {
			t.Errorf("resize %v of 10x8 = %v, want 5x4", attrs, img.Rect)
		}
	}
	img, _ = applyOne(t, mustBuild(t, "resize", map[string]any{"width": 4, "keep_aspect": true}), testItem(10, 8)).Pixels()
	if img.Rect != image.Rect(0, 0, 4, 3) { // 3.2 rounds to 3
		t.Errorf("width 4 of 10x8 = %v, want 4x3", img.Rect)
	}

	geoBadParams(t, "resize", []geoBadCase{
		{map[string]any{"width": 0, "height": 5}, "width", "must be positive"},
		{map[string]any{"width": 5, "height": -2}, "height", "must be positive"},
		{map[string]any{"width": 5.5, "height": 5}, "width", "whole number"},
		{map[string]any{}, "", "give width, height or both"},
		{map[string]any{"width": -1, "height": -1, "keep_aspect": true}, "", "give width, height or both"},
		{map[string]any{"width": 5}, "", "height is missing or -1"},
		{map[string]any{"width": -1, "height": 5}, "", "width is missing or -1"},
		{map[string]any{"width": 1 << 20, "height": 1 << 20}, "width", "more than"},
	})
}
