package annotate

import "fmt"

// FlipAverage wraps seg in test-time flip augmentation: each image is
// segmented as it is and mirrored left to right, in one call of seg's
// Segment with 2n images, and the mirrored image's logits, mirrored back,
// are averaged with the plain ones, (a + b) / 2 per pixel. A network
// trained with random flips errs differently on the two views, so the
// average is usually a smoother, slightly more accurate mask, for about
// twice the inference. The result depends only on seg's logits: with a
// deterministic seg it is deterministic.
func FlipAverage(seg Segmenter) Segmenter { return &flipAverage{seg: seg} }

type flipAverage struct{ seg Segmenter }

func (f *flipAverage) Size() int { return f.seg.Size() }

// Segment implements [Segmenter].
func (f *flipAverage) Segment(x []float32, n int) ([]float32, error) {
	s := f.seg.Size()
	in, px := 3*s*s, s*s
	if s < 1 || n < 0 || len(x) != n*in {
		return nil, fmt.Errorf("flip average: %d input values for %d images of 3×%d×%d", len(x), n, s, s)
	}
	both := make([]float32, 2*n*in)
	copy(both, x)
	mirrorRows(both[n*in:], x, s)
	out, err := f.seg.Segment(both, 2*n)
	if err != nil {
		return nil, err
	}
	if len(out) != 2*n*px {
		return nil, fmt.Errorf("flip average: the segmenter returned %d logits for %d images of %d×%d", len(out), 2*n, s, s)
	}
	avg := make([]float32, n*px)
	back := make([]float32, n*px)
	mirrorRows(back, out[n*px:], s)
	for i := range avg {
		avg[i] = (out[i] + back[i]) / 2
	}
	return avg, nil
}

// mirrorRows writes src's rows of side s, reversed left to right, to dst
// (len(src) a multiple of s; planes follow each other).
func mirrorRows(dst, src []float32, s int) {
	for r := 0; r+s <= len(src); r += s {
		row, out := src[r:r+s], dst[r:r+s]
		for i, v := range row {
			out[s-1-i] = v
		}
	}
}
