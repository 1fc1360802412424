package review

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"sort"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// pngImage returns a small w×h grey PNG.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// maskOf parses rows of '#' (set) and '.' into a mask.
func maskOf(rows ...string) *dataset.Mask {
	m := &dataset.Mask{W: len(rows[0]), H: len(rows)}
	m.Bits = make([]uint8, m.W*m.H)
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				m.Bits[y*m.W+x] = 1
			}
		}
	}
	return m
}

// block returns a w×h mask with every pixel set.
func block(w, h int) *dataset.Mask {
	m, _ := dataset.NewMask(w, h)
	for i := range m.Bits {
		m.Bits[i] = 1
	}
	return m
}

func bitmap(class string, m *dataset.Mask, x, y int, tags ...dataset.Tag) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapeBitmap, Mask: m, Origin: image.Pt(x, y), Tags: tags}
}

func poly(class string, pts ...float64) dataset.Object {
	var ring []dataset.Point
	for i := 0; i+1 < len(pts); i += 2 {
		ring = append(ring, dataset.Point{X: pts[i], Y: pts[i+1]})
	}
	return dataset.Object{Class: class, Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: ring}}
}

func rect(class string, x0, y0, x1, y1 int) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapeRectangle, Rect: image.Rect(x0, y0, x1, y1)}
}

func conf(v float64) dataset.Tag { return dataset.NumberTag("confidence", v) }

var testClasses = []dataset.Class{
	{Title: "person", Shape: dataset.ShapeBitmap, Color: "#FF0099"},
	{Title: "car", Shape: dataset.ShapeAny},
	// Never predicted, so a polygon class in the Supervisely project:
	// corrections become polygons there.
	{Title: "sign", Shape: dataset.ShapePolygon},
	// A class of boxes: corrections are the truth's bounding boxes.
	{Title: "plate", Shape: dataset.ShapeRectangle},
}

// scenario is a package with its truth and the review Simulate should give
// at goodIoU 0.8 and badIoU 0.2.
type scenario struct {
	items []Item
	truth map[string]*dataset.Annotation
	want  map[string]Verdict
	// fixed are the objects the corrected items must come back with.
	fixed map[string][]dataset.Object
}

const W, H = 12, 10

func newScenario(t testing.TB) *scenario {
	s := &scenario{truth: map[string]*dataset.Annotation{}, want: map[string]Verdict{}, fixed: map[string][]dataset.Object{}}
	add := func(name string, pred, truth []dataset.Object, v Verdict, fixed []dataset.Object) {
		s.items = append(s.items, Item{Name: name, Image: pngImage(t, W, H), Ann: &dataset.Annotation{Width: W, Height: H, Objects: pred}})
		s.truth[name] = &dataset.Annotation{Width: W, Height: H, Objects: truth}
		s.want[name] = v
		s.fixed[name] = fixed
	}
	holed := poly("person", 1, 1, 9, 1, 9, 9, 1, 9)
	holed.Polygon.Holes = [][]dataset.Point{{{X: 4, Y: 4}, {X: 6, Y: 4}, {X: 6, Y: 6}, {X: 4, Y: 6}}}
	donut := maskOf(
		"####",
		"#..#",
		"####",
	)
	ring3 := maskOf(
		"###",
		"#.#",
		"###",
	)
	// Items are given out of order: the package sorts them.
	add("ds2/f.png",
		[]dataset.Object{bitmap("person", block(4, 8), 1, 1, conf(0.5))},
		[]dataset.Object{holed, bitmap("person", donut, 8, 7)},
		NeedsCorrection,
		[]dataset.Object{holed, bitmap("person", donut, 8, 7)})
	add("ds1/a.png",
		[]dataset.Object{bitmap("person", block(4, 4), 2, 2, conf(0.93))},
		[]dataset.Object{bitmap("person", block(4, 4), 2, 2)},
		Good, nil)
	add("ds1/b.png",
		[]dataset.Object{bitmap("person", block(4, 4), 2, 2, conf(0.71))},
		[]dataset.Object{
			poly("person", 2, 2, 8, 2, 8, 8, 2, 8),
			rect("car", 9, 0, 12, 3),
			bitmap("sign", ring3, 9, 5),
			poly("tree", 0, 0, 3, 0, 3, 3), // not a class of the review: ignored
		},
		NeedsCorrection,
		[]dataset.Object{poly("person", 2, 2, 8, 2, 8, 8, 2, 8), rect("car", 9, 0, 12, 3), bitmap("sign", ring3, 9, 5)})
	add("ds2/c.png",
		[]dataset.Object{bitmap("person", block(3, 3), 0, 0, conf(0.4))},
		[]dataset.Object{bitmap("person", block(3, 3), 8, 6)},
		Bad, nil)
	add("ds2/d.png", nil, nil, Good, nil)
	add("ds2/e.png",
		[]dataset.Object{bitmap("person", block(3, 3), 0, 0, conf(0.66))},
		// Partly outside the image: it comes back as its pixels inside.
		[]dataset.Object{poly("person", -2, -2, 5, -2, 5, 5, -2, 5), rect("car", 10, 8, 14, 12), bitmap("plate", maskOf(".#", "##"), 6, 0)},
		NeedsCorrection,
		[]dataset.Object{bitmap("person", block(5, 5), 0, 0), rect("car", 10, 8, 12, 10), rect("plate", 6, 0, 8, 2)})
	// A triangle with vertices off the pixel grid (on the 0.01 grid that
	// CVAT's two decimals keep).
	add("ds3/g.png",
		[]dataset.Object{bitmap("car", block(3, 3), 1, 1, conf(0.2))},
		[]dataset.Object{poly("car", 0.5, 0.5, 7.25, 0.5, 0.5, 7.75)},
		NeedsCorrection,
		[]dataset.Object{poly("car", 0.5, 0.5, 7.25, 0.5, 0.5, 7.75)})
	return s
}

// objectKey describes an object by what matters after a round trip: its
// class and its pixels in a w×h image.
func objectKey(t testing.TB, o dataset.Object, w, h int) string {
	t.Helper()
	m, err := o.Raster(w, h)
	if err != nil {
		t.Fatalf("raster of %s %s: %v", o.Class, o.Shape, err)
	}
	var b strings.Builder
	b.WriteString(o.Class + ":")
	for y := 0; y < h; y++ {
		b.WriteByte('\n')
		for x := 0; x < w; x++ {
			if m.At(x, y) {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
	}
	return b.String()
}

// objectKeys returns the sorted keys of objs.
func objectKeys(t testing.TB, objs []dataset.Object, w, h int) []string {
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = objectKey(t, o, w, h)
	}
	sort.Strings(keys)
	return keys
}

// checkResults compares results with the scenario, item by item.
func checkResults(t *testing.T, s *scenario, got []Result) {
	t.Helper()
	if len(got) != len(s.items) {
		t.Fatalf("%d results for %d items", len(got), len(s.items))
	}
	for i, r := range got {
		it := s.items[i]
		if r.Name != it.Name {
			t.Errorf("result %d is for %s, want %s (items order)", i, r.Name, it.Name)
			continue
		}
		if r.Verdict != s.want[it.Name] {
			t.Errorf("%s: verdict %q, want %q", it.Name, r.Verdict, s.want[it.Name])
			continue
		}
		if r.Verdict != NeedsCorrection {
			if r.Objects != nil {
				t.Errorf("%s: verdict %q with objects %v", it.Name, r.Verdict, r.Objects)
			}
			continue
		}
		if r.Objects == nil {
			t.Errorf("%s: needs correction with nil objects", it.Name)
		}
		for _, o := range r.Objects {
			if o.Shape == dataset.ShapeBitmap {
				if x0, y0, x1, y1, _ := o.Mask.BBox(); x0 != 0 || y0 != 0 || x1 != o.Mask.W || y1 != o.Mask.H {
					t.Errorf("%s: bitmap of %dx%d not cropped to its pixels (%d,%d)-(%d,%d)", it.Name, o.Mask.W, o.Mask.H, x0, y0, x1, y1)
				}
			}
		}
		gotK, wantK := objectKeys(t, r.Objects, W, H), objectKeys(t, s.fixed[it.Name], W, H)
		if strings.Join(gotK, "\n\n") != strings.Join(wantK, "\n\n") {
			t.Errorf("%s: corrected objects\n%s\nwant\n%s", it.Name, strings.Join(gotK, "\n\n"), strings.Join(wantK, "\n\n"))
		}
	}
}

// sameTree reports the first difference between two trees.
func sameTree(a, b map[string][]byte) error {
	for name, data := range a {
		other, ok := b[name]
		if !ok {
			return fmt.Errorf("%s only in the first", name)
		}
		if !bytes.Equal(data, other) {
			return fmt.Errorf("%s differs", name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			return fmt.Errorf("%s only in the second", name)
		}
	}
	return nil
}
