// Package review writes the review package of the bootstrap loop and reads
// the reviewers' results back (dtl.md §5.1, step 5).
//
// A model pre-annotates images; people look at each prediction and give it
// one [Verdict]: [Good] (keep it as it is), [NeedsCorrection] (with the
// corrected objects) or [Bad] (reject it). [WritePackage] writes the images
// and predictions for three annotation tools at once: a Supervisely
// project, a CVAT for images 1.1 task and a Label Studio project
// (formats.md §1, §6, §7); reviewers use any one of them and put its export
// into results/. [ReadResults] detects the format and returns one [Result]
// per item. [Simulate] plays the reviewer from ground truth, for tests and
// for measuring the loop without people.
//
// The functions are pure: they read and write the given paths and nothing
// else, and hold no state.
//
// # Guarantees
//
// Determinism. WritePackage and Simulate write the same bytes for the same
// arguments: items sorted by name, no timestamps, no random ids, fixed
// encoders (the canonical Supervisely annotation of
// [dataset.EncodeAnnotation], CVAT run lengths, Label Studio brush
// bitstreams in the converter's chunking). They refuse a directory that is
// not empty, so that no stale file survives.
//
// Round trip. For each format, Simulate's results read by ReadResults give
// Simulate's verdicts and, for needs correction, objects with exactly the
// pixels of the truth objects (clipped to the image; bounding boxes for a
// class of rectangles), provided polygon vertices lie on a 0.01-pixel grid
// (CVAT writes two decimals).
//
// All or nothing. ReadResults returns results for every item of the
// package or none: any problem (a malformed file, an unknown image, a
// missing or double verdict, a broken or out-of-image mask, an unknown
// class, an item without results) makes it return an error that names the
// results file and the item, listing up to 10 problems. It never panics on
// malformed input.
//
// # Coordinates
//
// Objects use the conventions of package dataset: bitmaps cropped to their
// set pixels at an origin, polygons in continuous pixel coordinates (pixel
// (x, y) covers [x, x+1) × [y, y+1)), rectangles half-open. CVAT polygons and
// boxes use the same continuous coordinates (a box's xbr is the exclusive
// right edge); Label Studio's are percentages of the image size. CVAT
// masks are run lengths over the mask's own box, row by row, starting with
// zeros; Label Studio brushes are RLE bitstreams of the whole RGBA image,
// foreground where alpha is not 0.
package review
