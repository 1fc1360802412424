package jpeg

import (
	"encoding/binary"
	"image"
)

// YCbCr→RGB as libjpeg-turbo's tables: 16-bit fixed point, the red and
// blue terms rounded to integers, the green sum rounded once (the ½ is in
// cbG).
var crR, cbB, crG, cbG = func() (crR, cbB, crG, cbG [256]int32) {
	const bits, half = 16, 1 << 15
	fix := func(x float64) int32 { return int32(x*(1<<bits) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		crR[i] = (fix(1.40200)*x + half) >> bits
		cbB[i] = (fix(1.77200)*x + half) >> bits
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + half
	}
	return
}()

// clampTab[(v+384)&1023] is v limited to 0..255, for the -384 ≤ v < 640
// that the color conversion gives (at most ±227 outside 0..255).
var clampTab = func() (t [1024]uint8) {
	for i := range t {
		t[i] = uint8(min(max(i-384, 0), 255))
	}
	return
}()

// output runs the inverse DCT of progressive images, upsamples and
// converts the colors.
func (d *decoder) output() (image.Image, error) {
	for i := range d.comps {
		c := &d.comps[i]
		stride := c.bw * 8
		switch {
		case d.progressive:
			var blk [64]int
			var ws [8][8]int
			for by := 0; by < c.nbh; by++ {
				for bx := 0; bx < c.nbw; bx++ {
					nz := dequantize(&blk, (*[64]int16)(c.coefs[(by*c.bw+bx)*64:]), &c.quant)
					idct(&blk, nz, c.plane[by*8*stride+bx*8:], stride, &ws)
				}
			}
			c.coefs = nil
		case !c.latched:
			// A component no scan coded: all coefficients zero.
			for j := range c.plane {
				c.plane[j] = 128
			}
		}
	}
	w, h := d.width, d.height
	if len(d.comps) == 1 {
		c := &d.comps[0]
		// The plane is the image's: the decoder no longer owns it.
		d.sampleBuf = nil
		return &image.Gray{Pix: c.plane, Stride: c.bw * 8, Rect: image.Rect(0, 0, w, h)}, nil
	}
	ycc := true
	switch {
	case d.jfif:
	case d.adobe:
		ycc = d.adobeTransform != 0
	default:
		ycc = !(d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B')
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if ycc && d.fancyH2() {
		d.outputFancyH2(img)
		return img, nil
	}
	var scratch [3][]byte
	var rows [3][]byte
	for i := range scratch {
		c := &d.comps[i]
		scratch[i] = make([]byte, c.dw*(d.hmax/c.h)+1)
	}
	for y := 0; y < h; y++ {
		for i := range rows {
			rows[i] = d.upsampleRow(&d.comps[i], y, scratch[i])[:w]
		}
		out := img.Pix[y*img.Stride : y*img.Stride+4*w]
		c0, c1, c2 := rows[0], rows[1][:len(rows[0])], rows[2][:len(rows[0])]
		if !ycc {
			for x := range c0 {
				p := out[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = c0[x], c1[x], c2[x], 255
			}
			continue
		}
		for x := range c0 {
			binary.LittleEndian.PutUint32(out[4*x:], uint32(pixel(c0[x], uint64(c1[x])|uint64(c2[x])<<32)))
		}
	}
	return img, nil
}

// upsampleRow returns row y of component c at full resolution (at least
// the image's width), computed into buf when c is subsampled. The methods
// and their rounding are libjpeg-turbo's: h2v1 and h2v2 "fancy" triangle
// filters when the component is more than 2 samples wide, h1v2 fancy, and
// box replication otherwise. Rows beyond the component's last real row and
// above its first repeat that row.
func (d *decoder) upsampleRow(c *component, y int, buf []byte) []byte {
	hr, vr := d.hmax/c.h, d.vmax/c.v
	stride := c.bw * 8
	row := func(r int) []byte {
		r = min(max(r, 0), c.dh-1)
		return c.plane[r*stride : r*stride+c.dw]
	}
	switch {
	case hr == 1 && vr == 1:
		return c.plane[y*stride : y*stride+c.dw]
	case hr == 2 && vr == 1 && c.dw > 2:
		in := row(y)
		out := buf[:2*len(in)]
		n := len(in)
		out[0] = in[0]
		out[1] = uint8((int(in[0])*3 + int(in[1]) + 2) >> 2)
		for i := 1; i < n-1; i++ {
			v := int(in[i]) * 3
			out[2*i] = uint8((v + int(in[i-1]) + 1) >> 2)
			out[2*i+1] = uint8((v + int(in[i+1]) + 2) >> 2)
		}
		out[2*n-2] = uint8((int(in[n-1])*3 + int(in[n-2]) + 1) >> 2)
		out[2*n-1] = in[n-1]
		return out
	case hr == 2 && vr == 2 && c.dw > 2:
		r := y / 2
		near := row(r)
		var far []byte
		if y&1 == 0 {
			far = row(r - 1)
		} else {
			far = row(r + 1)
		}
		far = far[:len(near)]
		n := len(near)
		out := buf[:2*n]
		this := int(near[0])*3 + int(far[0])
		next := int(near[1])*3 + int(far[1])
		out[0] = uint8((this*4 + 8) >> 4)
		out[1] = uint8((this*3 + next + 7) >> 4)
		last := this
		this = next
		for i := 1; i < n-1; i++ {
			next = int(near[i+1])*3 + int(far[i+1])
			out[2*i] = uint8((this*3 + last + 8) >> 4)
			out[2*i+1] = uint8((this*3 + next + 7) >> 4)
			last, this = this, next
		}
		out[2*n-2] = uint8((this*3 + last + 8) >> 4)
		out[2*n-1] = uint8((this*4 + 7) >> 4)
		return out
	case hr == 1 && vr == 2:
		r := y / 2
		near := row(r)
		far, bias := row(r-1), 1
		if y&1 == 1 {
			far, bias = row(r+1), 2
		}
		out := buf[:len(near)]
		for i := range out {
			out[i] = uint8((int(near[i])*3 + int(far[i]) + bias) >> 2)
		}
		return out
	default:
		in := row(y / vr)
		out := buf[:len(in)*hr]
		for i, v := range in {
			for j := 0; j < hr; j++ {
				out[i*hr+j] = v
			}
		}
		return out
	}
}

// fancyH2 tells whether the image is the common case that outputFancyH2
// handles: luma at full resolution, both chroma components halved
// horizontally (and halved vertically or not, the same for both) and more
// than 2 samples wide, so that upsampleRow would use its h2v1 or h2v2
// triangle filter.
func (d *decoder) fancyH2() bool {
	y, cb, cr := &d.comps[0], &d.comps[1], &d.comps[2]
	if y.h != d.hmax || y.v != d.vmax || cb.h != cr.h || cb.v != cr.v || d.hmax != 2*cb.h {
		return false
	}
	vr := d.vmax / cb.v
	return (vr == 1 || vr == 2) && d.vmax%cb.v == 0 && cb.dw > 2 && cb.dw == cr.dw && cb.dh == cr.dh
}

// cbPack and crPack hold output's color conversion terms side by side in
// one word, so that cbPack[cb] + crPack[cr] + y×yLanes holds the clampTab
// index of each channel: bits 0-15 y + crR[cr] + 384, bits 16-47 the green
// sum (y<<16 + cbG[cb] + crG[cr] + 384<<16, whose bits 32-47 are y + its
// rounded shift + 384), bits 54-63 y + cbB[cb] + 384. Every field stays in
// its bits (red at most 817, the green sum between 0 and 2^32, blue at
// most 866 < 2^10), so the fields are exact and the indices are output's.
var cbPack, crPack = func() (cb, cr [256]uint64) {
	for i := range 256 {
		cb[i] = uint64(cbG[i]+384<<16)<<16 | uint64(cbB[i]+384)<<54
		cr[i] = uint64(int64(crR[i]+384) + int64(crG[i])<<16)
	}
	return
}()

const yLanes = 1 | 1<<32 | 1<<54

// yPack[y] is y×yLanes.
var yPack = func() (t [256]uint64) {
	for i := range t {
		t[i] = uint64(i) * yLanes
	}
	return
}()

// outputFancyH2 converts the planes of a fancyH2 image to RGBA, row by
// row: the vertical pass of the triangle filter into column sums (for
// h2v2, 3 × the nearer chroma row + the farther one; for h2v1 the samples),
// Cb and Cr side by side in one 64-bit word, with the edge columns
// repeated; then the horizontal pass and the color conversion in one loop.
// Its samples are upsampleRow's (h2v1 and h2v2 cases) converted as output's
// loop converts them.
func (d *decoder) outputFancyH2(img *image.RGBA) {
	w, h := d.width, d.height
	cb, cr := &d.comps[1], &d.comps[2]
	n := cb.dw
	v2 := d.vmax/cb.v == 2
	sums := make([]uint64, n+2)
	ystride, cstride := d.comps[0].bw*8, cb.bw*8
	for y := 0; y < h; y++ {
		luma := d.comps[0].plane[y*ystride : y*ystride+w]
		out := img.Pix[y*img.Stride : y*img.Stride+4*w]
		if !v2 {
			r := min(y, cb.dh-1)
			cbRow, crRow := cb.plane[r*cstride:r*cstride+n], cr.plane[r*cstride:r*cstride+n]
			s := sums[1 : n+1]
			for i := range s {
				s[i] = uint64(cbRow[i]) | uint64(crRow[i])<<32
			}
			sums[0], sums[n+1] = sums[1], sums[n]
			convertH2V1(out, luma, sums)
			continue
		}
		// The nearer chroma row and the farther one, edge rows repeated.
		r, far := y/2, y/2+1
		if y&1 == 0 {
			far = r - 1
		}
		r, far = min(max(r, 0), cb.dh-1), min(max(far, 0), cb.dh-1)
		cbN, cbF := cb.plane[r*cstride:r*cstride+n], cb.plane[far*cstride:far*cstride+n]
		crN, crF := cr.plane[r*cstride:r*cstride+n], cr.plane[far*cstride:far*cstride+n]
		s := sums[1 : n+1]
		for i := range s {
			s[i] = uint64(cbN[i])*3 + uint64(cbF[i]) | (uint64(crN[i])*3+uint64(crF[i]))<<32
		}
		sums[0], sums[n+1] = sums[1], sums[n]
		convertH2V2(out, luma, sums)
	}
}

// Packed Cb|Cr<<32 lanes: the filter sums stay below 2^16, so the lanes
// never carry into each other; after the filter's shift, each lane's low
// byte is its sample (pixel reads no other bits).
const lanes = 1 | 1<<32

// convertH2V2 writes one row of RGBA pixels from its luma samples and the
// packed chroma column sums (one repeated column on each side): each sum
// gives two chroma samples, (3 × sum + left sum + 8) >> 4 and (3 × sum +
// right sum + 7) >> 4.
func convertH2V2(out, luma []byte, sums []uint64) {
	// Four pairs of pixels at a time, on fixed-size arrays.
	for len(luma) >= 8 && len(out) >= 32 && len(sums) >= 6 {
		l, o, s := (*[8]byte)(luma), (*[32]byte)(out), (*[6]uint64)(sums)
		binary.LittleEndian.PutUint64(o[0:], pairH2V2(l[0], l[1], s[0], s[1], s[2]))
		binary.LittleEndian.PutUint64(o[8:], pairH2V2(l[2], l[3], s[1], s[2], s[3]))
		binary.LittleEndian.PutUint64(o[16:], pairH2V2(l[4], l[5], s[2], s[3], s[4]))
		binary.LittleEndian.PutUint64(o[24:], pairH2V2(l[6], l[7], s[3], s[4], s[5]))
		luma, out, sums = luma[8:], out[32:], sums[4:]
	}
	for len(luma) >= 2 && len(out) >= 8 && len(sums) >= 3 {
		binary.LittleEndian.PutUint64(out, pairH2V2(luma[0], luma[1], sums[0], sums[1], sums[2]))
		luma, out, sums = luma[2:], out[8:], sums[1:]
	}
	if len(luma) == 1 && len(out) >= 4 && len(sums) >= 2 {
		// An odd width: the last pixel has only its left-hand sample.
		binary.LittleEndian.PutUint32(out, uint32(pixel(luma[0], (sums[1]*3+sums[0]+8*lanes)>>4)))
	}
}

// pairH2V2 converts two pixels, with the chroma column sums left of,
// under and right of them.
func pairH2V2(y0, y1 byte, left, this, next uint64) uint64 {
	t := this * 3
	return pixel(y0, (t+left+8*lanes)>>4) | pixel(y1, (t+next+7*lanes)>>4)<<32
}

// pixel converts luma and packed chroma samples (Cb in the low byte of c,
// Cr in the low byte of c>>32) to an opaque RGBA pixel, R in the low byte.
func pixel(y byte, c uint64) uint64 {
	v := cbPack[uint8(c)] + crPack[uint8(c>>32)] + yPack[y]
	return uint64(clampR[v&1023] | clampG[v>>32&1023] | clampB[v>>54])
}

// clampTab's samples placed as pixel wants them: in the red, green and
// blue bytes of an RGBA pixel (the red one with the opaque alpha).
var clampR, clampG, clampB = func() (r, g, b [1024]uint32) {
	for i, v := range clampTab {
		r[i], g[i], b[i] = uint32(v)|0xFF000000, uint32(v)<<8, uint32(v)<<16
	}
	return
}()

// convertH2V1 is convertH2V2 for chroma halved horizontally only: the sums
// are the samples, filtered as (3 × sample + left + 1) >> 2 and (3 ×
// sample + right + 2) >> 2.
func convertH2V1(out, luma []byte, sums []uint64) {
	for len(luma) >= 8 && len(out) >= 32 && len(sums) >= 6 {
		l, o, s := (*[8]byte)(luma), (*[32]byte)(out), (*[6]uint64)(sums)
		binary.LittleEndian.PutUint64(o[0:], pairH2V1(l[0], l[1], s[0], s[1], s[2]))
		binary.LittleEndian.PutUint64(o[8:], pairH2V1(l[2], l[3], s[1], s[2], s[3]))
		binary.LittleEndian.PutUint64(o[16:], pairH2V1(l[4], l[5], s[2], s[3], s[4]))
		binary.LittleEndian.PutUint64(o[24:], pairH2V1(l[6], l[7], s[3], s[4], s[5]))
		luma, out, sums = luma[8:], out[32:], sums[4:]
	}
	for len(luma) >= 2 && len(out) >= 8 && len(sums) >= 3 {
		binary.LittleEndian.PutUint64(out, pairH2V1(luma[0], luma[1], sums[0], sums[1], sums[2]))
		luma, out, sums = luma[2:], out[8:], sums[1:]
	}
	if len(luma) == 1 && len(out) >= 4 && len(sums) >= 2 {
		binary.LittleEndian.PutUint32(out, uint32(pixel(luma[0], (sums[1]*3+sums[0]+1*lanes)>>2)))
	}
}

// pairH2V1 is pairH2V2 for convertH2V1.
func pairH2V1(y0, y1 byte, left, this, next uint64) uint64 {
	t := this * 3
	return pixel(y0, (t+left+1*lanes)>>2) | pixel(y1, (t+next+2*lanes)>>2)<<32
}
