package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
)

// fakeFormat emits the items it is given.
type fakeFormat struct {
	meta  *dataset.Meta
	items []*dataset.SourceItem
}

func (f *fakeFormat) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	for _, it := range f.items {
		if err := emit(it); err != nil {
			return nil, err
		}
	}
	return f.meta, nil
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.SetGray(0, 0, color.Gray{200})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rectObj(class string, r image.Rectangle) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapeRectangle, Rect: r}
}

func newStore(t *testing.T) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testMeta = &dataset.Meta{Classes: []dataset.Class{
	{Title: "human", Shape: dataset.ShapeRectangle, Color: "#FF0000"},
	{Title: "rider", Shape: dataset.ShapeBitmap, Color: "#00FF00"},
	{Title: "car", Shape: dataset.ShapeRectangle, Color: "#0000FF"},
}}

func TestImportChecksAndMapping(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 8, 6)
	good := func(name string, objs ...dataset.Object) *dataset.SourceItem {
		return &dataset.SourceItem{Name: name, ImageBytes: img, File: name + ".json", Ann: &dataset.Annotation{Objects: objs, Tags: []dataset.Tag{{Name: "train"}}}}
	}
	huge := pngBytes(t, 1, 1)
	// Patch the IHDR to claim 100000x100000 pixels (and fix its CRC).
	copy(huge[16:24], []byte{0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0})
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29]))
	items := []*dataset.SourceItem{
		good("ds/a.png", rectObj("human", image.Rect(1, 1, 3, 4)), rectObj("car", image.Rect(0, 0, 8, 6))),
		good("ds/b.png", rectObj("rider", image.Rect(2, 2, 5, 5))),
		{Name: "ds/size.png", ImageBytes: img, File: "size.json", Ann: &dataset.Annotation{Width: 9, Height: 6}},
		good("ds/outside.png", rectObj("human", image.Rect(6, 4, 10, 6))),
		good("ds/unknown.png", rectObj("tree", image.Rect(0, 0, 1, 1))),
		good("ds/a.png"),
		{Name: "ds/trunc.png", ImageBytes: img[:len(img)-8], File: "trunc.json"},
		{Name: "ds/huge.png", ImageBytes: huge, File: "huge.json"},
		{Name: "../escape.png", ImageBytes: img},
		{Name: "ds/broken.png", Err: &dataset.ItemError{Item: "ds/broken.png", File: "broken.json", Err: errString("malformed JSON")}},
	}
	s := newStore(t)
	set := Settings{Format: "fake", Skip: true}
	res, err := importWith(context.Background(), engine.BareRun(s, 0, nil), nil, &fakeFormat{testMeta, items}, set)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Dataset.Entries); n != 2 {
		t.Errorf("imported %d items, want 2 (a, b)", n)
	}
	want := map[string]string{
		"ds/size.png":    "the annotation says the image is 9x6, but ds/size.png is 8x6",
		"ds/outside.png": `object 0 (class "human") spans (6,4)-(10,6), outside the 8x6 image`,
		"ds/unknown.png": `unknown class "tree"`,
		"ds/a.png":       `duplicate item name "ds/a.png"`,
		"ds/trunc.png":   "the PNG image is truncated",
		"ds/huge.png":    "the image header claims 100000x100000 pixels",
		"../escape.png":  `file name ".." cannot be stored`,
		"ds/broken.png":  "malformed JSON",
	}
	if len(res.Report.Skipped) != len(want) {
		t.Errorf("skipped %d items, want %d: %+v", len(res.Report.Skipped), len(want), res.Report.Skipped)
	}
	for _, sk := range res.Report.Skipped {
		if w, ok := want[sk.Item]; !ok || !strings.Contains(sk.Error, w) {
			t.Errorf("skipped %s: %q, want it to say %q", sk.Item, sk.Error, w)
		}
	}
	if res.Report.Objects["human"] != 1 || res.Report.Objects["car"] != 1 || res.Report.Objects["rider"] != 1 {
		t.Errorf("objects = %v", res.Report.Objects)
	}
	if res.Dataset.Meta.TagMeta("train") == nil {
		t.Errorf("the image tag train is not in the meta")
	}

	// Without skip, the first bad item by name fails the import, naming
	// its file and item.
	set.Skip = false
	_, err = importWith(context.Background(), engine.BareRun(s, 0, nil), nil, &fakeFormat{testMeta, items}, set)
	if err == nil || !strings.Contains(err.Error(), "../escape.png") || !strings.Contains(err.Error(), "and 7 more bad item(s)") {
		t.Errorf("import without skip: %v", err)
	}

	// A mapping renames, merges and drops.
	set = Settings{Format: "fake", Classes: map[string]string{"human": "person", "rider": "person"}}
	res, err = importWith(context.Background(), engine.BareRun(s, 0, nil), nil, &fakeFormat{testMeta, items[:2]}, set)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Report.Objects; len(got) != 1 || got["person"] != 2 {
		t.Errorf("mapped objects = %v, want person: 2", got)
	}
	if c := res.Dataset.Meta.Class("person"); c == nil || c.Shape != dataset.ShapeAny || c.Color != "#FF0000" || len(res.Dataset.Meta.Classes) != 1 {
		t.Errorf("mapped meta = %+v", res.Dataset.Meta.Classes)
	}
	set.Classes = map[string]string{"pedestrian": "person"}
	if _, err := importWith(context.Background(), engine.BareRun(s, 0, nil), nil, &fakeFormat{testMeta, items[:2]}, set); err == nil || !strings.Contains(err.Error(), `classes maps "pedestrian", which the source does not have; its classes are: car, human, rider`) {
		t.Errorf("mapping an absent class: %v", err)
	}
}

func TestImportIsDeterministic(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 8, 6)
	var items []*dataset.SourceItem
	for i := 0; i < 40; i++ {
		items = append(items, &dataset.SourceItem{Name: "ds/" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".png", ImageBytes: img,
			Ann: &dataset.Annotation{Objects: []dataset.Object{rectObj("human", image.Rect(i%8, 0, i%8+1, 1))}}})
	}
	var trees []cache.Digest
	for _, workers := range []int{1, 4} {
		res, err := importWith(context.Background(), engine.BareRun(newStore(t), 0, nil), nil, &fakeFormat{testMeta, items}, Settings{Format: "fake", Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, res.Dataset.Tree)
	}
	if trees[0] != trees[1] {
		t.Errorf("1 and 4 workers give different datasets: %s, %s", trees[0].Short(), trees[1].Short())
	}
}

type errString string

func (e errString) Error() string { return string(e) }
