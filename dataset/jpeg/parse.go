package jpeg

import (
	"errors"
	"sync"
)

// errShort is returned when the data ends inside a marker segment.
var errShort = FormatError("truncated (the file ends inside a marker segment)")

// component is one color component of the frame.
type component struct {
	id     byte
	h, v   int // sampling factors
	tq     int // quantization table selector
	bw, bh int // blocks of the plane, padded to whole MCUs
	// Blocks a non-interleaved scan codes: ceil(width*h/hmax / 8) etc.
	nbw, nbh int
	// Samples of the component before upsampling: ceil(width*h/hmax) etc.
	dw, dh int

	quant   [64]int // latched at the component's first scan, natural order
	latched bool
	coefs   []int16 // progressive: bw*bh blocks of 64, natural order
	plane   []byte  // bw*8 × bh*8 samples
	dcPred  int32
}

type decoder struct {
	data []byte
	pos  int

	width, height int
	progressive   bool
	frameSeen     bool
	fallback      bool // four components: image/jpeg decodes
	comps         []component
	hmax, vmax    int
	mcusx, mcusy  int

	qt        [4][64]uint16 // natural order
	qtDefined [4]bool
	tabs      *tables
	restart   int

	jfif           bool
	adobe          bool
	adobeTransform byte
	scans          int
	eobrun         int

	// The memory of the planes and of the coefficients, kept with the
	// decoder (as its tables are) when it goes back to the pool (see
	// newDecoder).
	sampleBuf []byte
	coefBuf   []int16
}

// decoders holds decoders between images, with their sample and
// coefficient buffers, so that an image of the same size as the last
// costs neither their allocation nor the page faults of fresh memory.
var decoders sync.Pool

// maxKept is the largest buffer, in bytes, that a pooled decoder keeps.
const maxKept = 64 << 20

// newDecoder returns a decoder for data, from the pool when it can; free
// gives it back.
func newDecoder(data []byte) *decoder {
	d, _ := decoders.Get().(*decoder)
	if d == nil {
		return &decoder{data: data, tabs: new(tables)}
	}
	samples, coefs, tabs := d.sampleBuf, d.coefBuf, d.tabs
	for i := range tabs.dc {
		tabs.dc[i].defined, tabs.ac[i].defined = false, false
	}
	*d = decoder{data: data, sampleBuf: samples, coefBuf: coefs, tabs: tabs}
	return d
}

// free returns d to the pool; d must not be used after. Memory handed to
// the caller (a grayscale image's plane) must have been detached first.
func (d *decoder) free() {
	d.data, d.comps = nil, nil
	if cap(d.sampleBuf) > maxKept {
		d.sampleBuf = nil
	}
	if 2*cap(d.coefBuf) > maxKept {
		d.coefBuf = nil
	}
	decoders.Put(d)
}

// Markers.
const (
	mSOF0  = 0xC0
	mSOF1  = 0xC1
	mSOF2  = 0xC2
	mDHT   = 0xC4
	mRST0  = 0xD0
	mRST7  = 0xD7
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mDQT   = 0xDB
	mDNL   = 0xDC
	mDRI   = 0xDD
	mAPP0  = 0xE0
	mAPP14 = 0xEE
	mTEM   = 0x01
)

// nextMarker skips to the next marker (bytes that are not a marker are
// skipped, as libjpeg does with a warning) and returns its code.
func (d *decoder) nextMarker() (byte, error) {
	for {
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return 0, errShort
		}
		c := d.data[d.pos]
		d.pos++
		if c != 0 {
			return c, nil
		}
	}
}

// segment returns the payload of the marker segment at d.pos and moves past
// it.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, errShort
	}
	n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	if n < 2 {
		return nil, errorf("marker segment length %d", n)
	}
	if d.pos+n > len(d.data) {
		return nil, errShort
	}
	p := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return p, nil
}

// run parses the file; with configOnly it stops after the frame header.
func (d *decoder) run(configOnly bool) error {
	if len(d.data) < 2 {
		if configOnly && (len(d.data) == 0 || d.data[0] == 0xFF) {
			return errShort
		}
		return errorf("not a JPEG file (no start-of-image marker)")
	}
	if d.data[0] != 0xFF || d.data[1] != mSOI {
		return errorf("not a JPEG file (no start-of-image marker)")
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			if errors.Is(err, errShort) && !configOnly {
				return errorf("truncated (no end-of-image marker)")
			}
			return err
		}
		switch {
		case m == mSOI:
			return errorf("a second start-of-image marker")
		case m == mEOI:
			if configOnly {
				return nil
			}
			if d.scans == 0 {
				return errorf("no image data (end-of-image before any scan)")
			}
			return nil
		case m >= mRST0 && m <= mRST7, m == mTEM:
			// Stray markers without a segment: ignored, as libjpeg does.
		case m == mSOF0 || m == mSOF1 || m == mSOF2:
			p, err := d.segment()
			if err != nil {
				return err
			}
			if err := d.frame(p, m == mSOF2); err != nil {
				return err
			}
			if configOnly || d.fallback {
				return nil
			}
		case m == 0xC3 || (m >= 0xC5 && m <= 0xC7) || (m >= 0xC9 && m <= 0xCB) || (m >= 0xCD && m <= 0xCF):
			kind := "lossless or hierarchical"
			if m >= 0xC9 {
				kind = "arithmetic-coded"
			}
			return errorf("%s JPEG (SOF%d) is not supported", kind, m-0xC0)
		default:
			p, err := d.segment()
			if err != nil {
				return err
			}
			switch m {
			case mDHT:
				err = d.defineHuffman(p)
			case mDQT:
				err = d.defineQuant(p)
			case mDRI:
				if len(p) != 2 {
					return errorf("DRI segment of %d bytes", len(p))
				}
				d.restart = int(p[0])<<8 | int(p[1])
			case mAPP0:
				if len(p) >= 14 && string(p[:5]) == "JFIF\x00" && d.scans == 0 {
					d.jfif = true
				}
			case mAPP14:
				if len(p) >= 12 && string(p[:5]) == "Adobe" && d.scans == 0 {
					d.adobe, d.adobeTransform = true, p[11]
				}
			case mDNL:
				return errorf("DNL marker (height defined after the first scan) is not supported")
			case mSOS:
				if configOnly {
					return nil
				}
				if !d.frameSeen {
					return errorf("scan before the frame header")
				}
				err = d.scan(p)
				d.scans++
			}
			if err != nil {
				return err
			}
		}
	}
}

// frame parses SOF0/1/2.
func (d *decoder) frame(p []byte, progressive bool) error {
	if d.frameSeen {
		return errorf("a second frame header")
	}
	if len(p) < 6 {
		return errorf("frame header of %d bytes", len(p))
	}
	if p[0] != 8 {
		return errorf("%d-bit samples are not supported (only 8)", p[0])
	}
	d.height = int(p[1])<<8 | int(p[2])
	d.width = int(p[3])<<8 | int(p[4])
	n := int(p[5])
	if d.height == 0 || d.width == 0 {
		return errorf("image of %dx%d pixels", d.width, d.height)
	}
	if n != 1 && n != 3 && n != 4 {
		return errorf("%d color components are not supported (1, 3 or 4)", n)
	}
	if len(p) != 6+3*n {
		return errorf("frame header of %d bytes for %d components", len(p), n)
	}
	d.progressive = progressive
	d.frameSeen = true
	d.comps = make([]component, n)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		q := p[6+3*i:]
		c.id, c.h, c.v, c.tq = q[0], int(q[1]>>4), int(q[1]&15), int(q[2])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return errorf("component %d has sampling factors %dx%d", c.id, c.h, c.v)
		}
		if c.tq > 3 {
			return errorf("component %d uses quantization table %d", c.id, c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return errorf("two components with id %d", c.id)
			}
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if n == 4 {
		d.fallback = true
		return nil
	}
	d.mcusx = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusy = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return errorf("component %d's sampling factors %dx%d do not divide the largest (%dx%d)", c.id, c.h, c.v, d.hmax, d.vmax)
		}
		c.bw, c.bh = d.mcusx*c.h, d.mcusy*c.v
		c.dw = (d.width*c.h + d.hmax - 1) / d.hmax
		c.dh = (d.height*c.v + d.vmax - 1) / d.vmax
		c.nbw, c.nbh = (c.dw+7)/8, (c.dh+7)/8
	}
	return nil
}

// allocate makes the planes (and coefficient arrays) once the first scan
// starts, so that a header alone costs no memory. They come from the
// decoder's buffers, zeroed as fresh memory would be.
func (d *decoder) allocate() {
	if d.comps[0].plane != nil {
		return
	}
	samples, coefs := 0, 0
	for i := range d.comps {
		c := &d.comps[i]
		samples += c.bw * 8 * c.bh * 8
		coefs += c.bw * c.bh * 64
	}
	if cap(d.sampleBuf) < samples {
		d.sampleBuf = make([]byte, samples)
	}
	buf := d.sampleBuf[:samples]
	clear(buf)
	var cbuf []int16
	if d.progressive {
		if cap(d.coefBuf) < coefs {
			d.coefBuf = make([]int16, coefs)
		}
		cbuf = d.coefBuf[:coefs]
		clear(cbuf)
	}
	for i := range d.comps {
		c := &d.comps[i]
		n := c.bw * 8 * c.bh * 8
		c.plane, buf = buf[:n:n], buf[n:]
		if d.progressive {
			c.coefs, cbuf = cbuf[:n:n], cbuf[n:]
		}
	}
}

// defineQuant parses DQT.
func (d *decoder) defineQuant(p []byte) error {
	for len(p) > 0 {
		pq, tq := p[0]>>4, int(p[0]&15)
		if tq > 3 {
			return errorf("quantization table %d", tq)
		}
		p = p[1:]
		switch pq {
		case 0:
			if len(p) < 64 {
				return errorf("short quantization table")
			}
			for k := 0; k < 64; k++ {
				d.qt[tq][zigzag[k]] = uint16(p[k])
			}
			p = p[64:]
		case 1:
			if len(p) < 128 {
				return errorf("short quantization table")
			}
			for k := 0; k < 64; k++ {
				d.qt[tq][zigzag[k]] = uint16(p[2*k])<<8 | uint16(p[2*k+1])
			}
			p = p[128:]
		default:
			return errorf("quantization table precision %d", pq)
		}
		d.qtDefined[tq] = true
	}
	return nil
}

// zigzag maps the zig-zag index to the natural (row-major) index; the
// entries past 63 absorb the overruns of corrupt data, as libjpeg's do (a
// run can take the index to 78; the table has 128 entries so that an index
// masked with 127 needs no bounds check).
var zigzag = [128]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
}
