package dataset

import (
	"path/filepath"
	"reflect"
	"testing"

	"dsbuild/cache"
)

// Finish stores the meta in canonical order without reordering the
// caller's meta, which may be shared (a format's, or another build's).
func TestBuilderFinishLeavesMetaAlone(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	meta := &Meta{
		Classes: []Class{{Title: "b", Shape: ShapeAny, Color: "#000001"}, {Title: "a", Shape: ShapeAny, Color: "#000002"}},
		Tags:    []TagMeta{{Name: "y", ValueType: TagNone, Color: "#000003"}, {Name: "x", ValueType: TagNone, Color: "#000004"}},
	}
	before := &Meta{Classes: append([]Class(nil), meta.Classes...), Tags: append([]TagMeta(nil), meta.Tags...)}
	b := NewBuilder(s)
	if _, err := b.Add("ds/a.png", cache.Digest{}, 0, &Annotation{Width: 1, Height: 1}); err != nil {
		t.Fatal(err)
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta, before) {
		t.Errorf("Finish reordered the caller's meta: %+v, was %+v", meta, before)
	}
	if ds.Meta.Classes[0].Title != "a" || ds.Meta.Tags[0].Name != "x" {
		t.Errorf("the dataset's meta is not sorted: %+v", ds.Meta)
	}
}
