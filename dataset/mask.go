package dataset

import (
	"errors"
	"fmt"
)

// MaxPixels is the largest number of pixels (width × height) that any function
// in this package will allocate as a mask or accept in a decoded image or RLE.
// It bounds memory at 256 MiB for a [Mask] and protects decoders against inputs
// whose headers claim huge dimensions.
const MaxPixels = 1 << 28

// ErrTooLarge is returned (wrapped) when a mask, image or RLE would exceed
// [MaxPixels] pixels.
var ErrTooLarge = errors.New("exceeds MaxPixels")

// ErrEmptyMask is returned (wrapped) by encoders that cannot represent a mask
// with no set pixels, such as [EncodeBitmap].
var ErrEmptyMask = errors.New("mask has no set pixels")

// Mask is a binary image of W columns and H rows.
//
// Bits holds one byte per pixel in row-major order: pixel (x, y), x the column
// and y the row from the top-left corner, is Bits[y*W+x]. A pixel is set when
// its byte is non-zero; every function in this package writes 1 for a set
// pixel. One byte per pixel costs 8× the memory of a bit set but gives direct
// indexing, slicing by row and simple, fast loops; [MaxPixels] bounds the size.
//
// A Mask is valid when W ≥ 0, H ≥ 0, W*H ≤ MaxPixels and len(Bits) == W*H.
// Methods without an error result treat an invalid (or nil) mask as having no
// set pixels (and Equal reports false) without panicking; functions with an
// error result reject it.
type Mask struct {
	W, H int
	Bits []uint8
}

// sizeOK reports whether w×h is a non-negative size of at most MaxPixels.
func sizeOK(w, h int) bool {
	return w >= 0 && h >= 0 && (w == 0 || h <= MaxPixels/w)
}

// checkSize returns a descriptive error when w×h is not an acceptable size.
func checkSize(w, h int) error {
	if w < 0 || h < 0 {
		return fmt.Errorf("negative size %dx%d", w, h)
	}
	if !sizeOK(w, h) {
		return fmt.Errorf("size %dx%d: %w (%d)", w, h, ErrTooLarge, MaxPixels)
	}
	return nil
}

// NewMask returns an empty (all unset) mask of w columns and h rows. It fails
// for negative sizes and for sizes above [MaxPixels].
func NewMask(w, h int) (*Mask, error) {
	if err := checkSize(w, h); err != nil {
		return nil, fmt.Errorf("new mask: %w", err)
	}
	return &Mask{W: w, H: h, Bits: make([]uint8, w*h)}, nil
}

// valid reports whether m is a valid mask (see [Mask]).
func (m *Mask) valid() bool {
	return m != nil && sizeOK(m.W, m.H) && len(m.Bits) == m.W*m.H
}

// check returns a descriptive error for an invalid mask.
func (m *Mask) check() error {
	switch {
	case m == nil:
		return errors.New("nil mask")
	case !sizeOK(m.W, m.H):
		return fmt.Errorf("invalid mask: %w", checkSize(m.W, m.H))
	case len(m.Bits) != m.W*m.H:
		return fmt.Errorf("invalid mask: %d bytes for %dx%d pixels", len(m.Bits), m.W, m.H)
	}
	return nil
}

// At reports whether pixel (x, y) is set. Pixels outside the mask are unset.
func (m *Mask) At(x, y int) bool {
	if !m.valid() || x < 0 || y < 0 || x >= m.W || y >= m.H {
		return false
	}
	return m.Bits[y*m.W+x] != 0
}

// Set sets or clears pixel (x, y). Like [image.RGBA.Set], it does nothing for a
// pixel outside the mask.
func (m *Mask) Set(x, y int, v bool) {
	if !m.valid() || x < 0 || y < 0 || x >= m.W || y >= m.H {
		return
	}
	var b uint8
	if v {
		b = 1
	}
	m.Bits[y*m.W+x] = b
}

// Area returns the number of set pixels.
func (m *Mask) Area() int {
	if !m.valid() {
		return 0
	}
	n := 0
	for _, b := range m.Bits {
		if b != 0 {
			n++
		}
	}
	return n
}

// BBox returns the smallest box that contains every set pixel, as half-open
// bounds: the set pixels lie in columns x0 … x1-1 and rows y0 … y1-1, so the box
// is x1-x0 wide and y1-y0 high (the same convention as [image.Rectangle]).
// ok is false, and the bounds are zero, when no pixel is set.
func (m *Mask) BBox() (x0, y0, x1, y1 int, ok bool) {
	if !m.valid() {
		return 0, 0, 0, 0, false
	}
	x0, y0 = m.W, m.H
	for y := 0; y < m.H; y++ {
		row := m.Bits[y*m.W : (y+1)*m.W]
		first := -1
		for x, b := range row {
			if b != 0 {
				first = x
				break
			}
		}
		if first < 0 {
			continue
		}
		last := first
		for x := len(row) - 1; x > first; x-- {
			if row[x] != 0 {
				last = x
				break
			}
		}
		if !ok {
			y0, ok = y, true
		}
		y1 = y + 1
		x0 = min(x0, first)
		x1 = max(x1, last+1)
	}
	if !ok {
		return 0, 0, 0, 0, false
	}
	return x0, y0, x1, y1, true
}

// Equal reports whether m and o are valid masks of the same size with the same
// set pixels. Non-zero bytes compare equal whatever their value.
func (m *Mask) Equal(o *Mask) bool {
	if !m.valid() || !o.valid() || m.W != o.W || m.H != o.H {
		return false
	}
	for i, b := range m.Bits {
		if (b != 0) != (o.Bits[i] != 0) {
			return false
		}
	}
	return true
}

// Crop returns a new w×h mask whose pixel (x, y) is pixel (x0+x, y0+y) of m.
// The window may extend past m, where pixels are unset. It fails for an
// invalid m, a negative size or a size above [MaxPixels].
func (m *Mask) Crop(x0, y0, w, h int) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("crop: %w", err)
	}
	out, err := NewMask(w, h)
	if err != nil {
		return nil, fmt.Errorf("crop: %w", err)
	}
	out.Paste(m, -x0, -y0)
	return out, nil
}

// Paste ORs src into m with src's top-left pixel at (x0, y0) of m: pixel
// (x, y) of src sets pixel (x0+x, y0+y) of m. Pixels of m are never cleared,
// and the parts of src that fall outside m are ignored. This is how a
// Supervisely bitmap is placed at its origin. Paste does nothing when either
// mask is invalid.
func (m *Mask) Paste(src *Mask, x0, y0 int) {
	if !m.valid() || !src.valid() {
		return
	}
	// Clip the source window [sx0, sx1) × [sy0, sy1) to m.
	sx0, sy0 := max(0, -x0), max(0, -y0)
	sx1, sy1 := min(src.W, m.W-x0), min(src.H, m.H-y0)
	if sx0 >= sx1 || sy0 >= sy1 {
		return
	}
	for sy := sy0; sy < sy1; sy++ {
		srow := src.Bits[sy*src.W+sx0 : sy*src.W+sx1]
		drow := m.Bits[(y0+sy)*m.W+x0+sx0:]
		for i, b := range srow {
			if b != 0 {
				drow[i] = 1
			}
		}
	}
}

// IoU returns the intersection over union of the set pixels of a and b.
//
// Both masks are laid over the same origin; a pixel outside a mask counts as
// unset, so masks of different sizes are compared over their common frame.
// Invalid masks count as empty. The IoU of two empty masks is defined as 1
// (they agree exactly); the IoU of an empty and a non-empty mask is 0.
func IoU(a, b *Mask) float64 {
	areaA, areaB := a.Area(), b.Area()
	if areaA == 0 && areaB == 0 {
		return 1
	}
	if areaA == 0 || areaB == 0 {
		return 0
	}
	inter := 0
	w, h := min(a.W, b.W), min(a.H, b.H)
	for y := 0; y < h; y++ {
		ra := a.Bits[y*a.W : y*a.W+w]
		rb := b.Bits[y*b.W : y*b.W+w]
		for i, v := range ra {
			if v != 0 && rb[i] != 0 {
				inter++
			}
		}
	}
	return float64(inter) / float64(areaA+areaB-inter)
}
