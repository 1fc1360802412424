package dataset

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func ring(xy ...float64) []Point {
	var r []Point
	for i := 0; i+1 < len(xy); i += 2 {
		r = append(r, Point{xy[i], xy[i+1]})
	}
	return r
}

func rect(x0, y0, x1, y1 float64) []Point {
	return ring(x0, y0, x1, y0, x1, y1, x0, y1)
}

func mustRasterize(t *testing.T, w, h int, polys ...Polygon) *Mask {
	t.Helper()
	m, err := Rasterize(w, h, polys)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRasterizeRectangles(t *testing.T) {
	for _, tc := range []struct {
		name string
		poly Polygon
		want []string
	}{
		{"integer corners cover exactly their pixels", Polygon{Exterior: rect(2, 1, 5, 4)}, []string{
			"......",
			"..###.",
			"..###.",
			"..###.",
			"......",
		}},
		{"corners on pixel centres: left/top inside, right/bottom outside", Polygon{Exterior: rect(1.5, 0.5, 4.5, 3.5)}, []string{
			".###..",
			".###..",
			".###..",
			"......",
			"......",
		}},
		{"counter-clockwise ring", Polygon{Exterior: ring(2, 1, 2, 4, 5, 4, 5, 1)}, []string{
			"......",
			"..###.",
			"..###.",
			"..###.",
			"......",
		}},
		{"clipped to the image", Polygon{Exterior: rect(-10, -10, 2, 2)}, []string{
			"##....",
			"##....",
			"......",
			"......",
			"......",
		}},
		{"hole", Polygon{Exterior: rect(0, 0, 5, 5), Holes: [][]Point{rect(1, 1, 4, 3)}}, []string{
			"#####.",
			"#...#.",
			"#...#.",
			"#####.",
			"#####.",
		}},
		{"overlapping holes and a hole outside", Polygon{Exterior: rect(0, 0, 5, 5), Holes: [][]Point{rect(1, 1, 3, 3), rect(2, 2, 4, 4), rect(5, 0, 6, 5)}}, []string{
			"#####.",
			"#..##.",
			"#...#.",
			"##..#.",
			"#####.",
		}},
		{"triangle", Polygon{Exterior: ring(0, 0, 6, 0, 0, 5)}, []string{
			"#####.",
			"####..",
			"###...",
			"##....",
			"#.....",
		}},
		{"degenerate rings cover nothing", Polygon{Exterior: ring(0, 0, 5, 5)}, []string{
			"......",
			"......",
			"......",
			"......",
			"......",
		}},
	} {
		got := mustRasterize(t, 6, 5, tc.poly)
		if want := maskFromRows(t, tc.want...); !got.Equal(want) {
			t.Errorf("%s: got\n%swant\n%s", tc.name, rowsOf(got), rowsOf(want))
		}
	}
}

func TestRasterizeSharedEdgeNoOverlap(t *testing.T) {
	// Two triangles splitting a square along its diagonal cover it exactly
	// once: the areas add up to the union's.
	a := Polygon{Exterior: ring(0.3, 0.2, 9.7, 0.2, 9.7, 7.9)}
	b := Polygon{Exterior: ring(0.3, 0.2, 9.7, 7.9, 0.3, 7.9)}
	ma, mb := mustRasterize(t, 10, 8, a), mustRasterize(t, 10, 8, b)
	u := mustRasterize(t, 10, 8, a, b)
	if IoU(ma, mb) != 0 || ma.Area()+mb.Area() != u.Area() {
		t.Fatalf("triangles overlap: areas %d + %d, union %d", ma.Area(), mb.Area(), u.Area())
	}
	if want := mustRasterize(t, 10, 8, Polygon{Exterior: rect(0.3, 0.2, 9.7, 7.9)}); !u.Equal(want) {
		t.Fatalf("union of the triangles\n%sdiffers from the square\n%s", rowsOf(u), rowsOf(want))
	}
}

// insideEvenOdd is a brute-force crossing test of point (px, py) against ring.
func insideEvenOdd(r []Point, px, py float64) bool {
	in := false
	for i, a := range r {
		b := r[(i+1)%len(r)]
		if (a.Y <= py) != (b.Y <= py) && px < a.X+(py-a.Y)*(b.X-a.X)/(b.Y-a.Y) {
			in = !in
		}
	}
	return in
}

func TestRasterizeMatchesPixelCentreRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	randRing := func(n int, cx, cy, rad float64) []Point {
		r := make([]Point, n)
		for i := range r {
			r[i] = Point{cx + (rng.Float64()*2-1)*rad, cy + (rng.Float64()*2-1)*rad}
		}
		return r
	}
	const w, h = 40, 30
	for trial := 0; trial < 50; trial++ {
		var polys []Polygon
		for k := 0; k < 1+rng.IntN(3); k++ {
			p := Polygon{Exterior: randRing(3+rng.IntN(8), 20, 15, 25)} // may self-intersect and leave the image
			for j := 0; j < rng.IntN(3); j++ {
				p.Holes = append(p.Holes, randRing(3+rng.IntN(5), 20, 15, 10))
			}
			polys = append(polys, p)
		}
		got := mustRasterize(t, w, h, polys...)
		want := mustMask(t, w, h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				px, py := float64(x)+0.5, float64(y)+0.5
				for _, p := range polys {
					in := insideEvenOdd(p.Exterior, px, py)
					for _, hole := range p.Holes {
						in = in && !insideEvenOdd(hole, px, py)
					}
					if in {
						want.Set(x, y, true)
					}
				}
			}
		}
		if !got.Equal(want) {
			t.Fatalf("trial %d: %v\ngot\n%swant\n%s", trial, polys, rowsOf(got), rowsOf(want))
		}
	}
}

func TestRasterizeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w, h  int
		polys []Polygon
		sub   string
	}{
		{"negative size", -1, 4, nil, "negative"},
		{"too large", 1 << 15, 1 << 15, nil, "MaxPixels"},
		{"NaN vertex", 4, 4, []Polygon{{Exterior: ring(0, 0, math.NaN(), 1, 2, 2)}}, "vertex 1"},
		{"infinite vertex", 4, 4, []Polygon{{Exterior: ring(0, 0, 1, math.Inf(1), 2, 2)}}, "not finite"},
		{"huge hole vertex", 4, 4, []Polygon{{Exterior: rect(0, 0, 2, 2), Holes: [][]Point{ring(0, 0, 1, 1, 3e9, 0)}}}, "hole 0"},
	} {
		_, err := Rasterize(tc.w, tc.h, tc.polys)
		if err == nil || !strings.Contains(err.Error(), tc.sub) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.sub)
		}
	}
}

// signedArea is the shoelace area of a ring in image coordinates.
func signedArea(r []Point) float64 {
	var a float64
	for i, p := range r {
		q := r[(i+1)%len(r)]
		a += p.X*q.Y - q.X*p.Y
	}
	return a / 2
}

// checkTracedRing verifies the documented invariants of a traced ring.
func checkTracedRing(t *testing.T, name string, r []Point, exterior bool) {
	t.Helper()
	if len(r) < 4 || len(r)%2 != 0 {
		t.Fatalf("%s: ring of %d vertices", name, len(r))
	}
	for i, p := range r {
		if p.X != math.Trunc(p.X) || p.Y != math.Trunc(p.Y) {
			t.Fatalf("%s: vertex %v is not on the pixel grid", name, p)
		}
		if p.Y < r[0].Y || p.Y == r[0].Y && p.X < r[0].X {
			t.Fatalf("%s: ring starts at %v, but %v is further up or left", name, r[0], p)
		}
		// Edges alternate between horizontal and vertical: no collinear vertices.
		prev, next := r[(i+len(r)-1)%len(r)], r[(i+1)%len(r)]
		if (prev.X == p.X) == (p.X == next.X) {
			t.Fatalf("%s: vertex %d %v is not a corner (%v → %v)", name, i, p, prev, next)
		}
	}
	if a := signedArea(r); exterior != (a > 0) {
		t.Fatalf("%s: signed area %v for exterior=%v", name, a, exterior)
	}
}

func TestContoursRoundTrip(t *testing.T) {
	for name, m := range testShapes(t) {
		polys := m.Contours()
		back := mustRasterize(t, m.W, m.H, polys...)
		if iou := IoU(back, m); iou < 0.99 {
			t.Errorf("%s: IoU %v < 0.99", name, iou)
		}
		if !back.Equal(m) {
			t.Errorf("%s: rasterize(contours) differs:\n%s\nwant\n%s", name, rowsOf(back), rowsOf(m))
		}
		for i, p := range polys {
			checkTracedRing(t, name, p.Exterior, true)
			for _, h := range p.Holes {
				checkTracedRing(t, name, h, false)
			}
			if i > 0 {
				a, b := polys[i-1].Exterior[0], p.Exterior[0]
				if a.Y > b.Y || a.Y == b.Y && a.X >= b.X {
					t.Errorf("%s: polygon %d starts at %v, after polygon %d at %v", name, i, b, i-1, a)
				}
			}
		}
		// Deterministic: a second call gives the same contours.
		if again := m.Contours(); !slices.EqualFunc(polys, again, func(a, b Polygon) bool {
			return slices.Equal(a.Exterior, b.Exterior) && slices.EqualFunc(a.Holes, b.Holes, slices.Equal)
		}) {
			t.Errorf("%s: Contours is not deterministic", name)
		}
	}
}

func TestContoursRandomMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 300; trial++ {
		m := mustMask(t, 1+rng.IntN(12), 1+rng.IntN(12))
		p := rng.Float64()
		for i := range m.Bits {
			if rng.Float64() < p {
				m.Bits[i] = 1
			}
		}
		back := mustRasterize(t, m.W, m.H, m.Contours()...)
		if !back.Equal(m) {
			t.Fatalf("trial %d: rasterize(contours) differs:\n%s\nwant\n%s", trial, rowsOf(back), rowsOf(m))
		}
	}
}

func TestContoursStructure(t *testing.T) {
	shapes := testShapes(t)
	for _, tc := range []struct {
		name  string
		holes []int // per polygon
	}{
		{"ellipse", []int{0}},
		{"ring", []int{1}},
		{"components", []int{0, 1, 0, 0}}, // ellipse, rectangle with a hole, island, ellipse (by top row)
		{"person", []int{3, 0}},           // two arm gaps and the torso hole; the island
		{"diagonal", []int{0, 0, 0, 0}},   // 4-connected components
		{"checkerboard", []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"diagonal-hole", []int{1}}, // the unset pixels form one 8-connected hole
		{"full", []int{0}},
	} {
		polys := shapes[tc.name].Contours()
		var holes []int
		for _, p := range polys {
			holes = append(holes, len(p.Holes))
		}
		if !slices.Equal(holes, tc.holes) {
			t.Errorf("%s: holes per polygon %v, want %v", tc.name, holes, tc.holes)
		}
	}
}

func TestContoursExactVertices(t *testing.T) {
	polys := maskFromRows(t, "###", "#.#", "###").Contours()
	want := []Polygon{{
		Exterior: ring(0, 0, 3, 0, 3, 3, 0, 3),
		Holes:    [][]Point{ring(1, 1, 1, 2, 2, 2, 2, 1)},
	}}
	if len(polys) != 1 || !slices.Equal(polys[0].Exterior, want[0].Exterior) || len(polys[0].Holes) != 1 || !slices.Equal(polys[0].Holes[0], want[0].Holes[0]) {
		t.Fatalf("Contours = %v, want %v", polys, want)
	}

	polys = maskFromRows(t, ".##", "##.").Contours()
	if len(polys) != 1 || !slices.Equal(polys[0].Exterior, ring(1, 0, 3, 0, 3, 1, 2, 1, 2, 2, 0, 2, 0, 1, 1, 1)) {
		t.Fatalf("Contours(step) = %v", polys)
	}

	if got := mustMask(t, 4, 4).Contours(); got != nil {
		t.Fatalf("Contours(empty) = %v, want nil", got)
	}
}
