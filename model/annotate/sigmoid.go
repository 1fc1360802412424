package annotate

import "math"

// sigmoid is 1/(1 + e^−x), computed with [expNeg] so that it gives the same
// bits on every platform (math.Exp has assembly versions). NaN gives ½.
func sigmoid(x float64) float64 {
	switch {
	case x != x:
		return 0.5
	case x >= 0:
		return 1 / (1 + expNeg(-x))
	}
	e := expNeg(x)
	return e / (1 + e)
}

// Cody–Waite split of ln 2: ln2Hi has its low bits zero, so k·ln2Hi is
// exact for the k that expNeg uses.
const (
	ln2Hi  = 6.93147180369123816490e-01
	ln2Lo  = 1.90821492927058770002e-10
	invLn2 = 1 / math.Ln2
)

// expTaylor holds 1/n! for n = 13 down to 0, the Taylor coefficients of
// e^r, highest first; 13 terms keep the truncation error below 2·10⁻¹⁶
// relative for |r| ≤ ln2/2.
var expTaylor = [...]float64{
	1.0 / 6227020800, 1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800,
	1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
	1.0 / 6, 1.0 / 2, 1, 1,
}

// expNeg is e^x for x ≤ 0 (0 below −80, where it is under 2·10⁻³⁵):
// x = k·ln2 + r with |r| ≤ ln2/2, e^r by Horner's rule on its Taylor
// series, then scaled by 2^k (exact). Every product is rounded explicitly,
// so no multiply-add is fused and the result is the same on every
// platform; it is within a few ulps of the true value.
func expNeg(x float64) float64 {
	if x < -80 {
		return 0
	}
	if x > 0 {
		x = 0
	}
	k := math.Floor(float64(x*invLn2) + 0.5)
	r := float64(x-float64(k*ln2Hi)) - float64(k*ln2Lo)
	p := expTaylor[0]
	for _, c := range expTaylor[1:] {
		p = float64(p*r) + c
	}
	return math.Ldexp(p, int(k))
}
