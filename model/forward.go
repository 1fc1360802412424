package model

import (
	"fmt"
	"math"
)

// Folded is a network ready for inference: BatchNorm folded into each
// convolution, so every layer is weight (out, in, k, k) and bias (out).
type Folded struct {
	Config *Config
	Layers []FoldedConv // forward order, as Config.Convs
}

// FoldedConv is one convolution with its bias.
type FoldedConv struct {
	Conv
	W []float32 // out × in × k × k
	B []float32 // out
}

// Fold checks w against c and folds BatchNorm into the convolutions:
// w' = w·γ/√(var+ε), b' = β − mean·γ/√(var+ε), computed in float64 and
// rounded once.
func Fold(c *Config, w Weights) (*Folded, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := w.Check(c); err != nil {
		return nil, err
	}
	eps := c.BNEpsilon
	if eps == 0 {
		eps = DefaultBNEpsilon
	}
	f := &Folded{Config: c}
	for _, cv := range c.Convs() {
		wt := w[cv.Name+".weight"]
		fc := FoldedConv{Conv: cv, W: make([]float32, len(wt)), B: make([]float32, cv.Out)}
		if !cv.BN {
			copy(fc.W, wt)
			copy(fc.B, w[cv.Name+".bias"])
		} else {
			g, b := w[cv.Name+".bn.weight"], w[cv.Name+".bn.bias"]
			rm, rv := w[cv.Name+".bn.running_mean"], w[cv.Name+".bn.running_var"]
			per := len(wt) / cv.Out
			for o := 0; o < cv.Out; o++ {
				if rv[o] < 0 {
					return nil, fmt.Errorf("tensor %s.bn.running_var is negative at %d", cv.Name, o)
				}
				s := float64(g[o]) / math.Sqrt(float64(rv[o])+eps)
				for j := o * per; j < (o+1)*per; j++ {
					fc.W[j] = float32(float64(wt[j]) * s)
				}
				fc.B[o] = float32(float64(b[o]) - float64(rm[o])*s)
			}
		}
		f.Layers = append(f.Layers, fc)
	}
	return f, nil
}

// Forward runs the network on one image, x (3 × S × S, channel-major,
// values in [0, 1]) where S is the configured input size, and returns the
// S × S logits. Every output value is summed in a fixed order: for each
// input channel, kernel row and kernel column, acc += w·x (taps outside
// the image skipped), then acc + bias, then ReLU.
func (f *Folded) Forward(x []float32) []float32 {
	c := f.Config
	s := c.InputSize
	if len(x) != c.InChannels*s*s {
		panic(fmt.Sprintf("model: input has %d values, want %d", len(x), c.InChannels*s*s))
	}
	li := 0
	next := func(in []float32, size int) []float32 {
		l := &f.Layers[li]
		li++
		return conv(l, in, size)
	}
	h := x
	skips := make([][]float32, c.Depth)
	for l := 0; l < c.Depth; l++ {
		size := s >> l
		h = next(h, size)
		h = next(h, size)
		skips[l] = h
		h = maxPool2(h, c.Channels(l), size)
	}
	h = next(h, s>>c.Depth)
	h = next(h, s>>c.Depth)
	for l := c.Depth - 1; l >= 0; l-- {
		size := s >> l
		h = upConcat(h, c.Channels(l+1), skips[l], c.Channels(l), size)
		h = next(h, size)
		h = next(h, size)
	}
	return next(h, s)
}

// conv is a same-size convolution (padding k/2, stride 1) of in (l.In ×
// size × size).
func conv(l *FoldedConv, in []float32, size int) []float32 {
	n := size * size
	out := make([]float32, l.Out*n)
	k, r := l.Kernel, l.Kernel/2
	for o := 0; o < l.Out; o++ {
		acc := out[o*n : (o+1)*n]
		for ci := 0; ci < l.In; ci++ {
			src := in[ci*n : (ci+1)*n]
			for u := 0; u < k; u++ {
				dy := u - r
				for v := 0; v < k; v++ {
					dx := v - r
					wv := l.W[((o*l.In+ci)*k+u)*k+v]
					y0, y1 := max(0, -dy), min(size, size-dy)
					x0, x1 := max(0, -dx), min(size, size-dx)
					for y := y0; y < y1; y++ {
						dst := acc[y*size+x0 : y*size+x1]
						row := src[(y+dy)*size+x0+dx : (y+dy)*size+x1+dx]
						for i, xv := range row {
							dst[i] += float32(wv * xv)
						}
					}
				}
			}
		}
		b := l.B[o]
		for i := range acc {
			v := acc[i] + b
			if l.ReLU && v < 0 {
				v = 0
			}
			acc[i] = v
		}
	}
	return out
}

func maxPool2(in []float32, ch, size int) []float32 {
	h := size / 2
	out := make([]float32, ch*h*h)
	for c := 0; c < ch; c++ {
		src := in[c*size*size:]
		dst := out[c*h*h:]
		for y := 0; y < h; y++ {
			for x := 0; x < h; x++ {
				a, b := src[2*y*size+2*x], src[2*y*size+2*x+1]
				cc, d := src[(2*y+1)*size+2*x], src[(2*y+1)*size+2*x+1]
				dst[y*h+x] = max(max(a, b), max(cc, d))
			}
		}
	}
	return out
}

// upConcat returns [nearest ×2 upsampling of deep (dc × size/2²), skip
// (sc × size²)] on the channel axis.
func upConcat(deep []float32, dc int, skip []float32, sc, size int) []float32 {
	n, h := size*size, size/2
	out := make([]float32, (dc+sc)*n)
	for c := 0; c < dc; c++ {
		src, dst := deep[c*h*h:], out[c*n:]
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				dst[y*size+x] = src[(y/2)*h+x/2]
			}
		}
	}
	copy(out[dc*n:], skip[:sc*n])
	return out
}
