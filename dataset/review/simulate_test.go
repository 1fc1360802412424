package review

import (
	"testing"

	"dsbuild/dataset"
)

// TestSimulateReturnsIoU: Simulate returns, per item, the IoU its verdict
// was given by: 1 for a match and for an image where neither side has a
// person, 0 for disjoint masks, 8/16 for half a block, and truth objects of
// classes not in the review are not counted.
func TestSimulateReturnsIoU(t *testing.T) {
	item := func(name string, objs ...dataset.Object) Item {
		return Item{Name: name, Ann: &dataset.Annotation{Width: W, Height: H, Objects: objs}}
	}
	items := []Item{
		item("ds/a.png", bitmap("person", block(4, 4), 2, 2)),
		item("ds/b.png", bitmap("person", block(3, 3), 0, 0)),
		item("ds/c.png"),
		item("ds/d.png", bitmap("person", block(4, 4), 2, 2)),
	}
	truth := map[string]*dataset.Annotation{
		"ds/a.png": {Width: W, Height: H, Objects: []dataset.Object{bitmap("person", block(4, 4), 2, 2), poly("tree", 0, 0, 3, 0, 3, 3)}},
		"ds/b.png": {Width: W, Height: H, Objects: []dataset.Object{bitmap("person", block(3, 3), 8, 6)}},
		"ds/c.png": {Width: W, Height: H},
		"ds/d.png": {Width: W, Height: H, Objects: []dataset.Object{bitmap("person", block(4, 2), 2, 2)}},
	}
	got, err := Simulate(items, testClasses, truth, 0.8, 0.2, FormatCVAT, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"ds/a.png": 1, "ds/b.png": 0, "ds/c.png": 1, "ds/d.png": 0.5}
	if len(got) != len(want) {
		t.Fatalf("IoU of %d items, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if v, ok := got[name]; !ok || v != w {
			t.Errorf("%s: IoU %v (present %v), want %v", name, v, ok, w)
		}
	}
}
