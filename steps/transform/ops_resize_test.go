package transform

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
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

// geoResample is geoSample's arithmetic with the taps worked out once per
// column and row: the same bytes, whatever the sizes (shrinking, growing,
// one-pixel sides, an offset).
func TestResampleIsSamplePixelForPixel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ w, h, iw, ih, ox, oy int }{
		{640, 480, 256, 256, 0, 0}, {37, 29, 256, 200, 3, 5}, {1, 1, 7, 5, 0, 0},
		{5, 1, 1, 9, 2, 0}, {300, 200, 299, 201, 0, 1}, {64, 64, 64, 64, 0, 0},
	} {
		img := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
		for i := range img.Pix {
			img.Pix[i] = uint8(r.IntN(256))
		}
		want := image.NewRGBA(image.Rect(0, 0, c.iw+2*c.ox, c.ih+2*c.oy))
		got := image.NewRGBA(want.Rect)
		xs, ys := geoTaps(int64(c.w), int64(c.iw)), geoTaps(int64(c.h), int64(c.ih))
		for y := 0; y < c.ih; y++ {
			for x := 0; x < c.iw; x++ {
				geoSample(img, xs[x], ys[y], want.Pix[(y+c.oy)*want.Stride+4*(x+c.ox):])
			}
		}
		geoResample(img, got, xs, ys, c.ox, c.oy)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%dx%d → %dx%d at (%d, %d): geoResample differs from geoSample", c.w, c.h, c.iw, c.ih, c.ox, c.oy)
		}
	}
}

// BenchmarkResizeCrop: the item-7 workload's resize, a person crop of a
// 640×480 photo (about 150×330) to 256×256.
func BenchmarkResizeCrop(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 150, 330))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	xs, ys := geoTaps(150, 256), geoTaps(330, 256)
	out := image.NewRGBA(image.Rect(0, 0, 256, 256))
	b.Run("sample", func(b *testing.B) {
		for b.Loop() {
			for y := 0; y < 256; y++ {
				for x := 0; x < 256; x++ {
					geoSample(img, xs[x], ys[y], out.Pix[y*out.Stride+4*x:])
				}
			}
		}
	})
	b.Run("resample", func(b *testing.B) {
		for b.Loop() {
			geoResample(img, out, xs, ys, 0, 0)
		}
	})
}
