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
	// In place: the item's own pixels (EditPixels).
	img, err := it.EditPixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if o.leftRight {
		for y := 0; y < h; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for l, r := 0, 4*(w-1); l < r; l, r = l+4, r-4 {
				a, b := row[l:l+4:l+4], row[r:r+4:r+4]
				a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3] = b[0], b[1], b[2], b[3], a[0], a[1], a[2], a[3]
			}
		}
	} else {
		tmp := make([]uint8, 4*w)
		for t, b := 0, h-1; t < b; t, b = t+1, b-1 {
			top := img.Pix[t*img.Stride : t*img.Stride+4*w]
			bot := img.Pix[b*img.Stride : b*img.Stride+4*w]
			copy(tmp, top)
			copy(top, bot)
			copy(bot, tmp)
		}
	}
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
