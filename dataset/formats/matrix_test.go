package formats_test

import (
	"bytes"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
)

// A matrixSource is a dataset the round-trip matrix starts from: an import
// fixture, or (masks) a directory an export wrote, since masks has no
// fixture of its own.
type matrixSource struct {
	name, format, dir string
	via               string // masks: the fixture exported to masks first
	viaOpt            dataset.Options
}

var matrixSources = []matrixSource{
	{name: "coco", format: "coco", dir: "coco"},
	{name: "coco_overlap", format: "coco", dir: "coco_overlap"},
	{name: "pascal_voc", format: "pascal_voc", dir: "pascal_voc"},
	{name: "pascal_voc_cvat", format: "pascal_voc", dir: "pascal_voc_cvat"},
	{name: "pascal_voc_wild", format: "pascal_voc", dir: "pascal_voc_wild"},
	{name: "cityscapes", format: "cityscapes", dir: "cityscapes"},
	{name: "vistas_v1.2", format: "mapillary_vistas", dir: "mapillary_vistas/v1.2"},
	{name: "vistas_v2.0", format: "mapillary_vistas", dir: "mapillary_vistas/v2.0"},
	{name: "supervisely", format: "supervisely", dir: "supervisely"},
	{name: "supervisely_legacy", format: "supervisely", dir: "supervisely_legacy"},
	{name: "supervisely_overlap", format: "supervisely", dir: "supervisely_overlap"},
	{name: "images", format: "images", dir: "images"},
	{name: "masks_index", format: "masks", via: "pascal_voc"},
	{name: "masks_color", format: "masks", via: "supervisely", viaOpt: dataset.Options{"mode": "color"}},
}

// A survival is one column of the matrix: what an export format keeps of
// any dataset, as import → export → import back shows it. keeps returns,
// from a source item's name and annotation, the name and annotation the
// target must read back, byte for byte in canonical form; meta says what
// becomes of the class list. The doc strings are the table of
// docs/datasets.md ("What survives a conversion").
type survival struct {
	names, objects, geometry, imageTags, objectTags, classes string
	keeps                                                    func(t *testing.T, name string, a *dataset.Annotation) (string, *dataset.Annotation)
	meta                                                     func(t *testing.T, src, back *dataset.Meta)
}

var survivals = map[string]survival{
	"supervisely": {
		names:      "kept",
		objects:    "every object, in order",
		geometry:   "exact (polygons, rectangles, bitmaps)",
		imageTags:  "all, with values",
		objectTags: "all, with values",
		classes:    "the meta, byte for byte",
		keeps:      func(_ *testing.T, name string, a *dataset.Annotation) (string, *dataset.Annotation) { return name, a },
		meta: func(t *testing.T, src, back *dataset.Meta) {
			if !bytes.Equal(dataset.EncodeMeta(src), dataset.EncodeMeta(back)) {
				t.Errorf("meta changed:\n%s\n%s", dataset.EncodeMeta(src), dataset.EncodeMeta(back))
			}
		},
	},
	"coco": {
		names:      "kept (`<dataset>` is the subset)",
		objects:    "every object, in order",
		geometry:   "exact; a polygon with holes, a crowd polygon or rectangle becomes the bitmap of its pixels; a bitmap or crowd object without pixels is dropped",
		imageTags:  "not carried: the subset tag (the `<dataset>` part) only",
		objectTags: "not carried: `iscrowd` only",
		classes:    "every title (shape `any`)",
		keeps:      cocoKeeps,
		meta:       sameTitles,
	},
	"pascal_voc": {
		names:      "the file is kept, `<dataset>` becomes `VOC2012`",
		objects:    "instances as drawn: one bitmap per object of what shows of it (none if covered), `neutral` as one void object, last",
		geometry:   "not carried: visible pixels only, as bitmaps",
		imageTags:  "not carried: `train`, `val`, `trainval`, `test` only (`default` when none)",
		objectTags: "not carried",
		classes:    "every title (more when the VOC 20 are used, and `neutral`)",
		keeps:      vocKeeps,
		meta:       titlesIncluded,
	},
	"masks": {
		names:      "kept",
		objects:    "not carried: one bitmap per class that shows, sorted by title, `neutral` last",
		geometry:   "not carried: class pixels as drawn, exact",
		imageTags:  "not carried",
		objectTags: "not carried",
		classes:    "every title",
		keeps:      masksKeeps,
		meta:       sameTitles,
	},
}

// matrixLossless lists the cells (source, target) whose annotations come
// back byte for byte (the names may still change: pascal_voc). Every other
// cell must lose something, and exactly what its column says.
var matrixLossless = map[[2]string]bool{
	{"coco", "coco"}:                  true,
	{"coco_overlap", "coco"}:          true,
	{"pascal_voc", "pascal_voc"}:      true,
	{"pascal_voc_cvat", "pascal_voc"}: true,
	{"pascal_voc_wild", "pascal_voc"}: true,
	{"vistas_v1.2", "coco"}:           true,
	{"images", "masks"}:               true,
	{"masks_index", "masks"}:          true,
	{"masks_color", "masks"}:          true,
}

func init() {
	for _, s := range matrixSources {
		matrixLossless[[2]string{s.name, "supervisely"}] = true
	}
}

// Every import fixture (and a masks export) goes through every export
// format and back: the same images under the names the target keeps, the
// class pixels as drawn, and per item exactly the annotation the target's
// column of the table says survives, byte for byte in canonical form.
func TestConversionMatrix(t *testing.T) {
	var targets []string
	for name := range survivals {
		targets = append(targets, name)
	}
	sort.Strings(targets)
	if !slices.Equal(targets, formats.ExportNames()) {
		t.Fatalf("the table has columns %v; the export formats are %v", targets, formats.ExportNames())
	}
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range matrixSources {
		var ds *dataset.Dataset
		if src.via != "" {
			from := importDir(t, s, src.via, fixture(src.via), nil)
			ds = importDir(t, s, "masks", exportTo(t, s, from, "masks", src.viaOpt), nil)
		} else {
			ds = importDir(t, s, src.format, fixture(src.dir), nil)
		}
		if len(ds.Entries) == 0 {
			t.Fatalf("%s: no items", src.name)
		}
		for _, target := range targets {
			t.Run(src.name+"→"+target, func(t *testing.T) {
				checkCell(t, s, ds, src.name, target)
			})
		}
	}
}

func checkCell(t *testing.T, s *cache.Store, ds *dataset.Dataset, source, target string) {
	sv := survivals[target]
	back := importDir(t, s, target, exportTo(t, s, ds, target, nil), nil)
	if len(back.Entries) != len(ds.Entries) {
		t.Fatalf("%d items, then %d", len(ds.Entries), len(back.Entries))
	}
	sv.meta(t, ds.Meta, back.Meta)
	byName := map[string]dataset.Entry{}
	for _, e := range back.Entries {
		byName[e.Name] = e
	}
	changed := 0
	for _, e := range ds.Entries {
		a, err := ds.Annotation(s, e)
		if err != nil {
			t.Fatal(err)
		}
		srcBytes, err := dataset.EncodeAnnotation(a)
		if err != nil {
			t.Fatal(err)
		}
		wantName, want := sv.keeps(t, e.Name, a)
		b, ok := byName[wantName]
		if !ok {
			t.Errorf("%s: no item %s read back", e.Name, wantName)
			continue
		}
		if b.Image != e.Image {
			t.Errorf("%s: image %s became %s", e.Name, e.Image.Short(), b.Image.Short())
		}
		ab, err := back.Annotation(s, b)
		if err != nil {
			t.Fatal(err)
		}
		// Class pixels survive every cell, whatever else is lost.
		if x, y := drawLabels(t, a), drawLabels(t, ab); !slices.Equal(x, y) || a.Width != ab.Width || a.Height != ab.Height {
			t.Errorf("%s: the class pixels differ", e.Name)
		}
		wantBytes, err := dataset.EncodeAnnotation(want)
		if err != nil {
			t.Fatal(err)
		}
		gotBytes, err := dataset.EncodeAnnotation(ab)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wantBytes, gotBytes) {
			t.Errorf("%s came back as %s, not as the table says:\ngot  %s\nwant %s", e.Name, wantName, clip(gotBytes), clip(wantBytes))
		}
		if !bytes.Equal(srcBytes, gotBytes) {
			changed++
		}
	}
	lossless := matrixLossless[[2]string{source, target}]
	if lossless && changed > 0 {
		t.Errorf("the table says the annotations survive byte for byte; %d of %d changed", changed, len(ds.Entries))
	}
	if !lossless && changed == 0 {
		t.Errorf("every annotation survived byte for byte; the table says something is lost (make the cell lossless)")
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// bitmapOf is the object as a bitmap of its pixels in the w×h image, or
// nil when it has none.
func bitmapOf(t *testing.T, o dataset.Object, w, h int) *dataset.Object {
	t.Helper()
	m, err := o.Raster(w, h)
	if err != nil {
		t.Fatal(err)
	}
	if m.Area() == 0 {
		return nil
	}
	return &dataset.Object{Class: o.Class, Tags: o.Tags, Shape: dataset.ShapeBitmap, Mask: m}
}

func hasTag(tags []dataset.Tag, name string) bool {
	for _, g := range tags {
		if g.Name == name {
			return true
		}
	}
	return false
}

// cocoKeeps: the item keeps its name, its one image tag is its subset (the
// <dataset> part), objects keep their order and geometry, except that a
// polygon with holes and a crowd polygon or rectangle become bitmaps
// (COCO polygons have no holes; crowds are RLE) and that a bitmap or crowd
// object without pixels is dropped; only iscrowd of the object tags stays.
func cocoKeeps(t *testing.T, name string, a *dataset.Annotation) (string, *dataset.Annotation) {
	out := &dataset.Annotation{Width: a.Width, Height: a.Height, Tags: []dataset.Tag{{Name: path.Dir(name)}}}
	for _, o := range a.Objects {
		crowd := hasTag(o.Tags, "iscrowd")
		o.Tags = nil
		if crowd {
			o.Tags = []dataset.Tag{{Name: "iscrowd"}}
		}
		if crowd || o.Shape == dataset.ShapeBitmap || o.Shape == dataset.ShapePolygon && len(o.Polygon.Holes) > 0 {
			b := bitmapOf(t, o, a.Width, a.Height)
			if b == nil {
				continue // nothing to write
			}
			if o.Shape != dataset.ShapeBitmap {
				o = *b
			}
		}
		out.Objects = append(out.Objects, o)
	}
	return name, out
}

// vocSubsets are the image tags a VOC export writes as lists (its default
// subsets option).
var vocSubsets = []string{"test", "train", "trainval", "val"}

// vocKeeps: the item is VOC2012/<file>; its tags are its subset tags, or
// default; the objects are drawn in order and read back as instances: per
// object (neutral aside) what shows of it, if anything, then one neutral
// object of every pixel where a neutral object is on top.
func vocKeeps(t *testing.T, name string, a *dataset.Annotation) (string, *dataset.Annotation) {
	out := &dataset.Annotation{Width: a.Width, Height: a.Height}
	for _, g := range a.Tags {
		if slices.Contains(vocSubsets, g.Name) {
			out.Tags = append(out.Tags, dataset.Tag{Name: g.Name})
		}
	}
	if len(out.Tags) == 0 {
		out.Tags = []dataset.Tag{{Name: "default"}}
	}
	top := make([]int, a.Width*a.Height)
	for i := range top {
		top[i] = -1
	}
	for k, o := range a.Objects {
		m, err := o.Raster(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range m.Bits {
			if v != 0 {
				top[i] = k
			}
		}
	}
	shows := func(keep func(k int) bool) *dataset.Mask {
		m, err := dataset.NewMask(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range top {
			if k >= 0 && keep(k) {
				m.Bits[i] = 1
			}
		}
		return m
	}
	for k, o := range a.Objects {
		if o.Class == "neutral" {
			continue
		}
		if m := shows(func(j int) bool { return j == k }); m.Area() > 0 {
			out.Objects = append(out.Objects, dataset.Object{Class: o.Class, Shape: dataset.ShapeBitmap, Mask: m})
		}
	}
	if m := shows(func(j int) bool { return a.Objects[j].Class == "neutral" }); m.Area() > 0 {
		out.Objects = append(out.Objects, dataset.Object{Class: "neutral", Shape: dataset.ShapeBitmap, Mask: m})
	}
	return "VOC2012/" + path.Base(name), out
}

// masksKeeps: the item keeps its name and loses its tags; the objects are
// one bitmap per class that shows, of exactly its pixels, sorted by class
// title with neutral (255) last.
func masksKeeps(t *testing.T, name string, a *dataset.Annotation) (string, *dataset.Annotation) {
	out := &dataset.Annotation{Width: a.Width, Height: a.Height}
	labels := drawLabels(t, a)
	var classes []string
	for _, l := range labels {
		if l != "" && !slices.Contains(classes, l) {
			classes = append(classes, l)
		}
	}
	sort.Slice(classes, func(i, j int) bool {
		if (classes[i] == "neutral") != (classes[j] == "neutral") {
			return classes[j] == "neutral"
		}
		return classes[i] < classes[j]
	})
	for _, c := range classes {
		m, err := dataset.NewMask(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range labels {
			if l == c {
				m.Bits[i] = 1
			}
		}
		out.Objects = append(out.Objects, dataset.Object{Class: c, Shape: dataset.ShapeBitmap, Mask: m})
	}
	return name, out
}

func titles(m *dataset.Meta) []string {
	var out []string
	for _, c := range m.Classes {
		out = append(out, c.Title)
	}
	return out
}

func sameTitles(t *testing.T, src, back *dataset.Meta) {
	if a, b := titles(src), titles(back); !slices.Equal(a, b) {
		t.Errorf("classes %s became %s", strings.Join(a, ","), strings.Join(b, ","))
	}
}

func titlesIncluded(t *testing.T, src, back *dataset.Meta) {
	for _, c := range src.Classes {
		if back.Class(c.Title) == nil {
			t.Errorf("class %q is lost", c.Title)
		}
	}
}
