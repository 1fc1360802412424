package transform

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"dsbuild/dataset"
)

// Geometry ops: crop, resize, rotate, instances_crop, sliding_window,
// multiply, objects_filter, drop_noise (shared/docs/dtl.md §2.2, §2.4),
// each in its own file ops_<name>.go; this file holds what they share.
//
// Every geometric change updates every object and drops the objects that
// become empty: bitmaps are transformed exactly, pixel by pixel, and cropped
// again to their tight box; polygon vertices are transformed and the rings
// clipped to the image (Sutherland–Hodgman; a concave ring cut by the border
// may keep zero-width runs along it, which cover no pixel); rectangles stay
// half-open pixel boxes. Objects are first clipped to the image, so parts
// outside it are dropped. Pixels that a resize or rotation adds are opaque
// black (DTL pads with zeros in RGB). Image arithmetic is in integers, or in
// floats whose products are rounded explicitly so that no multiply-add is
// fused (the Go spec allows fusing, which would change results across CPUs).

// geoMaxOutputs bounds the items one op makes of one item (windows, copies).
const geoMaxOutputs = 100000

// geoAmount is a length written "<int>px" or "<int>%" (of some base).
type geoAmount struct {
	v   int
	pct bool
}

// of returns the amount in pixels; a percentage of base rounds down.
func (a geoAmount) of(base int) int {
	if a.pct {
		return int(int64(a.v) * int64(base) / 100)
	}
	return a.v
}

// parseGeoAmount reads attr as "<int>px" or "<int>%"; maxPct < 0 means no
// upper bound on percentages.
func parseGeoAmount(p params, attr string, maxPct int) (geoAmount, error) {
	s := strings.TrimSpace(p.str(attr))
	var a geoAmount
	var num string
	switch {
	case strings.HasSuffix(s, "px"):
		num = strings.TrimSuffix(s, "px")
	case strings.HasSuffix(s, "%"):
		num, a.pct = strings.TrimSuffix(s, "%"), true
	default:
		return a, badParam(attr, `is %q; write "<int>px" or "<int>%%", e.g. "10px" or "5%%"`, s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return a, badParam(attr, `is %q; the amount must be a whole number of pixels ("10px") or percent ("5%%")`, s)
	}
	switch {
	case n < 0:
		return a, badParam(attr, "must not be negative")
	case n > 1<<30:
		return a, badParam(attr, "is out of range")
	case a.pct && maxPct >= 0 && n > maxPct:
		return a, badParam(attr, "must be at most %d%%", maxPct)
	}
	a.v = n
	return a, nil
}

// geoUniform draws uniformly from [lo, hi).
func geoUniform(r *rand.Rand, lo, hi float64) float64 {
	return lo + float64(r.Float64()*(hi-lo))
}

// geoDerive returns a copy of it named by it.Derived(), without its pixels
// (the caller sets them), so that an op making many items of one does not
// copy the whole image for each.
func geoDerive(it *Item) *Item {
	px := it.pixels
	it.pixels = nil
	c := it.Clone(it.Derived())
	it.pixels = px
	return c
}

// geoCrop crops the item, whose pixels are img (possibly another item's),
// to r, which must lie inside img.
func geoCrop(it *Item, img *image.RGBA, r image.Rectangle) error {
	if !r.In(img.Rect) {
		return fmt.Errorf("the crop %v is outside the %dx%d image", r, img.Rect.Dx(), img.Rect.Dy())
	}
	objs, err := geoCropObjects(it.Ann.Objects, r)
	if err != nil {
		return err
	}
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		src := img.Pix[(r.Min.Y+y)*img.Stride+4*r.Min.X:]
		copy(out.Pix[y*out.Stride:y*out.Stride+4*r.Dx()], src[:4*r.Dx()])
	}
	it.Ann.Objects = objs
	it.SetPixels(out)
	return nil
}

// geoCropObjects returns the objects clipped to r, in r's frame (r.Min
// becomes the origin), leaving out those that become empty. objs is not
// modified.
func geoCropObjects(objs []dataset.Object, r image.Rectangle) ([]dataset.Object, error) {
	out := make([]dataset.Object, 0, len(objs))
	for _, ob := range objs {
		c, ok, err := geoCropObject(ob, r)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func geoCropObject(ob dataset.Object, r image.Rectangle) (dataset.Object, bool, error) {
	switch ob.Shape {
	case dataset.ShapeBitmap:
		m, at, ok := ob.Mask.TightIn(ob.Origin, r)
		if !ok {
			return ob, false, nil
		}
		ob.Mask, ob.Origin = m, at.Sub(r.Min)
	case dataset.ShapeRectangle:
		in := ob.Rect.Canon().Intersect(r)
		if in.Empty() {
			return ob, false, nil
		}
		ob.Rect = in.Sub(r.Min)
	case dataset.ShapePolygon:
		poly, ok := geoClipPolygon(ob.Polygon, float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y))
		if !ok {
			return ob, false, nil
		}
		dx, dy := float64(r.Min.X), float64(r.Min.Y)
		ob.Polygon = geoMapPolygon(poly, func(p dataset.Point) dataset.Point { return dataset.Point{X: p.X - dx, Y: p.Y - dy} })
	default:
		return ob, false, fmt.Errorf("object of class %q has shape %q, which this op cannot transform", ob.Class, ob.Shape)
	}
	return ob, true, nil
}

// geoMapPolygon returns a new polygon with every vertex mapped by f.
func geoMapPolygon(p dataset.Polygon, f func(dataset.Point) dataset.Point) dataset.Polygon {
	ring := func(pts []dataset.Point) []dataset.Point {
		out := make([]dataset.Point, len(pts))
		for i, q := range pts {
			out[i] = f(q)
		}
		return out
	}
	out := dataset.Polygon{Exterior: ring(p.Exterior)}
	for _, h := range p.Holes {
		out.Holes = append(out.Holes, ring(h))
	}
	return out
}

// geoClipPolygon clips a polygon to the box [x0, x1] × [y0, y1]; ok is
// false when nothing of positive area is left. Rings wholly inside are kept
// as they are; holes that vanish are dropped.
func geoClipPolygon(p dataset.Polygon, x0, y0, x1, y1 float64) (dataset.Polygon, bool) {
	ext := geoClipRing(p.Exterior, x0, y0, x1, y1)
	if len(ext) < 3 || math.Abs(geoRingArea(ext)) < 1e-9 {
		return dataset.Polygon{}, false
	}
	out := dataset.Polygon{Exterior: ext}
	for _, h := range p.Holes {
		if c := geoClipRing(h, x0, y0, x1, y1); len(c) >= 3 && math.Abs(geoRingArea(c)) >= 1e-9 {
			out.Holes = append(out.Holes, c)
		}
	}
	return out, true
}

// geoClipRing clips one ring to the box with Sutherland–Hodgman.
func geoClipRing(ring []dataset.Point, x0, y0, x1, y1 float64) []dataset.Point {
	inside := true
	for _, q := range ring {
		if math.IsNaN(q.X) || math.IsNaN(q.Y) {
			return nil
		}
		if q.X < x0 || q.X > x1 || q.Y < y0 || q.Y > y1 {
			inside = false
		}
	}
	if inside {
		return slices.Clone(ring)
	}
	// cross returns the point of segment a-b where coordinate axis (0: X,
	// 1: Y) equals v.
	cross := func(a, b dataset.Point, axis int, v float64) dataset.Point {
		if axis == 0 {
			t := (v - a.X) / (b.X - a.X)
			return dataset.Point{X: v, Y: a.Y + float64(t*(b.Y-a.Y))}
		}
		t := (v - a.Y) / (b.Y - a.Y)
		return dataset.Point{X: a.X + float64(t*(b.X-a.X)), Y: v}
	}
	type plane struct {
		axis int
		v    float64
		keep func(dataset.Point) bool
	}
	planes := []plane{
		{0, x0, func(q dataset.Point) bool { return q.X >= x0 }},
		{0, x1, func(q dataset.Point) bool { return q.X <= x1 }},
		{1, y0, func(q dataset.Point) bool { return q.Y >= y0 }},
		{1, y1, func(q dataset.Point) bool { return q.Y <= y1 }},
	}
	pts := ring
	for _, pl := range planes {
		if len(pts) == 0 {
			return nil
		}
		var out []dataset.Point
		for i, cur := range pts {
			prev := pts[(i+len(pts)-1)%len(pts)]
			cin, pin := pl.keep(cur), pl.keep(prev)
			if cin != pin {
				out = append(out, cross(prev, cur, pl.axis, pl.v))
			}
			if cin {
				out = append(out, cur)
			}
		}
		pts = out
	}
	// Drop repeated vertices.
	out := pts[:0:0]
	for i, q := range pts {
		if i > 0 && q == pts[i-1] {
			continue
		}
		out = append(out, q)
	}
	for len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out
}

// geoRingArea is the signed (shoelace) area of a ring.
func geoRingArea(ring []dataset.Point) float64 {
	var s float64
	for i, a := range ring {
		b := ring[(i+1)%len(ring)]
		s += float64(a.X*b.Y) - float64(b.X*a.Y)
	}
	return s / 2
}

// geoArea is the number of the object's pixels inside the w×h image
// (polygons: pixel centres covered, as Rasterize decides).
func geoArea(ob *dataset.Object, w, h int) (int, error) {
	img := image.Rect(0, 0, w, h)
	switch ob.Shape {
	case dataset.ShapeBitmap:
		m := ob.Mask
		if m == nil || len(m.Bits) != m.W*m.H {
			return 0, nil
		}
		in := image.Rect(0, 0, m.W, m.H).Add(ob.Origin).Intersect(img)
		n := 0
		for y := in.Min.Y; y < in.Max.Y; y++ {
			row := m.Bits[(y-ob.Origin.Y)*m.W:]
			for x := in.Min.X; x < in.Max.X; x++ {
				if row[x-ob.Origin.X] != 0 {
					n++
				}
			}
		}
		return n, nil
	case dataset.ShapeRectangle:
		in := ob.Rect.Canon().Intersect(img)
		return in.Dx() * in.Dy(), nil
	case dataset.ShapePolygon:
		b := ob.Bounds().Intersect(img)
		if b.Empty() {
			return 0, nil
		}
		dx, dy := float64(b.Min.X), float64(b.Min.Y)
		poly := geoMapPolygon(ob.Polygon, func(p dataset.Point) dataset.Point { return dataset.Point{X: p.X - dx, Y: p.Y - dy} })
		m, err := dataset.Rasterize(b.Dx(), b.Dy(), []dataset.Polygon{poly})
		if err != nil {
			return 0, fmt.Errorf("object of class %q: %w", ob.Class, err)
		}
		return m.Area(), nil
	}
	return 0, fmt.Errorf("object of class %q has shape %q, which this op cannot measure", ob.Class, ob.Shape)
}

// geoCheckSize rejects output images above dataset.MaxPixels.
func geoCheckSize(w, h int64) error {
	if w > dataset.MaxPixels || h > dataset.MaxPixels || w*h > dataset.MaxPixels {
		return fmt.Errorf("the result would be %dx%d pixels, more than %d", w, h, dataset.MaxPixels)
	}
	return nil
}

// geoSample writes into dst the bilinear sample of img at (fx, fy), in
// pixel-index coordinates with 16 fractional bits, clamped to the edges.
func geoSample(img *image.RGBA, fx, fy int64, dst []uint8) {
	w, h := int64(img.Rect.Dx()), int64(img.Rect.Dy())
	fx = min(max(fx, 0), (w-1)<<16)
	fy = min(max(fy, 0), (h-1)<<16)
	x0, y0 := fx>>16, fy>>16
	ax, ay := fx&0xffff, fy&0xffff
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	r0 := img.Pix[int(y0)*img.Stride:]
	r1 := img.Pix[int(y1)*img.Stride:]
	for c := int64(0); c < 4; c++ {
		top := int64(r0[4*x0+c])*(65536-ax) + int64(r0[4*x1+c])*ax
		bot := int64(r1[4*x0+c])*(65536-ax) + int64(r1[4*x1+c])*ax
		dst[c] = uint8((top*(65536-ay) + bot*ay + 1<<31) >> 32)
	}
}
