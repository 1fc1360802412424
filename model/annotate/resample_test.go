package annotate

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestMakeTaps(t *testing.T) {
	for _, tc := range []struct {
		src, dst int
		i0, i1   []int
		w1       []float32
	}{
		// Identity: every sample reads itself.
		{3, 3, []int{0, 1, 2}, []int{0, 2, 2}, []float32{0, 0, 0}},
		// ×2: centres at −¼, ¼, ¾, 1¼ (clamped at both ends).
		{2, 4, []int{0, 0, 0, 1}, []int{0, 1, 1, 1}, []float32{0, 0.25, 0.75, 0}},
		// ÷2: centres at ½ and 2½.
		{4, 2, []int{0, 2}, []int{1, 3}, []float32{0.5, 0.5}},
		// One source sample.
		{1, 3, []int{0, 0, 0}, []int{0, 0, 0}, []float32{0, 0, 0}},
		// One destination sample: the centre of 5 is sample 2.
		{5, 1, []int{2}, []int{3}, []float32{0}},
	} {
		tp := makeTaps(tc.src, tc.dst)
		if !reflect.DeepEqual(tp.i0, tc.i0) || !reflect.DeepEqual(tp.i1, tc.i1) || !reflect.DeepEqual(tp.w1, tc.w1) {
			t.Errorf("makeTaps(%d, %d) = %v %v %v, want %v %v %v", tc.src, tc.dst, tp.i0, tp.i1, tp.w1, tc.i0, tc.i1, tc.w1)
		}
		for i, w := range tp.w1 {
			if tp.w0[i] != 1-w {
				t.Errorf("makeTaps(%d, %d): w0[%d] = %v, want 1 − %v", tc.src, tc.dst, i, tp.w0[i], w)
			}
		}
	}
}

func TestImageInput(t *testing.T) {
	// A 2×1 image, black then white, to 4×4: 0, ¼, ¾, 1 across each row.
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.SetRGBA(0, 0, color.RGBA{0, 0, 0, 255})
	img.SetRGBA(1, 0, color.RGBA{255, 255, 255, 255})
	x := ImageInput(img, 4)
	if len(x) != 3*16 {
		t.Fatalf("%d values, want 48", len(x))
	}
	for c := range 3 {
		for y := range 4 {
			got := x[c*16+y*4 : c*16+y*4+4]
			if !reflect.DeepEqual(got, []float32{0, 0.25, 0.75, 1}) {
				t.Fatalf("channel %d row %d: %v", c, y, got)
			}
		}
	}
	// At its own size an image comes back exactly, channel-major.
	rng := rand.New(rand.NewPCG(1, 2))
	img = image.NewRGBA(image.Rect(0, 0, 5, 5))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	x = ImageInput(img, 5)
	for y := range 5 {
		for xx := range 5 {
			p := img.RGBAAt(xx, y)
			for c, v := range []uint8{p.R, p.G, p.B} {
				if got := x[c*25+y*5+xx]; got != float32(v)/255 {
					t.Fatalf("pixel (%d,%d) channel %d: %v, want %v/255", xx, y, c, got, v)
				}
			}
		}
	}
	// Odd sizes.
	if ImageInput(img, 0) != nil || ImageInput(nil, 4) != nil || ImageInput(image.NewRGBA(image.Rect(0, 0, 3, 0)), 4) != nil {
		t.Error("ImageInput of nothing is not nil")
	}
	one := ImageInput(img.SubImage(image.Rect(2, 2, 3, 3)), 3)
	p := img.RGBAAt(2, 2)
	for i, v := range one {
		if want := float32([]uint8{p.R, p.G, p.B}[i/9]) / 255; v != want {
			t.Fatalf("1×1 image to 3×3: value %d is %v, want %v", i, v, want)
		}
	}
}

// TestImageTypes checks the fast paths against image.Image's At: every
// type gives what its conversion to RGBA gives.
func TestImageTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const w, h = 13, 9
	r := image.Rect(2, 3, 2+w, 3+h)
	fill := func(p []uint8) {
		for i := range p {
			p[i] = uint8(rng.IntN(256))
		}
	}
	nrgba := image.NewNRGBA(r)
	fill(nrgba.Pix)
	gray := image.NewGray(r)
	fill(gray.Pix)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	fill(ycc.Y)
	fill(ycc.Cb)
	fill(ycc.Cr)
	pal := image.NewPaletted(r, color.Palette{color.Black, color.RGBA{200, 10, 30, 255}, color.NRGBA{5, 250, 100, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.IntN(3))
	}
	rgba64 := image.NewRGBA64(r)
	fill(rgba64.Pix)
	for _, img := range []image.Image{nrgba, gray, ycc, pal, rgba64} {
		conv := image.NewRGBA(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				conv.Set(x, y, img.At(x, y))
			}
		}
		for _, s := range []int{4, 13, 32} {
			if got, want := ImageInput(img, s), ImageInput(conv, s); !reflect.DeepEqual(got, want) {
				t.Errorf("%T at size %d differs from its RGBA conversion", img, s)
			}
		}
	}
}

func TestLogitPlane(t *testing.T) {
	// 2×2 → 4×4 and back matches makeTaps in both directions, and at and
	// row agree.
	l := []float32{0, 1, 2, 3}
	p := newLogitPlane(l, 2, 4, 3)
	row := make([]float32, 4)
	for y := range 3 {
		p.row(y, row)
		for x := range 4 {
			if row[x] != p.at(x, y) {
				t.Fatalf("row and at differ at (%d,%d)", x, y)
			}
		}
	}
	p.row(0, row)
	if !reflect.DeepEqual(row, []float32{0, 0.25, 0.75, 1}) {
		t.Errorf("row 0 is %v", row)
	}
	p.row(1, row) // centre of 3 rows over 2: halfway
	if !reflect.DeepEqual(row, []float32{1, 1.25, 1.75, 2}) {
		t.Errorf("row 1 is %v", row)
	}
}

func TestSigmoid(t *testing.T) {
	if sigmoid(0) != 0.5 || sigmoid(math.NaN()) != 0.5 || sigmoid(math.Inf(1)) != 1 || sigmoid(math.Inf(-1)) != 0 {
		t.Error("sigmoid of 0, NaN or ±Inf is wrong")
	}
	worst := 0.0
	for x := -60.0; x <= 60; x += 0.01 {
		want := 1 / (1 + math.Exp(-x))
		if d := math.Abs(sigmoid(x)-want) / want; d > worst {
			worst = d
		}
	}
	if worst > 1e-14 {
		t.Errorf("sigmoid is off by %g relative", worst)
	}
	for x := -80.0; x <= 0; x += 0.001 {
		if d := math.Abs(expNeg(x)-math.Exp(x)) / math.Exp(x); d > 1e-14 {
			t.Fatalf("expNeg(%v) is off by %g relative", x, d)
		}
	}
	// Monotone across a tricky range (where k changes).
	prev := 0.0
	for x := -3.0; x <= 3; x += 1e-4 {
		v := sigmoid(x)
		if v < prev {
			t.Fatalf("sigmoid decreases at %v", x)
		}
		prev = v
	}
}

func TestComponents(t *testing.T) {
	// 8-connectivity joins diagonals; numbering follows raster order.
	const w, h = 6, 4
	fg := []uint8{
		1, 0, 0, 0, 1, 1,
		0, 1, 0, 0, 0, 1,
		0, 0, 0, 0, 1, 0,
		1, 1, 0, 0, 0, 0,
	}
	labels, comps := components(fg, w, h)
	if len(comps) != 3 {
		t.Fatalf("%d components, want 3: %+v", len(comps), comps)
	}
	want := []component{
		{1, 2, image.Rect(0, 0, 2, 2)},
		{2, 4, image.Rect(4, 0, 6, 3)},
		{3, 2, image.Rect(0, 3, 2, 4)},
	}
	if !reflect.DeepEqual(comps, want) {
		t.Errorf("components %+v, want %+v", comps, want)
	}
	if labels[2*w+4] != 2 || labels[0] != 1 || labels[3*w] != 3 || labels[1] != 0 {
		t.Errorf("labels %v", labels)
	}
	if c, ok := largest(comps); !ok || c.label != 2 {
		t.Errorf("largest is %+v", c)
	}
	// A tie goes to the first.
	if c, _ := largest([]component{{label: 1, area: 3}, {label: 2, area: 3}}); c.label != 1 {
		t.Errorf("tie went to %d", c.label)
	}
	if _, ok := largest(nil); ok {
		t.Error("largest of nothing")
	}
}
