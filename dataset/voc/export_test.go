package voc

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

// exportTo exports ds into a new directory and returns it.
func exportTo(t *testing.T, s *cache.Store, ds *dataset.Dataset, opt dataset.Options) (string, error) {
	t.Helper()
	ex, err := NewExporter(opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return dir, dataset.ExportTo(context.Background(), ex, ds, s, dir)
}

// decodePaletted reads an exported PNG and checks that it is an 8-bit
// palette PNG with the 256-entry VOC colormap.
func decodePaletted(t *testing.T, data []byte) *image.Paletted {
	t.Helper()
	if len(data) < 26 || data[24] != 8 || data[25] != 3 {
		t.Fatalf("PNG is not 8-bit colour type 3")
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := img.(*image.Paletted)
	if !ok || !reflect.DeepEqual(p.Palette, Colormap()) {
		t.Fatalf("PNG palette is not the VOC colormap")
	}
	return p
}

func TestRoundTripFixture(t *testing.T) {
	s := importtest.NewStore(t)
	items, meta, src, err := importDir(t, s, fixtureDir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := importtest.Build(t, s, src, meta, items)
	dir, err := exportTo(t, s, ds, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := readFiles(t, dir)
	want := readFiles(t, fixtureDir)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	var wantNames []string
	for n := range want {
		if !strings.Contains(n, "2099_000004") { // in no list: not imported
			wantNames = append(wantNames, n)
		}
	}
	// The real VOC2012 tree has no labelmap.txt; the export writes one.
	wantNames = append(wantNames, "labelmap.txt")
	want["labelmap.txt"] = writeLabelmap(Classes, Colormap())
	sort.Strings(wantNames)
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("exported files\n%v\nwant\n%v", names, wantNames)
	}
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "JPEGImages/"), strings.HasPrefix(n, "ImageSets/"), n == "labelmap.txt":
			if !bytes.Equal(got[n], want[n]) {
				t.Errorf("%s differs from the fixture's", n)
			}
		case strings.HasPrefix(n, "SegmentationClass/"):
			// The class map is the fixture's, pixel for pixel.
			if g, w := decodePaletted(t, got[n]), decodePaletted(t, want[n]); !bytes.Equal(g.Pix, w.Pix) {
				t.Errorf("%s: class indices differ from the fixture's", n)
			}
		case strings.HasPrefix(n, "SegmentationObject/"):
			// Instances are numbered in drawing order: the same
			// partition of the pixels, under a one-to-one relabelling.
			g, w := decodePaletted(t, got[n]), decodePaletted(t, want[n])
			fwd, back := map[uint8]uint8{}, map[uint8]uint8{}
			for i := range g.Pix {
				a, b := w.Pix[i], g.Pix[i]
				x, ok1 := fwd[a]
				y, ok2 := back[b]
				if ok1 && x != b || ok2 && y != a {
					t.Errorf("%s: pixel %d is %d, fixture %d: not a relabelling", n, i, b, a)
					break
				}
				fwd[a], back[b] = b, a
			}
			if v, ok := fwd[Void]; fwd[0] != 0 || ok && v != Void {
				t.Errorf("%s: background or void changed value", n)
			}
		case strings.HasPrefix(n, "Annotations/"):
			a, err := parseXML(got[n])
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			if a.Width == 0 || a.Depth != 3 || len(a.Objects) == 0 {
				t.Errorf("%s: %+v", n, a)
			}
		}
	}
	// 2099_000001: the instances keep the fixture's order (person 1, dog
	// 2), the drawing order, and the boxes are the §2.6 ones.
	a, _ := parseXML(got["Annotations/2099_000001.xml"])
	if want := []xmlObject{
		{Name: "person", Box: [4]float64{2, 2, 4, 5}, HasBox: true},
		{Name: "dog", Box: [4]float64{6, 3, 8, 6}, HasBox: true},
	}; !reflect.DeepEqual(a.Objects, want) {
		t.Errorf("2099_000001.xml objects %+v, want %+v", a.Objects, want)
	}

	// Importing the export gives the same canonical annotations.
	again, meta2, _, err := importDir(t, s, dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(items) {
		t.Fatalf("re-import: %d items, want %d", len(again), len(items))
	}
	for i, it := range again {
		if it.Err != nil {
			t.Fatalf("re-import %s: %v", it.Name, it.Err)
		}
		if it.Name != items[i].Name || importtest.Canon(t, it.Ann) != importtest.Canon(t, items[i].Ann) {
			t.Errorf("re-import of %s differs:\n%s\nwant\n%s", it.Name, importtest.Canon(t, it.Ann), importtest.Canon(t, items[i].Ann))
		}
	}
	if !bytes.Equal(dataset.EncodeMeta(meta2), dataset.EncodeMeta(meta)) {
		t.Errorf("re-import meta differs")
	}

	// The export is deterministic.
	dir2, err := exportTo(t, s, ds, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(readFiles(t, dir2), got) {
		t.Errorf("two exports of the same dataset differ")
	}
}

// item is one image of a test dataset.
type item struct {
	name string
	img  []byte
	ann  *dataset.Annotation
}

// makeDataset stores the images and builds a dataset.
func makeDataset(t *testing.T, s *cache.Store, meta *dataset.Meta, items ...item) *dataset.Dataset {
	t.Helper()
	b := dataset.NewBuilder(s)
	for _, it := range items {
		d, err := s.PutBytes(it.img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Add(it.name, d, int64(len(it.img)), it.ann); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func encodeImage(t *testing.T, img image.Image, asPNG bool) []byte {
	t.Helper()
	if asPNG {
		return importtest.EncodePNG(t, img)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// genericDataset has every geometry, an overlap, a hidden object, void, a
// grayscale PNG image and an item without a subset tag.
func genericDataset(t *testing.T, s *cache.Store) *dataset.Dataset {
	meta := &dataset.Meta{}
	for _, c := range []string{"car", "dog", "person", Neutral} {
		meta.AddClass(dataset.Class{Title: c})
	}
	meta.AddTag(dataset.TagMeta{Name: "train"})
	meta.AddTag(dataset.TagMeta{Name: "foo"})
	row, _ := dataset.NewMask(10, 1)
	for x := range 10 {
		row.Set(x, 0, true)
	}
	return makeDataset(t, s, meta,
		item{"a/pic.png", encodeImage(t, image.NewGray(image.Rect(0, 0, 10, 8)), true), &dataset.Annotation{
			Width: 10, Height: 8,
			Tags: []dataset.Tag{{Name: "train"}, {Name: "foo"}},
			// In drawing order: the person, last, is on top.
			Objects: []dataset.Object{
				// Entirely under the person.
				{Class: "car", Shape: dataset.ShapeBitmap, Mask: importtest.RectMask(2, 2, image.Rect(0, 0, 2, 2)), Origin: image.Pt(1, 1)},
				// Under the person at x 5–6, y 1–2.
				{Class: "dog", Shape: dataset.ShapeRectangle, Rect: image.Rect(5, 0, 10, 3)},
				{Class: Neutral, Shape: dataset.ShapeBitmap, Mask: row, Origin: image.Pt(0, 7)},
				// x 1–6, y 1–6 without x 3–4, y 3–4.
				{Class: "person", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: importtest.Square(1, 1, 7, 7), Holes: [][]dataset.Point{importtest.Square(3, 3, 5, 5)}}},
			},
		}},
		item{"b/photo.jpg", encodeImage(t, image.NewRGBA(image.Rect(0, 0, 6, 4)), false), &dataset.Annotation{Width: 6, Height: 4}},
	)
}

func TestExportGeneric(t *testing.T) {
	s := importtest.NewStore(t)
	ds := genericDataset(t, s)
	dir, err := exportTo(t, s, ds, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := readFiles(t, dir)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{
		"Annotations/photo.xml", "Annotations/pic.xml",
		"ImageSets/Segmentation/default.txt", "ImageSets/Segmentation/train.txt",
		"JPEGImages/photo.jpg", "JPEGImages/pic.png",
		"SegmentationClass/photo.png", "SegmentationClass/pic.png",
		"SegmentationObject/photo.png", "SegmentationObject/pic.png",
		"labelmap.txt",
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	for _, e := range ds.Entries {
		img, _ := s.ReadBlob(e.Image)
		_, file := dataset.Split(e.Name)
		if !bytes.Equal(got["JPEGImages/"+file], img) {
			t.Errorf("JPEGImages/%s is not the image's bytes", file)
		}
	}
	if l := string(got["ImageSets/Segmentation/train.txt"]); l != "pic\n" {
		t.Errorf("train.txt = %q", l)
	}
	if l := string(got["ImageSets/Segmentation/default.txt"]); l != "photo\n" {
		t.Errorf("default.txt = %q", l)
	}
	// Drawing order car, dog, (neutral), person: instances 1, 2, 3.
	a, err := parseXML(got["Annotations/pic.xml"])
	if err != nil {
		t.Fatal(err)
	}
	wantXML := &annotation{Filename: "pic.png", Width: 10, Height: 8, Depth: 1, Objects: []xmlObject{
		{Name: "car", Box: [4]float64{2, 2, 3, 3}, HasBox: true},
		{Name: "dog", Box: [4]float64{6, 1, 10, 3}, HasBox: true},
		{Name: "person", Box: [4]float64{2, 2, 7, 7}, HasBox: true},
	}}
	if !reflect.DeepEqual(a, wantXML) {
		t.Errorf("pic.xml = %+v, want %+v", a, wantXML)
	}
	obj := decodePaletted(t, got["SegmentationObject/pic.png"])
	cls := decodePaletted(t, got["SegmentationClass/pic.png"])
	for _, p := range []struct {
		x, y     int
		obj, cls uint8
	}{
		{0, 0, 0, 0}, {5, 0, 2, 12}, {9, 2, 2, 12}, {5, 1, 3, 15}, {1, 1, 3, 15}, {2, 2, 3, 15},
		{3, 3, 0, 0}, {4, 4, 0, 0}, {6, 6, 3, 15}, {7, 6, 0, 0}, {0, 7, Void, Void}, {9, 7, Void, Void},
	} {
		if o, c := obj.ColorIndexAt(p.x, p.y), cls.ColorIndexAt(p.x, p.y); o != p.obj || c != p.cls {
			t.Errorf("pixel (%d, %d): object %d class %d, want %d %d", p.x, p.y, o, c, p.obj, p.cls)
		}
	}
	if a, _ := parseXML(got["Annotations/photo.xml"]); a.Depth != 3 || len(a.Objects) != 0 || a.Width != 6 {
		t.Errorf("photo.xml = %+v", a)
	}

	// Importing it: names from the image files, tags from the lists,
	// every object a bitmap of what was visible.
	items, _, _, err := importDir(t, s, dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Name != "VOC2012/photo.jpg" || items[1].Name != "VOC2012/pic.png" || items[1].Image != "JPEGImages/pic.png" {
		t.Fatalf("re-import: %v", items)
	}
	if tags := items[0].Ann.Tags; len(tags) != 1 || tags[0].Name != "default" {
		t.Errorf("photo tags %v, want default", tags)
	}
	if tags := items[1].Ann.Tags; len(tags) != 1 || tags[0].Name != "train" {
		t.Errorf("pic tags %v, want train", tags)
	}
	person, _ := dataset.Rasterize(10, 8, []dataset.Polygon{{Exterior: importtest.Square(1, 1, 7, 7), Holes: [][]dataset.Point{importtest.Square(3, 3, 5, 5)}}})
	dog := importtest.RectMask(10, 8, image.Rect(5, 0, 10, 3))
	for i, b := range person.Bits {
		if b != 0 {
			dog.Bits[i] = 0
		}
	}
	void := importtest.RectMask(10, 8, image.Rect(0, 7, 10, 8))
	objs := items[1].Ann.Objects
	if len(objs) != 3 {
		t.Fatalf("pic: %d objects, want dog, person, neutral", len(objs))
	}
	for i, w := range []struct {
		class string
		mask  *dataset.Mask
	}{{"dog", dog}, {"person", person}, {Neutral, void}} {
		m, _ := objs[i].Raster(10, 8)
		if objs[i].Class != w.class || !m.Equal(w.mask) {
			t.Errorf("pic object %d: %s of %d pixels, want %s of %d", i, objs[i].Class, m.Area(), w.class, w.mask.Area())
		}
	}
}

func TestExportRoundTripStable(t *testing.T) {
	s := importtest.NewStore(t)
	dir, err := exportTo(t, s, genericDataset(t, s), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	items, meta, src, err := importDir(t, s, dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir2, err := exportTo(t, s, importtest.Build(t, s, src, meta, items), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	again, _, _, err := importDir(t, s, dir2, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range again {
		if it.Err != nil || importtest.Canon(t, it.Ann) != importtest.Canon(t, items[i].Ann) {
			t.Errorf("second round trip of %s differs (%v)", it.Name, it.Err)
		}
	}
}

func TestExportClasses(t *testing.T) {
	s := importtest.NewStore(t)
	meta := &dataset.Meta{}
	meta.AddClass(dataset.Class{Title: "walker"})
	meta.AddClass(dataset.Class{Title: "rider"})
	ann := &dataset.Annotation{Width: 4, Height: 4, Tags: []dataset.Tag{{Name: "val"}}, Objects: []dataset.Object{
		{Class: "walker", Shape: dataset.ShapeRectangle, Rect: image.Rect(0, 0, 2, 4)},
		{Class: "rider", Shape: dataset.ShapeRectangle, Rect: image.Rect(2, 0, 4, 4)},
	}}
	img := encodeImage(t, image.NewRGBA(image.Rect(0, 0, 4, 4)), false)
	ds := makeDataset(t, s, meta, item{"x/a.jpg", img, ann})

	// Default (auto): not VOC's classes, so the meta's, sorted, and
	// labelmap.txt names them; "voc" refuses them.
	if _, err := exportTo(t, s, ds, dataset.Options{"classes": "voc"}); err == nil || !strings.Contains(err.Error(), `x/a.jpg: class "walker" has no VOC index`) {
		t.Errorf("export of non-VOC classes with classes=voc: %v", err)
	}
	// auto and meta: sorted titles, rider 1, walker 2; a list: as given.
	for _, tc := range []struct {
		classes    string
		rider, wal uint8
		labelmap   string
	}{
		{"auto", 1, 2, "rider:128,0,0::\nwalker:0,128,0::\n"},
		{"meta", 1, 2, "rider:128,0,0::\nwalker:0,128,0::\n"},
		{"walker,rider,x", 2, 1, "walker:128,0,0::\nrider:0,128,0::\nx:128,128,0::\n"},
	} {
		dir, err := exportTo(t, s, ds, dataset.Options{"classes": tc.classes})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "SegmentationClass", "a.png"))
		cls := decodePaletted(t, b)
		if cls.ColorIndexAt(0, 0) != tc.wal || cls.ColorIndexAt(3, 3) != tc.rider {
			t.Errorf("classes=%s: walker %d rider %d, want %d %d", tc.classes, cls.ColorIndexAt(0, 0), cls.ColorIndexAt(3, 3), tc.wal, tc.rider)
		}
		lm, _ := os.ReadFile(filepath.Join(dir, "labelmap.txt"))
		if want := "# label:color_rgb:parts:actions\nbackground:0,0,0::\n" + tc.labelmap + "ignored:224,224,192::\n"; string(lm) != want {
			t.Errorf("classes=%s: labelmap.txt\n%s\nwant\n%s", tc.classes, lm, want)
		}
		// The export reads back without the class list: labelmap.txt
		// gives it.
		items, meta, _, err := importDir(t, s, dir, dataset.Options{})
		if err != nil || items[0].Err != nil {
			t.Fatalf("import of classes=%s: %v %v", tc.classes, err, items[0].Err)
		}
		if meta.Class("rider") == nil || meta.Class("walker") == nil || len(items[0].Ann.Objects) != 2 || items[0].Ann.Objects[0].Class != "walker" || items[0].Ann.Objects[1].Class != "rider" {
			t.Errorf("import of classes=%s: %+v", tc.classes, items[0].Ann.Objects)
		}
		// Read with the VOC classes, the names are unknown and the mask
		// names other classes: with class_source = "error", an error.
		items, _, _, _ = importDir(t, s, dir, dataset.Options{"classes": "voc", "class_source": "error"})
		if items[0].Err == nil || !strings.Contains(items[0].Err.Error(), `is not one of the 20 classes`) {
			t.Errorf("import with the VOC classes: %v", items[0].Err)
		}
	}
}

func TestExportErrors(t *testing.T) {
	s := importtest.NewStore(t)
	meta := &dataset.Meta{}
	meta.AddClass(dataset.Class{Title: "person"})
	img := encodeImage(t, image.NewRGBA(image.Rect(0, 0, 16, 16)), false)
	empty := &dataset.Annotation{Width: 16, Height: 16}

	// Two items with one id.
	ds := makeDataset(t, s, meta, item{"a/x.jpg", img, empty}, item{"b/x.png", img, empty})
	if _, err := exportTo(t, s, ds, dataset.Options{}); err == nil || !strings.Contains(err.Error(), `items a/x.jpg and b/x.png would both have VOC id "x"`) {
		t.Errorf("id clash: %v", err)
	}

	// 255 instances do not fit.
	many := &dataset.Annotation{Width: 16, Height: 16}
	for i := range 255 {
		many.Objects = append(many.Objects, dataset.Object{Class: "person", Shape: dataset.ShapeRectangle, Rect: image.Rect(i%16, i/16, i%16+1, i/16+1)})
	}
	ds = makeDataset(t, s, meta, item{"a/x.jpg", img, many})
	if _, err := exportTo(t, s, ds, dataset.Options{}); err == nil || !strings.Contains(err.Error(), "a/x.jpg: more than 254 objects") {
		t.Errorf("255 objects: %v", err)
	}
	many.Objects = many.Objects[:254]
	ds = makeDataset(t, s, meta, item{"a/y.jpg", img, many})
	dir, err := exportTo(t, s, ds, dataset.Options{})
	if err != nil {
		t.Fatalf("254 objects: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "SegmentationObject", "y.png"))
	if p := decodePaletted(t, b); p.ColorIndexAt(13, 15) != 254 || p.ColorIndexAt(15, 15) != 0 {
		t.Errorf("254 objects: last instance %d", p.ColorIndexAt(13, 15))
	}

	// classes=meta with a class that cannot have an index.
	meta.AddClass(dataset.Class{Title: "background"})
	ds = makeDataset(t, s, meta, item{"a/x.jpg", img, empty})
	if _, err := exportTo(t, s, ds, dataset.Options{"classes": "meta"}); err == nil || !strings.Contains(err.Error(), `class "background" cannot have an index`) {
		t.Errorf("meta with background: %v", err)
	}

	// A cancelled context stops the export.
	ex, _ := NewExporter(dataset.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := dataset.ExportTo(ctx, ex, ds, s, t.TempDir()); err == nil {
		t.Errorf("export with a cancelled context succeeded")
	}
}
