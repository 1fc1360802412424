package masks

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"reflect"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

type item struct {
	name string
	ann  *dataset.Annotation
}

// makeDataset builds a dataset whose images are blank JPEGs of the
// annotations' sizes.
func makeDataset(t *testing.T, s *cache.Store, meta *dataset.Meta, items ...item) *dataset.Dataset {
	t.Helper()
	b := dataset.NewBuilder(s)
	for _, it := range items {
		var img bytes.Buffer
		if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, it.ann.Width, it.ann.Height)), nil); err != nil {
			t.Fatal(err)
		}
		d, err := s.PutBytes(img.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Add(it.name, d, int64(img.Len()), it.ann); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// testDataset: ds1/a.jpg has a person polygon with a hole over a car
// rectangle and a neutral row; ds1/b.png has nothing; ds2/a.jpg a car
// bitmap. zebra is defined but unused.
func testDataset(t *testing.T, s *cache.Store) *dataset.Dataset {
	meta := &dataset.Meta{}
	for _, c := range []dataset.Class{
		{Title: "person", Color: "#ff0000"}, {Title: "car", Color: "#00FF00"},
		{Title: Neutral, Color: "#D2210A"}, {Title: "zebra", Color: "#0000FF"},
	} {
		meta.AddClass(c)
	}
	return makeDataset(t, s, meta,
		item{"ds1/a.jpg", &dataset.Annotation{Width: 10, Height: 8, Objects: []dataset.Object{
			{Class: "person", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: importtest.Square(1, 1, 7, 7), Holes: [][]dataset.Point{importtest.Square(3, 3, 5, 5)}}},
			{Class: "car", Shape: dataset.ShapeRectangle, Rect: image.Rect(5, 0, 10, 3)},
			{Class: Neutral, Shape: dataset.ShapeBitmap, Mask: importtest.RectMask(10, 1, image.Rect(0, 0, 10, 1)), Origin: image.Pt(0, 7)},
		}}},
		item{"ds1/b.png", &dataset.Annotation{Width: 4, Height: 3}},
		item{"ds2/a.jpg", &dataset.Annotation{Width: 6, Height: 4, Objects: []dataset.Object{
			{Class: "car", Shape: dataset.ShapeBitmap, Mask: importtest.RectMask(2, 2, image.Rect(0, 0, 2, 2)), Origin: image.Pt(4, 2)},
		}}},
	)
}

func export(t *testing.T, s *cache.Store, ds *dataset.Dataset, opt dataset.Options) (map[string][]byte, error) {
	t.Helper()
	ex, err := NewExporter(opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := dataset.ExportTo(context.Background(), ex, ds, s, dir); err != nil {
		return nil, err
	}
	return importtest.ReadFiles(t, dir), nil
}

func TestExportIndex(t *testing.T) {
	s := importtest.NewStore(t)
	ds := testDataset(t, s)
	files, err := export(t, s, ds, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	if want := []string{"classes.json", "ds1/a.png", "ds1/b.png", "ds2/a.png", "ds1/images/a.jpg", "ds1/images/b.png", "ds2/images/a.jpg"}; !sameSet(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	for _, e := range ds.Entries {
		d, file := dataset.Split(e.Name)
		if img, _ := s.ReadBlob(e.Image); !bytes.Equal(files[d+"/images/"+file], img) {
			t.Errorf("%s/images/%s is not the image's bytes", d, file)
		}
	}
	// images = "false" writes the masks and classes.json alone.
	bare, err := export(t, s, ds, dataset.Options{"images": "false"})
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for n := range bare {
		names = append(names, n)
	}
	if want := []string{"classes.json", "ds1/a.png", "ds1/b.png", "ds2/a.png"}; !sameSet(names, want) {
		t.Fatalf("images = false: files %v, want %v", names, want)
	}
	wantJSON := `{
  "mode": "index",
  "classes": [
    {
      "index": 0,
      "name": "background",
      "color": "#000000"
    },
    {
      "index": 1,
      "name": "car",
      "color": "#00FF00"
    },
    {
      "index": 2,
      "name": "person",
      "color": "#FF0000"
    },
    {
      "index": 3,
      "name": "zebra",
      "color": "#0000FF"
    },
    {
      "index": 255,
      "name": "neutral",
      "color": "#D2210A"
    }
  ]
}
`
	if got := string(files["classes.json"]); got != wantJSON {
		t.Errorf("classes.json =\n%s\nwant\n%s", got, wantJSON)
	}
	a := decodeGray(t, files["ds1/a.png"])
	if a.Rect != image.Rect(0, 0, 10, 8) {
		t.Fatalf("ds1/a.png is %v", a.Rect)
	}
	// Drawing order person, car, neutral: the car paints over the person.
	want := [8]string{
		".....11111",
		".222211111",
		".222211111",
		".22..22...",
		".22..22...",
		".222222...",
		".222222...",
		"##########",
	}
	for y, row := range want {
		for x, c := range row {
			v := map[rune]uint8{'.': 0, '1': 1, '2': 2, '#': 255}[c]
			if got := a.GrayAt(x, y).Y; got != v {
				t.Errorf("ds1/a.png (%d, %d) = %d, want %d", x, y, got, v)
			}
		}
	}
	if b := decodeGray(t, files["ds1/b.png"]); b.Rect != image.Rect(0, 0, 4, 3) || !bytes.Equal(b.Pix, make([]uint8, 12)) {
		t.Errorf("ds1/b.png is not a blank 4x3 mask")
	}
	c := decodeGray(t, files["ds2/a.png"])
	area := 0
	for _, v := range c.Pix {
		if v == 1 {
			area++
		}
	}
	if area != 4 || c.GrayAt(4, 2).Y != 1 || c.GrayAt(5, 3).Y != 1 {
		t.Errorf("ds2/a.png: car area %d, want 4 at (4..5, 2..3)", area)
	}
	// Deterministic.
	again, err := export(t, s, ds, dataset.Options{"mode": "index"})
	if err != nil || !reflect.DeepEqual(again, files) {
		t.Errorf("a second export differs (%v)", err)
	}
}

func TestExportColor(t *testing.T) {
	s := importtest.NewStore(t)
	files, err := export(t, s, testDataset(t, s), dataset.Options{"mode": "color"})
	if err != nil {
		t.Fatal(err)
	}
	b := files["ds1/a.png"]
	if b[24] != 8 || b[25] != 2 {
		t.Fatalf("ds1/a.png has bit depth %d colour type %d, want 8-bit RGB", b[24], b[25])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		x, y int
		c    color.RGBA
	}{
		{0, 0, color.RGBA{0, 0, 0, 255}}, {9, 0, color.RGBA{0, 255, 0, 255}}, {5, 1, color.RGBA{0, 255, 0, 255}}, {4, 1, color.RGBA{255, 0, 0, 255}},
		{3, 3, color.RGBA{0, 0, 0, 255}}, {4, 7, color.RGBA{0xD2, 0x21, 0x0A, 255}},
	} {
		if got := color.RGBAModel.Convert(img.At(p.x, p.y)); got != p.c {
			t.Errorf("(%d, %d) = %v, want %v", p.x, p.y, got, p.c)
		}
	}
	if !strings.Contains(string(files["classes.json"]), `"mode": "color"`) {
		t.Errorf("classes.json does not say mode color")
	}
}

func decodeGray(t *testing.T, b []byte) *image.Gray {
	t.Helper()
	if len(b) < 26 || b[24] != 8 || b[25] != 0 {
		t.Fatalf("not an 8-bit grayscale PNG")
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img.(*image.Gray)
}

func sameSet(a, b []string) bool {
	m := map[string]bool{}
	for _, s := range a {
		m[s] = true
	}
	if len(m) != len(b) || len(a) != len(b) {
		return false
	}
	for _, s := range b {
		if !m[s] {
			return false
		}
	}
	return true
}

func TestExportErrors(t *testing.T) {
	s := importtest.NewStore(t)
	meta := &dataset.Meta{}
	meta.AddClass(dataset.Class{Title: "person", Color: "#FF0000"})
	blank := &dataset.Annotation{Width: 2, Height: 2}
	stray := &dataset.Annotation{Width: 2, Height: 2, Objects: []dataset.Object{{Class: "ghost", Shape: dataset.ShapeRectangle, Rect: image.Rect(0, 0, 1, 1)}}}
	for _, tc := range []struct {
		name  string
		ds    func() *dataset.Dataset
		opt   dataset.Options
		msg   string
		error bool
	}{
		{"class not in meta", func() *dataset.Dataset { return makeDataset(t, s, meta, item{"d/x.jpg", stray}) }, nil, `d/x.jpg: class "ghost" is not in the dataset's meta`, true},
		{"same stem", func() *dataset.Dataset {
			return makeDataset(t, s, meta, item{"d/x.jpg", blank}, item{"d/x.png", blank})
		}, nil, "items d/x.jpg and d/x.png would both write d/x.png", true},
		{"shared colour", func() *dataset.Dataset {
			m := &dataset.Meta{}
			m.AddClass(dataset.Class{Title: "a", Color: "#123456"})
			m.AddClass(dataset.Class{Title: "b", Color: "#123456"})
			return makeDataset(t, s, m, item{"d/x.jpg", blank})
		}, dataset.Options{"mode": "color"}, `classes "a" and "b" both have colour #123456`, true},
		{"black class", func() *dataset.Dataset {
			m := &dataset.Meta{}
			m.AddClass(dataset.Class{Title: "a", Color: "#000000"})
			return makeDataset(t, s, m, item{"d/x.jpg", blank})
		}, dataset.Options{"mode": "color"}, `classes "background" and "a" both have colour #000000`, true},
		{"shared colour in index mode", func() *dataset.Dataset {
			m := &dataset.Meta{}
			m.AddClass(dataset.Class{Title: "a", Color: "#000000"})
			m.AddClass(dataset.Class{Title: "b", Color: "bad"})
			return makeDataset(t, s, m, item{"d/x.jpg", blank})
		}, nil, "", false},
		{"bad colour", func() *dataset.Dataset {
			m := &dataset.Meta{}
			m.AddClass(dataset.Class{Title: "a", Color: "red"})
			return makeDataset(t, s, m, item{"d/x.jpg", blank})
		}, dataset.Options{"mode": "color"}, `class "a": colour "red" is not #RRGGBB`, true},
		{"255 classes", func() *dataset.Dataset { return makeDataset(t, s, manyClasses(255), item{"d/x.jpg", blank}) }, nil, "255 classes; an 8-bit index mask holds at most 254", true},
		{"254 classes", func() *dataset.Dataset { return makeDataset(t, s, manyClasses(254), item{"d/x.jpg", blank}) }, nil, "", false},
		{"300 classes in colour", func() *dataset.Dataset { return makeDataset(t, s, manyClasses(300), item{"d/x.jpg", blank}) }, dataset.Options{"mode": "color"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			if opt == nil {
				opt = dataset.Options{}
			}
			_, err := export(t, s, tc.ds(), opt)
			if !tc.error {
				if err != nil {
					t.Errorf("Export: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Export = %v, want an error containing %q", err, tc.msg)
			}
		})
	}
	for _, opt := range []dataset.Options{{"mode": "rgb"}, {"colour": "x"}} {
		if _, err := NewExporter(opt); err == nil {
			t.Errorf("NewExporter(%v) succeeded", opt)
		}
	}
}

// manyClasses is a meta of n classes with distinct colours.
func manyClasses(n int) *dataset.Meta {
	m := &dataset.Meta{}
	for i := range n {
		m.AddClass(dataset.Class{Title: fmt.Sprintf("c%03d", i), Color: fmt.Sprintf("#%06X", i+1)})
	}
	return m
}
