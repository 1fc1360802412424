// Package annotate pre-annotates images with a segmentation network: the
// two-step scheme of the seed workflow (shared/docs/dtl.md §5.1, step 4).
// Stage 1 finds the instances — boxes from a detector ([ParseDetections]),
// or, without one, the 8-connected components of the network's mask of the
// whole image; stage 2 segments the dominant object of each box at the
// network's full resolution and pastes it back at image resolution, so
// every instance gets its own mask with accurate edges.
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
// larger side on every side and clamping it to the image; the crop (w×h
// pixels) is resampled to S×S, segmented, and the S×S logits resampled
// back to w×h before thresholding, so mask edges fall at image resolution.
// The largest 8-connected component (the first in raster order on a tie)
// is the instance. Components in stage 1 are found at network resolution
// and mapped out to image pixels: network column i covers image columns
// [i·W/S, (i+1)·W/S), so a component's box [x0, x1) becomes
// [⌊x0·W/S⌋, ⌈x1·W/S⌉), and its area counts area·W·H/S² image pixels.
//
// # Guarantees
//
// Determinism: for a fixed platform (GOARCH, GOAMD64) and a deterministic
// [Segmenter], [Annotate] gives the same objects, bit for bit, on every
// run: no output depends on map iteration or goroutine scheduling ([CPU]
// places every image's result by its index), resampling uses the fixed
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
