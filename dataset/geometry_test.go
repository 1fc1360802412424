package dataset

import (
	"image"
	"math"
	"reflect"
	"strings"
	"testing"
)

// rows joins mask rows for comparison with rowsOf.
func rows(r ...string) string { return strings.Join(r, "\n") + "\n" }

func TestMaskTight(t *testing.T) {
	m := maskFromRows(t,
		"....",
		".##.",
		".#..",
		"....",
	)
	got, at, ok := m.Tight(image.Pt(10, 20))
	if !ok || at != image.Pt(11, 21) || rowsOf(got) != rows("##", "#.") {
		t.Fatalf("Tight = %v %v\n%s", ok, at, rowsOf(got))
	}
	if m.Area() != 3 || m.W != 4 {
		t.Error("Tight changed its mask")
	}

	// Already tight: the mask itself, at the same origin.
	tight := maskFromRows(t, "#.", ".#")
	if got, at, ok := tight.Tight(image.Pt(-3, 7)); !ok || got != tight || at != image.Pt(-3, 7) {
		t.Errorf("Tight of a tight mask = %p %v %v, want the mask itself at (-3,7)", got, at, ok)
	}

	// No set pixel: nothing, whatever the reason.
	for name, m := range map[string]*Mask{
		"empty":   mustMask(t, 3, 2),
		"0x0":     mustMask(t, 0, 0),
		"nil":     nil,
		"invalid": {W: 2, H: 2, Bits: []uint8{1, 1, 1}},
	} {
		if got, at, ok := m.Tight(image.Pt(5, 5)); ok || got != nil || at != (image.Point{}) {
			t.Errorf("%s: Tight = %v %v %v, want nil (0,0) false", name, got, at, ok)
		}
	}
}

func TestMaskTightIn(t *testing.T) {
	full := maskFromRows(t, "###", "#.#", "###") // at (5, 5): covers 5..7 × 5..7
	for _, tc := range []struct {
		name string
		r    image.Rectangle
		want string // "" when nothing is left
		at   image.Point
	}{
		{"r holds it", image.Rect(0, 0, 100, 100), rows("###", "#.#", "###"), image.Pt(5, 5)},
		{"left part", image.Rect(0, 0, 7, 100), rows("##", "#.", "##"), image.Pt(5, 5)},
		{"right column", image.Rect(7, 0, 100, 100), rows("#", "#", "#"), image.Pt(7, 5)},
		{"top row", image.Rect(0, 0, 100, 6), rows("###"), image.Pt(5, 5)},
		{"bottom rows", image.Rect(0, 6, 100, 100), rows("#.#", "###"), image.Pt(5, 6)},
		{"the hole only", image.Rect(6, 6, 7, 7), "", image.Point{}},
		{"middle column", image.Rect(6, 0, 7, 100), rows("#", ".", "#"), image.Pt(6, 5)},
		{"beside it", image.Rect(8, 0, 100, 100), "", image.Point{}},
		{"empty r", image.Rectangle{}, "", image.Point{}},
	} {
		got, at, ok := full.TightIn(image.Pt(5, 5), tc.r)
		if tc.want == "" {
			if ok || got != nil || at != (image.Point{}) {
				t.Errorf("%s: TightIn = %v %v %v, want nothing", tc.name, got, at, ok)
			}
			continue
		}
		if !ok || at != tc.at || rowsOf(got) != tc.want {
			t.Errorf("%s: TightIn = %v at %v\n%s want at %v\n%s", tc.name, ok, at, rowsOf(got), tc.at, tc.want)
		}
	}
	if got, _, _ := full.TightIn(image.Pt(5, 5), image.Rect(0, 0, 9, 9)); got != full {
		t.Error("TightIn with r holding a tight mask made a copy")
	}
	if _, _, ok := (&Mask{W: 2, H: 1, Bits: []uint8{1}}).TightIn(image.Point{}, image.Rect(0, 0, 9, 9)); ok {
		t.Error("TightIn of an invalid mask found pixels")
	}
}

// The objects of the clip tests, in a 4×4 image. ring is the 3×3 ring
// "###", "#.#", "###".
func clipRing(t *testing.T, at image.Point) Object {
	return Object{Class: "c", Tags: []Tag{{Name: "t"}}, Shape: ShapeBitmap, Mask: maskFromRows(t, "###", "#.#", "###"), Origin: at}
}

func clipRect(r image.Rectangle) Object {
	return Object{Class: "c", Tags: []Tag{{Name: "t"}}, Shape: ShapeRectangle, Rect: r}
}

func clipPoly(xy ...float64) Object {
	var ring []Point
	for i := 0; i+1 < len(xy); i += 2 {
		ring = append(ring, Point{X: xy[i], Y: xy[i+1]})
	}
	return Object{Class: "c", Tags: []Tag{{Name: "t"}}, Shape: ShapePolygon, Polygon: Polygon{Exterior: ring}}
}

// clipCase is one object clipped to a 4×4 image: what comes out.
type clipCase struct {
	name string
	in   Object
	// same: the object comes back unchanged. Otherwise rect (a rectangle)
	// or mask at origin (a bitmap); none: nothing is left.
	same   bool
	none   bool
	rect   image.Rectangle
	mask   string
	origin image.Point
}

func clipCases(t *testing.T) []clipCase {
	return []clipCase{
		// Rectangles stay rectangles, cut to the image.
		{name: "rectangle inside", in: clipRect(image.Rect(1, 1, 3, 3)), same: true},
		{name: "rectangle filling the image", in: clipRect(image.Rect(0, 0, 4, 4)), same: true},
		{name: "rectangle crossing left", in: clipRect(image.Rect(-2, 1, 2, 3)), rect: image.Rect(0, 1, 2, 3)},
		{name: "rectangle crossing top", in: clipRect(image.Rect(1, -1, 3, 2)), rect: image.Rect(1, 0, 3, 2)},
		{name: "rectangle crossing right", in: clipRect(image.Rect(3, 0, 6, 2)), rect: image.Rect(3, 0, 4, 2)},
		{name: "rectangle crossing bottom", in: clipRect(image.Rect(0, 3, 2, 9)), rect: image.Rect(0, 3, 2, 4)},
		{name: "rectangle around the image", in: clipRect(image.Rect(-1, -1, 5, 5)), rect: image.Rect(0, 0, 4, 4)},
		{name: "rectangle not canonical", in: clipRect(image.Rectangle{Min: image.Pt(6, 2), Max: image.Pt(2, 0)}), rect: image.Rect(2, 0, 4, 2)},
		{name: "rectangle touching the right border outside", in: clipRect(image.Rect(4, 0, 6, 2)), none: true},
		{name: "rectangle wholly outside", in: clipRect(image.Rect(-5, -5, -1, -1)), none: true},
		{name: "rectangle empty", in: clipRect(image.Rect(1, 1, 1, 3)), none: true},

		// Bitmaps: the set pixels inside, cropped to their box.
		{name: "bitmap inside", in: clipRing(t, image.Pt(1, 1)), same: true},
		{name: "bitmap crossing left", in: clipRing(t, image.Pt(-1, 1)), mask: rows("##", ".#", "##"), origin: image.Pt(0, 1)},
		{name: "bitmap crossing top", in: clipRing(t, image.Pt(1, -1)), mask: rows("#.#", "###"), origin: image.Pt(1, 0)},
		{name: "bitmap crossing right", in: clipRing(t, image.Pt(2, 1)), mask: rows("##", "#.", "##"), origin: image.Pt(2, 1)},
		{name: "bitmap crossing bottom", in: clipRing(t, image.Pt(1, 2)), mask: rows("###", "#.#"), origin: image.Pt(1, 2)},
		{name: "bitmap crossing a corner", in: clipRing(t, image.Pt(-2, -2)), mask: rows("#"), origin: image.Pt(0, 0)},
		{name: "bitmap wholly outside", in: clipRing(t, image.Pt(4, 0)), none: true},
		{name: "bitmap with margins, pixels inside", in: Object{Class: "c", Shape: ShapeBitmap,
			Mask: maskFromRows(t, ".....", ".....", "..#..", "....."), Origin: image.Pt(-1, -1)}, same: true},
		{name: "bitmap whose inside part is unset", in: Object{Class: "c", Shape: ShapeBitmap,
			Mask: maskFromRows(t, "#.."), Origin: image.Pt(-1, 0)}, none: true},
		{name: "bitmap with an empty mask", in: Object{Class: "c", Shape: ShapeBitmap, Mask: mustMask(t, 2, 2), Origin: image.Pt(1, 1)}, none: true},
		{name: "bitmap without a mask", in: Object{Class: "c", Shape: ShapeBitmap}, none: true},

		// Polygons: unchanged inside, else the bitmap of the pixel centres
		// they cover inside the image.
		{name: "polygon inside", in: clipPoly(0.5, 0.5, 3, 0.5, 3, 3), same: true},
		{name: "polygon crossing right", in: clipPoly(2, 1, 6, 1, 6, 3, 2, 3), mask: rows("##", "##"), origin: image.Pt(2, 1)},
		{name: "polygon crossing left", in: clipPoly(-3, 0, 1, 0, 1, 2, -3, 2), mask: rows("#", "#"), origin: image.Pt(0, 0)},
		{name: "polygon crossing top", in: clipPoly(1, -3, 3, -3, 3, 1, 1, 1), mask: rows("##"), origin: image.Pt(1, 0)},
		{name: "triangle crossing right and bottom", in: clipPoly(0, 0, 5.5, 0, 0, 5.5),
			mask: rows("####", "####", "###.", "##.."), origin: image.Pt(0, 0)},
		{name: "polygon wholly outside", in: clipPoly(5, 5, 7, 5, 7, 7), none: true},
		{name: "polygon whose box crosses but covers no pixel centre inside", in: clipPoly(3.6, 0, 5, 0, 5, 1, 3.6, 1), none: true},
		{name: "polygon of no area", in: clipPoly(1, 1, 3, 1), none: true},
	}
}

func TestObjectClipTo(t *testing.T) {
	for _, tc := range clipCases(t) {
		before := tc.in
		if tc.in.Mask != nil {
			before.Mask = &Mask{W: tc.in.Mask.W, H: tc.in.Mask.H, Bits: append([]uint8(nil), tc.in.Mask.Bits...)}
		}
		got, ok, err := tc.in.ClipTo(4, 4)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(tc.in, before) {
			t.Errorf("%s: ClipTo changed its object", tc.name)
		}
		switch {
		case tc.none:
			if ok || !reflect.DeepEqual(got, Object{}) {
				t.Errorf("%s: ClipTo = %+v, %v; want nothing", tc.name, got, ok)
			}
		case tc.same:
			if !ok || !reflect.DeepEqual(got, tc.in) {
				t.Errorf("%s: ClipTo = %+v, %v; want it unchanged", tc.name, got, ok)
			}
		case tc.mask == "":
			want := tc.in
			want.Rect = tc.rect
			if !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: ClipTo = %+v, %v; want the rectangle %v", tc.name, got, ok, tc.rect)
			}
		default:
			if !ok || got.Shape != ShapeBitmap || got.Mask == nil || rowsOf(got.Mask) != tc.mask || got.Origin != tc.origin {
				t.Errorf("%s: ClipTo = %v %s at %v\n%s want a bitmap at %v\n%s", tc.name, ok, got.Shape, got.Origin, rowsOf(got.Mask), tc.origin, tc.mask)
				continue
			}
			// Class and tags kept; no polygon or rectangle left over.
			if got.Class != "c" || !reflect.DeepEqual(got.Tags, tc.in.Tags) || got.Polygon.Exterior != nil || got.Rect != (image.Rectangle{}) {
				t.Errorf("%s: ClipTo = %+v: class, tags or other geometry wrong", tc.name, got)
			}
		}
	}
}

// TestObjectTightRaster checks that TightRaster gives exactly the pixels of
// Raster, cropped to their box, for every clip case and for objects inside.
func TestObjectTightRaster(t *testing.T) {
	for _, tc := range clipCases(t) {
		m, at, ok, err := tc.in.TightRaster(4, 4)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		ref := tc.in
		ref.Rect = ref.Rect.Canon() // Raster takes a rectangle as it is
		full, err := ref.Raster(4, 4)
		if err != nil {
			t.Fatalf("%s: Raster: %v", tc.name, err)
		}
		want, wantAt, wantOK := full.Tight(image.Point{})
		if ok != wantOK || at != wantAt || (ok && rowsOf(m) != rowsOf(want)) {
			t.Errorf("%s: TightRaster = %v at %v\n%s Raster gives %v at %v\n%s", tc.name, ok, at, rowsOf(m), wantOK, wantAt, rowsOf(want))
		}
		if ok && (tc.mask != "" && (rowsOf(m) != tc.mask || at != tc.origin)) {
			t.Errorf("%s: TightRaster at %v\n%s want at %v\n%s", tc.name, at, rowsOf(m), tc.origin, tc.mask)
		}
	}
	// A rectangle crossing two borders, spelled out.
	r := clipRect(image.Rect(2, -1, 9, 2))
	if m, at, ok, err := r.TightRaster(4, 4); err != nil || !ok || at != image.Pt(2, 0) || rowsOf(m) != rows("##", "##") {
		t.Errorf("rectangle: TightRaster = %v %v at %v\n%s", err, ok, at, rowsOf(m))
	}
}

func TestObjectClipToErrors(t *testing.T) {
	nan := clipPoly(9, 9, math.NaN(), 9, 10, 10) // wholly outside, bad vertex
	for _, tc := range []struct {
		name string
		o    Object
		w, h int
		want string
	}{
		{"unknown shape", Object{Class: "c", Shape: "circle"}, 4, 4, `object of class "c" has unknown shape "circle"`},
		{"invalid mask", Object{Class: "c", Shape: ShapeBitmap, Mask: &Mask{W: 2, H: 2, Bits: []uint8{1}}, Origin: image.Pt(3, 3)}, 4, 4, "invalid mask: 1 bytes for 2x2 pixels"},
		{"bad vertex", nan, 4, 4, "not finite"},
		{"negative size", clipRect(image.Rect(0, 0, 1, 1)), -1, 4, "negative size -1x4"},
	} {
		if _, ok, err := tc.o.ClipTo(tc.w, tc.h); err == nil || ok || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ClipTo error = %v (ok %v), want one containing %q", tc.name, err, ok, tc.want)
		}
		if _, _, ok, err := tc.o.TightRaster(tc.w, tc.h); err == nil || ok || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: TightRaster error = %v (ok %v), want one containing %q", tc.name, err, ok, tc.want)
		}
	}
}
