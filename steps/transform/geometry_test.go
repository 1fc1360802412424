package transform

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
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

// TestGeometryDegenerate runs every op on degenerate items: no panics.
func TestGeometryDegenerate(t *testing.T) {
	t.Parallel()
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
