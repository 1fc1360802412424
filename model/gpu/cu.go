//go:build cu

package gpu

import (
	"errors"
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"dsbuild/model"
)

// Backend names the runner behind NewEngine: gorgonia.org/cu.
const Backend = "cu"

func newEngine(f *model.Folded, batch int) (Engine, error) { return NewCURunner(f, batch) }

// CURunner is Runner on gorgonia.org/cu v0.9.6, with the same kernels,
// layout and schedule. It owns its device: the first GPU's primary
// context, current on a dedicated OS thread.
//
// Importing cu makes a binary GPU-only: cu's init calls os.Exit(1) when
// cuInit fails, and the dynamic linker wants libcuda.so.1 at start. cu
// does not build against CUDA 13's headers (cuCtxCreate there takes four
// arguments). See docs/gpu.md.
type CURunner struct {
	w              *worker
	lay            *layout
	dev            cu.Device
	name           string
	retained, load bool
	mod            cu.Module
	fns            [numKernels]cu.Function
	base           cu.DevicePtr // the allocation; 0 once closed
}

// NewCURunner opens the first GPU, loads the kernels, uploads f's
// weights and allocates activations for up to batch images.
func NewCURunner(f *model.Folded, batch int) (*CURunner, error) {
	lay, err := newLayout(f, batch)
	if err != nil {
		return nil, err
	}
	r := &CURunner{w: newWorker(), lay: lay}
	if err := r.w.do(r.start); err != nil {
		_ = r.w.stop(r.release) // the start error is the one to report
		return nil, err
	}
	return r, nil
}

// cuErr names the call that returned err.
func cuErr(call string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", call, err)
}

func (r *CURunner) start() error {
	var err error
	if r.dev, err = cu.GetDevice(0); err != nil {
		return cuErr("cuDeviceGet(0)", err)
	}
	if r.name, err = r.dev.Name(); err != nil {
		return cuErr("cuDeviceGetName", err)
	}
	ctx, err := r.dev.RetainPrimaryCtx()
	if err != nil {
		return cuErr("cuDevicePrimaryCtxRetain", err)
	}
	r.retained = true
	if err := cu.SetCurrentContext(ctx); err != nil {
		return cuErr("cuCtxSetCurrent", err)
	}
	if r.mod, err = cu.LoadData(kernelsPTX); err != nil {
		return cuErr("cuModuleLoadData(kernels.ptx)", err)
	}
	r.load = true
	for k, name := range kernelNames {
		if r.fns[k], err = r.mod.Function(name); err != nil {
			return cuErr("cuModuleGetFunction("+name+")", err)
		}
	}
	size := 4 * r.lay.floats
	if r.base, err = cu.MemAlloc(size); err != nil {
		return cuErr(fmt.Sprintf("cuMemAlloc(%d bytes)", size), err)
	}
	return r.lay.uploads(func(off int64, v []float32) error {
		return cuErr("cuMemcpyHtoD(weights)", cu.MemcpyHtoD(r.base+cu.DevicePtr(4*off), unsafe.Pointer(&v[0]), int64(4*len(v))))
	})
}

// release frees what start made, as far as it got; it runs on the worker.
func (r *CURunner) release() error {
	var errs []error
	if r.base != 0 {
		errs = append(errs, cuErr("cuMemFree", cu.MemFree(r.base)))
		r.base = 0
	}
	if r.load {
		errs = append(errs, cuErr("cuModuleUnload", r.mod.Unload()))
		r.load = false
	}
	if r.retained {
		errs = append(errs, cuErr("cuDevicePrimaryCtxRelease", r.dev.ReleasePrimaryCtx()))
		r.retained = false
	}
	return errors.Join(errs...)
}

// DeviceName is the GPU's name.
func (r *CURunner) DeviceName() string { return r.name }

// Batch is the largest number of images Forward takes at once.
func (r *CURunner) Batch() int { return int(r.lay.batch) }

// Forward runs n images, x holding n × 3 × S × S values, and returns
// their n × S × S logits.
func (r *CURunner) Forward(x []float32, n int) ([]float32, error) {
	s, err := r.lay.check(x, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n*s*s)
	err = r.w.do(func() error {
		steps, in, res := r.lay.schedule(uint64(r.base), int64(n))
		if err := cuErr("cuMemcpyHtoD(input)", cu.MemcpyHtoD(cu.DevicePtr(in), unsafe.Pointer(&x[0]), int64(4*len(x)))); err != nil {
			return err
		}
		for _, l := range steps {
			// Launch copies 8 bytes from each pointer: every argument
			// is a uint64, every kernel parameter 64-bit.
			params := make([]unsafe.Pointer, len(l.args))
			for i := range l.args {
				params[i] = unsafe.Pointer(&l.args[i])
			}
			blocks, block := grid(l.threads)
			if err := r.fns[l.kernel].Launch(int(blocks), 1, 1, int(block), 1, 1, 0, cu.NoStream, params); err != nil {
				return cuErr("cuLaunchKernel("+l.kernel.String()+")", err)
			}
		}
		if err := cuErr("cuCtxSynchronize", cu.Synchronize()); err != nil {
			return err
		}
		return cuErr("cuMemcpyDtoH(logits)", cu.MemcpyDtoH(unsafe.Pointer(&out[0]), cu.DevicePtr(res), int64(4*len(out))))
	})
	if err != nil {
		return nil, fmt.Errorf("gpu forward pass (cu): %w", err)
	}
	return out, nil
}

// Close frees the GPU memory, unloads the kernels and releases the
// device.
func (r *CURunner) Close() error { return r.w.stop(r.release) }
