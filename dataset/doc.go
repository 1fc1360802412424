// Package dataset holds the geometry and mask codecs that dsbuild uses to read
// and write segmentation annotations: a binary [Mask], the Supervisely bitmap
// encoding (base64 of a zlib-compressed PNG, see [EncodeBitmap] and
// [DecodeBitmap]), COCO run-length encoding ([RLE]) with its compressed counts
// string, and polygon rasterisation and tracing ([Rasterize] and
// [Mask.Contours]).
//
// Object geometry that several steps share is written once, here, with one
// behaviour: a mask cropped to its set pixels ([Mask.Tight], [Mask.TightIn]),
// an object's pixels inside the image ([Object.TightRaster]), and an object
// cut to the image as an annotation tool keeps it ([Object.ClipTo]: unchanged
// inside; a rectangle stays a rectangle; any other shape becomes the bitmap
// of its pixels inside).
//
// The facts implemented here, with sources and test vectors, are in
// docs/formats.md of the shared documentation (sections 1.4-1.6, 3.2-3.5 and 8).
//
// # Guarantees
//
// Determinism. Every encoder is a pure function of its input: the same mask
// always yields the same bitmap string, the same RLE counts, the same counts
// string and the same contours (vertex order, starting point and ring order are
// fixed, see [Mask.Contours]). Bitmap strings are produced with fixed encoder
// settings (see [EncodeBitmap]); they are byte-stable for a given Go toolchain,
// but the standard library does not promise identical DEFLATE output across Go
// releases, and they never match the bytes Python writes. Compare decoded masks,
// not strings, across tools.
//
// Errors. Decoders never panic on malformed input: truncated or invalid base64,
// bad zlib streams, bad PNGs, unsupported PNG layouts, RLE counts that do not
// sum to H*W, negative or oversized dimensions and malformed counts strings
// are all reported as errors, wrapped with context by fmt.Errorf and %w so that
// errors.Is works with the sentinels [ErrTooLarge] and [ErrEmptyMask].
//
// Limits. No function allocates a mask or decodes an image of more than
// [MaxPixels] pixels; image headers are checked before any pixel buffer is
// allocated, so a small input that claims huge dimensions (a decompression
// bomb) is rejected cheaply.
package dataset
