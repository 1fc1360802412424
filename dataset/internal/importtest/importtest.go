// Package importtest holds the helpers that the format packages' tests
// share: importing a directory through a temporary store, building a
// dataset artifact of the imported items and checking that it reads back
// the same, copying and reading directory trees, and writing PNGs.
//
// It imports only the standard library, dsbuild/cache and dsbuild/dataset,
// so that the tests of every format package may import it.
package importtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// NewImporterFunc is a format package's NewImporter.
type NewImporterFunc func(dataset.Options) (dataset.Importer, error)

// NewStore opens an empty store in a temporary directory of t.
func NewStore(t testing.TB) *cache.Store {
	t.Helper()
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// PutDir stores the directory dir in s and returns the tree as a Source.
func PutDir(t testing.TB, s *cache.Store, dir string) dataset.Source {
	t.Helper()
	d, _, err := s.PutDir(context.Background(), dir, cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.TreeFS(d)
}

// StoreDir opens a new store, stores dir in it and returns both.
func StoreDir(t testing.TB, dir string) (*cache.Store, dataset.Source) {
	t.Helper()
	s := NewStore(t)
	return s, PutDir(t, s, dir)
}

// Import makes an importer with newImp and opt (an error fails the test),
// runs it over src and returns the meta, every emitted item in order,
// resolved as the import step resolves it (SourceItem.Resolve: a lazily
// loaded or generated item is made whole, or broken), and Import's error.
func Import(t testing.TB, newImp NewImporterFunc, src dataset.Source, opt dataset.Options) (*dataset.Meta, []*dataset.SourceItem, error) {
	t.Helper()
	imp, err := newImp(opt)
	if err != nil {
		t.Fatal(err)
	}
	var items []*dataset.SourceItem
	meta, err := imp.Import(context.Background(), src, func(it *dataset.SourceItem) error {
		it.Resolve()
		items = append(items, it)
		return nil
	})
	return meta, items, err
}

// ImportDir stores dir in a new store and imports it with newImp and opt.
// It returns what Import returns, and the store and the source.
func ImportDir(t testing.TB, newImp NewImporterFunc, dir string, opt dataset.Options) (*dataset.Meta, []*dataset.SourceItem, *cache.Store, dataset.Source, error) {
	t.Helper()
	store, src := StoreDir(t, dir)
	meta, items, err := Import(t, newImp, src, opt)
	return meta, items, store, src, err
}

// MustImportDir is ImportDir for a directory that must import: an error
// fails the test.
func MustImportDir(t testing.TB, newImp NewImporterFunc, dir string, opt dataset.Options) (*dataset.Meta, []*dataset.SourceItem) {
	t.Helper()
	meta, items, _, _, err := ImportDir(t, newImp, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return meta, items
}

// Build makes a dataset artifact of the imported items, as the import
// step does; a broken item fails the test.
func Build(t testing.TB, s *cache.Store, src dataset.Source, meta *dataset.Meta, items []*dataset.SourceItem) *dataset.Dataset {
	t.Helper()
	b := dataset.NewBuilder(s)
	for _, it := range items {
		if it.Err != nil {
			t.Fatalf("item %s: %v", it.Name, it.Err)
		}
		d, size, err := src.Digest(it.Image)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Add(it.Name, d, size, it.Ann); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// RoundTrip builds a dataset artifact of the imported items (which must
// all be good; an item without a size gets its image's, as the import
// step does), opens it again and checks that the meta and every
// annotation come back with the same canonical bytes. check, if not nil,
// then compares each item's annotation (want) with the one read back.
func RoundTrip(t *testing.T, store *cache.Store, src dataset.Source, meta *dataset.Meta, items []*dataset.SourceItem, check func(name string, want, back *dataset.Annotation)) {
	t.Helper()
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		if it.Ann.Width == 0 {
			raw, _ := fs.ReadFile(src, it.Image)
			c, _, err := image.DecodeConfig(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			it.Ann.Width, it.Ann.Height = c.Width, c.Height
		}
	}
	built := Build(t, store, src, meta, items)
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
		if check != nil {
			check(e.Name, it.Ann, back)
		}
	}
}

// Canon returns a's canonical encoding.
func Canon(t testing.TB, a *dataset.Annotation) string {
	t.Helper()
	b, err := dataset.EncodeAnnotation(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Names returns the items' names, in order.
func Names(items []*dataset.SourceItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// ClassCounts returns the objects per class; an object with tags counts as
// "<class> <first tag>".
func ClassCounts(objs []dataset.Object) map[string]int {
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

// WithoutClasses returns objs less the objects of the classes drop.
func WithoutClasses(objs []dataset.Object, drop ...string) []dataset.Object {
	var out []dataset.Object
	for _, o := range objs {
		if !slices.Contains(drop, o.Class) {
			out = append(out, o)
		}
	}
	return out
}

// CheckObjects asserts that objs, the objects of a w×h item, are exactly
// want, in order: the same class and tags, bitmaps with pixel-exact masks
// cropped to their tight box.
func CheckObjects(t *testing.T, item string, w, h int, objs, want []dataset.Object) {
	t.Helper()
	if len(objs) != len(want) {
		t.Fatalf("%s: %d objects %v, want %d %v", item, len(objs), ClassCounts(objs), len(want), ClassCounts(want))
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

// RectMask returns a w×h mask with the pixels of r set.
func RectMask(w, h int, r image.Rectangle) *dataset.Mask {
	m, _ := dataset.NewMask(w, h)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.Set(x, y, true)
		}
	}
	return m
}

// Square returns the ring of the rectangle (x0,y0)-(x1,y1), clockwise from
// its top left corner.
func Square(x0, y0, x1, y1 float64) []dataset.Point {
	return []dataset.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// CopyTree copies the directory src into dst.
func CopyTree(t testing.TB, src, dst string) {
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

// ReadFiles reads every file under dir, by slash path relative to dir.
func ReadFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// EncodePNG encodes img as a PNG.
func EncodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PNG writes a PNG file by hand, chunk by chunk, for files that image/png
// would not write.
type PNG struct{ bytes.Buffer }

// NewPNG starts a PNG with its signature.
func NewPNG() *PNG {
	p := &PNG{}
	p.WriteString("\x89PNG\r\n\x1a\n")
	return p
}

// Chunk appends a chunk of type typ holding data, with its length and CRC.
func (p *PNG) Chunk(typ string, data []byte) {
	binary.Write(p, binary.BigEndian, uint32(len(data)))
	c := crc32.NewIEEE()
	c.Write([]byte(typ))
	c.Write(data)
	p.WriteString(typ)
	p.Write(data)
	binary.Write(p, binary.BigEndian, c.Sum32())
}

// GrayIHDR returns the IHDR data of a w×h gray image of the given bit
// depth.
func GrayIHDR(w, h uint32, depth byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, 0
	return ihdr
}

// HugePNG is a PNG header that claims w×h 16-bit gray pixels, with no
// pixel data.
func HugePNG(w, h uint32) []byte {
	p := NewPNG()
	p.Chunk("IHDR", GrayIHDR(w, h, 16))
	return p.Bytes()
}

// CheckOneItemError asserts that exactly one of items is in error, and
// that its error is an *dataset.ItemError naming item and file, whose
// message says want and names the file and item, and which is target
// (errors.Is) when target is not nil.
func CheckOneItemError(t *testing.T, items []*dataset.SourceItem, item, file, want string, target error) {
	t.Helper()
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
		if it.Name != item || ie.Item != item || ie.File != file {
			t.Errorf("error names item %q (%q) and file %q, want %q and %q: %v", ie.Item, it.Name, ie.File, item, file, it.Err)
		}
		msg := it.Err.Error()
		if !strings.Contains(msg, want) || !strings.Contains(msg, file) || !strings.Contains(msg, item) {
			t.Errorf("error %q does not say %q and name the file and item", msg, want)
		}
		if target != nil && !errors.Is(it.Err, target) {
			t.Errorf("error %v is not %v", it.Err, target)
		}
	}
	if bad != 1 {
		t.Errorf("%d items in error, want 1", bad)
	}
}

// AreasAndHoles returns the area of each object's mask, in order, and the
// number of holes in all of them.
func AreasAndHoles(objs []dataset.Object) (areas []int, holes int) {
	for _, o := range objs {
		areas = append(areas, o.Mask.Area())
		for _, c := range o.Mask.Contours() {
			holes += len(c.Holes)
		}
	}
	return areas, holes
}

// CheckEmitErrorAndCancel asserts that imp's Import over src stops when
// emit returns an error, at the stopAt-th item, and returns that error;
// and that it returns context.Canceled given a cancelled context.
func CheckEmitErrorAndCancel(t *testing.T, imp dataset.Importer, src dataset.Source, stopAt int) {
	t.Helper()
	ctx := context.Background()
	stop := errors.New("stop")
	n := 0
	_, err := imp.Import(ctx, src, func(*dataset.SourceItem) error {
		n++
		if n == stopAt {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != stopAt {
		t.Errorf("emit error: Import returned %v after %d items", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = imp.Import(cctx, src, func(*dataset.SourceItem) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// EditedCopy copies the directory src into a new temporary directory,
// calls edit on the copy and returns it.
func EditedCopy(t *testing.T, src string, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	CopyTree(t, src, dir)
	edit(dir)
	return dir
}

// Touch writes the file "x" at each of paths under dir, making the
// directories it needs; it ignores errors, as a failed write shows in
// what the test checks.
func Touch(dir string, paths ...string) {
	for _, p := range paths {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
}

// CheckItemNames asserts that the items are named want, in order, and
// that none is in error.
func CheckItemNames(t *testing.T, items []*dataset.SourceItem, want []string) {
	t.Helper()
	if got := Names(items); !reflect.DeepEqual(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	for _, it := range items {
		if it.Err != nil {
			t.Error(it.Err)
		}
	}
}

// CheckPartition asserts that the bitmap objects objs of a w×h image
// cover each of its pixels exactly once.
func CheckPartition(t *testing.T, w, h int, objs []dataset.Object) {
	t.Helper()
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
}
