package jpeg

import "encoding/binary"

// lookBits is the number of bits the fast Huffman lookup table covers.
const lookBits = 10

// huffman is one decoding table (T.81 Annex C and F.2.2.3).
type huffman struct {
	defined bool
	// fast[code of lookBits bits] = length<<8 | value, or 0 when the code
	// is longer than lookBits.
	fast    [1 << lookBits]uint16
	maxcode [18]int32 // largest code of each length, -1 if none
	valptr  [17]int32 // index in vals of the first code of each length minus that code
	vals    [256]byte
}

// acTable is an AC table with its second lookup table.
type acTable struct {
	huffman
	// fastAC[lookBits bits] = value<<16 | run<<8 | length (the value as
	// 16-bit two's complement) for AC codes whose symbol has a nonzero
	// size and fits with its value bits in lookBits (length counts both),
	// or 0: one lookup decodes the coefficient.
	fastAC [1 << lookBits]uint32
}

// tables are a decoder's Huffman tables. A table is only read once
// defined (defineHuffman rewrites all of it), so that a pooled decoder
// keeps its tables and only forgets that they are defined.
type tables struct {
	dc [4]huffman
	ac [4]acTable
}

// defineHuffman parses DHT.
func (d *decoder) defineHuffman(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return errorf("short Huffman table")
		}
		tc, th := p[0]>>4, int(p[0]&15)
		if tc > 1 || th > 3 {
			return errorf("Huffman table class %d, id %d", tc, th)
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(p[l])
			total += counts[l]
		}
		p = p[17:]
		if total > 256 || len(p) < total {
			return errorf("Huffman table of %d codes", total)
		}
		t := &d.tabs.dc[th]
		if tc == 1 {
			t = &d.tabs.ac[th].huffman
		}
		*t = huffman{}
		var fastAC *[1 << lookBits]uint32
		if tc == 1 {
			fastAC = &d.tabs.ac[th].fastAC
			clear(fastAC[:])
		}
		copy(t.vals[:], p[:total])
		if tc == 0 {
			for _, v := range p[:total] {
				if v > 15 {
					return errorf("DC Huffman table %d has the value %d", th, v)
				}
			}
		}
		p = p[total:]
		// Canonical codes, shortest first.
		code, k := int32(0), 0
		for l := 1; l <= 16; l++ {
			t.valptr[l] = int32(k) - code
			for i := 0; i < counts[l]; i++ {
				if code >= 1<<l {
					return errorf("bad Huffman table (its codes overflow %d bits)", l)
				}
				if l <= lookBits {
					shift := lookBits - l
					base := int(code) << shift
					for j := 0; j < 1<<shift; j++ {
						t.fast[base+j] = uint16(l)<<8 | uint16(t.vals[k])
					}
					if fastAC != nil {
						fillFastAC(fastAC[base:base+1<<shift], uint(l), t.vals[k])
					}
				}
				code++
				k++
			}
			if code >= 1<<l {
				return errorf("bad Huffman table (its codes overflow %d bits)", l)
			}
			if counts[l] > 0 {
				t.maxcode[l] = code - 1
			} else {
				t.maxcode[l] = -1
			}
			code <<= 1
		}
		t.maxcode[17] = 1<<31 - 1 // sentinel
		t.defined = true
	}
	return nil
}

// fillFastAC fills the fastAC entries of one AC code of l bits (dst: the
// entries that start with it) whose symbol is rs, when the code and the
// value bits its symbol asks for fit in lookBits: each pattern of those
// bits gets its entry, the value they code (T.81 F.2.2.1) with the run
// and the length of both.
func fillFastAC(dst []uint32, l uint, rs byte) {
	r, s := uint32(rs>>4), uint(rs&15)
	if s == 0 || l+s > lookBits {
		return
	}
	m := len(dst) >> s // entries per pattern
	for bits := range int32(1) << s {
		v := bits
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		e := uint32(uint16(v))<<16 | r<<8 | uint32(l+s)
		for j := range dst[int(bits)*m : int(bits+1)*m] {
			dst[int(bits)*m+j] = e
		}
	}
}

// bitReader reads entropy-coded data: bytes 0xFF 0x00 are a data byte
// 0xFF; at a marker it stops and reads zero bits, as libjpeg does.
type bitReader struct {
	data     []byte
	pos      int
	acc      uint64 // bits, most significant first
	n        uint   // bits in acc
	atMarker bool   // pos is at a marker (or the end of the data)
	pastEnd  bool   // the data ended; zero bits follow
	fake     uint   // zero bits added after the end of the data
}

// overrun tells whether bits past the end of the data were consumed: the
// scan needs more data than the file has.
func (b *bitReader) overrun() bool { return b.pastEnd && b.fake > b.n }

// fill tops acc up to at least 57 bits.
func (b *bitReader) fill() {
	// Fast path: the next 8 bytes hold no 0xFF, so the bytes needed are
	// data bytes; add them at once.
	if !b.atMarker && b.pos+8 <= len(b.data) {
		x := binary.BigEndian.Uint64(b.data[b.pos:])
		if v := ^x; (v-0x0101010101010101)&^v&0x8080808080808080 == 0 {
			k := (64 - b.n) >> 3 // whole bytes that fit
			x = x >> (64 - 8*k) << (64 - 8*k)
			b.acc |= x >> b.n
			b.n += 8 * k
			b.pos += int(k)
			return
		}
	}
	for b.n <= 56 {
		var c byte
		if !b.atMarker {
			if b.pos >= len(b.data) {
				b.atMarker, b.pastEnd = true, true
			} else if c = b.data[b.pos]; c != 0xFF {
				b.pos++
			} else {
				// 0xFF: a stuffed data byte, fill bytes then a marker, or
				// the end.
				q := b.pos + 1
				for q < len(b.data) && b.data[q] == 0xFF {
					q++
				}
				switch {
				case q >= len(b.data):
					c, b.atMarker, b.pastEnd = 0, true, true
				case b.data[q] == 0:
					b.pos = q + 1
				default:
					c, b.atMarker, b.pos = 0, true, q-1
				}
			}
		}
		if b.pastEnd {
			b.fake += 8
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// decode reads one Huffman-coded value.
func (b *bitReader) decode(t *huffman) (byte, error) {
	if b.n < 16 {
		b.fill()
	}
	return b.symbol(t)
}

// symbol reads one Huffman-coded value; the caller has made sure that acc
// holds at least 16 bits.
func (b *bitReader) symbol(t *huffman) (byte, error) {
	if e := t.fast[b.acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return byte(e), nil
	}
	return b.slowSymbol(t)
}

func (b *bitReader) slowSymbol(t *huffman) (byte, error) {
	for l := uint(lookBits + 1); l <= 16; l++ {
		code := int32(b.acc >> (64 - l))
		if code <= t.maxcode[l] {
			b.acc <<= l
			b.n -= l
			return t.vals[(t.valptr[l]+code)&255], nil
		}
	}
	return 0, errorf("corrupt data (bad Huffman code)")
}

// receive reads s bits (s ≤ 16) as an unsigned number.
func (b *bitReader) receive(s uint) int32 {
	if s == 0 {
		return 0
	}
	if b.n < s {
		b.fill()
	}
	v := int32(b.acc >> (64 - s))
	b.acc <<= s
	b.n -= s
	return v
}

// extend reads s bits (s ≤ 16) and gives the signed value they code
// (T.81 F.2.2.1).
func (b *bitReader) extend(s uint) int32 {
	if s == 0 {
		return 0
	}
	v := b.receive(s)
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// bit reads one bit.
func (b *bitReader) bit() bool {
	if b.n < 1 {
		b.fill()
	}
	v := b.acc>>63 != 0
	b.acc <<= 1
	b.n--
	return v
}
