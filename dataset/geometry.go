package dataset

import (
	"fmt"
	"image"
)

// Object geometry that importers, transforms and reviews share: a mask
// cropped to its set pixels, an object's pixels inside the image, and an
// object cut to the image the way an annotation tool keeps it. Each is
// written once, here, so that every caller gets the same answer.

// Tight returns m cropped to its set pixels (its [Mask.BBox]) and where the
// crop lies, given that pixel (0, 0) of m lies at origin: the crop's pixel
// (0, 0) is at the returned point. When m is already tight, m itself is
// returned, not a copy. ok is false, with a nil mask and the zero point,
// when no pixel is set (an invalid or nil mask has none).
func (m *Mask) Tight(origin image.Point) (t *Mask, at image.Point, ok bool) {
	x0, y0, x1, y1, ok := m.BBox()
	if !ok {
		return nil, image.Point{}, false
	}
	if x0 == 0 && y0 == 0 && x1 == m.W && y1 == m.H {
		return m, origin, true
	}
	t, err := m.Crop(x0, y0, x1-x0, y1-y0)
	if err != nil { // not for a valid mask and a box inside it
		return nil, image.Point{}, false
	}
	return t, origin.Add(image.Pt(x0, y0)), true
}

// TightIn is [Mask.Tight] for the set pixels of m that lie inside r (in the
// frame of origin; r is taken as it is, see [image.Rectangle.Intersect]):
// the pixels outside r are left out before the crop. ok is false when none
// is left.
func (m *Mask) TightIn(origin image.Point, r image.Rectangle) (t *Mask, at image.Point, ok bool) {
	if !m.valid() {
		return nil, image.Point{}, false
	}
	box := image.Rect(0, 0, m.W, m.H).Add(origin)
	in := box.Intersect(r)
	if in == box {
		return m.Tight(origin)
	}
	if in.Empty() {
		return nil, image.Point{}, false
	}
	c, err := m.Crop(in.Min.X-origin.X, in.Min.Y-origin.Y, in.Dx(), in.Dy())
	if err != nil { // not for a valid mask and a window inside it
		return nil, image.Point{}, false
	}
	return c.Tight(in.Min)
}

// TightRaster returns the object's pixels inside a w×h image, cropped to
// their bounding box, and the point of the image where the crop's pixel
// (0, 0) lies: the same pixels as [Object.Raster], without allocating the
// whole image. A bitmap gives its set pixels inside the image; a polygon
// the pixels whose centres it covers ([Rasterize]); a rectangle (taken in
// its canonical form, [image.Rectangle.Canon]) the pixels it covers. ok is
// false, with a nil mask, when no pixel of the image is the object's (a
// bitmap without a mask has none). It fails for a negative or too large
// size, an invalid mask, a polygon vertex [Rasterize] refuses, and an
// unknown shape.
func (o *Object) TightRaster(w, h int) (m *Mask, at image.Point, ok bool, err error) {
	if err := checkSize(w, h); err != nil {
		return nil, image.Point{}, false, fmt.Errorf("object of class %q: image: %w", o.Class, err)
	}
	frame := image.Rect(0, 0, w, h)
	switch o.Shape {
	case ShapeBitmap:
		if o.Mask == nil {
			return nil, image.Point{}, false, nil
		}
		if err := o.Mask.check(); err != nil {
			return nil, image.Point{}, false, fmt.Errorf("object of class %q: %w", o.Class, err)
		}
		m, at, ok := o.Mask.TightIn(o.Origin, frame)
		return m, at, ok, nil
	case ShapePolygon:
		// Every pixel the polygon covers lies in its bounds, so the
		// image's rows and columns up to the bounds' far corner hold them
		// all: rasterising on that frame gives the image-sized raster's
		// pixels (Rasterize decides each pixel by its centre alone). The
		// vertices are checked even when nothing is left to rasterise.
		var fw, fh int
		if b := o.Bounds().Intersect(frame); !b.Empty() {
			fw, fh = b.Max.X, b.Max.Y
		}
		full, err := Rasterize(fw, fh, []Polygon{o.Polygon})
		if err != nil {
			return nil, image.Point{}, false, fmt.Errorf("object of class %q: %w", o.Class, err)
		}
		m, at, ok := full.Tight(image.Point{})
		return m, at, ok, nil
	case ShapeRectangle:
		r := o.Rect.Canon().Intersect(frame)
		if r.Empty() {
			return nil, image.Point{}, false, nil
		}
		m, err := NewMask(r.Dx(), r.Dy())
		if err != nil {
			return nil, image.Point{}, false, fmt.Errorf("object of class %q: %w", o.Class, err)
		}
		for i := range m.Bits {
			m.Bits[i] = 1
		}
		return m, r.Min, true, nil
	}
	return nil, image.Point{}, false, fmt.Errorf("object of class %q has unknown shape %q", o.Class, o.Shape)
}

// ClipRule names the rule of [Object.ClipTo]. A step whose output depends
// on it (import with clip = true) puts it in its key, so that a result made
// by another rule is another key: before this one, import turned every
// clipped object, rectangles too, into a bitmap. Change it with the rule.
const ClipRule = "clip-to-image 2: unchanged inside, a rectangle cut to a rectangle, other shapes to the bitmap inside"

// ClipTo returns the object cut to a w×h image, as an annotation tool
// keeps an object that crosses the image border:
//   - an object whose bounds ([Object.Bounds]; a rectangle's canonical
//     form) are not empty and lie inside the image is returned unchanged;
//   - a rectangle that crosses the border is cut to the image and stays a
//     rectangle (in canonical form);
//   - any other shape that crosses the border becomes a bitmap of its
//     pixels inside the image ([Object.TightRaster]), with the object's
//     class and tags.
//
// ok is false, with the zero Object, when nothing of the object is left:
// empty bounds, or no pixel inside the image. o is not modified; the result
// may share o's tags, mask and polygon. It fails as TightRaster does.
func (o *Object) ClipTo(w, h int) (c Object, ok bool, err error) {
	if err := checkSize(w, h); err != nil {
		return Object{}, false, fmt.Errorf("object of class %q: image: %w", o.Class, err)
	}
	frame := image.Rect(0, 0, w, h)
	if o.Shape == ShapeRectangle {
		r := o.Rect.Canon()
		if !r.Empty() && r.In(frame) {
			return *o, true, nil
		}
		if r = r.Intersect(frame); r.Empty() {
			return Object{}, false, nil
		}
		c = *o
		c.Rect = r
		return c, true, nil
	}
	if b := o.Bounds(); !b.Empty() && b.In(frame) {
		return *o, true, nil
	}
	m, at, ok, err := o.TightRaster(w, h)
	if err != nil || !ok {
		return Object{}, false, err
	}
	return Object{Class: o.Class, Tags: o.Tags, Shape: ShapeBitmap, Mask: m, Origin: at}, true, nil
}
