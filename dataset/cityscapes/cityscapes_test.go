package cityscapes

import (
	"bytes"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

const fixtureRoot = "../../testdata/fixtures/cityscapes"

var allNames = []string{
	"test/berlin_000000_000019_leftImg8bit.png",
	"train/aachen_000000_000019_leftImg8bit.png",
	"train/bochum_000000_000313_leftImg8bit.png",
	"val/frankfurt_000000_000294_leftImg8bit.png",
	"val/frankfurt_000001_007973_leftImg8bit.png",
}

var cities = map[string]string{
	allNames[0]: "berlin", allNames[1]: "aachen", allNames[2]: "bochum", allNames[3]: "frankfurt", allNames[4]: "frankfurt",
}

func TestImportFixtures(t *testing.T) {
	stuff := []string{"road", "sky"}
	void := []string{"unlabeled", "ego vehicle"}
	instClasses := []string{"bicycle", "bus", "car", "caravan", "motorcycle", "person", "rider", "trailer", "train", "truck"}
	for _, tc := range []struct {
		name       string
		opt        dataset.Options
		drop       []string
		nClasses   int
		perItem    map[string]int // class counts of aachen
		perItemCar map[string]int // of bochum
	}{
		{
			name: "default", opt: dataset.Options{}, drop: append(append([]string{}, stuff...), void...), nClasses: 10,
			perItem:    map[string]int{"person": 2, "person group": 1, "rider": 1},
			perItemCar: map[string]int{"person": 2, "person group": 1, "rider": 1, "car": 1},
		},
		{
			name: "keep stuff", opt: dataset.Options{"stuff": "keep"}, drop: void, nClasses: 27,
			perItem:    map[string]int{"person": 2, "person group": 1, "rider": 1, "road": 1, "sky": 1},
			perItemCar: map[string]int{"person": 2, "person group": 1, "rider": 1, "car": 1, "road": 1, "sky": 1},
		},
		{
			name: "keep all", opt: dataset.Options{"stuff": "keep", "void": "keep"}, nClasses: 34,
			perItem:    map[string]int{"person": 2, "person group": 1, "rider": 1, "road": 1, "sky": 1, "unlabeled": 1, "ego vehicle": 1},
			perItemCar: map[string]int{"person": 2, "person group": 1, "rider": 1, "car": 1, "road": 1, "sky": 1, "unlabeled": 1, "ego vehicle": 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta, items := importtest.MustImportDir(t, NewImporter, fixtureRoot, tc.opt)
			if got := importtest.Names(items); !reflect.DeepEqual(got, allNames) {
				t.Fatalf("items %v, want %v", got, allNames)
			}
			if len(meta.Classes) != tc.nClasses {
				t.Errorf("%d classes, want %d", len(meta.Classes), tc.nClasses)
			}
			for _, c := range instClasses {
				if meta.Class(c) == nil || meta.Class(c).Shape != dataset.ShapeBitmap {
					t.Errorf("meta has no bitmap class %s", c)
				}
			}
			if c := meta.Class("person"); c == nil || c.Color != "#DC143C" {
				t.Errorf("person class %+v", c)
			}
			var tags []string
			for _, tm := range meta.Tags {
				tags = append(tags, tm.Name+":"+tm.ValueType)
			}
			if want := []string{"city:any_string", "group:none", "test:none", "train:none", "val:none"}; !reflect.DeepEqual(tags, want) {
				t.Errorf("meta tags %v, want %v", tags, want)
			}
			truth := fixtures.CityscapesTruth()
			for _, it := range items {
				if it.Err != nil {
					t.Fatalf("%s: %v", it.Name, it.Err)
				}
				split, file, _ := strings.Cut(it.Name, "/")
				city := cities[it.Name]
				if want := "leftImg8bit/" + split + "/" + city + "/" + file; it.Image != want {
					t.Errorf("%s: image %s, want %s", it.Name, it.Image, want)
				}
				if want := []dataset.Tag{{Name: "city", Value: city}, {Name: split}}; !reflect.DeepEqual(it.Ann.Tags, want) {
					t.Errorf("%s: tags %v, want %v", it.Name, it.Ann.Tags, want)
				}
				if split == "test" {
					if it.Ann.Width != 0 || len(it.Ann.Objects) != 0 || it.File != "" {
						t.Errorf("%s: unlabelled item has width %d, %d objects, file %q", it.Name, it.Ann.Width, len(it.Ann.Objects), it.File)
					}
					continue
				}
				if want := "gtFine/" + split + "/" + city + "/" + strings.TrimSuffix(file, "_leftImg8bit.png") + "_gtFine_instanceIds.png"; it.File != want {
					t.Errorf("%s: file %s, want %s", it.Name, it.File, want)
				}
				w, h := truth[it.Name][0].Mask.W, truth[it.Name][0].Mask.H
				if it.Ann.Width != w || it.Ann.Height != h {
					t.Errorf("%s: size %dx%d, want %dx%d", it.Name, it.Ann.Width, it.Ann.Height, w, h)
				}
				want := tc.perItem
				if city == "bochum" {
					want = tc.perItemCar
				}
				if got := importtest.ClassCounts(it.Ann.Objects); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: objects %v, want %v", it.Name, got, want)
				}
				importtest.CheckObjects(t, it.Name, w, h, it.Ann.Objects, importtest.WithoutClasses(truth[it.Name], tc.drop...))
			}
		})
	}
}

// TestFixtureValues pins values of the fixture: areas, the hole, the group.
func TestFixtureValues(t *testing.T) {
	_, items := importtest.MustImportDir(t, NewImporter, fixtureRoot, dataset.Options{})
	it := items[3] // val/frankfurt_000000_000294
	if it.Name != allNames[3] || it.Ann.Width != 64 || it.Ann.Height != 32 {
		t.Fatalf("item %s %dx%d", it.Name, it.Ann.Width, it.Ann.Height)
	}
	areas, holes := importtest.AreasAndHoles(it.Ann.Objects)
	// persongroup (value 24), person 24000 (with a hole), person 24001, rider 25000.
	if want := []int{54, 86, 138, 94}; !reflect.DeepEqual(areas, want) {
		t.Errorf("areas %v, want %v", areas, want)
	}
	if holes != 1 {
		t.Errorf("%d holes, want 1", holes)
	}
	g := it.Ann.Objects[0]
	if g.Class != "person" || !reflect.DeepEqual(g.Tags, []dataset.Tag{{Name: GroupTag}}) || g.Origin != image.Pt(1, 8) {
		t.Errorf("group object %s %v at %v", g.Class, g.Tags, g.Origin)
	}
}

func gray16(t *testing.T, w, h int, v uint16) []byte {
	g := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetGray16(x, y, color.Gray16{v})
		}
	}
	return importtest.EncodePNG(t, g)
}

func TestItemErrors(t *testing.T) {
	const (
		aachen     = "train/aachen_000000_000019_leftImg8bit.png"
		aachenInst = "gtFine/train/aachen/aachen_000000_000019_gtFine_instanceIds.png"
		aachenImg  = "leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png"
	)
	for _, tc := range []struct {
		name   string
		edit   func(dir string)
		item   string
		file   string
		want   string
		target error
	}{
		{
			name: "truncated instanceIds map",
			edit: func(dir string) {
				p := filepath.Join(dir, aachenInst)
				b, _ := os.ReadFile(p)
				os.WriteFile(p, b[:len(b)-20], 0o644)
			},
			item: aachen, file: aachenInst, want: "instanceIds map",
		},
		{
			name: "huge instanceIds map",
			edit: func(dir string) {
				os.WriteFile(filepath.Join(dir, aachenInst), importtest.HugePNG(100000, 100000), 0o644)
			},
			item: aachen, file: aachenInst, want: "100000x100000", target: dataset.ErrTooLarge,
		},
		{
			name: "size differs from the image",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenInst), gray16(t, 32, 16, 24000), 0o644) },
			item: aachen, file: aachenInst, want: "is 32x16 but the image " + aachenImg + " is 64x32",
		},
		{
			name: "RGB map",
			edit: func(dir string) {
				os.WriteFile(filepath.Join(dir, aachenInst), importtest.EncodePNG(t, image.NewRGBA(image.Rect(0, 0, 64, 32))), 0o644)
			},
			item: aachen, file: aachenInst, want: "not a 16-bit or 8-bit grayscale",
		},
		{
			name: "4-bit map",
			edit: func(dir string) {
				p := importtest.NewPNG()
				p.Chunk("IHDR", importtest.GrayIHDR(64, 32, 4))
				p.Chunk("IEND", nil)
				os.WriteFile(filepath.Join(dir, aachenInst), p.Bytes(), 0o644)
			},
			item: aachen, file: aachenInst, want: "not a 16-bit or 8-bit grayscale",
		},
		{
			name: "8-bit map with a value of no class",
			edit: func(dir string) {
				g := image.NewGray(image.Rect(0, 0, 64, 32))
				g.Pix[3] = 200
				os.WriteFile(filepath.Join(dir, aachenInst), importtest.EncodePNG(t, g), 0o644)
			},
			item: aachen, file: aachenInst, want: "pixel (3, 0) has value 200, which is no Cityscapes class",
		},
		{
			name: "unknown class id",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenInst), gray16(t, 64, 32, 40), 0o644) },
			item: aachen, file: aachenInst, want: "pixel (0, 0) has value 40, which is no Cityscapes class",
		},
		{
			name: "instance of a class without instances",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenInst), gray16(t, 64, 32, 7003), 0o644) },
			item: aachen, file: aachenInst, want: "class 7 (road) has no instances",
		},
		{
			name: "instance of no class",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenInst), gray16(t, 64, 32, 60001), 0o644) },
			item: aachen, file: aachenInst, want: "value 60001, which is no Cityscapes class",
		},
		{
			name: "map without image",
			edit: func(dir string) { os.Remove(filepath.Join(dir, aachenImg)) },
			item: aachen, file: aachenInst, want: "has no image " + aachenImg,
		},
		{
			name: "map of a city without images",
			edit: func(dir string) {
				p := filepath.Join(dir, "gtFine/val/lindau/lindau_000000_000019_gtFine_instanceIds.png")
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, gray16(t, 4, 4, 24000), 0o644)
			},
			item: "val/lindau_000000_000019_leftImg8bit.png", file: "gtFine/val/lindau/lindau_000000_000019_gtFine_instanceIds.png", want: "has no image",
		},
		{
			name: "image without map",
			edit: func(dir string) { os.Remove(filepath.Join(dir, aachenInst)) },
			item: aachen, file: aachenInst, want: "no instanceIds map",
		},
		{
			name: "truncated image",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenImg), []byte("\x89PNG\r\n"), 0o644) },
			item: aachen, file: aachenImg, want: "image",
		},
		{
			name: "same file name in two cities",
			edit: func(dir string) {
				p := filepath.Join(dir, "leftImg8bit/train/zurich/aachen_000000_000019_leftImg8bit.png")
				os.MkdirAll(filepath.Dir(p), 0o755)
				b, _ := os.ReadFile(filepath.Join(dir, aachenImg))
				os.WriteFile(p, b, 0o644)
			},
			item: aachen, file: "leftImg8bit/train/zurich/aachen_000000_000019_leftImg8bit.png", want: "same name is in city aachen",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := importtest.EditedCopy(t, fixtureRoot, tc.edit)
			_, items, _, _, err := importtest.ImportDir(t, NewImporter, dir, dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			importtest.CheckOneItemError(t, items, tc.item, tc.file, tc.want, tc.target)
		})
	}
}

func TestSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"no leftImg8bit", func(dir string) { os.RemoveAll(filepath.Join(dir, "leftImg8bit")) }, "leftImg8bit: no such directory"},
		{"no gtFine", func(dir string) { os.RemoveAll(filepath.Join(dir, "gtFine")) }, "gtFine: no such directory"},
		{"no splits", func(dir string) {
			for _, s := range []string{"train", "val", "test"} {
				os.RemoveAll(filepath.Join(dir, "leftImg8bit", s))
				os.RemoveAll(filepath.Join(dir, "gtFine", s))
			}
			os.WriteFile(filepath.Join(dir, "leftImg8bit", "README"), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(dir, "gtFine", "README"), []byte("x"), 0o644)
		}, "leftImg8bit has no split directories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := importtest.EditedCopy(t, fixtureRoot, tc.edit)
			_, _, _, _, err := importtest.ImportDir(t, NewImporter, dir, dataset.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestIgnoredFiles(t *testing.T) {
	dir := t.TempDir()
	importtest.CopyTree(t, fixtureRoot, dir)
	importtest.Touch(dir,
		"leftImg8bit/train/.DS_Store", "leftImg8bit/train/aachen/.x_leftImg8bit.png", "leftImg8bit/train/aachen/notes.txt",
		"gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json", "gtFine/train/aachen/aachen_000000_000019_gtFine_color.png",
		"leftImg8bit/.hidden/x/y_leftImg8bit.png", "README",
	)
	_, items := importtest.MustImportDir(t, NewImporter, dir, dataset.Options{})
	importtest.CheckItemNames(t, items, allNames)
}

func TestOptions(t *testing.T) {
	for _, opt := range []dataset.Options{{"stuff": "yes"}, {"void": "KEEP"}, {"version": "1"}} {
		if _, err := NewImporter(opt); err == nil {
			t.Errorf("options %v accepted", opt)
		}
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	_, src := importtest.StoreDir(t, fixtureRoot)
	imp, _ := NewImporter(dataset.Options{})
	importtest.CheckEmitErrorAndCancel(t, imp, src, 3)
}

// TestRoundTrip: import → dataset.Builder → dataset.Open → ds.Annotation
// gives the same canonical annotations and pixel-exact masks.
func TestRoundTrip(t *testing.T) {
	meta, items, store, src, err := importtest.ImportDir(t, NewImporter, fixtureRoot, dataset.Options{"stuff": "keep", "void": "keep"})
	if err != nil {
		t.Fatal(err)
	}
	importtest.RoundTrip(t, store, src, meta, items, func(name string, want, back *dataset.Annotation) {
		if !reflect.DeepEqual(back.Tags, want.Tags) {
			t.Errorf("%s: tags %v back, want %v", name, back.Tags, want.Tags)
		}
		a, bk := rasters(t, want), rasters(t, back)
		if len(a) != len(bk) {
			t.Fatalf("%s: %d objects back, want %d", name, len(bk), len(a))
		}
		for j := range a {
			if a[j].key != bk[j].key || dataset.IoU(a[j].m, bk[j].m) != 1 {
				t.Errorf("%s: object %d: %s / %s, IoU %v", name, j, a[j].key, bk[j].key, dataset.IoU(a[j].m, bk[j].m))
			}
		}
	})
}

type keyed struct {
	key   string
	first int
	m     *dataset.Mask
}

// rasters returns the objects' full-image masks keyed by class and tags,
// sorted by key and first set pixel.
func rasters(t *testing.T, a *dataset.Annotation) []keyed {
	var out []keyed
	for _, o := range a.Objects {
		m, err := o.Raster(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		k := o.Class
		for _, tg := range o.Tags {
			k += "/" + tg.Name
		}
		out = append(out, keyed{k, bytes.IndexByte(m.Bits, 1), m})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key != out[j].key {
			return out[i].key < out[j].key
		}
		return out[i].first < out[j].first
	})
	return out
}

// TestObjects checks the value decoding on a hand-made map.
func TestObjects(t *testing.T) {
	imp, _ := NewImporter(dataset.Options{"stuff": "keep"})
	rows := [][]uint16{
		{0, 7, 7, 24000},
		{25, 25, 33007, 24000},
		{26, 1, 24002, 24},
	}
	g := image.NewGray16(image.Rect(0, 0, 4, 3))
	for y, r := range rows {
		for x, v := range r {
			g.SetGray16(x, y, color.Gray16{v})
		}
	}
	objs, err := imp.(*importer).objects(g)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		s := o.Class
		if len(o.Tags) > 0 {
			s += " group"
		}
		got = append(got, s+" "+o.Origin.String()+" "+strconv.Itoa(o.Mask.Area()))
	}
	want := []string{
		"road (1,0) 2",
		"person group (3,2) 1",
		"rider group (0,1) 2",
		"car group (0,2) 1",
		"person (3,0) 2",
		"person (2,2) 1",
		"bicycle (2,1) 1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("objects\n%v\nwant\n%v", got, want)
	}
}

// FuzzInstances decodes arbitrary bytes as an instanceIds map and reads
// its objects; it must never panic, and with stuff and void kept, every
// pixel of a map without errors is in exactly one object.
func FuzzInstances(f *testing.F) {
	filepath.WalkDir(filepath.Join(fixtureRoot, "gtFine"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, "_instanceIds.png") {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add(importtest.HugePNG(100000, 100000))
	f.Add(importtest.HugePNG(2, 2))
	imp, _ := NewImporter(dataset.Options{"stuff": "keep", "void": "keep"})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := maps.Decode(data)
		if err != nil {
			return
		}
		objs, err := imp.(*importer).objects(g)
		if err != nil {
			return // a value that is no class
		}
		importtest.CheckPartition(t, g.Rect.Dx(), g.Rect.Dy(), objs)
	})
}
