package transform

import (
	"slices"

	"dsbuild/dataset"
	"dsbuild/engine"
)

func init() {
	register(opSpec{
		Name: "drop_noise",
		Doc: "Drops the bitmap and polygon objects whose area, in pixels inside the image, is below min_area " +
			"(polygons are rasterised to measure). Rectangles are kept.",
		Attrs: []engine.AttrSpec{
			{Name: "min_area", Type: tNumber, Required: true, Doc: "least area in pixels, at least 1"},
			{Name: "classes", Type: tStringList, Doc: "filter only the objects of these classes; default all"},
		},
		Build: func(p params) (Op, error) {
			n, err := p.intAtLeast("min_area", 1)
			if err != nil {
				return nil, err
			}
			return dropNoiseOp{minArea: n, classes: p.strs("classes")}, nil
		},
	})
}

// drop_noise departs from DTL's drop_noise, which removes small connected
// parts inside each bitmap (skimage remove_small_objects), with min_area in
// pixels or percent of the image or box (src_type): dsbuild's drops whole
// bitmap and polygon objects smaller than min_area pixels, and classes is
// optional. To remove small parts of a bitmap, split it into its
// components first (split_masks, then drop_noise).

type dropNoiseOp struct {
	minArea int
	classes []string
}

func (o dropNoiseOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	return metaWithClasses(in, o.classes)
}

func (o dropNoiseOp) Apply(it *Item) ([]*Item, error) {
	var kept []dataset.Object
	for i := range it.Ann.Objects {
		ob := &it.Ann.Objects[i]
		if (ob.Shape == dataset.ShapeBitmap || ob.Shape == dataset.ShapePolygon) &&
			(len(o.classes) == 0 || slices.Contains(o.classes, ob.Class)) {
			area, err := geoArea(ob, it.Ann.Width, it.Ann.Height)
			if err != nil {
				return nil, err
			}
			if area < o.minArea {
				continue
			}
		}
		kept = append(kept, *ob)
	}
	it.Ann.Objects = kept
	return []*Item{it}, nil
}
