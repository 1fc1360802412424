package annotate

import (
	"fmt"
	"image"

	"dsbuild/dataset"
)

// taps holds, for each of dst samples resampled from src, the two source
// samples and their weights (see the package documentation).
type taps struct {
	i0, i1 []int
	w0, w1 []float32
}

// makeTaps maps dst samples onto src ≥ 1 samples, pixel centres aligned:
// sample i reads position ((2i+1)·src − dst)/(2·dst), clamped to the
// edges.
func makeTaps(src, dst int) taps {
	t := taps{make([]int, dst), make([]int, dst), make([]float32, dst), make([]float32, dst)}
	s, d := int64(src), int64(dst)
	den := 2 * d
	for i := range dst {
		num := (2*int64(i)+1)*s - d
		i0, i1, w1 := 0, 0, float32(0)
		if num > 0 {
			q, r := num/den, num%den
			if q >= s-1 {
				i0, i1 = src-1, src-1
			} else {
				i0, i1 = int(q), int(q)+1
				w1 = float32(float64(r) / float64(den))
			}
		}
		t.i0[i], t.i1[i], t.w0[i], t.w1[i] = i0, i1, 1-w1, w1
	}
	return t
}

// lerp is a·w0 + b·w1 with both products rounded to float32 before the
// sum, so that no platform fuses them into a multiply-add.
func lerp(a, b, w0, w1 float32) float32 {
	return float32(a*w0) + float32(b*w1)
}

// unit[v] is v/255 in float32.
var unit = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// rgbSource reads an image's 8-bit RGB (img.At(x, y).RGBA() >> 8) at
// coordinates relative to its bounds' minimum, with fast paths for the
// types that decoders return which avoid At's allocation.
type rgbSource struct {
	img  image.Image
	min  image.Point
	w, h int
}

// newRGBSource checks that img has pixels and at most dataset.MaxPixels.
func newRGBSource(img image.Image) (*rgbSource, error) {
	if img == nil {
		return nil, fmt.Errorf("no image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("image is empty (%dx%d)", max(w, 0), max(h, 0))
	}
	if int64(w)*int64(h) > dataset.MaxPixels {
		return nil, fmt.Errorf("image is %dx%d: %w (%d)", w, h, dataset.ErrTooLarge, dataset.MaxPixels)
	}
	return &rgbSource{img: img, min: b.Min, w: w, h: h}, nil
}

// at returns the RGB of pixel (x, y), which must lie inside the image.
func (src *rgbSource) at(x, y int) (r, g, b uint8) {
	x, y = x+src.min.X, y+src.min.Y
	var r32, g32, b32 uint32
	switch m := src.img.(type) {
	case *image.RGBA:
		p := m.Pix[m.PixOffset(x, y):]
		return p[0], p[1], p[2]
	case *image.NRGBA:
		r32, g32, b32, _ = m.NRGBAAt(x, y).RGBA()
	case *image.YCbCr:
		r32, g32, b32, _ = m.YCbCrAt(x, y).RGBA()
	case *image.Gray:
		v := m.Pix[m.PixOffset(x, y)]
		return v, v, v
	default:
		r32, g32, b32, _ = m.At(x, y).RGBA()
	}
	return uint8(r32 >> 8), uint8(g32 >> 8), uint8(b32 >> 8)
}

// sample resamples the window r of the image (relative coordinates, inside
// the image, not empty) to s×s and writes it channel-major, scaled to
// [0, 1], into dst (3·s·s values).
func (src *rgbSource) sample(r image.Rectangle, s int, dst []float32) {
	tx, ty := makeTaps(r.Dx(), s), makeTaps(r.Dy(), s)
	// hrow fills buf (3 × s) with row sy of the window resampled across.
	hrow := func(sy int, buf []float32) {
		y := r.Min.Y + sy
		for i := range s {
			r0, g0, b0 := src.at(r.Min.X+tx.i0[i], y)
			r1, g1, b1 := src.at(r.Min.X+tx.i1[i], y)
			w0, w1 := tx.w0[i], tx.w1[i]
			buf[i] = lerp(unit[r0], unit[r1], w0, w1)
			buf[s+i] = lerp(unit[g0], unit[g1], w0, w1)
			buf[2*s+i] = lerp(unit[b0], unit[b1], w0, w1)
		}
	}
	rows := newRowCache(3*s, hrow)
	n := s * s
	for y := range s {
		a, b := rows.pair(ty.i0[y], ty.i1[y])
		w0, w1 := ty.w0[y], ty.w1[y]
		for c := range 3 {
			ra, rb := a[c*s:(c+1)*s], b[c*s:(c+1)*s]
			out := dst[c*n+y*s : c*n+(y+1)*s]
			for x := range out {
				out[x] = lerp(ra[x], rb[x], w0, w1)
			}
		}
	}
}

// rowCache keeps the last two rows that a vertical pass asked for; the
// rows it asks for never go back, so each is computed about once.
type rowCache struct {
	row  [2]int
	buf  [2][]float32
	fill func(row int, buf []float32)
}

func newRowCache(n int, fill func(int, []float32)) *rowCache {
	return &rowCache{row: [2]int{-1, -1}, buf: [2][]float32{make([]float32, n), make([]float32, n)}, fill: fill}
}

// pair returns rows a and b (possibly equal).
func (c *rowCache) pair(a, b int) ([]float32, []float32) {
	ra := c.get(a, b)
	return ra, c.get(b, a)
}

// get returns row r, evicting a slot that does not hold keep.
func (c *rowCache) get(r, keep int) []float32 {
	for i := range 2 {
		if c.row[i] == r {
			return c.buf[i]
		}
	}
	i := 0
	if c.row[0] == keep {
		i = 1
	}
	c.fill(r, c.buf[i])
	c.row[i] = r
	return c.buf[i]
}

// ImageInput converts img to the network input at size s: the whole image
// resampled bilinearly to s×s (see the package documentation for the
// mapping), channel-major RGB scaled by 1/255, 3·s·s values. It returns
// nil when s is not 1 to 16384 or the image has no pixels or more than
// dataset.MaxPixels.
func ImageInput(img image.Image, s int) []float32 {
	src, err := newRGBSource(img)
	if err != nil || s < 1 || s > maxSize {
		return nil
	}
	dst := make([]float32, 3*s*s)
	src.sample(image.Rect(0, 0, src.w, src.h), s, dst)
	return dst
}

// logitPlane resamples an s×s logit map to w×h on demand: the horizontal
// pass is done for every source row up front (s × w values), the vertical
// one per pixel, so that a w×h result need not be stored.
type logitPlane struct {
	h  []float32 // s rows of w values
	ty taps
	w  int
}

// newLogitPlane prepares the w×h resampling of the s×s map l.
func newLogitPlane(l []float32, s, w, h int) *logitPlane {
	tx := makeTaps(s, w)
	p := &logitPlane{h: make([]float32, s*w), ty: makeTaps(s, h), w: w}
	for y := range s {
		src, dst := l[y*s:(y+1)*s], p.h[y*w:(y+1)*w]
		for x := range dst {
			dst[x] = lerp(src[tx.i0[x]], src[tx.i1[x]], tx.w0[x], tx.w1[x])
		}
	}
	return p
}

// row writes row y of the resampled map into dst (w values).
func (p *logitPlane) row(y int, dst []float32) {
	a := p.h[p.ty.i0[y]*p.w : (p.ty.i0[y]+1)*p.w]
	b := p.h[p.ty.i1[y]*p.w : (p.ty.i1[y]+1)*p.w]
	w0, w1 := p.ty.w0[y], p.ty.w1[y]
	for x := range dst {
		dst[x] = lerp(a[x], b[x], w0, w1)
	}
}

// at is the resampled logit at (x, y), the same value that row gives.
func (p *logitPlane) at(x, y int) float32 {
	return lerp(p.h[p.ty.i0[y]*p.w+x], p.h[p.ty.i1[y]*p.w+x], p.ty.w0[y], p.ty.w1[y])
}
