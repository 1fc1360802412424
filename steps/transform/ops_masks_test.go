package transform

import (
	"bytes"
	"image"
	"math/rand/v2"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// maskArt draws a bitmap object: '#' is a set pixel, rows top to bottom.
func maskArt(class string, origin image.Point, rows ...string) dataset.Object {
	m, _ := dataset.NewMask(len(rows[0]), len(rows))
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				m.Bits[y*m.W+x] = 1
			}
		}
	}
	return dataset.Object{Class: class, Shape: dataset.ShapeBitmap, Mask: m, Origin: origin}
}

// ptsOf makes points of x, y pairs.
func ptsOf(xy ...float64) []dataset.Point {
	var out []dataset.Point
	for i := 0; i+1 < len(xy); i += 2 {
		out = append(out, dataset.Point{X: xy[i], Y: xy[i+1]})
	}
	return out
}

func polyObj(class string, xy ...float64) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: ptsOf(xy...)}}
}

// rasterArea is the number of image pixels an object covers.
func rasterArea(t *testing.T, ob dataset.Object, w, h int) int {
	t.Helper()
	m, err := ob.Raster(w, h)
	if err != nil {
		t.Fatal(err)
	}
	return m.Area()
}

// checkRoundTrip encodes the annotation, parses it back with meta (which decides
// the shapes when it names one) and checks that it encodes to the same bytes.
func checkRoundTrip(t *testing.T, a *dataset.Annotation, meta *dataset.Meta) {
	t.Helper()
	raw, err := dataset.EncodeAnnotation(a)
	if err != nil {
		t.Fatalf("EncodeAnnotation: %v", err)
	}
	back, err := dataset.ParseAnnotation(raw, meta)
	if err != nil {
		t.Fatalf("ParseAnnotation with the op's meta: %v", err)
	}
	again, err := dataset.EncodeAnnotation(back)
	if err != nil || !bytes.Equal(raw, again) {
		t.Fatalf("encoding changed through parse: %v\n%s\n%s", err, raw, again)
	}
}

func metaWith(classes ...string) *dataset.Meta {
	m := &dataset.Meta{}
	for i := 0; i+1 < len(classes); i += 2 {
		m.AddClass(dataset.Class{Title: classes[i], Shape: classes[i+1]})
	}
	m.Sort()
	return m
}

func classShape(m *dataset.Meta, class string) string {
	if c := m.Class(class); c != nil {
		return c.Shape
	}
	return "(none)"
}

func TestMaskOpParamErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		op    string
		attrs map[string]any
		want  string
	}{
		{"poly2bitmap", map[string]any{"classes": []string{"a", ""}}, "classes must not contain an empty class name"},
		{"find_contours", map[string]any{"classes": []string{""}}, "classes must not contain an empty class name"},
		{"find_contours", map[string]any{"simplify_tolerance": -0.5}, "simplify_tolerance must not be negative"},
		{"split_masks", map[string]any{"connectivity": 6}, "connectivity is 6; use 4 or 8"},
		{"split_masks", map[string]any{"connectivity": 4.5}, "connectivity must be a whole number, not 4.5"},
		{"split_masks", map[string]any{"classes": []string{""}}, "classes must not contain an empty class name"},
		{"merge_masks", map[string]any{"class": ""}, "class must not be empty"},
		{"merge_masks", map[string]any{}, "class must not be empty"},
		{"edge_band", map[string]any{"width": 0}, "width must be at least 1 pixel, not 0"},
		{"edge_band", map[string]any{"width": -3}, "width must be at least 1 pixel, not -3"},
		{"edge_band", map[string]any{"width": 1.5}, "width must be a whole number, not 1.5"},
		{"edge_band", map[string]any{"width": 1 << 31}, "width 2147483648 is out of range"},
		{"edge_band", map[string]any{"class": ""}, "class must not be empty"},
		{"edge_band", map[string]any{"classes": []string{"person", "edge"}}, `classes must not include the band class "edge"`},
		{"edge_band", map[string]any{"classes": []string{"person", "rim"}, "class": "rim"}, `classes must not include the band class "rim"`},
		{"edge_band", map[string]any{"classes": []string{""}}, "classes must not contain an empty class name"},
	} {
		_, err := buildOp(t, c.op, c.attrs)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s %v: error %v, want %q", c.op, c.attrs, err, c.want)
		}
		if _, ok := err.(*paramError); err != nil && !ok {
			t.Errorf("%s %v: %T is not a paramError", c.op, c.attrs, err)
		}
	}
	// Defaults and valid extremes build.
	for _, c := range []struct {
		op    string
		attrs map[string]any
	}{
		{"poly2bitmap", map[string]any{}},
		{"poly2bitmap", map[string]any{"classes": []string{}}},
		{"find_contours", map[string]any{"simplify_tolerance": 0}},
		{"split_masks", map[string]any{"connectivity": 4}},
		{"merge_masks", map[string]any{"class": "a"}},
		{"edge_band", map[string]any{}},
		{"edge_band", map[string]any{"width": 1, "class": "rim", "classes": []string{"edge"}}},
	} {
		mustBuild(t, c.op, c.attrs)
	}
}

func TestMaskOpMetaUnknownClass(t *testing.T) {
	t.Parallel()
	in := metaWith("person", dataset.ShapePolygon)
	for _, c := range []struct {
		op    string
		attrs map[string]any
	}{
		{"poly2bitmap", map[string]any{"classes": []string{"car"}}},
		{"find_contours", map[string]any{"classes": []string{"car"}}},
		{"split_masks", map[string]any{"classes": []string{"car"}}},
		{"merge_masks", map[string]any{"class": "car"}},
		{"edge_band", map[string]any{"classes": []string{"car"}}},
	} {
		_, err := mustBuild(t, c.op, c.attrs).(MetaOp).Meta(in)
		if err == nil || !strings.Contains(err.Error(), `class "car" is not in the input; its classes are: person`) {
			t.Errorf("%s: Meta error %v", c.op, err)
		}
	}
}

func TestPoly2Bitmap(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "poly2bitmap", map[string]any{"classes": []string{"a", "r"}})
	tri := polyObj("a", 0, 0, 6, 0, 0, 6)
	tri.Tags = []dataset.Tag{{Name: "good"}}
	it := testItem(8, 5,
		polyObj("a", 1, 1, 4, 1, 4, 3, 1, 3), // square: 3×2 pixels
		tri,                                  // clipped at the bottom
		polyObj("a", 20, 20, 30, 20, 30, 30), // outside the image: dropped
		polyObj("a", 1.2, 1.2, 1.4, 1.2, 1.4, 1.4), // covers no pixel centre: dropped
		rectObj("r", image.Rect(6, 3, 10, 9)),      // clipped to (6,3)-(8,5)
		polyObj("b", 0, 0, 2, 0, 2, 2),             // not selected
		maskArt("a", image.Pt(7, 4), "#"),          // already a bitmap
	)
	obs := applyOne(t, op, it).Ann.Objects
	if len(obs) != 5 {
		t.Fatalf("%d objects, want 5: %+v", len(obs), obs)
	}
	want := []struct {
		shape  string
		bounds image.Rectangle
		area   int
	}{
		{dataset.ShapeBitmap, image.Rect(1, 1, 4, 3), 6},
		{dataset.ShapeBitmap, image.Rect(0, 0, 5, 5), 15},
		{dataset.ShapeBitmap, image.Rect(6, 3, 8, 5), 4},
		{dataset.ShapePolygon, image.Rect(0, 0, 2, 2), 3},
		{dataset.ShapeBitmap, image.Rect(7, 4, 8, 5), 1},
	}
	for i, w := range want {
		ob := obs[i]
		if ob.Shape != w.shape || ob.Bounds() != w.bounds {
			t.Errorf("object %d: %s %v, want %s %v", i, ob.Shape, ob.Bounds(), w.shape, w.bounds)
		}
		if ob.Shape == dataset.ShapeBitmap && (ob.Mask.W != ob.Bounds().Dx() || ob.Mask.H != ob.Bounds().Dy()) {
			t.Errorf("object %d: mask %dx%d is not cropped to %v", i, ob.Mask.W, ob.Mask.H, ob.Bounds())
		}
		if w.area > 0 && rasterArea(t, ob, 8, 5) != w.area {
			t.Errorf("object %d: area %d, want %d", i, rasterArea(t, ob, 8, 5), w.area)
		}
	}
	// The triangle's pixels are exactly Rasterize's on the whole image.
	full, _ := dataset.Rasterize(8, 5, []dataset.Polygon{tri.Polygon})
	got, _ := obs[1].Raster(8, 5)
	if !got.Equal(full) || got.Area() != 15 {
		t.Errorf("triangle: area %d, Rasterize gives %d", got.Area(), full.Area())
	}
	if len(obs[1].Tags) != 1 || obs[1].Tags[0].Name != "good" {
		t.Errorf("tags lost: %v", obs[1].Tags)
	}

	meta, err := op.(MetaOp).Meta(metaWith("a", dataset.ShapePolygon, "b", dataset.ShapePolygon, "r", dataset.ShapeAny))
	if err != nil {
		t.Fatal(err)
	}
	if classShape(meta, "a") != "bitmap" || classShape(meta, "r") != "bitmap" || classShape(meta, "b") != "polygon" {
		t.Errorf("meta shapes: %+v", meta.Classes)
	}
	// All classes when none are given.
	meta, _ = mustBuild(t, "poly2bitmap", nil).(MetaOp).Meta(metaWith("a", dataset.ShapePolygon, "b", dataset.ShapeRectangle))
	if classShape(meta, "a") != "bitmap" || classShape(meta, "b") != "bitmap" {
		t.Errorf("meta shapes (all classes): %+v", meta.Classes)
	}
	it = testItem(8, 5, polyObj("b", 0, 0, 2, 0, 2, 2), rectObj("a", image.Rect(0, 0, 1, 1)))
	obs = applyOne(t, mustBuild(t, "poly2bitmap", nil), it).Ann.Objects
	if len(obs) != 2 || obs[0].Shape != dataset.ShapeBitmap || obs[1].Shape != dataset.ShapeBitmap || obs[0].Mask.Area() != 3 {
		t.Errorf("all classes: %+v", obs)
	}
	checkRoundTrip(t, it.Ann, meta)
}

func TestFindContours(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "find_contours", map[string]any{"classes": []string{"a"}})
	src := maskArt("a", image.Pt(10, 20),
		"####.",
		"#..#.",
		"####.",
		".....",
		"....#",
	)
	src.Tags = []dataset.Tag{{Name: "t"}}
	it := testItem(40, 40, src, maskArt("b", image.Pt(0, 0), "#"), rectObj("a", image.Rect(0, 0, 2, 2)))
	obs := applyOne(t, op, it).Ann.Objects
	if len(obs) != 4 {
		t.Fatalf("%d objects, want 4", len(obs))
	}
	// The polygons take the bitmap's place.
	obs[0], obs[1], obs[2], obs[3] = obs[2], obs[3], obs[0], obs[1]
	if obs[0].Class != "b" || obs[0].Shape != dataset.ShapeBitmap || obs[1].Shape != dataset.ShapeRectangle {
		t.Errorf("unselected objects changed: %+v %+v", obs[0], obs[1])
	}
	ring := obs[2].Polygon
	wantExt := ptsOf(10, 20, 14, 20, 14, 23, 10, 23)
	wantHole := ptsOf(11, 21, 11, 22, 13, 22, 13, 21)
	if obs[2].Shape != dataset.ShapePolygon || !samePoints(ring.Exterior, wantExt) || len(ring.Holes) != 1 || !samePoints(ring.Holes[0], wantHole) {
		t.Errorf("ring polygon = %+v, want exterior %v, hole %v", ring, wantExt, wantHole)
	}
	if got := obs[3].Polygon.Exterior; !samePoints(got, ptsOf(14, 24, 15, 24, 15, 25, 14, 25)) || len(obs[3].Polygon.Holes) != 0 {
		t.Errorf("lone pixel polygon = %v", obs[3].Polygon)
	}
	if len(obs[2].Tags) != 1 || len(obs[3].Tags) != 1 || &obs[2].Tags[0] == &obs[3].Tags[0] {
		t.Errorf("tags not copied to each piece: %v %v", obs[2].Tags, obs[3].Tags)
	}
	// The polygons cover exactly the mask's pixels.
	want, _ := src.Raster(40, 40)
	got, _ := dataset.Rasterize(40, 40, []dataset.Polygon{obs[2].Polygon, obs[3].Polygon})
	if !got.Equal(want) {
		t.Errorf("polygons rasterise to %d pixels, the mask has %d", got.Area(), want.Area())
	}

	// Diagonal pixels are separate polygons (4-connected components).
	it = testItem(4, 4, maskArt("a", image.Pt(0, 0), "#.", ".#"))
	if n := len(applyOne(t, op, it).Ann.Objects); n != 2 {
		t.Errorf("diagonal pixels: %d polygons, want 2", n)
	}
	// Empty and missing masks are dropped.
	empty := maskArt("a", image.Pt(0, 0), "..", "..")
	it = testItem(1, 1, empty, dataset.Object{Class: "a", Shape: dataset.ShapeBitmap})
	if n := len(applyOne(t, op, it).Ann.Objects); n != 0 {
		t.Errorf("empty masks: %d objects, want 0", n)
	}

	meta, err := op.(MetaOp).Meta(metaWith("a", dataset.ShapeBitmap, "b", dataset.ShapeBitmap))
	if err != nil {
		t.Fatal(err)
	}
	if classShape(meta, "a") != "polygon" || classShape(meta, "b") != "bitmap" {
		t.Errorf("meta shapes: %+v", meta.Classes)
	}
	meta, _ = mustBuild(t, "find_contours", nil).(MetaOp).Meta(metaWith("a", dataset.ShapeAny, "b", dataset.ShapeBitmap, "c", dataset.ShapeRectangle))
	if classShape(meta, "a") != "any" || classShape(meta, "b") != "polygon" || classShape(meta, "c") != "rectangle" {
		t.Errorf("meta shapes (all classes): %+v", meta.Classes)
	}
	it = testItem(40, 40, src, maskArt("b", image.Pt(3, 3), "##", "#."))
	checkRoundTrip(t, applyOne(t, mustBuild(t, "find_contours", nil), it).Ann, meta)
}

func samePoints(a, b []dataset.Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFindContoursSimplify(t *testing.T) {
	t.Parallel()
	// A staircase triangle: 8 rows, row y has y+1 pixels.
	var rows []string
	for y := 0; y < 8; y++ {
		rows = append(rows, strings.Repeat("#", y+1)+strings.Repeat(".", 7-y))
	}
	tri := maskArt("a", image.Pt(2, 3), rows...)
	exact := applyOne(t, mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 0}), testItem(20, 20, tri)).Ann.Objects
	if n := len(exact[0].Polygon.Exterior); n != 18 {
		t.Fatalf("exact staircase has %d vertices, want 18", n)
	}
	// The steps are 1/√2 px from the diagonal: within 1 px they all go.
	simp := applyOne(t, mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 1}), testItem(20, 20, tri)).Ann.Objects
	want := ptsOf(2, 3, 10, 11, 2, 11)
	if got := simp[0].Polygon.Exterior; !samePoints(got, want) {
		t.Errorf("simplified (1 px) = %v, want %v", got, want)
	}
	// A notch 1 px deep stays at 0.5 px and goes at 1.5 px.
	notch := maskArt("a", image.Pt(0, 0), "####.#####", "##########", "##########")
	exact = applyOne(t, mustBuild(t, "find_contours", nil), testItem(10, 3, notch)).Ann.Objects
	simp = applyOne(t, mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 0.5}), testItem(10, 3, notch)).Ann.Objects
	want = ptsOf(0, 0, 4, 0, 4, 1, 5, 1, 5, 0, 10, 0, 10, 3, 0, 3)
	if !samePoints(exact[0].Polygon.Exterior, want) || !samePoints(simp[0].Polygon.Exterior, want) {
		t.Errorf("notch: exact %v, 0.5 px %v, want both %v", exact[0].Polygon.Exterior, simp[0].Polygon.Exterior, want)
	}
	simp = applyOne(t, mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 1.5}), testItem(10, 3, notch)).Ann.Objects
	want = ptsOf(0, 0, 10, 0, 10, 3, 0, 3)
	if got := simp[0].Polygon.Exterior; !samePoints(got, want) {
		t.Errorf("notch at 1.5 px = %v, want %v", got, want)
	}
	// A huge tolerance still keeps 3 vertices, starting at the first.
	simp = applyOne(t, mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 1000}), testItem(20, 20, tri)).Ann.Objects
	want = ptsOf(2, 3, 10, 11, 2, 11)
	if got := simp[0].Polygon.Exterior; !samePoints(got, want) {
		t.Errorf("simplified (1000 px) = %v, want %v", got, want)
	}
	// A one-pixel square and a hole keep at least 3 vertices.
	ring := maskArt("a", image.Pt(0, 0), "###", "#.#", "###")
	simp = applyOne(t, mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 50}), testItem(3, 3, ring)).Ann.Objects
	if len(simp) != 1 || len(simp[0].Polygon.Exterior) != 3 || len(simp[0].Polygon.Holes) != 1 || len(simp[0].Polygon.Holes[0]) != 3 {
		t.Errorf("simplified ring = %+v", simp)
	}
	if _, err := dataset.EncodeAnnotation(&dataset.Annotation{Width: 3, Height: 3, Objects: simp}); err != nil {
		t.Errorf("simplified polygon does not encode: %v", err)
	}
}

func TestSplitMasks(t *testing.T) {
	t.Parallel()
	src := maskArt("a", image.Pt(5, 6),
		"##...",
		"#..#.",
		"...#.",
		"#....",
		".#...",
	)
	src.Tags = []dataset.Tag{{Name: "t"}}
	other := maskArt("b", image.Pt(0, 0), "#.#")
	it := testItem(20, 20, src, other)
	obs := applyOne(t, mustBuild(t, "split_masks", map[string]any{"classes": []string{"a"}}), it).Ann.Objects
	want := []image.Rectangle{image.Rect(5, 6, 7, 8), image.Rect(8, 7, 9, 9), image.Rect(5, 9, 7, 11)}
	wantArea := []int{3, 2, 2}
	if len(obs) != 4 {
		t.Fatalf("%d objects, want 4", len(obs))
	}
	for i, r := range want {
		if obs[i].Class != "a" || obs[i].Bounds() != r || obs[i].Mask.Area() != wantArea[i] || obs[i].Mask.W != r.Dx() || len(obs[i].Tags) != 1 {
			t.Errorf("component %d: %s %v rasterArea %d, want %v rasterArea %d", i, obs[i].Class, obs[i].Bounds(), obs[i].Mask.Area(), r, wantArea[i])
		}
	}
	if obs[3].Class != "b" || obs[3].Mask != other.Mask {
		t.Errorf("unselected object changed")
	}
	if src.Mask.Area() != 7 {
		t.Errorf("the source mask was modified")
	}
	// 4-connectivity also splits the diagonal pair.
	it = testItem(20, 20, src)
	if n := len(applyOne(t, mustBuild(t, "split_masks", map[string]any{"connectivity": 4}), it).Ann.Objects); n != 4 {
		t.Errorf("4-connected: %d objects, want 4", n)
	}
	// One component: the object is kept as it is; empty masks are dropped.
	one := maskArt("a", image.Pt(1, 1), "...", ".##", "...")
	it = testItem(1, 1, one, maskArt("a", image.Pt(0, 0), "."), dataset.Object{Class: "a", Shape: dataset.ShapeBitmap})
	obs = applyOne(t, mustBuild(t, "split_masks", nil), it).Ann.Objects
	if len(obs) != 1 || obs[0].Mask != one.Mask {
		t.Errorf("single component: %+v", obs)
	}
	meta := metaWith("a", dataset.ShapeBitmap)
	if out, err := mustBuild(t, "split_masks", nil).(MetaOp).Meta(meta); err != nil || out != meta {
		t.Errorf("Meta = %v, %v; want the input", out, err)
	}
}

func TestMergeMasks(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "merge_masks", map[string]any{"class": "a"})
	m1 := maskArt("a", image.Pt(2, 2), "##", "##")
	m1.Tags = []dataset.Tag{{Name: "x"}}
	m2 := maskArt("a", image.Pt(3, 3), "##", "##")
	m2.Tags = []dataset.Tag{{Name: "x"}, {Name: "y", Value: "1", Number: true}}
	it := testItem(10, 10,
		maskArt("b", image.Pt(0, 0), "#"),
		m1,
		rectObj("c", image.Rect(0, 0, 3, 3)),
		m2,
		rectObj("a", image.Rect(8, 8, 12, 12)), // clipped to (8,8)-(10,10)
		polyObj("a", 20, 20, 25, 20, 25, 25),   // outside the image
		maskArt("a", image.Pt(-2, 0), "###"),   // partly outside the image: kept whole
	)
	obs := applyOne(t, op, it).Ann.Objects
	if len(obs) != 3 || obs[0].Class != "b" || obs[1].Class != "a" || obs[2].Class != "c" {
		t.Fatalf("objects = %+v", obs)
	}
	u := obs[1]
	if u.Shape != dataset.ShapeBitmap || u.Bounds() != image.Rect(-2, 0, 10, 10) || u.Origin != image.Pt(-2, 0) {
		t.Errorf("merged bounds %v origin %v", u.Bounds(), u.Origin)
	}
	if a := u.Mask.Area(); a != 7+4+3 {
		t.Errorf("merged rasterArea %d, want 14", a)
	}
	for _, p := range []image.Point{{2, 2}, {4, 4}, {3, 2}, {9, 9}, {-2, 0}, {0, 0}} {
		if !u.Mask.At(p.X-u.Origin.X, p.Y-u.Origin.Y) {
			t.Errorf("merged mask lacks %v", p)
		}
	}
	for _, p := range []image.Point{{4, 2}, {2, 4}, {1, 1}, {7, 7}} {
		if u.Mask.At(p.X-u.Origin.X, p.Y-u.Origin.Y) {
			t.Errorf("merged mask has %v", p)
		}
	}
	if len(u.Tags) != 2 || u.Tags[0].Name != "x" || u.Tags[1].Name != "y" {
		t.Errorf("merged tags %v", u.Tags)
	}
	// No object of the class, or only empty ones.
	it = testItem(1, 1, maskArt("b", image.Pt(0, 0), "#"))
	if obs := applyOne(t, op, it).Ann.Objects; len(obs) != 1 || obs[0].Class != "b" {
		t.Errorf("no objects of the class: %+v", obs)
	}
	it = testItem(1, 1, polyObj("a", 5, 5, 6, 5, 6, 6), maskArt("a", image.Pt(0, 0), "."))
	if obs := applyOne(t, op, it).Ann.Objects; len(obs) != 0 {
		t.Errorf("empty objects: %+v", obs)
	}
	meta, err := op.(MetaOp).Meta(metaWith("a", dataset.ShapeAny, "b", dataset.ShapePolygon))
	if err != nil || classShape(meta, "a") != "bitmap" || classShape(meta, "b") != "polygon" {
		t.Errorf("Meta = %+v, %v", meta, err)
	}
}

// bandByDefinition is edge_band's definition, pixel by pixel.
func bandByDefinition(in *dataset.Mask, r int) *dataset.Mask {
	out, _ := dataset.NewMask(in.W, in.H)
	for y := 0; y < in.H; y++ {
		for x := 0; x < in.W; x++ {
			set, unset := false, false
			for v := max(0, y-r); v <= min(in.H-1, y+r); v++ {
				for u := max(0, x-r); u <= min(in.W-1, x+r); u++ {
					if in.At(u, v) {
						set = true
					} else {
						unset = true
					}
				}
			}
			out.Set(x, y, set && unset)
		}
	}
	return out
}

func TestEdgeBand(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "edge_band", map[string]any{"classes": []string{"a", "r"}})
	src := rectMask("a", image.Rect(10, 10, 20, 20))
	src.Tags = []dataset.Tag{{Name: "t"}}
	it := testItem(40, 40,
		src,
		rectObj("r", image.Rect(0, 0, 10, 40)), // along the image border
		maskArt("b", image.Pt(30, 30), "#"),
		maskArt("edge", image.Pt(30, 30), "#"),
	)
	obs := applyOne(t, op, it).Ann.Objects
	if len(obs) != 6 || obs[4].Class != "edge" || obs[5].Class != "edge" {
		t.Fatalf("objects = %+v", obs)
	}
	sq, border := obs[4], obs[5]
	if sq.Shape != dataset.ShapeBitmap || sq.Bounds() != image.Rect(8, 8, 22, 22) || sq.Mask.Area() != 14*14-6*6 || len(sq.Tags) != 0 {
		t.Errorf("square band: %v rasterArea %d", sq.Bounds(), sq.Mask.Area())
	}
	for x, want := range map[int]bool{7: false, 8: true, 9: true, 10: true, 11: true, 12: false, 17: false, 18: true, 21: true, 22: false} {
		if got := sq.Mask.At(x-sq.Origin.X, 15-sq.Origin.Y); got != want {
			t.Errorf("square band at (%d,15) = %v, want %v", x, got, want)
		}
	}
	if sq.Mask.At(8-sq.Origin.X, 8-sq.Origin.Y) != true {
		t.Errorf("square band lacks its corner (8,8): the element is a square")
	}
	// The image border is not an edge: only columns 8..11.
	if border.Bounds() != image.Rect(8, 0, 12, 40) || border.Mask.Area() != 4*40 {
		t.Errorf("border band: %v rasterArea %d", border.Bounds(), border.Mask.Area())
	}

	// width 1, all classes but the band's own; a mask partly outside the image.
	op = mustBuild(t, "edge_band", map[string]any{"width": 1, "class": "rim"})
	it = testItem(6, 5, maskArt("a", image.Pt(-1, 1), "####", "####"), maskArt("rim", image.Pt(0, 0), "#"))
	obs = applyOne(t, op, it).Ann.Objects
	if len(obs) != 3 || obs[2].Class != "rim" {
		t.Fatalf("objects = %+v", obs)
	}
	want := maskArt("", image.Pt(0, 0),
		"####..",
		"####..",
		"####..",
		"####..",
		"......",
	).Mask
	got, _ := obs[2].Raster(6, 5)
	if !got.Equal(want) {
		t.Errorf("band = %v, want %v", got.Bits, want.Bits)
	}

	// Nothing for an object covering the image, a 1×1 image, empty objects.
	it = testItem(1, 1, rectMask("a", image.Rect(0, 0, 1, 1)), polyObj("a", 3, 3, 4, 3, 4, 4), maskArt("a", image.Pt(0, 0), "."))
	if obs := applyOne(t, mustBuild(t, "edge_band", nil), it).Ann.Objects; len(obs) != 3 {
		t.Errorf("1×1 image: %d objects, want 3", len(obs))
	}
	it = testItem(3, 3, rectMask("a", image.Rect(1, 1, 2, 2)))
	if obs := applyOne(t, mustBuild(t, "edge_band", map[string]any{"width": 100}), it).Ann.Objects; len(obs) != 2 || obs[1].Mask.Area() != 9 {
		t.Errorf("wide band in a 3×3 image: %+v", obs)
	}

	// Meta: the band class is added as a bitmap class, or made "any".
	meta, err := mustBuild(t, "edge_band", nil).(MetaOp).Meta(metaWith("a", dataset.ShapePolygon))
	if err != nil || len(meta.Classes) != 2 || meta.Classes[1].Title != "edge" || classShape(meta, "edge") != "bitmap" || meta.Classes[1].Color == "" {
		t.Errorf("Meta = %+v, %v", meta, err)
	}
	in := metaWith("a", dataset.ShapePolygon, "edge", dataset.ShapePolygon)
	meta, _ = mustBuild(t, "edge_band", nil).(MetaOp).Meta(in)
	if classShape(meta, "edge") != "any" || classShape(in, "edge") != "polygon" {
		t.Errorf("existing band class: %+v (input %+v)", meta.Classes, in.Classes)
	}
	it = testItem(40, 40, polyObj("a", 3, 3, 20, 5, 9, 30))
	checkRoundTrip(t, applyOne(t, mustBuild(t, "edge_band", nil), it).Ann, meta)
}

// TestEdgeBandDefinition checks the band against its definition on random
// masks and shapes.
func TestEdgeBandDefinition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 9))
	for trial := 0; trial < 60; trial++ {
		w, h := 1+rng.IntN(24), 1+rng.IntN(24)
		r := 1 + rng.IntN(4)
		mw, mh := 1+rng.IntN(12), 1+rng.IntN(12)
		m, _ := dataset.NewMask(mw, mh)
		for i := range m.Bits {
			if rng.IntN(3) == 0 {
				m.Bits[i] = 1
			}
		}
		ob := dataset.Object{Class: "a", Shape: dataset.ShapeBitmap, Mask: m, Origin: image.Pt(rng.IntN(w+6)-6, rng.IntN(h+6)-6)}
		in, _ := ob.Raster(w, h)
		want := bandByDefinition(in, r)
		it := testItem(w, h, ob)
		obs := applyOne(t, mustBuild(t, "edge_band", map[string]any{"width": r}), it).Ann.Objects
		got, _ := dataset.NewMask(w, h)
		if len(obs) == 2 {
			got, _ = obs[1].Raster(w, h)
			if obs[1].Mask.Area() != got.Area() {
				t.Fatalf("trial %d: band reaches outside the image", trial)
			}
		}
		if !got.Equal(want) {
			t.Fatalf("trial %d (%dx%d, width %d): band differs from the definition\ngot  %v\nwant %v", trial, w, h, r, got.Bits, want.Bits)
		}
	}
}

// TestMaskOpsDeterministic: none of these ops draws from it.Rand; the same
// input gives the same bytes, and the generator is left untouched.
func TestMaskOpsDeterministic(t *testing.T) {
	t.Parallel()
	ops := []Op{
		mustBuild(t, "poly2bitmap", nil),
		mustBuild(t, "split_masks", nil),
		mustBuild(t, "merge_masks", map[string]any{"class": "a"}),
		mustBuild(t, "edge_band", nil),
		mustBuild(t, "split_masks", nil),
		mustBuild(t, "find_contours", map[string]any{"simplify_tolerance": 0.7}),
	}
	run := func() ([]byte, uint64) {
		it := testItem(30, 30, polyObj("a", 2, 2, 12, 3, 6, 14), rectMask("a", image.Rect(15, 15, 25, 22)), polyObj("b", 20, 1, 29, 1, 25, 9))
		for _, op := range ops {
			it = applyOne(t, op, it)
		}
		raw, err := dataset.EncodeAnnotation(it.Ann)
		if err != nil {
			t.Fatal(err)
		}
		return raw, it.Rand.Uint64()
	}
	a, ra := run()
	b, rb := run()
	fresh := testItem(1, 1).Rand.Uint64()
	if !bytes.Equal(a, b) || ra != rb || ra != fresh {
		t.Errorf("runs differ or the generator was used")
	}
}
