package mapillary

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
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

// importDir stores dir and imports it with opt.
func importDir(t *testing.T, dir string, opt dataset.Options) (*dataset.Meta, []*dataset.SourceItem, *cache.Store, dataset.Source, error) {
	t.Helper()
	ctx := context.Background()
	store, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := store.PutDir(ctx, dir, cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := NewImporter(opt)
	if err != nil {
		t.Fatal(err)
	}
	src := store.TreeFS(d)
	var items []*dataset.SourceItem
	meta, err := imp.Import(ctx, src, func(it *dataset.SourceItem) error {
		items = append(items, it)
		return nil
	})
	return meta, items, store, src, err
}

func mustImport(t *testing.T, dir string, opt dataset.Options) (*dataset.Meta, []*dataset.SourceItem) {
	t.Helper()
	meta, items, _, _, err := importDir(t, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return meta, items
}

func names(items []*dataset.SourceItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func classCounts(objs []dataset.Object) map[string]int {
	c := map[string]int{}
	for _, o := range objs {
		c[o.Class]++
	}
	return c
}

// checkObjects asserts that objs are exactly want (class, tags, and
// pixel-exact masks), in order.
func checkObjects(t *testing.T, item string, w, h int, objs, want []dataset.Object) {
	t.Helper()
	if len(objs) != len(want) {
		t.Fatalf("%s: %d objects %v, want %d %v", item, len(objs), classCounts(objs), len(want), classCounts(want))
	}
	for i := range want {
		o, wo := objs[i], want[i]
		if o.Class != wo.Class || o.Shape != dataset.ShapeBitmap || !reflect.DeepEqual(o.Tags, wo.Tags) {
			t.Errorf("%s: object %d is %s %s %v, want %s bitmap %v", item, i, o.Class, o.Shape, o.Tags, wo.Class, wo.Tags)
			continue
		}
		got, err := o.Raster(w, h)
		if err != nil {
			t.Fatal(err)
		}
		wm, _ := wo.Raster(w, h)
		if iou := dataset.IoU(got, wm); iou != 1 || !got.Equal(wm) {
			t.Errorf("%s: object %d (%s): IoU %v with the drawn mask, want 1", item, i, o.Class, iou)
		}
		// Bitmaps are cropped to their tight box.
		if x0, y0, x1, y1, ok := o.Mask.BBox(); !ok || x0 != 0 || y0 != 0 || x1 != o.Mask.W || y1 != o.Mask.H {
			t.Errorf("%s: object %d mask is not cropped to its box", item, i)
		}
	}
}

func keepClasses(objs []dataset.Object, drop ...string) []dataset.Object {
	var out []dataset.Object
	for _, o := range objs {
		if !slices.Contains(drop, o.Class) {
			out = append(out, o)
		}
	}
	return out
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
			meta, items := mustImport(t, filepath.Join(fixtureRoot, "v"+tc.version), tc.opt)
			if got := names(items); !reflect.DeepEqual(got, allNames) {
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
				want := keepClasses(truth[it.Name], tc.drop...)
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
				checkObjects(t, it.Name, w, h, it.Ann.Objects, want)
			}
		})
	}
}

// TestFixtureValues pins a few values of the fixture so that a change of
// the generator that keeps importer and truth in step is still noticed.
func TestFixtureValues(t *testing.T) {
	_, items := mustImport(t, filepath.Join(fixtureRoot, "v2.0"), dataset.Options{})
	it := items[2] // training/Bq7n...
	if it.Name != "training/"+keyTrain1+".jpg" || it.Ann.Width != 40 || it.Ann.Height != 30 {
		t.Fatalf("item %s %dx%d", it.Name, it.Ann.Width, it.Ann.Height)
	}
	var areas []int
	holes := 0
	for _, o := range it.Ann.Objects {
		areas = append(areas, o.Mask.Area())
		for _, c := range o.Mask.Contours() {
			holes += len(c.Holes)
		}
	}
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

// copyTree copies the directory src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVersions(t *testing.T) {
	// The release archive layout: both configs, both label versions.
	both := t.TempDir()
	copyTree(t, filepath.Join(fixtureRoot, "v1.2"), both)
	copyTree(t, filepath.Join(fixtureRoot, "v2.0"), both)
	for _, tc := range []struct {
		version, wantClass string
	}{
		{"auto", "human--person--individual"},
		{"2.0", "human--person--individual"},
		{"1.2", "human--person"},
	} {
		_, items := mustImport(t, both, dataset.Options{"version": tc.version})
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
	copyTree(t, filepath.Join(v12, "training", "images"), filepath.Join(old, "training", "images"))
	copyTree(t, filepath.Join(v12, "training", "v1.2"), filepath.Join(old, "training"))
	cfg, _ := os.ReadFile(filepath.Join(v12, "config_v1.2.json"))
	os.WriteFile(filepath.Join(old, "config.json"), cfg, 0o644)
	_, items := mustImport(t, old, dataset.Options{})
	truth := fixtures.VistasTruth("1.2")
	if got := names(items); !reflect.DeepEqual(got, allNames[1:3]) {
		t.Fatalf("1.1 layout: items %v", got)
	}
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		checkObjects(t, it.Name, it.Ann.Width, it.Ann.Height, it.Ann.Objects, keepClasses(truth[it.Name], "construction--flat--road", "nature--sky", "void--unlabeled"))
	}
	// An explicit version needs its own config.
	if _, _, _, _, err := importDir(t, old, dataset.Options{"version": "1.2"}); err == nil || !strings.Contains(err.Error(), "config_v1.2.json") {
		t.Errorf("version 1.2 without config_v1.2.json: %v", err)
	}
}

// pngBytes encodes img.
func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a PNG header that claims w×h 16-bit gray pixels, with no
// pixel data.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 0
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
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
		return pngBytes(t, g)
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
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, inst(keyTrain0)), hugePNG(100000, 100000), 0o644) },
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
				os.WriteFile(filepath.Join(dir, inst(keyTrain1)), pngBytes(t, image.NewGray(image.Rect(0, 0, 40, 30))), 0o644)
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
			dir := t.TempDir()
			copyTree(t, v20, dir)
			tc.edit(dir)
			_, items, _, _, err := importDir(t, dir, dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for _, it := range items {
				if it.Err == nil {
					continue
				}
				bad++
				var ie *dataset.ItemError
				if !errors.As(it.Err, &ie) {
					t.Fatalf("%s: error %v is not an ItemError", it.Name, it.Err)
				}
				if it.Name != tc.item || ie.Item != tc.item || ie.File != tc.file {
					t.Errorf("error names item %q (%q) and file %q, want %q and %q: %v", ie.Item, it.Name, ie.File, tc.item, tc.file, it.Err)
				}
				msg := it.Err.Error()
				if !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.file) || !strings.Contains(msg, tc.item) {
					t.Errorf("error %q does not say %q and name the file and item", msg, tc.want)
				}
				if tc.target != nil && !errors.Is(it.Err, tc.target) {
					t.Errorf("error %v is not %v", it.Err, tc.target)
				}
			}
			if bad != 1 {
				t.Errorf("%d items in error, want 1", bad)
			}
		})
	}
}

// TestIgnoredFiles checks that hidden files, other files and directories
// beside the images and instance maps are not items.
func TestIgnoredFiles(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, filepath.Join(fixtureRoot, "v2.0"), dir)
	for _, p := range []string{"training/images/.DS_Store", "training/images/notes.txt", "training/v2.0/instances/.x.png", "training/images/sub/a.jpg", "README/images.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	_, items := mustImport(t, dir, dataset.Options{})
	if got := names(items); !reflect.DeepEqual(got, allNames) {
		t.Fatalf("items %v, want %v", got, allNames)
	}
	for _, it := range items {
		if it.Err != nil {
			t.Error(it.Err)
		}
	}
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
			dir := t.TempDir()
			copyTree(t, v20, dir)
			tc.edit(dir)
			_, _, _, _, err := importDir(t, dir, tc.opt)
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
	ctx := context.Background()
	store, _ := cache.Open(t.TempDir(), t.Logf)
	d, _, err := store.PutDir(ctx, filepath.Join(fixtureRoot, "v2.0"), cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imp, _ := NewImporter(dataset.Options{})
	stop := errors.New("stop")
	n := 0
	_, err = imp.Import(ctx, store.TreeFS(d), func(*dataset.SourceItem) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("emit error: Import returned %v after %d items", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = imp.Import(cctx, store.TreeFS(d), func(*dataset.SourceItem) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestRoundTrip imports the fixture, builds a dataset artifact from it,
// opens it again and checks that every annotation comes back the same:
// the same canonical bytes and pixel-exact masks.
func TestRoundTrip(t *testing.T) {
	for _, v := range []string{"1.2", "2.0"} {
		t.Run(v, func(t *testing.T) {
			meta, items, store, src, err := importDir(t, filepath.Join(fixtureRoot, "v"+v), dataset.Options{"stuff": "keep"})
			if err != nil {
				t.Fatal(err)
			}
			b := dataset.NewBuilder(store)
			for _, it := range items {
				if it.Err != nil {
					t.Fatal(it.Err)
				}
				if it.Ann.Width == 0 {
					// Unlabelled: the import step takes the size from the image.
					raw, _ := fs.ReadFile(src, it.Image)
					c, _, err := image.DecodeConfig(bytes.NewReader(raw))
					if err != nil {
						t.Fatal(err)
					}
					it.Ann.Width, it.Ann.Height = c.Width, c.Height
				}
				dg, size, err := src.Digest(it.Image)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := b.Add(it.Name, dg, size, it.Ann); err != nil {
					t.Fatal(err)
				}
			}
			built, err := b.Finish(meta)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := dataset.Open(store, built.Tree)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dataset.EncodeMeta(ds.Meta), dataset.EncodeMeta(meta)) {
				t.Errorf("meta differs after the round trip")
			}
			if len(ds.Entries) != len(items) {
				t.Fatalf("%d entries, want %d", len(ds.Entries), len(items))
			}
			for i, e := range ds.Entries {
				it := items[i]
				back, err := ds.Annotation(store, e)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := dataset.EncodeAnnotation(it.Ann)
				got, _ := dataset.EncodeAnnotation(back)
				if e.Name != it.Name || !bytes.Equal(got, want) {
					t.Errorf("%s: annotation differs after the round trip", e.Name)
				}
				// Compare masks, in canonical order on both sides.
				if len(back.Objects) != len(it.Ann.Objects) {
					t.Fatalf("%s: %d objects back, want %d", e.Name, len(back.Objects), len(it.Ann.Objects))
				}
				a, bk := rasters(t, it.Ann), rasters(t, back)
				for j := range a {
					if dataset.IoU(a[j], bk[j]) != 1 {
						t.Errorf("%s: object %d: IoU %v", e.Name, j, dataset.IoU(a[j], bk[j]))
					}
				}
			}
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
	f.Add(hugePNG(100000, 100000))
	f.Add(hugePNG(3, 2))
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
		w, h := g.Rect.Dx(), g.Rect.Dy()
		cover := make([]int, w*h)
		for _, o := range objs {
			for y := 0; y < o.Mask.H; y++ {
				for x := 0; x < o.Mask.W; x++ {
					if o.Mask.At(x, y) {
						cover[(o.Origin.Y+y)*w+o.Origin.X+x]++
					}
				}
			}
		}
		for i, c := range cover {
			if c != 1 {
				t.Fatalf("pixel %d is covered %d times", i, c)
			}
		}
	})
}
