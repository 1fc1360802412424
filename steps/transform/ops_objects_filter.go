package transform

import (
	"image"
	"math"
	"slices"

	"dsbuild/dataset"
	"dsbuild/engine"
)

func init() {
	register(opSpec{
		Name: "objects_filter",
		Doc: "Drops the objects whose bounding box or area fails a bound. Boxes and areas are measured inside the " +
			"image, in pixels (a polygon's area is the number of pixel centres it covers).",
		Attrs: []engine.AttrSpec{
			{Name: "min_width", Type: tNumber, Doc: "drop objects whose box is narrower (pixels)"},
			{Name: "min_height", Type: tNumber, Doc: "drop objects whose box is lower (pixels)"},
			{Name: "max_width", Type: tNumber, Doc: "drop objects whose box is wider (pixels)"},
			{Name: "max_height", Type: tNumber, Doc: "drop objects whose box is higher (pixels)"},
			{Name: "min_area_share", Type: tNumber, Doc: "drop objects whose area is a smaller share of the image area (0–1)"},
			{Name: "max_area_share", Type: tNumber, Doc: "drop objects whose area is a larger share of the image area (0–1)"},
			{Name: "classes", Type: tStringList, Doc: "filter only the objects of these classes; default all"},
		},
		Build: buildObjectsFilter,
	})
}

// objects_filter replaces DTL's filter_by {polygon_sizes {filtering_classes,
// area_size, action, comparator}} with plain bounds: "less" than {width,
// height} (either side) is min_width/min_height, "greater" is
// max_width/max_height, area_size {percent} is min_area_share or
// max_area_share as a fraction. Several bounds may be given at once; the
// action is always delete (DTL refuses remap_class anyway); classes is
// optional (DTL's filtering_classes is required). Boxes and areas are
// measured inside the image, in pixels.

type objectsFilterOp struct {
	minW, minH, maxW, maxH int     // -1: no bound
	minShare, maxShare     float64 // -1: no bound
	classes                []string
}

func buildObjectsFilter(p params) (Op, error) {
	o := &objectsFilterOp{minW: -1, minH: -1, maxW: -1, maxH: -1, minShare: -1, maxShare: -1, classes: p.strs("classes")}
	given := false
	for _, f := range []struct {
		name string
		dst  *int
	}{{"min_width", &o.minW}, {"min_height", &o.minH}, {"max_width", &o.maxW}, {"max_height", &o.maxH}} {
		if !p.has(f.name) {
			continue
		}
		v, err := p.integer(f.name)
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, badParam(f.name, "must not be negative")
		}
		*f.dst, given = v, true
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"min_area_share", &o.minShare}, {"max_area_share", &o.maxShare}} {
		if !p.has(f.name) {
			continue
		}
		v := p.num(f.name)
		if math.IsNaN(v) || v < 0 || v > 1 {
			return nil, badParam(f.name, "must be a fraction between 0 and 1 (0.05 is 5%% of the image)")
		}
		*f.dst, given = v, true
	}
	switch {
	case !given:
		return nil, badParam("", "give at least one of min_width, min_height, max_width, max_height, min_area_share, max_area_share")
	case o.maxW >= 0 && o.minW > o.maxW:
		return nil, badParam("min_width", "is more than max_width")
	case o.maxH >= 0 && o.minH > o.maxH:
		return nil, badParam("min_height", "is more than max_height")
	case o.maxShare >= 0 && o.minShare > o.maxShare:
		return nil, badParam("min_area_share", "is more than max_area_share")
	}
	return o, nil
}

func (o *objectsFilterOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	return metaWithClasses(in, o.classes)
}

func (o *objectsFilterOp) Apply(it *Item) ([]*Item, error) {
	w, h := it.Ann.Width, it.Ann.Height
	img := image.Rect(0, 0, w, h)
	var kept []dataset.Object
	for i := range it.Ann.Objects {
		ob := &it.Ann.Objects[i]
		if len(o.classes) > 0 && !slices.Contains(o.classes, ob.Class) {
			kept = append(kept, *ob)
			continue
		}
		b := ob.Bounds().Intersect(img)
		bw, bh := b.Dx(), b.Dy()
		drop := (o.minW >= 0 && bw < o.minW) || (o.minH >= 0 && bh < o.minH) ||
			(o.maxW >= 0 && bw > o.maxW) || (o.maxH >= 0 && bh > o.maxH)
		if !drop && (o.minShare >= 0 || o.maxShare >= 0) {
			area, err := geoArea(ob, w, h)
			if err != nil {
				return nil, err
			}
			share := 0.0
			if w > 0 && h > 0 {
				share = float64(area) / (float64(w) * float64(h))
			}
			drop = (o.minShare >= 0 && share < o.minShare) || (o.maxShare >= 0 && share > o.maxShare)
		}
		if !drop {
			kept = append(kept, *ob)
		}
	}
	it.Ann.Objects = kept
	return []*Item{it}, nil
}
