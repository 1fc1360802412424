package transform

import (
	"image"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// flip mirrors the image and its objects. Directions are named plainly:
// "left_right" swaps left and right (the usual mirror augmentation),
// "up_down" turns the image upside down. DTL names these "vertical" and
// "horizontal" respectively (shared/docs/dtl.md §3); dsbuild does not
// accept DTL's names, so that nobody gets the swap by accident.
func init() {
	register(opSpec{
		Name: "flip",
		Doc:  `Mirrors the image and its objects: direction = "left_right" or "up_down".`,
		Attrs: []engine.AttrSpec{
			{Name: "direction", Type: tString, Required: true, Doc: `"left_right" (mirror) or "up_down"`},
			{Name: "probability", Type: tNumber, Doc: "flip only this share of the items (drawn per item); default 1"},
		},
		Build: func(p params) (Op, error) {
			d := p.str("direction")
			if d != "left_right" && d != "up_down" {
				hint := ""
				switch d {
				case "vertical":
					hint = ` (DTL's "vertical" is dsbuild's "left_right")`
				case "horizontal":
					hint = ` (DTL's "horizontal" is dsbuild's "up_down")`
				}
				return nil, badParam("direction", "is %q; use \"left_right\" or \"up_down\"%s", d, hint)
			}
			prob, err := p.probability("probability", 1)
			if err != nil {
				return nil, err
			}
			return flipOp{leftRight: d == "left_right", probability: prob}, nil
		},
	})
}

type flipOp struct {
	leftRight   bool
	probability float64
}

func (o flipOp) Apply(it *Item) ([]*Item, error) {
	if o.probability < 1 && it.Rand.Float64() >= o.probability {
		return []*Item{it}, nil
	}
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewRGBA(img.Rect)
	for y := 0; y < h; y++ {
		dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
		if !o.leftRight {
			copy(dst, img.Pix[(h-1-y)*img.Stride:])
			continue
		}
		src := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			s := src[4*(w-1-x) : 4*(w-1-x)+4]
			copy(dst[4*x:4*x+4], s)
		}
	}
	it.SetPixels(out)
	for i := range it.Ann.Objects {
		it.Ann.Objects[i] = flipObject(it.Ann.Objects[i], w, h, o.leftRight)
	}
	return []*Item{it}, nil
}

// flipObject mirrors one object in a w×h image.
func flipObject(ob dataset.Object, w, h int, leftRight bool) dataset.Object {
	switch ob.Shape {
	case dataset.ShapeBitmap:
		m := ob.Mask
		f, _ := dataset.NewMask(m.W, m.H)
		for y := 0; y < m.H; y++ {
			for x := 0; x < m.W; x++ {
				if m.Bits[y*m.W+x] == 0 {
					continue
				}
				if leftRight {
					f.Bits[y*m.W+(m.W-1-x)] = 1
				} else {
					f.Bits[(m.H-1-y)*m.W+x] = 1
				}
			}
		}
		if leftRight {
			ob.Origin.X = w - ob.Origin.X - m.W
		} else {
			ob.Origin.Y = h - ob.Origin.Y - m.H
		}
		ob.Mask = f
	case dataset.ShapePolygon:
		fp := func(pts []dataset.Point) []dataset.Point {
			out := make([]dataset.Point, len(pts))
			for i, p := range pts {
				if leftRight {
					p.X = float64(w) - p.X
				} else {
					p.Y = float64(h) - p.Y
				}
				out[i] = p
			}
			return out
		}
		poly := dataset.Polygon{Exterior: fp(ob.Polygon.Exterior)}
		for _, hole := range ob.Polygon.Holes {
			poly.Holes = append(poly.Holes, fp(hole))
		}
		ob.Polygon = poly
	case dataset.ShapeRectangle:
		r := ob.Rect
		if leftRight {
			ob.Rect = image.Rect(w-r.Max.X, r.Min.Y, w-r.Min.X, r.Max.Y)
		} else {
			ob.Rect = image.Rect(r.Min.X, h-r.Max.Y, r.Max.X, h-r.Min.Y)
		}
	}
	return ob
}
