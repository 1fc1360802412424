// Command gpucheck compares the GPU forward pass (package dsbuild/model/gpu)
// with the pure-Go reference on random weights and images: throughput of
// each and agreement of the logits. It prints one JSON object and exits 1
// when no GPU can be opened or when the masks (logit > 0) agree on fewer
// than 99.9% of pixels.
//
//	gpucheck [-depth 4] [-width 16] [-size 256] [-batch 8] [-images 32]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"dsbuild/model"
	"dsbuild/model/gpu"
)

type report struct {
	Device         string  `json:"device"`
	Backend        string  `json:"backend"`
	Depth          int     `json:"depth"`
	Width          int     `json:"width"`
	Size           int     `json:"size"`
	Batch          int     `json:"batch"`
	Images         int     `json:"images"`
	CPUThreads     int     `json:"cpu_threads"`
	CPUImagesPerS  float64 `json:"cpu_images_per_s"`
	GPUImagesPerS  float64 `json:"gpu_images_per_s"`
	Speedup        float64 `json:"speedup"`
	MaskAgreement  float64 `json:"mask_agreement"`
	MaxAbsDiff     float64 `json:"max_abs_diff"`
	BitIdentical   float64 `json:"bit_identical"`
	GPUTimingNotes string  `json:"gpu_timing"`
}

func main() {
	depth := flag.Int("depth", 4, "encoder levels")
	width := flag.Int("width", 16, "channels of level 0")
	size := flag.Int("size", 256, "image side")
	batch := flag.Int("batch", 8, "images per GPU call")
	images := flag.Int("images", 32, "images to run")
	seed := flag.Uint64("seed", 1, "weights and images seed")
	flag.Parse()
	if err := run(*depth, *width, *size, *batch, *images, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gpucheck:", err)
		os.Exit(1)
	}
}

func run(depth, width, size, batch, images int, seed uint64) error {
	c := &model.Config{Arch: "unet", Depth: depth, Width: width, InputSize: size, InChannels: 3, Foreground: []string{"fg"}}
	if err := c.Validate(); err != nil {
		return err
	}
	if batch < 1 || images < 1 {
		return fmt.Errorf("batch %d and images %d must be at least 1", batch, images)
	}
	f, err := model.Fold(c, model.Init(c, seed))
	if err != nil {
		return err
	}
	eng, err := gpu.NewEngine(f, batch)
	if err != nil {
		return err
	}
	defer eng.Close()
	fmt.Fprintf(os.Stderr, "gpucheck: %s (%s), depth %d width %d size %d, %d images\n", eng.DeviceName(), gpu.Backend, depth, width, size, images)

	rng := rand.New(rand.NewPCG(seed, 2))
	in, px := 3*size*size, size*size
	x := make([]float32, images*in)
	for i := range x {
		x[i] = rng.Float32()
	}

	// CPU: one goroutine per image, GOMAXPROCS at a time.
	cpu := make([]float32, images*px)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range images {
		wg.Go(func() { copy(cpu[i*px:], f.Forward(x[i*in:(i+1)*in])) })
	}
	wg.Wait()
	cpuTime := time.Since(start)

	// GPU: one untimed call first (first-launch overheads), then all the
	// images in calls of batch; weights were uploaded by NewEngine.
	if _, err := eng.Forward(x[:min(batch, images)*in], min(batch, images)); err != nil {
		return err
	}
	out := make([]float32, 0, images*px)
	start = time.Now()
	for i := 0; i < images; i += batch {
		n := min(batch, images-i)
		y, err := eng.Forward(x[i*in:(i+n)*in], n)
		if err != nil {
			return err
		}
		out = append(out, y...)
	}
	gpuTime := time.Since(start)

	var worst float64
	agree, same := 0, 0
	for i, w := range cpu {
		worst = max(worst, math.Abs(float64(out[i])-float64(w)))
		if (out[i] > 0) == (w > 0) {
			agree++
		}
		if math.Float32bits(out[i]) == math.Float32bits(w) {
			same++
		}
	}
	r := report{
		Device: eng.DeviceName(), Backend: gpu.Backend,
		Depth: depth, Width: width, Size: size, Batch: batch, Images: images,
		CPUThreads:     runtime.GOMAXPROCS(0),
		CPUImagesPerS:  float64(images) / cpuTime.Seconds(),
		GPUImagesPerS:  float64(images) / gpuTime.Seconds(),
		MaskAgreement:  float64(agree) / float64(len(cpu)),
		MaxAbsDiff:     worst,
		BitIdentical:   float64(same) / float64(len(cpu)),
		GPUTimingNotes: "host to host per call (input copy, kernels, logits copy), weights uploaded before, one warm-up call excluded",
	}
	r.Speedup = r.GPUImagesPerS / r.CPUImagesPerS
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	if r.MaskAgreement < 0.999 {
		return fmt.Errorf("mask agreement %.6f is below 0.999", r.MaskAgreement)
	}
	return nil
}
