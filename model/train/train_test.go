package train

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"testing"

	"dsbuild/model"
	"dsbuild/model/gemm"
)

func digest(w model.Weights, cfg *model.Config) string {
	h := sha256.New()
	for _, t := range cfg.Tensors() {
		for _, v := range w[t.Name] {
			binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func smallOpts(bn bool) Options {
	cfg := &model.Config{Arch: "unet", Depth: 2, Width: 8, BatchNorm: bn, InputSize: 32, InChannels: 3, Foreground: []string{"person"}}
	return Options{Config: cfg, Batch: 8, Epochs: 6, LR: 3e-3, WBCE: 1, WDice: 1, EdgeWeight: 1,
		Augment: Augment{Flip: true, Crop: 0.8, Rotate: 10, Color: 0.1}, Seed: 7}
}

// TestTrainLearns is the quality test: on blobs, training loss falls and
// validation IoU, best and last, passes a fixed bar. Training is exact, so the figures
// are the same on every run of a platform.
func TestTrainLearns(t *testing.T) {
	for _, bn := range []bool{false, true} {
		t.Run(fmt.Sprintf("batchnorm=%v", bn), func(t *testing.T) {
			o := smallOpts(bn)
			res, err := Train(context.Background(), o, Blobs(48, 32, 1), Blobs(16, 32, 2), model.Init(o.Config, o.Seed), nil)
			if err != nil {
				t.Fatal(err)
			}
			first, last := res.Epochs[0], res.Epochs[len(res.Epochs)-1]
			for _, e := range res.Epochs {
				t.Logf("epoch %d: loss %.4f bce %.4f dice %.4f  val IoU %.4f dice %.4f acc %.4f", e.Epoch, e.TrainLoss, e.TrainBCE, e.TrainDice, e.ValIoU, e.ValDice, e.ValAcc)
			}
			if !(last.TrainLoss < 0.8*first.TrainLoss) {
				t.Errorf("loss went from %.4f to %.4f; want a fall of at least 20%%", first.TrainLoss, last.TrainLoss)
			}
			// With gradients summed over every earlier step (issue 12) the
			// best IoU was 0.76 / 0.60 and the last 0.76 / 0.44.
			if best := res.Epochs[res.Best]; best.ValIoU < 0.8 {
				t.Errorf("best validation IoU %.4f; want ≥ 0.8", best.ValIoU)
			}
			if last.ValIoU < 0.8 {
				t.Errorf("last epoch's validation IoU %.4f; want ≥ 0.8 (no collapse)", last.ValIoU)
			}
		})
	}
}

// TestTrainBitExact trains twice at different GOMAXPROCS and micro-batch
// splits of the same batch... the same micro-batch must give the same bits.
func TestTrainBitExact(t *testing.T) {
	o := smallOpts(false)
	o.Epochs = 2
	train, val := Blobs(16, 32, 3), Blobs(4, 32, 4)
	run := func(procs int) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		res, err := Train(context.Background(), o, train, val, model.Init(o.Config, o.Seed), nil)
		if err != nil {
			t.Fatal(err)
		}
		return digest(res.Weights, o.Config)
	}
	a, b := run(1), run(4)
	if a != b {
		t.Fatalf("weights differ between GOMAXPROCS 1 (%s) and 4 (%s)", a, b)
	}
	o.Seed = 8
	if c := run(2); c == a {
		t.Fatalf("a different seed gave the same weights %s", c)
	}
}

// testBackends are the GEMM backends this machine has: gonum always,
// OpenBLAS when it loads.
func testBackends() []gemm.Backend {
	bs := []gemm.Backend{gemm.Gonum()}
	if b, err := gemm.OpenBLAS(); err == nil {
		bs = append(bs, b)
	}
	return bs
}

// TestTrainPassesSameBits: with BatchNorm and micro-batches of 2, one
// worker runs a pass of one micro-batch at a time and four workers a pass
// of the whole batch; the weights and statistics are the same bits, on
// every backend.
func TestTrainPassesSameBits(t *testing.T) {
	o := smallOpts(true)
	o.Epochs = 1
	o.MicroBatch = 2
	samples := Blobs(16, 32, 3)
	for _, gb := range testBackends() {
		o.GEMM = gb
		run := func(procs int) string {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			if p := passSamples(o.Batch, 2, 32, procs); procs == 1 && p != 2 || procs == 4 && p != 8 {
				t.Fatalf("GOMAXPROCS %d: passes of %d samples", procs, p)
			}
			res, err := Train(context.Background(), o, samples, nil, model.Init(o.Config, o.Seed), nil)
			if err != nil {
				t.Fatal(err)
			}
			return digest(res.Weights, o.Config)
		}
		if a, b := run(1), run(4); a != b {
			t.Errorf("%s: passes of 2 and of 8 samples give %s and %s", gb.Name(), a, b)
		}
	}
}

// TestTrainMicroBatchNoBatchNorm: without BatchNorm, samples do not
// interact, so the micro-batch changes no bit.
func TestTrainMicroBatchNoBatchNorm(t *testing.T) {
	o := smallOpts(false)
	o.Epochs = 1
	samples := Blobs(16, 32, 3)
	var first string
	for _, m := range []int{1, 2, 8} {
		o.MicroBatch = m
		res, err := Train(context.Background(), o, samples, nil, model.Init(o.Config, o.Seed), nil)
		if err != nil {
			t.Fatal(err)
		}
		d := digest(res.Weights, o.Config)
		if first == "" {
			first = d
		} else if d != first {
			t.Errorf("micro-batch %d: weights %s; micro-batch 1 gave %s", m, d, first)
		}
	}
}

// TestEvaluateMatchesReference: the validation that training runs on its
// own engine (BatchNorm folded, several passes) gives the metrics of
// model's pure-Go forward pass, which inference uses, up to the few
// pixels whose logit rounding puts on the other side of 0.
func TestEvaluateMatchesReference(t *testing.T) {
	for _, bn := range []bool{false, true} {
		o := smallOpts(bn)
		o.Epochs = 4
		val := Blobs(20, 32, 2)
		res, err := Train(context.Background(), o, Blobs(48, 32, 1), nil, model.Init(o.Config, o.Seed), nil)
		if err != nil {
			t.Fatal(err)
		}
		e := newEngine(o, o.UsedMicroBatch(), model.Init(o.Config, 9), gemm.Gonum(), 2, tileCols)
		if e.maxP >= len(val) {
			t.Fatalf("one pass holds all %d samples; the test wants several", len(val))
		}
		got, err := e.evaluate(res.Weights, val)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Evaluate(o.Config, res.Weights, val)
		if err != nil {
			t.Fatal(err)
		}
		if got.Pixels != want.Pixels || math.Abs(got.IoU-want.IoU) > 1e-3 || math.Abs(got.Accuracy-want.Accuracy) > 1e-4 {
			t.Errorf("batch_norm %v: engine %+v, pure-Go forward %+v", bn, got, want)
		}
		if want.IoU < 0.5 {
			t.Errorf("batch_norm %v: IoU %.3f; the comparison wants a model that learned", bn, want.IoU)
		}
		t.Logf("batch_norm %v: IoU %.6f vs %.6f", bn, got.IoU, want.IoU)
	}
}

// TestKeepLast: KeepLast keeps the last epoch's weights where validation
// prefers another epoch. The validation set labels every pixel
// foreground, so that its IoU (the share of pixels predicted foreground)
// peaks at an early epoch; the kept weights, evaluated again, must score
// the last epoch's IoU.
func TestKeepLast(t *testing.T) {
	o := smallOpts(false)
	o.Epochs = 3
	train := Blobs(16, 32, 3)
	val := Blobs(8, 32, 4)
	for _, s := range val {
		for i := range s.Label {
			s.Label[i] = Foreground
		}
	}
	run := func(o Options) *Result {
		t.Helper()
		res, err := Train(context.Background(), o, train, val, model.Init(o.Config, o.Seed), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	best := run(o)
	last := len(best.Epochs) - 1
	if best.Best == last {
		t.Fatalf("validation kept the last epoch (IoU by epoch %v); the test needs another", best.Epochs)
	}
	o.KeepLast = true
	kept := run(o)
	if kept.Best != last {
		t.Errorf("KeepLast kept epoch %d of %d", kept.Best+1, len(kept.Epochs))
	}
	for i, e := range kept.Epochs {
		if e != best.Epochs[i] {
			t.Errorf("epoch %d: %+v with KeepLast, %+v without: keeping must not change training", i+1, e, best.Epochs[i])
		}
	}
	m, err := Evaluate(o.Config, kept.Weights, val)
	if err != nil {
		t.Fatal(err)
	}
	if want, other := kept.Epochs[last].ValIoU, kept.Epochs[best.Best].ValIoU; math.Abs(m.IoU-want) > 1e-3 || math.Abs(m.IoU-other) <= 1e-3 {
		t.Errorf("the kept weights score IoU %.4f; the last epoch scored %.4f, the best %.4f", m.IoU, want, other)
	}
}
