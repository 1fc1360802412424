// Package gpu runs the forward pass of dsbuild/model's UNet on an NVIDIA
// GPU, for batches of images, through the CUDA driver API.
//
// Guarantees:
//   - The default build needs neither cgo nor CUDA headers. It loads
//     libcuda.so.1 at run time (Open), and returns an error, never exits or
//     panics, when the driver, its entry points or a device are missing, so
//     a caller can fall back to model.(*Folded).Forward.
//   - Every output value is summed in the reference order of
//     model.(*Folded).Forward (input channel, kernel row, kernel column,
//     then the bias) with IEEE round-to-nearest float32 products and sums,
//     never fused, so the logits are meant to equal the CPU's bit for bit.
//     Max pooling on NaN may differ from Go's max.
//   - All CUDA calls of a Device run on one OS thread, so a Device and its
//     Runners are safe for concurrent use; their calls are serialised.
//   - The kernels are kernels.cu, compiled to kernels.ptx by genptx.sh and
//     embedded; a test keeps the two in step.
//
// Builds with the cu tag add CURunner, the same runner on gorgonia.org/cu,
// which needs cgo and CUDA headers and exits the process when no GPU is
// present; NewEngine then picks it. See docs/gpu.md.
package gpu

import (
	_ "embed"

	"dsbuild/model"
)

//go:generate sh genptx.sh

// kernelsPTX is the PTX of kernels.cu, loaded by the driver's JIT.
//
//go:embed kernels.ptx
var kernelsPTX string

// Engine is a forward pass on a GPU for batches of images.
type Engine interface {
	// DeviceName names the GPU.
	DeviceName() string
	// Forward runs n images, x holding n × 3 × S × S values in [0, 1],
	// and returns their n × S × S logits.
	Forward(x []float32, n int) ([]float32, error)
	// Close frees the engine's GPU memory and releases the device.
	Close() error
}

// NewEngine opens the first GPU and prepares f on it for batches of up to
// batch images, using the runner named by Backend.
func NewEngine(f *model.Folded, batch int) (Engine, error) { return newEngine(f, batch) }
