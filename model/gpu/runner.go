package gpu

import (
	"fmt"
	"unsafe"

	"dsbuild/model"
)

// Runner is a network on a Device: its weights uploaded once and its
// activations allocated for batches of up to Batch images, all in one
// device allocation.
type Runner struct {
	dev  *Device
	lay  *layout
	base uint64 // the allocation; 0 once closed
}

// NewRunner uploads f's weights to dev and allocates activations for up
// to batch images.
func NewRunner(dev *Device, f *model.Folded, batch int) (*Runner, error) {
	lay, err := newLayout(f, batch)
	if err != nil {
		return nil, err
	}
	r := &Runner{dev: dev, lay: lay}
	d := dev.d
	err = dev.w.do(func() error {
		size := 4 * uint64(lay.floats)
		if err := d.check(fmt.Sprintf("cuMemAlloc(%d bytes)", size), d.memAlloc(&r.base, size)); err != nil {
			return err
		}
		return lay.uploads(func(off int64, v []float32) error {
			return d.check("cuMemcpyHtoD(weights)", d.memcpyHtoD(r.base+4*uint64(off), unsafe.Pointer(&v[0]), 4*uint64(len(v))))
		})
	})
	if err != nil {
		_ = r.Close() // the upload error is the one to report
		return nil, err
	}
	return r, nil
}

// Batch is the largest number of images Forward takes at once.
func (r *Runner) Batch() int { return int(r.lay.batch) }

// Forward runs n images, x holding n × 3 × S × S values (channel-major
// per image), and returns their n × S × S logits.
func (r *Runner) Forward(x []float32, n int) ([]float32, error) {
	s, err := r.lay.check(x, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n*s*s)
	d := r.dev.d
	err = r.dev.w.do(func() error {
		if r.base == 0 {
			return ErrClosed
		}
		steps, in, res := r.lay.schedule(r.base, int64(n))
		if err := d.check("cuMemcpyHtoD(input)", d.memcpyHtoD(in, unsafe.Pointer(&x[0]), 4*uint64(len(x)))); err != nil {
			return err
		}
		for _, l := range steps {
			if err := r.dev.launch(l); err != nil {
				return err
			}
		}
		// Launches are asynchronous: a failing kernel shows here.
		if err := d.check("cuCtxSynchronize", d.ctxSynchronize()); err != nil {
			return err
		}
		return d.check("cuMemcpyDtoH(logits)", d.memcpyDtoH(unsafe.Pointer(&out[0]), res, 4*uint64(len(out))))
	})
	if err != nil {
		return nil, fmt.Errorf("gpu forward pass: %w", err)
	}
	return out, nil
}

// Close frees the runner's device memory. It is safe to call twice.
func (r *Runner) Close() error {
	return r.dev.w.do(func() error {
		if r.base == 0 {
			return nil
		}
		err := r.dev.d.check("cuMemFree", r.dev.d.memFree(r.base))
		r.base = 0
		return err
	})
}
