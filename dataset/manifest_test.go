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

// countingStore counts the reads of each blob.
type countingStore struct {
	Store
	reads map[cache.Digest]int
}

func (c *countingStore) ReadBlob(d cache.Digest) ([]byte, error) {
	c.reads[d]++
	return c.Store.ReadBlob(d)
}

// Opening the same dataset again parses its manifest once (a worker opens
// a step's input for every shard), and each reader gets entries of its
// own: changing one reader's does not change the next's. A manifest too
// large for the cache is read every time.
func TestOpenKeepsTheParsedManifest(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(s)
	for _, name := range []string{"ds/a.png", "ds/b.png", "ds/c.png"} {
		if _, err := b.Add(name, cache.Digest{}, 0, &Annotation{Width: 2, Height: 1}); err != nil {
			t.Fatal(err)
		}
	}
	built, err := b.Finish(&Meta{})
	if err != nil {
		t.Fatal(err)
	}
	var man cache.Digest
	ents, err := s.ReadTree(built.Tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name == ManifestFile {
			man = e.Digest
		}
	}
	parsedManifests = &cache.Decoded[[]Entry]{MaxWeight: 2 << 20}
	cs := &countingStore{Store: s, reads: map[cache.Digest]int{}}
	first, err := Open(cs, built.Tree)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first.Entries, built.Entries) {
		t.Fatalf("entries %+v, want %+v", first.Entries, built.Entries)
	}
	first.Entries[0].Name = "changed by the first reader"
	first.Entries = first.Entries[:1]
	second, err := Open(cs, built.Tree)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second.Entries, built.Entries) {
		t.Errorf("second open: entries %+v, want %+v", second.Entries, built.Entries)
	}
	if n := cs.reads[man]; n != 1 {
		t.Errorf("the manifest was read %d times for two opens, want once", n)
	}

	defer func(c *cache.Decoded[[]Entry]) { parsedManifests = c }(parsedManifests)
	parsedManifests = &cache.Decoded[[]Entry]{MaxWeight: 2}
	cs.reads = map[cache.Digest]int{}
	for range 2 {
		if _, err := Open(cs, built.Tree); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads[man]; n != 2 {
		t.Errorf("a 3-item manifest over a 2-entry cache was read %d times for two opens, want 2", n)
	}
}
