package annotate

import (
	"errors"
	"fmt"

	"dsbuild/model"
)

// Segmenter runs a binary segmentation network on batches of images. A
// pure-Go [CPU] adapter and the GPU runner both implement it.
type Segmenter interface {
	// Size is the network's square input side S.
	Size() int
	// Segment runs the network on n images: x holds n×3×S×S values, each
	// image channel-major RGB in [0, 1]. It returns n×S×S logits, image
	// i's at [i·S·S, (i+1)·S·S), row-major; a logit above 0 means
	// foreground.
	Segment(x []float32, n int) ([]float32, error)
}

// CPU adapts a folded model to [Segmenter]: Segment runs
// [model.Folded.Forward] on each image in turn, on the calling goroutine,
// and places each result at its image's index. Forward is deterministic,
// so the logits do not depend on how the images are batched. It runs no
// workers of its own: the steps that segment call it from the items of the
// engine's worker pool, one item per worker.
func CPU(f *model.Folded) Segmenter {
	return &cpuSegmenter{f: f}
}

type cpuSegmenter struct {
	f *model.Folded
}

// Size is the model's input size, or 0 without a model.
func (c *cpuSegmenter) Size() int {
	if c.f == nil || c.f.Config == nil {
		return 0
	}
	return c.f.Config.InputSize
}

// Segment implements [Segmenter].
func (c *cpuSegmenter) Segment(x []float32, n int) ([]float32, error) {
	s := c.Size()
	switch {
	case s < 1:
		return nil, errors.New("cpu segmenter: no model")
	case c.f.Config.InChannels != 3:
		return nil, fmt.Errorf("cpu segmenter: the model takes %d input channels, not 3", c.f.Config.InChannels)
	case n < 0:
		return nil, fmt.Errorf("cpu segmenter: %d images", n)
	}
	in, px := 3*s*s, s*s
	if n > len(x)/in || len(x) != n*in {
		return nil, fmt.Errorf("cpu segmenter: %d input values for %d images of 3×%d×%d", len(x), n, s, s)
	}
	out := make([]float32, n*px)
	for i := range n {
		if err := c.forward(x[i*in:(i+1)*in], out[i*px:(i+1)*px]); err != nil {
			return nil, fmt.Errorf("cpu segmenter: image %d: %w", i, err)
		}
	}
	return out, nil
}

// forward runs the model on one image into dst, turning a panic (a model
// whose layers do not match its configuration) into an error.
func (c *cpuSegmenter) forward(x, dst []float32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("forward pass failed: %v", r)
		}
	}()
	y := c.f.Forward(x)
	if len(y) != len(dst) {
		return fmt.Errorf("forward pass gave %d logits, want %d", len(y), len(dst))
	}
	copy(dst, y)
	return nil
}
