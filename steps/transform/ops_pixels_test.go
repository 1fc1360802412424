package transform

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// pixApply builds op name from attrs and applies it to it, expecting one
// item back.
func pixApply(t *testing.T, name string, attrs map[string]any, it *Item) *Item {
	t.Helper()
	return applyOne(t, mustBuild(t, name, attrs), it)
}

// pixSeeded returns testItem(w, h) drawing from a generator of the given seed.
func pixSeeded(seed byte, w, h int) *Item {
	it := testItem(w, h)
	it.Rand = rand.New(rand.NewChaCha8([32]byte{seed}))
	return it
}

// pixOut runs op on a fresh w×h item of the given seed and returns its pixels.
func pixOut(t *testing.T, name string, attrs map[string]any, seed byte, w, h int) []uint8 {
	t.Helper()
	it := pixApply(t, name, attrs, pixSeeded(seed, w, h))
	if !it.changed {
		t.Errorf("%s did not mark the pixels changed", name)
	}
	return it.pixels.Pix
}

// pixSeeds checks that op gives the same pixels for the same seed and
// different pixels for different seeds.
func pixSeeds(t *testing.T, name string, attrs map[string]any) {
	t.Helper()
	a, b, c := pixOut(t, name, attrs, 1, 16, 12), pixOut(t, name, attrs, 1, 16, 12), pixOut(t, name, attrs, 2, 16, 12)
	if !bytes.Equal(a, b) {
		t.Errorf("%s: two runs with the same seed differ", name)
	}
	if bytes.Equal(a, c) {
		t.Errorf("%s: two seeds give the same pixels", name)
	}
}

func TestNoise(t *testing.T) {
	t.Parallel()
	// std 0: the mean is added, rounded, clipped; alpha is kept.
	it := pixApply(t, "noise", map[string]any{"mean": 10.4, "std": 0}, testItem(4, 3))
	if got := it.pixels.RGBAAt(0, 0); got != (color.RGBA{10, 10, 110, 255}) {
		t.Errorf("pixel (0,0) = %v, want {10 10 110 255}", got)
	}
	if got := it.pixels.RGBAAt(3, 2); got != (color.RGBA{255, 255, 110, 255}) {
		t.Errorf("pixel (3,2) = %v, want {255 255 110 255}", got)
	}
	it = pixApply(t, "noise", map[string]any{"mean": -150.5, "std": 0}, testItem(4, 3))
	if got := it.pixels.RGBAAt(1, 1); got != (color.RGBA{0, 0, 0, 255}) { // 85-150.5, 127-150.5, 100-150.5
		t.Errorf("pixel (1,1) = %v, want {0 0 0 255}", got)
	}

	// Three normals per pixel, in order R, G, B, row by row.
	it = pixApply(t, "noise", map[string]any{"std": 20}, testItem(4, 3))
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, p := range []image.Point{{0, 0}, {1, 0}} {
		src := pixGradient(p.X, p.Y, 4, 3)
		want := color.RGBA{A: 255}
		for c, v := range []uint8{src.R, src.G, src.B} {
			f := math.Floor(float64(v) + 20*r.NormFloat64() + 0.5)
			*[]*uint8{&want.R, &want.G, &want.B}[c] = uint8(min(max(f, 0), 255))
		}
		if got := it.pixels.RGBAAt(p.X, p.Y); got != want {
			t.Errorf("pixel %v = %v, want %v", p, got, want)
		}
	}
	pixSeeds(t, "noise", map[string]any{"mean": 0, "std": 30})

	// Tiny and empty images.
	pixApply(t, "noise", map[string]any{"std": 5}, testItem(1, 1))
	pixApply(t, "noise", map[string]any{"std": 5}, testItem(0, 0))

	checkParamErr(t, "noise", map[string]any{"mean": 1}, "std", "is required")
	checkParamErr(t, "noise", map[string]any{"std": -1}, "std", "must not be negative")
	checkParamErr(t, "noise", map[string]any{"std": math.Inf(1)}, "std", "must be finite")
	checkParamErr(t, "noise", map[string]any{"std": 1, "mean": math.Inf(-1)}, "mean", "must be finite")
}

func TestContrastBrightness(t *testing.T) {
	t.Parallel()
	it := pixApply(t, "contrast_brightness", map[string]any{"contrast_min": 2, "contrast_max": 2}, testItem(4, 3))
	// (1,0) = {85 0 100} → {170 0 200}; (2,1) = {170 127 100} → {255 254 200}.
	if got := it.pixels.RGBAAt(1, 0); got != (color.RGBA{170, 0, 200, 255}) {
		t.Errorf("contrast 2: pixel (1,0) = %v", got)
	}
	if got := it.pixels.RGBAAt(2, 1); got != (color.RGBA{255, 254, 200, 255}) {
		t.Errorf("contrast 2: pixel (2,1) = %v", got)
	}
	it = pixApply(t, "contrast_brightness", map[string]any{"contrast_min": 0, "contrast_max": 0, "center_grey": true}, testItem(4, 3))
	if got := it.pixels.RGBAAt(3, 2); got != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("contrast 0 about grey: pixel (3,2) = %v", got)
	}
	// (v − 128)·0.5 + 128 − 20: 85 → 86.5 → 87, 100 → 94, 0 → 44.
	it = pixApply(t, "contrast_brightness", map[string]any{"contrast_min": 0.5, "contrast_max": 0.5, "center_grey": true,
		"brightness_min": -20, "brightness_max": -20}, testItem(4, 3))
	if got := it.pixels.RGBAAt(1, 0); got != (color.RGBA{87, 44, 94, 255}) {
		t.Errorf("contrast 0.5 about grey, brightness -20: pixel (1,0) = %v", got)
	}
	it = pixApply(t, "contrast_brightness", map[string]any{"brightness_min": 30, "brightness_max": 30}, testItem(4, 3))
	if got := it.pixels.RGBAAt(3, 0); got != (color.RGBA{255, 30, 130, 255}) {
		t.Errorf("brightness 30: pixel (3,0) = %v", got)
	}

	// One draw of each per item: every pixel gets the same map.
	it = pixApply(t, "contrast_brightness", map[string]any{"contrast_min": 0.5, "contrast_max": 1.5,
		"brightness_min": -50, "brightness_max": 50}, testItem(4, 3))
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	a := 0.5 + r.Float64()
	b := -50 + 100*r.Float64()
	want := uint8(math.Floor(100*a + b + 0.5))
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			if got := it.pixels.RGBAAt(x, y).B; got != want {
				t.Fatalf("blue at (%d,%d) = %d, want %d (contrast %v, brightness %v)", x, y, got, want, a, b)
			}
		}
	}
	pixSeeds(t, "contrast_brightness", map[string]any{"contrast_min": 0.5, "contrast_max": 1.5, "brightness_min": -50, "brightness_max": 50})

	// Premultiplied pixels stay valid: colour is clipped to alpha.
	it = testItem(2, 1)
	it.pixels.SetRGBA(0, 0, color.RGBA{60, 60, 60, 80})
	it = pixApply(t, "contrast_brightness", map[string]any{"contrast_min": 3, "contrast_max": 3}, it)
	if got := it.pixels.RGBAAt(0, 0); got != (color.RGBA{80, 80, 80, 80}) {
		t.Errorf("translucent pixel = %v, want {80 80 80 80}", got)
	}
	pixApply(t, "contrast_brightness", map[string]any{"contrast_min": 3, "contrast_max": 3}, testItem(0, 0))

	cb := "contrast_brightness"
	checkParamErr(t, cb, map[string]any{}, "", "give contrast_min and contrast_max")
	checkParamErr(t, cb, map[string]any{"center_grey": true}, "", "give contrast_min")
	checkParamErr(t, cb, map[string]any{"contrast_min": 1}, "contrast_min", "needs contrast_max")
	checkParamErr(t, cb, map[string]any{"brightness_max": 1}, "brightness_max", "needs brightness_min")
	checkParamErr(t, cb, map[string]any{"contrast_min": -0.1, "contrast_max": 1}, "contrast_min", "must be between 0 and 10")
	checkParamErr(t, cb, map[string]any{"contrast_min": 1, "contrast_max": 11}, "contrast_max", "must be between 0 and 10")
	checkParamErr(t, cb, map[string]any{"contrast_min": 2, "contrast_max": 1}, "contrast_max", "must not be less than contrast_min")
	checkParamErr(t, cb, map[string]any{"brightness_min": -256, "brightness_max": 0}, "brightness_min", "must be between -255 and 255")
	checkParamErr(t, cb, map[string]any{"brightness_min": 10, "brightness_max": 0}, "brightness_max", "must not be less than brightness_min")
}

// pixRow is a w×1 item of grey pixels of the given values.
func pixRow(vals ...uint8) *Item {
	it := testItem(len(vals), 1)
	for x, v := range vals {
		it.pixels.SetRGBA(x, 0, color.RGBA{v, v, v, 255})
	}
	return it
}

func pixGreys(img *image.RGBA) []uint8 {
	var out []uint8
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			out = append(out, img.RGBAAt(x, y).R)
		}
	}
	return out
}

func TestBlurGaussian(t *testing.T) {
	t.Parallel()
	// σ = 1: weights e^{-i²/2}/2.50595 for |i| ≤ 3 → 255·{0.39905, 0.24204, 0.05401}.
	it := pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 1}, pixRow(0, 0, 255, 0, 0))
	if got := pixGreys(it.pixels); !slices.Equal(got, []uint8{14, 62, 102, 62, 14}) {
		t.Errorf("σ=1 of a spike = %v, want [14 62 102 62 14]", got)
	}
	if it.pixels.RGBAAt(0, 0).A != 255 {
		t.Errorf("alpha changed")
	}
	// Edge clamping: the edge pixel repeats, so a step at the border blurs
	// as if the image went on.
	it = pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 1}, pixRow(255, 0, 0, 0, 0, 0, 0))
	// w0…w3 = 0.39905, 0.24204, 0.05401, 0.00443. x=0: 255·(w0+w1+w2+w3)
	// = 178.4; x=1: 255·(w1+w2+w3) = 76.6; x=2: 255·(w2+w3) = 14.9; x=3: 1.1.
	if got := pixGreys(it.pixels); !slices.Equal(got, []uint8{178, 77, 15, 1, 0, 0, 0}) {
		t.Errorf("σ=1 of an edge = %v, want [178 77 15 1 0 0 0]", got)
	}
	// A tiny sigma changes nothing; a constant image stays constant.
	it = pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 0.01}, testItem(5, 4))
	if want := testItem(5, 4).pixels.Pix; !bytes.Equal(it.pixels.Pix, want) {
		t.Errorf("σ=0.01 changed the image")
	}
	it = pixRow(77, 77, 77)
	it = pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 40}, it)
	if got := pixGreys(it.pixels); !slices.Equal(got, []uint8{77, 77, 77}) {
		t.Errorf("σ=40 of a constant = %v", got)
	}
	// Against a float reference, within one level.
	it = pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 1.7}, pixNoisy(13, 9))
	ref := pixRefGaussian(pixNoisy(13, 9).pixels, 1.7)
	for i, v := range it.pixels.Pix {
		if d := int(v) - int(ref[i]); d < -1 || d > 1 {
			t.Fatalf("byte %d = %d, float reference %d", i, v, ref[i])
		}
	}
	pixSeeds(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 0.5, "sigma_max": 3})
	pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 2}, testItem(1, 1))
	pixApply(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 2}, testItem(0, 0))

	// The kernel is symmetric and does not depend on math.Exp.
	for _, s := range []float64{0.01, 0.3, 1, 2.5, 100} {
		w := gaussKernel(s)
		rev := slices.Clone(w)
		slices.Reverse(rev)
		if len(w)%2 != 1 || !slices.Equal(w, rev) {
			t.Errorf("kernel for σ=%v is not odd and symmetric", s)
		}
	}
	for _, x := range []float64{0, -1e-300, -0.5, -1, -4.5, -37.1, -700, -745.2, -746, -1e9} {
		got, want := expNeg(x), math.Exp(x)
		if math.Abs(got-want) > 4e-15*want {
			t.Errorf("expNeg(%v) = %v, math.Exp = %v", x, got, want)
		}
	}
}

func TestBlurMedian(t *testing.T) {
	t.Parallel()
	// Window 3 with the edge pixels repeated: x=3 sees {0, 255, 255}.
	it := pixApply(t, "blur", map[string]any{"kind": "median", "kernel": 3}, pixRow(0, 255, 0, 255))
	if got := pixGreys(it.pixels); !slices.Equal(got, []uint8{0, 0, 255, 255}) {
		t.Errorf("median 3 = %v, want [0 0 255 255]", got)
	}
	for _, k := range []int{3, 5, 7} {
		it := pixApply(t, "blur", map[string]any{"kind": "median", "kernel": k}, pixNoisy(11, 8))
		ref := pixRefMedian(pixNoisy(11, 8).pixels, k/2)
		if !bytes.Equal(it.pixels.Pix, ref) {
			t.Errorf("median %d differs from a sorting reference", k)
		}
	}
	// No draws: the next op's draws are unchanged.
	it = pixApply(t, "blur", map[string]any{"kind": "median", "kernel": 3}, testItem(3, 3))
	if got, want := it.Rand.Uint64(), rand.New(rand.NewChaCha8([32]byte{1})).Uint64(); got != want {
		t.Errorf("median blur drew from the generator")
	}
	pixApply(t, "blur", map[string]any{"kind": "median", "kernel": 101}, testItem(1, 1))
	pixApply(t, "blur", map[string]any{"kind": "median", "kernel": 3}, testItem(0, 0))

	checkParamErr(t, "blur", map[string]any{}, "kind", "is required")
	checkParamErr(t, "blur", map[string]any{"kind": "box"}, "kind", `is "box"; use "gaussian" or "median"`)
	checkParamErr(t, "blur", map[string]any{"kind": "gaussian"}, "sigma_min", "is required")
	checkParamErr(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 0.001}, "sigma_min", "must be between 0.01 and 100")
	checkParamErr(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 1, "sigma_max": 101}, "sigma_max", "must be between 0.01 and 100")
	checkParamErr(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 2, "sigma_max": 1}, "sigma_max", "must not be less than sigma_min")
	checkParamErr(t, "blur", map[string]any{"kind": "gaussian", "sigma_min": 1, "kernel": 3}, "kernel", `is for kind = "median"`)
	checkParamErr(t, "blur", map[string]any{"kind": "median"}, "kernel", "is required")
	checkParamErr(t, "blur", map[string]any{"kind": "median", "kernel": 3, "sigma_max": 1}, "sigma_max", `is for kind = "gaussian"`)
	checkParamErr(t, "blur", map[string]any{"kind": "median", "kernel": 4}, "kernel", "must be an odd number from 3 to 101")
	checkParamErr(t, "blur", map[string]any{"kind": "median", "kernel": 1}, "kernel", "must be an odd number")
	checkParamErr(t, "blur", map[string]any{"kind": "median", "kernel": 103}, "kernel", "must be an odd number")
	checkParamErr(t, "blur", map[string]any{"kind": "median", "kernel": 3.5}, "kernel", "must be a whole number")
}

// pixNoisy is a w×h item of pseudo-random opaque pixels.
func pixNoisy(w, h int) *Item {
	it := testItem(w, h)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range it.pixels.Pix {
		if i%4 != 3 {
			it.pixels.Pix[i] = uint8(r.IntN(256))
		}
	}
	return it
}

func pixClamp(v, lo, hi int) int { return min(max(v, lo), hi) }

func pixRefMedian(img *image.RGBA, r int) []uint8 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]uint8, len(img.Pix))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 4; c++ {
				var win []uint8
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						win = append(win, img.Pix[pixClamp(y+dy, 0, h-1)*img.Stride+4*pixClamp(x+dx, 0, w-1)+c])
					}
				}
				slices.Sort(win)
				out[y*img.Stride+4*x+c] = win[len(win)/2]
			}
		}
	}
	return out
}

func pixRefGaussian(img *image.RGBA, sigma float64) []uint8 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	s := 0.0
	for i := range k {
		k[i] = math.Exp(-float64((i-r)*(i-r)) / (2 * sigma * sigma))
		s += k[i]
	}
	out := make([]uint8, len(img.Pix))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 4; c++ {
				v := 0.0
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						p := img.Pix[pixClamp(y+dy, 0, h-1)*img.Stride+4*pixClamp(x+dx, 0, w-1)+c]
						v += k[dy+r] * k[dx+r] / (s * s) * float64(p)
					}
				}
				out[y*img.Stride+4*x+c] = uint8(math.Floor(v + 0.5))
			}
		}
	}
	return out
}

func TestRandomColor(t *testing.T) {
	t.Parallel()
	it := pixApply(t, "random_color", map[string]any{"strength": 0}, testItem(4, 3))
	if want := testItem(4, 3).pixels.Pix; !bytes.Equal(it.pixels.Pix, want) {
		t.Errorf("strength 0 changed the image")
	}
	// Default strength 0.25; pixel (0,0) = (0, 0, 100) times A is 100 × row 2
	// of A (DTL right-multiplies the pixel row vector).
	it = pixApply(t, "random_color", map[string]any{}, testItem(4, 3))
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	var a [3][3]float64
	for i := range a {
		for j := range a[i] {
			a[i][j] = r.NormFloat64() * 0.05
			if i == j {
				a[i][j]++
			}
		}
	}
	got := it.pixels.RGBAAt(0, 0)
	for j, g := range []uint8{got.R, got.G, got.B} {
		want := min(max(math.Floor(100*a[2][j]+0.5), 0), 255)
		if float64(g) != want {
			t.Errorf("channel %d of pixel (0,0) = %d, want %v (A = %v)", j, g, want, a)
		}
	}
	if got.A != 255 {
		t.Errorf("alpha = %d", got.A)
	}
	pixSeeds(t, "random_color", map[string]any{"strength": 0.5})
	pixApply(t, "random_color", map[string]any{"strength": 1}, testItem(1, 1))
	pixApply(t, "random_color", map[string]any{"strength": 1}, testItem(0, 0))

	checkParamErr(t, "random_color", map[string]any{"strength": 1.5}, "strength", "must be between 0 and 1")
	checkParamErr(t, "random_color", map[string]any{"strength": -0.1}, "strength", "must be between 0 and 1")
}

// pixScene is a 6×4 item with a bitmap person at (1,1)-(3,3), a car rectangle
// at (4,0)-(6,2) and a polygon road over (0,3)-(2,4).
func pixScene() *Item {
	return testItem(6, 4,
		rectMask("person", image.Rect(1, 1, 3, 3)),
		dataset.Object{Class: "car", Shape: dataset.ShapeRectangle, Rect: image.Rect(4, 0, 6, 2)},
		dataset.Object{Class: "road", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: []dataset.Point{{X: 0, Y: 3}, {X: 2, Y: 3}, {X: 2, Y: 4}, {X: 0, Y: 4}}}},
	)
}

func TestBackground(t *testing.T) {
	t.Parallel()
	red := color.RGBA{255, 0, 0, 255}
	it := pixApply(t, "background", map[string]any{"color": "#ff0000", "class": "bg"}, pixScene())
	for _, c := range []struct {
		x, y int
		bg   bool
	}{{0, 0, true}, {1, 1, false}, {2, 2, false}, {3, 2, true}, {4, 0, false}, {5, 1, false}, {5, 2, true}, {0, 3, false}, {1, 3, false}, {2, 3, true}} {
		want := pixGradient(c.x, c.y, 6, 4)
		if c.bg {
			want = red
		}
		if got := it.pixels.RGBAAt(c.x, c.y); got != want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, want)
		}
	}
	obs := it.Ann.Objects
	if len(obs) != 4 || obs[0].Class != "bg" || obs[0].Shape != dataset.ShapeBitmap {
		t.Fatalf("objects = %d, first %q %q; want 4, the first a bg bitmap", len(obs), obs[0].Class, obs[0].Shape)
	}
	if a := obs[0].Mask.Area(); a != 24-4-4-2 {
		t.Errorf("bg area = %d, want 14", a)
	}
	if b := obs[0].Bounds(); b != image.Rect(0, 0, 6, 4) {
		t.Errorf("bg bounds = %v", b)
	}
	if obs[1].Class != "person" || obs[3].Class != "road" {
		t.Errorf("the other objects moved")
	}

	// Foreground of some classes only: the car and the road are background.
	it = pixApply(t, "background", map[string]any{"classes": []string{"person"}, "class": "bg"}, pixScene())
	if a := it.Ann.Objects[0].Mask.Area(); a != 20 {
		t.Errorf("bg area with classes = [person] = %d, want 20", a)
	}
	if it.changed {
		t.Errorf("class alone changed the pixels")
	}
	// Without pixels to decode (no store): class alone must not decode.
	noPix := &Item{Name: "ds/a.jpg", Ann: &dataset.Annotation{Width: 3, Height: 2, Objects: []dataset.Object{rectMask("person", image.Rect(0, 0, 3, 1))}}}
	noPix = pixApply(t, "background", map[string]any{"class": "bg"}, noPix)
	if o := noPix.Ann.Objects[0]; o.Class != "bg" || o.Bounds() != image.Rect(0, 1, 3, 2) || o.Origin != image.Pt(0, 1) {
		t.Errorf("bg of a 3×2 with the top row covered = %q at %v", o.Class, o.Bounds())
	}
	// Everything covered: no background object; empty image: none either.
	full := testItem(3, 2, rectMask("person", image.Rect(0, 0, 3, 2)))
	if full = pixApply(t, "background", map[string]any{"class": "bg"}, full); len(full.Ann.Objects) != 1 {
		t.Errorf("covered image got %d objects, want 1", len(full.Ann.Objects))
	}
	if e := pixApply(t, "background", map[string]any{"class": "bg", "color": "#000000"}, testItem(0, 0)); len(e.Ann.Objects) != 0 {
		t.Errorf("0×0 image got a background object")
	}
	one := pixApply(t, "background", map[string]any{"class": "bg", "color": "#010203"}, testItem(1, 1))
	if len(one.Ann.Objects) != 1 || one.pixels.RGBAAt(0, 0) != (color.RGBA{1, 2, 3, 255}) {
		t.Errorf("1×1 image: %d objects, pixel %v", len(one.Ann.Objects), one.pixels.RGBAAt(0, 0))
	}

	// Meta: the class is added as a bitmap class; it must be new; classes must exist.
	in := &dataset.Meta{Classes: []dataset.Class{{Title: "person", Shape: dataset.ShapeBitmap, Color: "#00FF00"}}}
	op, _ := buildOp(t, "background", map[string]any{"class": "bg", "classes": []string{"person"}})
	out, err := op.(MetaOp).Meta(in)
	if err != nil || len(out.Classes) != 2 || out.Classes[0].Title != "bg" || out.Classes[0].Shape != dataset.ShapeBitmap {
		t.Errorf("Meta = %+v, %v", out, err)
	}
	if len(in.Classes) != 1 {
		t.Errorf("Meta changed its input")
	}
	op, _ = buildOp(t, "background", map[string]any{"class": "person"})
	if _, err := op.(MetaOp).Meta(in); err == nil || !strings.Contains(err.Error(), "already in the input") {
		t.Errorf("an existing class was accepted: %v", err)
	}
	op, _ = buildOp(t, "background", map[string]any{"color": "#000000", "classes": []string{"cat"}})
	if _, err := op.(MetaOp).Meta(in); err == nil || !strings.Contains(err.Error(), `"cat" is not in the input`) {
		t.Errorf("an unknown class was accepted: %v", err)
	}

	checkParamErr(t, "background", map[string]any{}, "", "give color, class or both")
	checkParamErr(t, "background", map[string]any{"classes": []string{"person"}}, "", "give color, class or both")
	checkParamErr(t, "background", map[string]any{"color": "red"}, "color", `write a colour as "#RRGGBB"`)
	checkParamErr(t, "background", map[string]any{"color": "#FFF"}, "color", `write a colour as "#RRGGBB"`)
	checkParamErr(t, "background", map[string]any{"color": "#GG0000"}, "color", "hexadecimal")
	checkParamErr(t, "background", map[string]any{"color": "#+10000"}, "color", "hexadecimal")
	checkParamErr(t, "background", map[string]any{"class": ""}, "class", "must not be empty")
	checkParamErr(t, "background", map[string]any{"class": "bg", "classes": []string{"bg"}}, "class", "is one of classes")
	checkParamErr(t, "background", map[string]any{"class": "bg", "classes": []string{""}}, "classes", "empty name")
}

func TestBBox(t *testing.T) {
	t.Parallel()
	ring := func(pts ...dataset.Point) dataset.Polygon { return dataset.Polygon{Exterior: pts} }
	l, _ := dataset.NewMask(4, 3) // an L: column 0 and the bottom row
	for _, p := range []image.Point{{0, 0}, {0, 1}, {0, 2}, {1, 2}, {2, 2}} {
		l.Set(p.X, p.Y, true)
	}
	empty, _ := dataset.NewMask(2, 2)
	it := testItem(10, 8,
		dataset.Object{Class: "person", Shape: dataset.ShapeBitmap, Mask: l, Origin: image.Pt(2, 3), Tags: []dataset.Tag{{Name: "crowd"}}},
		dataset.Object{Class: "person", Shape: dataset.ShapePolygon, Polygon: ring(dataset.Point{X: 1.5, Y: 0.2}, dataset.Point{X: 4, Y: 2}, dataset.Point{X: 2, Y: 3.5})},
		dataset.Object{Class: "car", Shape: dataset.ShapeRectangle, Rect: image.Rect(7, 5, 12, 9)},
		dataset.Object{Class: "person", Shape: dataset.ShapeBitmap, Mask: empty, Origin: image.Pt(1, 1)},
		dataset.Object{Class: "road", Shape: dataset.ShapePolygon, Polygon: ring(dataset.Point{X: 0, Y: 7}, dataset.Point{X: 3, Y: 7}, dataset.Point{X: 3, Y: 8})},
	)
	it = pixApply(t, "bbox", map[string]any{"classes": []string{"person", "car"}, "suffix": "_box"}, it)
	obs := it.Ann.Objects
	want := []struct {
		class string
		r     image.Rectangle
	}{
		{"person_box", image.Rect(2, 3, 5, 6)}, // the L's tight box, at its origin
		{"person_box", image.Rect(1, 0, 4, 4)}, // floor/ceil of the vertices
		{"car_box", image.Rect(7, 5, 10, 8)},   // clipped to the image
		// the empty bitmap is dropped
	}
	if len(obs) != 4 {
		t.Fatalf("got %d objects, want 4", len(obs))
	}
	for i, w := range want {
		if obs[i].Class != w.class || obs[i].Shape != dataset.ShapeRectangle || obs[i].Rect != w.r || obs[i].Mask != nil {
			t.Errorf("object %d = %q %q %v, want %q rectangle %v", i, obs[i].Class, obs[i].Shape, obs[i].Rect, w.class, w.r)
		}
	}
	if len(obs[0].Tags) != 1 || obs[0].Tags[0].Name != "crowd" {
		t.Errorf("object tags were lost")
	}
	if obs[3].Class != "road" || obs[3].Shape != dataset.ShapePolygon {
		t.Errorf("the road (not listed) changed: %q %q", obs[3].Class, obs[3].Shape)
	}
	// No classes: every object; no suffix: names kept.
	it = pixApply(t, "bbox", map[string]any{}, pixScene())
	for i, w := range []image.Rectangle{image.Rect(1, 1, 3, 3), image.Rect(4, 0, 6, 2), image.Rect(0, 3, 2, 4)} {
		if o := it.Ann.Objects[i]; o.Shape != dataset.ShapeRectangle || o.Rect != w || o.Class != pixScene().Ann.Objects[i].Class {
			t.Errorf("object %d = %q %q %v, want %v", i, o.Class, o.Shape, o.Rect, w)
		}
	}
	if it.changed || it.Rand.Uint64() != rand.New(rand.NewChaCha8([32]byte{1})).Uint64() {
		t.Errorf("bbox touched the pixels or drew")
	}
	pixApply(t, "bbox", map[string]any{}, testItem(0, 0, rectMask("person", image.Rect(0, 0, 1, 1))))

	in := &dataset.Meta{Classes: []dataset.Class{
		{Title: "car", Shape: dataset.ShapeBitmap, Color: "#0000FF"},
		{Title: "person", Shape: dataset.ShapeAny, Color: "#00FF00"},
		{Title: "person_box", Shape: dataset.ShapePolygon, Color: "#111111"},
		{Title: "road", Shape: dataset.ShapePolygon, Color: "#222222"},
	}}
	op, _ := buildOp(t, "bbox", map[string]any{"classes": []string{"person", "car"}, "suffix": "_box"})
	out, err := op.(MetaOp).Meta(in)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := []dataset.Class{
		{Title: "car_box", Shape: dataset.ShapeRectangle, Color: "#0000FF"},
		{Title: "person_box", Shape: dataset.ShapeAny, Color: "#00FF00"}, // met the polygon class of that name
		{Title: "road", Shape: dataset.ShapePolygon, Color: "#222222"},
	}
	if !slices.Equal(out.Classes, wantMeta) {
		t.Errorf("Meta = %+v, want %+v", out.Classes, wantMeta)
	}
	op, _ = buildOp(t, "bbox", map[string]any{"classes": []string{"road"}})
	if out, _ = op.(MetaOp).Meta(in); out.Class("road").Shape != dataset.ShapeRectangle || out.Class("car").Shape != dataset.ShapeBitmap {
		t.Errorf("Meta without suffix = %+v", out.Classes)
	}
	op, _ = buildOp(t, "bbox", map[string]any{"classes": []string{"cat"}})
	if _, err := op.(MetaOp).Meta(in); err == nil || !strings.Contains(err.Error(), `"cat" is not in the input`) {
		t.Errorf("an unknown class was accepted: %v", err)
	}

	checkParamErr(t, "bbox", map[string]any{"suffix": ""}, "suffix", "must not be empty")
	checkParamErr(t, "bbox", map[string]any{"classes": []string{""}}, "classes", "empty name")
}
