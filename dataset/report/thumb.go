package report

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strconv"
	"strings"

	"dsbuild/dataset"
)

// Outline colours of changed objects in diff thumbnails.
var (
	outlineModified = color.RGBA{0xFF, 0xC4, 0x00, 0xFF} // amber
	outlineAdded    = color.RGBA{0x00, 0xC8, 0x53, 0xFF} // green
	outlineRemoved  = color.RGBA{0xFF, 0x17, 0x44, 0xFF} // red
)

// overlayAlpha is the opacity of object fills, out of 255.
const overlayAlpha = 110

// normColor returns c as "#RRGGBB" when it is a valid colour in that form,
// else the stable default colour of name.
func normColor(c, name string) string {
	if _, ok := parseHex(c); ok {
		return strings.ToUpper(c)
	}
	return dataset.DefaultColor(name)
}

func parseHex(c string) (color.RGBA, bool) {
	if len(c) != 7 || c[0] != '#' {
		return color.RGBA{}, false
	}
	v, err := strconv.ParseUint(c[1:], 16, 32)
	if err != nil {
		return color.RGBA{}, false
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xFF}, true
}

// classColor is the colour of a class in meta (which may be nil).
func classColor(meta *dataset.Meta, class string) string {
	if meta != nil {
		if c := meta.Class(class); c != nil {
			return normColor(c.Color, class)
		}
	}
	return dataset.DefaultColor(class)
}

// shape is an object's pixels, cropped: in reports pixel (x, y) of the image
// is set when inside(x, y).
type shape struct {
	bounds image.Rectangle // clipped to the image
	mask   *dataset.Mask   // nil for a rectangle: all of bounds
	origin image.Point     // of mask
}

func (s *shape) inside(x, y int) bool {
	if !(image.Point{x, y}).In(s.bounds) {
		return false
	}
	if s.mask == nil {
		return true
	}
	return s.mask.At(x-s.origin.X, y-s.origin.Y)
}

// objectShape crops o to the w×h image without rasterizing the whole image.
func objectShape(o *dataset.Object, w, h int) shape {
	img := image.Rect(0, 0, w, h)
	b := o.Bounds().Intersect(img)
	switch o.Shape {
	case dataset.ShapeBitmap:
		if o.Mask == nil {
			return shape{}
		}
		return shape{bounds: b, mask: o.Mask, origin: o.Origin}
	case dataset.ShapePolygon:
		if b.Empty() {
			return shape{}
		}
		shift := func(ring []dataset.Point) []dataset.Point {
			out := make([]dataset.Point, len(ring))
			for i, p := range ring {
				out[i] = dataset.Point{X: p.X - float64(b.Min.X), Y: p.Y - float64(b.Min.Y)}
			}
			return out
		}
		p := dataset.Polygon{Exterior: shift(o.Polygon.Exterior)}
		for _, hole := range o.Polygon.Holes {
			p.Holes = append(p.Holes, shift(hole))
		}
		m, err := dataset.Rasterize(b.Dx(), b.Dy(), []dataset.Polygon{p})
		if err != nil {
			return shape{}
		}
		return shape{bounds: b, mask: m, origin: b.Min}
	case dataset.ShapeRectangle:
		return shape{bounds: b}
	}
	return shape{}
}

// overlay is one object to draw on a thumbnail.
type overlay struct {
	obj     *dataset.Object
	fill    color.RGBA
	outline *color.RGBA // nil: no outline
}

// thumbSize scales w×h so that the longer side is at most max.
func thumbSize(w, h, max int) (int, int) {
	if w <= 0 || h <= 0 {
		return 1, 1
	}
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		return max, maxInt(1, h*max/w)
	}
	return maxInt(1, w*max/h), max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// decodeImage decodes an image blob through dataset.DecodeImage, the one
// decoder that checks the header against dataset.MaxPixels before any pixel
// buffer is allocated. A blob that is not an image, or whose header claims
// too many pixels, is an error: the page shows a grey canvas and the reason.
func decodeImage(raw []byte) (image.Image, error) {
	img, err := dataset.DecodeImage(raw)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// renderThumb draws src (nil: a grey canvas of w×h) scaled by nearest
// neighbour to at most max pixels on the longer side, with the overlays, and
// returns it as a PNG data URI. w×h is the annotation's size; objects are in
// its coordinates.
func renderThumb(src image.Image, w, h, max int, ovs []overlay) (string, error) {
	if src != nil && (w <= 0 || h <= 0) {
		w, h = src.Bounds().Dx(), src.Bounds().Dy()
	}
	tw, th := thumbSize(w, h, max)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	// Source pixel of each thumbnail column and row (nearest neighbour).
	sx := make([]int, tw)
	for x := range sx {
		sx[x] = (2*x + 1) * maxInt(w, 1) / (2 * tw)
	}
	sy := make([]int, th)
	for y := range sy {
		sy[y] = (2*y + 1) * maxInt(h, 1) / (2 * th)
	}
	if src == nil {
		draw.Draw(dst, dst.Bounds(), &image.Uniform{color.RGBA{0xCC, 0xCC, 0xCC, 0xFF}}, image.Point{}, draw.Src)
	} else {
		sb := src.Bounds()
		for y := 0; y < th; y++ {
			py := sb.Min.Y + sy[y]*sb.Dy()/maxInt(h, 1)
			for x := 0; x < tw; x++ {
				px := sb.Min.X + sx[x]*sb.Dx()/maxInt(w, 1)
				dst.Set(x, y, src.At(px, py))
			}
		}
	}
	for _, ov := range ovs {
		sh := objectShape(ov.obj, w, h)
		if sh.bounds.Empty() {
			continue
		}
		for y := 0; y < th; y++ {
			if sy[y] < sh.bounds.Min.Y || sy[y] >= sh.bounds.Max.Y {
				continue
			}
			for x := 0; x < tw; x++ {
				if sh.inside(sx[x], sy[y]) {
					blend(dst, x, y, ov.fill)
				}
			}
		}
		if ov.outline != nil {
			b := sh.bounds
			x0, y0 := b.Min.X*tw/w, b.Min.Y*th/h
			x1, y1 := maxInt(x0+1, (b.Max.X*tw+w-1)/w), maxInt(y0+1, (b.Max.Y*th+h-1)/h)
			strokeRect(dst, image.Rect(x0, y0, x1, y1), *ov.outline)
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, dst); err != nil {
		return "", err
	}
	// Base64 needs no escaping in a quoted attribute.
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// blend mixes c over pixel (x, y) at overlayAlpha.
func blend(dst *image.RGBA, x, y int, c color.RGBA) {
	i := dst.PixOffset(x, y)
	p := dst.Pix[i : i+4 : i+4]
	mix := func(a, b uint8) uint8 {
		return uint8((int(a)*(255-overlayAlpha) + int(b)*overlayAlpha + 127) / 255)
	}
	p[0], p[1], p[2], p[3] = mix(p[0], c.R), mix(p[1], c.G), mix(p[2], c.B), 0xFF
}

// strokeRect draws the 2-pixel border of r (clipped to dst) in c.
func strokeRect(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(dst.Bounds())
	if r.Empty() {
		return
	}
	for t := 0; t < 2; t++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dst.SetRGBA(x, r.Min.Y+t, c)
			dst.SetRGBA(x, r.Max.Y-1-t, c)
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			dst.SetRGBA(r.Min.X+t, y, c)
			dst.SetRGBA(r.Max.X-1-t, y, c)
		}
	}
}
