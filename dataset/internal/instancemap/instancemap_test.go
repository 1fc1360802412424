package instancemap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

const fixtures = "../../../testdata/fixtures"

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// resized is the PNG img with its header claiming w×h pixels: the pixel
// data left is far too short for that.
func resized(t testing.TB, img image.Image, w, h uint32) []byte {
	b := pngBytes(t, img)
	// Signature (8), IHDR length (4) and type (4), then width and height.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// mapOf makes a 16-bit map of rows.
func mapOf(rows [][]uint16) *image.Gray16 {
	g := image.NewGray16(image.Rect(0, 0, len(rows[0]), len(rows)))
	for y, r := range rows {
		for x, v := range r {
			g.SetGray16(x, y, color.Gray16{v})
		}
	}
	return g
}

func filled(w, h int, v uint16) *image.Gray16 {
	g := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetGray16(x, y, color.Gray16{v})
		}
	}
	return g
}

// identity keeps every value as its own key.
func identity() []int32 {
	lut := make([]int32, 1<<16)
	for v := range lut {
		lut[v] = int32(v)
	}
	return lut
}

func TestDecode(t *testing.T) {
	g := mapOf([][]uint16{{0, 1, 2}, {65535, 24000, 7}})
	got, err := Format{What: "instance map"}.Decode(pngBytes(t, g))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect != g.Rect || !bytes.Equal(got.Pix, g.Pix) {
		t.Errorf("decoded %v %v, want %v %v", got.Rect, got.Pix, g.Rect, g.Pix)
	}
	ok := pngBytes(t, filled(64, 32, 24000))
	for _, tc := range []struct {
		name   string
		data   []byte
		want   string
		target error
	}{
		{"truncated", ok[:len(ok)-20], "instanceIds map: ", nil},
		{"empty", nil, "instanceIds map: ", nil},
		{"huge", resized(t, filled(1, 1, 0), 100000, 100000), "instanceIds map of 100000x100000 pixels", dataset.ErrTooLarge},
		// The size is checked before the colour model.
		{"huge 8-bit", resized(t, image.NewGray(image.Rect(0, 0, 1, 1)), 100000, 100000), "100000x100000", dataset.ErrTooLarge},
		{"8-bit", pngBytes(t, image.NewGray(image.Rect(0, 0, 64, 32))), "instanceIds map is not a 16-bit grayscale PNG", nil},
		{"RGB", pngBytes(t, image.NewRGBA(image.Rect(0, 0, 4, 4))), "not a 16-bit grayscale", nil},
		{"header only", resized(t, filled(1, 1, 0), 3, 2), "instanceIds map: ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Format{What: "instanceIds map"}.Decode(tc.data)
			if err == nil || g != nil {
				t.Fatalf("decoded %v, %v", g, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error %v is not %v", err, tc.target)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	pngConfig := png.DecodeConfig
	anyConfig := func(r io.Reader) (image.Config, error) {
		c, _, err := image.DecodeConfig(r)
		return c, err
	}
	img := pngBytes(t, image.NewRGBA(image.Rect(0, 0, 64, 32)))
	fsys := fstest.MapFS{
		"img.png":    {Data: img},
		"map.png":    {Data: pngBytes(t, filled(64, 32, 24000))},
		"small.png":  {Data: pngBytes(t, filled(32, 16, 24000))},
		"bad.png":    {Data: []byte("\x89PNG\r\n")},
		"eight.png":  {Data: pngBytes(t, image.NewGray(image.Rect(0, 0, 64, 32)))},
		"images/dir": {Mode: fs.ModeDir},
	}
	g, file, err := Format{What: "instance map", ImageConfig: anyConfig}.Load(fsys, "map.png", "img.png")
	if err != nil || file != "" || g.Rect != image.Rect(0, 0, 64, 32) || g.Gray16At(5, 5).Y != 24000 {
		t.Fatalf("Load: %v, %q, %v", g.Rect, file, err)
	}
	for _, tc := range []struct {
		name, mapFile, imageFile string
		config                   func(io.Reader) (image.Config, error)
		file, want               string
	}{
		{"size differs", "small.png", "img.png", pngConfig, "small.png", "instance map is 32x16 but the image img.png is 64x32"},
		{"no map", "none.png", "img.png", pngConfig, "none.png", "file does not exist"},
		{"bad map", "eight.png", "img.png", pngConfig, "eight.png", "instance map is not a 16-bit grayscale PNG"},
		{"no image", "map.png", "none.png", pngConfig, "none.png", "file does not exist"},
		{"truncated image", "map.png", "bad.png", pngConfig, "bad.png", "image: unexpected EOF"},
		{"unknown image format", "map.png", "bad.png", anyConfig, "bad.png", "image: image: unknown format"},
		{"image is a directory", "map.png", "images/dir", pngConfig, "images/dir", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, file, err := Format{What: "instance map", ImageConfig: tc.config}.Load(fsys, tc.mapFile, tc.imageFile)
			if err == nil || g != nil {
				t.Fatalf("loaded %v, %v", g, err)
			}
			if file != tc.file || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q about %q, want one saying %q about %q", err, file, tc.want, tc.file)
			}
		})
	}
}

// itemFS holds a 3×2 image (d/img.png), its map (d/map.png: value 0
// dropped, values 1 and 2 the objects "c1" and "c2") and a map of another
// size (d/small.png).
func itemFS(t *testing.T) (fs.FS, Format, func(*image.Gray16) ([]dataset.Object, error)) {
	fsys := fstest.MapFS{
		"d/img.png":   {Data: pngBytes(t, image.NewRGBA(image.Rect(0, 0, 3, 2)))},
		"d/map.png":   {Data: pngBytes(t, mapOf([][]uint16{{1, 1, 0}, {2, 0, 0}}))},
		"d/small.png": {Data: pngBytes(t, filled(2, 2, 1))},
	}
	lut := identity()
	lut[0] = Drop
	objects := func(g *image.Gray16) ([]dataset.Object, error) {
		return Objects(g, lut, func(k int32) (string, []dataset.Tag) { return "c" + strconv.Itoa(int(k)), nil })
	}
	return fsys, Format{What: "map", ImageConfig: png.DecodeConfig}, objects
}

// TestAnnotate: the map's size and objects go to the annotation; an error
// of the map, the image or the objects leaves it as it is and names the
// file.
func TestAnnotate(t *testing.T) {
	fsys, f, objects := itemFS(t)
	ann := &dataset.Annotation{Tags: []dataset.Tag{{Name: "train"}}}
	file, err := f.Annotate(fsys, ann, "d/map.png", "d/img.png", objects)
	if err != nil || file != "" {
		t.Fatalf("Annotate: %q, %v", file, err)
	}
	if ann.Width != 3 || ann.Height != 2 || len(ann.Objects) != 2 || ann.Objects[0].Class != "c1" || ann.Objects[1].Class != "c2" ||
		ann.Objects[0].Mask.W != 2 || ann.Objects[1].Origin != image.Pt(0, 1) || len(ann.Tags) != 1 {
		t.Errorf("annotation %+v", ann)
	}
	fail := errors.New("no objects")
	for _, tc := range []struct {
		name, mapFile string
		objects       func(*image.Gray16) ([]dataset.Object, error)
		file          string
		target        error
	}{
		{"size differs", "d/small.png", objects, "d/small.png", nil},
		{"objects fail", "d/map.png", func(*image.Gray16) ([]dataset.Object, error) { return nil, fail }, "d/map.png", fail},
	} {
		ann := &dataset.Annotation{}
		file, err := f.Annotate(fsys, ann, tc.mapFile, "d/img.png", tc.objects)
		if err == nil || file != tc.file || (tc.target != nil && !errors.Is(err, tc.target)) {
			t.Errorf("%s: %q, %v", tc.name, file, err)
		}
		if ann.Width != 0 || ann.Height != 0 || ann.Objects != nil {
			t.Errorf("%s: annotation %+v", tc.name, ann)
		}
	}
}

// countingFS counts the files opened.
type countingFS struct {
	fs.FS
	opened int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.opened++
	return c.FS.Open(name)
}

// TestRead: Read opens no file; the item names its files; a bad name and a
// broken item are item errors about the right file at once; an unlabelled
// item has the annotation as given; a labelled one loads lazily, with its
// map and the item's Deps as its Deps, and resolves to the map's size and
// objects, or to an item error about the file at fault (a bad map, a
// missing image), leaving the given annotation as it was.
func TestRead(t *testing.T) {
	mapFS, f, objects := itemFS(t)
	tags := []dataset.Tag{{Name: "train"}}
	gone := errors.New("gone")
	for _, tc := range []struct {
		name      string
		item      Item
		broken    func() (string, error)
		file      string // of the error, "" for none
		want      string // in the error
		lazy      bool   // the item loads its annotation
		w, h, obj int
	}{
		{name: "labelled", item: Item{Name: "train/img.png", Image: "d/img.png", Map: "d/map.png", Deps: []string{"config.json"}}, lazy: true, w: 3, h: 2, obj: 2},
		{name: "unlabelled", item: Item{Name: "test/img.png", Image: "d/img.png"}},
		{name: "not broken", item: Item{Name: "test/img.png", Image: "d/img.png"}, broken: func() (string, error) { return "", nil }},
		{name: "bad name", item: Item{Name: "img.png", Image: "d/img.png", Map: "d/map.png"}, file: "d/img.png", want: "img.png"},
		{name: "bad name without image", item: Item{Name: "a/../img.png", Map: "d/map.png"}, file: "d/map.png", want: "img.png"},
		{name: "broken", item: Item{Name: "train/img.png", Map: "d/map.png"}, broken: func() (string, error) { return "d/map.png", gone }, file: "d/map.png", want: "gone"},
		{name: "bad map", item: Item{Name: "train/img.png", Image: "d/img.png", Map: "d/small.png"}, file: "d/small.png", want: "map is 2x2 but the image d/img.png is 3x2", lazy: true},
		{name: "no image", item: Item{Name: "train/img.png", Image: "d/none.png", Map: "d/map.png"}, file: "d/none.png", want: "file does not exist", lazy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := &countingFS{FS: mapFS}
			ann := &dataset.Annotation{Tags: tags}
			it := f.Read(fsys, tc.item, tc.broken, ann, objects)
			if fsys.opened != 0 {
				t.Errorf("Read opened %d files", fsys.opened)
			}
			if it.Name != tc.item.Name || it.Image != tc.item.Image || it.File != tc.item.Map {
				t.Errorf("item %q image %q file %q, want %+v", it.Name, it.Image, it.File, tc.item)
			}
			switch {
			case tc.lazy:
				wantDeps := append([]string{tc.item.Map}, tc.item.Deps...)
				if it.Ann != nil || it.Load == nil || it.Err != nil || !reflect.DeepEqual(it.Deps, wantDeps) {
					t.Fatalf("lazy item: annotation %v, Load set %v, error %v, deps %q (want %q)", it.Ann, it.Load != nil, it.Err, it.Deps, wantDeps)
				}
				it.Resolve()
			case tc.file == "":
				if it.Ann != ann || it.Load != nil || it.Deps != nil {
					t.Errorf("annotation %+v, Load set %v, deps %q: want the annotation as given", it.Ann, it.Load != nil, it.Deps)
				}
			}
			if tc.file == "" {
				if it.Err != nil {
					t.Fatal(it.Err)
				}
				a := it.Ann
				if a.Width != tc.w || a.Height != tc.h || len(a.Objects) != tc.obj || !reflect.DeepEqual(a.Tags, tags) {
					t.Errorf("annotation %+v", a)
				}
				return
			}
			var ie *dataset.ItemError
			if !errors.As(it.Err, &ie) || ie.Item != tc.item.Name || ie.File != tc.file || !strings.Contains(it.Err.Error(), tc.want) {
				t.Fatalf("error %v, want an ItemError about %s saying %q", it.Err, tc.file, tc.want)
			}
			if tc.lazy && strings.Count(it.Err.Error(), tc.item.Name) != 1 {
				t.Errorf("error %q names the item more than once", it.Err)
			}
			if it.Ann != nil || ann.Width != 0 || ann.Objects != nil {
				t.Errorf("annotation %+v (given %+v) after an error", it.Ann, ann)
			}
		})
	}
}

type got struct {
	key    int32
	origin image.Point
	w, h   int
	area   int
}

func summary(regs []Region) []got {
	var out []got
	for _, r := range regs {
		out = append(out, got{r.Key, r.Origin, r.Mask.W, r.Mask.H, r.Mask.Area()})
	}
	return out
}

// TestRegions groups a hand-made map: values sharing a key merge, dropped
// values are in no region, instance ids may have gaps, regions come in key
// order whatever order their first pixels are in, and masks are cropped.
func TestRegions(t *testing.T) {
	lut := identity()
	lut[5] = 0       // merges with 0
	lut[3<<8] = Drop // a dropped label
	lut[4] = -7      // any negative key but Bad is dropped
	g := mapOf([][]uint16{
		{0, 0, 1<<8 | 7, 1<<8 | 7},
		{0, 2 << 8, 2 << 8, 1<<8 | 7},
		{3 << 8, 1 << 8, 5, 3 << 8},
		{4, 4, 4, 4},
	})
	regs, err := Regions(g, lut)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{0, image.Pt(0, 0), 3, 3, 4}, // values 0 and 5 merge
		{1 << 8, image.Pt(1, 2), 1, 1, 1},
		{1<<8 | 7, image.Pt(2, 0), 2, 2, 3},
		{2 << 8, image.Pt(1, 1), 2, 1, 2},
	}
	if s := summary(regs); !reflect.DeepEqual(s, want) {
		t.Errorf("regions %+v, want %+v", s, want)
	}
	if m := regs[0].Mask; !bytes.Equal(m.Bits, []uint8{1, 1, 0, 1, 0, 0, 0, 0, 1}) {
		t.Errorf("mask of key 0: %v", m.Bits)
	}

	// All dropped: no regions, no error.
	regs, err = Regions(filled(4, 4, 3<<8), lut)
	if err != nil || len(regs) != 0 {
		t.Errorf("all dropped: %v, %v", regs, err)
	}
}

// TestRegionsCityscapes groups the values of the Cityscapes test map: the
// key is the value, regions are sorted by value.
func TestRegionsCityscapes(t *testing.T) {
	lut := identity()
	g := mapOf([][]uint16{
		{0, 7, 7, 24000},
		{25, 25, 33007, 24000},
		{26, 1, 24002, 24},
	})
	regs, err := Regions(g, lut)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{0, image.Pt(0, 0), 1, 1, 1},
		{1, image.Pt(1, 2), 1, 1, 1},
		{7, image.Pt(1, 0), 2, 1, 2},
		{24, image.Pt(3, 2), 1, 1, 1},
		{25, image.Pt(0, 1), 2, 1, 2},
		{26, image.Pt(0, 2), 1, 1, 1},
		{24000, image.Pt(3, 0), 1, 2, 2},
		{24002, image.Pt(2, 2), 1, 1, 1},
		{33007, image.Pt(2, 1), 1, 1, 1},
	}
	if s := summary(regs); !reflect.DeepEqual(s, want) {
		t.Errorf("regions\n%+v\nwant\n%+v", s, want)
	}
}

// TestBadValue: the first pixel, in row-major order, whose key is Bad is
// the error, even after pixels that are kept or dropped.
func TestBadValue(t *testing.T) {
	lut := identity()
	lut[40], lut[60001], lut[9] = Bad, Bad, Drop
	g := mapOf([][]uint16{
		{9, 9, 1, 1},
		{1, 9, 60001, 40},
		{40, 40, 40, 40},
	})
	_, err := Regions(g, lut)
	var bad BadValue
	if !errors.As(err, &bad) || bad != (BadValue{2, 1, 60001}) {
		t.Fatalf("error %v, want the bad value at (2, 1)", err)
	}
	if err.Error() != "pixel (2, 1) has value 60001" {
		t.Errorf("error %q", err)
	}
}

// TestMaskBound: the boxes of the regions may overlap, and their total is
// bounded before any mask is allocated.
func TestMaskBound(t *testing.T) {
	// Three keys at the corners of two full-image boxes and one 8×10 box.
	g := filled(10, 10, 0)
	for k, pts := range [][2]image.Point{{{0, 0}, {9, 9}}, {{9, 0}, {0, 9}}, {{1, 0}, {8, 9}}} {
		for _, p := range pts {
			g.SetGray16(p.X, p.Y, color.Gray16{uint16(k + 1)})
		}
	}
	lut := identity()
	lut[0] = Drop
	if regs, err := regions(g, lut, 280); err != nil || len(regs) != 3 {
		t.Fatalf("at the bound: %d regions, %v", len(regs), err)
	}
	_, err := regions(g, lut, 279)
	if !errors.Is(err, dataset.ErrTooLarge) || !strings.Contains(err.Error(), "the boxes of its 3 regions cover more than 279 pixels") {
		t.Errorf("over the bound: %v", err)
	}
	if MaxMaskPixels != 4*dataset.MaxPixels {
		t.Errorf("MaxMaskPixels is %d", MaxMaskPixels)
	}
}

func TestShortLUT(t *testing.T) {
	if _, err := Regions(filled(2, 2, 0), make([]int32, 1<<16-1)); err == nil {
		t.Error("a short lookup table is accepted")
	}
}

// TestObjects: one bitmap object per region, in key order, with the class
// and tags describe gives.
func TestObjects(t *testing.T) {
	lut := identity()
	lut[7] = Drop
	g := mapOf([][]uint16{
		{2, 2, 7},
		{1, 7, 2},
	})
	var keys []int32
	objs, err := Objects(g, lut, func(k int32) (string, []dataset.Tag) {
		keys = append(keys, k)
		if k == 2 {
			return "crowd", []dataset.Tag{{Name: "group"}}
		}
		return "person", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys, []int32{1, 2}) || len(objs) != 2 {
		t.Fatalf("keys %v, %d objects", keys, len(objs))
	}
	o0, o1 := objs[0], objs[1]
	if o0.Class != "person" || o0.Shape != dataset.ShapeBitmap || o0.Tags != nil || o0.Origin != image.Pt(0, 1) || o0.Mask.Area() != 1 {
		t.Errorf("object 0: %+v", o0)
	}
	if o1.Class != "crowd" || o1.Shape != dataset.ShapeBitmap || !reflect.DeepEqual(o1.Tags, []dataset.Tag{{Name: "group"}}) ||
		o1.Origin != image.Pt(0, 0) || o1.Mask.W != 3 || o1.Mask.H != 2 || o1.Mask.Area() != 3 {
		t.Errorf("object 1: %+v", o1)
	}
	lut[2] = Bad
	if _, err := Objects(g, lut, nil); !errors.As(err, new(BadValue)) {
		t.Errorf("bad value: %v", err)
	}
}

func TestKeepDrop(t *testing.T) {
	for v, want := range map[string]bool{"keep": true, "drop": false} {
		if got, err := KeepDrop("f", "stuff", v); err != nil || got != want {
			t.Errorf("%s: %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "KEEP", "yes"} {
		_, err := KeepDrop("cityscapes", "void", v)
		want := `format cityscapes: option void is "` + v + `"; it must be "keep" or "drop"`
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", v, err, want)
		}
	}
}

// FuzzRegions decodes arbitrary bytes as an instance map and groups it
// under a table that keeps every value, merging some: it must never panic,
// the masks must cover every pixel exactly once and be cropped to their
// boxes, and the regions must be sorted by key.
func FuzzRegions(f *testing.F) {
	filepath.WalkDir(fixtures, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, "_instanceIds.png") || filepath.Base(filepath.Dir(p)) == "instances") {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add(resized(f, filled(1, 1, 0), 100000, 100000))
	f.Add(resized(f, filled(1, 1, 0), 3, 2))
	f.Add(pngBytes(f, mapOf([][]uint16{{0, 1, 256}, {257, 512, 0}})))
	// Label id v>>8: odd ones give one region per label (as crowd and
	// stuff labels), even ones one per value (as instance labels).
	lut := make([]int32, 1<<16)
	for v := range lut {
		if v>>8%2 == 0 {
			lut[v] = int32(v)
		} else {
			lut[v] = int32(v >> 8 << 8)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Format{What: "instance map"}.Decode(data)
		if err != nil {
			return
		}
		regs, err := Regions(g, lut)
		if err != nil {
			t.Fatal(err)
		}
		w, h := g.Rect.Dx(), g.Rect.Dy()
		cover := make([]int, w*h)
		for i, r := range regs {
			if i > 0 && regs[i-1].Key >= r.Key {
				t.Fatalf("region %d has key %d after %d", i, r.Key, regs[i-1].Key)
			}
			m := r.Mask
			if x0, y0, x1, y1, ok := m.BBox(); !ok || x0 != 0 || y0 != 0 || x1 != m.W || y1 != m.H {
				t.Fatalf("region %d is not cropped to its box", i)
			}
			for y := 0; y < m.H; y++ {
				for x := 0; x < m.W; x++ {
					if m.At(x, y) {
						px, py := r.Origin.X+x, r.Origin.Y+y
						if k := lut[g.Gray16At(px, py).Y]; k != r.Key {
							t.Fatalf("pixel (%d, %d) of key %d is in the region of %d", px, py, k, r.Key)
						}
						cover[py*w+px]++
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

// TestDecodeGray8: with Gray8, an 8-bit grayscale map decodes to the same
// values; without it, and for gray PNGs of fewer bits (which image/png
// would scale), it is refused.
func TestDecodeGray8(t *testing.T) {
	g8 := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g8.Pix, []uint8{0, 24, 255, 7, 33, 1})
	data := pngBytes(t, g8)
	g, err := Format{What: "map", Gray8: true}.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range g8.Pix {
		if got := g.Gray16At(i%3, i/3).Y; got != uint16(v) {
			t.Errorf("pixel %d = %d, want %d", i, got, v)
		}
	}
	if _, err := (Format{What: "map"}).Decode(data); err == nil || !strings.Contains(err.Error(), "not a 16-bit grayscale") {
		t.Errorf("without Gray8: %v", err)
	}
	p := importtest.NewPNG()
	p.Chunk("IHDR", importtest.GrayIHDR(3, 2, 4))
	p.Chunk("IEND", nil)
	if _, err := (Format{What: "map", Gray8: true}).Decode(p.Bytes()); err == nil || !strings.Contains(err.Error(), "not a 16-bit or 8-bit grayscale") {
		t.Errorf("4-bit gray: %v", err)
	}
}
