package dataset_test

import (
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// BenchmarkDiff10k opens and diffs two 10,000-item datasets that differ in
// 1 % of their items (100 annotations changed: one object moved, one
// added), as dsbuild diff does after resolving the two refs.
func BenchmarkDiff10k(b *testing.B) {
	s, err := cache.Open(filepath.Join(b.TempDir(), "s"), nil)
	if err != nil {
		b.Fatal(err)
	}
	img, err := s.PutBytes([]byte("one image shared by every item"))
	if err != nil {
		b.Fatal(err)
	}
	build := func(changed bool) cache.Digest {
		bl := dataset.NewBuilder(s)
		for i := 0; i < 10_000; i++ {
			objs := []dataset.Object{{Class: "person", Shape: dataset.ShapeRectangle, Rect: image.Rect(i%200, 10, i%200+40, 90)}}
			if changed && i%100 == 7 {
				objs[0].Rect = objs[0].Rect.Add(image.Pt(3, 0))
				objs = append(objs, dataset.Object{Class: "person", Shape: dataset.ShapeRectangle, Rect: image.Rect(0, 0, 8, 8)})
			}
			a := &dataset.Annotation{Width: 256, Height: 128, Objects: objs}
			if _, err := bl.Add(fmt.Sprintf("d/%05d.jpg", i), img, 30, a); err != nil {
				b.Fatal(err)
			}
		}
		ds, err := bl.Finish(&dataset.Meta{Classes: []dataset.Class{{Title: "person", Shape: dataset.ShapeRectangle, Color: "#FF0000"}}})
		if err != nil {
			b.Fatal(err)
		}
		return ds.Tree
	}
	ta, tb := build(false), build(true)
	b.ResetTimer()
	for b.Loop() {
		da, err := dataset.Open(s, ta)
		if err != nil {
			b.Fatal(err)
		}
		db, err := dataset.Open(s, tb)
		if err != nil {
			b.Fatal(err)
		}
		d, err := dataset.Diff(s, da, db)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Changed) != 100 {
			b.Fatalf("%d changed items, want 100", len(d.Changed))
		}
	}
}
