package coco

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"dsbuild/dataset"
)

// FuzzImportJSON feeds arbitrary bytes to the importer as an instances
// file. The importer must not panic, must return or emit errors naming
// the file, must emit sorted unique item names, and every item it emits
// without an error must have a canonical encoding.
func FuzzImportJSON(f *testing.F) {
	// Keep masks small so that a few bytes cannot make the fuzzer allocate
	// 256 MiB (the real bound is dataset.MaxPixels).
	saved := maxPixels
	maxPixels = 1 << 16
	f.Cleanup(func() { maxPixels = saved })

	fs := fstest.MapFS{}
	for _, sub := range []string{"train2017", "val2017"} {
		raw, err := os.ReadFile(filepath.Join(fixtureDir, "annotations", "instances_"+sub+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		ents, err := os.ReadDir(filepath.Join(fixtureDir, sub))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range ents {
			// Every fixture image is in the fuzzed subset's directory.
			fs["val2017/"+e.Name()] = &fstest.MapFile{Data: []byte("img")}
		}
	}
	fs["val2017/a.png"] = &fstest.MapFile{Data: []byte("img")}
	fs["val2017/b.png"] = &fstest.MapFile{Data: []byte("img")}
	for _, s := range []string{
		doc(twoImages, `{"id":7,"image_id":1,"category_id":1,"segmentation":{"size":[3,4],"counts":"52"}}`),
		doc(twoImages, `{"id":7,"image_id":1,"category_id":1,"segmentation":[[0,0,3,0,3,2.5]],"iscrowd":1}`),
		doc(twoImages, `{"id":7,"image_id":2,"category_id":1,"segmentation":[{"size":[3,4],"counts":[1,2,9]}],"bbox":[0,0,1,1]}`),
		`{"images":[{"id":"x","file_name":"../a.png","width":1e3,"height":0}],"annotations":[{"image_id":"x"}]}`,
		`{"images":[],"categories":[{"id":1,"name":"a"}],"x":[[[[{}]]]]}`,
		`[`, ``,
	} {
		f.Add([]byte(s))
	}
	const file = "annotations/instances_val2017.json"
	f.Fuzz(func(t *testing.T, data []byte) {
		m := fstest.MapFS{file: {Data: data}}
		for k, v := range fs {
			m[k] = v
		}
		items, meta, err := importAll(t, mapSource{m}, dataset.Options{})
		if err != nil {
			if dataset.IsItemError(err) {
				t.Fatalf("file error is an item error: %v", err)
			}
			return
		}
		if meta == nil || meta.TagMeta("val2017") == nil {
			t.Fatalf("meta %v has no subset tag", meta)
		}
		for i, it := range items {
			if i > 0 && items[i-1].Name >= it.Name {
				t.Fatalf("items not sorted or not unique: %q then %q", items[i-1].Name, it.Name)
			}
			if it.Err != nil {
				var ie *dataset.ItemError
				if !errors.As(it.Err, &ie) || ie.File != file || ie.Item != it.Name {
					t.Fatalf("%s: error %v does not name the item and file", it.Name, it.Err)
				}
				continue
			}
			if err := dataset.ValidItemName(it.Name); err != nil {
				t.Fatal(err)
			}
			a := *it.Ann
			if a.Width == 0 {
				a.Width, a.Height = 1, 1
			}
			if _, err := dataset.EncodeAnnotation(&a); err != nil {
				t.Fatalf("%s: emitted without error but cannot be encoded: %v", it.Name, err)
			}
		}
	})
}
