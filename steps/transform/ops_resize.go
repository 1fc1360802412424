package transform

import (
	"fmt"
	"image"
	"math"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/dataset"
	"dsbuild/engine"
)

func init() {
	register(opSpec{
		Name: "resize",
		Doc: "Resizes the image (bilinear) and its objects (bitmaps by nearest pixel centre, so they stay binary). " +
			"With keep_aspect and both sides, the image is fitted inside and padded, centred, with black (letterbox); " +
			"with keep_aspect and one side, the other is scaled proportionally.",
		Attrs: []engine.AttrSpec{
			{Name: "width", Type: tNumber, Doc: "new width in pixels; -1 or absent: proportional (needs keep_aspect)"},
			{Name: "height", Type: tNumber, Doc: "new height in pixels; -1 or absent: proportional (needs keep_aspect)"},
			{Name: "keep_aspect", Type: tBool, Default: cty.False, Doc: "keep the aspect ratio; default false"},
		},
		Build: buildResize,
	})
}

// resize follows DTL's resize; DTL's aspect_ratio {keep} is keep_aspect,
// and an absent side means -1. Departures: the letterbox padding is opaque
// black; bitmaps are resampled by nearest pixel centre (output pixel x
// takes source pixel floor((x+½)·W/w)), rectangles map to exactly the pixels
// their raster would, and polygons are scaled, so the three agree.

type resizeOp struct {
	w, h int // -1: proportional
	keep bool
}

func buildResize(p params) (Op, error) {
	o := &resizeOp{w: -1, h: -1, keep: p.boolean("keep_aspect")}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"width", &o.w}, {"height", &o.h}} {
		if !p.has(f.name) {
			continue
		}
		v, err := p.integer(f.name)
		if err != nil {
			return nil, err
		}
		if v == 0 || v < -1 {
			return nil, badParam(f.name, "must be positive (or -1 for proportional, with keep_aspect = true)")
		}
		*f.dst = v
	}
	switch {
	case o.w < 0 && o.h < 0:
		return nil, badParam("", "give width, height or both")
	case o.w < 0 && !o.keep:
		return nil, badParam("", "width is missing or -1; give it, or set keep_aspect = true to scale it proportionally")
	case o.h < 0 && !o.keep:
		return nil, badParam("", "height is missing or -1; give it, or set keep_aspect = true to scale it proportionally")
	case o.w > 0 && o.h > 0 && geoCheckSize(int64(o.w), int64(o.h)) != nil:
		return nil, badParam("width", "× height is more than %d pixels", dataset.MaxPixels)
	}
	return o, nil
}

// geoRoundDiv is a/b rounded half up, for a ≥ 0, b > 0.
func geoRoundDiv(a, b int64) int64 { return (2*a + b) / (2 * b) }

// layout returns the output size tw×th and the scaled image's size iw×ih
// and offset (ox, oy) in it.
func (o *resizeOp) layout(w, h int64) (tw, th, iw, ih, ox, oy int64) {
	switch {
	case o.w > 0 && o.h > 0 && !o.keep:
		tw, th = int64(o.w), int64(o.h)
		iw, ih = tw, th
	case o.w > 0 && o.h > 0: // letterbox
		tw, th = int64(o.w), int64(o.h)
		if tw*h <= th*w {
			iw, ih = tw, min(max(1, geoRoundDiv(h*tw, w)), th)
		} else {
			iw, ih = min(max(1, geoRoundDiv(w*th, h)), tw), th
		}
		ox, oy = (tw-iw)/2, (th-ih)/2
	case o.w > 0:
		iw = int64(o.w)
		ih = max(1, geoRoundDiv(h*iw, w))
		tw, th = iw, ih
	default:
		ih = int64(o.h)
		iw = max(1, geoRoundDiv(w*ih, h))
		tw, th = iw, ih
	}
	return
}

// geoScaleEdge maps pixel edge a of a src-long side to dst pixels: the
// output pixels x whose nearest source pixel floor((x+½)·src/dst) is at or
// after a are those from geoScaleEdge(a) on.
func geoScaleEdge(a, src, dst int64) int64 {
	n, d := 2*a*dst-src, 2*src
	q := n / d
	if n%d != 0 && n > 0 {
		q++
	}
	return q
}

// geoTaps returns the bilinear source positions of dst pixels resampled from
// src pixels, pixel centres aligned: (i+½)·src/dst − ½.
func geoTaps(src, dst int64) []int64 {
	out := make([]int64, dst)
	for i := int64(0); i < dst; i++ {
		num := (2*i + 1) * src
		q, rem := num/(2*dst), num%(2*dst)
		out[i] = q<<16 + rem<<16/(2*dst) - 1<<15
	}
	return out
}

// geoTap is one output column's or row's bilinear source: the two pixel
// indices it blends and the weight of the second, in 16 fractional bits.
type geoTap struct {
	i0, i1 int
	a      int64
}

// geoClampTaps turns geoTaps' positions over n source pixels into taps,
// clamped to the edges as geoSample clamps them.
func geoClampTaps(pos []int64, n int64) []geoTap {
	out := make([]geoTap, len(pos))
	for i, f := range pos {
		f = min(max(f, 0), (n-1)<<16)
		i0 := f >> 16
		out[i] = geoTap{int(i0), int(min(i0+1, n-1)), f & 0xffff}
	}
	return out
}

// geoResample writes into out, from (ox, oy) on, the bilinear samples of
// img at the positions xs × ys, with geoSample's arithmetic: the products
// are exact integers, summed before the one rounding shift, so blending
// each output row's two source rows first (once per source column) and
// then its columns gives geoSample's bytes, pixel for pixel.
func geoResample(img, out *image.RGBA, xs, ys []int64, ox, oy int) {
	w := img.Rect.Dx()
	cols := geoClampTaps(xs, int64(w))
	rows := geoClampTaps(ys, int64(img.Rect.Dy()))
	v := make([]int64, 4*w) // the current output row's vertical blend
	for y, ty := range rows {
		r0 := img.Pix[ty.i0*img.Stride : ty.i0*img.Stride+4*w]
		r1 := img.Pix[ty.i1*img.Stride : ty.i1*img.Stride+4*w]
		ay, by := ty.a, 65536-ty.a
		for i := range v {
			v[i] = int64(r0[i])*by + int64(r1[i])*ay
		}
		dst := out.Pix[(y+oy)*out.Stride+4*ox:]
		dst = dst[:4*len(cols)]
		for x, tx := range cols {
			ax, bx := tx.a, 65536-tx.a
			p, q := v[4*tx.i0:4*tx.i0+4], v[4*tx.i1:4*tx.i1+4]
			d := dst[4*x : 4*x+4]
			d[0] = uint8((p[0]*bx + q[0]*ax + 1<<31) >> 32)
			d[1] = uint8((p[1]*bx + q[1]*ax + 1<<31) >> 32)
			d[2] = uint8((p[2]*bx + q[2]*ax + 1<<31) >> 32)
			d[3] = uint8((p[3]*bx + q[3]*ax + 1<<31) >> 32)
		}
	}
}

func (o *resizeOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := int64(img.Rect.Dx()), int64(img.Rect.Dy())
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("cannot resize an empty (%dx%d) image", w, h)
	}
	tw, th, iw, ih, ox, oy := o.layout(w, h)
	if err := geoCheckSize(tw, th); err != nil {
		return nil, err
	}
	objs, err := geoCropObjects(it.Ann.Objects, img.Rect)
	if err != nil {
		return nil, err
	}
	out := image.NewRGBA(image.Rect(0, 0, int(tw), int(th)))
	if iw != tw || ih != th {
		for i := 3; i < len(out.Pix); i += 4 {
			out.Pix[i] = 255 // opaque black padding
		}
	}
	geoResample(img, out, geoTaps(w, iw), geoTaps(h, ih), int(ox), int(oy))
	scaled := objs[:0]
	for _, ob := range objs {
		if ob, ok, err := geoScaleObject(ob, w, h, iw, ih, ox, oy); err != nil {
			return nil, err
		} else if ok {
			scaled = append(scaled, ob)
		}
	}
	it.Ann.Objects = scaled
	it.SetPixels(out)
	return []*Item{it}, nil
}

// geoScaleObject scales an object inside a w×h image to iw×ih and moves it
// by (ox, oy).
func geoScaleObject(ob dataset.Object, w, h, iw, ih, ox, oy int64) (dataset.Object, bool, error) {
	switch ob.Shape {
	case dataset.ShapeBitmap:
		m := ob.Mask
		mx, my := int64(ob.Origin.X), int64(ob.Origin.Y)
		x0, x1 := geoScaleEdge(mx, w, iw), geoScaleEdge(mx+int64(m.W), w, iw)
		y0, y1 := geoScaleEdge(my, h, ih), geoScaleEdge(my+int64(m.H), h, ih)
		if x0 >= x1 || y0 >= y1 {
			return ob, false, nil
		}
		nm, err := dataset.NewMask(int(x1-x0), int(y1-y0))
		if err != nil {
			return ob, false, err
		}
		cols := make([]int, x1-x0)
		for x := x0; x < x1; x++ {
			cols[x-x0] = int((2*x+1)*w/(2*iw) - mx)
		}
		for y := y0; y < y1; y++ {
			sy := int((2*y+1)*h/(2*ih) - my)
			src := m.Bits[sy*m.W : (sy+1)*m.W]
			dst := nm.Bits[int(y-y0)*nm.W:]
			for i, sx := range cols {
				if src[sx] != 0 {
					dst[i] = 1
				}
			}
		}
		t, at, ok := nm.Tight(image.Pt(int(x0+ox), int(y0+oy)))
		if !ok {
			return ob, false, nil
		}
		ob.Mask, ob.Origin = t, at
	case dataset.ShapeRectangle:
		r := ob.Rect
		ob.Rect = image.Rect(
			int(geoScaleEdge(int64(r.Min.X), w, iw)), int(geoScaleEdge(int64(r.Min.Y), h, ih)),
			int(geoScaleEdge(int64(r.Max.X), w, iw)), int(geoScaleEdge(int64(r.Max.Y), h, ih)),
		).Add(image.Pt(int(ox), int(oy)))
		if ob.Rect.Empty() {
			return ob, false, nil
		}
	case dataset.ShapePolygon:
		sx, sy := float64(iw)/float64(w), float64(ih)/float64(h)
		fx, fy := float64(ox), float64(oy)
		ob.Polygon = geoMapPolygon(ob.Polygon, func(p dataset.Point) dataset.Point {
			return dataset.Point{X: float64(p.X*sx) + fx, Y: float64(p.Y*sy) + fy}
		})
		if math.Abs(geoRingArea(ob.Polygon.Exterior)) < 1e-9 {
			return ob, false, nil
		}
	}
	return ob, true, nil
}
