package annotate

import (
	"errors"
	"image"
	"reflect"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// maskOf is the w×h mask of an object, as a string of rows of '#' and '.'.
func maskOf(t *testing.T, o dataset.Object, w, h int) string {
	t.Helper()
	m := raster(t, o, w, h)
	var b strings.Builder
	for y := range h {
		for x := range w {
			if m.At(x, y) {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// drawMask returns an opaque black image with the '#' of rows in red.
func drawMask(rows ...string) *image.RGBA {
	img := drawRects(len(rows[0]), len(rows))
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				img.SetRGBA(x, y, red)
			}
		}
	}
	return img
}

// The image at the segmenter's size resamples exactly (every tap weight
// is 0), so a red drawing comes back as exactly its pixels.
func TestSceneExactMasks(t *testing.T) {
	rows := []string{
		"##......####",
		"##......#..#", // a ring: its hole stays a hole
		"........####",
		"............",
		"#...........", // a single pixel on the border, below min_area
		"...###......",
		"....###.....", // two blobs touching at a corner: one component
		".......##...",
		".......##..#",
		"...........#", // touching the right and bottom borders
	}
	// Square, so that both sides resample exactly.
	sq := drawMask(append(rows, "............", "............")...)
	seg := &redSeg{s: 12}
	objs, err := Scene(seg, sq, Params{Class: "person", MinArea: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seg.sizes, []int{1}) {
		t.Errorf("Segment calls of %v images, want one whole-image call [1]", seg.sizes)
	}
	want := []string{
		// (0,0) top-left: the 2×2 square.
		"##..........\n##..........\n" + strings.Repeat("............\n", 10),
		// (8,0): the ring, its hole empty.
		"........####\n........#..#\n........####\n" + strings.Repeat("............\n", 9),
		// (3,5): the blobs that touch diagonally, one object (8-connected).
		strings.Repeat("............\n", 5) + "...###......\n....###.....\n.......##...\n.......##...\n" + strings.Repeat("............\n", 3),
		// (11,8): the border piece.
		strings.Repeat("............\n", 8) + "...........#\n...........#\n" + strings.Repeat("............\n", 2),
	}
	if len(objs) != len(want) {
		for _, o := range objs {
			t.Logf("object at %v:\n%s", o.Origin, maskOf(t, o, 12, 12))
		}
		t.Fatalf("%d objects, want %d (the single pixel is below min_area 2)", len(objs), len(want))
	}
	for i, o := range objs {
		checkObject(t, o, "person")
		if got := maskOf(t, o, 12, 12); got != want[i] {
			t.Errorf("object %d at %v:\n%s\nwant\n%s", i, o.Origin, got, want[i])
		}
		if _, ok := tag(o, "score"); ok {
			t.Errorf("object %d has a score tag", i)
		}
	}
	// Areas: the single pixel 1, the border piece 2, the square 4, the
	// ring 10 and the blobs 10; min_area keeps those of at least its size.
	for _, tc := range []struct {
		minArea, n int
	}{{0, 5}, {1, 5}, {2, 4}, {3, 3}, {4, 3}, {5, 2}, {10, 2}, {11, 0}} {
		objs, err := Scene(&redSeg{s: 12}, sq, Params{Class: "p", MinArea: tc.minArea})
		if err != nil || len(objs) != tc.n {
			t.Errorf("min_area %d: %d objects, %v; want %d", tc.minArea, len(objs), err, tc.n)
		}
	}
}

// Touching persons are one instance: scene mode cannot split them.
func TestSceneTouchingInstancesMerge(t *testing.T) {
	const w, h = 120, 90
	a, b := image.Rect(10, 10, 50, 80), image.Rect(50, 20, 90, 85) // sharing the column x = 50
	objs, err := Scene(&redSeg{s: 64}, drawRects(w, h, a, b), Params{Class: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%d objects, want the two touching rectangles as one", len(objs))
	}
	union := rectMask(t, w, h, a)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			union.Set(x, y, true)
		}
	}
	if iou := dataset.IoU(raster(t, objs[0], w, h), union); iou < 0.95 {
		t.Errorf("IoU with the union %.4f, want ≥ 0.95", iou)
	}
	// A gap of a few pixels keeps them apart, at image resolution.
	objs, err = Scene(&redSeg{s: 64}, drawRects(w, h, a, b.Add(image.Pt(4, 0))), Params{Class: "p"})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, a, b.Add(image.Pt(4, 0)))
}

// A non-square image larger and one smaller than S: the mask is made at
// image resolution, so components and their areas are in image pixels,
// and a component on the border reaches it.
func TestSceneResampled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w, h  int
		rects []image.Rectangle
	}{
		{"larger", 200, 120, []image.Rectangle{image.Rect(0, 0, 40, 30), image.Rect(80, 20, 130, 90), image.Rect(150, 60, 200, 120)}},
		{"smaller", 50, 30, []image.Rectangle{image.Rect(0, 4, 20, 30), image.Rect(30, 2, 50, 12)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Scene(&redSeg{s: 64}, drawRects(tc.w, tc.h, tc.rects...), Params{Class: "p"})
			if err != nil {
				t.Fatal(err)
			}
			sorted := append([]image.Rectangle(nil), tc.rects...)
			if tc.name == "smaller" {
				sorted[0], sorted[1] = sorted[1], sorted[0] // by top
			}
			matchRects(t, objs, tc.w, tc.h, 0.95, sorted...)
			for _, o := range objs {
				checkObject(t, o, "p")
			}
			// The border components reach the border.
			for _, o := range objs {
				b := o.Bounds()
				for _, r := range tc.rects {
					if r.Min.X == 0 && b.Overlaps(r) && b.Min.X != 0 {
						t.Errorf("object %v does not reach the left border", b)
					}
					if r.Max.X == tc.w && b.Overlaps(r) && b.Max.X != tc.w {
						t.Errorf("object %v does not reach the right border", b)
					}
					if r.Max.Y == tc.h && b.Overlaps(r) && b.Max.Y != tc.h {
						t.Errorf("object %v does not reach the bottom border", b)
					}
				}
			}
		})
	}
	// min_area counts image pixels: the 20×10 rectangle of the small image
	// has about 200, whatever S is.
	img := drawRects(50, 30, image.Rect(30, 2, 50, 12))
	for _, s := range []int{16, 64} {
		keep, err := Scene(&redSeg{s: s}, img, Params{Class: "p", MinArea: 150})
		if err != nil || len(keep) != 1 {
			t.Errorf("S=%d min_area 150: %d objects, %v; want 1", s, len(keep), err)
		}
		drop, err := Scene(&redSeg{s: s}, img, Params{Class: "p", MinArea: 260})
		if err != nil || len(drop) != 0 {
			t.Errorf("S=%d min_area 260: %d objects, %v; want 0", s, len(drop), err)
		}
	}
}

func TestSceneErrors(t *testing.T) {
	img := drawRects(20, 20, image.Rect(2, 2, 10, 10))
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		seg  Segmenter
		p    Params
		want string
	}{
		{"no segmenter", nil, Params{Class: "p"}, "annotate: no segmenter"},
		{"size 0", &redSeg{s: 0}, Params{Class: "p"}, "input size is 0"},
		{"no class", &redSeg{s: 8}, Params{}, "no class"},
		{"segment fails", &redSeg{s: 8, err: boom}, Params{Class: "p"}, "annotate: segmenting 1 image(s): boom"},
		{"short output", &redSeg{s: 8, mangle: func(o []float32) []float32 { return o[1:] }}, Params{Class: "p"}, "returned 63 logits, want 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Scene(tc.seg, img, tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%d objects, error %v; want one containing %q", len(objs), err, tc.want)
			}
		})
	}
}

// Boxes uses its two segmenters for their own stages, each at its own
// input size: find once for the whole image, crop for the padded boxes.
func TestBoxesTwoModels(t *testing.T) {
	const w, h = 160, 100
	rects := []image.Rectangle{image.Rect(20, 50, 60, 90), image.Rect(90, 10, 140, 60)}
	img := drawRects(w, h, rects...)
	find, crop := &redSeg{s: 64}, &redSeg{s: 24, gain: 4}
	objs, err := Boxes(find, crop, img, nil, Params{Class: "person", Padding: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, rects[1], rects[0])
	if !reflect.DeepEqual(find.sizes, []int{1}) || !reflect.DeepEqual(crop.sizes, []int{2}) {
		t.Errorf("find called with %v images, crop with %v; want [1] and [2]", find.sizes, crop.sizes)
	}
	// With boxes, find is not needed.
	crop = &redSeg{s: 24}
	objs, err = Boxes(nil, crop, img, []Box{{Rect: rects[0], Score: 0.5}}, Params{Class: "person", Padding: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	matchRects(t, objs, w, h, 0.95, rects[0])
	// Without boxes it is.
	if _, err := Boxes(nil, crop, img, nil, Params{Class: "p"}); err == nil || !strings.Contains(err.Error(), "annotate: stage 1: no segmenter") {
		t.Errorf("no find model: %v", err)
	}
	if _, err := Boxes(find, nil, img, nil, Params{Class: "p"}); err == nil || !strings.Contains(err.Error(), "annotate: crop model: no segmenter") {
		t.Errorf("no crop model: %v", err)
	}
}

func TestPaddingPercent(t *testing.T) {
	for _, tc := range []struct {
		pad  float64
		want int
	}{{0, 0}, {0.1, 10}, {0.07, 7}, {0.29, 29}, {0.3, 30}, {1, 100}, {4, 400}, {1e300, 1 << 20}} {
		if got, err := PaddingPercent(tc.pad); err != nil || got != tc.want {
			t.Errorf("PaddingPercent(%v) = %d, %v; want %d", tc.pad, got, err, tc.want)
		}
	}
	for _, pad := range []float64{-0.01, 0.125, 0.001} {
		if _, err := PaddingPercent(pad); err == nil {
			t.Errorf("PaddingPercent(%v): no error", pad)
		}
	}
}

// Window pads each axis by its own side, rounded down, and clamps.
func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		r    image.Rectangle
		pct  int
		want image.Rectangle
		ok   bool
	}{
		{image.Rect(50, 40, 90, 70), 0, image.Rect(50, 40, 90, 70), true},
		{image.Rect(50, 40, 90, 70), 10, image.Rect(46, 37, 94, 73), true},   // 4 and 3 pixels
		{image.Rect(50, 40, 90, 70), 7, image.Rect(48, 38, 92, 72), true},    // 2.8 → 2, 2.1 → 2
		{image.Rect(10, 10, 30, 110), 50, image.Rect(0, 0, 40, 120), true},   // clamped to 160×120
		{image.Rect(150, 5, 160, 15), 20, image.Rect(148, 3, 160, 17), true}, // on the right edge
		{image.Rect(170, 5, 180, 15), 10, image.Rectangle{}, false},          // outside
		{image.Rect(5, 5, 5, 15), 10, image.Rectangle{}, false},              // empty
	} {
		got, ok := Window(tc.r, tc.pct, 160, 120)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Window(%v, %d%%) = %v, %v; want %v, %v", tc.r, tc.pct, got, ok, tc.want, tc.ok)
		}
	}
}
