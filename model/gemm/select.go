package gemm

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/cpu"
)

// A recipe can pin the arithmetic its models are trained with, so that
// the model (and the lockfile that records its digest) is the same on
// every machine that can run the pin, not only on machines whose CPU
// makes OpenBLAS pick the same kernel.
//
// A spec is a comma-separated list of choices, tried in order; the first
// that is available in this process is used:
//
//	auto              DSBUILD_GEMM's choice: OpenBLAS with the CPU's kernel, else gonum
//	gonum             gonum's pure Go: the same bits on every amd64 (GOAMD64=v1)
//	openblas          OpenBLAS with the kernel it picks for this CPU
//	openblas:Haswell  OpenBLAS with a named kernel (OPENBLAS_CORETYPE)
//
// e.g. "openblas:Haswell, gonum". OpenBLAS loads once per process, with
// one kernel: a named kernel is available only if OpenBLAS is not loaded
// yet or was loaded with that kernel, if this CPU can run it, and if the
// library loads.

// Kernels are the OpenBLAS kernels a spec may name, with the CPU features
// each needs. OpenBLAS does not check them when OPENBLAS_CORETYPE forces
// a kernel: on a CPU without them it would die of an illegal instruction.
var Kernels = map[string]func() bool{
	"Sandybridge": func() bool { return cpu.X86.HasAVX },
	"Haswell":     func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA },
	"Zen":         func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA },
	"SkylakeX": func() bool {
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512CD
	},
	"Cooperlake": func() bool {
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512CD && cpu.X86.HasAVX512BF16
	},
}

func kernelNames() string {
	names := make([]string, 0, len(Kernels))
	for n := range Kernels {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// choice is one parsed element of a spec.
type choice struct {
	backend string // "auto", "gonum" or "openblas"
	kernel  string // with "openblas": the forced kernel, or ""
}

// ParseSpec checks a spec's syntax and names, without loading anything.
func ParseSpec(spec string) error {
	_, err := parseSpec(spec)
	return err
}

func parseSpec(spec string) ([]choice, error) {
	if strings.TrimSpace(spec) == "" {
		return []choice{{backend: "auto"}}, nil
	}
	var cs []choice
	for _, part := range strings.Split(spec, ",") {
		p := strings.TrimSpace(part)
		backend, kernel, hasKernel := strings.Cut(p, ":")
		switch {
		case p == "auto" || p == "gonum" || p == "openblas":
			cs = append(cs, choice{backend: p})
		case backend == "openblas" && hasKernel:
			if _, ok := Kernels[kernel]; !ok {
				return nil, fmt.Errorf("gemm %q: unknown OpenBLAS kernel %q; use one of %s", spec, kernel, kernelNames())
			}
			cs = append(cs, choice{backend: "openblas", kernel: kernel})
		case p == "":
			return nil, fmt.Errorf("gemm %q: an empty choice; separate choices with single commas", spec)
		default:
			return nil, fmt.Errorf("gemm %q: unknown choice %q; use auto, gonum, openblas or openblas:KERNEL (%s)", spec, p, kernelNames())
		}
	}
	return cs, nil
}

// Select returns the first available backend of spec. The error says why
// none was: each choice's reason, in order.
func Select(spec string) (Backend, error) {
	b, _, err := SelectWhy(spec)
	return b, err
}

// SelectWhy is Select that also says why each choice before the one it
// returns was passed over (nothing when the first was available): a
// model trained with a later choice has other bits than one trained with
// the first, which callers should tell the user.
func SelectWhy(spec string) (Backend, []string, error) {
	cs, err := parseSpec(spec)
	if err != nil {
		return nil, nil, err
	}
	var why []string
	for _, c := range cs {
		b, err := c.backendFor()
		if err == nil {
			return b, why, nil
		}
		why = append(why, err.Error())
	}
	return nil, why, fmt.Errorf("gemm %q: nothing available: %s", spec, strings.Join(why, "; "))
}

func (c choice) backendFor() (Backend, error) {
	switch {
	case c.backend == "auto":
		return Default()
	case c.backend == "gonum":
		return Gonum(), nil
	case c.kernel == "":
		return OpenBLAS()
	}
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("openblas:%s: an x86 kernel, and this is %s", c.kernel, runtime.GOARCH)
	}
	if !Kernels[c.kernel]() {
		return nil, fmt.Errorf("openblas:%s: this CPU lacks the instructions the kernel needs", c.kernel)
	}
	b, err := openBLASWithKernel(c.kernel)
	if err != nil {
		return nil, fmt.Errorf("openblas:%s: %w", c.kernel, err)
	}
	return b, nil
}

// openBLASWithKernel loads OpenBLAS with OPENBLAS_CORETYPE set to kernel
// (and the variable restored after), or returns the loaded library if
// its kernel is that one.
func openBLASWithKernel(kernel string) (Backend, error) {
	loaded.once.Do(func() {
		old, had := os.LookupEnv("OPENBLAS_CORETYPE")
		// OpenBLAS reads the variable when it loads; with purego's fake
		// cgo, os.Setenv reaches the C library's environment too.
		if err := os.Setenv("OPENBLAS_CORETYPE", kernel); err != nil {
			loaded.err = err
			return
		}
		loaded.b, loaded.err = loadOpenBLAS(libNames())
		if had {
			os.Setenv("OPENBLAS_CORETYPE", old)
		} else {
			os.Unsetenv("OPENBLAS_CORETYPE")
		}
	})
	if loaded.err != nil {
		return nil, loaded.err
	}
	if !strings.EqualFold(loaded.b.core, kernel) {
		return nil, fmt.Errorf("OpenBLAS is loaded in this process with the %s kernel, and it loads once: use one gemm choice in every train step", loaded.b.core)
	}
	return loaded.b, nil
}
