package train

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// workers runs loops over task indices on up to n goroutines. Which
// goroutine runs a task is not fixed, so a task writes only its own
// outputs and uses the worker's scratch (indexed by the worker number it
// is given) only while it runs: results never depend on the number of
// workers or on scheduling.
type workers int

func (n workers) run(tasks int, f func(worker, task int)) {
	if tasks <= 0 {
		return
	}
	w := min(int(n), tasks)
	if w <= 1 {
		for i := 0; i < tasks; i++ {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= tasks {
					return
				}
				f(k, i)
			}
		})
	}
	wg.Wait()
}

// floats returns n zeroed float32s starting on a 64-byte boundary. Some
// matrix kernels sum in an order that depends on an operand's alignment
// (gonum's dot product peels unaligned leading elements), so every buffer
// they see starts aligned, and every offset into one is fixed by shapes.
func floats(n int) []float32 {
	const align = 64 / 4
	buf := make([]float32, n+align)
	off := 0
	if mis := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % 64); mis != 0 {
		off = (64 - mis) / 4
	}
	return buf[off : off+n : off+n]
}
