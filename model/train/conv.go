package train

// The kernels of a pass. Pass tensors hold P samples, each channel-major
// (C×H×W) and contiguous. Every kernel splits its work into tasks that
// write disjoint outputs; sums over samples or tiles go to per-task
// partials, which are then folded in task order, so no result depends on
// how many workers ran the tasks.

import "math"

// source is one input of a convolution: a pass tensor of c channels of
// h×w; with up, the convolution sees it through nearest ×2 upsampling,
// at 2h×2w.
type source struct {
	t    []float32
	c    int
	h, w int
	up   bool
}

func (s source) sample(i int) []float32 {
	n := s.c * s.h * s.w
	return s.t[i*n : (i+1)*n]
}

// im2col writes the 3×3 patches (padding 1) of rows r0…r1−1 of sample
// i's inputs, at size H×W, to col: row ci·9 + ky·3 + kx, column
// (y−r0)·W + x, where ci counts the channels of all sources in order.
// Each (ci, ky) takes the input rows r0+ky−1 … r1+ky−2 as the kx = 1 row,
// in one copy where the input is not upsampled; the kx = 0 and kx = 2
// rows are that row shifted by one, with the pixels that fall off an
// image row zeroed.
//
// An upsampled input's rows r0−1 … r1 are expanded once per channel into
// up ((r1−r0+2)·W floats) and copied from there.
func im2col(col []float32, in []source, i, H, W, r0, r1 int, up []float32) {
	n := (r1 - r0) * W
	row := 0
	e0, e1 := max(r0-1, 0), min(r1+1, H) // the input rows any kernel row reads
	for _, s := range in {
		x := s.sample(i)
		plane := s.h * s.w
		for c := 0; c < s.c; c++ {
			p := x[c*plane : (c+1)*plane]
			if s.up {
				// Expand the rows [e0, e1) and read them as if they
				// were the input, which starts at row e0.
				for sy := e0; sy < e1; sy++ {
					dst := up[(sy-e0)*W : (sy-e0+1)*W]
					for xx, v := range p[(sy/2)*s.w : (sy/2+1)*s.w] {
						dst[2*xx], dst[2*xx+1] = v, v
					}
				}
			}
			for ky := 0; ky < 3; ky++ {
				base := (row + ky*3) * n
				d0, d1, d2 := col[base:base+n], col[base+n:base+2*n], col[base+2*n:base+3*n]
				y0 := r0 + ky - 1 // the input row of d1's first row
				lo, hi := max(y0, 0), min(r1+ky-1, H)
				clear(d1[:(lo-y0)*W])
				clear(d1[(hi-y0)*W:])
				if s.up && hi > lo {
					copy(d1[(lo-y0)*W:(hi-y0)*W], up[(lo-e0)*W:(hi-e0)*W])
				} else if hi > lo {
					copy(d1[(lo-y0)*W:(hi-y0)*W], p[lo*W:hi*W])
				}
				d0[0] = 0
				copy(d0[1:], d1[:n-1])
				copy(d2, d1[1:])
				d2[n-1] = 0
				for y := 0; y < n; y += W {
					d0[y] = 0
					d2[y+W-1] = 0
				}
			}
			row += 9
		}
	}
}

// tile is task t's part of a layer's output: sample i, rows r0 … r1−1,
// n = (r1−r0)·w pixels.
func (L *convLayer) tile(t int) (i, r0, r1, n int) {
	i, ti := t/L.nt, t%L.nt
	r0, r1 = ti*L.rows, min((ti+1)*L.rows, L.h)
	return i, r0, r1, (r1 - r0) * L.w
}

// convForward computes layer L on P samples: the convolution (im2col by
// row tiles, then a matrix product), then bias and ReLU, or BatchNorm
// and ReLU.
//
// In evaluation (e.eval), it uses the folded weights and biases instead
// and no BatchNorm: the network as inference runs it.
func (e *engine) convForward(L *convLayer, in []source, P int) {
	H, W := L.h, L.w
	HW := H * W
	wt, bias, bn := L.wt, L.b, L.BN
	if e.eval {
		wt, bias, bn = L.fw, L.fb, false
	}
	out := L.a
	if bn {
		out = L.z
	}
	k := 9 * L.In
	e.pool.run(P*L.nt, func(wk, t int) {
		i, r0, r1, n := L.tile(t)
		sc := &e.scratch[wk]
		col := sc.col[:k*n]
		im2col(col, in, i, H, W, r0, r1, sc.up)
		o := out[i*L.Out*HW+r0*W:]
		e.gemm.Sgemm(false, false, L.Out, n, k, 1, wt, k, col, n, 0, o, HW)
		if bn {
			return
		}
		for co := 0; co < L.Out; co++ {
			seg := o[co*HW : co*HW+n]
			b := bias[co]
			for j, v := range seg {
				seg[j] = relu(v + b)
			}
		}
	})
	if bn {
		e.bnForward(L, P)
	}
}

// convBackward takes g, the loss gradient of layer L's output (after
// ReLU), turns it in place into the gradient of the convolution's output
// (ReLU mask, then BatchNorm's backward pass or the bias gradient), adds
// the transposed weight gradient to L.gwT and writes the gradient of the
// input, all its channels (P×In×H×W), to dx (nil for the first layer).
func (e *engine) convBackward(L *convLayer, in []source, g, dx []float32, P int) {
	H, W := L.h, L.w
	HW := H * W
	if L.BN {
		e.bnBackward(L, g, P)
	} else {
		st := e.stat[:P*L.Out]
		e.pool.run(P*L.Out, func(_, t int) {
			st[t] = maskSum(g[t*HW:(t+1)*HW], L.a[t*HW:(t+1)*HW])
		})
		for i := 0; i < P; i++ {
			for co := 0; co < L.Out; co++ {
				L.gb[co] += st[i*L.Out+co]
			}
		}
	}
	k := 9 * L.In
	kd := 9 * L.Out
	size := len(L.wt)
	tasks := P * L.nt
	part := e.part[:tasks*size]
	dz := source{t: g, c: L.Out, h: H, w: W}
	e.pool.run(tasks, func(wk, t int) {
		i, r0, r1, n := L.tile(t)
		sc := &e.scratch[wk]
		col := sc.col[:k*n]
		im2col(col, in, i, H, W, r0, r1, sc.up)
		// The weight gradient, transposed (9·In × Out): with few output
		// channels this product runs 1.5× faster than Out × 9·In.
		gz := g[i*L.Out*HW+r0*W:]
		e.gemm.Sgemm(false, true, k, L.Out, n, 1, col, n, gz, HW, 0, part[t*size:(t+1)*size], L.Out)
		if dx == nil {
			return
		}
		// The input gradient is the convolution of the output gradient
		// with the flipped, transposed kernel: im2col of the output
		// gradient, then a product with wflip.
		col2 := sc.col2[:kd*n]
		im2col(col2, []source{dz}, i, H, W, r0, r1, nil)
		e.gemm.Sgemm(false, false, L.In, n, kd, 1, L.wflip, kd, col2, n, 0, dx[i*L.In*HW+r0*W:], HW)
	})
	e.fold(L.gwT, part, tasks)
}

// fold adds the partials part[t·len(acc):…] to acc in task order.
func (e *engine) fold(acc, part []float32, tasks int) {
	const chunk = 4096
	size := len(acc)
	e.pool.run((size+chunk-1)/chunk, func(_, c int) {
		lo, hi := c*chunk, min((c+1)*chunk, size)
		a := acc[lo:hi]
		for t := 0; t < tasks; t++ {
			p := part[t*size+lo : t*size+hi]
			for j, v := range p {
				a[j] += v
			}
		}
	})
}

// flipWeights sets L.wflip[ci][co][ky][kx] = L.wt[co][ci][2−ky][2−kx]:
// the kernel of the input-gradient convolution.
func flipWeights(L *convLayer) {
	for co := 0; co < L.Out; co++ {
		for ci := 0; ci < L.In; ci++ {
			src := L.wt[(co*L.In+ci)*9:]
			dst := L.wflip[(ci*L.Out+co)*9:]
			for j := 0; j < 9; j++ {
				dst[j] = src[8-j]
			}
		}
	}
}

// poolForward is 2×2 max pooling with stride 2 of a (P×c×h×w) into out,
// and arg, the window element that won (0…3 in row order): the first
// largest, as PyTorch picks, found without a branch.
func (e *engine) poolForward(a, out []float32, arg []uint8, c, h, w, P int) {
	oh, ow := h/2, w/2
	e.pool.run(P*c, func(_, t int) {
		src, dst, at := a[t*h*w:(t+1)*h*w], out[t*oh*ow:(t+1)*oh*ow], arg[t*oh*ow:(t+1)*oh*ow]
		for y := 0; y < oh; y++ {
			r0, r1 := src[2*y*w:(2*y+1)*w], src[(2*y+1)*w:(2*y+2)*w]
			d, ay := dst[y*ow:(y+1)*ow], at[y*ow:(y+1)*ow]
			for x := range d {
				a0, a1, a2, a3 := r0[2*x], r0[2*x+1], r1[2*x], r1[2*x+1]
				b01, b23 := b2u(a1 > a0), b2u(a3 > a2)
				m01, m23 := max(a0, a1), max(a2, a3)
				b := b2u(m23 > m01)
				d[x] = max(m01, m23)
				ay[x] = (1-b)*b01 + b*(2+b23)
			}
		}
	})
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// relu is max(v, 0) without a branch (the signs of activations are
// random, and a mispredicted branch costs more than the whole loop body);
// −0 becomes +0.
func relu(v float32) float32 {
	u := math.Float32bits(v)
	return math.Float32frombits(u &^ uint32(int32(u)>>31))
}

// nonzero is all ones when the ReLU output a is not 0 (a ≥ 0 always), else 0.
func nonzero(a float32) uint32 {
	u := math.Float32bits(a)
	return uint32(int32(u|-u) >> 31)
}

// maskSum zeroes d where the ReLU output a is 0 (its gradient does not
// pass) and returns the sum of d, in float64, over four interleaved
// partial sums in a fixed order.
func maskSum(d, a []float32) float64 {
	var s0, s1, s2, s3 float64
	n := len(d) &^ 3
	for j := 0; j < n; j += 4 {
		x, y := d[j:j+4:j+4], a[j:j+4:j+4]
		x0 := math.Float32frombits(math.Float32bits(x[0]) & nonzero(y[0]))
		x1 := math.Float32frombits(math.Float32bits(x[1]) & nonzero(y[1]))
		x2 := math.Float32frombits(math.Float32bits(x[2]) & nonzero(y[2]))
		x3 := math.Float32frombits(math.Float32bits(x[3]) & nonzero(y[3]))
		x[0], x[1], x[2], x[3] = x0, x1, x2, x3
		s0 += float64(x0)
		s1 += float64(x1)
		s2 += float64(x2)
		s3 += float64(x3)
	}
	for j := n; j < len(d); j++ {
		x := math.Float32frombits(math.Float32bits(d[j]) & nonzero(a[j]))
		d[j] = x
		s0 += float64(x)
	}
	return (s0 + s1) + (s2 + s3)
}

// poolBackward adds the pooled gradient gp (P×c×h/2×w/2) to the window
// element of ga (P×c×h×w) that won in the forward pass (arg).
func (e *engine) poolBackward(gp []float32, arg []uint8, ga []float32, c, h, w, P int) {
	oh, ow := h/2, w/2
	e.pool.run(P*c, func(_, t int) {
		g := ga[t*h*w : (t+1)*h*w]
		d, at := gp[t*oh*ow:(t+1)*oh*ow], arg[t*oh*ow:(t+1)*oh*ow]
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				k := at[y*ow+x]
				g[(2*y+int(k>>1))*w+2*x+int(k&1)] += d[y*ow+x]
			}
		}
	})
}

// upSum is the backward pass of nearest ×2 upsampling: each value of out
// (P×c×h×w) is the sum of its 2×2 block of gu, the first c channels of
// each sample's stride floats (2h×2w each).
func (e *engine) upSum(gu []float32, stride int, out []float32, c, h, w, P int) {
	W := 2 * w
	e.pool.run(P*c, func(_, t int) {
		i, ch := t/c, t%c
		src, dst := gu[i*stride+ch*4*h*w:i*stride+(ch+1)*4*h*w], out[t*h*w:(t+1)*h*w]
		for y := 0; y < h; y++ {
			r0, r1 := src[2*y*W:(2*y+1)*W], src[(2*y+1)*W:(2*y+2)*W]
			d := dst[y*w : (y+1)*w]
			for x := range d {
				d[x] = (r0[2*x] + r0[2*x+1]) + (r1[2*x] + r1[2*x+1])
			}
		}
	})
}

// headForward is the 1×1 convolution to one logit per pixel.
func (e *engine) headForward(a []float32, P int) {
	hd := &e.head
	wt, bias := hd.w, hd.b
	if e.eval {
		wt, bias = hd.fw, hd.fb
	}
	HW := e.size * e.size
	e.pool.run(P, func(_, i int) {
		z := e.z[i*HW : (i+1)*HW]
		clear(z)
		x := a[i*hd.In*HW : (i+1)*hd.In*HW]
		for c := 0; c < hd.In; c++ {
			wc := wt[c]
			for j, v := range x[c*HW : (c+1)*HW] {
				z[j] += wc * v
			}
		}
		b := bias[0]
		for j := range z {
			z[j] += b
		}
	})
}

// headBackward writes the gradient of the head's input to g from the
// logits' gradient e.dz, and adds the head's weight and bias gradients.
func (e *engine) headBackward(a, g []float32, P int) {
	hd := &e.head
	HW := e.size * e.size
	st := e.stat[:P*(hd.In+1)]
	e.pool.run(P, func(_, i int) {
		dz := e.dz[i*HW : (i+1)*HW]
		x := a[i*hd.In*HW : (i+1)*hd.In*HW]
		gi := g[i*hd.In*HW : (i+1)*hd.In*HW]
		for c := 0; c < hd.In; c++ {
			wc := hd.w[c]
			s := 0.0
			xc, gc := x[c*HW:(c+1)*HW], gi[c*HW:(c+1)*HW]
			for j, d := range dz {
				gc[j] = wc * d
				s += float64(d) * float64(xc[j])
			}
			st[i*(hd.In+1)+c] = s
		}
		s := 0.0
		for _, d := range dz {
			s += float64(d)
		}
		st[i*(hd.In+1)+hd.In] = s
	})
	for i := 0; i < P; i++ {
		for c := 0; c < hd.In; c++ {
			hd.gw[c] += st[i*(hd.In+1)+c]
		}
		hd.gb += st[i*(hd.In+1)+hd.In]
	}
}

// loss computes each sample's loss terms from the logits and writes the
// gradient of the loss to e.dz. invM is 1/Σ pixel weights of the whole
// batch, invB 1/batch. It returns the sums over the P samples, in order.
func (e *engine) loss(P int, invM, invB float64) (loss, bce, dice float64) {
	HW := e.size * e.size
	wB, wD := e.wBCE, e.wDice
	per := e.stat[:3*P]
	e.pool.run(P, func(_, i int) {
		z, y, w := e.z[i*HW:(i+1)*HW], e.y[i*HW:(i+1)*HW], e.w[i*HW:(i+1)*HW]
		var sp, inter, ps, ys float64
		for j, zv := range z {
			zf, wf, yf := float64(zv), float64(w[j]), float64(y[j])
			p := sigmoid(zf)
			sp += wf * (softplus(zf) - yf*zf)
			inter += wf * p * yf
			ps += wf * p
			ys += wf * yf
		}
		num, den := 2*inter+1, ps+ys+1
		b, d := sp*invM, (1-num/den)*invB
		per[3*i], per[3*i+1], per[3*i+2] = (wB*b+wD*d)/(wB+wD), b, d
		dz := e.dz[i*HW : (i+1)*HW]
		cb, cd := wB*invM/(wB+wD), wD*invB/(wB+wD)
		a, c := num/(den*den), 2/den
		for j, zv := range z {
			zf, wf, yf := float64(zv), float64(w[j]), float64(y[j])
			p := sigmoid(zf)
			dz[j] = float32(wf * (cb*(p-yf) + cd*(a-c*yf)*p*(1-p)))
		}
	})
	for i := 0; i < P; i++ {
		loss += per[3*i]
		bce += per[3*i+1]
		dice += per[3*i+2]
	}
	return loss, bce, dice
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	ez := math.Exp(z)
	return ez / (1 + ez)
}

// softplus is log(1 + e^z), without overflow.
func softplus(z float64) float64 {
	return max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}
