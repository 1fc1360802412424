package review

// This file is Label Studio's brush "rle" bitstream (formats.md §7.3).

import (
	"errors"
	"fmt"

	"dsbuild/dataset"
)

// The stream's parameters as label-studio-converter writes them: 8-bit
// values, count fields of 3, 4, 8 and 16 bits.
const brushWordBits = 8

var brushCountBits = [4]int{3, 4, 8, 16}

// bitWriter appends bits, most significant first.
type bitWriter struct {
	buf  []byte
	used int // bits used in the last byte (0 when it is full or absent)
}

func (w *bitWriter) write(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.used == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.buf[len(w.buf)-1] |= 0x80 >> uint(w.used)
		}
		w.used = (w.used + 1) % 8
	}
}

// encodeBrush returns the brush rle of m, a mask over the whole image, as
// the converter (mask2rle) writes it: every pixel as 4 values (RGBA), 255
// where set and 0 elsewhere, each run of equal values as repeat chunks of at
// most 65,536 values and a run of 1 as a literal chunk.
func encodeBrush(m *dataset.Mask) []int {
	var w bitWriter
	w.write(uint64(4*len(m.Bits)), 32)
	w.write(brushWordBits-1, 5)
	for _, n := range brushCountBits {
		w.write(uint64(n-1), 4)
	}
	chunk := func(v uint64, n int) {
		if n == 1 {
			w.write(0, 1) // literal
			w.write(0, 2)
			w.write(0, brushCountBits[0])
			w.write(v, brushWordBits)
			return
		}
		sel := 0
		for n > 1<<uint(brushCountBits[sel]) {
			sel++
		}
		w.write(1, 1) // repeat
		w.write(uint64(sel), 2)
		w.write(uint64(n-1), brushCountBits[sel])
		w.write(v, brushWordBits)
	}
	maxRun := 1 << uint(brushCountBits[3])
	for i := 0; i < len(m.Bits); {
		j := i
		for j < len(m.Bits) && (m.Bits[j] != 0) == (m.Bits[i] != 0) {
			j++
		}
		v := uint64(0)
		if m.Bits[i] != 0 {
			v = 255
		}
		for n := 4 * (j - i); n > 0; n -= min(n, maxRun) {
			chunk(v, min(n, maxRun))
		}
		i = j
	}
	out := make([]int, len(w.buf))
	for i, b := range w.buf {
		out[i] = int(b)
	}
	return out
}

// bitReader reads bits, most significant first, from bytes held as ints.
type bitReader struct {
	data []int
	pos  int // bit position
}

var errTruncated = errors.New("the bitstream ends early")

func (r *bitReader) read(n int) (uint64, error) {
	if r.pos+n > 8*len(r.data) {
		return 0, errTruncated
	}
	var v uint64
	for i := 0; i < n; i++ {
		b := r.data[(r.pos+i)/8]
		v = v<<1 | uint64(b>>(7-uint((r.pos+i)%8))&1)
	}
	r.pos += n
	return v, nil
}

// decodeBrush decodes a brush rle into the w×h mask of the pixels whose
// alpha value (every fourth value, from the fourth) is not 0.
func decodeBrush(rle []int, w, h int) (*dataset.Mask, error) {
	for i, b := range rle {
		if b < 0 || b > 255 {
			return nil, fmt.Errorf("rle: byte %d is %d, not 0…255", i, b)
		}
	}
	m, err := dataset.NewMask(w, h)
	if err != nil {
		return nil, fmt.Errorf("rle: %w", err)
	}
	r := &bitReader{data: rle}
	num64, err := r.read(32)
	if err != nil {
		return nil, fmt.Errorf("rle: header: %w", err)
	}
	if num64 != 4*uint64(w)*uint64(h) {
		return nil, fmt.Errorf("rle: %d values, want 4*%d*%d = %d for the image", num64, w, h, 4*w*h)
	}
	num := int(num64)
	ws, err := r.read(5)
	if err != nil {
		return nil, fmt.Errorf("rle: header: %w", err)
	}
	word := int(ws) + 1
	var widths [4]int
	for i := range widths {
		v, err := r.read(4)
		if err != nil {
			return nil, fmt.Errorf("rle: header: %w", err)
		}
		widths[i] = int(v) + 1
	}
	for done := 0; done < num; {
		rep, err1 := r.read(1)
		sel, err2 := r.read(2)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("rle: value %d: %w", done, err)
		}
		c, err := r.read(widths[sel])
		if err != nil {
			return nil, fmt.Errorf("rle: value %d: %w", done, err)
		}
		count := int(c) + 1
		if count > num-done {
			return nil, fmt.Errorf("rle: value %d: a chunk of %d values runs past the %d values", done, count, num)
		}
		if rep == 1 {
			v, err := r.read(word)
			if err != nil {
				return nil, fmt.Errorf("rle: value %d: %w", done, err)
			}
			if v != 0 {
				// Alpha values are those at 4k+3.
				for k := done + (3-done%4+4)%4; k < done+count; k += 4 {
					m.Bits[k/4] = 1
				}
			}
			done += count
			continue
		}
		for ; count > 0; count-- {
			v, err := r.read(word)
			if err != nil {
				return nil, fmt.Errorf("rle: value %d: %w", done, err)
			}
			if v != 0 && done%4 == 3 {
				m.Bits[done/4] = 1
			}
			done++
		}
	}
	return m, nil
}
