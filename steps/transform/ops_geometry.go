package transform

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// Geometry ops: crop, resize, rotate, instances_crop, sliding_window,
// multiply, objects_filter, drop_noise (shared/docs/dtl.md §2.2, §2.4).
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

func init() {
	register(opSpec{
		Name: "crop",
		Doc: "Crops the image and its objects: either cuts the given amounts from the sides, or keeps a random part " +
			"of it at a random position. An empty crop leaves the item out.",
		Attrs: []engine.AttrSpec{
			{Name: "left", Type: tString, Doc: `"<int>px" or "<int>%" of the image width, cut from the left; default "0px"`},
			{Name: "top", Type: tString, Doc: `"<int>px" or "<int>%" of the image height, cut from the top; default "0px"`},
			{Name: "right", Type: tString, Doc: `"<int>px" or "<int>%" of the image width, cut from the right; default "0px"`},
			{Name: "bottom", Type: tString, Doc: `"<int>px" or "<int>%" of the image height, cut from the bottom; default "0px"`},
			{Name: "width_min", Type: tNumber, Doc: "random part: least width, in percent of the image width (0–100)"},
			{Name: "width_max", Type: tNumber, Doc: "random part: greatest width, in percent of the image width (0–100)"},
			{Name: "height_min", Type: tNumber, Doc: "random part: least height, in percent of the image height (0–100)"},
			{Name: "height_max", Type: tNumber, Doc: "random part: greatest height, in percent of the image height (0–100)"},
			{Name: "keep_aspect", Type: tBool, Default: cty.False, Doc: "random part: one percentage drawn for both sides (the ranges must be equal); default false"},
		},
		Build: buildCrop,
	})
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
	register(opSpec{
		Name: "rotate",
		Doc: "Rotates the image and its objects counter-clockwise by an angle drawn uniformly per item. " +
			`black_regions: "keep" (the canvas grows to hold the whole image), "crop" (cut to the largest upright ` +
			`rectangle inside the rotated image) or "preserve_size" (the input size, centred).`,
		Attrs: []engine.AttrSpec{
			{Name: "min_degrees", Type: tNumber, Required: true, Doc: "least angle, counter-clockwise"},
			{Name: "max_degrees", Type: tNumber, Required: true, Doc: "greatest angle, counter-clockwise"},
			{Name: "black_regions", Type: tString, Default: cty.StringVal("keep"), Doc: `"keep", "crop" or "preserve_size"; default "keep"`},
		},
		Build: buildRotate,
	})
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
	register(opSpec{
		Name: "sliding_window",
		Doc: "Makes one item per window slid over the image, left to right and top to bottom, the last window of a " +
			"row or column flush with the border. The input item is left out; a window larger than the image is an error.",
		Attrs: []engine.AttrSpec{
			{Name: "window_width", Type: tNumber, Required: true, Doc: "window width in pixels, at least 1"},
			{Name: "window_height", Type: tNumber, Required: true, Doc: "window height in pixels, at least 1"},
			{Name: "min_overlap_x", Type: tNumber, Doc: "least overlap of neighbouring windows in a row, in pixels; default 0"},
			{Name: "min_overlap_y", Type: tNumber, Doc: "least overlap of neighbouring windows in a column, in pixels; default 0"},
		},
		Build: buildSlidingWindow,
	})
	register(opSpec{
		Name:  "multiply",
		Doc:   "Yields each item the given number of times: the item itself and copies named <stem>__<k>. Put it before random ops.",
		Attrs: []engine.AttrSpec{{Name: "times", Type: tNumber, Required: true, Doc: "number of items made of each, at least 1"}},
		Build: func(p params) (Op, error) {
			n, err := p.intAtLeast("times", 1)
			if err != nil {
				return nil, err
			}
			if n > geoMaxOutputs {
				return nil, badParam("times", "must be at most %d", geoMaxOutputs)
			}
			return multiplyOp{n}, nil
		},
	})
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

// ---- shared helpers ----

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
		if ob.Mask == nil {
			return ob, false, nil
		}
		in := image.Rect(0, 0, ob.Mask.W, ob.Mask.H).Add(ob.Origin).Intersect(r)
		if in.Empty() {
			return ob, false, nil
		}
		m, err := ob.Mask.Crop(in.Min.X-ob.Origin.X, in.Min.Y-ob.Origin.Y, in.Dx(), in.Dy())
		if err != nil {
			return ob, false, fmt.Errorf("object of class %q: %w", ob.Class, err)
		}
		m, at, ok := geoTight(m)
		if !ok {
			return ob, false, nil
		}
		ob.Mask, ob.Origin = m, in.Min.Sub(r.Min).Add(at)
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

// geoTight crops m to its set pixels; at is where the crop starts in m.
func geoTight(m *dataset.Mask) (*dataset.Mask, image.Point, bool) {
	x0, y0, x1, y1, ok := m.BBox()
	if !ok {
		return nil, image.Point{}, false
	}
	if x0 == 0 && y0 == 0 && x1 == m.W && y1 == m.H {
		return m, image.Point{}, true
	}
	t, err := m.Crop(x0, y0, x1-x0, y1-y0)
	if err != nil {
		return nil, image.Point{}, false
	}
	return t, image.Pt(x0, y0), true
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

// ---- crop ----

// crop follows DTL's crop with flat attributes: DTL's sides {left, …} are
// the attributes left, top, right, bottom, and its random_part {width:
// {min_percent, max_percent}, height: {…}, keep_aspect_ratio} is width_min,
// width_max, height_min, height_max and keep_aspect. Departures: amounts are
// whole pixels or whole percents; a negative amount (which in DTL crops
// outside the image, an error at run time) and a percentage above 100 are
// errors when the recipe loads, so a crop can only be empty (the item is
// left out), never outside the image. The random part draws the width
// percentage, then the height percentage (unless keep_aspect), then the
// left and top offsets, from the item's generator.

type cropOp struct {
	sides                    bool
	left, top, right, bottom geoAmount
	wMin, wMax, hMin, hMax   float64
	keepAspect               bool
}

func buildCrop(p params) (Op, error) {
	sideNames := []string{"left", "top", "right", "bottom"}
	partNames := []string{"width_min", "width_max", "height_min", "height_max"}
	var sides, part []string
	for _, n := range sideNames {
		if p.has(n) {
			sides = append(sides, n)
		}
	}
	for _, n := range partNames {
		if p.has(n) {
			part = append(part, n)
		}
	}
	switch {
	case len(sides) > 0 && len(part) > 0:
		return nil, badParam(part[0], "cannot be given with %s: give either the sides to cut or a random part", sides[0])
	case len(sides) == 0 && len(part) == 0:
		return nil, badParam("", "give the sides to cut (left, top, right, bottom) or a random part (width_min, width_max, height_min, height_max)")
	}
	o := &cropOp{keepAspect: p.boolean("keep_aspect")}
	if len(sides) > 0 {
		if o.keepAspect {
			return nil, badParam("keep_aspect", "applies only to a random part (width_min, width_max, height_min, height_max)")
		}
		o.sides = true
		dst := []*geoAmount{&o.left, &o.top, &o.right, &o.bottom}
		for i, n := range sideNames {
			if !p.has(n) {
				continue
			}
			a, err := parseGeoAmount(p, n, 100)
			if err != nil {
				return nil, err
			}
			*dst[i] = a
		}
		// Percentages that leave nothing can never work: a diagnostic now,
		// not an empty crop on every item.
		for _, pair := range [][2]string{{"left", "right"}, {"top", "bottom"}} {
			a, b := *dst[indexOf(sideNames, pair[0])], *dst[indexOf(sideNames, pair[1])]
			absentOrPct := func(g geoAmount) bool { return g.pct || g.v == 0 }
			if absentOrPct(a) && absentOrPct(b) && (a.pct || b.pct) && a.v+b.v >= 100 {
				return nil, badParam(pair[1], "with %s removes %d%% of the image: nothing would be left", pair[0], a.v+b.v)
			}
		}
		return o, nil
	}
	dst := []*float64{&o.wMin, &o.wMax, &o.hMin, &o.hMax}
	for i, n := range partNames {
		if !p.has(n) {
			return nil, badParam("", "a random part needs width_min, width_max, height_min and height_max; %s is missing", n)
		}
		v := p.num(n)
		if math.IsNaN(v) || v < 0 || v > 100 {
			return nil, badParam(n, "must be a percentage between 0 and 100")
		}
		*dst[i] = v
	}
	if o.wMin > o.wMax {
		return nil, badParam("width_min", "is more than width_max")
	}
	if o.hMin > o.hMax {
		return nil, badParam("height_min", "is more than height_max")
	}
	if o.keepAspect && (o.wMin != o.hMin || o.wMax != o.hMax) {
		return nil, badParam("keep_aspect", "needs equal width and height ranges (one percentage is drawn for both)")
	}
	return o, nil
}

func (o *cropOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var r image.Rectangle
	if o.sides {
		// Not image.Rect, which would swap inverted bounds.
		r = image.Rectangle{Min: image.Pt(o.left.of(w), o.top.of(h)), Max: image.Pt(w-o.right.of(w), h-o.bottom.of(h))}
	} else {
		pw := geoUniform(it.Rand, o.wMin, o.wMax)
		ph := pw
		if !o.keepAspect {
			ph = geoUniform(it.Rand, o.hMin, o.hMax)
		}
		cw := min(w, int(math.Floor(float64(w)*pw/100)))
		ch := min(h, int(math.Floor(float64(h)*ph/100)))
		if cw <= 0 || ch <= 0 {
			return nil, nil
		}
		x, y := it.Rand.IntN(w-cw+1), it.Rand.IntN(h-ch+1)
		r = image.Rect(x, y, x+cw, y+ch)
	}
	if r.Empty() {
		return nil, nil // DTL: an empty crop yields nothing
	}
	if err := geoCrop(it, img, r); err != nil {
		return nil, err
	}
	return []*Item{it}, nil
}

// ---- resize ----

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
	xs, ys := geoTaps(w, iw), geoTaps(h, ih)
	for y := int64(0); y < ih; y++ {
		row := out.Pix[int(y+oy)*out.Stride:]
		for x := int64(0); x < iw; x++ {
			geoSample(img, xs[x], ys[y], row[4*(x+ox):])
		}
	}
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
		t, at, ok := geoTight(nm)
		if !ok {
			return ob, false, nil
		}
		ob.Mask, ob.Origin = t, image.Pt(int(x0+ox), int(y0+oy)).Add(at)
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

// ---- rotate ----

// rotate follows DTL's rotate; DTL's rotate_angles {min_degrees,
// max_degrees} and black_regions {mode} are flat, and black_regions defaults
// to "keep". Departures: the canvas of "keep" is the rotated image's box
// rounded up; pixels that fall outside the source are opaque black; a
// pixel comes from the source when its centre maps inside the source, and
// a bitmap pixel is set when its centre maps into a set source pixel (the
// image uses the same mapping, bilinearly), so masks stay exact and binary;
// a rectangle becomes the box of its rotated corners; an item whose "crop"
// rectangle is empty (a 1×1 image at 45°) is left out, like an empty crop.

type rotateOp struct {
	minDeg, maxDeg float64
	mode           string
}

func buildRotate(p params) (Op, error) {
	o := &rotateOp{mode: "keep"}
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"min_degrees", &o.minDeg}, {"max_degrees", &o.maxDeg}} {
		if !p.has(f.name) {
			return nil, badParam("", "%s is missing", f.name)
		}
		v := p.num(f.name)
		if math.IsNaN(v) || math.Abs(v) > 1e6 {
			return nil, badParam(f.name, "must be a number of degrees within ±1000000")
		}
		*f.dst = v
	}
	if o.minDeg > o.maxDeg {
		return nil, badParam("min_degrees", "is more than max_degrees")
	}
	if p.has("black_regions") {
		o.mode = p.str("black_regions")
		if o.mode != "keep" && o.mode != "crop" && o.mode != "preserve_size" {
			return nil, badParam("black_regions", `is %q; use "keep", "crop" or "preserve_size"`, o.mode)
		}
	}
	return o, nil
}

// geoSinCos returns the sine and cosine of deg degrees, exact at multiples
// of 90.
func geoSinCos(deg float64) (s, c float64) {
	r := math.Mod(deg, 360)
	if r < 0 {
		r += 360
	}
	switch r {
	case 0:
		return 0, 1
	case 90:
		return 1, 0
	case 180:
		return 0, -1
	case 270:
		return -1, 0
	}
	return math.Sincos(r * math.Pi / 180)
}

// geoInnerRect is the size of the largest upright rectangle inside a w×h
// rectangle turned by an angle of |sin| as, |cos| ac.
func geoInnerRect(w, h, as, ac float64) (float64, float64) {
	wide := w >= h
	long, short := w, h
	if !wide {
		long, short = h, w
	}
	if short <= 2*as*ac*long || math.Abs(as-ac) < 1e-10 {
		x := 0.5 * short
		if wide {
			return x / as, x / ac
		}
		return x / ac, x / as
	}
	c2 := float64(ac*ac) - float64(as*as)
	return (float64(w*ac) - float64(h*as)) / c2, (float64(h*ac) - float64(w*as)) / c2
}

// geoRotation maps between a source image and the rotated canvas, centre
// to centre, counter-clockwise as seen on screen (y down).
type geoRotation struct {
	s, c             float64
	cx, cy, ocx, ocy float64
}

// fwd maps a source point to the canvas.
func (g geoRotation) fwd(x, y float64) (float64, float64) {
	dx, dy := x-g.cx, y-g.cy
	return g.ocx + float64(dx*g.c) + float64(dy*g.s), g.ocy - float64(dx*g.s) + float64(dy*g.c)
}

// inv maps a canvas point to the source.
func (g geoRotation) inv(x, y float64) (float64, float64) {
	ex, ey := x-g.ocx, y-g.ocy
	return g.cx + float64(ex*g.c) - float64(ey*g.s), g.cy + float64(ex*g.s) + float64(ey*g.c)
}

func (o *rotateOp) Apply(it *Item) ([]*Item, error) {
	deg := geoUniform(it.Rand, o.minDeg, o.maxDeg)
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w == 0 || h == 0 {
		// Nothing to turn; objects outside the image go, as below.
		if it.Ann.Objects, err = geoCropObjects(it.Ann.Objects, img.Rect); err != nil {
			return nil, err
		}
		return []*Item{it}, nil
	}
	s, c := geoSinCos(deg)
	as, ac := math.Abs(s), math.Abs(c)
	fw, fh := float64(w), float64(h)
	var ow, oh int64
	switch o.mode {
	case "keep":
		ow = int64(math.Ceil(float64(fw*ac) + float64(fh*as) - 1e-6))
		oh = int64(math.Ceil(float64(fw*as) + float64(fh*ac) - 1e-6))
	case "crop":
		wr, hr := geoInnerRect(fw, fh, as, ac)
		ow, oh = int64(math.Floor(wr+1e-6)), int64(math.Floor(hr+1e-6))
		if ow < 1 || oh < 1 {
			return nil, nil // an empty crop, as in crop
		}
	default: // preserve_size
		ow, oh = int64(w), int64(h)
	}
	ow, oh = max(ow, 1), max(oh, 1)
	if err := geoCheckSize(ow, oh); err != nil {
		return nil, err
	}
	g := geoRotation{s: s, c: c, cx: fw / 2, cy: fh / 2, ocx: float64(ow) / 2, ocy: float64(oh) / 2}
	out := image.NewRGBA(image.Rect(0, 0, int(ow), int(oh)))
	for y := 0; y < int(oh); y++ {
		row := out.Pix[y*out.Stride:]
		for x := 0; x < int(ow); x++ {
			qx, qy := g.inv(float64(x)+0.5, float64(y)+0.5)
			px := row[4*x : 4*x+4]
			if qx < 0 || qy < 0 || qx >= fw || qy >= fh {
				px[3] = 255 // opaque black
				continue
			}
			geoSample(img, int64(math.Floor(float64((qx-0.5)*65536))), int64(math.Floor(float64((qy-0.5)*65536))), px)
		}
	}
	objs, err := geoCropObjects(it.Ann.Objects, img.Rect)
	if err != nil {
		return nil, err
	}
	canvas := image.Rect(0, 0, int(ow), int(oh))
	rotated := objs[:0]
	for _, ob := range objs {
		if ob, ok, err := geoRotateObject(ob, g, canvas); err != nil {
			return nil, err
		} else if ok {
			rotated = append(rotated, ob)
		}
	}
	it.Ann.Objects = rotated
	it.SetPixels(out)
	return []*Item{it}, nil
}

// geoRotateObject rotates an object lying inside the source image onto the
// canvas.
func geoRotateObject(ob dataset.Object, g geoRotation, canvas image.Rectangle) (dataset.Object, bool, error) {
	// box is the canvas pixels that the source box [x0, x1] × [y0, y1] may
	// reach.
	box := func(x0, y0, x1, y1 float64, pad float64) image.Rectangle {
		minX, minY := math.Inf(1), math.Inf(1)
		maxX, maxY := math.Inf(-1), math.Inf(-1)
		for _, p := range [4][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}} {
			x, y := g.fwd(p[0], p[1])
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
		}
		return image.Rect(int(math.Floor(minX+pad)), int(math.Floor(minY+pad)), int(math.Ceil(maxX-pad)), int(math.Ceil(maxY-pad))).Intersect(canvas)
	}
	switch ob.Shape {
	case dataset.ShapeBitmap:
		m := ob.Mask
		mx, my := float64(ob.Origin.X), float64(ob.Origin.Y)
		r := box(mx, my, mx+float64(m.W), my+float64(m.H), -1)
		if r.Empty() {
			return ob, false, nil
		}
		nm, err := dataset.NewMask(r.Dx(), r.Dy())
		if err != nil {
			return ob, false, err
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				qx, qy := g.inv(float64(x)+0.5, float64(y)+0.5)
				sx, sy := math.Floor(qx)-mx, math.Floor(qy)-my
				if sx >= 0 && sy >= 0 && sx < float64(m.W) && sy < float64(m.H) && m.Bits[int(sy)*m.W+int(sx)] != 0 {
					nm.Bits[(y-r.Min.Y)*nm.W+x-r.Min.X] = 1
				}
			}
		}
		t, at, ok := geoTight(nm)
		if !ok {
			return ob, false, nil
		}
		ob.Mask, ob.Origin = t, r.Min.Add(at)
	case dataset.ShapeRectangle:
		rc := ob.Rect
		ob.Rect = box(float64(rc.Min.X), float64(rc.Min.Y), float64(rc.Max.X), float64(rc.Max.Y), 1e-6)
		if ob.Rect.Empty() {
			return ob, false, nil
		}
	case dataset.ShapePolygon:
		poly := geoMapPolygon(ob.Polygon, func(p dataset.Point) dataset.Point {
			x, y := g.fwd(p.X, p.Y)
			return dataset.Point{X: x, Y: y}
		})
		poly, ok := geoClipPolygon(poly, 0, 0, float64(canvas.Dx()), float64(canvas.Dy()))
		if !ok {
			return ob, false, nil
		}
		ob.Polygon = poly
	}
	return ob, true, nil
}

// ---- instances_crop ----

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

// ---- sliding_window ----

// sliding_window follows DTL's sliding_window with flat attributes
// (window_width, window_height, min_overlap_x, min_overlap_y). Departure: an
// item that would make more than geoMaxOutputs windows is an error.

type slidingWindowOp struct{ ww, wh, ovx, ovy int }

func buildSlidingWindow(p params) (Op, error) {
	o := &slidingWindowOp{}
	for _, f := range []struct {
		name string
		dst  *int
		min  int
	}{{"window_width", &o.ww, 1}, {"window_height", &o.wh, 1}, {"min_overlap_x", &o.ovx, 0}, {"min_overlap_y", &o.ovy, 0}} {
		if f.min == 1 && !p.has(f.name) {
			return nil, badParam("", "%s is missing", f.name)
		}
		v, err := p.integer(f.name)
		if err != nil {
			return nil, err
		}
		if v < f.min {
			if f.min == 1 {
				return nil, badParam(f.name, "must be at least 1")
			}
			return nil, badParam(f.name, "must not be negative")
		}
		*f.dst = v
	}
	if o.ovx >= o.ww {
		return nil, badParam("min_overlap_x", "must be less than window_width, so that the windows advance")
	}
	if o.ovy >= o.wh {
		return nil, badParam("min_overlap_y", "must be less than window_height, so that the windows advance")
	}
	return o, nil
}

// geoWindowStarts returns the window positions along a side: 0, stride,
// 2·stride, … and last size−win, flush with the border (DTL's SlidingWindows).
func geoWindowStarts(size, win, stride int) []int {
	limit := size - win
	var out []int
	for t := 0; ; t += stride {
		if t >= limit {
			return append(out, limit)
		}
		out = append(out, t)
	}
}

func (o *slidingWindowOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if o.ww > w || o.wh > h {
		return nil, fmt.Errorf("the %dx%d window is larger than the %dx%d image", o.ww, o.wh, w, h)
	}
	sx, sy := o.ww-o.ovx, o.wh-o.ovy
	if n := int64((w-o.ww+sx-1)/sx+1) * int64((h-o.wh+sy-1)/sy+1); n > geoMaxOutputs {
		return nil, fmt.Errorf("the %dx%d image would make %d windows, more than %d", w, h, n, geoMaxOutputs)
	}
	var out []*Item
	for _, y := range geoWindowStarts(h, o.wh, sy) {
		for _, x := range geoWindowStarts(w, o.ww, sx) {
			c := geoDerive(it)
			if err := geoCrop(c, img, image.Rect(x, y, x+o.ww, y+o.wh)); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// ---- multiply ----

// multiply is DTL's multiply; its count is named times and is at most
// geoMaxOutputs.

type multiplyOp struct{ n int }

func (o multiplyOp) Apply(it *Item) ([]*Item, error) {
	out := make([]*Item, 0, o.n)
	out = append(out, it)
	for k := 1; k < o.n; k++ {
		out = append(out, it.Clone(it.Derived()))
	}
	return out, nil
}

// ---- objects_filter ----

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

// ---- drop_noise ----

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

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
