package dataset_test

import (
	"image"
	"path/filepath"
	"reflect"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
)

func rectObject(class string, r image.Rectangle) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapeRectangle, Rect: r}
}

func buildDS(t *testing.T, s *cache.Store, items map[string]*dataset.Annotation, images map[string]string) *dataset.Dataset {
	t.Helper()
	b := dataset.NewBuilder(s)
	for name, a := range items {
		img := images[name]
		if img == "" {
			img = "image of " + name
		}
		d, err := s.PutBytes([]byte(img))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Add(name, d, int64(len(img)), a); err != nil {
			t.Fatal(err)
		}
	}
	meta := &dataset.Meta{}
	for _, a := range items {
		for _, o := range a.Objects {
			meta.AddClass(dataset.Class{Title: o.Class, Shape: dataset.ShapeRectangle})
		}
		for _, tg := range a.Tags {
			meta.AddTag(dataset.TagMeta{Name: tg.Name})
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDiff(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "s"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	ann := func(tags []string, objs ...dataset.Object) *dataset.Annotation {
		a := &dataset.Annotation{Width: 20, Height: 20, Objects: objs}
		for _, tg := range tags {
			a.Tags = append(a.Tags, dataset.Tag{Name: tg})
		}
		return a
	}
	a := buildDS(t, s, map[string]*dataset.Annotation{
		"d/same.jpg":    ann(nil, rectObject("person", image.Rect(0, 0, 5, 5))),
		"d/gone.jpg":    ann(nil, rectObject("person", image.Rect(0, 0, 5, 5))),
		"d/changed.jpg": ann([]string{"train"}, rectObject("person", image.Rect(0, 0, 10, 10)), rectObject("person", image.Rect(12, 12, 14, 14)), rectObject("car", image.Rect(10, 0, 20, 5))),
		"d/repixel.jpg": ann(nil),
	}, nil)
	b := buildDS(t, s, map[string]*dataset.Annotation{
		"d/same.jpg":    ann(nil, rectObject("person", image.Rect(0, 0, 5, 5))),
		"d/new.jpg":     ann(nil, rectObject("rider", image.Rect(1, 1, 3, 3))),
		"d/changed.jpg": ann([]string{"val"}, rectObject("person", image.Rect(0, 0, 10, 9)), rectObject("truck", image.Rect(10, 0, 20, 5)), rectObject("person", image.Rect(15, 15, 20, 20))),
		"d/repixel.jpg": ann(nil),
	}, map[string]string{"d/repixel.jpg": "other pixels"})

	d, err := dataset.Diff(s, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Added, []string{"d/new.jpg"}) || !reflect.DeepEqual(d.Removed, []string{"d/gone.jpg"}) {
		t.Errorf("added %v, removed %v", d.Added, d.Removed)
	}
	if len(d.Changed) != 2 || d.Changed[0].Name != "d/changed.jpg" || d.Changed[1].Name != "d/repixel.jpg" || !d.Changed[1].ImageChanged || d.Changed[0].ImageChanged {
		t.Fatalf("changed = %+v", d.Changed)
	}
	c := d.Changed[0]
	if len(c.Modified) != 2 {
		t.Fatalf("modified = %+v, want the shrunk person (IoU 0.9) and car→truck", c.Modified)
	}
	if m := c.Modified[0]; m.B.Class != "truck" || m.A.Class != "car" || m.IoU != 1 {
		t.Errorf("first modification = %+v, want car→truck at IoU 1", m)
	}
	if m := c.Modified[1]; m.A.Class != "person" || m.IoU != 0.9 {
		t.Errorf("second modification = %+v, want a person at IoU 0.9", m)
	}
	if len(c.Removed) != 1 || c.Removed[0].Box != [4]int{12, 12, 14, 14} || len(c.Added) != 1 || c.Added[0].Box != [4]int{15, 15, 20, 20} {
		t.Errorf("objects removed %+v, added %+v", c.Removed, c.Added)
	}
	if !reflect.DeepEqual(c.TagsAdded, []string{"val"}) || !reflect.DeepEqual(c.TagsRemoved, []string{"train"}) {
		t.Errorf("tags added %v, removed %v", c.TagsAdded, c.TagsRemoved)
	}
	want := map[string]int{"car": -1, "truck": 1, "rider": 1, "person": -1}
	if !reflect.DeepEqual(d.ClassDeltas, want) {
		t.Errorf("class deltas = %v, want %v", d.ClassDeltas, want)
	}
	if !reflect.DeepEqual(d.ClassesOnlyInA, []string{"car"}) || !reflect.DeepEqual(d.ClassesOnlyInB, []string{"rider", "truck"}) {
		t.Errorf("classes only in A %v, only in B %v", d.ClassesOnlyInA, d.ClassesOnlyInB)
	}
	if same, _ := dataset.Diff(s, a, a); !same.Empty() || len(same.ClassDeltas) != 0 {
		t.Errorf("a dataset differs from itself: %+v", same)
	}
}
