package train

import (
	"context"
	"testing"

	"dsbuild/model"
	"dsbuild/model/gemm"
)

// The default micro-batch always divides the batch: the largest divisor
// within the bound of 256×256 input pixels.
func TestDefaultMicroBatch(t *testing.T) {
	for _, tc := range []struct{ batch, size, want int }{
		{8, 64, 8},   // recipes/person: the bound 16 is above the batch, as before
		{8, 32, 8},   // bound 64
		{8, 96, 4},   // bound 7 does not divide 8 (issue 13: "micro_batch 7 does not divide batch 8")
		{8, 128, 4},  // bound 4
		{8, 256, 1},  // bound 1
		{8, 512, 1},  // bound below 1
		{24, 64, 12}, // bound 16 does not divide 24
		{12, 96, 6},  // bound 7
		{7, 100, 1},  // bound 6; 7 is prime
		{1, 16, 1},
		{0, 64, 1},
		{8, 0, 1},
	} {
		if got := DefaultMicroBatch(tc.batch, tc.size); got != tc.want {
			t.Errorf("DefaultMicroBatch(batch %d, size %d) = %d, want %d", tc.batch, tc.size, got, tc.want)
		}
	}
	// Every batch and size: a divisor, within the bound, the largest one.
	for batch := 1; batch <= 64; batch++ {
		for size := 8; size <= 320; size += 8 {
			m := DefaultMicroBatch(batch, size)
			bound := max(65536/(size*size), 1)
			if batch%m != 0 || m > bound && m > 1 {
				t.Fatalf("DefaultMicroBatch(%d, %d) = %d: not a divisor within the bound %d", batch, size, m, bound)
			}
			for d := m + 1; d <= min(bound, batch); d++ {
				if batch%d == 0 {
					t.Fatalf("DefaultMicroBatch(%d, %d) = %d, but %d divides the batch within the bound %d", batch, size, m, d, bound)
				}
			}
		}
	}
}

// Training at input 96 with batch 8 and the default micro-batch runs;
// it failed with "micro_batch 7 does not divide batch 8" before.
func TestTrainInput96DefaultMicroBatch(t *testing.T) {
	cfg := &model.Config{Arch: "unet", Depth: 1, Width: 2, InputSize: 96, InChannels: 3, Foreground: []string{"person"}}
	o := Options{Config: cfg, Batch: 8, Steps: 1, LR: 1e-3, WBCE: 1, WDice: 1, EdgeWeight: 1, Seed: 1, GEMM: gemm.Gonum()}
	if got := o.UsedMicroBatch(); got != 4 {
		t.Fatalf("UsedMicroBatch = %d, want 4", got)
	}
	res, err := Train(context.Background(), o, Blobs(8, 96, 1), nil, model.Init(cfg, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != 1 || res.Epochs[0].Steps != 1 {
		t.Errorf("epochs %+v, want one of one step", res.Epochs)
	}
}
