package jpeg

import "image"

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
			var blk [64]int32
			for by := 0; by < c.nbh; by++ {
				for bx := 0; bx < c.nbw; bx++ {
					dequantize(&blk, (*[64]int16)(c.coefs[(by*c.bw+bx)*64:]), &c.quant)
					idct(&blk, c.plane[by*8*stride+bx*8:], stride)
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
			yy, cb, cr := int32(c0[x]), c1[x], c2[x]
			p := out[4*x : 4*x+4 : 4*x+4]
			p[0] = clampTab[(yy+crR[cr]+384)&1023]
			p[1] = clampTab[(yy+(cbG[cb]+crG[cr])>>16+384)&1023]
			p[2] = clampTab[(yy+cbB[cb]+384)&1023]
			p[3] = 255
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
