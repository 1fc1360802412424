// Package voc reads and writes Pascal VOC 2012 segmentation directories
// (format name "pascal_voc"; formats.md §2):
//
//	Annotations/<id>.xml                 size and objects (name, bndbox 1-based inclusive)
//	JPEGImages/<id>.jpg                  the image
//	SegmentationClass/<id>.png           8-bit palette PNG, pixel = class index
//	SegmentationObject/<id>.png          8-bit palette PNG, pixel = instance k (k-th <object>)
//	ImageSets/Segmentation/<subset>.txt  one id per line (train, val, trainval, ...)
//	labelmap.txt                         the class list, as CVAT and Datumaro write it (optional)
//
// In both PNGs 0 is background and 255 is void (not evaluated); the palette
// is the VOC colormap ([Colormap]).
//
// # Import
//
// The source is the VOC2012 directory (a directory holding
// VOCdevkit/VOC2012 is accepted too). Its items are the ids listed in
// ImageSets/Segmentation/*.txt, or, in a tree without that directory (a
// detection or test download), in ImageSets/Main/*.txt, leaving out the
// per-class lists <class>_<subset>.txt there. Every list but hidden files
// counts; a line's first field is the id, blank lines are ignored. Items
// are sorted by item name; each list an id appears in becomes an image tag
// named after the list (train, val, trainval, test, ...), with a TagMeta in
// the returned meta. Ids in Annotations or JPEGImages but in no list are
// not items. An item is named "<dataset>/<image file>": the image is
// JPEGImages/<id>.jpg, or the one file JPEGImages/<id>.<ext> when there is
// no .jpg (as [NewExporter] writes non-JPEG images). Only JPEGImages and
// the list directory must exist.
//
// The XML and the two PNGs of an id are each optional, as in real trees (the
// test split ships without labels; CVAT's segmentation export has no XML):
//
//   - no PNG: an item without objects (the XML's <size> if it gives one,
//     else the image's), with a warning when its XML lists objects, whose
//     boxes are not imported;
//   - SegmentationObject (with or without SegmentationClass): one bitmap
//     object per instance value k present in the PNG, classed below;
//   - SegmentationClass alone: one bitmap object per class index present
//     (semantic segmentation has no instances).
//
// The class of instance k comes from the k-th <object> of the XML
// (document order) and from SegmentationClass: the majority class index
// under the instance's pixels, 255 ignored. When they agree, or only one of
// them names a class (no XML; no SegmentationClass PNG; only void under the
// instance), that is the class. When they disagree (other classes; an
// <object> missing or without a name, or a name that is not a class, while
// the mask names one; background under the instance), option class_source
// decides: "mask" (the default) keeps the mask's class, or the XML's when
// the mask names none, and "xml" the XML's, each with a warning naming the
// item, the instance and both classes; "error" makes it an item error.
// Neither naming a class is an item error. XML objects with no pixels give
// no object, and boxes, pose, truncated, difficult and parts are not
// imported. Void pixels (255 in SegmentationObject, or 255 in
// SegmentationClass where SegmentationObject is 0) become one bitmap
// object of class "neutral", the ignore class of Supervisely's Person
// dataset, or are dropped (option void). The annotation's size is the
// PNGs' size; it must agree with the XML <size> when that is given. The
// meta lists every class of the class list (as VOC spells them, coloured
// by the colormap), "neutral" and the subset tags.
//
// The class list (which class each index 1, 2, ... is) comes from
// labelmap.txt at the root when the tree has one (CVAT's and Datumaro's VOC
// exports, and [NewExporter], write it): lines name:r,g,b:parts:actions
// after a "#" header, the first label background (0), each label's index
// its position, the label "ignored" the void index 255; its colours map
// SegmentationClass PNGs stored as RGB (as Datumaro writes them) back to
// indices. Without labelmap.txt the classes are VOC's 20. A palette or
// 8-bit gray PNG is read by index, whatever its colours.
//
// Item errors (the item is emitted with a [dataset.ItemError] naming the
// file): an id that is not a plain file name (../, /), a missing image, a
// malformed XML, an undecodable or oversized PNG, PNGs or XML of different
// sizes, and the class problems above. Source errors (returned): a missing
// directory, an unreadable list, no lists, a malformed labelmap.txt.
//
// Import options:
//
//	dataset       the <dataset> part of item names; default "VOC2012"
//	void          "neutral" (default): void pixels become a "neutral" object;
//	              "drop": they are left out
//	classes       the class of each index 1, 2, ...: "auto" (default:
//	              labelmap.txt if the tree has one, else "voc"), "voc" (the
//	              20 VOC classes of formats.md §2.3), "labelmap" (the tree's
//	              labelmap.txt, which must exist) or a comma-separated list
//	class_source  "mask" (default) | "xml" | "error": who decides when the
//	              XML and SegmentationClass disagree (see above)
//
// # Export
//
// [NewExporter] writes the same layout. For every item: the image as it is
// (same bytes) under JPEGImages/<file>, so a PNG stays <id>.png; the id is
// the file name without its extension, and two items with the same id are
// an error. Annotations/<id>.xml has folder, filename, size (depth 1 for a
// grayscale image, else 3), segmented 1 and, per instance, name, pose
// Unspecified, truncated 0, difficult 0 and bndbox (the object's own pixel
// box, 1-based inclusive). Objects are rasterized in their order in the
// annotation, the drawing order the importer took from the source
// (polygons with [dataset.Rasterize]): a later object paints over an
// earlier one, as the Supervisely SDK and CVAT draw them; instance k is the k-th non-neutral object that has pixels,
// at most 254 of them. An object painted over entirely keeps its <object>,
// as VOC's own objects without pixels do. Objects of class "neutral" are
// painted 255 in both PNGs and get no <object>. Both PNGs are 8-bit palette
// images with the 256-entry colormap. labelmap.txt lists the class list the
// way Datumaro writes it ("# label:color_rgb:parts:actions", then
// background, each class with the colormap colour of its index, and
// "ignored" for 255), so that the export reads back, here and in CVAT and
// Datumaro, without the class list being given again. Image tags naming a
// subset are written to ImageSets/Segmentation/<subset>.txt (ids sorted,
// LF); other tags are lost. A dataset without items is written as an empty
// list of the default subset (and labelmap.txt), which the importer reads
// back as a dataset without items: a tree without JPEGImages is refused
// unless its lists name no id. Everything is deterministic.
//
// Export options:
//
//	classes         the class of each index 1, 2, ...: "auto" (default:
//	                the 20 VOC classes when every class of the dataset
//	                but "neutral" is one of them, else "meta"), "voc",
//	                "meta" (the dataset's classes sorted by title, "neutral"
//	                left out) or a comma-separated list of names; an object
//	                of a class that has no index is an error naming it
//	subsets         the image tags that name subsets, comma-separated;
//	                default "train,val,trainval,test"
//	default_subset  the list for items with none of those tags, default
//	                "default"; "" leaves them in no list (an importer then
//	                skips them)
//
// Importing an export gives the same canonical annotations back, except
// that polygons and rectangles come back as bitmaps, objects painted over
// lose their hidden pixels, and non-subset tags are lost.
package voc

import (
	"fmt"
	"image/color"
	"strings"

	"dsbuild/cache"
)

// Format is the format name of this package's importer and exporter.
const Format = "pascal_voc"

// Neutral is the class of void (255) pixels.
const Neutral = "neutral"

// Void is the index of void pixels in both segmentation PNGs.
const Void = 255

// Classes are the 20 VOC classes; Classes[i] has index i+1 (formats.md
// §2.3). Index 0 is background, which is not a class.
var Classes = []string{
	"aeroplane", "bicycle", "bird", "boat", "bottle",
	"bus", "car", "cat", "chair", "cow",
	"diningtable", "dog", "horse", "motorbike", "person",
	"pottedplant", "sheep", "sofa", "train", "tvmonitor",
}

// Colormap returns the 256-entry VOC palette (formats.md §2.4): for index
// i, bits 0, 1 and 2 go to the most significant bit of red, green and blue,
// the next three bits to the next bit, and so on. All entries are opaque.
func Colormap() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = colormapRGBA(i)
	}
	return p
}

func colormapRGBA(i int) color.RGBA {
	var r, g, b uint8
	c := i
	for j := 0; j < 8; j++ {
		r |= uint8(c&1) << (7 - j)
		g |= uint8(c>>1&1) << (7 - j)
		b |= uint8(c>>2&1) << (7 - j)
		c >>= 3
	}
	return color.RGBA{r, g, b, 255}
}

// hexColor is the "#RRGGBB" of index i.
func hexColor(i int) string {
	c := colormapRGBA(i)
	return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
}

// inverseColormap maps the colour of each index back to it.
var inverseColormap = func() map[[3]uint8]uint8 {
	m := make(map[[3]uint8]uint8, 256)
	for i := 0; i < 256; i++ {
		c := colormapRGBA(i)
		m[[3]uint8{c.R, c.G, c.B}] = uint8(i)
	}
	return m
}()

// parseClasses reads a classes option: "voc", a comma-separated list, or
// (when meta is allowed) "meta", returned as nil for the caller to fill.
func parseClasses(v string, allowMeta bool) ([]string, error) {
	switch strings.TrimSpace(v) {
	case "voc":
		return append([]string(nil), Classes...), nil
	case "meta":
		if allowMeta {
			return nil, nil
		}
	}
	var out []string
	for _, n := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(n))
	}
	if err := checkClassList(out); err != nil {
		return nil, fmt.Errorf("option classes: %w", err)
	}
	return out, nil
}

// checkClassList checks a list of classes for indices 1, 2, ...
func checkClassList(names []string) error {
	if len(names) > Void-1 {
		return fmt.Errorf("%d classes; VOC PNGs hold at most %d (indices 1-%d)", len(names), Void-1, Void-1)
	}
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "":
			return fmt.Errorf("empty class name in %q", strings.Join(names, ","))
		case n == Neutral || n == "background" || n == labelmapIgnored:
			return fmt.Errorf("class %q cannot have an index (background is 0; %s, %s in %s, is %d)", n, Neutral, labelmapIgnored, LabelmapFile, Void)
		case strings.ContainsAny(n, ":\r\n") || n[0] == '#':
			return fmt.Errorf("class %q cannot be written to %s (a ':', a line break, or a leading '#')", n, LabelmapFile)
		case seen[n]:
			return fmt.Errorf("class %q is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// checkID reports whether id can name files in the VOC directories and an
// item: a plain file name, not hidden, so that no path escapes the source.
func checkID(id string) error {
	if err := cache.ValidName(id); err != nil {
		return err
	}
	if strings.HasPrefix(id, ".") || strings.Contains(id, `\`) {
		return fmt.Errorf("id %q is not a plain file name", id)
	}
	return nil
}
