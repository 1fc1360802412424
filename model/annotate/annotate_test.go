package annotate

import (
	"errors"
	"image"
	"image/color"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestStage1FindsRectangles(t *testing.T) {
	// Non-square, larger than S, and of another aspect ratio.
	const w, h = 200, 120
	rects := []image.Rectangle{
		image.Rect(10, 10, 50, 40),
		image.Rect(80, 20, 130, 90),
		image.Rect(150, 60, 190, 110),
	}
	img := drawRects(w, h, rects...)
	seg := &redSeg{s: 64}
	objs, err := twoStage(seg, img, nil, Params{Class: "person", Padding: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, rects...)
	for _, o := range objs {
		checkObject(t, o, "person")
		if _, ok := tag(o, "score"); ok {
			t.Errorf("stage-1 object at %v has a score tag", o.Origin)
		}
	}
	// One whole-image call, then the three crops in one batch.
	if !reflect.DeepEqual(seg.sizes, []int{1, 3}) {
		t.Errorf("Segment calls of %v images, want [1 3]", seg.sizes)
	}
}

func TestStage1Upsampled(t *testing.T) {
	// An image smaller than S, non-square.
	const w, h = 50, 30
	rects := []image.Rectangle{image.Rect(3, 4, 20, 25), image.Rect(30, 2, 46, 12)}
	objs, err := twoStage(&redSeg{s: 64}, drawRects(w, h, rects...), nil, Params{Class: "x", Padding: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, rects[1], rects[0]) // by top
}

func TestStage2GivenBoxes(t *testing.T) {
	const w, h = 160, 100
	rects := []image.Rectangle{image.Rect(20, 50, 60, 90), image.Rect(90, 10, 140, 60)}
	img := drawRects(w, h, rects...)
	boxes := []Box{
		{Rect: image.Rect(88, 8, 143, 61), Score: 0.75},  // loose
		{Rect: image.Rect(22, 52, 59, 88), Score: 0.875}, // a little tight
	}
	seg := &redSeg{s: 48, gain: 4}
	objs, err := twoStage(seg, img, boxes, Params{Class: "person", Padding: 0.1, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by top: the second rectangle first.
	matchRects(t, objs, w, h, 0.95, rects[1], rects[0])
	for i, want := range []string{"0.75", "0.875"} {
		checkObject(t, objs[i], "person")
		if v, num := tag(objs[i], "score"); v != want || !num {
			t.Errorf("object %d: score tag %q (number %v), want %s", i, v, num, want)
		}
	}
	if !reflect.DeepEqual(seg.sizes, []int{1, 1}) {
		t.Errorf("Segment calls of %v images, want [1 1] (Batch 1, no stage 1)", seg.sizes)
	}
}

func TestStage2KeepsDominantObject(t *testing.T) {
	// The box holds most of one rectangle and a corner of another: only
	// the larger component inside the window is kept.
	const w, h = 120, 80
	big, small := image.Rect(10, 10, 70, 70), image.Rect(75, 5, 110, 40)
	img := drawRects(w, h, big, small)
	objs, err := twoStage(&redSeg{s: 64}, img, []Box{{Rect: image.Rect(5, 5, 80, 75), Score: 1}}, Params{Class: "p"})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, big)
}

func TestMinArea(t *testing.T) {
	const w, h = 80, 72
	big, small := image.Rect(5, 5, 40, 40), image.Rect(55, 50, 65, 60) // 1225 and 100 pixels
	img := drawRects(w, h, big, small)
	boxes := []Box{{Rect: big, Score: 1}, {Rect: small, Score: 1}}
	for _, tc := range []struct {
		name    string
		boxes   []Box
		minArea int
		want    []image.Rectangle
	}{
		{"stage1/keep", nil, 50, []image.Rectangle{big, small}},
		{"stage1/drop", nil, 300, []image.Rectangle{big}},
		{"stage1/drop all", nil, 5000, nil},
		{"stage2/keep", boxes, 100, []image.Rectangle{big, small}},
		{"stage2/drop", boxes, 101, []image.Rectangle{big}},
		{"stage2/drop all", boxes, 1226, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := twoStage(&redSeg{s: 64}, img, tc.boxes, Params{Class: "p", MinArea: tc.minArea, Padding: 0.2})
			if err != nil {
				t.Fatal(err)
			}
			matchRects(t, objs, w, h, 0.95, tc.want...)
		})
	}
}

func TestPadding(t *testing.T) {
	const w, h = 160, 120
	rect := image.Rect(40, 30, 100, 80)
	inner := image.Rect(50, 40, 90, 70) // a detector box cutting the object
	corner := image.Rect(0, 0, 30, 24)  // touching the image's corner
	img := drawRects(w, h, rect, corner)
	run := func(box image.Rectangle, pad float64) []Box {
		objs, err := twoStage(&redSeg{s: 64}, img, []Box{{Rect: box, Score: 1}}, Params{Class: "p", Padding: pad})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 {
			t.Fatalf("box %v padding %v: %d objects, want 1", box, pad, len(objs))
		}
		return []Box{{Rect: objs[0].Bounds()}}
	}
	// Without padding the mask stops at the box; with 0.5 of the box's
	// width (20 pixels) left and right and of its height (15) above and
	// below it reaches the object's edges.
	if got := run(inner, 0)[0].Rect; got != inner {
		t.Errorf("padding 0: bounds %v, want the box %v", got, inner)
	}
	if got := run(inner, 0.5)[0].Rect; got != rect {
		t.Errorf("padding 0.5: bounds %v, want the object %v", got, rect)
	}
	// 0.2 of the width 40 is 8 pixels, of the height 30 is 6: still short
	// of the object's edges (50 − 8 = 42 > 40, 40 − 6 = 34 > 30).
	if got := run(inner, 0.2)[0].Rect; got != image.Rect(42, 34, 98, 76) {
		t.Errorf("padding 0.2: bounds %v, want (42,34)-(98,76)", got)
	}
	// 0.07 of 40 is 2.8 and of 30 is 2.1: rounded down to 2 pixels each,
	// as instances_crop rounds.
	if got := run(inner, 0.07)[0].Rect; got != image.Rect(48, 38, 92, 72) {
		t.Errorf("padding 0.07: bounds %v, want (48,38)-(92,72)", got)
	}
	// Padding past the image's border is clamped.
	if got := run(corner, 1)[0].Rect; got != corner {
		t.Errorf("corner: bounds %v, want %v", got, corner)
	}
}

func TestConfidence(t *testing.T) {
	const w, h = 90, 70
	img := drawRects(w, h, image.Rect(10, 10, 50, 60))
	conf := func(gain float32) (string, float64) {
		objs, err := twoStage(&redSeg{s: 32, gain: gain}, img, nil, Params{Class: "p", Padding: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 {
			t.Fatalf("%d objects, want 1", len(objs))
		}
		v, num := tag(objs[0], "confidence")
		if !num {
			t.Fatal("no numeric confidence tag")
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		if f != math.Round(f*1000)/1000 {
			t.Errorf("confidence %s is not rounded to 3 decimals", v)
		}
		return v, f
	}
	// Inside the rectangle the logit is gain/2; edge pixels are a little
	// lower.
	v1, f1 := conf(1)
	if f1 > 0.623 || f1 < 0.55 {
		t.Errorf("confidence with gain 1 is %v, want a little under σ(0.5) ≈ 0.622", f1)
	}
	_, f8 := conf(8)
	if f8 > 0.983 || f8 < 0.9 {
		t.Errorf("confidence with gain 8 is %v, want a little under σ(4) ≈ 0.982", f8)
	}
	for range 3 {
		if v, _ := conf(1); v != v1 {
			t.Fatalf("confidence changed between runs: %s then %s", v1, v)
		}
	}
	t.Logf("confidence %s (gain 1), %v (gain 8)", v1, f8)
}

func TestDeterministic(t *testing.T) {
	const w, h = 130, 90
	img := drawRects(w, h, image.Rect(5, 5, 30, 80), image.Rect(40, 10, 120, 50), image.Rect(50, 60, 100, 85))
	// A smooth, odd-looking logit map, so that thresholds and sigmoids see
	// many different values.
	mangle := func(out []float32) []float32 {
		for i := range out {
			out[i] = float32(float64(out[i])*3 + 0.2*math.Sin(float64(i)*0.37))
		}
		return out
	}
	first, err := twoStage(&redSeg{s: 48, mangle: mangle}, img, nil, Params{Class: "p", Padding: 0.15, Threshold: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("no objects")
	}
	for range 3 {
		again, err := twoStage(&redSeg{s: 48, mangle: mangle}, img, nil, Params{Class: "p", Padding: 0.15, Threshold: 0.4})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatal("a second run gave other objects")
		}
	}
}

func TestSortedByTopLeftArea(t *testing.T) {
	const w, h = 100, 60
	a, b, c := image.Rect(50, 10, 90, 50), image.Rect(10, 10, 30, 20), image.Rect(10, 30, 40, 55)
	img := drawRects(w, h, a, b, c)
	// Two boxes on b: the loose one's window also reaches into nothing
	// else, so both give b; then a, then c by top.
	boxes := []Box{{Rect: c, Score: 0.1}, {Rect: a, Score: 0.2}, {Rect: b, Score: 0.3}}
	objs, err := twoStage(&redSeg{s: 32}, img, boxes, Params{Class: "p"})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, b, a, c)
	// Same top: left decides; same top-left: area.
	sm, lg := image.Rect(10, 10, 20, 20), image.Rect(10, 10, 30, 30)
	objs, err = twoStage(&redSeg{s: 32}, drawRects(w, h, lg), []Box{{Rect: lg, Score: 1}, {Rect: sm, Score: 1}}, Params{Class: "p"})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.99, sm, lg)
}

func TestOddInputs(t *testing.T) {
	p := Params{Class: "p", Padding: 0.1}
	t.Run("1x1", func(t *testing.T) {
		objs, err := twoStage(&redSeg{s: 16}, drawRects(1, 1, image.Rect(0, 0, 1, 1)), nil, p)
		if err != nil {
			t.Fatal(err)
		}
		matchRects(t, objs, 1, 1, 1, image.Rect(0, 0, 1, 1))
		objs, err = twoStage(&redSeg{s: 16}, drawRects(1, 1), nil, p)
		if err != nil || len(objs) != 0 {
			t.Fatalf("black 1x1: %d objects, %v", len(objs), err)
		}
		objs, err = twoStage(&redSeg{s: 1}, drawRects(1, 1, image.Rect(0, 0, 1, 1)), []Box{{Rect: image.Rect(-3, -3, 4, 4)}}, p)
		if err != nil || len(objs) != 1 {
			t.Fatalf("S=1: %d objects, %v", len(objs), err)
		}
	})
	t.Run("boxes outside", func(t *testing.T) {
		img := drawRects(40, 30, image.Rect(0, 0, 40, 30))
		seg := &redSeg{s: 16}
		boxes := []Box{
			{Rect: image.Rect(50, 50, 60, 60)},
			{Rect: image.Rect(-20, -20, -1, -1)},
			{},
			{Rect: image.Rectangle{Min: image.Pt(10, 10), Max: image.Pt(5, 5)}},
			{Rect: image.Rect(40, 0, 50, 30)}, // touches the right edge from outside
		}
		// Without padding (padding could reach into the image).
		objs, err := twoStage(seg, img, boxes, Params{Class: "p"})
		if err != nil || len(objs) != 0 || seg.calls != 0 {
			t.Fatalf("%d objects, %d Segment calls, %v; want none", len(objs), seg.calls, err)
		}
		// With padding, a box just outside reaches in: 0.2 of 19 is 3
		// pixels, to (2, 2).
		objs, err = twoStage(seg, img, boxes[1:2], Params{Class: "p", Padding: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		matchRects(t, objs, 40, 30, 1, image.Rect(0, 0, 2, 2))
		huge := []Box{{Rect: image.Rectangle{Min: image.Pt(math.MinInt, math.MinInt), Max: image.Pt(math.MaxInt, math.MaxInt)}}}
		objs, err = twoStage(seg, img, huge, Params{Class: "p", Padding: 1e300})
		if err != nil {
			t.Fatal(err)
		}
		matchRects(t, objs, 40, 30, 1, image.Rect(0, 0, 40, 30))
	})
	t.Run("zero boxes", func(t *testing.T) {
		seg := &redSeg{s: 16}
		objs, err := twoStage(seg, drawRects(20, 20, image.Rect(0, 0, 10, 10)), []Box{}, p)
		if err != nil || len(objs) != 0 || seg.calls != 0 {
			t.Fatalf("%d objects, %d Segment calls, %v; want none", len(objs), seg.calls, err)
		}
	})
	t.Run("all background", func(t *testing.T) {
		for _, boxes := range [][]Box{nil, {{Rect: image.Rect(0, 0, 20, 20)}}} {
			objs, err := twoStage(&redSeg{s: 16}, drawRects(33, 21), boxes, p)
			if err != nil || len(objs) != 0 {
				t.Fatalf("%d objects, %v; want none", len(objs), err)
			}
		}
	})
	t.Run("non-finite logits", func(t *testing.T) {
		for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			seg := &redSeg{s: 16, mangle: func(out []float32) []float32 {
				for i := range out {
					if i%3 == 0 {
						out[i] = v
					}
				}
				return out
			}}
			if _, err := twoStage(seg, drawRects(30, 20, image.Rect(5, 5, 25, 15)), nil, p); err != nil {
				t.Fatal(err)
			}
		}
		all := &redSeg{s: 16, mangle: func(out []float32) []float32 {
			for i := range out {
				out[i] = float32(math.Inf(1))
			}
			return out
		}}
		objs, err := twoStage(all, drawRects(30, 20), nil, p)
		if err != nil {
			t.Fatal(err)
		}
		matchRects(t, objs, 30, 20, 1, image.Rect(0, 0, 30, 20))
		if v, _ := tag(objs[0], "confidence"); v != "1" {
			t.Errorf("confidence of +Inf logits is %s, want 1", v)
		}
	})
	t.Run("offset bounds", func(t *testing.T) {
		// Coordinates are relative to the image's bounds' minimum.
		full := drawRects(100, 80, image.Rect(40, 30, 70, 60))
		sub := full.SubImage(image.Rect(20, 10, 100, 80))
		objs, err := twoStage(&redSeg{s: 32}, sub, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		matchRects(t, objs, 80, 70, 0.95, image.Rect(20, 20, 50, 50))
	})
}

func TestErrors(t *testing.T) {
	img := drawRects(20, 20, image.Rect(2, 2, 10, 10))
	ok := Params{Class: "p"}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		seg   Segmenter
		img   image.Image
		boxes []Box
		p     Params
		want  string
	}{
		{"no class", &redSeg{s: 8}, img, nil, Params{}, "no class"},
		{"threshold 1", &redSeg{s: 8}, img, nil, Params{Class: "p", Threshold: 1}, "threshold"},
		{"threshold negative", &redSeg{s: 8}, img, nil, Params{Class: "p", Threshold: -0.5}, "threshold"},
		{"threshold NaN", &redSeg{s: 8}, img, nil, Params{Class: "p", Threshold: math.NaN()}, "threshold"},
		{"min area", &redSeg{s: 8}, img, nil, Params{Class: "p", MinArea: -1}, "min area"},
		{"padding", &redSeg{s: 8}, img, nil, Params{Class: "p", Padding: -0.1}, "padding"},
		{"padding inf", &redSeg{s: 8}, img, nil, Params{Class: "p", Padding: math.Inf(1)}, "padding"},
		{"padding not a whole percent", &redSeg{s: 8}, img, nil, Params{Class: "p", Padding: 0.125}, "padding is 0.125; it must be a whole percent"},
		{"batch", &redSeg{s: 8}, img, nil, Params{Class: "p", Batch: -2}, "batch"},
		{"no segmenter", nil, img, nil, ok, "no segmenter"},
		{"no image", &redSeg{s: 8}, nil, nil, ok, "no image"},
		{"empty image", &redSeg{s: 8}, image.NewRGBA(image.Rect(0, 0, 0, 5)), nil, ok, "empty"},
		{"size 0", &redSeg{s: 0}, img, nil, ok, "input size"},
		{"segment fails", &redSeg{s: 8, err: boom}, img, nil, ok, "stage 1: segmenting 1 image(s): boom"},
		{"segment fails in stage 2", &redSeg{s: 8, err: boom}, img, []Box{{Rect: img.Rect}}, ok, "stage 2: crops 0 to 0"},
		{"short output", &redSeg{s: 8, mangle: func(o []float32) []float32 { return o[1:] }}, img, nil, ok, "returned 63 logits, want 64"},
		{"NaN score", &redSeg{s: 8}, img, []Box{{Rect: img.Rect, Score: math.NaN()}}, ok, "box 0: score"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := twoStage(tc.seg, tc.img, tc.boxes, tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "annotate: ") {
				t.Fatalf("got %d objects, error %v; want an error containing %q", len(objs), err, tc.want)
			}
			if tc.name == "segment fails" && !errors.Is(err, boom) {
				t.Errorf("error %v does not wrap the segmenter's", err)
			}
		})
	}
}

func TestParamsDefaults(t *testing.T) {
	p, err := Params{Class: "p"}.check()
	if err != nil || p.Threshold != DefaultThreshold || p.Batch != DefaultBatch {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	// Twenty crops in batches of eight.
	seg := &redSeg{s: 8}
	boxes := make([]Box, 20)
	for i := range boxes {
		boxes[i] = Box{Rect: image.Rect(0, 0, 10, 10)}
	}
	if _, err := twoStage(seg, drawRects(10, 10, image.Rect(0, 0, 10, 10)), boxes, Params{Class: "p"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seg.sizes, []int{8, 8, 4}) {
		t.Errorf("batches %v, want [8 8 4]", seg.sizes)
	}
}

func TestThreshold(t *testing.T) {
	// A horizontal ramp of red: the threshold moves the mask's left edge.
	const w, h = 100, 10
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / (w - 1)), 0, 0, 255})
		}
	}
	left := func(thr float64) int {
		// logit = 8·(red − ½): p > t ⇔ red > ½ + logit(t)/8.
		objs, err := twoStage(&redSeg{s: 100, gain: 8}, img, []Box{{Rect: img.Rect}}, Params{Class: "p", Threshold: thr})
		if err != nil || len(objs) != 1 {
			t.Fatalf("threshold %v: %d objects, %v", thr, len(objs), err)
		}
		return objs[0].Origin.X
	}
	for _, thr := range []float64{0.2, 0.5, 0.8} {
		red := 0.5 + math.Log(thr/(1-thr))/8
		// Pixel x has red x/99 (rounded to 8 bits); the first above the cut.
		want := int(math.Floor(red*99)) + 1
		if got := left(thr); got < want-1 || got > want+1 {
			t.Errorf("threshold %v: mask starts at %d, want about %d", thr, got, want)
		}
	}
}
