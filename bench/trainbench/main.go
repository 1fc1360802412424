// Command trainbench times dsbuild's UNet training steps on synthetic
// data and prints one JSON line: wall and CPU seconds per step (after two
// warm-up steps), peak RSS, the GEMM backend and GOMAXPROCS.
// bench/train.sh runs it beside PyTorch.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dsbuild/model"
	"dsbuild/model/gemm"
	"dsbuild/model/train"
)

func main() {
	size := flag.Int("size", 256, "input side")
	batch := flag.Int("batch", 8, "batch size")
	micro := flag.Int("micro", 0, "micro-batch (0: the default for the size)")
	steps := flag.Int("steps", 6, "steps to run; the first two are warm-up")
	depth := flag.Int("depth", 4, "encoder levels")
	width := flag.Int("width", 16, "channels of level 0")
	bn := flag.Bool("batch-norm", false, "BatchNorm instead of biases")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	gemmSpec := flag.String("gemm", "auto", "the matrix-product backend, as the train step's gemm attribute (auto, gonum, openblas, openblas:Haswell, …)")
	memLimit := flag.Int64("memory-limit", 1536, "soft heap limit while training, MiB, as the train step's default (0: none)")
	flag.Parse()
	if *steps < 3 {
		fail(fmt.Errorf("-steps must be at least 3"))
	}
	cfg := &model.Config{Arch: "unet", Depth: *depth, Width: *width, BatchNorm: *bn, InputSize: *size, InChannels: 3, Foreground: []string{"fg"}}
	opts := train.Options{Config: cfg, Batch: *batch, MicroBatch: *micro, Steps: *steps, LR: 1e-3, WBCE: 1, WDice: 1, Seed: 1, MemoryLimit: *memLimit << 20}
	samples := train.Blobs(2**batch, *size, 1)
	g, err := gemm.Select(*gemmSpec)
	if err != nil {
		fail(err)
	}
	opts.GEMM = g
	gemmName := g.Name()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	var t0 time.Time
	var c0 time.Duration
	_, err = train.Train(context.Background(), opts, samples, nil, model.Init(cfg, 1), func(p train.Progress) {
		if p.Done == nil && p.Step == 2 {
			t0, c0 = time.Now(), cpuTime()
		}
	})
	if err != nil {
		fail(err)
	}
	perStep := time.Since(t0).Seconds() / float64(*steps-2)
	cpuPerStep := (cpuTime() - c0).Seconds() / float64(*steps-2)
	out, _ := json.Marshal(map[string]any{"impl": "dsbuild", "size": *size, "batch": *batch, "micro_batch": opts.UsedMicroBatch(),
		"depth": *depth, "width": *width, "memory_limit_mb": *memLimit, "params": cfg.ParamCount(), "s_per_step": round(perStep), "cpu_s_per_step": round(cpuPerStep),
		"peak_rss_mb": peakRSSMB(), "gemm": gemmName, "threads": runtime.GOMAXPROCS(0)})
	fmt.Println(string(out))
}

func round(v float64) float64 { return float64(int(v*1000+0.5)) / 1000 }

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB reads VmHWM from /proc/self/status (Linux); 0 elsewhere.
func peakRSSMB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kb / 1024
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trainbench:", err)
	os.Exit(1)
}
