package transform

import (
	"image"
	"testing"

	"dsbuild/dataset"
)

func TestRotate90(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "rotate", map[string]any{"min_degrees": 90, "max_degrees": 90})
	it := testItem(4, 2,
		rectMask("m", image.Rect(3, 0, 4, 1)),
		rectObj("r", image.Rect(0, 0, 2, 1)),
		geoPolyObj("p", dataset.Point{X: 0, Y: 0}, dataset.Point{X: 2, Y: 0}, dataset.Point{X: 2, Y: 1}, dataset.Point{X: 0, Y: 1}),
	)
	src, _ := it.Pixels()
	src = &image.RGBA{Pix: append([]uint8(nil), src.Pix...), Stride: src.Stride, Rect: src.Rect}
	out := applyOne(t, op, it)
	img, _ := out.Pixels()
	if img.Rect != image.Rect(0, 0, 2, 4) {
		t.Fatalf("size %v, want 2x4", img.Rect)
	}
	// Counter-clockwise: source (sx, sy) goes to (sy, W-1-sx).
	for y := 0; y < 4; y++ {
		for x := 0; x < 2; x++ {
			if img.RGBAAt(x, y) != src.RGBAAt(3-y, x) {
				t.Errorf("pixel (%d,%d) = %v, want source (%d,%d) = %v", x, y, img.RGBAAt(x, y), 3-y, x, src.RGBAAt(3-y, x))
			}
		}
	}
	obs := out.Ann.Objects
	if obs[0].Bounds() != image.Rect(0, 0, 1, 1) {
		t.Errorf("bitmap = %v, want (0,0)-(1,1)", obs[0].Bounds())
	}
	if obs[1].Rect != image.Rect(0, 2, 1, 4) {
		t.Errorf("rectangle = %v, want (0,2)-(1,4)", obs[1].Rect)
	}
	if b := obs[2].Bounds(); b != image.Rect(0, 2, 1, 4) {
		t.Errorf("polygon bounds = %v, want (0,2)-(1,4)", b)
	}

	// Four quarter turns give back the item exactly.
	it = testItem(5, 3, rectMask("m", image.Rect(1, 0, 3, 2)), rectObj("r", image.Rect(0, 1, 4, 3)))
	want := geoFingerprint(t, it)
	for i := 0; i < 4; i++ {
		it = applyOne(t, op, it)
	}
	if got := geoFingerprint(t, it); got != want {
		t.Errorf("four quarter turns changed the item")
	}
}

func TestRotateBlackRegions(t *testing.T) {
	t.Parallel()
	rot := func(mode string, deg float64, it *Item) *Item {
		t.Helper()
		return applyOne(t, mustBuild(t, "rotate", map[string]any{"min_degrees": deg, "max_degrees": deg, "black_regions": mode}), it)
	}
	// keep: the canvas grows; a mask of the whole image covers exactly
	// the pixels that are not padding (blue is 100 in the image, 0 in the
	// padding), so masks and pixels use the same mapping.
	out := rot("keep", 30, testItem(20, 10, rectMask("all", image.Rect(0, 0, 20, 10))))
	img, _ := out.Pixels()
	if img.Rect != image.Rect(0, 0, 23, 19) { // ceil(20cos30+10sin30), ceil(20sin30+10cos30)
		t.Fatalf("keep size %v, want 23x19", img.Rect)
	}
	full, err := out.Ann.Objects[0].Raster(23, 19)
	if err != nil {
		t.Fatal(err)
	}
	padding := 0
	for y := 0; y < 19; y++ {
		for x := 0; x < 23; x++ {
			c := img.RGBAAt(x, y)
			inImage := c.B == 100
			if !inImage && c != geoBlack {
				t.Fatalf("pixel (%d,%d) = %v is neither image nor geoBlack", x, y, c)
			}
			if !inImage {
				padding++
			}
			if full.At(x, y) != inImage {
				t.Errorf("pixel (%d,%d): mask %v, image %v", x, y, full.At(x, y), inImage)
			}
		}
	}
	if padding == 0 || img.RGBAAt(0, 0) != geoBlack {
		t.Errorf("keep mode has no geoBlack corners")
	}
	if a := full.Area(); a < 190 || a > 210 {
		t.Errorf("rotated 20x10 mask has area %d, want about 200", a)
	}

	// crop: the largest upright rectangle inside, no geoBlack.
	out = rot("crop", 45, testItem(20, 10))
	img, _ = out.Pixels()
	if img.Rect != image.Rect(0, 0, 7, 7) { // 5/sin45 = 7.07
		t.Fatalf("crop size %v, want 7x7", img.Rect)
	}
	for i := 2; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 100 {
			t.Fatalf("crop mode left geoBlack pixels")
		}
	}
	// preserve_size: the input size, centred.
	out = rot("preserve_size", 45, testItem(20, 10, rectMask("c", image.Rect(9, 4, 11, 6))))
	img, _ = out.Pixels()
	if img.Rect != image.Rect(0, 0, 20, 10) || img.RGBAAt(0, 0) != geoBlack {
		t.Errorf("preserve_size: %v, corner %v", img.Rect, img.RGBAAt(0, 0))
	}
	if b := out.Ann.Objects[0].Bounds(); !b.In(image.Rect(8, 3, 12, 7)) || geoMaskArea(t, out.Ann.Objects[0]) < 2 {
		t.Errorf("centre mask moved to %v", b)
	}
	// Objects that leave the canvas are dropped, rectangles are clipped.
	out = rot("preserve_size", 90, testItem(20, 10, rectMask("corner", image.Rect(0, 0, 2, 2)), rectObj("r", image.Rect(0, 0, 20, 10))))
	if len(out.Ann.Objects) != 1 || out.Ann.Objects[0].Rect != image.Rect(5, 0, 15, 10) {
		t.Errorf("preserve_size 90: objects %+v", out.Ann.Objects)
	}

	// Tiny images: no panic; an empty inner rectangle leaves the item out.
	if o, err := mustBuild(t, "rotate", map[string]any{"min_degrees": 45, "max_degrees": 45, "black_regions": "crop"}).Apply(testItem(1, 1)); err != nil || len(o) != 0 {
		t.Errorf("crop of a 1x1 turned 45° = %d items, %v; want none", len(o), err)
	}
	if img, _ := rot("keep", 45, testItem(1, 1)).Pixels(); img.Rect != image.Rect(0, 0, 2, 2) {
		t.Errorf("1x1 turned 45° = %v, want 2x2", img.Rect)
	}
	if img, _ := rot("keep", 45, testItem(0, 0)).Pixels(); img.Rect.Dx() != 0 {
		t.Errorf("0x0 turned = %v", img.Rect)
	}
}

func TestRotateRandom(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "rotate", map[string]any{"min_degrees": -30, "max_degrees": 30})
	run := func(seed byte) string {
		return geoFingerprint(t, applyOne(t, op, geoSeeded(testItem(16, 12, rectMask("m", image.Rect(3, 3, 9, 8))), seed)))
	}
	if run(1) != run(1) {
		t.Errorf("the same seed gave different rotations")
	}
	seen := map[string]bool{}
	for s := byte(1); s <= 4; s++ {
		seen[run(s)] = true
	}
	if len(seen) < 2 {
		t.Errorf("four seeds gave %d distinct rotations", len(seen))
	}
	geoBadParams(t, "rotate", []geoBadCase{
		{map[string]any{"min_degrees": 10, "max_degrees": 5}, "min_degrees", "more than max_degrees"},
		{map[string]any{"min_degrees": 0, "max_degrees": 5, "black_regions": "fill"}, "black_regions", `use "keep", "crop" or "preserve_size"`},
		{map[string]any{"max_degrees": 5}, "", "min_degrees is missing"},
		{map[string]any{"min_degrees": 0, "max_degrees": 1e9}, "max_degrees", "within ±1000000"},
	})
}
