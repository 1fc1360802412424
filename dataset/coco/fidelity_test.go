package coco

import (
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

// TestImportLayouts: the coco fixture written in Datumaro's layout
// (images/<subset>/) and in older CVAT's (images/) imports, without an
// option, to exactly the items of the official layout, with the images
// found where the layout puts them.
func TestImportLayouts(t *testing.T) {
	want := map[string]string{}
	for _, layout := range []string{fixtures.COCOOfficial, fixtures.COCODatumaro, fixtures.COCOCVAT} {
		dir := t.TempDir()
		if err := fixtures.WriteCOCO(dir, layout); err != nil {
			t.Fatal(err)
		}
		_, src := importtest.StoreDir(t, dir)
		items, _, err := importAll(t, src, dataset.Options{})
		if err != nil {
			t.Fatalf("%s: %v", layout, err)
		}
		got := canonical(t, items)
		if len(got) != 4 {
			t.Fatalf("%s: %d items, want 4", layout, len(got))
		}
		for _, it := range items {
			subset, file, _ := strings.Cut(it.Name, "/")
			wantImage := map[string]string{
				fixtures.COCOOfficial: subset + "/" + file,
				fixtures.COCODatumaro: "images/" + subset + "/" + file,
				fixtures.COCOCVAT:     "images/" + file,
			}[layout]
			if it.Image != wantImage {
				t.Errorf("%s: %s: image %s, want %s", layout, it.Name, it.Image, wantImage)
			}
			if layout == fixtures.COCOOfficial {
				want[it.Name] = got[it.Name]
			} else if got[it.Name] != want[it.Name] {
				t.Errorf("%s: %s differs from the official layout's import", layout, it.Name)
			}
		}
	}
}

// TestImportLayoutChoice: of several candidate directories the one that
// holds the images wins, and option images still decides when set.
func TestImportLayoutChoice(t *testing.T) {
	json := doc(`{"id":1,"file_name":"a.png","width":4,"height":3}`, ``)
	// An unrelated s/ directory beside Datumaro's images/s/.
	src := source(json, "images/s/a.png", "s/other.png")
	items, _, err := importAll(t, src, dataset.Options{})
	if err != nil || len(items) != 1 || items[0].Err != nil || items[0].Image != "images/s/a.png" {
		t.Fatalf("items %+v, %v; want s/a.png from images/s/a.png", items, err)
	}
	items, _, err = importAll(t, src, dataset.Options{"images": "{subset}"})
	if err != nil || len(items) != 1 || items[0].Err == nil || !strings.Contains(items[0].Err.Error(), "not found") {
		t.Fatalf("images = {subset}: items %+v, %v; want a missing image s/a.png", items, err)
	}
	// Nothing holds the image: the first directory that exists.
	src = source(json, "images/b.png")
	items, _, err = importAll(t, src, dataset.Options{})
	if err != nil || len(items) != 1 || items[0].Image != "images/a.png" {
		t.Fatalf("items %+v, %v; want the missing image images/a.png", items, err)
	}
}

// TestMultiPartObject: an annotation whose segmentation holds several
// polygons is one object, the bitmap of their union under the pixel-centre
// rule, however many parts it has, even when they overlap; parts that
// cover no pixel centre give no object, and parts beyond the image stay
// beyond it (the import step refuses or clips them).
func TestMultiPartObject(t *testing.T) {
	images := `{"id":1,"file_name":"a.png","width":10,"height":8}`
	anns := `{"id":5,"image_id":1,"category_id":1,"segmentation":[[0.5,0.5,3.5,0.5,3.5,2.5,0.5,2.5],[6,4,9.25,4,9.25,7.75,6,7.75],[2,1,4,1,4,2]]},` +
		`{"id":6,"image_id":1,"category_id":1,"segmentation":[[1,1,1.2,1,1.2,1.2],[3,3,3.2,3,3.2,3.2]]},` +
		`{"id":7,"image_id":1,"category_id":1,"segmentation":[[-3,0,1,0,1,1,-3,1],[5,0,6,0,6,1]]}`
	items, _, err := importAll(t, source(doc(images, anns), "s/a.png"), dataset.Options{})
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("items %+v, %v", items, err)
	}
	objs := items[0].Ann.Objects
	if len(objs) != 2 {
		t.Fatalf("%d objects, want 2 (the degenerate parts give none)", len(objs))
	}
	o := objs[0]
	want, _ := dataset.Rasterize(10, 8, []dataset.Polygon{
		{Exterior: importtest.Square(0.5, 0.5, 3.5, 2.5)},
		{Exterior: importtest.Square(6, 4, 9.25, 7.75)},
		{Exterior: []dataset.Point{{X: 2, Y: 1}, {X: 4, Y: 1}, {X: 4, Y: 2}}},
	})
	got, err := o.Raster(10, 8)
	if err != nil || o.Shape != dataset.ShapeBitmap || o.Class != "person" || !got.Equal(want) {
		t.Errorf("three parts: %s %s, %d pixels; want one person bitmap of the %d pixels of their union", o.Class, o.Shape, got.Area(), want.Area())
	}
	if o.Origin != image.Pt(0, 0) || o.Mask.W != 9 || o.Mask.H != 8 {
		t.Errorf("three parts: origin %v, %dx%d; want the tight box (0,0) 9x8", o.Origin, o.Mask.W, o.Mask.H)
	}
	if b := objs[1].Bounds(); b != image.Rect(-3, 0, 6, 1) {
		t.Errorf("parts beyond the image: bounds %v, want (-3,0)-(6,1)", b)
	}
}

// TestBoxPolygon: a box-only annotation written as the polygon of its
// bbox (dsbuild's export, and other tools') reads back as a rectangle;
// any other 4-vertex polygon stays a polygon.
func TestBoxPolygon(t *testing.T) {
	images := `{"id":1,"file_name":"a.png","width":10,"height":8}`
	ann := func(seg, bbox string) string {
		return `{"image_id":1,"category_id":1,"segmentation":` + seg + `,"bbox":` + bbox + `}`
	}
	anns := strings.Join([]string{
		ann(`[[2,1,6,1,6,5,2,5]]`, `[2,1,4,4]`),         // rectangle
		ann(`[[6,5,6,1,2,1,2,5]]`, `[2,1,4,4]`),         // rectangle, other corner and direction
		ann(`[[2,1,6,1,6,5,2,5]]`, `[2,1,4,3]`),         // bbox disagrees: polygon
		ann(`[[2.5,1,6,1,6,5,2.5,5]]`, `[2.5,1,3.5,4]`), // not on pixel edges: polygon
		ann(`[[2,1,6,5,6,1,2,5]]`, `[2,1,4,4]`),         // a bow tie: polygon
		ann(`[[2,1,6,1,6,5,2,5]]`, `null`),              // no bbox: polygon
	}, ",")
	items, _, err := importAll(t, source(doc(images, anns), "s/a.png"), dataset.Options{})
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("items %+v, %v", items, err)
	}
	wantShapes := []string{dataset.ShapeRectangle, dataset.ShapeRectangle, dataset.ShapePolygon, dataset.ShapePolygon, dataset.ShapePolygon, dataset.ShapePolygon}
	for i, o := range items[0].Ann.Objects {
		if o.Shape != wantShapes[i] {
			t.Errorf("annotation %d: %s, want %s", i, o.Shape, wantShapes[i])
		}
		if o.Shape == dataset.ShapeRectangle && o.Rect != image.Rect(2, 1, 6, 5) {
			t.Errorf("annotation %d: rectangle %v, want (2,1)-(6,5)", i, o.Rect)
		}
	}
}

// TestMultiPartRoundTrip: the two-part persons of the coco fixture are one
// annotation each in both export modes (several polygons in "polygons"
// mode, one RLE in "rle" mode) and read back as the same one object, pixel
// for pixel; the bicycle boxes are written as polygons and read back as
// the same rectangles. The whole round trip gives the same canonical
// annotations.
func TestMultiPartRoundTrip(t *testing.T) {
	store, src := importtest.StoreDir(t, fixtureDir)
	first, _, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := fixtures.COCOImages()
	if err != nil {
		t.Fatal(err)
	}
	ds := buildDataset(t, store, src)
	for _, masks := range []string{"rle", "polygons"} {
		dir := export(t, store, ds, dataset.Options{"masks": masks})
		// In the file: one annotation per source annotation, the
		// two-part person's with two polygons in polygons mode.
		var docs struct {
			Annotations []struct {
				Segmentation json.RawMessage `json:"segmentation"`
				Area         int             `json:"area"`
			} `json:"annotations"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "annotations", "instances_train2017.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &docs); err != nil {
			t.Fatal(err)
		}
		if len(docs.Annotations) != 6 {
			t.Errorf("masks=%s: train has %d annotations, want 6 (one per source annotation)", masks, len(docs.Annotations))
		}
		whole := truth[0].Objects[0].Mask.Area()
		found := false
		for _, a := range docs.Annotations {
			if a.Area != whole {
				continue
			}
			found = true
			var polys [][]float64
			isPolys := json.Unmarshal(a.Segmentation, &polys) == nil
			if masks == "polygons" && (!isPolys || len(polys) != 2) || masks == "rle" && isPolys {
				t.Errorf("masks=%s: the two-part person is written as %.60s", masks, a.Segmentation)
			}
		}
		if !found {
			t.Errorf("masks=%s: no annotation of the two-part person's %d pixels", masks, whole)
		}
		_, src2 := importtest.StoreDir(t, dir)
		second, _, err := importAll(t, src2, dataset.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, b := canonical(t, first), canonical(t, second)
		for name := range a {
			if masks == "rle" && a[name] != b[name] {
				t.Errorf("masks=rle: %s: round trip changed the annotation", name)
			}
		}
		for i, it := range second {
			if n := len(it.Ann.Objects); n != len(first[i].Ann.Objects) {
				t.Errorf("masks=%s: %s: %d objects after the round trip, want %d", masks, it.Name, n, len(first[i].Ann.Objects))
			}
			for _, class := range []string{"person", "bicycle"} {
				for _, crowd := range []bool{false, true} {
					if !classRaster(t, it.Ann, class, crowd).Equal(classRaster(t, first[i].Ann, class, crowd)) {
						t.Errorf("masks=%s: %s: %s crowd=%v pixels changed", masks, it.Name, class, crowd)
					}
				}
			}
		}
	}
}
