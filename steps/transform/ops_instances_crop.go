package transform

import (
	"image"
	"slices"

	"dsbuild/dataset"
	"dsbuild/engine"
)

func init() {
	register(opSpec{
		Name: "instances_crop",
		Doc: "Makes one item per object of the given classes: the image cropped to the object's box plus padding, " +
			"holding that object and the objects of save_classes clipped to the crop. The input item is left out; " +
			"the output classes are classes and save_classes.",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Required: true, Doc: "classes of the objects to crop around"},
			{Name: "save_classes", Type: tStringList, Doc: "classes of other objects to keep in the crops (none of classes)"},
			{Name: "pad", Type: tString, Doc: `padding on every side: "<int>px" or "<int>%" of the object's box width (left, right) or height (top, bottom); default "0px"`},
			{Name: "pad_left", Type: tString, Doc: "padding on the left, instead of pad"},
			{Name: "pad_top", Type: tString, Doc: "padding on the top, instead of pad"},
			{Name: "pad_right", Type: tString, Doc: "padding on the right, instead of pad"},
			{Name: "pad_bottom", Type: tString, Doc: "padding on the bottom, instead of pad"},
		},
		Build: buildInstancesCrop,
	})
}

// instances_crop follows DTL's instances_crop; DTL's pad {sides: {left, …}}
// is one pad for all sides plus pad_left, pad_top, pad_right, pad_bottom.
// Negative padding is an error. As in DTL, a crop holds the instance and the
// objects of save_classes (other instances of classes are left out), the
// crop is clipped to the image, and an instance wholly outside the image
// makes no item.

type instancesCropOp struct {
	classes, save []string
	pad           [4]geoAmount // left, top, right, bottom
}

func buildInstancesCrop(p params) (Op, error) {
	o := &instancesCropOp{classes: p.strs("classes"), save: p.strs("save_classes")}
	if len(o.classes) == 0 {
		return nil, badParam("classes", "is empty")
	}
	for _, c := range o.save {
		if slices.Contains(o.classes, c) {
			return nil, badParam("save_classes", "must not repeat classes (%q is in both)", c)
		}
	}
	if p.has("pad") {
		a, err := parseGeoAmount(p, "pad", -1)
		if err != nil {
			return nil, err
		}
		o.pad = [4]geoAmount{a, a, a, a}
	}
	for i, n := range []string{"pad_left", "pad_top", "pad_right", "pad_bottom"} {
		if p.has(n) {
			a, err := parseGeoAmount(p, n, -1)
			if err != nil {
				return nil, err
			}
			o.pad[i] = a
		}
	}
	return o, nil
}

func (o *instancesCropOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	keep := append(slices.Clone(o.classes), o.save...)
	if err := mustHaveClasses(in, keep); err != nil {
		return nil, err
	}
	out := &dataset.Meta{Tags: in.Tags}
	for _, c := range in.Classes {
		if slices.Contains(keep, c.Title) {
			out.AddClass(c)
		}
	}
	return out, nil
}

func (o *instancesCropOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	var saved []dataset.Object
	for _, ob := range it.Ann.Objects {
		if slices.Contains(o.save, ob.Class) {
			saved = append(saved, ob)
		}
	}
	var out []*Item
	for _, ob := range it.Ann.Objects {
		if !slices.Contains(o.classes, ob.Class) {
			continue
		}
		b := ob.Bounds()
		if b.Empty() {
			continue
		}
		bw, bh := b.Dx(), b.Dy()
		r := image.Rect(b.Min.X-o.pad[0].of(bw), b.Min.Y-o.pad[1].of(bh), b.Max.X+o.pad[2].of(bw), b.Max.Y+o.pad[3].of(bh)).Intersect(img.Rect)
		if r.Empty() {
			continue // the object lies outside the image
		}
		c := geoDerive(it)
		// As in DTL: the kept objects, then the instance.
		c.Ann.Objects = append(slices.Clone(saved), ob)
		if err := geoCrop(c, img, r); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
