package coco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

const fixtureDir = "../../testdata/fixtures/coco"

// mapSource is an in-memory dataset.Source.
type mapSource struct{ fstest.MapFS }

func (m mapSource) Digest(name string) (cache.Digest, int64, error) {
	f, ok := m.MapFS[name]
	if !ok {
		return cache.Digest{}, 0, os.ErrNotExist
	}
	return cache.Sum(f.Data), int64(len(f.Data)), nil
}

func importAll(t testing.TB, src dataset.Source, opt dataset.Options) ([]*dataset.SourceItem, *dataset.Meta, error) {
	t.Helper()
	meta, items, err := importtest.Import(t, NewImporter, src, opt)
	return items, meta, err
}

// classRaster is the union of the rasters of the objects of one class
// whose crowd flag is crowd.
func classRaster(t *testing.T, a *dataset.Annotation, class string, crowd bool) *dataset.Mask {
	t.Helper()
	m, _ := dataset.NewMask(a.Width, a.Height)
	for i := range a.Objects {
		o := &a.Objects[i]
		if o.Class != class || hasTag(o.Tags, CrowdTag) != crowd {
			continue
		}
		r, err := o.Raster(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		m.Paste(r, 0, 0)
	}
	return m
}

func hasTag(tags []dataset.Tag, name string) bool {
	for _, t := range tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

func TestImportFixture(t *testing.T) {
	_, src := importtest.StoreDir(t, fixtureDir)
	items, meta, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := fixtures.COCOImages()
	if err != nil {
		t.Fatal(err)
	}
	// Table of what each item must hold.
	want := []struct {
		name, image  string
		w, h         int
		polygons     int // polygon objects
		bitmaps      int
		rects        int
		crowd        int
		personArea   int // non-crowd person pixels
		crowdArea    int
		bicycle      image.Rectangle
		personHoles  int
		subsetTag    string
		objectsTotal int
	}{
		// One object per annotation: the two-part polygon persons of
		// 10 and 139 are one bitmap each.
		{"train2017/000000000010.png", "train2017/000000000010.png", 64, 48, 0, 3, 1, 1, 0, 0, image.Rect(1, 38, 14, 47), 1, "train2017", 4},
		{"train2017/000000000025.png", "train2017/000000000025.png", 48, 32, 1, 1, 0, 0, 0, 0, image.Rectangle{}, 0, "train2017", 2},
		{"train2017/000000000030.png", "train2017/000000000030.png", 32, 24, 0, 0, 0, 0, 0, 0, image.Rectangle{}, 0, "train2017", 0},
		{"val2017/000000000139.png", "val2017/000000000139.png", 64, 48, 0, 3, 1, 1, 0, 0, image.Rect(50, 30, 63, 46), 0, "val2017", 4},
	}
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		it := items[i]
		if it.Err != nil {
			t.Fatalf("%s: %v", w.name, it.Err)
		}
		a := it.Ann
		if it.Name != w.name || it.Image != w.image || a.Width != w.w || a.Height != w.h {
			t.Errorf("item %d = %s (image %s, %dx%d), want %s (%s, %dx%d)", i, it.Name, it.Image, a.Width, a.Height, w.name, w.image, w.w, w.h)
		}
		wantFile := "annotations/instances_" + w.subsetTag + ".json"
		if it.File != wantFile {
			t.Errorf("%s: File = %s, want %s", w.name, it.File, wantFile)
		}
		if !reflect.DeepEqual(a.Tags, []dataset.Tag{{Name: w.subsetTag}}) {
			t.Errorf("%s: tags = %v, want [%s]", w.name, a.Tags, w.subsetTag)
		}
		var polys, bitmaps, rects, crowd int
		for _, o := range a.Objects {
			switch o.Shape {
			case dataset.ShapePolygon:
				polys++
			case dataset.ShapeBitmap:
				bitmaps++
			case dataset.ShapeRectangle:
				rects++
				if o.Class != "bicycle" || o.Rect != w.bicycle {
					t.Errorf("%s: rectangle %s %v, want bicycle %v", w.name, o.Class, o.Rect, w.bicycle)
				}
			}
			if hasTag(o.Tags, CrowdTag) {
				crowd++
				if o.Shape != dataset.ShapeBitmap || o.Class != "person" {
					t.Errorf("%s: crowd object is a %s %s, want a person bitmap", w.name, o.Class, o.Shape)
				}
			}
		}
		if polys != w.polygons || bitmaps != w.bitmaps || rects != w.rects || crowd != w.crowd || len(a.Objects) != w.objectsTotal {
			t.Errorf("%s: %d polygons, %d bitmaps, %d rectangles, %d crowd, %d objects; want %d, %d, %d, %d, %d",
				w.name, polys, bitmaps, rects, crowd, len(a.Objects), w.polygons, w.bitmaps, w.rects, w.crowd, w.objectsTotal)
		}
		// Masks against what the generator drew: polygon parts and RLEs
		// are exact (the polygons follow pixel edges).
		tr := truth[i]
		if tr.Subset+"/"+tr.File != w.name {
			t.Fatalf("truth %d is %s/%s, want %s", i, tr.Subset, tr.File, w.name)
		}
		wantPerson, _ := dataset.NewMask(tr.W, tr.H)
		wantCrowd, _ := dataset.NewMask(tr.W, tr.H)
		holes := 0
		for _, o := range tr.Objects {
			switch {
			case o.Mask == nil:
			case o.Crowd:
				wantCrowd.Paste(o.Mask, 0, 0)
			default:
				wantPerson.Paste(o.Mask, 0, 0)
				holes += o.Holes
			}
		}
		gotPerson := classRaster(t, a, "person", false)
		gotCrowd := classRaster(t, a, "person", true)
		if iou := dataset.IoU(gotPerson, wantPerson); iou != 1 {
			t.Errorf("%s: person IoU = %v (areas %d, %d), want 1", w.name, iou, gotPerson.Area(), wantPerson.Area())
		}
		if iou := dataset.IoU(gotCrowd, wantCrowd); iou != 1 {
			t.Errorf("%s: crowd IoU = %v, want 1", w.name, iou)
		}
		if holes != w.personHoles {
			t.Errorf("%s: truth has %d person holes, want %d", w.name, holes, w.personHoles)
		}
		if _, err := dataset.EncodeAnnotation(a); err != nil {
			t.Errorf("%s: %v", w.name, err)
		}
	}
	// Spot values: the two-part person is one object of exactly the
	// drawn pixels; the person with a hole.
	a := items[0].Ann
	var twoPart, holed *dataset.Object
	whole := truth[0].Objects[0].Mask
	for k, o := range a.Objects {
		if o.Shape != dataset.ShapeBitmap || hasTag(o.Tags, CrowdTag) {
			continue
		}
		r, _ := o.Raster(64, 48)
		switch {
		case r.Equal(whole):
			twoPart = &a.Objects[k]
		case r.Equal(truth[0].Objects[1].Mask):
			holed = &a.Objects[k]
		}
	}
	if twoPart == nil || twoPart.Class != "person" || len(twoPart.Mask.Contours()) != 2 {
		t.Errorf("two-part person: no person bitmap of exactly its %d pixels in two parts", whole.Area())
	}
	if holed == nil {
		t.Fatalf("person with a hole: no bitmap of its pixels")
	}
	if h := holed.Mask.Contours(); len(h) != 1 || len(h[0].Holes) != 1 {
		t.Errorf("person with a hole: contours %d polygons, want 1 with 1 hole", len(h))
	}
	if got := truth[0].Objects[1].Mask.Area(); got != 240 {
		t.Errorf("the holed person has %d pixels, want 240 (244 drawn, minus a 2x2 hole)", got)
	}
	// Meta: categories as spelled, subset and crowd tags.
	var classes, tags []string
	for _, c := range meta.Classes {
		classes = append(classes, c.Title+":"+c.Shape)
	}
	for _, tg := range meta.Tags {
		tags = append(tags, tg.Name+":"+tg.ValueType)
	}
	if strings.Join(classes, " ") != "bicycle:any person:any" || strings.Join(tags, " ") != "iscrowd:none train2017:none val2017:none" {
		t.Errorf("meta classes %v tags %v", classes, tags)
	}
}

// buildDataset imports the source into a dataset artifact.
func buildDataset(t *testing.T, store *cache.Store, src dataset.Source) *dataset.Dataset {
	t.Helper()
	items, meta, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return importtest.Build(t, store, src, meta, items)
}

func export(t *testing.T, store *cache.Store, ds *dataset.Dataset, opt dataset.Options) string {
	t.Helper()
	ex, err := NewExporter(opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := dataset.ExportTo(context.Background(), ex, ds, store, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// canonical maps item names to canonical annotation bytes.
func canonical(t *testing.T, items []*dataset.SourceItem) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		b, err := dataset.EncodeAnnotation(it.Ann)
		if err != nil {
			t.Fatalf("%s: %v", it.Name, err)
		}
		out[it.Name] = string(b)
	}
	return out
}

func TestRoundTripRLE(t *testing.T) {
	store, src := importtest.StoreDir(t, fixtureDir)
	first, _, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := buildDataset(t, store, src)
	dir := export(t, store, ds, dataset.Options{})
	_, src2 := importtest.StoreDir(t, dir)
	second, meta2, err := importAll(t, src2, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, got := canonical(t, first), canonical(t, second)
	if len(got) != len(want) {
		t.Fatalf("round trip: %d items, want %d", len(got), len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: round trip changed the annotation:\n got %s\nwant %s", name, got[name], w)
		}
	}
	if !bytes.Equal(dataset.EncodeMeta(meta2), dataset.EncodeMeta(ds.Meta)) {
		t.Errorf("round trip changed the meta:\n%s\n%s", dataset.EncodeMeta(meta2), dataset.EncodeMeta(ds.Meta))
	}
	// Images are written as they are.
	for _, it := range first {
		a, _ := os.ReadFile(filepath.Join(fixtureDir, it.Image))
		b, err := os.ReadFile(filepath.Join(dir, it.Name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: exported image differs from the source (%v)", it.Name, err)
		}
	}
	// Ids, categories, crowd and counts strings.
	var doc struct {
		Images []struct {
			ID       int    `json:"id"`
			FileName string `json:"file_name"`
		} `json:"images"`
		Annotations []struct {
			ID           int             `json:"id"`
			ImageID      int             `json:"image_id"`
			CategoryID   int             `json:"category_id"`
			Segmentation json.RawMessage `json:"segmentation"`
			Area         float64         `json:"area"`
			Bbox         []float64       `json:"bbox"`
			Iscrowd      int             `json:"iscrowd"`
		} `json:"annotations"`
		Categories []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"categories"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "annotations", "instances_val2017.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) != 1 || doc.Images[0].ID != 4 || doc.Images[0].FileName != "000000000139.png" {
		t.Errorf("val images = %+v, want id 4 000000000139.png", doc.Images)
	}
	if len(doc.Categories) != 2 || doc.Categories[0].Name != "bicycle" || doc.Categories[0].ID != 1 || doc.Categories[1].Name != "person" || doc.Categories[1].ID != 2 {
		t.Errorf("categories = %+v, want bicycle 1, person 2", doc.Categories)
	}
	// train has 4 + 2 = 6 annotations (one per object, the two-part
	// person included), so val's ids start at 7, in the source's
	// annotation order (the drawing order): person, crowd, person,
	// bicycle. The bicycle box is written as a polygon; the two-part
	// person is one annotation.
	wantAnns := []struct {
		id, cat, crowd, area int
		bbox                 []float64
		seg                  string
	}{
		{7, 2, 0, 150, []float64{18, 15, 10, 32}, `{"size":[48,64],"counts":"`},
		{8, 2, 1, 228, []float64{14, 14, 10, 30}, `{"size":[48,64],"counts":"`},
		{9, 2, 0, 146, []float64{51, 21, 8, 25}, `{"size":[48,64],"counts":"`},
		{10, 1, 0, 13 * 16, []float64{50, 30, 13, 16}, "[[50,30,63,30,63,46,50,46]]"},
	}
	if len(doc.Annotations) != len(wantAnns) {
		t.Fatalf("val annotations = %+v", doc.Annotations)
	}
	for i, a := range doc.Annotations {
		w := wantAnns[i]
		if a.ID != w.id || a.ImageID != 4 || a.CategoryID != w.cat || a.Iscrowd != w.crowd || int(a.Area) != w.area ||
			!reflect.DeepEqual(a.Bbox, w.bbox) || !bytes.HasPrefix(a.Segmentation, []byte(w.seg)) {
			t.Errorf("annotation %d = image %d cat %d crowd %d area %v bbox %v seg %.30s; want %+v", a.ID, a.ImageID, a.CategoryID, a.Iscrowd, a.Area, a.Bbox, a.Segmentation, w)
		}
	}
}

func TestRoundTripPolygons(t *testing.T) {
	store, src := importtest.StoreDir(t, fixtureDir)
	first, _, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := buildDataset(t, store, src)
	dir := export(t, store, ds, dataset.Options{"masks": "polygons"})
	_, src2 := importtest.StoreDir(t, dir)
	second, _, err := importAll(t, src2, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != len(first) {
		t.Fatalf("%d items, want %d", len(second), len(first))
	}
	for i, a := range first {
		b := second[i]
		if a.Name != b.Name || b.Err != nil {
			t.Fatalf("item %d: %s (%v), want %s", i, b.Name, b.Err, a.Name)
		}
		for _, class := range []string{"person", "bicycle"} {
			for _, crowd := range []bool{false, true} {
				ma := classRaster(t, a.Ann, class, crowd)
				mb := classRaster(t, b.Ann, class, crowd)
				if iou := dataset.IoU(ma, mb); iou < 0.99 {
					t.Errorf("%s: %s crowd=%v: IoU %v < 0.99", a.Name, class, crowd, iou)
				}
			}
		}
		// Bitmaps without holes of one part became polygons; the holed
		// person and the crowds stay RLE, and the two-part persons are
		// one annotation of two polygons, which reads back as a bitmap.
		var bitmaps int
		for _, o := range b.Ann.Objects {
			if o.Shape == dataset.ShapeBitmap {
				bitmaps++
			}
		}
		if want := map[string]int{"train2017/000000000010.png": 3, "val2017/000000000139.png": 2}[a.Name]; bitmaps != want {
			t.Errorf("%s: %d bitmaps after a polygons export, want %d", a.Name, bitmaps, want)
		}
	}
}

func TestExportDeterministic(t *testing.T) {
	store, src := importtest.StoreDir(t, fixtureDir)
	ds := buildDataset(t, store, src)
	for _, masks := range []string{"rle", "polygons"} {
		d1 := export(t, store, ds, dataset.Options{"masks": masks})
		d2 := export(t, store, ds, dataset.Options{"masks": masks})
		t1, _, err1 := store.PutDir(context.Background(), d1, cache.IngestOptions{})
		t2, _, err2 := store.PutDir(context.Background(), d2, cache.IngestOptions{})
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if t1 != t2 {
			t.Errorf("masks=%s: two exports differ", masks)
		}
	}
}

// TestExportShapes exports objects COCO cannot hold as they are.
func TestExportShapes(t *testing.T) {
	store := importtest.NewStore(t)
	img, _ := store.PutBytes([]byte("not really a png"))
	ring := importtest.Square
	holed, _ := dataset.NewMask(5, 5)
	for y := 0; y < 5; y++ {
		for x := 0; x < 5; x++ {
			holed.Set(x, y, x != 2 || y != 2)
		}
	}
	a := &dataset.Annotation{Width: 20, Height: 10, Tags: []dataset.Tag{{Name: "s"}, {Name: "reviewed"}}, Objects: []dataset.Object{
		{Class: "person", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: ring(1, 1, 9, 9), Holes: [][]dataset.Point{ring(3, 3, 5, 5)}}},
		{Class: "person", Shape: dataset.ShapeBitmap, Mask: holed, Origin: image.Pt(12, 2)},
		{Class: "neutral", Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: ring(0.5, 0, 3.25, 2)}, Tags: []dataset.Tag{{Name: CrowdTag}}},
		{Class: "car", Shape: dataset.ShapeRectangle, Rect: image.Rect(18, 8, 20, 10)},
	}}
	b := dataset.NewBuilder(store)
	if _, err := b.Add("s/a.png", img, 16, a); err != nil {
		t.Fatal(err)
	}
	meta := &dataset.Meta{}
	for _, c := range []string{"person", "neutral", "car"} {
		meta.AddClass(dataset.Class{Title: c})
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, masks := range []string{"rle", "polygons"} {
		dir := export(t, store, ds, dataset.Options{"masks": masks})
		_, src := importtest.StoreDir(t, dir)
		items, _, err := importAll(t, src, dataset.Options{})
		if err != nil || len(items) != 1 || items[0].Err != nil {
			t.Fatalf("masks=%s: %v %v", masks, err, items)
		}
		got := items[0].Ann
		shapes := map[string]string{}
		for _, o := range got.Objects {
			shapes[o.Class] += o.Shape + " "
			if o.Class == "neutral" && !hasTag(o.Tags, CrowdTag) {
				t.Errorf("masks=%s: the crowd lost its tag", masks)
			}
		}
		want := map[string]string{"person": "bitmap bitmap ", "neutral": "bitmap ", "car": "rectangle "}
		if !reflect.DeepEqual(shapes, want) {
			t.Errorf("masks=%s: shapes %v, want %v", masks, shapes, want)
		}
		orig := items[0].Ann
		orig.Objects = a.Objects
		for _, c := range []string{"person", "neutral", "car"} {
			for _, crowd := range []bool{false, true} {
				if iou := dataset.IoU(classRaster(t, orig, c, crowd), classRaster(t, got, c, crowd)); iou != 1 {
					t.Errorf("masks=%s: %s crowd=%v: IoU %v, want 1", masks, c, crowd, iou)
				}
			}
		}
		if !reflect.DeepEqual(got.Tags, []dataset.Tag{{Name: "s"}}) {
			t.Errorf("tags = %v, want the subset only", got.Tags)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []dataset.Options{
		{"annotation": "x"},
		{"annotations": "["},
		{"images": "../{subset}"},
		{"images": "/abs"},
	} {
		if _, err := NewImporter(opt); err == nil {
			t.Errorf("NewImporter(%v) succeeded", opt)
		}
	}
	for _, opt := range []dataset.Options{{"masks": "bitmap"}, {"mask": "rle"}} {
		if _, err := NewExporter(opt); err == nil {
			t.Errorf("NewExporter(%v) succeeded", opt)
		}
	}
	// Another layout: any glob, images in a directory per subset.
	src := mapSource{fstest.MapFS{
		"labels/coco_train.json":       {Data: []byte(`{"images":[{"id":1,"file_name":"a.jpg","width":4,"height":3}],"annotations":[],"categories":[]}`)},
		"pictures/coco_train/a.jpg":    {Data: []byte("jpeg")},
		"labels/ignored.txt":           {Data: []byte("x")},
		"annotations/instances_x.json": {Data: []byte("not read")},
	}}
	items, meta, err := importAll(t, src, dataset.Options{"annotations": "labels/*.json", "images": "pictures/{subset}"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Name != "coco_train/a.jpg" || items[0].Image != "pictures/coco_train/a.jpg" || items[0].Err != nil || meta.TagMeta("coco_train") == nil {
		t.Errorf("items = %+v", items[0])
	}
}

func TestEmitErrorStops(t *testing.T) {
	_, src := importtest.StoreDir(t, fixtureDir)
	im, _ := NewImporter(dataset.Options{})
	stop := errors.New("stop")
	n := 0
	_, err := im.Import(context.Background(), src, func(*dataset.SourceItem) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Import = %v after %d items, want stop after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := im.Import(ctx, src, func(*dataset.SourceItem) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Import with a cancelled context = %v", err)
	}
}

// TestSpoolToFile imports the fixture with a spool that moves almost every
// annotation to its temporary file; the result must not change.
func TestSpoolToFile(t *testing.T) {
	_, src := importtest.StoreDir(t, fixtureDir)
	items, _, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := canonical(t, items)
	saved := spoolMemory
	spoolMemory = 100
	defer func() { spoolMemory = saved }()
	items, _, err = importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := canonical(t, items); !reflect.DeepEqual(got, want) {
		t.Errorf("spooling to a file changed the import:\n%v\n%v", got, want)
	}
	var s spool
	defer s.close()
	for i := 0; i < 300; i++ {
		ref, err := s.add(bytes.Repeat([]byte{byte(i)}, i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 299 && ref.block != -1 {
			t.Errorf("record %d is not in the file: %+v", i, ref)
		}
		if b, err := s.get(ref); err != nil || !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, i)) {
			t.Errorf("record %d read back as %v, %v", i, b, err)
		}
	}
}

func TestFastPolygons(t *testing.T) {
	for _, c := range []struct {
		in   string
		want [][]float64
	}{
		{`[[1,2,3.5,-4,5e2,6E-1]]`, [][]float64{{1, 2, 3.5, -4, 500, 0.6}}},
		{`[[1,2,3,4,5,6],[7,8,9,10,11,12]]`, [][]float64{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}},
		{`[[0]]`, [][]float64{{0}}},
		{`[[]]`, nil},
		{`[[1,2],{}]`, nil},
		{`[[1,2],3]`, nil},
		{`[[1, 2]]`, nil},
		{`[[1e999,2]]`, nil},
		{`[[1,2]`, nil},
		{`[[1,2]]]`, nil},
		{`[[null]]`, nil},
	} {
		got, ok := fastPolygons([]byte(c.in))
		if ok != (c.want != nil) || !reflect.DeepEqual(got, c.want) {
			t.Errorf("fastPolygons(%s) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
}

// FuzzFastPolygons checks the fast polygon parser against encoding/json.
func FuzzFastPolygons(f *testing.F) {
	for _, s := range []string{`[[1,2,3.5,-4,5e2,6E-1]]`, `[[1],[2,3]]`, `[[1,2],{}]`, `[[-0.0,1e-3]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := fastPolygons(data)
		if !ok {
			return
		}
		var want [][]float64
		if err := json.Unmarshal(data, &want); err != nil {
			if json.Valid(data) {
				t.Fatalf("fastPolygons(%q) = %v, but encoding/json fails: %v", data, got, err)
			}
			return // the importer only sees valid JSON
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fastPolygons(%q) = %v, encoding/json gives %v", data, got, want)
		}
	})
}
