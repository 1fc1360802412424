// Package masks reads and writes a dataset as one semantic label mask per
// image (format "masks"), the form most segmentation trainers read:
//
//	classes.json              the class of each pixel value (and colour)
//	<dataset>/<stem>.png      one mask per item
//	<dataset>/images/<file>   the item's image, as stored (option images)
//
// # Export
//
// A mask has the image's size and is named after the image file with its
// extension replaced by .png (item "ds1/a.jpg" gives ds1/a.png), so that it
// pairs with the image by name; two images of one dataset with the same
// stem (a.jpg, a.png) are an error. The image itself is written, byte for
// byte as stored, to <dataset>/images/<file> (a directory, never a mask's
// name, since masks end in .png), so that the export reads back; option
// images = "false" leaves the images out.
//
// Objects are rasterized in their order in the annotation, the drawing
// order the importer took from the source (polygons with
// [dataset.Rasterize]): a later object paints over an earlier one, as the
// Supervisely SDK and CVAT draw them; instances are not kept, only classes.
// An object of a class the meta does not define is an error naming the item
// and the class.
//
// Option mode:
//
//	index  (default) 8-bit grayscale PNG; 0 is background, the classes of
//	       the meta sorted by title are 1, 2, ... (at most 254 of them), and
//	       a class named "neutral" (the ignore class of Supervisely's Person
//	       dataset) is 255, the value losses commonly ignore
//	color  8-bit RGB PNG; background is black and every class, neutral
//	       included, has its meta colour; classes sharing a colour (or
//	       using black) are an error, since the mask could not be read back
//
// classes.json lists every class of the meta, used or not, as
// {"index": i, "name": ..., "color": "#RRGGBB"} in index order, after
// {"index": 0, "name": "background", "color": "#000000"}, with "mode" saying
// which of index and color the pixels hold. All output is deterministic.
//
// # Import
//
// [NewImporter] reads that layout back. classes.json gives the classes
// (every entry but index 0, background, with its colour; shape bitmap) and
// the mode; a missing or malformed classes.json, a mode other than index
// and color, two entries with one index, name or (in color mode) colour,
// are errors naming the file. Every top-level directory but hidden ones is
// a dataset; each <stem>.png directly in it is a mask, paired with the one
// file <dataset>/images/<stem>.<ext>, and is the item
// "<dataset>/<stem>.<ext>". The mask gives one bitmap object per class
// present (instances were not kept), in the order of classes.json; 0 is
// background. Items are emitted sorted by name; the item has the mask's
// size, and the import step checks that the image has it too.
//
// Item errors: a mask without its image (an export with images = "false":
// the error says so), several images with the mask's stem, an image in
// images/ without a mask, a mask that is not a PNG, is larger than
// [dataset.MaxPixels], or holds a value (index mode: an 8-bit gray or
// palette PNG) or colour (color mode: an RGB PNG) that classes.json does
// not list. Masks hold no tags: subset and object tags are not read back.
//
// Round trip: importing an export gives the same items, images and class
// list, and one object per class present whose pixels are exactly the
// mask's, so that exporting it again writes the same masks.
package masks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"path"
	"strconv"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// Format is the export format name.
const Format = "masks"

// Neutral is the class written as 255 in index mode.
const Neutral = "neutral"

// ClassesFile is the class listing written next to the masks.
const ClassesFile = "classes.json"

// ImagesDir is the directory of each dataset that holds its images.
const ImagesDir = "images"

// Modes.
const (
	ModeIndex = "index"
	ModeColor = "color"
)

type exporter struct {
	mode   string
	images bool
}

// NewExporter returns the masks writer; the package documentation lists
// its option.
func NewExporter(opt dataset.Options) (dataset.Exporter, error) {
	ex := &exporter{mode: opt.Take("mode", ModeIndex)}
	if ex.mode != ModeIndex && ex.mode != ModeColor {
		return nil, fmt.Errorf("format %s: option mode is %q; it must be %q or %q", Format, ex.mode, ModeIndex, ModeColor)
	}
	switch v := opt.Take("images", "true"); v {
	case "true":
		ex.images = true
	case "false":
	default:
		return nil, fmt.Errorf("format %s: option images is %q; it must be \"true\" or \"false\"", Format, v)
	}
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	return ex, nil
}

// label is one pixel value: its index and colour.
type label struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Color string `json:"color"`
	rgb   color.RGBA
}

// labels assigns every class of the meta its pixel value, in the order of
// classes.json.
func (ex *exporter) labels(meta *dataset.Meta) ([]label, error) {
	m := *meta
	m.Classes = append([]dataset.Class(nil), meta.Classes...)
	m.Sort()
	out := []label{{Index: 0, Name: "background", Color: "#000000", rgb: color.RGBA{0, 0, 0, 255}}}
	var neutral *label
	for _, c := range m.Classes {
		rgb, err := parseColor(c.Color)
		if err != nil && ex.mode == ModeColor {
			return nil, fmt.Errorf("class %q: %w", c.Title, err)
		}
		l := label{Name: c.Title, Color: strings.ToUpper(c.Color), rgb: rgb}
		if c.Title == Neutral {
			l.Index = 255
			neutral = &l
			continue
		}
		l.Index = len(out)
		out = append(out, l)
	}
	if ex.mode == ModeIndex && len(out) > 255 {
		return nil, fmt.Errorf("%d classes; an 8-bit index mask holds at most 254 (use mode = %q)", len(out)-1, ModeColor)
	}
	if len(out) > 1<<16-2 {
		return nil, fmt.Errorf("%d classes is too many", len(out)-1)
	}
	if neutral != nil {
		out = append(out, *neutral)
	}
	if ex.mode == ModeColor {
		seen := map[color.RGBA]string{}
		for _, l := range out {
			if prev, ok := seen[l.rgb]; ok {
				return nil, fmt.Errorf("classes %q and %q both have colour %s; a colour mask could not tell them apart", prev, l.Name, l.Color)
			}
			seen[l.rgb] = l.Name
		}
	}
	return out, nil
}

func parseColor(s string) (color.RGBA, error) {
	if len(s) != 7 || s[0] != '#' {
		return color.RGBA{}, fmt.Errorf("colour %q is not #RRGGBB", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.RGBA{}, fmt.Errorf("colour %q is not #RRGGBB", s)
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}, nil
}

// classIndex is the position in labels of each class: 1, 2, … (0 is the
// background).
func classIndex(labels []label) map[string]int {
	byClass := map[string]int{}
	for i, l := range labels[1:] {
		byClass[l.Name] = i + 1
	}
	return byClass
}

// ExportItem implements dataset.Exporter: the item's mask, painted,
// encoded as a PNG and stored; its record names the PNG.
func (ex *exporter) ExportItem(ctx context.Context, ds *dataset.Dataset, s dataset.Store, e dataset.Entry) (dataset.ExportedItem, error) {
	labels, err := ex.labels(ds.Meta)
	if err != nil {
		return dataset.ExportedItem{}, fmt.Errorf("format %s: %w", Format, err)
	}
	data, err := ex.mask(ds, s, e, labels, classIndex(labels))
	if err != nil {
		return dataset.ExportedItem{}, fmt.Errorf("format %s: %w", Format, err)
	}
	d, err := s.PutBytes(data)
	if err != nil {
		return dataset.ExportedItem{}, fmt.Errorf("format %s: %s: storing its mask: %w", Format, e.Name, err)
	}
	rec, err := json.Marshal(itemRecord{Mask: d, Size: int64(len(data))})
	return dataset.ExportedItem{Record: rec, Blobs: []cache.Digest{d}}, err
}

// itemRecord is an item's share of the export: its mask PNG, stored.
type itemRecord struct {
	Mask cache.Digest `json:"mask"`
	Size int64        `json:"size"`
}

// Finish implements dataset.Exporter: each item's mask (and with
// images its image) and the class listing.
func (ex *exporter) Finish(ctx context.Context, ds *dataset.Dataset, s dataset.Store, items []dataset.ExportedItem, w dataset.ExportWriter) error {
	if err := ds.CheckNames(); err != nil {
		return fmt.Errorf("format %s: %w", Format, err)
	}
	labels, err := ex.labels(ds.Meta)
	if err != nil {
		return fmt.Errorf("format %s: %w", Format, err)
	}
	// Check the mask names before writing anything.
	owner := map[string]string{}
	for _, e := range ds.Entries {
		if d, _ := dataset.Split(e.Name); d == ClassesFile {
			return fmt.Errorf("format %s: item %s: dataset name %q is reserved for the class listing", Format, e.Name, d)
		}
		name := maskName(e.Name)
		if prev, ok := owner[name]; ok {
			return fmt.Errorf("format %s: items %s and %s would both write %s", Format, prev, e.Name, name)
		}
		owner[name] = e.Name
	}
	for i, e := range ds.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rec itemRecord
		if err := json.Unmarshal(items[i].Record, &rec); err != nil {
			return fmt.Errorf("format %s: %s: its item record: %w", Format, e.Name, err)
		}
		if err := w.WriteBlob(maskName(e.Name), rec.Mask, rec.Size); err != nil {
			return fmt.Errorf("format %s: %s: its mask: %w", Format, e.Name, err)
		}
		if ex.images {
			d, file := dataset.Split(e.Name)
			if err := w.WriteBlob(d+"/"+ImagesDir+"/"+file, e.Image, e.ImageSize); err != nil {
				return fmt.Errorf("format %s: %s: image: %w", Format, e.Name, err)
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Mode    string  `json:"mode"`
		Classes []label `json:"classes"`
	}{ex.mode, labels}); err != nil {
		return err
	}
	return dataset.WriteExportFile(w, ClassesFile, b.Bytes())
}

// maskName is the mask's path for an item: <dataset>/<stem>.png.
func maskName(item string) string {
	ds, file := dataset.Split(item)
	return ds + "/" + strings.TrimSuffix(file, path.Ext(file)) + ".png"
}

// mask paints one item's objects and encodes the PNG.
func (ex *exporter) mask(ds *dataset.Dataset, s dataset.Store, e dataset.Entry, labels []label, byClass map[string]int) ([]byte, error) {
	a, err := ds.Annotation(s, e)
	if err != nil {
		return nil, err
	}
	w, h := a.Width, a.Height
	if _, err := dataset.NewMask(w, h); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	// lab[i] is the position in labels of pixel i's label (0: background).
	lab := make([]uint16, w*h)
	// Objects come in drawing order (the canonical encoding keeps the
	// source's order); a later one paints over an earlier one.
	for i := range a.Objects {
		o := &a.Objects[i]
		li, ok := byClass[o.Class]
		if !ok {
			return nil, fmt.Errorf("%s: class %q is not in the dataset's meta", e.Name, o.Class)
		}
		m, err := o.Raster(w, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		for j, b := range m.Bits {
			if b != 0 {
				lab[j] = uint16(li)
			}
		}
	}
	var img image.Image
	r := image.Rect(0, 0, w, h)
	if ex.mode == ModeIndex {
		g := image.NewGray(r)
		for j, l := range lab {
			g.Pix[j] = uint8(labels[l].Index)
		}
		img = g
	} else {
		c := image.NewRGBA(r)
		for j, l := range lab {
			rgb := labels[l].rgb
			c.Pix[4*j], c.Pix[4*j+1], c.Pix[4*j+2], c.Pix[4*j+3] = rgb.R, rgb.G, rgb.B, 255
		}
		img = c // opaque, so image/png writes 8-bit RGB
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	return b.Bytes(), nil
}
