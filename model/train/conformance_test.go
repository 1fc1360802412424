package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/model"
)

// The PyTorch conformance test. bench/conformance.sh writes the inputs
// below (go test -run TestTorchConformance -args -conformance.inputs DIR),
// trains the same network on them in PyTorch (bench/torch_conformance.py,
// float64) and stores the per-step losses and the final weights under
// testdata/conformance. TestTorchConformance trains dsbuild on the same
// inputs and compares. See docs/model.md, "Agreement with PyTorch".

var conformanceInputs = flag.String("conformance.inputs", "", "write the PyTorch conformance inputs to this directory and skip the comparison")

const (
	confDir     = "../../testdata/conformance"
	confSize    = 16
	confSamples = 96
	confBatch   = 4
	confSteps   = 24 // one epoch: confSamples / confBatch
	confLR      = 3e-3
	confWBCE    = 1.0
	confWDice   = 0.5
	confEdge    = 1.0 // edge-band pixels weigh 2
	confSeed    = 14

	// Tolerances: per-step loss, relative; final weights and BatchNorm
	// statistics, the largest absolute difference in a tensor relative to
	// the tensor's largest magnitude.
	confLossTol   = 1e-4
	confWeightTol = 1e-3
)

type confVariant struct {
	Name      string `json:"name"`
	BatchNorm bool   `json:"batch_norm"`
	Batch     int    `json:"batch"`
	Micro     int    `json:"micro_batch"`
	Init      string `json:"init"`
	Schedule  string `json:"schedule,omitempty"` // the learning-rate schedule; "" is constant
}

var confVariants = []confVariant{
	{"plain", false, confBatch, confBatch, "init_plain.safetensors", ""},
	{"micro", false, confBatch, 1, "init_plain.safetensors", ""},
	{"bn", true, confBatch, confBatch, "init_bn.safetensors", ""},
	{"bn_micro", true, confBatch, 2, "init_bn.safetensors", ""},
	{"bn_cosine", true, confBatch, confBatch, "init_bn.safetensors", ScheduleCosine},
}

func confConfig(bn bool) *model.Config {
	return &model.Config{Arch: "unet", Depth: 2, Width: 4, BatchNorm: bn, InputSize: confSize, InChannels: 3, Foreground: []string{"person"}}
}

// confData is the fixed data set: blobs with an ignored square on
// every third sample and a 1-pixel edge band.
func confData() []*Sample {
	s := Blobs(confSamples, confSize, 5)
	for k, smp := range s {
		if k%3 == 0 {
			x0, y0 := (k*5)%(confSize-4), (k*7)%(confSize-4)
			for y := y0; y < y0+4; y++ {
				for x := x0; x < x0+4; x++ {
					smp.Label[y*confSize+x] = Ignored
				}
			}
		}
		smp.Edge = EdgeBand(smp.Label, confSize, confSize, 1)
	}
	return s
}

func confOptions(v confVariant) Options {
	return Options{Config: confConfig(v.BatchNorm), Batch: v.Batch, MicroBatch: v.Micro, Steps: confSteps,
		LR: confLR, Schedule: v.Schedule, WBCE: confWBCE, WDice: confWDice, EdgeWeight: confEdge, Seed: confSeed}
}

// confFiles returns the inputs PyTorch trains on, by file name: the
// manifest (inputs.json), the rendered network inputs, labels and pixel
// weights as little-endian float32 (x.f32: N×3×S×S, y.f32 and w.f32:
// N×S×S), and the initial weights.
func confFiles(t *testing.T) map[string][]byte {
	t.Helper()
	samples := confData()
	n := confSize * confSize
	x, y, w := make([]float32, 3*n), make([]float32, n), make([]float32, n)
	var xb, yb, wb bytes.Buffer
	for _, s := range samples {
		render(s, plainView(s), confSize, confEdge, x, y, w)
		for _, buf := range []struct {
			b *bytes.Buffer
			v []float32
		}{{&xb, x}, {&yb, y}, {&wb, w}} {
			if err := binary.Write(buf.b, binary.LittleEndian, buf.v); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The batches of each step: the trainer's own order for epoch 1.
	order := permutation(len(samples), newRNG(confSeed, 1, 0))
	batches := make([][]int, confSteps)
	for b := range batches {
		batches[b] = order[b*confBatch : (b+1)*confBatch]
	}
	cfg := confConfig(false)
	manifest := map[string]any{
		"config":   map[string]any{"arch": cfg.Arch, "depth": cfg.Depth, "width": cfg.Width, "input_size": cfg.InputSize, "in_channels": cfg.InChannels, "bn_epsilon": model.DefaultBNEpsilon},
		"samples":  len(samples),
		"steps":    confSteps,
		"lr":       confLR,
		"bce":      confWBCE,
		"dice":     confWDice,
		"variants": confVariants,
		"batches":  batches,
	}
	mb, err := json.MarshalIndent(manifest, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"inputs.json": mb, "x.f32": xb.Bytes(), "y.f32": yb.Bytes(), "w.f32": wb.Bytes()}
	for _, bn := range []bool{false, true} {
		c := confConfig(bn)
		b, err := model.EncodeSafetensors(c, model.Init(c, confSeed), nil)
		if err != nil {
			t.Fatal(err)
		}
		name := "init_plain.safetensors"
		if bn {
			name = "init_bn.safetensors"
		}
		files[name] = b
	}
	return files
}

// confReference is testdata/conformance/reference.json.
type confReference struct {
	Torch  string               `json:"torch"`
	DType  string               `json:"dtype"`
	Inputs map[string]string    `json:"inputs"` // file → sha256 of the inputs PyTorch trained on
	Losses map[string][]float64 `json:"losses"` // variant → loss of each step
}

// TestTorchConformance trains dsbuild on the conformance inputs and
// compares with PyTorch's run on the same inputs: every step's loss
// within 1e-4 relative, every final tensor (weights, BatchNorm γ/β and
// running statistics) within 1e-3 of the tensor's largest magnitude.
func TestTorchConformance(t *testing.T) {
	files := confFiles(t)
	if dir := *conformanceInputs; dir != "" {
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Skipf("wrote the conformance inputs to %s", dir)
	}
	rb, err := os.ReadFile(filepath.Join(confDir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref confReference
	if err := json.Unmarshal(rb, &ref); err != nil {
		t.Fatalf("reference.json: %v", err)
	}
	for name, b := range files {
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != ref.Inputs[name] {
			t.Fatalf("conformance input %s changed (sha256 %s, the reference was made from %s); rerun bench/conformance.sh", name, got, ref.Inputs[name])
		}
	}
	for _, gb := range testBackends() {
		for _, v := range confVariants {
			t.Run(gb.Name()+"/"+v.Name, func(t *testing.T) {
				want := ref.Losses[v.Name]
				if len(want) != confSteps {
					t.Fatalf("reference.json has %d losses for %s; want %d", len(want), v.Name, confSteps)
				}
				wb, err := os.ReadFile(filepath.Join(confDir, v.Name+".safetensors"))
				if err != nil {
					t.Fatal(err)
				}
				wantW, _, _, err := model.DecodeSafetensors(wb)
				if err != nil {
					t.Fatalf("%s.safetensors: %v", v.Name, err)
				}
				o := confOptions(v)
				o.GEMM = gb
				var losses []float64
				res, err := Train(context.Background(), o, confData(), nil, model.Init(o.Config, confSeed), func(p Progress) {
					if p.Done == nil {
						losses = append(losses, p.Loss)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Epochs) != 1 {
					t.Fatalf("%d epochs; the comparison needs the final weights of one epoch", len(res.Epochs))
				}
				bad := 0
				var worstLoss, worstW float64
				for i, l := range losses {
					rel := math.Abs(l-want[i]) / math.Abs(want[i])
					worstLoss = max(worstLoss, rel)
					if !(rel <= confLossTol) {
						bad++
						t.Errorf("step %d: loss %.7f, PyTorch %.7f (relative difference %.2e > %.0e)", i+1, l, want[i], rel, confLossTol)
					}
				}
				if bad > 0 {
					t.Logf("losses dsbuild: %.5f", losses)
					t.Logf("losses PyTorch: %.5f", want)
				}
				for _, spec := range o.Config.Tensors() {
					got, ref := res.Weights[spec.Name], wantW[spec.Name]
					if len(ref) != len(got) {
						t.Errorf("%s: %d values, PyTorch's %d", spec.Name, len(got), len(ref))
						continue
					}
					var maxDiff, maxRef float64
					for i := range ref {
						maxDiff = max(maxDiff, math.Abs(float64(got[i])-float64(ref[i])))
						maxRef = max(maxRef, math.Abs(float64(ref[i])))
					}
					rel := maxDiff / max(maxRef, 1e-12)
					worstW = max(worstW, rel)
					if !(rel <= confWeightTol) {
						t.Errorf("%s: largest difference %.3e, %.2e of the tensor's largest magnitude %.3e (> %.0e)", spec.Name, maxDiff, rel, maxRef, confWeightTol)
					}
				}
				t.Logf("loss %.5f → %.5f; worst step %.1e relative, worst tensor %.1e", losses[0], losses[len(losses)-1], worstLoss, worstW)
			})
		}
	}
}
