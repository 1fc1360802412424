package jpeg

import "encoding/binary"

// The integer inverse DCT of libjpeg-turbo's "islow" method (the
// Loeffler–Ligtenberg–Moschytz algorithm with 13-bit fixed-point
// multipliers; a first pass over columns keeps 2 extra bits, a second over
// rows removes them and the DCT's factor of 8). Every rounding and the
// range limiting are as libjpeg-turbo's, so that its samples are ours.

const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// rangeLimit maps an IDCT output x (centered on 0) by x&1023 to a sample:
// x+128 clamped to 0..255 for -384 ≤ x < 512, the way libjpeg's table
// wraps values beyond that.
var rangeLimit = func() (t [1024]uint8) {
	for i := range t {
		switch {
		case i < 128:
			t[i] = uint8(i + 128)
		case i < 512:
			t[i] = 255
		case i < 896:
			t[i] = 0
		default:
			t[i] = uint8(i - 896)
		}
	}
	return
}()

// idct transforms one block of dequantized coefficients (natural order;
// each the coefficient times its quantizer, in 32 bits as libjpeg-turbo
// multiplies them) into 8×8 samples at dst with the given stride.
func idct(in *[64]int32, dst []byte, stride int) {
	var ws [64]int32
	for col := 0; col < 8; col++ {
		if in[8+col]|in[16+col]|in[24+col]|in[32+col]|in[40+col]|in[48+col]|in[56+col] == 0 {
			// Only the DC term: the column is constant.
			dc := in[col] << pass1Bits
			ws[col], ws[8+col], ws[16+col], ws[24+col] = dc, dc, dc, dc
			ws[32+col], ws[40+col], ws[48+col], ws[56+col] = dc, dc, dc, dc
			continue
		}
		// Even part.
		z2 := int(in[16+col])
		z3 := int(in[48+col])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2 = int(in[col])
		z3 = int(in[32+col])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		// Odd part.
		tmp0 = int(in[56+col])
		tmp1 = int(in[40+col])
		tmp2 = int(in[24+col])
		tmp3 = int(in[8+col])
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 = z3*-fix1_961570560 + z5
		z4 = z4*-fix0_390180644 + z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const n, half = constBits - pass1Bits, 1 << (constBits - pass1Bits - 1)
		ws[col] = int32((tmp10 + tmp3 + half) >> n)
		ws[56+col] = int32((tmp10 - tmp3 + half) >> n)
		ws[8+col] = int32((tmp11 + tmp2 + half) >> n)
		ws[48+col] = int32((tmp11 - tmp2 + half) >> n)
		ws[16+col] = int32((tmp12 + tmp1 + half) >> n)
		ws[40+col] = int32((tmp12 - tmp1 + half) >> n)
		ws[24+col] = int32((tmp13 + tmp0 + half) >> n)
		ws[32+col] = int32((tmp13 - tmp0 + half) >> n)
	}

	for row := 0; row < 8; row++ {
		w := (*[8]int32)(ws[row*8:])
		out := (*[8]byte)(dst[row*stride:])
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := uint64(rangeLimit[((int(w[0])+(1<<(pass1Bits+2)))>>(pass1Bits+3))&1023])
			binary.LittleEndian.PutUint64(out[:], v*0x0101010101010101)
			continue
		}
		// Even part.
		z2 := int(w[2])
		z3 := int(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (int(w[0]) + int(w[4])) << constBits
		tmp1 := (int(w[0]) - int(w[4])) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		// Odd part.
		tmp0 = int(w[7])
		tmp1 = int(w[5])
		tmp2 = int(w[3])
		tmp3 = int(w[1])
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 = z3*-fix1_961570560 + z5
		z4 = z4*-fix0_390180644 + z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const n, half = constBits + pass1Bits + 3, 1 << (constBits + pass1Bits + 3 - 1)
		out[0] = rangeLimit[((tmp10+tmp3+half)>>n)&1023]
		out[7] = rangeLimit[((tmp10-tmp3+half)>>n)&1023]
		out[1] = rangeLimit[((tmp11+tmp2+half)>>n)&1023]
		out[6] = rangeLimit[((tmp11-tmp2+half)>>n)&1023]
		out[2] = rangeLimit[((tmp12+tmp1+half)>>n)&1023]
		out[5] = rangeLimit[((tmp12-tmp1+half)>>n)&1023]
		out[3] = rangeLimit[((tmp13+tmp0+half)>>n)&1023]
		out[4] = rangeLimit[((tmp13-tmp0+half)>>n)&1023]
	}
}

// idctDC is idct of a block whose AC coefficients are all zero: one value,
// computed as idct's two passes compute it from the dequantized DC term.
func idctDC(dc int32, dst []byte, stride int) {
	ws := dc << pass1Bits
	v := uint64(rangeLimit[((int(ws)+(1<<(pass1Bits+2)))>>(pass1Bits+3))&1023]) * 0x0101010101010101
	for r := 0; r < 8; r++ {
		binary.LittleEndian.PutUint64(dst[r*stride:], v)
	}
}

// dequantize multiplies coefficients by their quantizers, as idct wants
// them.
func dequantize(out *[64]int32, in *[64]int16, q *[64]int32) {
	for k := range out {
		out[k] = int32(in[k]) * q[k]
	}
}
