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

// colMask is column 0 in a mask of coefficient positions (natural order,
// bit k for position k).
const colMask = 0x0101010101010101

// idct transforms one block of dequantized coefficients (natural order;
// each the coefficient times its quantizer, in 32 bits as libjpeg-turbo
// multiplies them) into 8×8 samples at dst with the given stride. nz has a
// bit set for each position whose coefficient may be nonzero (a clear bit
// promises a zero); ws is scratch space.
//
// nz picks the shortcuts: a column with only its DC term is constant, as
// libjpeg-turbo computes it, and when only column 0 has terms every row of
// the second pass is constant. Other rows are computed in full, where
// libjpeg-turbo first tests each for zero terms: its shortcut and the full
// computation give the same samples (the arithmetic is exact up to its
// shifts, and zero terms add nothing), so these are its samples.
//
// The odd part is written out in both passes on purpose: as a function it
// is too costly for Go's inliner (90 against a budget of 80), and the
// 640×480 photo of BenchmarkDecode then decodes about 10 % slower.
func idct(in *[64]int, nz uint64, dst []byte, stride int, ws *[8][8]int) {
	for col := 0; col < 8; col++ {
		c := nz >> col & colMask
		if c == 1 || c == 0 {
			// Only the DC term: the column is constant.
			// (In 32 bits, as libjpeg-turbo's workspace.)
			dc := int(int32(in[col]) << pass1Bits)
			ws[0][col], ws[1][col], ws[2][col], ws[3][col] = dc, dc, dc, dc
			ws[4][col], ws[5][col], ws[6][col], ws[7][col] = dc, dc, dc, dc
			continue
		}
		// Even part.
		z2 := in[16+col]
		z3 := in[48+col]
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		const n, half = constBits - pass1Bits, 1 << (constBits - pass1Bits - 1)
		z2 = in[col]
		z3 = in[32+col]
		// The rounding of the outputs, added once here: each output
		// has one of tmp10 to tmp13.
		tmp0 := (z2+z3)<<constBits + half
		tmp1 := (z2-z3)<<constBits + half
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		// Odd part.
		tmp0 = in[56+col]
		tmp1 = in[40+col]
		tmp2 = in[24+col]
		tmp3 = in[8+col]
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

		ws[0][col] = int(int32((tmp10 + tmp3) >> n))
		ws[7][col] = int(int32((tmp10 - tmp3) >> n))
		ws[1][col] = int(int32((tmp11 + tmp2) >> n))
		ws[6][col] = int(int32((tmp11 - tmp2) >> n))
		ws[2][col] = int(int32((tmp12 + tmp1) >> n))
		ws[5][col] = int(int32((tmp12 - tmp1) >> n))
		ws[3][col] = int(int32((tmp13 + tmp0) >> n))
		ws[4][col] = int(int32((tmp13 - tmp0) >> n))
	}

	switch {
	case nz&^colMask == 0:
		// Only column 0: every row of ws is constant.
		for row := 0; row < 8; row++ {
			v := uint64(rangeLimit[((ws[row][0]+(1<<(pass1Bits+2)))>>(pass1Bits+3))&1023])
			binary.LittleEndian.PutUint64(dst[row*stride:], v*0x0101010101010101)
		}
	default:
		for row := range ws {
			// Even part.
			z2 := ws[row][2]
			z3 := ws[row][6]
			z1 := (z2 + z3) * fix0_541196100
			tmp2 := z1 - z3*fix1_847759065
			tmp3 := z1 + z2*fix0_765366865
			// The rounding of the outputs, added once to the row's
			// first term (as libjpeg-turbo does): each output has one
			// of tmp10 to tmp13.
			const n = constBits + pass1Bits + 3
			w0 := ws[row][0] + 1<<(pass1Bits+2)
			tmp0 := (w0 + ws[row][4]) << constBits
			tmp1 := (w0 - ws[row][4]) << constBits
			tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
			tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

			// Odd part.
			tmp0 = ws[row][7]
			tmp1 = ws[row][5]
			tmp2 = ws[row][3]
			tmp3 = ws[row][1]
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

			out := (*[8]byte)(dst[row*stride:])
			out[0] = rangeLimit[((tmp10+tmp3)>>n)&1023]
			out[7] = rangeLimit[((tmp10-tmp3)>>n)&1023]
			out[1] = rangeLimit[((tmp11+tmp2)>>n)&1023]
			out[6] = rangeLimit[((tmp11-tmp2)>>n)&1023]
			out[2] = rangeLimit[((tmp12+tmp1)>>n)&1023]
			out[5] = rangeLimit[((tmp12-tmp1)>>n)&1023]
			out[3] = rangeLimit[((tmp13+tmp0)>>n)&1023]
			out[4] = rangeLimit[((tmp13-tmp0)>>n)&1023]
		}
	}
}

// idctDC is idct of a block whose AC coefficients are all zero: one value,
// computed as idct's two passes compute it from the dequantized DC term.
func idctDC(dc int, dst []byte, stride int) {
	ws := int(int32(dc) << pass1Bits)
	v := uint64(rangeLimit[((ws+(1<<(pass1Bits+2)))>>(pass1Bits+3))&1023]) * 0x0101010101010101
	for r := 0; r < 8; r++ {
		binary.LittleEndian.PutUint64(dst[r*stride:], v)
	}
}

// dequantize multiplies coefficients by their quantizers, as idct wants
// them, and returns the mask of nonzero positions that idct takes.
func dequantize(out *[64]int, in *[64]int16, q *[64]int) uint64 {
	var nz uint64
	for k := range out {
		v := int(in[k]) * q[k]
		out[k] = v
		if v != 0 {
			nz |= 1 << k
		}
	}
	return nz
}
