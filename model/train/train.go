// Package train trains dsbuild's UNet (package model) to the bit: the
// same samples, options, initial weights and matrix-product backend
// (package gemm; its Name says which) give the same final weights at any
// GOMAXPROCS, for a fixed (GOARCH, GOAMD64).
//
// The forward and backward passes are written out by hand for this one
// network (conv.go, bn.go, net.go): 3×3 convolutions as im2col by row
// tiles and a matrix product, the input gradient as the convolution of
// the output gradient with the flipped kernel, max pooling, nearest
// upsampling read through by the next convolution's im2col, BatchNorm
// with float64 statistics, the loss and Adam.
//
// What makes it exact: weights start from model.Init (our own generator);
// batches and augmentations are drawn from PCG streams keyed by the seed,
// the epoch and the sample's place; every parallel loop writes disjoint
// outputs, and every sum over samples or tiles goes through per-task
// partials folded in (sample, tile) order, so neither the worker count
// nor how many micro-batches run together in one pass changes a bit;
// every buffer a matrix kernel sees starts 64-byte aligned.
//
// The optimizer is Adam, at a constant learning rate or on a cosine
// schedule over the run's steps (Options.LearningRate).
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
// summation order. With BatchNorm, statistics are those of the
// micro-batch; without it, the micro-batch changes nothing. Every step
// starts from zero gradients: a step uses its own batch's gradient only.
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
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"

	"dsbuild/model"
	"dsbuild/model/gemm"
)

// Options configures a training run.
type Options struct {
	Config     *model.Config
	Batch      int     // samples per optimizer step
	MicroBatch int     // samples per forward/backward pass; 0 picks one from the input size
	Epochs     int     // passes over the training set
	Steps      int     // if > 0, stop after this many steps instead
	LR         float64 // Adam's learning rate (the peak rate under a schedule)
	// Schedule is how the learning rate moves over the run's steps:
	// ScheduleConstant ("" too) keeps LR; ScheduleCosine anneals it
	// (LearningRate).
	Schedule string
	// KeepLast keeps the last epoch's weights instead of the best epoch's
	// (by validation IoU, else training loss): for a schedule that ends
	// annealed, or a validation set from another domain than the data the
	// model is for.
	KeepLast   bool
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
	// GEMM multiplies the matrices; nil means gemm.Default(). Its Name
	// decides the bits of the result.
	GEMM gemm.Backend
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

// DefaultMicroBatch is the largest divisor of batch that keeps a
// micro-batch within 256×256 input pixels: one 256×256 sample at a time,
// 8 of a batch of 8 at 64×64 (the bound is 16), 4 at 96×96 (the bound is
// 7, which does not divide 8). It always divides batch, so a batch is a
// whole number of micro-batches; batch < 1 gives 1.
func DefaultMicroBatch(batch, size int) int {
	if batch < 1 || size <= 0 {
		return 1
	}
	bound := 1
	if size <= 256 {
		bound = (256 * 256) / (size * size)
	}
	for m := min(bound, batch); m > 1; m-- {
		if batch%m == 0 {
			return m
		}
	}
	return 1
}

// The learning-rate schedules.
const (
	ScheduleConstant = "constant"
	ScheduleCosine   = "cosine"
)

// Schedules lists the schedule names Options.Schedule accepts.
func Schedules() []string { return []string{ScheduleConstant, ScheduleCosine} }

// LearningRate is the rate of optimizer step t (0-based) of a run of total
// steps. The constant schedule gives LR at every step. The cosine schedule
// gives LR·(1 + cos(π·t/total))/2: LR at the first step, falling along a
// half cosine towards 0, which the last step approaches but never reaches
// (it is PyTorch's CosineAnnealingLR with T_max = total and eta_min = 0,
// stepped after every optimizer step).
func (o *Options) LearningRate(t, total int) float64 {
	if o.Schedule != ScheduleCosine || total <= 0 {
		return o.LR
	}
	return o.LR * (1 + math.Cos(math.Pi*float64(t)/float64(total))) / 2
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
	if opts.Schedule != "" && !slices.Contains(Schedules(), opts.Schedule) {
		return nil, fmt.Errorf("unknown learning-rate schedule %q; use %q or %q", opts.Schedule, ScheduleConstant, ScheduleCosine)
	}
	g := opts.GEMM
	if g == nil {
		var err error
		if g, err = gemm.Default(); err != nil {
			return nil, err
		}
	}
	if opts.MemoryLimit > 0 {
		defer limitMemory(opts.MemoryLimit)()
	}
	micro := opts.UsedMicroBatch()
	if opts.Batch%micro != 0 {
		return nil, fmt.Errorf("micro_batch %d does not divide batch %d", micro, opts.Batch)
	}
	e := newEngine(opts, micro, init, g, runtime.GOMAXPROCS(0), tileCols)

	s := cfg.InputSize
	n := s * s
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
	views := make([]view, opts.Batch)
	for ep := 0; ep < epochs; ep++ {
		order := permutation(len(samples), newRNG(opts.Seed, 1, uint64(ep)))
		ep1 := Epoch{Epoch: ep + 1}
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
			for i, si := range batchIdx {
				views[i] = randomView(samples[si], opts.Augment, newRNG(opts.Seed, 2, uint64(ep), uint64(b), uint64(i)))
			}
			totalW := e.renderBatch(samples, batchIdx, views, opts.EdgeWeight)
			if totalW == 0 {
				totalW = 1
			}
			e.zeroGrads()
			var lossSum, bceSum, diceSum float64
			for first := 0; first < opts.Batch; first += e.maxP {
				P := min(e.maxP, opts.Batch-first)
				if opts.Batch > e.maxP { // else renderBatch left the batch in place
					e.pool.run(P, func(_, j int) {
						i := first + j
						render(samples[batchIdx[i]], views[i], s, opts.EdgeWeight, e.x[j*3*n:(j+1)*3*n], e.y[j*n:(j+1)*n], e.w[j*n:(j+1)*n])
					})
				}
				e.forward(P)
				l, bce, dice := e.loss(P, 1/totalW, 1/float64(opts.Batch))
				e.backward(P)
				lossSum += l
				bceSum += bce
				diceSum += dice
			}
			if math.IsNaN(lossSum) || math.IsInf(lossSum, 0) {
				return nil, fmt.Errorf("step %d: the loss is %v; lower the learning rate", step+1, lossSum)
			}
			e.roundGrads()
			e.lr = opts.LearningRate(step, total)
			e.adam()
			step++
			ep1.Steps++
			sumLoss += lossSum
			sumBCE += bceSum
			sumDice += diceSum
			if progress != nil {
				progress(Progress{Epoch: ep + 1, Epochs: epochs, Step: step, Steps: total, Loss: lossSum})
			}
		}
		ep1.TrainLoss = round6(sumLoss / float64(ep1.Steps))
		ep1.TrainBCE = round6(sumBCE / float64(ep1.Steps))
		ep1.TrainDice = round6(sumDice / float64(ep1.Steps))
		cur := e.weights()
		score := -ep1.TrainLoss
		if len(val) > 0 {
			m, err := e.evaluate(cur, val)
			if err != nil {
				return nil, fmt.Errorf("epoch %d: validation: %w", ep+1, err)
			}
			ep1.ValIoU, ep1.ValDice, ep1.ValAcc = round6(m.IoU), round6(m.Dice), round6(m.Accuracy)
			score = m.IoU
		}
		res.Epochs = append(res.Epochs, ep1)
		// Ties go to the lower training loss, then the earlier epoch.
		if opts.KeepLast || score > bestScore || score == bestScore && ep1.TrainLoss < res.Epochs[res.Best].TrainLoss {
			bestScore = score
			res.Best = len(res.Epochs) - 1
			res.Weights = cur
		}
		if progress != nil {
			progress(Progress{Epoch: ep + 1, Epochs: epochs, Step: step, Steps: total, Loss: ep1.TrainLoss, Done: &res.Epochs[len(res.Epochs)-1]})
		}
	}
	return res, nil
}

// renderBatch renders the batch, a pass at a time in parallel, into the
// pass buffers and returns Σ pixel weights, summed in sample order. When
// the batch fits one pass, the buffers keep it for that pass.
func (e *engine) renderBatch(samples []*Sample, idx []int, views []view, edgeWeight float64) float64 {
	n := e.size * e.size
	ws := make([]float64, len(idx))
	for first := 0; first < len(idx); first += e.maxP {
		e.pool.run(min(e.maxP, len(idx)-first), func(_, j int) {
			i := first + j
			w := e.w[j*n : (j+1)*n]
			render(samples[idx[i]], views[i], e.size, edgeWeight, e.x[j*3*n:(j+1)*3*n], e.y[j*n:(j+1)*n], w)
			ws[i] = sumF(w)
		})
	}
	var total float64
	for _, v := range ws {
		total += v
	}
	return total
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

// round6 keeps metrics readable and their JSON stable.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// Metrics are segmentation figures over non-ignored pixels.
type Metrics struct {
	IoU, Dice, Accuracy float64
	Pixels              int64
}

// evaluate is Evaluate on the engine: the forward pass of training, with
// BatchNorm folded into the weights as inference does it, a pass of
// samples at a time. Its logits differ from model's pure-Go forward pass
// only by float rounding (TestEvaluateMatchesReference).
func (e *engine) evaluate(w model.Weights, samples []*Sample) (Metrics, error) {
	f, err := model.Fold(e.cfg, w)
	if err != nil {
		return Metrics{}, err
	}
	for i, L := range e.convs {
		copy(L.fw, f.Layers[i].W)
		copy(L.fb, f.Layers[i].B)
	}
	head := f.Layers[len(f.Layers)-1]
	copy(e.head.fw, head.W)
	copy(e.head.fb, head.B)
	e.eval = true
	defer func() { e.eval = false }()
	n := e.size * e.size
	counts := make([][4]int64, len(samples)) // tp, fp, fn, tn
	for first := 0; first < len(samples); first += e.maxP {
		P := min(e.maxP, len(samples)-first)
		e.pool.run(P, func(_, j int) {
			smp := samples[first+j]
			render(smp, plainView(smp), e.size, 0, e.x[j*3*n:(j+1)*3*n], e.y[j*n:(j+1)*n], e.w[j*n:(j+1)*n])
		})
		e.forward(P)
		e.pool.run(P, func(_, j int) {
			counts[first+j] = confusion(e.z[j*n:(j+1)*n], e.y[j*n:(j+1)*n], e.w[j*n:(j+1)*n])
		})
	}
	return metrics(counts), nil
}

// confusion counts true and false positives and negatives of the mask
// logit > 0 over the pixels of non-zero weight.
func confusion(z, y, w []float32) (c [4]int64) {
	for k, wk := range w {
		if wk == 0 {
			continue
		}
		pred, truth := z[k] > 0, y[k] > 0
		switch {
		case pred && truth:
			c[0]++
		case pred:
			c[1]++
		case truth:
			c[2]++
		default:
			c[3]++
		}
	}
	return c
}

func metrics(counts [][4]int64) Metrics {
	var tp, fp, fn, tn int64
	for _, c := range counts {
		tp, fp, fn, tn = tp+c[0], fp+c[1], fn+c[2], tn+c[3]
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
	return m
}

// Evaluate runs the folded network on every sample (resized to the input
// size, no augmentation) through model's pure-Go forward pass, the one
// inference uses, and compares its mask (logit > 0) with the labels.
// Training evaluates on its own engine instead, which is faster.
func Evaluate(cfg *model.Config, w model.Weights, samples []*Sample) (Metrics, error) {
	f, err := model.Fold(cfg, w)
	if err != nil {
		return Metrics{}, err
	}
	s := cfg.InputSize
	n := s * s
	x, y, wt := make([]float32, 3*n), make([]float32, n), make([]float32, n)
	counts := make([][4]int64, len(samples))
	for i, smp := range samples {
		render(smp, plainView(smp), s, 0, x, y, wt)
		counts[i] = confusion(f.Forward(x), y, wt)
	}
	return metrics(counts), nil
}

// SortSamples orders samples by name, the order training draws from.
func SortSamples(s []*Sample) {
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
}
