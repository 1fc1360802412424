// Package annotate pre-annotates images with segmentation networks, in
// one of two modes.
//
// [Scene] segments the whole image once: the image is resampled to the
// network's S×S input, its logits are resampled back to the image's size
// and thresholded, and every 8-connected component of at least MinArea
// image pixels is one instance. Holes inside a component stay holes.
// Instances that touch (two persons side by side) make one component and
// so one object: scene mode fits one model and scenes whose objects do
// not touch.
//
// [Boxes] is the two-stage, two-model scheme of the seed workflow
// (shared/docs/dtl.md §5.1, step 4). Stage 1 finds the instances: boxes
// from a detector ([ParseDetections]), or, without one, the bounds of the
// components that [Scene] gives with a scene model. Stage 2 segments the
// dominant object of each padded box with a crop model — a network
// trained on crops that instances_crop made with the same padding — and
// pastes it back at image resolution, so every instance gets its own mask
// even when instances touch.
//
// Components are 8-connected everywhere (pixels that share a corner
// belong together): a thin limb running diagonally, one pixel wide after
// thresholding, stays part of its body instead of splitting into specks;
// the price is that objects touching at a corner merge.
//
// # Coordinates
//
// Image pixel (x, y) is column x, row y counted from img.Bounds().Min, the
// convention of [dataset.Object]: boxes, origins and masks all use it.
// Resampling aligns pixel centres: a destination sample i of a side of
// dst samples reads the source side of src samples at
//
//	p = (i + ½)·src/dst − ½ = ((2i + 1)·src − dst) / (2·dst),
//
// computed exactly in integers; i0 = ⌊p⌋ and the weight w1 = p − i0 is
// rounded once to float32 (w0 = 1 − w1). Positions before the first sample
// or past the last read that sample (clamp to edge). Resampling is
// separable: rows first, v = float32(a·w0) + float32(b·w1) with every
// product rounded explicitly (no fused multiply-add), then columns the
// same way. There is no anti-aliasing prefilter: this is plain bilinear
// sampling, also when shrinking. The network sees the whole image and
// every crop stretched to S×S: the aspect ratio is not kept.
//
// Pixel values: an image's 8-bit RGB is that of img.At(x, y).RGBA() >> 8,
// i.e. premultiplied (transparent pixels count as black), scaled by 1/255
// in float32 before sampling.
//
// Stage 2 crops each box after padding it by Params.Padding times its
// width on the left and right and its height on the top and bottom, each
// rounded down to whole pixels, and clamping it to the image ([Window]):
// exactly the rectangle that the transform op instances_crop with
// pad = "<Padding·100>%" cuts around an object with those bounds, so a
// crop model sees in stage 2 what it was trained on. The crop (w×h
// pixels) is resampled to S×S, segmented, and the S×S logits resampled
// back to w×h before thresholding, so mask edges fall at image resolution.
// The largest 8-connected component (the first in raster order on a tie)
// is the instance. In both modes, and in stage 1, the whole image's S×S
// logits are resampled to the image's W×H before thresholding, and
// components, areas and MinArea are in image pixels.
//
// # Guarantees
//
// Determinism: for a fixed platform (GOARCH, GOAMD64) and deterministic
// [Segmenter]s, [Scene] and [Boxes] give the same objects, bit for bit, on
// every run: no output depends on map iteration or goroutine scheduling
// (the package starts no goroutines; [CPU] segments images one after
// another, each result at its image's index), resampling uses the fixed
// order above, and the "confidence" tag uses this package's own sigmoid
// (range reduction and a polynomial with explicit rounding), so it does
// not depend on the platform's math.Exp. The threshold in logit space,
// log(t/(1−t)), is computed once with math.Log; for the default t = 0.5 it
// is exactly 0.
//
// Robustness: odd inputs never panic. 1×1 images, boxes partly or wholly
// outside the image (clamped; empty ones skipped), no boxes, all-background
// predictions and non-finite logits (NaN counts as background, ±Inf as a
// large finite value) give fewer or no objects, not errors; invalid
// parameters, an empty image and a [Segmenter] that fails or returns the
// wrong number of values are errors, wrapped with context.
//
// Not done here: overlapping boxes of one object give overlapping
// instances (no non-maximum suppression), and instances may overlap each
// other.
package annotate
