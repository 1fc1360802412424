// Package train trains dsbuild's UNet (package model) on gorgonia, to the
// bit: the same samples, options and initial weights give the same final
// weights at any GOMAXPROCS, for a fixed (GOARCH, GOAMD64).
//
// What makes it exact: weights start from model.Init (our own generator),
// never gorgonia's clock-seeded initialisers; batches and augmentations
// are drawn from PCG streams keyed by the seed, the epoch and the sample's
// place; every parallel loop in gorgonia and gonum writes disjoint outputs
// (see ../shared/docs/gorgonia-gpu.md §6); gradients of a batch's
// micro-batches are summed in micro-batch order.
//
// The loss is the seed's UNet_v2 loss: (w_bce·BCE + w_dice·(1 − dice)) /
// (w_bce + w_dice), where BCE is the pixel-weighted binary cross-entropy
// with logits over the whole batch and dice is the mean per-sample soft
// dice (2·Σ w·p·y + 1) / (Σ w·p + Σ w·y + 1). Pixel weights are 0 on
// ignored pixels, 1 + EdgeWeight in the edge band, 1 elsewhere.
//
// A batch is processed as micro-batches whose gradients are summed before
// the optimizer step: both loss terms are sums over samples scaled by
// batch-wide constants, so the step equals a whole-batch step up to float
// summation order, while the memory is that of one micro-batch. With
// BatchNorm, statistics are those of the micro-batch. Every step starts
// from zero gradients: a step uses its own batch's gradient only.
//
// Agreement with PyTorch: TestTorchConformance trains a tiny network on
// fixed inputs and compares every step's loss and the final weights and
// BatchNorm statistics with PyTorch's run on the same inputs
// (bench/conformance.sh writes the reference, testdata/conformance).
package train

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"sort"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"dsbuild/model"
)

// Options configures a training run.
type Options struct {
	Config     *model.Config
	Batch      int     // samples per optimizer step
	MicroBatch int     // samples per forward/backward pass; 0 picks one from the input size
	Epochs     int     // passes over the training set
	Steps      int     // if > 0, stop after this many steps instead
	LR         float64 // Adam's learning rate
	WBCE       float64 // loss weights
	WDice      float64
	EdgeWeight float64 // extra pixel weight in the edge band
	Augment    Augment
	Seed       uint64
	// MemoryLimit, if > 0, is a soft limit in bytes on the Go heap while
	// training (runtime/debug.SetMemoryLimit): the collector works harder
	// near it instead of letting garbage double the peak. It changes no
	// result.
	MemoryLimit int64
}

var memLimit struct {
	sync.Mutex
	users int
	prev  int64
}

// limitMemory lowers the process's soft memory limit to limit (never
// raises it) until the last concurrent trainer releases it.
func limitMemory(limit int64) (release func()) {
	memLimit.Lock()
	defer memLimit.Unlock()
	if memLimit.users == 0 {
		memLimit.prev = debug.SetMemoryLimit(-1)
	}
	memLimit.users++
	if limit < debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(limit)
	}
	return func() {
		memLimit.Lock()
		defer memLimit.Unlock()
		if memLimit.users--; memLimit.users == 0 {
			debug.SetMemoryLimit(memLimit.prev)
		}
	}
}

// DefaultMicroBatch bounds a micro-batch to 256×256 input pixels: one
// 256×256 sample at a time, 16 at 64×64.
func DefaultMicroBatch(batch, size int) int {
	if size <= 0 {
		return 1
	}
	m := (256 * 256) / (size * size)
	return min(max(m, 1), batch)
}

// UsedMicroBatch is the micro-batch a run uses: MicroBatch, or
// DefaultMicroBatch for the batch and input size when that is 0.
func (o *Options) UsedMicroBatch() int {
	if o.MicroBatch > 0 {
		return o.MicroBatch
	}
	size := 0
	if o.Config != nil {
		size = o.Config.InputSize
	}
	return DefaultMicroBatch(o.Batch, size)
}

// Epoch is one epoch's figures.
type Epoch = model.Epoch

// Result is a finished run: the kept weights and every epoch's figures.
type Result struct {
	Weights model.Weights
	Epochs  []Epoch
	Best    int  // index in Epochs of the kept weights
	HasVal  bool // validation figures are meaningful
}

// Progress is reported after every optimizer step.
type Progress struct {
	Epoch, Epochs int
	Step, Steps   int // overall
	Loss          float64
	Done          *Epoch // set after an epoch's last step
}

// Train runs opts over the samples, starting from init (which it does not
// modify). val may be empty. progress may be nil.
func Train(ctx context.Context, opts Options, samples, val []*Sample, init model.Weights, progress func(Progress)) (*Result, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := init.Check(cfg); err != nil {
		return nil, fmt.Errorf("initial weights: %w", err)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("no training samples")
	}
	if opts.Batch < 1 || opts.LR <= 0 || opts.WBCE < 0 || opts.WDice < 0 || opts.WBCE+opts.WDice <= 0 {
		return nil, fmt.Errorf("invalid options: batch %d, lr %v, loss weights %v/%v", opts.Batch, opts.LR, opts.WBCE, opts.WDice)
	}
	if _, err := useGEMM(); err != nil {
		return nil, err
	}
	if opts.MemoryLimit > 0 {
		defer limitMemory(opts.MemoryLimit)()
	}
	micro := opts.UsedMicroBatch()
	if opts.Batch%micro != 0 {
		return nil, fmt.Errorf("micro_batch %d does not divide batch %d", micro, opts.Batch)
	}
	w := model.Weights{}
	for k, v := range init {
		w[k] = append([]float32(nil), v...)
	}
	net, err := buildNetwork(cfg, micro, w, opts.WBCE, opts.WDice)
	if err != nil {
		return nil, err
	}
	vm := G.NewTapeMachine(net.g, G.BindDualValues(net.learn...))
	defer vm.Close()
	// Building the machine reset the BatchNorm statistics; restore them.
	for _, name := range net.bnOrder {
		rv := append([]float32(nil), w[name+".bn.running_var"]...)
		rm := append([]float32(nil), w[name+".bn.running_mean"]...)
		if err := net.bn[name].SetStats(tensor.New(tensor.WithShape(len(rm)), tensor.WithBacking(rm)),
			tensor.New(tensor.WithShape(len(rv)), tensor.WithBacking(rv))); err != nil {
			return nil, fmt.Errorf("restoring %s statistics: %w", name, err)
		}
	}
	solver := G.NewAdamSolver(G.WithLearnRate(opts.LR))
	params := make([]G.ValueGrad, len(net.learn))
	for i, nd := range net.learn {
		params[i] = nd
	}

	s := cfg.InputSize
	n := s * s
	xb := make([]float32, micro*3*n)
	yb := make([]float32, micro*n)
	wb := make([]float32, micro*n)
	xT := tensor.New(tensor.WithShape(micro, 3, s, s), tensor.WithBacking(xb))
	yT := tensor.New(tensor.WithShape(micro, 1, s, s), tensor.WithBacking(yb))
	wT := tensor.New(tensor.WithShape(micro, 1, s, s), tensor.WithBacking(wb))

	perEpoch := (len(samples) + opts.Batch - 1) / opts.Batch
	total := opts.Epochs * perEpoch
	epochs := opts.Epochs
	if opts.Steps > 0 {
		total = opts.Steps
		epochs = (total + perEpoch - 1) / perEpoch
	}
	if total <= 0 {
		return nil, fmt.Errorf("nothing to train: %d epochs, %d steps", opts.Epochs, opts.Steps)
	}
	res := &Result{HasVal: len(val) > 0}
	bestScore := math.Inf(-1)
	step := 0
	batchIdx := make([]int, opts.Batch)
	for ep := 0; ep < epochs; ep++ {
		order := permutation(len(samples), newRNG(opts.Seed, 1, uint64(ep)))
		e := Epoch{Epoch: ep + 1}
		var sumLoss, sumBCE, sumDice float64
		for b := 0; b < perEpoch && step < total; b++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for i := range batchIdx {
				batchIdx[i] = order[(b*opts.Batch+i)%len(order)]
			}
			// Render the whole batch's weights first: BCE is normalised by
			// the batch's total weight.
			views := make([]view, opts.Batch)
			for i, si := range batchIdx {
				views[i] = randomView(samples[si], opts.Augment, newRNG(opts.Seed, 2, uint64(ep), uint64(b), uint64(i)))
			}
			var totalW float64
			for i, si := range batchIdx {
				render(samples[si], views[i], s, opts.EdgeWeight, xb[:3*n], yb[:n], wb[:n])
				totalW += sumF(wb[:n])
			}
			if totalW == 0 {
				totalW = 1
			}
			var lossSum, bceSum, diceSum float64
			for mb := 0; mb < opts.Batch/micro; mb++ {
				for j := 0; j < micro; j++ {
					i := mb*micro + j
					render(samples[batchIdx[i]], views[i], s, opts.EdgeWeight, xb[j*3*n:(j+1)*3*n], yb[j*n:(j+1)*n], wb[j*n:(j+1)*n])
				}
				if err := firstErr(G.Let(net.x, xT), G.Let(net.y, yT), G.Let(net.w, wT),
					G.Let(net.invM, float32(1/totalW)), G.Let(net.invB, float32(1/float64(opts.Batch)))); err != nil {
					return nil, err
				}
				if err := vm.RunAll(); err != nil {
					return nil, fmt.Errorf("step %d: %w", step+1, err)
				}
				lossSum += scalar(net.lossV)
				bceSum += scalar(net.bceV)
				diceSum += scalar(net.diceV)
				vm.Reset()
			}
			if math.IsNaN(lossSum) || math.IsInf(lossSum, 0) {
				return nil, fmt.Errorf("step %d: the loss is %v; lower the learning rate", step+1, lossSum)
			}
			if err := solver.Step(params); err != nil {
				return nil, fmt.Errorf("step %d: optimizer: %w", step+1, err)
			}
			if err := net.zeroGrads(); err != nil {
				return nil, fmt.Errorf("step %d: %w", step+1, err)
			}
			step++
			e.Steps++
			sumLoss += lossSum
			sumBCE += bceSum
			sumDice += diceSum
			if progress != nil {
				progress(Progress{Epoch: ep + 1, Epochs: epochs, Step: step, Steps: total, Loss: lossSum})
			}
		}
		e.TrainLoss = round6(sumLoss / float64(e.Steps))
		e.TrainBCE = round6(sumBCE / float64(e.Steps))
		e.TrainDice = round6(sumDice / float64(e.Steps))
		cur := net.weights(w)
		score := -e.TrainLoss
		if len(val) > 0 {
			m, err := Evaluate(cfg, cur, val)
			if err != nil {
				return nil, fmt.Errorf("epoch %d: validation: %w", ep+1, err)
			}
			e.ValIoU, e.ValDice, e.ValAcc = round6(m.IoU), round6(m.Dice), round6(m.Accuracy)
			score = m.IoU
		}
		res.Epochs = append(res.Epochs, e)
		// Ties go to the lower training loss, then the earlier epoch.
		if score > bestScore || score == bestScore && e.TrainLoss < res.Epochs[res.Best].TrainLoss {
			bestScore = score
			res.Best = len(res.Epochs) - 1
			res.Weights = cur
		}
		if progress != nil {
			progress(Progress{Epoch: ep + 1, Epochs: epochs, Step: step, Steps: total, Loss: e.TrainLoss, Done: &res.Epochs[len(res.Epochs)-1]})
		}
	}
	return res, nil
}

// zeroGrads clears the learnables' gradients. The tape machine adds each
// run's gradient into a learnable's dual value (created zero by the first
// run) and never clears it, so without this a step would use the sum of
// every earlier step's gradient too (issue 12).
func (net *network) zeroGrads() error {
	for i, nd := range net.learn {
		gv, err := nd.Grad()
		if err != nil {
			return fmt.Errorf("gradient of %s: %w", net.names[i], err)
		}
		g, ok := gv.(tensor.Tensor)
		if !ok {
			return fmt.Errorf("gradient of %s is a %T, not a tensor", net.names[i], gv)
		}
		g.Zero()
	}
	return nil
}

// weights copies the current values, BatchNorm statistics included.
func (net *network) weights(w model.Weights) model.Weights {
	out := model.Weights{}
	for k, v := range w {
		out[k] = append([]float32(nil), v...)
	}
	for i, nd := range net.learn {
		out[net.names[i]] = append([]float32(nil), nd.Value().Data().([]float32)...)
	}
	for _, name := range net.bnOrder {
		rm, rv := net.bn[name].Stats()
		out[name+".bn.running_mean"] = append([]float32(nil), rm.Data().([]float32)...)
		out[name+".bn.running_var"] = append([]float32(nil), rv.Data().([]float32)...)
	}
	return out
}

func permutation(n int, r rng) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.p.Uint64() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func sumF(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s
}

func scalar(v G.Value) float64 {
	if v == nil {
		return math.NaN()
	}
	switch d := v.Data().(type) {
	case float32:
		return float64(d)
	case []float32:
		if len(d) == 1 {
			return float64(d[0])
		}
	}
	return math.NaN()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// round6 keeps metrics readable and their JSON stable.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// Metrics are segmentation figures over non-ignored pixels.
type Metrics struct {
	IoU, Dice, Accuracy float64
	Pixels              int64
}

// Evaluate runs the folded network on every sample (resized to the input
// size, no augmentation) and compares its mask (logit > 0) with the labels.
func Evaluate(cfg *model.Config, w model.Weights, samples []*Sample) (Metrics, error) {
	f, err := model.Fold(cfg, w)
	if err != nil {
		return Metrics{}, err
	}
	s := cfg.InputSize
	n := s * s
	x, y, wt := make([]float32, 3*n), make([]float32, n), make([]float32, n)
	var tp, fp, fn, tn int64
	for _, smp := range samples {
		render(smp, plainView(smp), s, 0, x, y, wt)
		z := f.Forward(x)
		for k := 0; k < n; k++ {
			if wt[k] == 0 {
				continue
			}
			pred, truth := z[k] > 0, y[k] > 0
			switch {
			case pred && truth:
				tp++
			case pred:
				fp++
			case truth:
				fn++
			default:
				tn++
			}
		}
	}
	m := Metrics{Pixels: tp + fp + fn + tn}
	if u := tp + fp + fn; u > 0 {
		m.IoU = float64(tp) / float64(u)
		m.Dice = 2 * float64(tp) / float64(2*tp+fp+fn)
	} else {
		m.IoU, m.Dice = 1, 1
	}
	if m.Pixels > 0 {
		m.Accuracy = float64(tp+tn) / float64(m.Pixels)
	}
	return m, nil
}

// SortSamples orders samples by name, the order training draws from.
func SortSamples(s []*Sample) {
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
}
