package supervisely

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

// memSource is an in-memory dataset.Source.
type memSource struct{ fstest.MapFS }

func (m memSource) Digest(name string) (cache.Digest, int64, error) {
	b, err := fs.ReadFile(m.MapFS, name)
	if err != nil {
		return cache.Digest{}, 0, err
	}
	return cache.Sum(b), int64(len(b)), nil
}

func mem(files map[string]string) memSource {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return memSource{m}
}

const testMeta = `{"classes":[
 {"title":"person","shape":"polygon","color":"#00FF00"},
 {"title":"blob","shape":"bitmap","color":"#FF0000"},
 {"title":"box","shape":"rectangle","color":"#0000FF"},
 {"title":"dot","shape":"point","color":"#FFFF00"},
 {"title":"free","shape":"any","color":"#00FFFF"}],
 "tags":[{"name":"t","value_type":"none","color":"#000000"}]}`

const goodAnn = `{"size":{"height":10,"width":20},"tags":["t"],"objects":[
 {"classTitle":"person","points":{"exterior":[[1,1],[8,1],[8,6]],"interior":[]}}]}`

// hugeBitmap is a bitmap data string whose PNG claims 100000×100000 pixels.
func hugeBitmap() string {
	png := importtest.NewPNG()
	ihdr := importtest.GrayIHDR(100000, 100000, 1)
	ihdr[9] = 3 // palette
	png.Chunk("IHDR", ihdr)
	png.Chunk("PLTE", []byte{0, 0, 0, 255, 255, 255})
	png.Chunk("tRNS", []byte{0})
	png.Chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	png.Chunk("IEND", nil)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(png.Bytes())
	zw.Close()
	return base64.StdEncoding.EncodeToString(z.Bytes())
}

func TestProjectErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // in the error
	}{
		{"no meta", map[string]string{"ds/img/a.png": "x", "ds/ann/a.png.json": goodAnn}, "meta.json"},
		{"malformed meta", map[string]string{"meta.json": "{", "ds/img/a.png": "x", "ds/ann/a.png.json": goodAnn}, "meta.json: meta JSON"},
		{"malformed classes.json", map[string]string{"classes.json": "[{]", "ds/img/a.png": "x", "ds/ann/a.png.json": goodAnn}, "classes.json"},
		{"duplicate class", map[string]string{"meta.json": `{"classes":[{"title":"a"},{"title":"a"}]}`, "ds/img/a.png": "x", "ds/ann/a.png.json": goodAnn}, "meta.json: meta: class \"a\" is defined twice"},
		{"no dataset", map[string]string{"meta.json": testMeta, "ds/img/a.png": "x", "other/ann/a.png.json": goodAnn}, "no dataset directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, items, err := importSource(t, mem(tc.files), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if len(items) != 0 {
				t.Errorf("%d items emitted", len(items))
			}
		})
	}
}

func TestItemErrors(t *testing.T) {
	files := map[string]string{
		"meta.json":                       testMeta,
		"obj_class_to_machine_color.json": "{}",
		"ds/img/good.png":                 "x",
		"ds/ann/good.png.json":            goodAnn,
		"ds/img/noann.png":                "x",
		"ds/img/badjson.png":              "x",
		"ds/ann/badjson.png.json":         `{"size":`,
		"ds/img/nosize.png":               "x",
		"ds/ann/nosize.png.json":          `{"objects":[]}`,
		"ds/img/badbitmap.png":            "x",
		"ds/ann/badbitmap.png.json":       `{"size":{"height":10,"width":20},"objects":[{"classTitle":"blob","bitmap":{"origin":[1,1],"data":"eJzzSM3JyVcozy/KSQEAGgQEXQ=="}}]}`,
		"ds/img/huge.png":                 "x",
		"ds/ann/huge.png.json":            `{"size":{"height":10,"width":20},"objects":[{"classTitle":"blob","bitmap":{"origin":[0,0],"data":"` + hugeBitmap() + `"}}]}`,
		"ds/img/badtag.png":               "x",
		"ds/ann/badtag.png.json":          `{"size":{"height":10,"width":20},"tags":[{"value":"v"}],"objects":[]}`,
		"ds/img/badpoly.png":              "x",
		"ds/ann/badpoly.png.json":         `{"size":{"height":10,"width":20},"objects":[{"classTitle":"person","points":{"exterior":[[1,1],[2]]}}]}`,
		"ds/ann/ghost.png.json":           goodAnn,
		"ds/img/.DS_Store":                "junk",
		"ds/ann/notes.txt":                "ignored",
		"ds/img/sub/deep.png":             "x",
		"ds/img/both.png":                 "x",
		"ds/ann/both.png.json":            goodAnn,
		"ds/ann/both.json":                goodAnn,
		".hidden/img/a.png":               "x",
		".hidden/ann/a.png.json":          goodAnn,
		"masks_machine/a.png":             "x",
	}
	meta, items, err := importSource(t, mem(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Class("person") == nil || meta.TagMeta("t") == nil {
		t.Errorf("meta %+v", meta)
	}
	want := []struct{ item, file, msg string }{
		{".hidden/a.png", ".hidden/img/a.png", "must not start with a dot"},
		{"ds/badbitmap.png", "ds/ann/badbitmap.png.json", "bitmap"},
		{"ds/badjson.png", "ds/ann/badjson.png.json", "annotation JSON"},
		{"ds/badpoly.png", "ds/ann/badpoly.png.json", "not [x, y]"},
		{"ds/badtag.png", "ds/ann/badtag.png.json", "no name"},
		{"ds/both", "ds/ann/both.json", "missing image"},
		{"ds/both.png", "", ""},
		{"ds/ghost.png", "ds/ann/ghost.png.json", "missing image"},
		{"ds/good.png", "", ""},
		{"ds/huge.png", "ds/ann/huge.png.json", "exceeds MaxPixels"},
		{"ds/noann.png", "ds/img/noann.png", "without annotation"},
		{"ds/nosize.png", "ds/ann/nosize.png.json", "no size"},
	}
	if len(items) != len(want) {
		t.Fatalf("items %v, want %d", importtest.Names(items), len(want))
	}
	for i, w := range want {
		it := items[i]
		if it.Name != w.item {
			t.Errorf("item %d is %s, want %s", i, it.Name, w.item)
			continue
		}
		if w.msg == "" {
			if it.Err != nil || it.Ann == nil || it.Ann.Width != 20 || it.Ann.Height != 10 || len(it.Ann.Objects) != 1 || len(it.Ann.Tags) != 1 {
				t.Errorf("%s: %v %+v", it.Name, it.Err, it.Ann)
			}
			if it.File != "ds/ann/"+strings.TrimPrefix(it.Name, "ds/")+".json" {
				t.Errorf("%s: annotation file %s", it.Name, it.File)
			}
			continue
		}
		var ie *dataset.ItemError
		if !errors.As(it.Err, &ie) {
			t.Errorf("%s: error %v is not an ItemError", it.Name, it.Err)
			continue
		}
		if ie.Item != w.item || ie.File != w.file {
			t.Errorf("%s: error names item %q, file %q; want %q, %q", it.Name, ie.Item, ie.File, w.item, w.file)
		}
		msg := it.Err.Error()
		if !strings.Contains(msg, w.msg) || !strings.Contains(msg, w.file) || !strings.Contains(msg, w.item) {
			t.Errorf("%s: error %q, want it to name the file, the item and %q", it.Name, msg, w.msg)
		}
		if it.Ann != nil {
			t.Errorf("%s: an error item with an annotation", it.Name)
		}
	}
}

func TestGeometries(t *testing.T) {
	ann := `{"size":{"height":10,"width":20},"objects":[
	 {"classTitle":"dot","points":{"exterior":[[3,3]],"interior":[]}},
	 {"classTitle":"box","points":{"exterior":[[12,8],[10,2]],"interior":[]}},
	 {"classTitle":"free","geometryType":"line","points":{"exterior":[[0,0],[5,5]],"interior":[]}},
	 {"classTitle":"free","shape":"rectangle","points":{"exterior":[[0,0],[1,1]],"interior":[]}},
	 {"classTitle":"stranger","geometryType":"polygon","points":{"exterior":[[1,1],[4,1],[4,4]],"interior":[]}},
	 {"classTitle":"person","points":{"exterior":[[1,1],[8,1],[8,6]],"interior":[]}}]}`
	files := map[string]string{"meta.json": testMeta, "d/img/a.jpg": "x", "d/ann/a.jpg.json": ann}
	_, items, err := importSource(t, mem(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Err != nil {
		t.Fatalf("items %+v", items)
	}
	var got []string
	for _, o := range items[0].Ann.Objects {
		got = append(got, o.Class+":"+o.Shape)
		if o.Class == "box" && o.Rect != image.Rect(10, 2, 13, 9) {
			t.Errorf("box %v", o.Rect)
		}
	}
	if s := strings.Join(got, " "); s != "box:rectangle free:rectangle stranger:polygon person:polygon" {
		t.Errorf("objects %s", s)
	}

	_, items, err = importSource(t, mem(files), dataset.Options{"unsupported": "error"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || !errors.Is(items[0].Err, dataset.ErrUnsupportedGeometry) || !strings.Contains(items[0].Err.Error(), "d/ann/a.jpg.json") {
		t.Errorf("unsupported = error: %v", items[0].Err)
	}
}

func TestClassesJSON(t *testing.T) {
	files := map[string]string{
		"classes.json":       `[{"title":"person","shape":"polygon","color":"#00FF00"}]`,
		"d/img/a.png":        "x",
		"d/ann/a.json":       goodAnn,
		"d/img/b":            "x",
		"d/ann/b.json":       goodAnn,
		"e/img/c.JPG":        "x",
		"e/ann/c.JPG.json":   goodAnn,
		"d-x/img/z.png":      "x",
		"d-x/ann/z.png.json": goodAnn,
	}
	meta, items, err := importSource(t, mem(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Classes) != 1 || meta.Classes[0].Title != "person" {
		t.Errorf("meta %+v", meta)
	}
	var names []string
	for _, it := range items {
		if it.Err != nil {
			t.Error(it.Err)
		}
		names = append(names, it.Name+"<"+it.File)
	}
	if s := strings.Join(names, " "); s != "d-x/z.png<d-x/ann/z.png.json d/a.png<d/ann/a.json d/b<d/ann/b.json e/c.JPG<e/ann/c.JPG.json" {
		t.Errorf("items %s", s)
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	src := mem(map[string]string{"meta.json": testMeta, "d/img/a.png": "x", "d/ann/a.png.json": goodAnn, "d/img/b.png": "x", "d/ann/b.png.json": goodAnn})
	imp, _ := NewImporter(dataset.Options{})
	stop := errors.New("stop")
	n := 0
	_, err := imp.Import(context.Background(), src, func(*dataset.SourceItem) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("emit error: %v after %d items", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := imp.Import(ctx, src, func(*dataset.SourceItem) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled import: %v", err)
	}
}

// FuzzImportAnnotation imports a one-image project with the fuzzed
// annotation: it must never panic, emit exactly one item, and give either
// an item error or an annotation.
func FuzzImportAnnotation(f *testing.F) {
	metas := map[string][]byte{}
	for _, dir := range []string{fixtureDir, legacyFixtureDir} {
		meta, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err != nil {
			f.Fatal(err)
		}
		metas[dir] = meta
		anns, _ := filepath.Glob(filepath.Join(dir, "*", "ann", "*.json"))
		for _, a := range anns {
			b, err := os.ReadFile(a)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, dir == legacyFixtureDir)
		}
	}
	f.Add([]byte(goodAnn), false)
	f.Fuzz(func(t *testing.T, ann []byte, legacy bool) {
		// Annotations of huge images may legitimately take seconds (a
		// bitmap may be as large as its image): not what this fuzzes.
		var size struct {
			Size struct{ Width, Height int64 } `json:"size"`
		}
		json.Unmarshal(ann, &size)
		if w, h := size.Size.Width, size.Size.Height; w*h > 1<<20 || w > 1<<20 || h > 1<<20 {
			return
		}
		meta := metas[fixtureDir]
		if legacy {
			meta = metas[legacyFixtureDir]
		}
		src := memSource{fstest.MapFS{
			"meta.json":        {Data: meta},
			"d/img/a.png":      {Data: []byte("x")},
			"d/ann/a.png.json": {Data: ann},
		}}
		imp, _ := NewImporter(dataset.Options{})
		var items []*dataset.SourceItem
		if _, err := imp.Import(context.Background(), src, func(it *dataset.SourceItem) error {
			it.Resolve()
			items = append(items, it)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("%d items", len(items))
		}
		it := items[0]
		if (it.Err == nil) == (it.Ann == nil) {
			t.Fatalf("error %v and annotation %v", it.Err, it.Ann)
		}
		if it.Err != nil && !dataset.IsItemError(it.Err) {
			t.Fatalf("error %v is not an item error", it.Err)
		}
		if it.Ann != nil {
			dataset.EncodeAnnotation(it.Ann)
		}
	})
}

// A project of a meta.json alone, what the export of a dataset without
// items writes, is a project without items, not an error.
func TestMetaOnlyProjectIsEmpty(t *testing.T) {
	meta, items, err := importSource(t, mem(map[string]string{"meta.json": testMeta}), nil)
	if err != nil || len(items) != 0 || meta == nil {
		t.Errorf("import = %d items, %v; want no items and no error", len(items), err)
	}
}
