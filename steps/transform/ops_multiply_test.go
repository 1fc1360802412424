package transform

import (
	"image"
	"testing"
)

func TestMultiply(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "multiply", map[string]any{"times": 3})
	it := testItem(4, 4, rectMask("m", image.Rect(0, 0, 2, 2)))
	out, err := op.Apply(it)
	if err != nil || len(out) != 3 {
		t.Fatalf("Apply = %d items, %v; want 3", len(out), err)
	}
	if out[0] != it || out[1].Name != "ds/item__1.jpg" || out[2].Name != "ds/item__2.jpg" {
		t.Errorf("items %s, %s, %s", out[0].Name, out[1].Name, out[2].Name)
	}
	// Copies share nothing mutable.
	img, _ := out[1].Pixels()
	img.Pix[0] = 1
	out[1].Ann.Objects = nil
	if orig, _ := it.Pixels(); orig.Pix[0] == 1 || len(out[2].Ann.Objects) != 1 || len(it.Ann.Objects) != 1 {
		t.Errorf("a copy shares pixels or objects")
	}
	if o, _ := mustBuild(t, "multiply", map[string]any{"times": 1}).Apply(it); len(o) != 1 || o[0] != it {
		t.Errorf("times = 1 did not pass the item through")
	}
	geoBadParams(t, "multiply", []geoBadCase{
		{map[string]any{"times": 0}, "times", "at least 1"},
		{map[string]any{"times": 1.5}, "times", "whole number"},
		{map[string]any{"times": 1000000}, "times", "at most"},
	})
}
