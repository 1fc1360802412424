package cityscapes

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
	"strconv"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
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

// counts returns the objects per class, group regions counted as
// "<class> group".
func counts(objs []dataset.Object) map[string]int {
	c := map[string]int{}
	for _, o := range objs {
		k := o.Class
		if len(o.Tags) > 0 {
			k += " " + o.Tags[0].Name
		}
		c[k]++
	}
	return c
}

func checkObjects(t *testing.T, item string, w, h int, objs, want []dataset.Object) {
	t.Helper()
	if len(objs) != len(want) {
		t.Fatalf("%s: %d objects %v, want %d %v", item, len(objs), counts(objs), len(want), counts(want))
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
		if x0, y0, x1, y1, ok := o.Mask.BBox(); !ok || x0 != 0 || y0 != 0 || x1 != o.Mask.W || y1 != o.Mask.H {
			t.Errorf("%s: object %d mask is not cropped to its box", item, i)
		}
	}
}

func without(objs []dataset.Object, drop ...string) []dataset.Object {
	var out []dataset.Object
	for _, o := range objs {
		if !slices.Contains(drop, o.Class) {
			out = append(out, o)
		}
	}
	return out
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
			meta, items := mustImport(t, fixtureRoot, tc.opt)
			if got := names(items); !reflect.DeepEqual(got, allNames) {
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
				if got := counts(it.Ann.Objects); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: objects %v, want %v", it.Name, got, want)
				}
				checkObjects(t, it.Name, w, h, it.Ann.Objects, without(truth[it.Name], tc.drop...))
			}
		})
	}
}

// TestFixtureValues pins values of the fixture: areas, the hole, the group.
func TestFixtureValues(t *testing.T) {
	_, items := mustImport(t, fixtureRoot, dataset.Options{})
	it := items[3] // val/frankfurt_000000_000294
	if it.Name != allNames[3] || it.Ann.Width != 64 || it.Ann.Height != 32 {
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

func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a PNG header that claims w×h 16-bit gray pixels.
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

func gray16(t *testing.T, w, h int, v uint16) []byte {
	g := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetGray16(x, y, color.Gray16{v})
		}
	}
	return pngBytes(t, g)
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
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenInst), hugePNG(100000, 100000), 0o644) },
			item: aachen, file: aachenInst, want: "100000x100000", target: dataset.ErrTooLarge,
		},
		{
			name: "size differs from the image",
			edit: func(dir string) { os.WriteFile(filepath.Join(dir, aachenInst), gray16(t, 32, 16, 24000), 0o644) },
			item: aachen, file: aachenInst, want: "is 32x16 but the image " + aachenImg + " is 64x32",
		},
		{
			name: "8-bit map",
			edit: func(dir string) {
				os.WriteFile(filepath.Join(dir, aachenInst), pngBytes(t, image.NewGray(image.Rect(0, 0, 64, 32))), 0o644)
			},
			item: aachen, file: aachenInst, want: "not a 16-bit grayscale",
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
			dir := t.TempDir()
			copyTree(t, fixtureRoot, dir)
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
			dir := t.TempDir()
			copyTree(t, fixtureRoot, dir)
			tc.edit(dir)
			_, _, _, _, err := importDir(t, dir, dataset.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestIgnoredFiles(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, fixtureRoot, dir)
	for _, p := range []string{
		"leftImg8bit/train/.DS_Store", "leftImg8bit/train/aachen/.x_leftImg8bit.png", "leftImg8bit/train/aachen/notes.txt",
		"gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json", "gtFine/train/aachen/aachen_000000_000019_gtFine_color.png",
		"leftImg8bit/.hidden/x/y_leftImg8bit.png", "README",
	} {
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

func TestOptions(t *testing.T) {
	for _, opt := range []dataset.Options{{"stuff": "yes"}, {"void": "KEEP"}, {"version": "1"}} {
		if _, err := NewImporter(opt); err == nil {
			t.Errorf("options %v accepted", opt)
		}
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	ctx := context.Background()
	store, _ := cache.Open(t.TempDir(), t.Logf)
	d, _, err := store.PutDir(ctx, fixtureRoot, cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imp, _ := NewImporter(dataset.Options{})
	stop := errors.New("stop")
	n := 0
	_, err = imp.Import(ctx, store.TreeFS(d), func(*dataset.SourceItem) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("emit error: Import returned %v after %d items", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = imp.Import(cctx, store.TreeFS(d), func(*dataset.SourceItem) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestRoundTrip: import → dataset.Builder → dataset.Open → ds.Annotation
// gives the same canonical annotations and pixel-exact masks.
func TestRoundTrip(t *testing.T) {
	meta, items, store, src, err := importDir(t, fixtureRoot, dataset.Options{"stuff": "keep", "void": "keep"})
	if err != nil {
		t.Fatal(err)
	}
	b := dataset.NewBuilder(store)
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		if it.Ann.Width == 0 {
			raw, _ := fs.ReadFile(src, it.Image)
			c, err := png.DecodeConfig(bytes.NewReader(raw))
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
		if !reflect.DeepEqual(back.Tags, it.Ann.Tags) {
			t.Errorf("%s: tags %v back, want %v", e.Name, back.Tags, it.Ann.Tags)
		}
		a, bk := rasters(t, it.Ann), rasters(t, back)
		if len(a) != len(bk) {
			t.Fatalf("%s: %d objects back, want %d", e.Name, len(bk), len(a))
		}
		for j := range a {
			if a[j].key != bk[j].key || dataset.IoU(a[j].m, bk[j].m) != 1 {
				t.Errorf("%s: object %d: %s / %s, IoU %v", e.Name, j, a[j].key, bk[j].key, dataset.IoU(a[j].m, bk[j].m))
			}
		}
	}
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
	f.Add(hugePNG(100000, 100000))
	f.Add(hugePNG(2, 2))
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
