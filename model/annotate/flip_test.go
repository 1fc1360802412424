package annotate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// colSeg is a fake Segmenter that is not mirror-symmetric: its logit is
// the input's first channel plus 10 × the pixel's column. It records its
// inputs.
type colSeg struct {
	s      int
	inputs [][]float32
	sizes  []int
}

func (c *colSeg) Size() int { return c.s }

func (c *colSeg) Segment(x []float32, n int) ([]float32, error) {
	c.inputs = append(c.inputs, append([]float32(nil), x...))
	c.sizes = append(c.sizes, n)
	px := c.s * c.s
	out := make([]float32, n*px)
	for i := range n {
		for j := range px {
			out[i*px+j] = x[i*3*px+j] + 10*float32(j%c.s)
		}
	}
	return out, nil
}

// The average worked by hand on a 2×2 image: plain [1 12; 3 14]; the
// mirrored input [2 1; 4 3] gives [2 11; 4 13], mirrored back
// [11 2; 13 4]; their mean is [6 7; 8 9].
func TestFlipAverageByHand(t *testing.T) {
	seg := &colSeg{s: 2}
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	got, err := FlipAverage(seg).Segment(x, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{6, 7, 8, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("logits %v, want %v", got, want)
	}
	// One call of two images: the image, then its mirror (every channel).
	if !reflect.DeepEqual(seg.sizes, []int{2}) {
		t.Fatalf("Segment calls of %v images, want [2]", seg.sizes)
	}
	if want := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11}; !reflect.DeepEqual(seg.inputs[0], want) {
		t.Errorf("the segmenter saw %v, want %v", seg.inputs[0], want)
	}
	if FlipAverage(seg).Size() != 2 {
		t.Error("Size is not the wrapped segmenter's")
	}
}

// A mirror-symmetric network gives the same logits with and without the
// flip, image by image in a batch.
func TestFlipAverageSymmetric(t *testing.T) {
	seg := &redSeg{s: 4, gain: 4}
	x := make([]float32, 2*3*16)
	for i := range x {
		x[i] = float32((i*7)%16) / 16
	}
	plain, err := seg.Segment(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	flipped, err := FlipAverage(seg).Segment(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, flipped) {
		t.Errorf("flip average %v, want the plain logits %v", flipped, plain)
	}
}

// A network that misses the right half of a figure (its logits there are
// 0.7·gain lower) finds it with the flip: each half is seen once on the
// left. The plain prediction keeps the left half only.
func TestFlipAverageRecoversAMissedSide(t *testing.T) {
	const s = 8
	weakRight := func(out []float32) []float32 {
		for i := range out {
			if i%s >= s/2 {
				out[i] -= 0.7 * 4
			}
		}
		return out
	}
	img := drawMask("........", ".######.", ".######.", ".######.", "........", "........", "........", "........")
	want := "........\n.######.\n.######.\n.######.\n" + strings.Repeat("........\n", 4)
	wantPlain := "........\n.###....\n.###....\n.###....\n" + strings.Repeat("........\n", 4)
	for _, tc := range []struct {
		name string
		seg  Segmenter
		want string
	}{
		{"plain", &redSeg{s: s, gain: 4, mangle: weakRight}, wantPlain},
		{"flip", FlipAverage(&redSeg{s: s, gain: 4, mangle: weakRight}), want},
	} {
		objs, err := Scene(tc.seg, img, Params{Class: "person", MinArea: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 {
			t.Fatalf("%s: %d objects, want 1", tc.name, len(objs))
		}
		if got := maskOf(t, objs[0], s, s); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

func TestFlipAverageErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := FlipAverage(&redSeg{s: 2, err: boom}).Segment(make([]float32, 12), 1); !errors.Is(err, boom) {
		t.Errorf("a segmenter's error: got %v", err)
	}
	if _, err := FlipAverage(&redSeg{s: 2}).Segment(make([]float32, 11), 1); err == nil || !strings.Contains(err.Error(), "11 input values for 1 images of 3×2×2") {
		t.Errorf("a short input: got %v", err)
	}
	short := &redSeg{s: 2, mangle: func(out []float32) []float32 { return out[:5] }}
	if _, err := FlipAverage(short).Segment(make([]float32, 12), 1); err == nil || !strings.Contains(err.Error(), "returned 5 logits for 2 images") {
		t.Errorf("a segmenter's short output: got %v", err)
	}
}
