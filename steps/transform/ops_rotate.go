package transform

import (
	"image"
	"math"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/dataset"
	"dsbuild/engine"
)

func init() {
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
}

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
		t, at, ok := nm.Tight(r.Min)
		if !ok {
			return ob, false, nil
		}
		ob.Mask, ob.Origin = t, at
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
