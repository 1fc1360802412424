package transform

import (
	"image"
	"strings"
	"testing"

	"dsbuild/dataset"
)

func TestInstancesCrop(t *testing.T) {
	t.Parallel()
	op := mustBuild(t, "instances_crop", map[string]any{"classes": []string{"person"}, "save_classes": []string{"car"}, "pad": "50%", "pad_top": "0px"})
	it := testItem(20, 10,
		rectMask("person", image.Rect(2, 2, 6, 8)),
		rectMask("person", image.Rect(12, 1, 16, 5)),
		rectObj("car", image.Rect(4, 4, 14, 6)),
		rectMask("tree", image.Rect(0, 0, 20, 10)),
		rectMask("person", image.Rect(0, 0, 0, 0)), // empty: no crop
	)
	before, _ := it.Pixels()
	out, err := op.Apply(it)
	if err != nil || len(out) != 2 {
		t.Fatalf("Apply = %d items, %v; want 2", len(out), err)
	}
	if out[0].Name != "ds/item__1.jpg" || out[1].Name != "ds/item__2.jpg" {
		t.Errorf("names %s, %s", out[0].Name, out[1].Name)
	}
	// Person 1: box (2,2)-(6,8), 4x6: pads 2 left/right, 0 top, 3 bottom,
	// clipped to the image: (0,2)-(8,10).
	img, _ := out[0].Pixels()
	if img.Rect != image.Rect(0, 0, 8, 8) || img.RGBAAt(0, 0) != before.RGBAAt(0, 2) {
		t.Errorf("crop 1: %v, pixel (0,0) = %v", img.Rect, img.RGBAAt(0, 0))
	}
	obs := out[0].Ann.Objects
	if len(obs) != 2 || obs[0].Class != "car" || obs[0].Rect != image.Rect(4, 2, 8, 4) ||
		obs[1].Class != "person" || obs[1].Bounds() != image.Rect(2, 0, 6, 6) {
		t.Errorf("crop 1 objects: %+v", obs)
	}
	// Person 2: box (12,1)-(16,5): (10,1)-(18,7).
	img, _ = out[1].Pixels()
	obs = out[1].Ann.Objects
	if img.Rect != image.Rect(0, 0, 8, 6) || img.RGBAAt(0, 0) != before.RGBAAt(10, 1) {
		t.Errorf("crop 2: %v", img.Rect)
	}
	if len(obs) != 2 || obs[0].Rect != image.Rect(0, 3, 4, 5) || obs[1].Bounds() != image.Rect(2, 0, 6, 4) || geoMaskArea(t, obs[1]) != 16 {
		t.Errorf("crop 2 objects: %+v", obs)
	}
	// The input keeps its objects.
	if len(it.Ann.Objects) != 5 {
		t.Errorf("the input item lost objects")
	}

	// No instance: nothing.
	if o, err := op.Apply(testItem(5, 5, rectObj("car", image.Rect(0, 0, 2, 2)))); err != nil || len(o) != 0 {
		t.Errorf("no instances = %d items, %v", len(o), err)
	}

	meta := &dataset.Meta{}
	for _, c := range []string{"car", "person", "tree"} {
		meta.AddClass(dataset.Class{Title: c, Shape: dataset.ShapeAny})
	}
	m, err := op.(MetaOp).Meta(meta)
	if err != nil || len(m.Classes) != 2 || m.Classes[0].Title != "car" || m.Classes[1].Title != "person" {
		t.Errorf("Meta = %+v, %v; want car, person", m, err)
	}
	op2 := mustBuild(t, "instances_crop", map[string]any{"classes": []string{"dog"}})
	if _, err := op2.(MetaOp).Meta(meta); err == nil || !strings.Contains(err.Error(), `"dog"`) {
		t.Errorf("missing class: %v", err)
	}

	geoBadParams(t, "instances_crop", []geoBadCase{
		{map[string]any{"classes": []string{}}, "classes", "is empty"},
		{map[string]any{"classes": []string{"a"}, "save_classes": []string{"b", "a"}}, "save_classes", `"a" is in both`},
		{map[string]any{"classes": []string{"a"}, "pad": "ten"}, "pad", `write "<int>px"`},
		{map[string]any{"classes": []string{"a"}, "pad_left": "-1px"}, "pad_left", "must not be negative"},
	})
}
