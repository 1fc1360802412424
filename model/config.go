// Package model is dsbuild's segmentation network: the UNet's
// configuration, its parameter tensors (names, shapes and layout), their
// seeded initialisation, the model artifact (config JSON, safetensors
// weights, metrics) and a pure-Go forward pass for inference.
//
// Guarantees: the same configuration and seed give bit-identical initial
// weights on every platform (the generator is the project's own, built on
// PCG's raw output and IEEE-exact arithmetic only). The forward pass is
// deterministic for a fixed (GOARCH, GOAMD64) and sums every output pixel
// in one documented order — input channel, then kernel row, then kernel
// column, then the bias — which the GPU kernels follow too.
//
// The network (see docs/model.md): Depth encoder levels, each two 3×3
// convolutions (padding 1) with ReLU, then 2×2 max pooling; a middle level
// of two convolutions; Depth decoder levels, each nearest ×2 upsampling,
// concatenation [upsampled, skip] on the channel axis and two
// convolutions; a 1×1 head giving one logit per pixel. Level l has
// Width·2^l channels. Each convolution has a bias, or a BatchNorm
// (γ, β, running mean and variance) instead when BatchNorm is set; the
// head always has a bias.
package model

import (
	"fmt"
	"sort"
	"strings"
)

// Config is a network's architecture and the facts needed to use it.
type Config struct {
	Arch       string   `json:"arch"`        // "unet"
	Depth      int      `json:"depth"`       // encoder levels, ≥ 1
	Width      int      `json:"width"`       // channels of level 0, ≥ 1
	BatchNorm  bool     `json:"batch_norm"`  // BatchNorm instead of conv biases
	InputSize  int      `json:"input_size"`  // square input side, a multiple of 2^Depth
	InChannels int      `json:"in_channels"` // 3: RGB scaled to [0, 1]
	Foreground []string `json:"foreground"`  // classes the logit stands for
	Ignore     []string `json:"ignore,omitempty"`
	BNEpsilon  float64  `json:"bn_epsilon,omitempty"`
	// CropPadding is set on a crop model, one trained on crops that
	// instances_crop cut with pad = "<CropPadding·100>%" (a fraction of
	// each box's width on the left and right, of its height on the top
	// and bottom); preannotate's boxes mode pads its boxes by it. 0 means
	// not a crop model, and is left out of config.json, so that other
	// models' bytes do not change.
	CropPadding float64 `json:"crop_padding,omitempty"`
}

// DefaultBNEpsilon is BatchNorm's ε, as in PyTorch.
const DefaultBNEpsilon = 1e-5

// Validate reports the first reason the configuration cannot describe a
// network.
func (c *Config) Validate() error {
	switch {
	case c.Arch != "unet":
		return fmt.Errorf("arch is %q; only \"unet\" is known", c.Arch)
	case c.Depth < 1 || c.Depth > 6:
		return fmt.Errorf("depth is %d; it must be 1 to 6", c.Depth)
	case c.Width < 1 || c.Width > 256:
		return fmt.Errorf("width is %d; it must be 1 to 256", c.Width)
	case c.InChannels != 3:
		return fmt.Errorf("in_channels is %d; only 3 (RGB) is supported", c.InChannels)
	case c.InputSize < 1<<c.Depth || c.InputSize%(1<<c.Depth) != 0 || c.InputSize > 4096:
		return fmt.Errorf("input_size is %d; it must be a multiple of 2^depth = %d, at most 4096", c.InputSize, 1<<c.Depth)
	case len(c.Foreground) == 0:
		return fmt.Errorf("no foreground classes")
	case !(c.CropPadding >= 0 && c.CropPadding <= 4):
		return fmt.Errorf("crop_padding is %v; it must be 0 to 4", c.CropPadding)
	}
	return nil
}

// Channels is the channel count of level l.
func (c *Config) Channels(l int) int { return c.Width << l }

// Conv is one convolution layer of the network.
type Conv struct {
	Name    string // "enc.0.conv1", "mid.conv2", "dec.1.conv1", "head"
	In, Out int
	Kernel  int  // 3, or 1 for the head
	ReLU    bool // followed by ReLU (every layer but the head)
	BN      bool // BatchNorm instead of a bias
	Level   int  // the resolution level: size InputSize>>Level
}

// Convs lists the network's convolutions in forward order.
func (c *Config) Convs() []Conv {
	var out []Conv
	add := func(name string, in, o, level int) {
		out = append(out, Conv{Name: name, In: in, Out: o, Kernel: 3, ReLU: true, BN: c.BatchNorm, Level: level})
	}
	in := c.InChannels
	for l := 0; l < c.Depth; l++ {
		add(fmt.Sprintf("enc.%d.conv1", l), in, c.Channels(l), l)
		add(fmt.Sprintf("enc.%d.conv2", l), c.Channels(l), c.Channels(l), l)
		in = c.Channels(l)
	}
	add("mid.conv1", in, c.Channels(c.Depth), c.Depth)
	add("mid.conv2", c.Channels(c.Depth), c.Channels(c.Depth), c.Depth)
	for l := c.Depth - 1; l >= 0; l-- {
		add(fmt.Sprintf("dec.%d.conv1", l), c.Channels(l+1)+c.Channels(l), c.Channels(l), l)
		add(fmt.Sprintf("dec.%d.conv2", l), c.Channels(l), c.Channels(l), l)
	}
	out = append(out, Conv{Name: "head", In: c.Channels(0), Out: 1, Kernel: 1, Level: 0})
	return out
}

// TensorSpec names one parameter tensor and its shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Size is the number of elements.
func (t TensorSpec) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Tensors lists every parameter tensor in forward order. Names follow
// PyTorch's state_dict conventions: "<conv>.weight" (out, in, k, k),
// "<conv>.bias" (out), and for BatchNorm "<conv>.bn.weight" (γ),
// "<conv>.bn.bias" (β), "<conv>.bn.running_mean" and
// "<conv>.bn.running_var" (out).
func (c *Config) Tensors() []TensorSpec {
	var out []TensorSpec
	for _, cv := range c.Convs() {
		out = append(out, TensorSpec{cv.Name + ".weight", []int{cv.Out, cv.In, cv.Kernel, cv.Kernel}})
		if cv.BN {
			for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
				out = append(out, TensorSpec{cv.Name + ".bn." + s, []int{cv.Out}})
			}
		} else {
			out = append(out, TensorSpec{cv.Name + ".bias", []int{cv.Out}})
		}
	}
	return out
}

// Weights holds a network's parameters by tensor name, each a flat
// row-major float32 slice of its spec's shape.
type Weights map[string][]float32

// Check verifies that w has exactly the configuration's tensors, with
// their sizes, and only finite values.
func (w Weights) Check(c *Config) error {
	specs := c.Tensors()
	if len(w) != len(specs) {
		var extra []string
		want := map[string]bool{}
		for _, s := range specs {
			want[s.Name] = true
		}
		for n := range w {
			if !want[n] {
				extra = append(extra, n)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			return fmt.Errorf("weights have %d tensors, the architecture %d; unexpected: %s", len(w), len(specs), strings.Join(extra, ", "))
		}
	}
	for _, s := range specs {
		d, ok := w[s.Name]
		if !ok {
			return fmt.Errorf("weights lack tensor %s", s.Name)
		}
		if len(d) != s.Size() {
			return fmt.Errorf("tensor %s has %d values; the architecture needs %v = %d", s.Name, len(d), s.Shape, s.Size())
		}
		for i, v := range d {
			if v != v || v > 3.4e38 || v < -3.4e38 {
				return fmt.Errorf("tensor %s holds a non-finite value at %d", s.Name, i)
			}
		}
	}
	return nil
}

// ParamCount is the number of trainable values (running statistics
// excluded).
func (c *Config) ParamCount() int {
	n := 0
	for _, s := range c.Tensors() {
		if !strings.HasSuffix(s.Name, ".running_mean") && !strings.HasSuffix(s.Name, ".running_var") {
			n += s.Size()
		}
	}
	return n
}
