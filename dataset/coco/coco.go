// Package coco reads and writes COCO instance annotations (formats.md §3):
// a directory with annotations/instances_<subset>.json files and the images
// under <subset>/, as the official 2014 and 2017 releases are laid out, or
// under images/<subset>/ (Datumaro's and current CVAT's exports) or images/
// (older CVAT exports, all subsets in one directory).
//
// # Import (format "coco")
//
// Options:
//
//   - annotations = "annotations/instances_*.json": a glob (path.Match
//     syntax, slash-separated, relative to the source root) selecting the
//     annotation files. Each file is one subset, named by its base name
//     without ".json" and without a leading "instances_" (instances_val2017.json
//     is subset val2017). Two files giving the same subset are an error.
//   - images: the directory of a subset's images, relative to the root;
//     "{subset}" is replaced by the subset name. An image's path is this
//     directory joined with its file_name. Unset (the default), the layout
//     is detected per annotation file: of "{subset}", "images/{subset}" and
//     "images", in this order, the first directory that holds the file of
//     the file's first image, else the first that exists; none is an
//     error naming them.
//
// Items are named "<subset>/<base name of file_name>" and carry the image
// tag <subset>; the returned meta has one tag (value type none) per subset,
// the tag "iscrowd" (none) and one class (shape "any") per category name,
// spelled as in the files. Items are emitted file by file, in the order of
// their names, each file's items sorted by name, so that the whole sequence
// is sorted. Width and height come from the images table (0, "unknown",
// when absent or 0).
//
// Geometry, per annotation:
//
//   - Polygons (a list of lists of numbers): one annotation is one object.
//     A single polygon is a polygon object, its coordinates taken as they
//     are (COCO's continuous frame is the one of [dataset.Point]); when it
//     is the box-as-polygon of a box-only annotation (four vertices on
//     integer coordinates tracing exactly the rectangle of an integer
//     bbox, as this package's export writes box-only objects) it is that
//     rectangle. Several polygons are the visible parts of one object
//     (pycocotools merges them into one mask): the object is the bitmap of
//     their union, rasterized with the pixel-centre rule of
//     [dataset.Rasterize] in the frame of their vertices (so parts beyond
//     the image stay beyond it, for the import step to refuse or clip);
//     parts that cover no pixel centre give no object. The canonical
//     dataset has no multi-polygon geometry (it is Supervisely's, where a
//     polygon has one exterior), and a bitmap keeps the object one object
//     through every transform, diff and export. Each list needs an even
//     count of at least 6 numbers.
//   - RLE, with a counts list (uncompressed) or a counts string
//     (compressed): one bitmap object, cropped to its box. A list of RLE
//     objects is merged into one. An RLE whose size [h, w] differs from the
//     image's, or whose counts do not sum to h×w, is an error; an RLE with no
//     set pixel gives no object.
//   - No segmentation (absent, null or []): a rectangle from bbox
//     [x, y, w, h], the smallest pixel box that contains it (floor of x and
//     y, ceiling of x+w and y+h), clipped to the image when its size is
//     known.
//
// An image's objects keep the order of its annotations in the file: COCO's
// drawing order (pycocotools and CVAT draw later annotations on top), which
// the canonical dataset keeps and every rasterizing export follows.
//
// iscrowd = 1 regions keep their category's class and get the object tag
// "iscrowd"; the import step's class mapping can route them (for instance
// to "neutral"). area, the annotation id and unknown keys are ignored.
//
// Errors. A file that is not valid JSON, is not an object, lacks "images",
// or has a malformed images or categories table (an entry without id,
// file_name or name; a category id defined twice with different names) is
// an error naming the file, as is a missing image directory. Problems of one
// item are reported by emitting it with an *dataset.ItemError naming the
// file and the item: a malformed annotation (bad category_id, polygon with
// fewer than 3 points, bad RLE), a file_name that is not a clean relative
// path (one escaping the image directory with ".."), an image file that does
// not exist, two images with the same file name or the same id. Annotations
// whose image_id is not in the images table are emitted as one error item
// per unknown id, named "<subset>/image_id=<id>" ("<subset>/image_id=?" for
// those without a valid image_id).
//
// Memory. Each annotation file is streamed with a json.Decoder, one file at
// a time, and never held whole by the importer. It keeps the images and
// categories tables (about 100 bytes per image) and, for every annotation,
// 24 bytes of index and a record of its id, category_id, iscrowd, bbox and
// segmentation (compact JSON; unknown keys and area are dropped). The
// records are spooled: the first 16 MiB in memory, the rest in an unlinked
// temporary file (os.CreateTemp, so $TMPDIR), from which each item reads
// its annotations back when it is emitted; geometry is decoded then, one
// item at a time, and an RLE mask is allocated at its box size only. So the
// importer's own memory is about 16 MiB + 24 bytes per annotation + 100
// bytes per image + one item: a 100 MB file of 10,000 images and 70,000
// polygons peaks at under 50 MB of heap (see big_test.go). If no temporary
// file can be made, the records stay in memory (about the size of the
// annotations array). Note that the Source may itself hold a whole file
// while it is read: cache.TreeFS reads and decompresses the blob at once.
// No mask larger than [dataset.MaxPixels] is ever allocated.
//
// # Export (format "coco")
//
// Options:
//
//   - masks = "rle" | "polygons" (default "rle"): how bitmap objects are
//     written. "rle" writes compressed RLE counts strings; "polygons" writes
//     the exact pixel-edge outlines of [dataset.Mask.Contours], one list per
//     4-connected part, or compressed RLE for a mask with holes, which COCO
//     polygons cannot express.
//
// The export writes annotations/instances_<subset>.json and
// <subset>/<file> (the image bytes as stored) for every item
// "<subset>/<file>". Identifiers are deterministic: images are numbered from
// 1 in the order of their item names, across all subsets; categories from 1
// in the order of class titles (all classes of the meta); annotations from 1
// in item order, then in the order of the objects (the drawing order, which
// the importer takes from the annotations' order in the file). Polygon objects
// without holes are written as one polygon; polygon objects with holes, like
// every object tagged "iscrowd" (written with iscrowd 1), are rasterised and
// written as compressed RLE; rectangles are written with their box as a
// polygon, [[x0,y0,x1,y0,x1,y1,x0,y1]] (pycocotools' annToMask and COCOeval
// fail on "segmentation": []), which the importer reads back as the
// rectangle. A bitmap of several parts (such as a multi-polygon annotation
// read by the importer) is one annotation: one polygon per part in
// "polygons" mode, one RLE in "rle" mode. Every file loads in pycocotools
// (the tests check each export against its reading rules). Polygon coordinates are written rounded to 1/1000
// (the canonical precision). area is the number of pixels of the object's mask in
// the image (the rasterised polygon for polygons); bbox is the mask's pixel
// box, or the polygon's extent. A bitmap or crowd object with no pixel in
// the image is skipped. Object tags other than iscrowd and image tags are not
// written (COCO has no place for them). A dataset without items is written
// as annotations/instances_default.json with no images (and its
// categories), which reads back as a dataset without items. The JSON has a
// fixed key order, one image, annotation or category per line, no
// timestamps.
//
// Round trip: importing an export gives the same canonical annotations for
// polygon (without holes), rectangle and bitmap objects, crowd bitmaps
// included; a crowd polygon or rectangle, or a polygon with holes, comes back
// as a bitmap of the same pixels, and polygons mode turns bitmaps of one
// part without holes into polygon objects of the same pixels (bitmaps of
// several parts stay bitmaps).
package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"dsbuild/dataset"
)

// Format is the format name, in recipes and errors.
const Format = "coco"

// Default option values.
const (
	DefaultAnnotations = "annotations/instances_*.json"
	DefaultImages      = "{subset}"
	// CrowdTag is the object tag that marks an iscrowd = 1 region.
	CrowdTag = "iscrowd"
)

// maxPixels bounds images and RLE masks; the fuzz test lowers it.
var maxPixels = dataset.MaxPixels

// maxCoord bounds polygon and box coordinates, as dataset.Rasterize does.
const maxCoord = 1 << 31

// idKey returns a map key for a COCO id, which is a JSON number (an integer,
// possibly written as 12.0) or, in some third-party files, a string.
func idKey(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("missing")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return "s" + s, nil
	}
	n, err := intValue(raw)
	if err != nil {
		return "", err
	}
	return "n" + strconv.FormatInt(n, 10), nil
}

// showKey prints an id key as it was written.
func showKey(k string) string {
	if k == "" {
		return "?"
	}
	if k[0] == 's' {
		return strconv.Quote(k[1:])
	}
	return k[1:]
}

// intValue parses a JSON number that must be an integer (12 or 12.0) of at
// most 2^53 in magnitude.
func intValue(raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || len(s) == 0 || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return 0, fmt.Errorf("%.40q is not a number", s)
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%s is not an integer", s)
	}
	return int64(f), nil
}

// optInt parses an optional integer field: absent or null is 0.
func optInt(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	return intValue(raw)
}
