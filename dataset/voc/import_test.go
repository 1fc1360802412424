package voc

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

func TestImportFixture(t *testing.T) {
	for _, void := range []string{"neutral", "drop"} {
		t.Run(void, func(t *testing.T) {
			s := importtest.NewStore(t)
			items, meta, _, err := importDir(t, s, fixtureDir, dataset.Options{"void": void})
			if err != nil {
				t.Fatal(err)
			}
			// 2099_000004 has no PNGs and is in no list: not an item.
			want := []struct {
				name  string
				image string
				w, h  int
				tags  []string
			}{
				{"VOC2012/2099_000001.jpg", "JPEGImages/2099_000001.jpg", 8, 6, []string{"train", "trainval"}},
				{"VOC2012/2099_000002.jpg", "JPEGImages/2099_000002.jpg", 48, 36, []string{"trainval", "val"}},
				{"VOC2012/2099_000003.jpg", "JPEGImages/2099_000003.jpg", 40, 32, []string{"train", "trainval"}},
			}
			if len(items) != len(want) {
				t.Fatalf("%d items, want %d", len(items), len(want))
			}
			drawn := fixtures.VOC()
			for i, w := range want {
				it := items[i]
				if it.Err != nil {
					t.Fatalf("item %s: %v", it.Name, it.Err)
				}
				if it.Name != w.name || it.Image != w.image || it.File != "Annotations/"+drawn[i].ID+".xml" {
					t.Errorf("item %d = %s (image %s, file %s), want %s (image %s)", i, it.Name, it.Image, it.File, w.name, w.image)
				}
				if it.Ann.Width != w.w || it.Ann.Height != w.h {
					t.Errorf("%s: size %dx%d, want %dx%d", it.Name, it.Ann.Width, it.Ann.Height, w.w, w.h)
				}
				var tags []string
				for _, tg := range it.Ann.Tags {
					tags = append(tags, tg.Name)
				}
				if !reflect.DeepEqual(tags, w.tags) {
					t.Errorf("%s: tags %v, want %v", it.Name, tags, w.tags)
				}
				checkObjects(t, it, drawn[i], void == "drop")
			}
			// The meta: the 20 classes (and neutral), the three lists.
			wantClasses := len(Classes) + 1
			if void == "drop" {
				wantClasses--
			}
			if len(meta.Classes) != wantClasses {
				t.Errorf("meta has %d classes, want %d", len(meta.Classes), wantClasses)
			}
			if c := meta.Class("person"); c == nil || c.Color != "#C08080" || c.Shape != dataset.ShapeBitmap {
				t.Errorf("meta class person = %+v, want bitmap #C08080", c)
			}
			if c := meta.Class(Neutral); (c != nil) != (void == "neutral") || c != nil && c.Color != "#E0E0C0" {
				t.Errorf("meta class neutral = %+v with void=%s", c, void)
			}
			var tagNames []string
			for _, tm := range meta.Tags {
				tagNames = append(tagNames, tm.Name)
			}
			if !reflect.DeepEqual(tagNames, []string{"train", "trainval", "val"}) {
				t.Errorf("meta tags %v, want train, trainval, val", tagNames)
			}
		})
	}
}

// checkObjects compares an imported item with what the generator drew:
// each instance with pixels is one bitmap object of its XML class whose
// mask is exactly the drawn one, and the void pixels are one neutral object.
func checkObjects(t *testing.T, it *dataset.SourceItem, drawn fixtures.VOCItem, dropVoid bool) {
	t.Helper()
	var wantObjs []fixtures.VOCObject
	for _, o := range drawn.Objects {
		if o.Mask.Area() > 0 {
			wantObjs = append(wantObjs, o)
		}
	}
	got := it.Ann.Objects
	wantN := len(wantObjs)
	if !dropVoid {
		wantN++
	}
	if len(got) != wantN {
		t.Fatalf("%s: %d objects, want %d", it.Name, len(got), wantN)
	}
	for k, o := range wantObjs {
		g := got[k]
		if g.Class != o.Class || g.Shape != dataset.ShapeBitmap {
			t.Errorf("%s: object %d is a %s %s, want a bitmap %s", it.Name, k, g.Shape, g.Class, o.Class)
			continue
		}
		m, err := g.Raster(drawn.W, drawn.H)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Equal(o.Mask) || dataset.IoU(m, o.Mask) != 1 {
			t.Errorf("%s: object %d (%s): mask of %d pixels differs from the drawn %d (IoU %.3f)", it.Name, k, o.Class, m.Area(), o.Mask.Area(), dataset.IoU(m, o.Mask))
		}
		if b := g.Bounds(); b != o.Box {
			t.Errorf("%s: object %d bounds %v, want %v", it.Name, k, b, o.Box)
		}
	}
	if !dropVoid {
		g := got[len(got)-1]
		m, err := g.Raster(drawn.W, drawn.H)
		if err != nil {
			t.Fatal(err)
		}
		if g.Class != Neutral || !m.Equal(drawn.Void) {
			t.Errorf("%s: last object is %s with %d pixels, want neutral with the %d void pixels", it.Name, g.Class, m.Area(), drawn.Void.Area())
		}
	}
}

func TestImportFixtureValues(t *testing.T) {
	s := importtest.NewStore(t)
	items, _, _, err := importDir(t, s, fixtureDir, dataset.Options{"dataset": "voc"})
	if err != nil {
		t.Fatal(err)
	}
	// formats.md §2.6: the person covers 0-based x 1–3, y 1–4 (12 pixels),
	// the dog x 5–7, y 2–5 (12 pixels); the void rings are what is left of
	// the two 1-px rings.
	it := items[0]
	if it.Name != "voc/2099_000001.jpg" {
		t.Fatalf("first item %s", it.Name)
	}
	for i, want := range []struct {
		class string
		box   image.Rectangle
		area  int
	}{
		{"person", image.Rect(1, 1, 4, 5), 12},
		{"dog", image.Rect(5, 2, 8, 6), 12},
		{Neutral, image.Rect(0, 0, 8, 6), 21}, // 18 + 8 ring pixels, 5 shared,
	} {
		o := it.Ann.Objects[i]
		m, _ := o.Raster(8, 6)
		if o.Class != want.class || o.Bounds() != want.box || m.Area() != want.area {
			t.Errorf("object %d: %s %v area %d, want %s %v area %d", i, o.Class, o.Bounds(), m.Area(), want.class, want.box, want.area)
		}
	}
	// 2099_000003: the first person has one hole; the chair has no pixels
	// and gives no object.
	it = items[2]
	var classes []string
	for _, o := range it.Ann.Objects {
		classes = append(classes, o.Class)
	}
	if !reflect.DeepEqual(classes, []string{"person", "person", Neutral}) {
		t.Errorf("%s: classes %v", it.Name, classes)
	}
	if c := it.Ann.Objects[0].Mask.Contours(); len(c) != 1 || len(c[0].Holes) != 1 {
		t.Errorf("%s: the first person has %d parts, want 1 with 1 hole", it.Name, len(c))
	}
	// 2099_000002: four instances; three persons.
	persons := 0
	for _, o := range items[1].Ann.Objects {
		if o.Class == "person" {
			persons++
		}
	}
	if persons != 3 {
		t.Errorf("2099_000002: %d persons, want 3", persons)
	}
}

// TestImportNested reads VOCdevkit/VOC2012 inside the source.
func TestImportNested(t *testing.T) {
	f := files{}
	for k, v := range readFiles(t, fixtureDir) {
		f["VOCdevkit/VOC2012/"+k] = v
	}
	items, _, err := importSource(t, f.put(t, importtest.NewStore(t)), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].Image != "VOCdevkit/VOC2012/JPEGImages/2099_000001.jpg" || items[0].Err != nil {
		t.Fatalf("nested import: %d items, first %+v", len(items), items[0])
	}
	if ie := items[0].Err; ie != nil {
		t.Fatal(ie)
	}
}

// TestImportRGBMasks: a re-saved (true-colour) mask reads through the
// inverse colormap.
func TestImportRGBMasks(t *testing.T) {
	s := importtest.NewStore(t)
	orig := readFiles(t, fixtureDir)
	f := orig.clone()
	for _, sub := range []string{"SegmentationClass", "SegmentationObject"} {
		rewritePNG(t, f, sub+"/2099_000002.png", func(img *image.Paletted) image.Image {
			rgb := image.NewRGBA(img.Rect)
			for y := 0; y < img.Rect.Dy(); y++ {
				for x := 0; x < img.Rect.Dx(); x++ {
					rgb.Set(x, y, Colormap()[img.ColorIndexAt(x, y)])
				}
			}
			return rgb
		})
	}
	want, _, _ := importSource(t, orig.put(t, s), dataset.Options{})
	got, _, err := importSource(t, f.put(t, s), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Err != nil || importtest.Canon(t, got[1].Ann) != importtest.Canon(t, want[1].Ann) {
		t.Errorf("RGB masks import differently: %v", got[1].Err)
	}
}

// rewritePNG decodes f[name], a palette PNG, and replaces it with fn's
// image.
func rewritePNG(t *testing.T, f files, name string, fn func(*image.Paletted) image.Image) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(f[name]))
	if err != nil {
		t.Fatal(err)
	}
	f[name] = importtest.EncodePNG(t, fn(img.(*image.Paletted)))
}

// hugePNG is a PNG header claiming w×h pixels, with no pixel data.
func hugePNG(w, h uint32) []byte {
	p := importtest.NewPNG()
	p.Chunk("IHDR", importtest.GrayIHDR(w, h, 8)) // 8-bit gray
	p.Chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	p.Chunk("IEND", nil)
	return p.Bytes()
}

// errorSource makes XML and mask disagreements item errors.
var errorSource = dataset.Options{"class_source": "error"}

func TestImportItemErrors(t *testing.T) {
	const id = "2099_000001"
	const name = "VOC2012/" + id + ".jpg"
	const xmlFile = "Annotations/" + id + ".xml"
	const objFile = "SegmentationObject/" + id + ".png"
	const clsFile = "SegmentationClass/" + id + ".png"
	write := func(rel, data string) func(*testing.T, files) {
		return func(_ *testing.T, f files) { f[rel] = []byte(data) }
	}
	remove := func(rel string) func(*testing.T, files) {
		return func(_ *testing.T, f files) { delete(f, rel) }
	}
	editXML := func(old, new string) func(*testing.T, files) {
		return func(t *testing.T, f files) {
			if !bytes.Contains(f[xmlFile], []byte(old)) {
				t.Fatalf("%q not in the XML", old)
			}
			f[xmlFile] = bytes.Replace(f[xmlFile], []byte(old), []byte(new), 1)
		}
	}
	s := importtest.NewStore(t)
	fixture := readFiles(t, fixtureDir)
	for _, tc := range []struct {
		name   string
		damage func(*testing.T, files)
		item   string // the broken item
		file   string // the file its error names
		msg    string
		opt    dataset.Options
	}{
		{"malformed XML", write(xmlFile, "<annotation><size>"), name, xmlFile, "XML", nil},
		{"wrong root", write(xmlFile, "<doc/>"), name, xmlFile, "not <annotation>", nil},
		{"bad width", editXML("<width>8</width>", "<width>eight</width>"), name, xmlFile, "not an integer", nil},
		{"XML size", editXML("<width>8</width>", "<width>9</width>"), name, xmlFile, "<size> 9x6 differs", nil},
		{"truncated PNG", write(objFile, "\x89PNG\r\n\x1a\n\x00\x00"), name, objFile, "PNG", nil},
		{"huge PNG", write(clsFile, string(hugePNG(1<<20, 1<<20))), name, clsFile, "exceeds MaxPixels", nil},
		{"missing image", remove("JPEGImages/" + id + ".jpg"), name, "JPEGImages/" + id + ".jpg", "no image", nil},
		// With class_source = "error", XML and mask disagreements fail the
		// item (the default keeps the mask's class: TestClassSource).
		{"class disagrees", editXML("<name>person</name>", "<name>cat</name>"), name, objFile, `instance 1 is "cat" in the XML but "person" (15) in SegmentationClass`, errorSource},
		{"unknown class", editXML("<name>dog</name>", "<name>wolf</name>"), name, objFile, `instance 2: class "wolf" is not one of the 20 classes`, errorSource},
		{"no name", editXML("<name>dog</name>", ""), name, objFile, "instance 2: its <object> has no <name>", errorSource},
		{"instance without object", write(xmlFile, "<annotation><object><name>person</name></object></annotation>"), name, objFile, "instance 2 has no <object> in the XML, which has 1", errorSource},
		{"neither names the class", func(t *testing.T, f files) {
			editXML("<name>dog</name>", "<name>wolf</name>")(t, f)
			rewritePNG(t, f, clsFile, func(img *image.Paletted) image.Image {
				for i := range img.Pix {
					if img.Pix[i] == 12 {
						img.Pix[i] = 0
					}
				}
				return img
			})
		}, name, objFile, `instance 2: class "wolf" is not one of the 20 classes (option classes) but background (0) in SegmentationClass`, nil},
		{"no XML, no class PNG", func(t *testing.T, f files) { remove(xmlFile)(t, f); remove(clsFile)(t, f) }, name, objFile, "instance 1: neither an XML nor a SegmentationClass PNG gives its class", nil},
		{"sizes differ", func(t *testing.T, f files) {
			rewritePNG(t, f, clsFile, func(img *image.Paletted) image.Image { return img.SubImage(image.Rect(0, 0, 7, 6)) })
		}, name, clsFile, "size 7x6 differs", nil},
		{"colour off the colormap", func(t *testing.T, f files) {
			rewritePNG(t, f, clsFile, func(img *image.Paletted) image.Image {
				rgb := image.NewRGBA(img.Rect)
				rgb.Set(3, 3, color.RGBA{1, 2, 3, 255})
				return rgb
			})
		}, name, clsFile, "(1, 2, 3), which is not in the VOC colormap", nil},
		{"background under an instance", func(t *testing.T, f files) {
			rewritePNG(t, f, clsFile, func(img *image.Paletted) image.Image {
				for i := range img.Pix {
					if img.Pix[i] == 15 {
						img.Pix[i] = 0
					}
				}
				return img
			})
		}, name, objFile, "but background (0)", errorSource},
		{"escaping id", write("ImageSets/Segmentation/val.txt", "2099_000002\n../../etc/passwd\n"), "VOC2012/../../etc/passwd.jpg", "ImageSets/Segmentation/val.txt", "line 2", nil},
		{"hidden id", write("ImageSets/Segmentation/val.txt", "2099_000002\r\n.hidden\r\n"), "VOC2012/.hidden.jpg", "ImageSets/Segmentation/val.txt", "not a plain file name", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fixture.clone()
			tc.damage(t, f)
			opt := dataset.Options{}
			for k, v := range tc.opt {
				opt[k] = v
			}
			items, _, err := importSource(t, f.put(t, s), opt)
			if err != nil {
				t.Fatalf("Import: %v; want an item error only", err)
			}
			ie := itemErr(t, items, tc.item)
			if ie.Item != tc.item || ie.File != tc.file || !strings.Contains(ie.Error(), tc.msg) {
				t.Errorf("item error %q (item %q, file %q); want item %q, file %q, message containing %q", ie.Error(), ie.Item, ie.File, tc.item, tc.file, tc.msg)
			}
			// The other items are fine.
			ok := 0
			for _, it := range items {
				if it.Err == nil {
					ok++
					if it.Ann == nil {
						t.Errorf("%s: no annotation", it.Name)
					}
				}
			}
			if ok != len(items)-1 {
				t.Errorf("%d of %d items are fine, want all but one", ok, len(items))
			}
		})
	}
}

func TestImportImageFallback(t *testing.T) {
	s := importtest.NewStore(t)
	f := readFiles(t, fixtureDir)
	f["JPEGImages/2099_000001.png"] = f["JPEGImages/2099_000001.jpg"]
	delete(f, "JPEGImages/2099_000001.jpg")
	f["JPEGImages/2099_000002.png"] = []byte("x")
	f["JPEGImages/2099_000003.jpeg"] = []byte("x")
	items, _, err := importSource(t, f.put(t, s), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 000001 has one <id>.* file; 000002 and 000003 have a .jpg, which wins.
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
		if it.Err != nil {
			t.Errorf("%s: %v", it.Name, it.Err)
		}
	}
	if want := []string{"VOC2012/2099_000001.png", "VOC2012/2099_000002.jpg", "VOC2012/2099_000003.jpg"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if items[0].Image != "JPEGImages/2099_000001.png" {
		t.Errorf("image %s", items[0].Image)
	}
	// Two candidates and no .jpg: an item error.
	delete(f, "JPEGImages/2099_000003.jpg")
	f["JPEGImages/2099_000003.png"] = []byte("x")
	items, _, _ = importSource(t, f.put(t, s), dataset.Options{})
	if ie := itemErr(t, items, "VOC2012/2099_000003.jpg"); !strings.Contains(ie.Error(), "several images have id 2099_000003: 2099_000003.jpeg, 2099_000003.png") {
		t.Errorf("ambiguous image: %v", ie)
	}
}

func TestImportSourceErrors(t *testing.T) {
	removeDir := func(dir string) func(files) {
		return func(f files) {
			for k := range f {
				if strings.HasPrefix(k, dir+"/") {
					delete(f, k)
				}
			}
		}
	}
	s := importtest.NewStore(t)
	fixture := readFiles(t, fixtureDir)
	for _, tc := range []struct {
		name   string
		damage func(files)
		msg    string
	}{
		{"no JPEGImages", removeDir("JPEGImages"), "JPEGImages: no such directory"},
		{"no lists dir", removeDir("ImageSets"), "ImageSets/Segmentation: no such directory (nor ImageSets/Main)"},
		{"bad labelmap", func(f files) { f["labelmap.txt"] = []byte("person:1,2,3::\n") }, "labelmap.txt: line 1: the first label is \"person\""},
		{"no lists", func(f files) {
			removeDir("ImageSets")(f)
			f["ImageSets/Segmentation/README"] = []byte("x")
			f["ImageSets/Segmentation/._train.txt"] = []byte("\x00\x05\x16\x07")
		}, "ImageSets/Segmentation: no .txt lists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fixture.clone()
			tc.damage(f)
			items, _, err := importSource(t, f.put(t, s), dataset.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Import = %v, want an error containing %q", err, tc.msg)
			}
			if len(items) != 0 {
				t.Errorf("%d items emitted before a source error", len(items))
			}
		})
	}
}

func TestImportStopsOnEmitError(t *testing.T) {
	imp, _ := NewImporter(dataset.Options{})
	stop := errors.New("stop")
	n := 0
	_, err := imp.Import(t.Context(), readFiles(t, fixtureDir).put(t, importtest.NewStore(t)), func(*dataset.SourceItem) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Import = %v after %d items, want stop after 1", err, n)
	}
}
