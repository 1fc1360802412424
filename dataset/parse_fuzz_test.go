package dataset

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The Supervisely fixtures (testdata/fixtures/supervisely and
// supervisely_legacy), whose annotation and meta files seed the fuzzers.
var fuzzFixtureDirs = []string{
	filepath.Join("..", "testdata", "fixtures", "supervisely"),
	filepath.Join("..", "testdata", "fixtures", "supervisely_legacy"),
}

// fuzzFixtureMetas parses the fixtures' meta.json files.
func fuzzFixtureMetas(f *testing.F) []*Meta {
	var metas []*Meta
	for _, dir := range fuzzFixtureDirs {
		raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err != nil {
			f.Fatal(err)
		}
		m, err := ParseMeta(raw)
		if err != nil {
			f.Fatalf("%s: %v", dir, err)
		}
		metas = append(metas, m)
	}
	return metas
}

// FuzzParseAnnotation parses arbitrary annotation bytes with a fixture's
// meta (which) or without a meta: it must not panic, and an annotation that
// parses and encodes must parse back, with the same meta, to the same
// canonical bytes.
func FuzzParseAnnotation(f *testing.F) {
	metas := fuzzFixtureMetas(f)
	for i, dir := range fuzzFixtureDirs {
		anns, err := filepath.Glob(filepath.Join(dir, "*", "ann", "*.json"))
		if err != nil || len(anns) == 0 {
			f.Fatalf("%s: no annotations (%v)", dir, err)
		}
		for _, a := range anns {
			raw, err := os.ReadFile(a)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw, uint8(i))
			f.Add(raw, uint8(len(metas)))
		}
	}
	f.Add([]byte(`{"size":{"height":3,"width":4},"tags":["a",{"name":"n","value":1.5}],"objects":[{"classTitle":"r","geometryType":"rectangle","points":{"exterior":[[0,0],[1,2]],"interior":[]}}]}`), uint8(len(metas)))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		if !smallAnnotation(data) {
			return
		}
		var meta *Meta
		if int(which) < len(metas) {
			meta = metas[which]
		}
		a, err := ParseAnnotation(data, meta)
		if err != nil {
			return
		}
		enc, err := EncodeAnnotation(a)
		if err != nil {
			return
		}
		b, err := ParseAnnotation(enc, meta)
		if err != nil {
			t.Fatalf("canonical annotation does not parse: %v\n%s", err, enc)
		}
		enc2, err := EncodeAnnotation(b)
		if err != nil {
			t.Fatalf("re-parsed canonical annotation does not encode: %v\n%s", err, enc)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("canonical bytes change on a round trip:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzParseMeta parses arbitrary meta bytes: it must not panic, and a meta
// that parses must encode to bytes that parse back to the same encoding.
func FuzzParseMeta(f *testing.F) {
	for _, dir := range fuzzFixtureDirs {
		raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`[{"title":"person","shape":"polygon","color":"#00FF00"}]`))
	f.Add([]byte(`{"classes":[],"tags":["a","b"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMeta(data)
		if err != nil {
			return
		}
		enc := EncodeMeta(m)
		m2, err := ParseMeta(enc)
		if err != nil {
			t.Fatalf("canonical meta does not parse: %v\n%s", err, enc)
		}
		if enc2 := EncodeMeta(m2); !bytes.Equal(enc, enc2) {
			t.Fatalf("canonical meta changes on a round trip:\n%s\n%s", enc, enc2)
		}
	})
}

// smallAnnotation reports whether an annotation claims at most 2^20 pixels:
// larger ones may legitimately take seconds (a bitmap may be as large as its
// image), which would turn the fuzzer's time limit into a false failure.
func smallAnnotation(data []byte) bool {
	var v struct {
		Size struct{ Width, Height int64 } `json:"size"`
	}
	json.Unmarshal(data, &v)
	return v.Size.Width*v.Size.Height <= 1<<20 && v.Size.Width < 1<<20 && v.Size.Height < 1<<20
}
