package transform

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// geoBadParams checks that each parameter set fails on the named attribute
// with a message containing want.
func geoBadParams(t *testing.T, name string, cases []struct {
	attrs map[string]any
	attr  string
	want  string
}) {
	t.Helper()
	for _, c := range cases {
		checkParamErr(t, name, c.attrs, c.attr, c.want)
	}
}

type geoBadCase = struct {
	attrs map[string]any
	attr  string
	want  string
}

func geoPolyObj(class string, pts ...dataset.Point) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: pts}}
}

func geoMaskArea(t *testing.T, ob dataset.Object) int {
	t.Helper()
	if ob.Shape != dataset.ShapeBitmap {
		t.Fatalf("object of class %s is a %s", ob.Class, ob.Shape)
	}
	return ob.Mask.Area()
}

// geoFingerprint summarises an item's pixels and objects, to compare runs.
func geoFingerprint(t *testing.T, it *Item) string {
	t.Helper()
	img, err := it.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %v %x\n", it.Name, img.Rect, img.Pix)
	raw, err := dataset.EncodeAnnotation(it.Ann)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(raw)
	return b.String()
}

func geoSeeded(it *Item, seed byte) *Item {
	it.Rand = rand.New(rand.NewChaCha8([32]byte{seed}))
	return it
}

var geoBlack = color.RGBA{0, 0, 0, 255}

func TestCropSides(t *testing.T) {
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

func TestResizeStretch(t *testing.T) {
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

func TestRotate90(t *testing.T) {
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

func TestInstancesCrop(t *testing.T) {
	op := mustBuild(t, "instances_crop", map[string]any{"classes": []string{"person"}, "save_classes": []string{"car"}, "pad": "50%", "pad_top": "0px"})
	it := testItem(20, 10,
		rectMask("person", image.Rect(2, 2, 6, 8)),
		rectMask("person", image.Rect(12, 1, 16, 5)),
		rectObj("car", image.Rect(4, 4, 14, 6)),
		rectMask("tree", image.Rect(0, 0, 20, 10)),
		rectMask("person", image.Rect(0, 0, 0, 0)), // empty: no crop
	)
	before, _ := it.Pixels()
	out, err := op.Apply(it)
	if err != nil || len(out) != 2 {
		t.Fatalf("Apply = %d items, %v; want 2", len(out), err)
	}
	if out[0].Name != "ds/item__1.jpg" || out[1].Name != "ds/item__2.jpg" {
		t.Errorf("names %s, %s", out[0].Name, out[1].Name)
	}
	// Person 1: box (2,2)-(6,8), 4x6: pads 2 left/right, 0 top, 3 bottom,
	// clipped to the image: (0,2)-(8,10).
	img, _ := out[0].Pixels()
	if img.Rect != image.Rect(0, 0, 8, 8) || img.RGBAAt(0, 0) != before.RGBAAt(0, 2) {
		t.Errorf("crop 1: %v, pixel (0,0) = %v", img.Rect, img.RGBAAt(0, 0))
	}
	obs := out[0].Ann.Objects
	if len(obs) != 2 || obs[0].Class != "car" || obs[0].Rect != image.Rect(4, 2, 8, 4) ||
		obs[1].Class != "person" || obs[1].Bounds() != image.Rect(2, 0, 6, 6) {
		t.Errorf("crop 1 objects: %+v", obs)
	}
	// Person 2: box (12,1)-(16,5): (10,1)-(18,7).
	img, _ = out[1].Pixels()
	obs = out[1].Ann.Objects
	if img.Rect != image.Rect(0, 0, 8, 6) || img.RGBAAt(0, 0) != before.RGBAAt(10, 1) {
		t.Errorf("crop 2: %v", img.Rect)
	}
	if len(obs) != 2 || obs[0].Rect != image.Rect(0, 3, 4, 5) || obs[1].Bounds() != image.Rect(2, 0, 6, 4) || geoMaskArea(t, obs[1]) != 16 {
		t.Errorf("crop 2 objects: %+v", obs)
	}
	// The input keeps its objects.
	if len(it.Ann.Objects) != 5 {
		t.Errorf("the input item lost objects")
	}

	// No instance: nothing.
	if o, err := op.Apply(testItem(5, 5, rectObj("car", image.Rect(0, 0, 2, 2)))); err != nil || len(o) != 0 {
		t.Errorf("no instances = %d items, %v", len(o), err)
	}

	meta := &dataset.Meta{}
	for _, c := range []string{"car", "person", "tree"} {
		meta.AddClass(dataset.Class{Title: c, Shape: dataset.ShapeAny})
	}
	m, err := op.(MetaOp).Meta(meta)
	if err != nil || len(m.Classes) != 2 || m.Classes[0].Title != "car" || m.Classes[1].Title != "person" {
		t.Errorf("Meta = %+v, %v; want car, person", m, err)
	}
	op2 := mustBuild(t, "instances_crop", map[string]any{"classes": []string{"dog"}})
	if _, err := op2.(MetaOp).Meta(meta); err == nil || !strings.Contains(err.Error(), `"dog"`) {
		t.Errorf("missing class: %v", err)
	}

	geoBadParams(t, "instances_crop", []geoBadCase{
		{map[string]any{"classes": []string{}}, "classes", "is empty"},
		{map[string]any{"classes": []string{"a"}, "save_classes": []string{"b", "a"}}, "save_classes", `"a" is in both`},
		{map[string]any{"classes": []string{"a"}, "pad": "ten"}, "pad", `write "<int>px"`},
		{map[string]any{"classes": []string{"a"}, "pad_left": "-1px"}, "pad_left", "must not be negative"},
	})
}

func TestSlidingWindow(t *testing.T) {
	op := mustBuild(t, "sliding_window", map[string]any{"window_width": 4, "window_height": 4, "min_overlap_x": 1})
	it := testItem(10, 6, rectMask("m", image.Rect(0, 0, 2, 2)), rectObj("r", image.Rect(5, 3, 7, 5)))
	before, _ := it.Pixels()
	out, err := op.Apply(it)
	if err != nil || len(out) != 6 {
		t.Fatalf("Apply = %d items, %v; want 6 (x 0,3,6; y 0,2)", len(out), err)
	}
	starts := []image.Point{{0, 0}, {3, 0}, {6, 0}, {0, 2}, {3, 2}, {6, 2}}
	for i, o := range out {
		if want := fmt.Sprintf("ds/item__%d.jpg", i+1); o.Name != want {
			t.Errorf("window %d named %s, want %s", i, o.Name, want)
		}
		img, _ := o.Pixels()
		if img.Rect != image.Rect(0, 0, 4, 4) || img.RGBAAt(0, 0) != before.RGBAAt(starts[i].X, starts[i].Y) {
			t.Errorf("window %d: %v, not at %v", i, img.Rect, starts[i])
		}
	}
	if n := len(out[0].Ann.Objects); n != 1 {
		t.Errorf("window 1 has %d objects, want the bitmap", n)
	}
	if obs := out[4].Ann.Objects; len(obs) != 1 || obs[0].Rect != image.Rect(2, 1, 4, 3) {
		t.Errorf("window 5 objects %+v, want the rectangle at (2,1)-(4,3)", obs)
	}
	if obs := out[5].Ann.Objects; len(obs) != 1 || obs[0].Rect != image.Rect(0, 1, 1, 3) {
		t.Errorf("window 6 objects %+v, want the rectangle clipped to (0,1)-(1,3)", obs)
	}
	// The image's own size: one window.
	if o, err := mustBuild(t, "sliding_window", map[string]any{"window_width": 10, "window_height": 6}).Apply(testItem(10, 6)); err != nil || len(o) != 1 {
		t.Errorf("whole-image window = %d items, %v", len(o), err)
	}
	if _, err := mustBuild(t, "sliding_window", map[string]any{"window_width": 11, "window_height": 2}).Apply(testItem(10, 6)); err == nil || !strings.Contains(err.Error(), "larger than the 10x6 image") {
		t.Errorf("window larger than the image: %v", err)
	}
	if _, err := mustBuild(t, "sliding_window", map[string]any{"window_width": 1, "window_height": 1}).Apply(testItem(0, 0)); err == nil {
		t.Errorf("window on an empty image did not fail")
	}
	geoBadParams(t, "sliding_window", []geoBadCase{
		{map[string]any{"window_width": 0, "window_height": 4}, "window_width", "at least 1"},
		{map[string]any{"window_width": 4}, "", "window_height is missing"},
		{map[string]any{"window_width": 4, "window_height": 4, "min_overlap_y": -1}, "min_overlap_y", "must not be negative"},
		{map[string]any{"window_width": 4, "window_height": 4, "min_overlap_x": 4}, "min_overlap_x", "less than window_width"},
		{map[string]any{"window_width": 4, "window_height": 4, "min_overlap_y": 5}, "min_overlap_y", "less than window_height"},
	})
}

func TestMultiply(t *testing.T) {
	op := mustBuild(t, "multiply", map[string]any{"times": 3})
	it := testItem(4, 4, rectMask("m", image.Rect(0, 0, 2, 2)))
	out, err := op.Apply(it)
	if err != nil || len(out) != 3 {
		t.Fatalf("Apply = %d items, %v; want 3", len(out), err)
	}
	if out[0] != it || out[1].Name != "ds/item__1.jpg" || out[2].Name != "ds/item__2.jpg" {
		t.Errorf("items %s, %s, %s", out[0].Name, out[1].Name, out[2].Name)
	}
	// Copies share nothing mutable.
	img, _ := out[1].Pixels()
	img.Pix[0] = 1
	out[1].Ann.Objects = nil
	if orig, _ := it.Pixels(); orig.Pix[0] == 1 || len(out[2].Ann.Objects) != 1 || len(it.Ann.Objects) != 1 {
		t.Errorf("a copy shares pixels or objects")
	}
	if o, _ := mustBuild(t, "multiply", map[string]any{"times": 1}).Apply(it); len(o) != 1 || o[0] != it {
		t.Errorf("times = 1 did not pass the item through")
	}
	geoBadParams(t, "multiply", []geoBadCase{
		{map[string]any{"times": 0}, "times", "at least 1"},
		{map[string]any{"times": 1.5}, "times", "whole number"},
		{map[string]any{"times": 1000000}, "times", "at most"},
	})
}

func TestObjectsFilter(t *testing.T) {
	objs := func() *Item {
		return testItem(20, 10,
			rectMask("small", image.Rect(0, 0, 2, 2)),                                                          // 2x2, area 4 = 2%
			rectObj("big", image.Rect(0, 0, 10, 5)),                                                            // 10x5, area 50 = 25%
			geoPolyObj("tri", dataset.Point{X: 0, Y: 0}, dataset.Point{X: 4, Y: 0}, dataset.Point{X: 0, Y: 4}), // 4x4 box, 6 centres = 3%
			rectObj("half_out", image.Rect(15, 5, 30, 10)),                                                     // inside: 5x5
		)
	}
	classes := func(it *Item) string {
		var s []string
		for _, o := range it.Ann.Objects {
			s = append(s, o.Class)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		attrs map[string]any
		want  string
	}{
		{map[string]any{"min_width": 3}, "big,tri,half_out"},
		{map[string]any{"min_height": 5}, "big,half_out"},
		{map[string]any{"max_width": 5}, "small,tri,half_out"}, // half_out is 5 wide inside the image
		{map[string]any{"max_height": 4}, "small,tri"},
		{map[string]any{"min_area_share": 0.03}, "big,tri,half_out"},
		{map[string]any{"min_area_share": 0.031}, "big,half_out"},
		{map[string]any{"max_area_share": 0.2}, "small,tri,half_out"},
		{map[string]any{"min_width": 3, "classes": []string{"tri"}}, "small,big,tri,half_out"},
		{map[string]any{"min_width": 5, "classes": []string{"tri"}}, "small,big,half_out"},
	} {
		out := applyOne(t, mustBuild(t, "objects_filter", c.attrs), objs())
		if got := classes(out); got != c.want {
			t.Errorf("objects_filter %v kept %s, want %s", c.attrs, got, c.want)
		}
	}
	if out := applyOne(t, mustBuild(t, "objects_filter", map[string]any{"min_area_share": 0.5}), testItem(0, 0, rectMask("e", image.Rect(0, 0, 0, 0)))); len(out.Ann.Objects) != 0 {
		t.Errorf("empty object kept")
	}
	meta := &dataset.Meta{}
	meta.AddClass(dataset.Class{Title: "tri"})
	if _, err := mustBuild(t, "objects_filter", map[string]any{"min_width": 1, "classes": []string{"dog"}}).(MetaOp).Meta(meta); err == nil {
		t.Errorf("unknown class accepted")
	}
	geoBadParams(t, "objects_filter", []geoBadCase{
		{map[string]any{}, "", "give at least one of"},
		{map[string]any{"classes": []string{"a"}}, "", "give at least one of"},
		{map[string]any{"min_width": -1}, "min_width", "must not be negative"},
		{map[string]any{"max_height": 2.5}, "max_height", "whole number"},
		{map[string]any{"min_area_share": 1.5}, "min_area_share", "between 0 and 1"},
		{map[string]any{"min_width": 5, "max_width": 4}, "min_width", "more than max_width"},
		{map[string]any{"min_height": 5, "max_height": 4}, "min_height", "more than max_height"},
		{map[string]any{"min_area_share": 0.5, "max_area_share": 0.4}, "min_area_share", "more than max_area_share"},
	})
}

func TestDropNoise(t *testing.T) {
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

// TestGeometryDegenerate runs every op on degenerate items: no panics.
func TestGeometryDegenerate(t *testing.T) {
	ops := []struct {
		name  string
		attrs map[string]any
	}{
		{"crop", map[string]any{"left": "1px"}},
		{"crop", map[string]any{"width_min": 0, "width_max": 100, "height_min": 0, "height_max": 100}},
		{"resize", map[string]any{"width": 3, "height": 3, "keep_aspect": true}},
		{"resize", map[string]any{"width": 1, "keep_aspect": true}},
		{"rotate", map[string]any{"min_degrees": 0, "max_degrees": 360}},
		{"rotate", map[string]any{"min_degrees": 0, "max_degrees": 360, "black_regions": "crop"}},
		{"rotate", map[string]any{"min_degrees": 0, "max_degrees": 360, "black_regions": "preserve_size"}},
		{"instances_crop", map[string]any{"classes": []string{"e", "p"}, "pad": "100%"}},
		{"sliding_window", map[string]any{"window_width": 1, "window_height": 1}},
		{"multiply", map[string]any{"times": 2}},
		{"objects_filter", map[string]any{"min_area_share": 0.1}},
		{"drop_noise", map[string]any{"min_area": 1}},
	}
	empty, _ := dataset.NewMask(3, 3)
	items := func() []*Item {
		objs := func() []dataset.Object {
			return []dataset.Object{
				rectMask("e", image.Rect(0, 0, 0, 0)),
				{Class: "e", Shape: dataset.ShapeBitmap, Mask: empty},
				rectMask("p", image.Rect(0, 0, 1, 1)),
				rectObj("e", image.Rect(3, 3, 3, 3)),
				geoPolyObj("e", dataset.Point{X: 0, Y: 0}, dataset.Point{X: 1, Y: 1}),
				geoPolyObj("p", dataset.Point{X: 0, Y: 0}, dataset.Point{X: 1, Y: 0}, dataset.Point{X: 1, Y: 1}),
			}
		}
		return []*Item{testItem(0, 0, objs()...), testItem(1, 1, objs()...), testItem(1, 7, objs()...), testItem(2, 1, objs()...)}
	}
	for _, o := range ops {
		op := mustBuild(t, o.name, o.attrs)
		for _, it := range items() {
			out, err := op.Apply(it)
			if err != nil {
				continue
			}
			for _, r := range out {
				for _, ob := range r.Ann.Objects {
					if ob.Shape == dataset.ShapeBitmap && ob.Mask.Area() == 0 && o.name != "objects_filter" && o.name != "multiply" {
						t.Errorf("%s on %dx%d left an empty bitmap", o.name, it.Ann.Width, it.Ann.Height)
					}
				}
			}
		}
	}
}

func TestCropPercentagesThatLeaveNothing(t *testing.T) {
	_, err := buildOp(t, "crop", map[string]any{"left": "60%", "right": "50%"})
	if err == nil || err.Error() != "right with left removes 110% of the image: nothing would be left" {
		t.Errorf("crop left 60%% right 50%%: %v", err)
	}
	if _, err := buildOp(t, "crop", map[string]any{"top": "40%", "bottom": "50%"}); err != nil {
		t.Errorf("crop top 40%% bottom 50%%: %v", err)
	}
}
