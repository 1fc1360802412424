package transform

import (
	"fmt"
	"image"
	"strings"
	"testing"
)

func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "sliding_window", map[string]any{"window_width": 4, "window_height": 4, "min_overlap_x": 1})
	it := testItem(10, 6, rectMask("m", image.Rect(0, 0, 2, 2)), rectObj("r", image.Rect(5, 3, 7, 5)))
	before, _ := it.Pixels()
	out, err := op.Apply(it)
	if err != nil || len(out) != 6 {
		t.Fatalf("Apply = %d items, %v; want 6 (x 0,3,6; y 0,2)", len(out), err)
	}
	starts := []image.Point{{0, 0}, {3, 0}, {6, 0}, {0, 2}, {3, 2}, {6, 2}}
	for i, o := range out {
		if want := fmt.Sprintf("ds/item__%d.jpg", i+1); o.Name != want {
			t.Errorf("window %d named %s, want %s", i, o.Name, want)
		}
		img, _ := o.Pixels()
		if img.Rect != image.Rect(0, 0, 4, 4) || img.RGBAAt(0, 0) != before.RGBAAt(starts[i].X, starts[i].Y) {
			t.Errorf("window %d: %v, not at %v", i, img.Rect, starts[i])
		}
	}
	if n := len(out[0].Ann.Objects); n != 1 {
		t.Errorf("window 1 has %d objects, want the bitmap", n)
	}
	if obs := out[4].Ann.Objects; len(obs) != 1 || obs[0].Rect != image.Rect(2, 1, 4, 3) {
		t.Errorf("window 5 objects %+v, want the rectangle at (2,1)-(4,3)", obs)
	}
	if obs := out[5].Ann.Objects; len(obs) != 1 || obs[0].Rect != image.Rect(0, 1, 1, 3) {
		t.Errorf("window 6 objects %+v, want the rectangle clipped to (0,1)-(1,3)", obs)
	}
	// The image's own size: one window.
	if o, err := mustBuild(t, "sliding_window", map[string]any{"window_width": 10, "window_height": 6}).Apply(testItem(10, 6)); err != nil || len(o) != 1 {
		t.Errorf("whole-image window = %d items, %v", len(o), err)
	}
	if _, err := mustBuild(t, "sliding_window", map[string]any{"window_width": 11, "window_height": 2}).Apply(testItem(10, 6)); err == nil || !strings.Contains(err.Error(), "larger than the 10x6 image") {
		t.Errorf("window larger than the image: %v", err)
	}
	if _, err := mustBuild(t, "sliding_window", map[string]any{"window_width": 1, "window_height": 1}).Apply(testItem(0, 0)); err == nil {
		t.Errorf("window on an empty image did not fail")
	}
	geoBadParams(t, "sliding_window", []geoBadCase{
		{map[string]any{"window_width": 0, "window_height": 4}, "window_width", "at least 1"},
		{map[string]any{"window_width": 4}, "", "window_height is missing"},
		{map[string]any{"window_width": 4, "window_height": 4, "min_overlap_y": -1}, "min_overlap_y", "must not be negative"},
		{map[string]any{"window_width": 4, "window_height": 4, "min_overlap_x": 4}, "min_overlap_x", "less than window_width"},
		{map[string]any{"window_width": 4, "window_height": 4, "min_overlap_y": 5}, "min_overlap_y", "less than window_height"},
	})
}
