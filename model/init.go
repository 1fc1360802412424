package model

import (
	"math"
	"math/rand/v2"
	"strings"
)

// Init returns the network's initial weights for seed: convolution
// weights uniform in ±√(6/fan_in) (He initialisation for ReLU), biases
// and BatchNorm β zero, γ one, running mean 0 and variance 1. Each tensor
// draws from its own PCG stream, keyed by the seed and the tensor's
// index, and converts raw 64-bit outputs with exact arithmetic only, so
// the values are the same on every platform and Go release.
func Init(c *Config, seed uint64) Weights {
	w := Weights{}
	for i, s := range c.Tensors() {
		d := make([]float32, s.Size())
		switch {
		case strings.HasSuffix(s.Name, ".bn.weight"), strings.HasSuffix(s.Name, ".running_var"):
			for j := range d {
				d[j] = 1
			}
		case strings.HasSuffix(s.Name, ".conv1.weight"), strings.HasSuffix(s.Name, ".conv2.weight"), s.Name == "head.weight":
			fanIn := s.Shape[1] * s.Shape[2] * s.Shape[3]
			bound := math.Sqrt(6 / float64(fanIn))
			rng := rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(i))
			for j := range d {
				u := float64(rng.Uint64()>>11) / (1 << 53) // [0, 1), exact
				d[j] = float32((2*u - 1) * bound)
			}
		}
		w[s.Name] = d
	}
	return w
}
