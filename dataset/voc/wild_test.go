package voc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

const (
	wildDir = "../../testdata/fixtures/pascal_voc_wild"
	cvatDir = "../../testdata/fixtures/pascal_voc_cvat"
)

// wildItem finds the item of id in items.
func wildItem(t *testing.T, items []*dataset.SourceItem, id string) *dataset.SourceItem {
	t.Helper()
	for _, it := range items {
		if it.Name == "VOC2012/"+id+".jpg" {
			return it
		}
	}
	t.Fatalf("no item %s", id)
	return nil
}

// checkInstances asserts that it holds exactly the instances, in order,
// with the given classes.
func checkInstances(t *testing.T, it *dataset.SourceItem, inst []fixtures.VOCObject, classes ...string) {
	t.Helper()
	if it.Err != nil {
		t.Fatalf("%s: %v", it.Name, it.Err)
	}
	var want []dataset.Object
	for k, o := range inst {
		want = append(want, dataset.Object{Class: classes[k], Shape: dataset.ShapeBitmap, Mask: o.Mask})
	}
	importtest.CheckObjects(t, it.Name, it.Ann.Width, it.Ann.Height, it.Ann.Objects, want)
}

// TestSplitWithoutLabels: ids of a list whose image exists but that have
// no XML and/or no segmentation PNGs (the test split) are items without
// objects, of the XML's size when it gives one; an XML with objects but
// no PNGs gives a warning, since its boxes are not imported.
func TestSplitWithoutLabels(t *testing.T) {
	s := importtest.NewStore(t)
	items, meta, _, err := importDir(t, s, wildDir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 || meta.TagMeta("test") == nil || meta.TagMeta("train") == nil || len(meta.Tags) != 2 {
		t.Fatalf("%d items, tags %v; want 5, test and train", len(items), meta.Tags)
	}
	for _, tc := range []struct {
		id    string
		w, h  int
		warns int
	}{{"2099_000021", 8, 6, 0}, {"2099_000022", 0, 0, 0}, {"2099_000023", 8, 6, 1}} {
		it := wildItem(t, items, tc.id)
		if it.Err != nil || it.Ann == nil {
			t.Fatalf("%s: %v", tc.id, it.Err)
		}
		a := it.Ann
		if len(a.Objects) != 0 || a.Width != tc.w || a.Height != tc.h || len(a.Tags) != 1 || a.Tags[0].Name != "test" {
			t.Errorf("%s: %d objects, %dx%d, tags %v; want none, %dx%d, test", tc.id, len(a.Objects), a.Width, a.Height, a.Tags, tc.w, tc.h)
		}
		if len(it.Warnings) != tc.warns {
			t.Errorf("%s: warnings %q, want %d", tc.id, it.Warnings, tc.warns)
		}
	}
	if w := wildItem(t, items, "2099_000023").Warnings; len(w) == 1 && !strings.Contains(w[0], "the 1 objects of Annotations/2099_000023.xml are not imported") {
		t.Errorf("warning %q", w[0])
	}
}

// TestMainLists: a tree without ImageSets/Segmentation takes its items
// from ImageSets/Main, leaving out the per-class lists there.
func TestMainLists(t *testing.T) {
	s := importtest.NewStore(t)
	f := readFiles(t, wildDir)
	for k := range f {
		if strings.HasPrefix(k, "ImageSets/Segmentation/") {
			delete(f, k)
		}
	}
	items, meta, err := importSource(t, f.put(t, s), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 || len(meta.Tags) != 2 || meta.TagMeta("person_train") != nil {
		t.Errorf("%d items, tags %v; want 5, test and train", len(items), meta.Tags)
	}
}

// TestClassSource: where the XML and SegmentationClass disagree, option
// class_source decides: the mask's class (the default) or the XML's, each
// with a warning naming the instance and both classes, or an item error.
func TestClassSource(t *testing.T) {
	wild := fixtures.VOCWild()
	for _, tc := range []struct {
		source     string
		c11, c12   []string // classes of 2099_000011 and 2099_000012; nil: an item error
		err11      string
		err12      string
		warn11     string
		warn12     string
		warnsTotal int
	}{
		{"", []string{"person", "dog"}, []string{"person", "dog"}, "", "",
			`instance 1 is "cat" in the XML but "person" (15) in SegmentationClass; the mask's "person" is kept (option class_source = "mask")`,
			`instance 2 has no <object> in the XML, which has 1 but "dog" (12) in SegmentationClass; the mask's "dog" is kept`, 2},
		{"xml", []string{"cat", "dog"}, nil, "", "instance 2 has no <object> in the XML, which has 1 but \"dog\" (12) in SegmentationClass",
			`instance 1 is "cat" in the XML but "person" (15) in SegmentationClass; the XML's "cat" is kept (option class_source = "xml")`, "", 1},
		{"error", nil, nil, `instance 1 is "cat" in the XML but "person" (15) in SegmentationClass (option class_source = "error"; "mask" or "xml" would choose one)`,
			"instance 2 has no <object> in the XML", "", "", 0},
	} {
		opt := dataset.Options{}
		if tc.source != "" {
			opt["class_source"] = tc.source
		}
		s := importtest.NewStore(t)
		items, _, _, err := importDir(t, s, wildDir, opt)
		if err != nil {
			t.Fatal(err)
		}
		warns := 0
		for _, it := range items {
			warns += len(it.Warnings)
		}
		if warns != tc.warnsTotal+1 { // and 2099_000023's
			t.Errorf("class_source=%q: %d warnings, want %d", tc.source, warns, tc.warnsTotal+1)
		}
		for _, c := range []struct {
			id      string
			classes []string
			err     string
			warn    string
		}{{"2099_000011", tc.c11, tc.err11, tc.warn11}, {"2099_000012", tc.c12, tc.err12, tc.warn12}} {
			it := wildItem(t, items, c.id)
			if c.classes == nil {
				if it.Err == nil || !strings.Contains(it.Err.Error(), c.err) || !strings.Contains(it.Err.Error(), "SegmentationObject/"+c.id+".png") {
					t.Errorf("class_source=%q: %s: error %v, want one saying %q", tc.source, c.id, it.Err, c.err)
				}
				continue
			}
			var inst []fixtures.VOCObject
			for _, w := range wild {
				if w.ID == c.id {
					inst = w.Instances
				}
			}
			checkInstances(t, it, inst, c.classes...)
			if c.warn != "" && (len(it.Warnings) != 1 || !strings.Contains(it.Warnings[0], c.warn)) {
				t.Errorf("class_source=%q: %s: warnings %q, want one saying %q", tc.source, c.id, it.Warnings, c.warn)
			}
		}
	}
}

// TestLabelmap: CVAT's VOC segmentation export (no XML, labelmap.txt with
// classes that are not VOC's, RGB masks in the labelmap's colours) reads
// without options; exported again by dsbuild (labelmap.txt written, the
// classes by default the dataset's) it reads back without the class list,
// with the same objects pixel for pixel.
func TestLabelmap(t *testing.T) {
	s := importtest.NewStore(t)
	items, meta, src, err := importDir(t, s, cvatDir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, c := range meta.Classes {
		titles = append(titles, c.Title)
	}
	if strings.Join(titles, ",") != "bike,neutral,walker" {
		t.Errorf("classes %v, want bike, neutral, walker", titles)
	}
	truth := fixtures.VOCCVAT()
	if len(items) != len(truth) {
		t.Fatalf("%d items, want %d", len(items), len(truth))
	}
	for i, w := range truth {
		var classes []string
		for _, o := range w.Instances {
			classes = append(classes, o.Class)
		}
		checkInstances(t, items[i], w.Instances, classes...)
		if len(items[i].Warnings) != 0 {
			t.Errorf("%s: warnings %q", items[i].Name, items[i].Warnings)
		}
	}
	ds := importtest.Build(t, s, src, meta, items)
	ex, err := NewExporter(dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := dataset.ExportTo(context.Background(), ex, ds, s, dir); err != nil {
		t.Fatal(err)
	}
	lm, _ := os.ReadFile(filepath.Join(dir, LabelmapFile))
	if want := "# label:color_rgb:parts:actions\nbackground:0,0,0::\nbike:128,0,0::\nwalker:0,128,0::\nignored:224,224,192::\n"; string(lm) != want {
		t.Errorf("labelmap.txt:\n%s\nwant\n%s", lm, want)
	}
	back, meta2, _, err := importDir(t, s, dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(dataset.EncodeMeta(meta2)) != string(dataset.EncodeMeta(meta)) && meta2.Class("walker") == nil {
		t.Errorf("meta after the round trip: %s", dataset.EncodeMeta(meta2))
	}
	for i, it := range back {
		if it.Err != nil || importtest.Canon(t, it.Ann) != importtest.Canon(t, items[i].Ann) {
			t.Errorf("%s: round trip changed the annotation (%v)", it.Name, it.Err)
		}
	}
}

// TestLabelmapErrors: a malformed labelmap.txt is a source error naming
// the line; classes = "labelmap" requires the file.
func TestLabelmapErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"background:0,0,0::\nwalker:1,2::\n", "line 2: label \"walker\": colour \"1,2\" is not r,g,b"},
		{"background:0,0,0::\nwalker:1,2,3:\n", "line 2: 3 ':'-separated fields"},
		{"background:0,0,0::\nwalker:1,2,3::\nwalker:4,5,6::\n", "line 3: label \"walker\" is defined twice"},
		{"background:0,0,0::\nwalker:1,2,3::\nbike:1,2,3::\n", "line 3: label \"bike\" has the colour 1,2,3 of another label"},
		{"# only a comment\n", "no labels"},
	} {
		if _, err := parseLabelmap([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.data, err, tc.want)
		}
	}
	lm, err := parseLabelmap([]byte("# label:color_rgb:parts:actions\nbackground:::\naeroplane:::\nignored:::\nbicycle:::\n"))
	if err != nil || strings.Join(lm.classes, ",") != "aeroplane,bicycle" || lm.colors != nil {
		t.Errorf("labelmap without colours: %+v, %v", lm, err)
	}
	s := importtest.NewStore(t)
	if _, _, _, err := importDir(t, s, wildDir, dataset.Options{"classes": "labelmap"}); err == nil || !strings.Contains(err.Error(), "labelmap.txt: no such file") {
		t.Errorf("classes = labelmap without the file: %v", err)
	}
}
