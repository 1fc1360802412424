package supervisely

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

const (
	fixtureDir       = "../../testdata/fixtures/supervisely"
	legacyFixtureDir = "../../testdata/fixtures/supervisely_legacy"
)

// importDir stores dir and imports it; it returns the source, the meta and
// every emitted item.
func importDir(t *testing.T, s *cache.Store, dir string, opt dataset.Options) (dataset.Source, *dataset.Meta, []*dataset.SourceItem, error) {
	t.Helper()
	src := importtest.PutDir(t, s, dir)
	meta, items, err := importSource(t, src, opt)
	return src, meta, items, err
}

func importSource(t *testing.T, src dataset.Source, opt dataset.Options) (*dataset.Meta, []*dataset.SourceItem, error) {
	t.Helper()
	if opt == nil {
		opt = dataset.Options{}
	}
	return importtest.Import(t, NewImporter, src, opt)
}

func tagNames(tags []dataset.Tag) []string {
	var out []string
	for _, t := range tags {
		s := t.Name
		if t.Value != "" {
			s += "=" + t.Value
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

type wantObj struct {
	class string
	area  int
	holes int // polygon holes
	tags  string
}

type wantItem struct {
	name      string
	w, h      int
	imageTags string
	objs      []wantObj // sorted by class, then area
}

// The fixture content, written out (see dataset/fixtures/supervisely.go).
var wantItems = []wantItem{
	{"ds1/pexels-photo-1.png", 64, 48, "", []wantObj{
		{"neutral", 91, 0, ""},
		{"person_bmp", 87, 0, "multipart-person"},
		{"person_poly", 250, 1, ""},
		{"person_poly", 350, 0, ""},
	}},
	{"ds1/pexels-photo-2.png", 48, 40, "", []wantObj{
		{"person_bmp", 94, 0, ""},
		{"person_bmp", 244, 0, "occlusion=partial"},
	}},
	{"ds2/pexels-photo-3.png", 64, 48, "not-marked-people", []wantObj{
		{"neutral", 271, 0, ""},
		{"person_poly", 340, 0, ""},
	}},
	{"ds2/pexels-photo-4.png", 32, 24, "", nil},
}

func checkItems(t *testing.T, items []*dataset.SourceItem, legacy bool) {
	t.Helper()
	if len(items) != len(wantItems) {
		t.Fatalf("got %d items, want %d", len(items), len(wantItems))
	}
	for i, w := range wantItems {
		it := items[i]
		if it.Name != w.name {
			t.Errorf("item %d is %s, want %s", i, it.Name, w.name)
			continue
		}
		if it.Err != nil {
			t.Errorf("%s: %v", it.Name, it.Err)
			continue
		}
		ds, file := dataset.Split(w.name)
		if it.Image != ds+"/img/"+file {
			t.Errorf("%s: image %s", it.Name, it.Image)
		}
		wantAnn := ds + "/ann/" + file + ".json"
		if legacy {
			wantAnn = ds + "/ann/" + strings.TrimSuffix(file, ".png") + ".json"
		}
		if it.File != wantAnn {
			t.Errorf("%s: annotation file %s, want %s", it.Name, it.File, wantAnn)
		}
		a := it.Ann
		if a.Width != w.w || a.Height != w.h {
			t.Errorf("%s: size %dx%d, want %dx%d", it.Name, a.Width, a.Height, w.w, w.h)
		}
		if got := strings.Join(tagNames(a.Tags), ","); got != w.imageTags {
			t.Errorf("%s: image tags %q, want %q", it.Name, got, w.imageTags)
		}
		var got []wantObj
		for _, o := range a.Objects {
			m, err := o.Raster(a.Width, a.Height)
			if err != nil {
				t.Fatalf("%s: %v", it.Name, err)
			}
			tags := tagNames(o.Tags)
			if legacy {
				// 2018 tags have no values.
				for j := range tags {
					tags[j], _, _ = strings.Cut(tags[j], "=")
				}
			}
			got = append(got, wantObj{o.Class, m.Area(), len(o.Polygon.Holes), strings.Join(tags, ",")})
		}
		sort.Slice(got, func(i, j int) bool {
			if got[i].class != got[j].class {
				return got[i].class < got[j].class
			}
			return got[i].area < got[j].area
		})
		want := w.objs
		if legacy {
			want = append([]wantObj(nil), want...)
			for j := range want {
				if want[j].tags == "occlusion=partial" {
					want[j].tags = ""
				}
			}
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: objects\n got %v\nwant %v", it.Name, got, want)
		}
	}
}

// checkDrawn compares every imported object with the masks the fixture
// generator drew: each object must cover exactly the pixels of one drawn
// object of its class, with the same tags.
func checkDrawn(t *testing.T, items []*dataset.SourceItem, legacy bool) {
	t.Helper()
	drawn, err := fixtures.SuperviselyImages()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dataset.SourceItem{}
	for _, it := range items {
		byName[it.Name] = it
	}
	for _, im := range drawn {
		it := byName[im.Name()]
		if it == nil || it.Ann == nil {
			t.Errorf("%s: not imported", im.Name())
			continue
		}
		used := make([]bool, len(it.Ann.Objects))
		n := 0
		for _, want := range im.Objects {
			if want.LegacyOnly {
				continue
			}
			n++
			wantTags := tagNames(want.Tags)
			if legacy && want.LegacyDropsTags {
				wantTags = nil
				for _, tg := range want.Tags {
					if tg.Value == "" {
						wantTags = append(wantTags, tg.Name)
					}
				}
			}
			found := false
			for i, o := range it.Ann.Objects {
				if used[i] || o.Class != want.Class {
					continue
				}
				m, err := o.Raster(im.Width, im.Height)
				if err != nil {
					t.Fatal(err)
				}
				if dataset.IoU(m, want.Mask) != 1 || !m.Equal(want.Mask) {
					continue
				}
				if got := tagNames(o.Tags); !reflect.DeepEqual(got, wantTags) {
					t.Errorf("%s: %s object tags %v, want %v", im.Name(), o.Class, got, wantTags)
				}
				used[i], found = true, true
				break
			}
			if !found {
				t.Errorf("%s: no %s object covers the %d pixels drawn", im.Name(), want.Class, want.Mask.Area())
			}
		}
		if n != len(it.Ann.Objects) {
			t.Errorf("%s: %d objects, %d drawn", im.Name(), len(it.Ann.Objects), n)
		}
	}
}

func TestImportFixture(t *testing.T) {
	s := importtest.NewStore(t)
	_, meta, items, err := importDir(t, s, fixtureDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, items, false)
	checkDrawn(t, items, false)
	want := &dataset.Meta{
		Classes: []dataset.Class{
			{Title: "neutral", Shape: "polygon", Color: "#D2210A"},
			{Title: "person_bmp", Shape: "bitmap", Color: "#FF0099"},
			{Title: "person_poly", Shape: "polygon", Color: "#18FF00"},
		},
		Tags: []dataset.TagMeta{
			{Name: "multipart-person", ValueType: "none", Color: "#E3BE1C"},
			{Name: "not-marked-people", ValueType: "none", Color: "#2E8AE0"},
			{Name: "occlusion", ValueType: "oneof_string", Values: []string{"none", "partial", "heavy"}, Color: "#8F1CE3"},
		},
	}
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("meta\n got %+v\nwant %+v", meta, want)
	}
}

func TestImportLegacyFixture(t *testing.T) {
	s := importtest.NewStore(t)
	_, meta, items, err := importDir(t, s, legacyFixtureDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, items, true)
	checkDrawn(t, items, true)
	var classes, tags []string
	for _, c := range meta.Classes {
		classes = append(classes, c.Title+":"+c.Shape)
	}
	for _, tg := range meta.Tags {
		tags = append(tags, tg.Name+":"+tg.ValueType)
	}
	if got, want := strings.Join(classes, " "), "horizon:line neutral:polygon person_bmp:bitmap person_poly:polygon"; got != want {
		t.Errorf("classes %s, want %s", got, want)
	}
	if got, want := strings.Join(tags, " "), "multipart-person:none not-marked-people:none"; got != want {
		t.Errorf("tags %s, want %s", got, want)
	}
}

// TestLayoutsAgree imports the same scenes from both layouts: the canonical
// annotations are equal, but for the tag value the 2018 layout cannot hold.
func TestLayoutsAgree(t *testing.T) {
	s := importtest.NewStore(t)
	srcNew, _, newItems, err := importDir(t, s, fixtureDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srcOld, _, oldItems, err := importDir(t, s, legacyFixtureDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	drawn, err := fixtures.SuperviselyImages()
	if err != nil {
		t.Fatal(err)
	}
	if len(newItems) != len(drawn) || len(oldItems) != len(drawn) {
		t.Fatalf("%d and %d items, %d drawn", len(newItems), len(oldItems), len(drawn))
	}
	same := 0
	for i, im := range drawn {
		n, o := newItems[i], oldItems[i]
		if n.Name != im.Name() || o.Name != im.Name() {
			t.Fatalf("items %s and %s, want %s", n.Name, o.Name, im.Name())
		}
		dn, _, _ := srcNew.Digest(n.Image)
		do, _, _ := srcOld.Digest(o.Image)
		if dn != do {
			t.Errorf("%s: the two images differ", im.Name())
		}
		differs := false
		for _, obj := range im.Objects {
			differs = differs || obj.LegacyDropsTags
		}
		cn, co := importtest.Canon(t, n.Ann), importtest.Canon(t, o.Ann)
		if !differs {
			same++
			if cn != co {
				t.Errorf("%s: the layouts give different annotations\n 2019: %.300s\n 2018: %.300s", im.Name(), cn, co)
			}
			continue
		}
		if cn == co {
			t.Errorf("%s: the tag value should make the annotations differ", im.Name())
		}
		stripped := *n.Ann
		stripped.Objects = append([]dataset.Object(nil), n.Ann.Objects...)
		for j := range stripped.Objects {
			var keep []dataset.Tag
			for _, tg := range stripped.Objects[j].Tags {
				if tg.Value == "" {
					keep = append(keep, tg)
				}
			}
			stripped.Objects[j].Tags = keep
		}
		if cs := importtest.Canon(t, &stripped); cs != co {
			t.Errorf("%s: without tag values the layouts still differ", im.Name())
		}
	}
	if same != 3 {
		t.Errorf("%d items agree, want 3", same)
	}
}

func TestUnsupportedError(t *testing.T) {
	s := importtest.NewStore(t)
	_, _, items, err := importDir(t, s, legacyFixtureDir, dataset.Options{"unsupported": "error"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		bad := it.Name == "ds1/pexels-photo-2.png"
		if (it.Err != nil) != bad {
			t.Errorf("%s: error %v", it.Name, it.Err)
			continue
		}
		if bad {
			var ie *dataset.ItemError
			if !errors.As(it.Err, &ie) || ie.Item != it.Name || ie.File != "ds1/ann/pexels-photo-2.json" || !errors.Is(it.Err, dataset.ErrUnsupportedGeometry) {
				t.Errorf("%s: error %#v", it.Name, it.Err)
			}
			if it.Ann != nil {
				t.Errorf("%s: an item error with an annotation", it.Name)
			}
		}
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []dataset.Options{{"unsupported": "keep"}, {"colour": "red"}} {
		if _, err := NewImporter(opt); err == nil {
			t.Errorf("NewImporter(%v) succeeded", opt)
		}
	}
	if _, err := NewExporter(dataset.Options{"x": "1"}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("NewExporter with an unknown option: %v", err)
	}
	imp, err := NewImporter(dataset.Options{"unsupported": "error"})
	if err != nil || imp.(*Importer).DropUnsupported {
		t.Errorf("unsupported = error: %v %+v", err, imp)
	}
}

// TestRoundTrip imports each fixture, builds a dataset, exports it,
// imports the export and checks that every entry (image and annotation
// digests) and the meta come back unchanged; a second export writes the
// same bytes.
func TestRoundTrip(t *testing.T) {
	for _, fixture := range []string{fixtureDir, legacyFixtureDir} {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			ctx := context.Background()
			s := importtest.NewStore(t)
			src, meta, items, err := importDir(t, s, fixture, nil)
			if err != nil {
				t.Fatal(err)
			}
			ds := importtest.Build(t, s, src, meta, items)
			exp, err := NewExporter(dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := dataset.ExportTo(ctx, exp, ds, s, out); err != nil {
				t.Fatal(err)
			}
			files := importtest.ReadFiles(t, out)
			if len(files) != 1+2*len(ds.Entries) {
				t.Errorf("export wrote %d files for %d entries", len(files), len(ds.Entries))
			}
			if !bytes.Equal(files["meta.json"], dataset.EncodeMeta(ds.Meta)) {
				t.Errorf("meta.json is not the canonical meta")
			}
			for _, e := range ds.Entries {
				ann, _ := s.ReadBlob(e.Ann)
				ds, file := dataset.Split(e.Name)
				if !bytes.Equal(files[ds+"/ann/"+file+".json"], ann) {
					t.Errorf("%s: exported annotation differs from the stored one", e.Name)
				}
			}

			src2, meta2, items2, err := importDir(t, s, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			ds2 := importtest.Build(t, s, src2, meta2, items2)
			if !reflect.DeepEqual(ds2.Entries, ds.Entries) {
				t.Errorf("entries differ after the round trip\n got %+v\nwant %+v", ds2.Entries, ds.Entries)
			}
			if !bytes.Equal(dataset.EncodeMeta(ds2.Meta), dataset.EncodeMeta(ds.Meta)) {
				t.Errorf("meta differs after the round trip")
			}
			if ds2.Tree != ds.Tree {
				t.Errorf("dataset tree %s, want %s", ds2.Tree.Short(), ds.Tree.Short())
			}

			// The dataset artifact is itself a Supervisely project.
			_, items3, err := importSource(t, s.TreeFS(ds.Tree), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(items3) != len(ds.Entries) {
				t.Fatalf("%d items from the artifact tree", len(items3))
			}
			for i, it := range items3 {
				if it.Err != nil || it.Name != ds.Entries[i].Name || importtest.Canon(t, it.Ann) != string(mustBlob(t, s, ds.Entries[i].Ann)) {
					t.Errorf("artifact item %s: %v", it.Name, it.Err)
				}
			}

			out2 := t.TempDir()
			if err := dataset.ExportTo(ctx, exp, ds, s, out2); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(importtest.ReadFiles(t, out2), files) {
				t.Errorf("a second export differs")
			}
		})
	}
}

func mustBlob(t *testing.T, s *cache.Store, d cache.Digest) []byte {
	t.Helper()
	b, err := s.ReadBlob(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportRejectsReservedDataset(t *testing.T) {
	s := importtest.NewStore(t)
	img, _ := s.PutBytes([]byte("not really a png"))
	ann, _ := s.PutBytes([]byte(`{"size":{"width":1,"height":1}}`))
	ds := &dataset.Dataset{Meta: &dataset.Meta{}, Entries: []dataset.Entry{{Name: "meta.json/a.png", Image: img, Ann: ann}}}
	if err := dataset.ExportTo(context.Background(), Exporter{}, ds, s, t.TempDir()); err == nil {
		t.Error("exported a dataset named meta.json")
	}
}
