package transform

import (
	"image"
	"strings"
	"testing"

	"dsbuild/dataset"
)

func TestObjectsFilter(t *testing.T) {
	t.Parallel()
	objs := func() *Item {
		return testItem(20, 10,
			rectMask("small", image.Rect(0, 0, 2, 2)),                                                          // 2x2, area 4 = 2%
			rectObj("big", image.Rect(0, 0, 10, 5)),                                                            // 10x5, area 50 = 25%
			geoPolyObj("tri", dataset.Point{X: 0, Y: 0}, dataset.Point{X: 4, Y: 0}, dataset.Point{X: 0, Y: 4}), // 4x4 box, 6 centres = 3%
			rectObj("half_out", image.Rect(15, 5, 30, 10)),                                                     // inside: 5x5
		)
	}
	classes := func(it *Item) string {
		var s []string
		for _, o := range it.Ann.Objects {
			s = append(s, o.Class)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		attrs map[string]any
		want  string
	}{
		{map[string]any{"min_width": 3}, "big,tri,half_out"},
		{map[string]any{"min_height": 5}, "big,half_out"},
		{map[string]any{"max_width": 5}, "small,tri,half_out"}, // half_out is 5 wide inside the image
		{map[string]any{"max_height": 4}, "small,tri"},
		{map[string]any{"min_area_share": 0.03}, "big,tri,half_out"},
		{map[string]any{"min_area_share": 0.031}, "big,half_out"},
		{map[string]any{"max_area_share": 0.2}, "small,tri,half_out"},
		{map[string]any{"min_width": 3, "classes": []string{"tri"}}, "small,big,tri,half_out"},
		{map[string]any{"min_width": 5, "classes": []string{"tri"}}, "small,big,half_out"},
	} {
		out := applyOne(t, mustBuild(t, "objects_filter", c.attrs), objs())
		if got := classes(out); got != c.want {
			t.Errorf("objects_filter %v kept %s, want %s", c.attrs, got, c.want)
		}
	}
	if out := applyOne(t, mustBuild(t, "objects_filter", map[string]any{"min_area_share": 0.5}), testItem(0, 0, rectMask("e", image.Rect(0, 0, 0, 0)))); len(out.Ann.Objects) != 0 {
		t.Errorf("empty object kept")
	}
	meta := &dataset.Meta{}
	meta.AddClass(dataset.Class{Title: "tri"})
	if _, err := mustBuild(t, "objects_filter", map[string]any{"min_width": 1, "classes": []string{"dog"}}).(MetaOp).Meta(meta); err == nil {
		t.Errorf("unknown class accepted")
	}
	geoBadParams(t, "objects_filter", []geoBadCase{
		{map[string]any{}, "", "give at least one of"},
		{map[string]any{"classes": []string{"a"}}, "", "give at least one of"},
		{map[string]any{"min_width": -1}, "min_width", "must not be negative"},
		{map[string]any{"max_height": 2.5}, "max_height", "whole number"},
		{map[string]any{"min_area_share": 1.5}, "min_area_share", "between 0 and 1"},
		{map[string]any{"min_width": 5, "max_width": 4}, "min_width", "more than max_width"},
		{map[string]any{"min_height": 5, "max_height": 4}, "min_height", "more than max_height"},
		{map[string]any{"min_area_share": 0.5, "max_area_share": 0.4}, "min_area_share", "more than max_area_share"},
	})
}
