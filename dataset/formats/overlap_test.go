package formats_test

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
)

// decodePNG reads a PNG of an export and returns its pixel values: the gray
// level or palette index of each pixel, row-major.
func decodePNG(t *testing.T, path string) (w, h int, pix []uint8) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	switch m := img.(type) {
	case *image.Gray:
		return m.Rect.Dx(), m.Rect.Dy(), m.Pix
	case *image.Paletted:
		return m.Rect.Dx(), m.Rect.Dy(), m.Pix
	}
	t.Fatalf("%s: %T, want a gray or palette PNG", path, img)
	return 0, 0, nil
}

// Drawing order is data: objects of different classes that overlap keep
// the source's order (COCO's annotation order, Supervisely's object order)
// through import, and every rasterizing export draws them in it, later
// objects on top, although the class names sort the other way in a.png
// (person, then car over it). COCO and Supervisely exports keep the order.
func TestOverlapDrawingOrder(t *testing.T) {
	imgs, err := fixtures.OverlapImages()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ format, dir string }{{"coco", "coco_overlap"}, {"supervisely", "supervisely_overlap"}} {
		t.Run(c.dir, func(t *testing.T) {
			s, err := cache.Open(t.TempDir(), t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			ds := importDir(t, s, c.format, fixture(c.dir), nil)
			if len(ds.Entries) != len(imgs) {
				t.Fatalf("%d items, want %d", len(ds.Entries), len(imgs))
			}
			for i, e := range ds.Entries {
				im := imgs[i]
				if e.Name != im.Name() {
					t.Fatalf("item %d is %s, want %s", i, e.Name, im.Name())
				}
				a, err := ds.Annotation(s, e)
				if err != nil {
					t.Fatal(err)
				}
				if len(a.Objects) != len(im.Objects) {
					t.Fatalf("%s: %d objects, want %d", e.Name, len(a.Objects), len(im.Objects))
				}
				for k, o := range a.Objects {
					m, err := o.Raster(im.W, im.H)
					if err != nil {
						t.Fatal(err)
					}
					if o.Class != im.Objects[k].Class || !m.Equal(im.Objects[k].Mask) {
						t.Errorf("%s: object %d is a %s of %d pixels, want the source's %s of %d", e.Name, k, o.Class, m.Area(), im.Objects[k].Class, im.Objects[k].Mask.Area())
					}
				}
			}

			// masks (index mode): car 1, person 2 (classes sorted by title).
			dir := exportTo(t, s, ds, "masks", nil)
			value := map[string]uint8{"": 0, "car": 1, "person": 2}
			for _, im := range imgs {
				stem := im.File[:len(im.File)-len(filepath.Ext(im.File))]
				w, h, pix := decodePNG(t, filepath.Join(dir, fixtures.OverlapSubset, stem+".png"))
				checkLabels(t, "masks "+im.File, &im, w, h, pix, func(class string, _ int) uint8 { return value[class] })
			}

			// pascal_voc: VOC's class indices (car 7, person 15), and
			// instance k+1 is the k-th object, visible where it is on top.
			dir = exportTo(t, s, ds, "pascal_voc", nil)
			value = map[string]uint8{"": 0, "car": 7, "person": 15}
			for _, im := range imgs {
				stem := im.File[:len(im.File)-len(filepath.Ext(im.File))]
				w, h, pix := decodePNG(t, filepath.Join(dir, "SegmentationClass", stem+".png"))
				checkLabels(t, "SegmentationClass "+im.File, &im, w, h, pix, func(class string, _ int) uint8 { return value[class] })
				w, h, pix = decodePNG(t, filepath.Join(dir, "SegmentationObject", stem+".png"))
				checkLabels(t, "SegmentationObject "+im.File, &im, w, h, pix, func(_ string, k int) uint8 { return uint8(k + 1) })
			}

			// coco and supervisely keep the order: they read back as the
			// same objects, in the same order (COCO adds the subset tag).
			for _, f := range []string{"coco", "supervisely"} {
				back := importDir(t, s, f, exportTo(t, s, ds, f, nil), nil)
				sameObjects(t, c.dir+" through "+f, s, ds, back)
			}
		})
	}
}

// checkLabels compares an exported label PNG with what drawing the fixture's
// objects in order shows: want(class, k) is the value of the topmost object
// (the k-th, of that class) at a pixel, want("", -1) the background's.
func checkLabels(t *testing.T, label string, im *fixtures.OverlapImage, w, h int, pix []uint8, want func(class string, k int) uint8) {
	t.Helper()
	if w != im.W || h != im.H {
		t.Fatalf("%s: %dx%d, want %dx%d", label, w, h, im.W, im.H)
	}
	top := make([]int, w*h)
	for i := range top {
		top[i] = -1
	}
	for k, o := range im.Objects {
		for i, b := range o.Mask.Bits {
			if b != 0 {
				top[i] = k
			}
		}
	}
	bad, overlap := 0, 0
	for i, k := range top {
		class := ""
		if k >= 0 {
			class = im.Objects[k].Class
			n := 0
			for _, o := range im.Objects {
				n += int(o.Mask.Bits[i])
			}
			if n > 1 {
				overlap++
			}
		}
		if v := want(class, k); pix[i] != v {
			if bad < 5 {
				t.Errorf("%s: pixel (%d, %d) is %d, want %d (%q on top)", label, i%w, i/w, pix[i], v, class)
			}
			bad++
		}
	}
	if overlap == 0 {
		t.Fatalf("%s: the fixture has no overlap", label)
	}
}

// sameObjects compares two datasets' items by their objects alone: the
// canonical bytes of each annotation without its image tags.
func sameObjects(t *testing.T, label string, s *cache.Store, a, b *dataset.Dataset) {
	t.Helper()
	if len(a.Entries) != len(b.Entries) {
		t.Fatalf("%s: %d items, then %d", label, len(a.Entries), len(b.Entries))
	}
	for i := range a.Entries {
		var raw [2][]byte
		for j, d := range []*dataset.Dataset{a, b} {
			ann, err := d.Annotation(s, d.Entries[i])
			if err != nil {
				t.Fatal(err)
			}
			ann.Tags = nil
			if raw[j], err = dataset.EncodeAnnotation(ann); err != nil {
				t.Fatal(err)
			}
		}
		if a.Entries[i].Name != b.Entries[i].Name || string(raw[0]) != string(raw[1]) {
			t.Errorf("%s: %s\n%s\nbecame %s\n%s", label, a.Entries[i].Name, raw[0], b.Entries[i].Name, raw[1])
		}
	}
}
