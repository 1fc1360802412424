package dataset

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// reencode parses canonical bytes and encodes them again.
func reencode(t *testing.T, raw []byte) []byte {
	t.Helper()
	a, err := ParseAnnotation(raw, nil)
	if err != nil {
		t.Fatalf("ParseAnnotation(canonical): %v\n%s", err, raw)
	}
	again, err := EncodeAnnotation(a)
	if err != nil {
		t.Fatal(err)
	}
	return again
}

// The canonical form is a fixed point: parsing canonical bytes and encoding
// them again gives the same bytes, so that an annotation keeps its digest
// through an export and an import. Objects keep the order given (the
// drawing order), however their coordinates round.
func TestEncodeAnnotationIdempotent(t *testing.T) {
	poly := func(pts ...Point) Object {
		return Object{Class: "a", Shape: ShapePolygon, Polygon: Polygon{Exterior: pts}}
	}
	cases := map[string]*Annotation{
		// A's right edge at 2.0004 rounds to 2: its box shrinks from
		// (0,0)-(3,1) to (0,0)-(2,1) once written.
		"rounded polygon box": {Width: 10, Height: 10, Objects: []Object{
			poly(Point{0, 0}, Point{2.0004, 0}, Point{2.0004, 1}, Point{0, 1}),
			poly(Point{0.2, 0}, Point{2.6, 0}, Point{2.6, 1}, Point{0.2, 1}),
		}},
		// A rectangle given with Min > Max is written in canonical form.
		"non-canonical rectangle": {Width: 10, Height: 10, Objects: []Object{
			{Class: "a", Shape: ShapeRectangle, Rect: image.Rectangle{Min: image.Pt(5, 5), Max: image.Pt(1, 1)}},
			{Class: "a", Shape: ShapeRectangle, Rect: image.Rect(2, 2, 3, 3)},
		}},
		// A hole of fewer than 3 vertices covers nothing, and
		// ParseAnnotation drops it.
		"degenerate hole": {Width: 10, Height: 10, Objects: []Object{
			{Class: "a", Shape: ShapePolygon, Polygon: Polygon{
				Exterior: []Point{{0, 0}, {4, 0}, {4, 4}, {0, 4}},
				Holes:    [][]Point{{{1, 1}, {2, 2}}},
			}},
		}},
	}
	for name, a := range cases {
		raw, err := EncodeAnnotation(a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again := reencode(t, raw); !bytes.Equal(raw, again) {
			t.Errorf("%s: encoding is not a fixed point:\nfirst  %s\nsecond %s", name, raw, again)
		}
	}
}

// Random annotations, with coordinates near the rounding and pixel
// boundaries, are fixed points too.
func TestEncodeAnnotationIdempotentRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	coord := func() float64 {
		// An integer or half, nudged by less than the 1/1000 precision.
		return float64(rng.IntN(20))/2 + (rng.Float64()-0.5)*0.0012
	}
	for n := 0; n < 2000; n++ {
		a := &Annotation{Width: 10, Height: 10}
		for k := rng.IntN(5) + 2; k > 0; k-- {
			var pts []Point
			for v := 3 + rng.IntN(3); v > 0; v-- {
				pts = append(pts, Point{coord(), coord()})
			}
			o := Object{Class: "a", Shape: ShapePolygon, Polygon: Polygon{Exterior: pts}}
			if rng.IntN(3) == 0 {
				x0, y0, x1, y1 := rng.IntN(10), rng.IntN(10), rng.IntN(10), rng.IntN(10)
				if x0 == x1 || y0 == y1 {
					x1, y1 = x0+1, y0+1
				}
				o = Object{Class: "a", Shape: ShapeRectangle, Rect: image.Rectangle{Min: image.Pt(x0, y0), Max: image.Pt(x1, y1)}}
			}
			a.Objects = append(a.Objects, o)
		}
		raw, err := EncodeAnnotation(a)
		if err != nil {
			t.Fatal(err)
		}
		if again := reencode(t, raw); !bytes.Equal(raw, again) {
			t.Fatalf("case %d: encoding is not a fixed point:\nfirst  %s\nsecond %s", n, raw, again)
		}
	}
}
