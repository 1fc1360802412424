package dataset

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// RLE is a COCO run-length encoded mask (formats.md §3.3), as in an
// annotation's "segmentation": {"size": [H, W], "counts": [...]}.
//
// The H×W mask is flattened column by column (pixel (x, y) is at position
// x*H + y), and Counts holds the lengths of alternating runs of unset and set
// pixels, always starting with a run of unset pixels (Counts[0] is 0 when the
// first pixel is set). An RLE is valid when H and W are non-negative, H*W is at
// most [MaxPixels] and the counts sum to H*W.
type RLE struct {
	H, W   int
	Counts []uint32
}

// Validate reports why r is not a valid RLE, or nil.
func (r *RLE) Validate() error {
	if r == nil {
		return errors.New("rle: nil")
	}
	if err := checkSize(r.W, r.H); err != nil {
		return fmt.Errorf("rle: %w", err)
	}
	var sum uint64
	for _, c := range r.Counts {
		sum += uint64(c)
	}
	if want := uint64(r.H) * uint64(r.W); sum != want {
		return fmt.Errorf("rle: counts sum to %d, want h*w = %d*%d = %d", sum, r.H, r.W, want)
	}
	return nil
}

// runBuilder accumulates alternating runs into canonical counts: the first
// count is the (possibly empty) run of unset pixels, and later runs are never
// empty, adjacent runs of the same value being merged.
type runBuilder struct {
	counts []uint32
	cur    uint8 // value of the run being built
	n      uint32
}

func (b *runBuilder) add(v uint8, n uint32) {
	if n == 0 {
		return
	}
	if v != b.cur {
		b.counts = append(b.counts, b.n)
		b.cur, b.n = v, 0
	}
	b.n += n
}

func (b *runBuilder) finish() []uint32 {
	return append(b.counts, b.n)
}

// EncodeRLE returns the RLE of m. The counts are canonical, as pycocotools
// writes them: no empty run except a leading 0, and a 0×0 mask gives [0].
// It fails for an invalid mask.
func EncodeRLE(m *Mask) (*RLE, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("encode rle: %w", err)
	}
	var b runBuilder
	for x := 0; x < m.W; x++ {
		for i := x; i < len(m.Bits); i += m.W {
			v := uint8(0)
			if m.Bits[i] != 0 {
				v = 1
			}
			b.add(v, 1)
		}
	}
	return &RLE{H: m.H, W: m.W, Counts: b.finish()}, nil
}

// Decode returns the mask that r encodes. It fails for an invalid RLE.
func (r *RLE) Decode() (*Mask, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("decode %w", err)
	}
	m, err := NewMask(r.W, r.H)
	if err != nil {
		return nil, fmt.Errorf("decode rle: %w", err)
	}
	x, y := 0, 0 // column and row of the next position
	for i, c := range r.Counts {
		n := int(c)
		if i%2 == 0 {
			// Skip a run of unset pixels.
			t := x*r.H + y + n
			if r.H > 0 {
				x, y = t/r.H, t%r.H
			}
			continue
		}
		for ; n > 0; n-- {
			m.Bits[y*r.W+x] = 1
			if y++; y == r.H {
				x, y = x+1, 0
			}
		}
	}
	return m, nil
}

// Area returns the number of set pixels: the sum of the counts at odd
// positions. It returns 0 for an invalid RLE.
func (r *RLE) Area() int {
	if r.Validate() != nil {
		return 0
	}
	var a int
	for i := 1; i < len(r.Counts); i += 2 {
		a += int(r.Counts[i])
	}
	return a
}

// BBox returns the bounding box of the set pixels, computed from the run
// boundaries without decoding, with the half-open convention of [Mask.BBox]:
// the COCO bbox is [x0, y0, x1-x0, y1-y0]. ok is false when no pixel is set or
// r is invalid.
func (r *RLE) BBox() (x0, y0, x1, y1 int, ok bool) {
	if r.Validate() != nil || r.H == 0 {
		return 0, 0, 0, 0, false
	}
	xmin, ymin, xmax, ymax := math.MaxInt, math.MaxInt, -1, -1
	t := 0
	for i, c := range r.Counts {
		n := int(c)
		if i%2 == 1 && n > 0 {
			s, e := t, t+n-1
			xs, ys, xe, ye := s/r.H, s%r.H, e/r.H, e%r.H
			xmin, xmax = min(xmin, xs), max(xmax, xe)
			if xs == xe {
				ymin, ymax = min(ymin, ys), max(ymax, ye)
			} else {
				// The run wraps into the next column: it covers every row.
				ymin, ymax = 0, r.H-1
			}
		}
		t += n
	}
	if xmax < 0 {
		return 0, 0, 0, 0, false
	}
	return xmin, ymin, xmax + 1, ymax + 1, true
}

// CountsString returns the compressed counts string of r (maskApi.c
// rleToString, formats.md §3.4): each count, minus the count two positions
// earlier from position 3 on, is written in 5-bit groups, least significant
// first, as characters '0' (48) to 'o' (111), bit 5 marking a continuation.
func (r *RLE) CountsString() string {
	if r == nil {
		return ""
	}
	return countsToString(r.Counts)
}

func countsToString(counts []uint32) string {
	var sb strings.Builder
	sb.Grow(2 * len(counts))
	for i, c := range counts {
		v := int64(c)
		if i >= 3 {
			v -= int64(counts[i-2])
		}
		for {
			g := byte(v & 0x1f)
			v >>= 5 // arithmetic shift: v is signed
			done := (v == 0 && g&0x10 == 0) || (v == -1 && g&0x10 != 0)
			if !done {
				g |= 0x20
			}
			sb.WriteByte('0' + g)
			if done {
				break
			}
		}
	}
	return sb.String()
}

// maxGroups is the number of 5-bit groups that fill an int64 (13 × 5 = 65 bits).
const maxGroups = 13

// countsFromString decodes a compressed counts string (maskApi.c rleFrString).
// It rejects characters outside '0'…'o', a string that ends inside a count, a
// count longer than 64 bits and decoded counts outside 0…2^32-1.
func countsFromString(s string) ([]uint32, error) {
	counts := make([]uint32, 0, len(s)/2)
	for p := 0; p < len(s); {
		var v int64
		k := 0
		for more := true; more; {
			if p >= len(s) {
				return nil, fmt.Errorf("count %d: string ends inside a count", len(counts))
			}
			ch := s[p]
			if ch < '0' || ch > 'o' {
				return nil, fmt.Errorf("count %d: byte %d (%q) outside '0'…'o'", len(counts), p, ch)
			}
			if k == maxGroups {
				return nil, fmt.Errorf("count %d: more than %d groups", len(counts), maxGroups)
			}
			g := int64(ch - '0')
			p++
			v |= (g & 0x1f) << (5 * k)
			k++
			more = g&0x20 != 0
			if !more && g&0x10 != 0 && 5*k < 64 {
				v |= -1 << (5 * k) // sign-extend
			}
		}
		i := len(counts)
		if i >= 3 {
			v += int64(counts[i-2])
		}
		if v < 0 || v > math.MaxUint32 {
			return nil, fmt.Errorf("count %d: value %d outside 0…2^32-1", i, v)
		}
		counts = append(counts, uint32(v))
	}
	return counts, nil
}

// ParseRLEString decodes a compressed counts string into the RLE of an h×w
// mask (h and w as in COCO's "size": [h, w]). It fails for a malformed string
// and for counts that do not sum to h*w.
func ParseRLEString(h, w int, s string) (*RLE, error) {
	if err := checkSize(w, h); err != nil {
		return nil, fmt.Errorf("parse rle string: %w", err)
	}
	counts, err := countsFromString(s)
	if err != nil {
		return nil, fmt.Errorf("parse rle string: %w", err)
	}
	r := &RLE{H: h, W: w, Counts: counts}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("parse rle string: %w", err)
	}
	return r, nil
}

// MergeRLE returns the union of the masks rs encode (maskApi.c rleMerge with
// intersect = 0), as canonical counts, without decoding them: an iscrowd
// region made of several RLEs becomes one. Every RLE must be valid and of the
// same size; at least one is required.
func MergeRLE(rs ...*RLE) (*RLE, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge rle: no input")
	}
	for i, r := range rs {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("merge rle: input %d: %w", i, err)
		}
		if r.H != rs[0].H || r.W != rs[0].W {
			return nil, fmt.Errorf("merge rle: input %d is %dx%d, input 0 is %dx%d (h x w)", i, r.H, r.W, rs[0].H, rs[0].W)
		}
	}
	out := rs[0].Counts
	for _, r := range rs[1:] {
		out = unionCounts(out, r.Counts)
	}
	if len(rs) == 1 {
		// Canonicalise a single input too.
		out = unionCounts(out, nil)
	}
	return &RLE{H: rs[0].H, W: rs[0].W, Counts: out}, nil
}

// runCursor walks the runs of one counts slice.
type runCursor struct {
	counts []uint32
	i      int    // index of the current run
	left   uint32 // pixels left in the current run
}

func newRunCursor(c []uint32) runCursor {
	rc := runCursor{counts: c, i: -1}
	rc.next()
	return rc
}

// next moves to the next non-empty run, or past the end.
func (rc *runCursor) next() {
	for rc.i++; rc.i < len(rc.counts) && rc.counts[rc.i] == 0; rc.i++ {
	}
	if rc.i < len(rc.counts) {
		rc.left = rc.counts[rc.i]
	}
}

func (rc *runCursor) done() bool { return rc.i >= len(rc.counts) }

// consume advances the cursor by n pixels, at most the rest of the current run.
func (rc *runCursor) consume(n uint32) {
	if rc.done() {
		return
	}
	if rc.left -= n; rc.left == 0 {
		rc.next()
	}
}

// value is 1 inside a run of set pixels and 0 otherwise (also past the end).
func (rc *runCursor) value() uint8 {
	if rc.done() {
		return 0
	}
	return uint8(rc.i % 2)
}

// unionCounts returns the canonical counts of the union of two run sequences
// of equal total length (nil stands for all unset).
func unionCounts(a, b []uint32) []uint32 {
	ca, cb := newRunCursor(a), newRunCursor(b)
	var out runBuilder
	for !ca.done() || !cb.done() {
		var n uint32
		switch {
		case ca.done():
			n = cb.left
		case cb.done():
			n = ca.left
		default:
			n = min(ca.left, cb.left)
		}
		out.add(ca.value()|cb.value(), n)
		ca.consume(n)
		cb.consume(n)
	}
	return out.finish()
}
