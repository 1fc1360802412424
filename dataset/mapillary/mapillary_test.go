package mapillary

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

const fixtureRoot = "../../testdata/fixtures/mapillary_vistas"

var (
	keyTrain0 = "-2kFqX9dTj0aLp3Rz8YwQe"
	keyTrain1 = "Bq7nV0cW4xZ2sH6mK1tJrA"
	keyVal0   = "Hd3fG5jK7lP9qR1sT2uV4w"
	keyVal1   = "zY8xW6vU4tS2rQ0pO9nM7L"
	keyTest   = "aA1bB2cC3dD4eE5fF6gG7h"
	allNames  = []string{
		"testing/" + keyTest + ".jpg",
		"training/" + keyTrain0 + ".jpg",
		"training/" + keyTrain1 + ".jpg",
		"validation/" + keyVal0 + ".jpg",
		"validation/" + keyVal1 + ".jpg",
	}
)

func classCounts(objs []dataset.Object) map[string]int {
	c := map[string]int{}
	for _, o := range objs {
		c[o.Class]++
	}
	return c
}

func TestImportFixtures(t *testing.T) {
	stuff := []string{"construction--flat--road", "nature--sky"}
	void := []string{"void--unlabeled"}
	for _, tc := range []struct {
		name, version string
		opt           dataset.Options
		drop          []string
		classes       []string          // meta classes
		tags          []string          // meta tags
		perItem       map[string]int    // class counts of every labelled item
		colors        map[string]string // some meta colours
	}{
		{
			name: "v1.2 default", version: "1.2", opt: dataset.Options{},
			drop:    append(append([]string{}, stuff...), void...),
			classes: []string{"human--person", "human--rider--bicyclist"},
			tags:    []string{"testing", "training", "validation"},
			perItem: map[string]int{"human--person": 2, "human--rider--bicyclist": 1},
			colors:  map[string]string{"human--person": "#DC143C", "human--rider--bicyclist": "#FF0000"},
		},
		{
			name: "v1.2 keep all", version: "1.2", opt: dataset.Options{"version": "1.2", "stuff": "keep", "void": "keep"},
			classes: []string{"construction--flat--road", "human--person", "human--rider--bicyclist", "nature--sky", "void--unlabeled"},
			tags:    []string{"testing", "training", "validation"},
			perItem: map[string]int{"human--person": 2, "human--rider--bicyclist": 1, "construction--flat--road": 1, "nature--sky": 1, "void--unlabeled": 1},
			colors:  map[string]string{"construction--flat--road": "#804080", "nature--sky": "#4682B4", "void--unlabeled": "#000000"},
		},
		{
			name: "v2.0 default", version: "2.0", opt: dataset.Options{},
			drop:    append(append([]string{}, stuff...), void...),
			classes: []string{"human--person--individual", "human--person--person-group", "human--rider--bicyclist"},
			tags:    []string{"group", "testing", "training", "validation"},
			perItem: map[string]int{"human--person--individual": 2, "human--person--person-group": 1, "human--rider--bicyclist": 1},
			colors:  map[string]string{"human--person--individual": "#DC143C", "human--person--person-group": "#DC143C"},
		},
		{
			name: "v2.0 keep stuff", version: "2.0", opt: dataset.Options{"version": "2.0", "stuff": "keep"},
			drop:    void,
			classes: []string{"construction--flat--road", "human--person--individual", "human--person--person-group", "human--rider--bicyclist", "nature--sky"},
			tags:    []string{"group", "testing", "training", "validation"},
			perItem: map[string]int{"human--person--individual": 2, "human--person--person-group": 1, "human--rider--bicyclist": 1, "construction--flat--road": 1, "nature--sky": 1},
		},
		{
			name: "v2.0 keep void", version: "2.0", opt: dataset.Options{"void": "keep"},
			drop:    stuff,
			classes: []string{"human--person--individual", "human--person--person-group", "human--rider--bicyclist", "void--unlabeled"},
			tags:    []string{"group", "testing", "training", "validation"},
			perItem: map[string]int{"human--person--individual": 2, "human--person--person-group": 1, "human--rider--bicyclist": 1, "void--unlabeled": 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta, items := importtest.MustImportDir(t, NewImporter, filepath.Join(fixtureRoot, "v"+tc.version), tc.opt)
			if got := importtest.Names(items); !reflect.DeepEqual(got, allNames) {
				t.Fatalf("items %v, want %v", got, allNames)
			}
			var titles, tags []string
			for _, c := range meta.Classes {
				titles = append(titles, c.Title)
				if c.Shape != dataset.ShapeBitmap {
					t.Errorf("class %s has shape %s", c.Title, c.Shape)
				}
				if want, ok := tc.colors[c.Title]; ok && c.Color != want {
					t.Errorf("class %s has colour %s, want %s", c.Title, c.Color, want)
				}
			}
			for _, tm := range meta.Tags {
				tags = append(tags, tm.Name)
				if tm.ValueType != dataset.TagNone {
					t.Errorf("tag %s has value type %s", tm.Name, tm.ValueType)
				}
			}
			if !reflect.DeepEqual(titles, tc.classes) || !reflect.DeepEqual(tags, tc.tags) {
				t.Errorf("meta classes %v tags %v, want %v %v", titles, tags, tc.classes, tc.tags)
			}
			truth := fixtures.VistasTruth(tc.version)
			for _, it := range items {
				if it.Err != nil {
					t.Fatalf("%s: %v", it.Name, it.Err)
				}
				split, file, _ := strings.Cut(it.Name, "/")
				if it.Image != split+"/images/"+file {
					t.Errorf("%s: image %s", it.Name, it.Image)
				}
				if !reflect.DeepEqual(it.Ann.Tags, []dataset.Tag{{Name: split}}) {
					t.Errorf("%s: tags %v", it.Name, it.Ann.Tags)
				}
				want := importtest.WithoutClasses(truth[it.Name], tc.drop...)
				if split == "testing" {
					if it.Ann.Width != 0 || it.Ann.Height != 0 || len(it.Ann.Objects) != 0 || it.File != "" {
						t.Errorf("%s: unlabelled item has size %dx%d, %d objects, file %q", it.Name, it.Ann.Width, it.Ann.Height, len(it.Ann.Objects), it.File)
					}
					continue
				}
				if wantFile := split + "/v" + tc.version + "/instances/" + strings.TrimSuffix(file, ".jpg") + ".png"; it.File != wantFile {
					t.Errorf("%s: file %s, want %s", it.Name, it.File, wantFile)
				}
				w, h := truth[it.Name][0].Mask.W, truth[it.Name][0].Mask.H
				if it.Ann.Width != w || it.Ann.Height != h {
					t.Errorf("%s: size %dx%d, want %dx%d", it.Name, it.Ann.Width, it.Ann.Height, w, h)
				}
				if got := classCounts(it.Ann.Objects); !reflect.DeepEqual(got, tc.perItem) {
					t.Errorf("%s: classes %v, want %v", it.Name, got, tc.perItem)
				}
				importtest.CheckObjects(t, it.Name, w, h, it.Ann.Objects, want)
			}
		})
	}
}

// TestFixtureValues pins a few values of the fixture so that a change of
// the generator that keeps importer and truth in step is still noticed.
func TestFixtureValues(t *testing.T) {
	_, items := importtest.MustImportDir(t, NewImporter, filepath.Join(fixtureRoot, "v2.0"), dataset.Options{})
	it := items[2] // training/Bq7n...
	if it.Name != "training/"+keyTrain1+".jpg" || it.Ann.Width != 40 || it.Ann.Height != 30 {
		t.Fatalf("item %s %dx%d", it.Name, it.Ann.Width, it.Ann.Height)
	}
	areas, holes := importtest.AreasAndHoles(it.Ann.Objects)
	// individual 0 (with a hole), individual 1, the crowd, the bicyclist.
	if want := []int{100, 67, 42, 104}; !reflect.DeepEqual(areas, want) {
		t.Errorf("areas %v, want %v", areas, want)
	}
	if holes != 1 {
		t.Errorf("%d holes, want 1 (the first person's)", holes)
	}
	if it.Ann.Objects[2].Class != "human--person--person-group" || !reflect.DeepEqual(it.Ann.Objects[2].Tags, []dataset.Tag{{Name: GroupTag}}) {
		t.Errorf("object 2 is %s %v, want the crowd tagged group", it.Ann.Objects[2].Class, it.Ann.Objects[2].Tags)
	}
}

func TestVersions(t *testing.T) {
	// The release archive layout: both configs, both label versions.
	both := t.TempDir()
	importtest.CopyTree(t, filepath.Join(fixtureRoot, "v1.2"), both)
	importtest.CopyTree(t, filepath.Join(fixtureRoot, "v2.0"), both)
	for _, tc := range []struct {
		version, wantClass string
	}{
		{"auto", "human--person--individual"},
		{"2.0", "human--person--individual"},
		{"1.2", "human--person"},
	} {
		_, items := importtest.MustImportDir(t, NewImporter, both, dataset.Options{"version": tc.version})
		it := items[1]
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		if got := classCounts(it.Ann.Objects)[tc.wantClass]; got != 2 {
			t.Errorf("version %s: %d objects of %s, want 2", tc.version, got, tc.wantClass)
		}
	}

	// The 1.0/1.1 layout: config.json and <split>/{labels,instances}.
	old := t.TempDir()
	v12 := filepath.Join(fixtureRoot, "v1.2")
	importtest.CopyTree(t, filepath.Join(v12, "training", "images"), filepath.Join(old, "training", "images"))
	importtest.CopyTree(t, filepath.Join(v12, "training", "v1.2"), filepath.Join(old, "training"))
	cfg, _ := os.ReadFile(filepath.Join(v12, "config_v1.2.json"))
	os.WriteFile(filepath.Join(old, "config.json"), cfg, 0o644)
	_, items := importtest.MustImportDir(t, NewImporter, old, dataset.Options{})
	truth := fixtures.VistasTruth("1.2")
	if got := importtest.Names(items); !reflect.DeepEqual(got, allNames[1:3]) {
		t.Fatalf("1.1 layout: items %v", got)
	}
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		importtest.CheckObjects(t, it.Name, it.Ann.Width, it.Ann.Height, it.Ann.Objects, importtest.WithoutClasses(truth[it.Name], "construction--flat--road", "nature--sky", "void--unlabeled"))
	}
	// An explicit version needs its own config.
	if _, _, _, _, err := importtest.ImportDir(t, NewImporter, old, dataset.Options{"version": "1.2"}); err == nil || !strings.Contains(err.Error(), "config_v1.2.json") {
		t.Errorf("version 1.2 without config_v1.2.json: %v", err)
	}
}

func TestItemErrors(t *testing.T) {
	v20 := filepath.Join(fixtureRoot, "v2.0")
	inst := func(key string) string { return "training/v2.0/instances/" + key + ".png" }
	gray16 := func(w, h int, v uint16) []byte {
		g := image.NewGray16(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			if i%2 == 0 {
				g.Pix[i] = byte(v >> 8)
			} else {
				g.Pix[i] = byte(v)
			}
		}
		return importtest.EncodePNG(t, g)
	}
	for _, tc := range []struct {
		name   string
		edit   func(dir string)
		item   string // the item in error
		file   string // the file it names
		want   string // in the message
		target error  // errors.Is, if set
	}{
		{
			name: "truncated instance map",
			edit: func(dir string) {
				p := filepath.Join(dir, inst(keyTrain0))
				b, _ := os.ReadFile(p)
				os.WriteFile(p, b[:len(b)/2], 0o644)
			},
			item: "training/" + keyTrain0 + ".jpg", file: inst(keyTrain0), want: "instance map",
		},
		{
			name: "huge instance map",
			edit: func(dir string) {
				os.WriteFile(filepath.Join(dir, inst(keyTrain0)), importtest.HugePNG(100000, 100000), 0o644)
			},
			item: "training/" + keyTrain0 + ".jpg", file: inst(keyTrain0), want: "100000x100000", target: dataset.ErrTooLarge,
		},
		{
			name: "size differs from the image",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, inst(keyTrain1)), gray16(40, 31, 1<<8), 0o644) },
			item: "training/" + keyTrain1 + ".jpg", file: inst(keyTrain1), want: "40x31 but the image",
		},
		{
			name: "8-bit instance map",
			edit: func(dir string) {
				os.WriteFile(filepath.Join(dir, inst(keyTrain1)), importtest.EncodePNG(t, image.NewGray(image.Rect(0, 0, 40, 30))), 0o644)
			},
			item: "training/" + keyTrain1 + ".jpg", file: inst(keyTrain1), want: "not a 16-bit grayscale",
		},
		{
			name: "label id outside the config",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, inst(keyTrain1)), gray16(40, 30, 200<<8|3), 0o644) },
			item: "training/" + keyTrain1 + ".jpg", file: inst(keyTrain1), want: "label id 200 is not in the config (6 labels)",
		},
		{
			name: "instance map without image",
			edit: func(dir string) {
				os.WriteFile(filepath.Join(dir, inst("orphan")), gray16(4, 4, 1<<8), 0o644)
			},
			item: "training/orphan.jpg", file: inst("orphan"), want: "has no image",
		},
		{
			name: "image without instance map",
			edit: func(dir string) { os.Remove(filepath.Join(dir, inst(keyTrain1))) },
			item: "training/" + keyTrain1 + ".jpg", file: inst(keyTrain1), want: "no instance map",
		},
		{
			name: "truncated image",
			edit: func(dir string) {
				p := filepath.Join(dir, "training", "images", keyTrain1+".jpg")
				os.WriteFile(p, []byte{0xff, 0xd8, 0xff}, 0o644)
			},
			item: "training/" + keyTrain1 + ".jpg", file: "training/images/" + keyTrain1 + ".jpg", want: "image",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := importtest.EditedCopy(t, v20, tc.edit)
			_, items, _, _, err := importtest.ImportDir(t, NewImporter, dir, dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			importtest.CheckOneItemError(t, items, tc.item, tc.file, tc.want, tc.target)
		})
	}
}

// TestIgnoredFiles checks that hidden files, other files and directories
// beside the images and instance maps are not items.
func TestIgnoredFiles(t *testing.T) {
	dir := t.TempDir()
	importtest.CopyTree(t, filepath.Join(fixtureRoot, "v2.0"), dir)
	importtest.Touch(dir, "training/images/.DS_Store", "training/images/notes.txt", "training/v2.0/instances/.x.png", "training/images/sub/a.jpg", "README/images.txt")
	_, items := importtest.MustImportDir(t, NewImporter, dir, dataset.Options{})
	importtest.CheckItemNames(t, items, allNames)
}

func TestSourceErrors(t *testing.T) {
	v20 := filepath.Join(fixtureRoot, "v2.0")
	for _, tc := range []struct {
		name string
		opt  dataset.Options
		edit func(dir string)
		want string
	}{
		{"missing config", dataset.Options{}, func(dir string) { os.Remove(filepath.Join(dir, "config_v2.0.json")) }, "no config_v2.0.json, config_v1.2.json or config.json"},
		{"missing config of the version", dataset.Options{"version": "1.2"}, func(string) {}, "config_v1.2.json: no such file"},
		{"malformed config", dataset.Options{}, func(dir string) {
			os.WriteFile(filepath.Join(dir, "config_v2.0.json"), []byte(`{"labels": [`), 0o644)
		}, "config_v2.0.json: unexpected end"},
		{"config without labels", dataset.Options{}, func(dir string) {
			os.WriteFile(filepath.Join(dir, "config_v2.0.json"), []byte(`{"labels": []}`), 0o644)
		}, "config_v2.0.json: no labels"},
		{"bad colour", dataset.Options{}, func(dir string) {
			os.WriteFile(filepath.Join(dir, "config_v2.0.json"), []byte(`{"labels": [{"name": "a", "color": [1, 2, 300]}]}`), 0o644)
		}, "config_v2.0.json: label 0 (a): color"},
		{"label without name", dataset.Options{}, func(dir string) {
			os.WriteFile(filepath.Join(dir, "config_v2.0.json"), []byte(`{"labels": [{"color": [1, 2, 3]}]}`), 0o644)
		}, "config_v2.0.json: label 0 has no name"},
		{"no images", dataset.Options{}, func(dir string) {
			for _, s := range []string{"training", "validation", "testing"} {
				os.RemoveAll(filepath.Join(dir, s, "images"))
			}
		}, "no <split>/images directory"},
		{"labels without instances", dataset.Options{}, func(dir string) {
			os.RemoveAll(filepath.Join(dir, "validation", "v2.0", "instances"))
		}, "validation/v2.0/instances: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := importtest.EditedCopy(t, v20, tc.edit)
			_, _, _, _, err := importtest.ImportDir(t, NewImporter, dir, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []dataset.Options{
		{"version": "3.0"},
		{"stuff": "yes"},
		{"void": ""},
		{"colour": "x"},
	} {
		if _, err := NewImporter(opt); err == nil {
			t.Errorf("options %v accepted", opt)
		}
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	_, src := importtest.StoreDir(t, filepath.Join(fixtureRoot, "v2.0"))
	imp, _ := NewImporter(dataset.Options{})
	importtest.CheckEmitErrorAndCancel(t, imp, src, 2)
}

// TestRoundTrip imports the fixture, builds a dataset artifact from it,
// opens it again and checks that every annotation comes back the same:
// the same canonical bytes and pixel-exact masks.
func TestRoundTrip(t *testing.T) {
	for _, v := range []string{"1.2", "2.0"} {
		t.Run(v, func(t *testing.T) {
			meta, items, store, src, err := importtest.ImportDir(t, NewImporter, filepath.Join(fixtureRoot, "v"+v), dataset.Options{"stuff": "keep"})
			if err != nil {
				t.Fatal(err)
			}
			importtest.RoundTrip(t, store, src, meta, items, func(name string, want, back *dataset.Annotation) {
				// Compare masks, in canonical order on both sides.
				if len(back.Objects) != len(want.Objects) {
					t.Fatalf("%s: %d objects back, want %d", name, len(back.Objects), len(want.Objects))
				}
				a, bk := rasters(t, want), rasters(t, back)
				for j := range a {
					if dataset.IoU(a[j], bk[j]) != 1 {
						t.Errorf("%s: object %d: IoU %v", name, j, dataset.IoU(a[j], bk[j]))
					}
				}
			})
		})
	}
}

// rasters returns the objects' full-image masks, sorted by class and
// first set pixel.
func rasters(t *testing.T, a *dataset.Annotation) []*dataset.Mask {
	type om struct {
		class string
		first int
		m     *dataset.Mask
	}
	var out []om
	for _, o := range a.Objects {
		m, err := o.Raster(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		first := bytes.IndexByte(m.Bits, 1)
		out = append(out, om{o.Class, first, m})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].class != out[j].class {
			return out[i].class < out[j].class
		}
		return out[i].first < out[j].first
	})
	ms := make([]*dataset.Mask, len(out))
	for i := range out {
		ms[i] = out[i].m
	}
	return ms
}

// TestRegions checks the grouping on a hand-made map: value 0 is a real
// label, instance ids may have gaps, and crowd and stuff labels give one
// object per label.
func TestRegions(t *testing.T) {
	cfg := &config{labels: []label{
		{name: "road", kind: kindStuff},
		{name: "person", kind: kindInstance},
		{name: "person-group", kind: kindCrowd},
		{name: "void--unlabeled", kind: kindVoid},
	}}
	imp := &importer{stuff: true}
	cfg.lut = imp.lut(cfg.labels)
	rows := [][]uint16{
		{0, 0, 1<<8 | 7, 1<<8 | 7},
		{0, 2 << 8, 2 << 8, 1<<8 | 7},
		{3 << 8, 1 << 8, 0<<8 | 5, 3 << 8},
	}
	g := image.NewGray16(image.Rect(0, 0, 4, 3))
	for y, r := range rows {
		for x, v := range r {
			g.SetGray16(x, y, color.Gray16{v})
		}
	}
	objs, err := cfg.objects(g)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		class  string
		origin image.Point
		w, h   int
		area   int
	}
	var gs []got
	for _, o := range objs {
		gs = append(gs, got{o.Class, o.Origin, o.Mask.W, o.Mask.H, o.Mask.Area()})
	}
	want := []got{
		{"road", image.Pt(0, 0), 3, 3, 4}, // values 0 and 0<<8|5 merge
		{"person", image.Pt(1, 2), 1, 1, 1},
		{"person", image.Pt(2, 0), 2, 2, 3},
		{"person-group", image.Pt(1, 1), 2, 1, 2},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("objects %+v, want %+v", gs, want)
	}
	if !reflect.DeepEqual(objs[3].Tags, []dataset.Tag{{Name: GroupTag}}) || objs[1].Tags != nil {
		t.Errorf("tags %v %v", objs[3].Tags, objs[1].Tags)
	}
}

// FuzzInstances decodes arbitrary bytes as an instance map and groups it;
// it must never panic, and with every label kept the objects must cover
// every pixel exactly once.
func FuzzInstances(f *testing.F) {
	for _, v := range []string{"v1.2/training/v1.2", "v2.0/validation/v2.0"} {
		ents, _ := os.ReadDir(filepath.Join(fixtureRoot, v, "instances"))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(fixtureRoot, v, "instances", e.Name()))
			if err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(importtest.HugePNG(100000, 100000))
	f.Add(importtest.HugePNG(3, 2))
	cfg := &config{}
	for i := 0; i < 256; i++ {
		cfg.labels = append(cfg.labels, label{name: "l", kind: []int{kindInstance, kindCrowd, kindStuff, kindVoid}[i%4]})
	}
	cfg.lut = (&importer{stuff: true, void: true}).lut(cfg.labels)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := maps.Decode(data)
		if err != nil {
			return
		}
		objs, err := cfg.objects(g)
		if err != nil {
			t.Fatal(err)
		}
		importtest.CheckPartition(t, g.Rect.Dx(), g.Rect.Dy(), objs)
	})
}
