package gpu

import (
	"fmt"

	"dsbuild/model"
)

// kernel is one entry point of kernels.cu.
type kernel int

const (
	conv2d kernel = iota
	maxpool2
	upsample2Into
	copyInto
	numKernels
)

var kernelNames = [numKernels]string{"conv2d", "maxpool2", "upsample2_into", "copy_into"}

func (k kernel) String() string { return kernelNames[k] }

// launch is one kernel call: threads (one per output value) and the
// kernel's arguments, each 64 bits wide (device pointers and integers).
type launch struct {
	kernel  kernel
	threads int64
	args    []uint64
}

// layout places a runner's tensors in one device allocation, as offsets
// in float32 values, each region aligned to 256 bytes.
type layout struct {
	net    *model.Folded
	batch  int64
	floats int64    // size of the allocation
	w, b   []int64  // per layer: weights, bias
	ping   [2]int64 // activations, alternately read and written
	skips  []int64  // per level: the second encoder convolution's output
}

func newLayout(f *model.Folded, batch int) (*layout, error) {
	if batch < 1 {
		return nil, fmt.Errorf("gpu: batch is %d; it must be at least 1", batch)
	}
	c := f.Config
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	convs := c.Convs()
	if len(f.Layers) != len(convs) {
		return nil, fmt.Errorf("gpu: folded network has %d layers, its configuration %d", len(f.Layers), len(convs))
	}
	for i, l := range f.Layers {
		if l.Conv != convs[i] || len(l.W) != l.Out*l.In*l.Kernel*l.Kernel || len(l.B) != l.Out {
			return nil, fmt.Errorf("gpu: folded layer %d (%s) does not match the configuration's %s", i, l.Name, convs[i].Name)
		}
	}
	lay := &layout{net: f, batch: int64(batch)}
	place := func(n int64) int64 {
		at := lay.floats
		lay.floats += (n + 63) &^ 63
		return at
	}
	for _, l := range f.Layers {
		lay.w = append(lay.w, place(int64(len(l.W))))
		lay.b = append(lay.b, place(int64(len(l.B))))
	}
	// The largest activation is the input (3 channels) or level 0's
	// concatenation (3·Width channels), both at full size: deeper levels
	// double the channels but quarter the area.
	s := int64(c.InputSize)
	act := int64(max(c.InChannels, 3*c.Width)) * s * s * lay.batch
	lay.ping = [2]int64{place(act), place(act)}
	for l := 0; l < c.Depth; l++ {
		lay.skips = append(lay.skips, place(int64(c.Channels(l))*(s>>l)*(s>>l)*lay.batch))
	}
	return lay, nil
}

// schedule lists the launches of one forward pass over n ≤ batch images
// for an allocation at base, and where the input goes and the logits
// come from.
func (lay *layout) schedule(base uint64, n int64) (steps []launch, in, out uint64) {
	c := lay.net.Config
	at := func(off int64) uint64 { return base + 4*uint64(off) }
	cur, other := at(lay.ping[0]), at(lay.ping[1])
	li := 0
	conv := func(dst, src uint64, size int64) {
		l := &lay.net.Layers[li]
		relu := uint64(0)
		if l.ReLU {
			relu = 1
		}
		steps = append(steps, launch{conv2d, n * int64(l.Out) * size * size, []uint64{
			dst, src, at(lay.w[li]), at(lay.b[li]), uint64(n), uint64(l.In), uint64(l.Out), uint64(size), uint64(l.Kernel), relu}})
		li++
	}
	s := int64(c.InputSize)
	for l := 0; l < c.Depth; l++ {
		size, ch, skip := s>>l, int64(c.Channels(l)), at(lay.skips[l])
		conv(other, cur, size)
		conv(skip, other, size)
		steps = append(steps, launch{maxpool2, n * ch * size * size / 4, []uint64{cur, skip, uint64(n), uint64(ch), uint64(size)}})
	}
	conv(other, cur, s>>c.Depth)
	conv(cur, other, s>>c.Depth)
	for l := c.Depth - 1; l >= 0; l-- {
		size, deep, ch := s>>l, int64(c.Channels(l+1)), int64(c.Channels(l))
		steps = append(steps,
			launch{upsample2Into, n * deep * size * size, []uint64{other, cur, uint64(n), uint64(deep), uint64(deep + ch), uint64(size)}},
			launch{copyInto, n * ch * size * size, []uint64{other, at(lay.skips[l]), uint64(n), uint64(ch), uint64(deep + ch), uint64(deep), uint64(size)}})
		conv(cur, other, size)
		conv(other, cur, size)
		cur, other = other, cur
	}
	conv(other, cur, s)
	return steps, at(lay.ping[0]), other
}

// uploads lists the host values to copy to the allocation, by offset.
func (lay *layout) uploads(visit func(off int64, v []float32) error) error {
	for i, l := range lay.net.Layers {
		if err := visit(lay.w[i], l.W); err != nil {
			return err
		}
		if err := visit(lay.b[i], l.B); err != nil {
			return err
		}
	}
	return nil
}

// grid is the launch shape for threads outputs: 256-thread blocks, at
// most 65536 of them; the kernels' grid-stride loops cover the rest.
func grid(threads int64) (blocks, block uint32) {
	return uint32(min(max((threads+255)/256, 1), 1<<16)), 256
}

// check validates a forward pass's input and returns the image side.
func (lay *layout) check(x []float32, n int) (int, error) {
	c := lay.net.Config
	s := c.InputSize
	if n < 1 || int64(n) > lay.batch {
		return 0, fmt.Errorf("gpu: %d images; the runner takes 1 to %d", n, lay.batch)
	}
	if want := n * c.InChannels * s * s; len(x) != want {
		return 0, fmt.Errorf("gpu: input has %d values; %d images need %d", len(x), n, want)
	}
	return s, nil
}
