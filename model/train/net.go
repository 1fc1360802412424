package train

import (
	"math"

	"dsbuild/model"
	"dsbuild/model/gemm"
)

// tileCols is the target width, in output pixels, of one im2col tile:
// whole rows, about this many columns. It fixes the order in which a
// sample's weight gradient is summed, so it is part of the arithmetic.
const tileCols = 512

// passPixels bounds the input pixels of one pass (several micro-batches
// run together) to bound memory: 4 samples at 256×256.
const passPixels = 4 * 256 * 256

// convLayer is one 3×3 convolution with its parameters, gradients and the
// pass tensors it owns.
type convLayer struct {
	model.Conv
	h, w        int // output size
	rows, nt    int // rows per im2col tile, tiles per sample
	wt, b       []float32
	gamma, beta []float32
	rm, rv      []float32 // running statistics
	wflip       []float32 // In × Out·9: the input-gradient kernel
	fw, fb      []float32 // BatchNorm folded in, for evaluation
	gw          []float32 // weight gradient (Out × In·9), from gwT
	gwT         []float32 // its transpose, summed by the backward pass
	gb          []float64 // bias gradient (no BatchNorm)
	ggamma      []float64
	gbeta       []float64
	gbF         []float32 // the three above, rounded for the optimizer
	ggammaF     []float32
	gbetaF      []float32
	z, a        []float32 // pre-BatchNorm output (BatchNorm only); output after ReLU
	mean        []float64 // per micro-batch and channel
	invstd      []float64
}

func (L *convLayer) src() source { return source{t: L.a, c: L.Out, h: L.h, w: L.w} }

// headLayer is the 1×1 convolution to one logit.
type headLayer struct {
	In     int
	w      []float32
	b      []float32
	fw, fb []float32 // as folded, for evaluation
	gw     []float64
	gb     float64
	gwf    []float32 // gw rounded, for the optimizer
	gbf    []float32
}

// scratch is one worker's buffers.
type scratch struct {
	col, col2 []float32 // im2col of the input, of the output gradient
	up        []float32 // the upsampled rows a tile reads
}

// param is one learnable tensor with its gradient and Adam's moments.
type param struct {
	name string
	v, g []float32
	m, s []float32
}

// engine trains the UNet of one configuration: forward and backward
// passes over P samples at a time, hand-written on a GEMM backend.
type engine struct {
	cfg            *model.Config
	gemm           gemm.Backend
	pool           workers
	size, depth    int
	micro, maxP    int
	wBCE, wDice    float64
	bnEps          float64
	convs          []*convLayer // Config.Convs order without the head
	head           headLayer
	x, y, w        []float32 // pass inputs: P×3×S×S, P×S×S, P×S×S
	z, dz          []float32 // logits and their gradient
	pooled         [][]float32
	poolArg        [][]uint8 // the winner of each pooling window
	g1, g2, gu     []float32
	gs             [][]float32 // gradient of each encoder level's output (the skip)
	part           []float32
	stat, gsum     []float64
	scratch        []scratch
	params         []param
	adamT          int
	lr             float64
	flippedCurrent bool
	eval           bool // forward with the folded weights (fw, fb), no BatchNorm
}

// passSamples is the number of samples a pass holds: whole micro-batches,
// enough to give every worker work, within passPixels and the batch.
func passSamples(batch, micro, size, nworkers int) int {
	k := max(1, (2*nworkers+micro-1)/micro)
	k = min(k, batch/micro, max(1, passPixels/(micro*size*size)))
	return k * micro
}

func newEngine(opts Options, micro int, w model.Weights, g gemm.Backend, nworkers, tileCols int) *engine {
	cfg := opts.Config
	S := cfg.InputSize
	e := &engine{cfg: cfg, gemm: g, pool: workers(nworkers), size: S, depth: cfg.Depth, micro: micro,
		maxP: passSamples(opts.Batch, micro, S, nworkers), wBCE: opts.WBCE, wDice: opts.WDice, lr: opts.LR,
		bnEps: cfg.BNEpsilon}
	if e.bnEps == 0 {
		e.bnEps = model.DefaultBNEpsilon
	}
	P := e.maxP
	groups := P / micro
	copyOf := func(name string) []float32 {
		v := floats(len(w[name]))
		copy(v, w[name])
		return v
	}
	var colMax, col2Max, upMax, partMax, statMax int
	learn := func(name string, v []float32) {
		e.params = append(e.params, param{name: name, v: v, m: floats(len(v)), s: floats(len(v))})
	}
	for _, c := range cfg.Convs() {
		if c.Kernel == 1 {
			e.head = headLayer{In: c.In, w: copyOf(c.Name + ".weight"), b: copyOf(c.Name + ".bias"),
				fw: floats(c.In), fb: floats(1), gw: make([]float64, c.In), gwf: floats(c.In), gbf: floats(1)}
			learn(c.Name+".weight", e.head.w)
			learn(c.Name+".bias", e.head.b)
			e.params[len(e.params)-2].g = e.head.gwf
			e.params[len(e.params)-1].g = e.head.gbf
			continue
		}
		L := &convLayer{Conv: c, h: S >> c.Level, w: S >> c.Level}
		L.rows = min(L.h, max(1, tileCols/L.w))
		L.nt = (L.h + L.rows - 1) / L.rows
		L.wt = copyOf(c.Name + ".weight")
		L.gw, L.gwT = floats(len(L.wt)), floats(len(L.wt))
		L.wflip = floats(len(L.wt))
		L.fw, L.fb = floats(len(L.wt)), floats(c.Out)
		learn(c.Name+".weight", L.wt)
		e.params[len(e.params)-1].g = L.gw
		HW := L.h * L.w
		L.a = floats(P * c.Out * HW)
		if c.BN {
			L.gamma, L.beta = copyOf(c.Name+".bn.weight"), copyOf(c.Name+".bn.bias")
			L.rm, L.rv = copyOf(c.Name+".bn.running_mean"), copyOf(c.Name+".bn.running_var")
			L.ggamma, L.gbeta = make([]float64, c.Out), make([]float64, c.Out)
			L.z = floats(P * c.Out * HW)
			L.mean, L.invstd = make([]float64, groups*c.Out), make([]float64, groups*c.Out)
			L.ggammaF, L.gbetaF = floats(c.Out), floats(c.Out)
			learn(c.Name+".bn.weight", L.gamma)
			e.params[len(e.params)-1].g = L.ggammaF
			learn(c.Name+".bn.bias", L.beta)
			e.params[len(e.params)-1].g = L.gbetaF
		} else {
			L.b = copyOf(c.Name + ".bias")
			L.gb, L.gbF = make([]float64, c.Out), floats(c.Out)
			learn(c.Name+".bias", L.b)
			e.params[len(e.params)-1].g = L.gbF
		}
		e.convs = append(e.convs, L)
		n := L.rows * L.w
		colMax = max(colMax, 9*c.In*n)
		col2Max = max(col2Max, 9*c.Out*n)
		upMax = max(upMax, (L.rows+2)*L.w)
		partMax = max(partMax, P*L.nt*len(L.wt))
		statMax = max(statMax, 2*P*c.Out)
	}
	statMax = max(statMax, 3*P, P*(e.head.In+1))
	HW := S * S
	e.x, e.y, e.w = floats(P*3*HW), floats(P*HW), floats(P*HW)
	e.z, e.dz = floats(P*HW), floats(P*HW)
	for l := 0; l < cfg.Depth; l++ {
		e.pooled = append(e.pooled, floats(P*cfg.Channels(l)*(HW>>(2*l+2))))
		e.poolArg = append(e.poolArg, make([]uint8, P*cfg.Channels(l)*(HW>>(2*l+2))))
		e.gs = append(e.gs, floats(P*cfg.Channels(l)*(HW>>(2*l))))
	}
	// The largest gradient of a layer's output or input at its own
	// level is width·S² per sample (channels double as sides halve);
	// the upsampled part of a decoder input is twice that.
	e.g1, e.g2 = floats(P*cfg.Width*HW), floats(P*cfg.Width*HW)
	e.gu = floats(P * (cfg.Channels(1) + cfg.Channels(0)) * HW)
	e.part = floats(partMax)
	e.stat = make([]float64, statMax)
	e.gsum = make([]float64, 2*groups*e.maxChannels())
	e.scratch = make([]scratch, nworkers)
	for i := range e.scratch {
		e.scratch[i] = scratch{col: floats(colMax), col2: floats(col2Max), up: floats(upMax)}
	}
	return e
}

func (e *engine) maxChannels() int {
	c := 0
	for _, L := range e.convs {
		c = max(c, L.Out)
	}
	return c
}

// enc, mid and dec return the two convolutions of a level.
func (e *engine) enc(l int) (*convLayer, *convLayer) { return e.convs[2*l], e.convs[2*l+1] }
func (e *engine) mid() (*convLayer, *convLayer) {
	return e.convs[2*e.depth], e.convs[2*e.depth+1]
}
func (e *engine) dec(l int) (*convLayer, *convLayer) {
	i := 2*e.depth + 2 + 2*(e.depth-1-l)
	return e.convs[i], e.convs[i+1]
}

// decInputs are dec level l's inputs: the deeper level's output seen
// upsampled, then the skip.
func (e *engine) decInputs(l int) []source {
	_, deeper := e.mid()
	if l+1 < e.depth {
		_, deeper = e.dec(l + 1)
	}
	_, skip := e.enc(l)
	up := deeper.src()
	up.up = true
	return []source{up, skip.src()}
}

func (e *engine) pooledSrc(l int) source {
	c := e.cfg.Channels(l)
	s := e.size >> (l + 1)
	return source{t: e.pooled[l], c: c, h: s, w: s}
}

func (e *engine) forward(P int) {
	in := []source{{t: e.x, c: 3, h: e.size, w: e.size}}
	for l := 0; l < e.depth; l++ {
		c1, c2 := e.enc(l)
		e.convForward(c1, in, P)
		e.convForward(c2, []source{c1.src()}, P)
		e.poolForward(c2.a, e.pooled[l], e.poolArg[l], c2.Out, c2.h, c2.w, P)
		in = []source{e.pooledSrc(l)}
	}
	m1, m2 := e.mid()
	e.convForward(m1, in, P)
	e.convForward(m2, []source{m1.src()}, P)
	for l := e.depth - 1; l >= 0; l-- {
		d1, d2 := e.dec(l)
		e.convForward(d1, e.decInputs(l), P)
		e.convForward(d2, []source{d1.src()}, P)
	}
	_, d2 := e.dec(0)
	e.headForward(d2.a, P)
}

// backward adds the gradients of the pass's loss (whose gradient
// e.loss left in e.dz) to every parameter's gradient.
func (e *engine) backward(P int) {
	if !e.flippedCurrent {
		e.pool.run(len(e.convs), func(_, i int) { flipWeights(e.convs[i]) })
		e.flippedCurrent = true
	}
	_, d2 := e.dec(0)
	e.headBackward(d2.a, e.g1, P)
	for l := 0; l < e.depth; l++ {
		d1, d2 := e.dec(l)
		e.convBackward(d2, []source{d1.src()}, e.g1, e.g2, P)
		// The gradient of the concatenated input, in one product: the
		// upsampled part goes down a level, the skip part to gs[l].
		in := e.decInputs(l)
		e.convBackward(d1, in, e.g2, e.gu, P)
		HW := d1.h * d1.w
		e.upSum(e.gu, d1.In*HW, e.g1, in[0].c, in[0].h, in[0].w, P)
		e.pool.run(P, func(_, i int) {
			copy(e.gs[l][i*in[1].c*HW:(i+1)*in[1].c*HW], e.gu[(i*d1.In+in[0].c)*HW:(i+1)*d1.In*HW])
		})
	}
	m1, m2 := e.mid()
	e.convBackward(m2, []source{m1.src()}, e.g1, e.g2, P)
	e.convBackward(m1, []source{e.pooledSrc(e.depth - 1)}, e.g2, e.g1, P)
	for l := e.depth - 1; l >= 0; l-- {
		c1, c2 := e.enc(l)
		e.poolBackward(e.g1, e.poolArg[l], e.gs[l], c2.Out, c2.h, c2.w, P)
		e.convBackward(c2, []source{c1.src()}, e.gs[l], e.g2, P)
		if l > 0 {
			e.convBackward(c1, []source{e.pooledSrc(l - 1)}, e.g2, e.g1, P)
		} else {
			e.convBackward(c1, []source{{t: e.x, c: 3, h: e.size, w: e.size}}, e.g2, nil, P)
		}
	}
}

// zeroGrads starts a step: every step uses its own batch's gradient only.
func (e *engine) zeroGrads() {
	for _, L := range e.convs {
		clear(L.gwT)
		clear(L.gb)
		clear(L.ggamma)
		clear(L.gbeta)
	}
	clear(e.head.gw)
	e.head.gb = 0
}

// roundGrads moves the gradient sums to the float32 gradients the
// optimizer reads: the weight gradients transposed back, the float64
// sums rounded.
func (e *engine) roundGrads() {
	e.pool.run(len(e.convs), func(_, i int) {
		L := e.convs[i]
		k := 9 * L.In
		for co := 0; co < L.Out; co++ {
			for j := 0; j < k; j++ {
				L.gw[co*k+j] = L.gwT[j*L.Out+co]
			}
		}
		round32(L.gbF, L.gb)
		round32(L.ggammaF, L.ggamma)
		round32(L.gbetaF, L.gbeta)
	})
	round32(e.head.gwf, e.head.gw)
	e.head.gbf[0] = float32(e.head.gb)
}

func round32(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// adam applies one Adam step (β 0.9/0.999, ε 1e-8, bias-corrected) in
// float32, in the order gorgonia's solver used; PyTorch computes the same.
func (e *engine) adam() {
	e.adamT++
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	cv1 := float32(1) / float32(1-math.Pow(beta1, float64(e.adamT)))
	cv2 := float32(1) / float32(1-math.Pow(beta2, float64(e.adamT)))
	negEta := -float32(e.lr)
	const chunk = 1 << 14
	type span struct{ p, lo, hi int }
	var spans []span
	for i, p := range e.params {
		for lo := 0; lo < len(p.v); lo += chunk {
			spans = append(spans, span{i, lo, min(lo+chunk, len(p.v))})
		}
	}
	e.pool.run(len(spans), func(_, t int) {
		sp := spans[t]
		p := e.params[sp.p]
		for j := sp.lo; j < sp.hi; j++ {
			g := p.g[j]
			m := g*float32(1-beta1) + p.m[j]*float32(beta1)
			s := g*g*float32(1-beta2) + p.s[j]*float32(beta2)
			p.m[j], p.s[j] = m, s
			den := float32(math.Sqrt(float64(s*cv2))) + float32(eps)
			p.v[j] += (m * cv1 * negEta) / den
		}
	})
	e.flippedCurrent = false
}

// weights copies the current values, BatchNorm statistics included, into
// a new map shaped like w.
func (e *engine) weights() model.Weights {
	out := model.Weights{}
	for _, p := range e.params {
		out[p.name] = append([]float32(nil), p.v...)
	}
	for _, L := range e.convs {
		if L.BN {
			out[L.Name+".bn.running_mean"] = append([]float32(nil), L.rm...)
			out[L.Name+".bn.running_var"] = append([]float32(nil), L.rv...)
		}
	}
	return out
}
