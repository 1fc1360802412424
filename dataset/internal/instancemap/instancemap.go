// Package instancemap reads instance maps, the 16-bit grayscale PNGs in
// which Cityscapes (instanceIds) and Mapillary Vistas (instances) give every
// pixel a value that encodes its class and instance, and turns them into
// bitmap objects. The importers of both formats use it; what a value means
// is theirs to say, through a lookup table from pixel value to object key.
//
// # Guarantees
//
//   - Bounded memory. [Format.Decode] and [Format.Load] check the PNG header before any
//     pixel is decoded: a map of more than [dataset.MaxPixels] pixels is an
//     error wrapping [dataset.ErrTooLarge], and one that is not 16-bit
//     grayscale (or 8-bit, where [Format.Gray8] allows it) is an error,
//     without a pixel buffer being allocated. The
//     masks [Regions] makes from one map have at most [MaxMaskPixels]
//     pixels in all, else it fails with [dataset.ErrTooLarge] before
//     allocating them.
//   - Exact cover. Every pixel whose key is non-negative is set in exactly
//     one region's mask, the region of its key, and no other pixel is set;
//     pixels with the key [Drop] (or any other negative key but [Bad]) are
//     in no region.
//   - Tight crops. Each region's mask is cropped to the bounding box of its
//     pixels and placed at Origin: its first and last row and column each
//     have a set pixel.
//   - Determinism. Regions, and the objects made of them, are sorted by
//     key; the result depends only on the pixels and the table. A pixel
//     with the key [Bad] is reported as a [BadValue] naming the first such
//     pixel in row-major order.
package instancemap

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"sort"

	"dsbuild/dataset"
)

// Keys of the lookup table that are no object key (those are ≥ 0).
const (
	Drop = -1 // the pixel is in no region
	Bad  = -2 // the pixel's value is invalid: Regions fails with a BadValue
)

// MaxMaskPixels bounds the pixels of the masks made from one map.
const MaxMaskPixels = 4 * dataset.MaxPixels

// KeepDrop parses the value v of the option key ("stuff", "void") of the
// importer of format: "keep" is true, "drop" false, anything else an error.
func KeepDrop(format, key, v string) (bool, error) {
	switch v {
	case "keep":
		return true, nil
	case "drop":
		return false, nil
	}
	return false, fmt.Errorf("format %s: option %s is %q; it must be \"keep\" or \"drop\"", format, key, v)
}

// Format is what an importer says of its instance maps.
type Format struct {
	// What names the maps in errors: "instance map".
	What string
	// ImageConfig decodes the header of the image a map annotates.
	ImageConfig func(io.Reader) (image.Config, error)
	// Gray8 accepts maps stored as 8-bit grayscale PNGs too, read with
	// the same values (0-255), as third-party tools write maps whose
	// values all fit in a byte.
	Gray8 bool
}

// Item is one item of an instance-map format: an image and the instance
// map that annotates it.
type Item struct {
	Name  string // the item's name
	Image string // path of the image, "" if there is none
	Map   string // path of the instance map, "" if the item is unlabelled
	// Deps are the other files that the map's objects depend on (the
	// config that gives the labels), for the item memo.
	Deps []string
}

// Read makes item, ann being its annotation as the format gives it
// without the map (its image tags). It reads nothing: the result is broken
// (its Err an *dataset.ItemError) when the name is no valid item name (the
// error is about the image, or the map if there is no image) or when
// broken (if not nil) returns an error, about the file it returns; it has
// the annotation ann when the item is unlabelled; else it is loaded lazily:
// its Load calls [Format.Annotate] (whose error is an *dataset.ItemError
// naming the file at fault), so that the import step reads the map on its
// worker pool, and its Deps are the map and item.Deps, so that an item
// whose image, map and Deps are unchanged is memoized.
func (f Format) Read(fsys fs.FS, item Item, broken func() (file string, err error), ann *dataset.Annotation, objects func(*image.Gray16) ([]dataset.Object, error)) *dataset.SourceItem {
	it := &dataset.SourceItem{Name: item.Name, Image: item.Image, File: item.Map}
	fail := func(file string, err error) *dataset.SourceItem {
		it.Err = &dataset.ItemError{Item: item.Name, File: file, Err: err}
		return it
	}
	if err := dataset.ValidItemName(item.Name); err != nil {
		if item.Image == "" {
			return fail(item.Map, err)
		}
		return fail(item.Image, err)
	}
	if broken != nil {
		if file, err := broken(); err != nil {
			return fail(file, err)
		}
	}
	if item.Map == "" {
		it.Ann = ann
		return it
	}
	it.Deps = append([]string{item.Map}, item.Deps...)
	it.Load = func() (*dataset.Annotation, error) {
		a := *ann // Load may run again; ann stays as given
		if file, err := f.Annotate(fsys, &a, item.Map, item.Image, objects); err != nil {
			return nil, &dataset.ItemError{Item: item.Name, File: file, Err: err}
		}
		return &a, nil
	}
	return it
}

// Annotate reads the instance map mapFile and the image imageFile it
// annotates from fsys (see [Format.Load]), turns the map into objects and
// sets them and the map's size in ann. On error ann is left as it is, and
// Annotate returns the error and the file it is about.
func (f Format) Annotate(fsys fs.FS, ann *dataset.Annotation, mapFile, imageFile string, objects func(*image.Gray16) ([]dataset.Object, error)) (string, error) {
	g, file, err := f.Load(fsys, mapFile, imageFile)
	if err != nil {
		return file, err
	}
	objs, err := objects(g)
	if err != nil {
		return mapFile, err
	}
	ann.Width, ann.Height, ann.Objects = g.Rect.Dx(), g.Rect.Dy(), objs
	return "", nil
}

// Load reads the instance map mapFile and the image imageFile it annotates
// from fsys, decodes the map (see [Format.Decode]), decodes the image's
// header with f.ImageConfig and checks that both have the same size. On
// error it also returns the file the error is about.
func (f Format) Load(fsys fs.FS, mapFile, imageFile string) (*image.Gray16, string, error) {
	raw, err := fs.ReadFile(fsys, mapFile)
	if err != nil {
		return nil, mapFile, err
	}
	g, err := f.Decode(raw)
	if err != nil {
		return nil, mapFile, err
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	img, err := fs.ReadFile(fsys, imageFile)
	if err != nil {
		return nil, imageFile, err
	}
	ic, err := f.ImageConfig(bytes.NewReader(img))
	if err != nil {
		return nil, imageFile, fmt.Errorf("image: %w", err)
	}
	if ic.Width != w || ic.Height != h {
		return nil, mapFile, fmt.Errorf("%s is %dx%d but the image %s is %dx%d", f.What, w, h, imageFile, ic.Width, ic.Height)
	}
	return g, "", nil
}

// Decode decodes an instance map: a 16-bit grayscale PNG (or, with
// f.Gray8, an 8-bit one, whose values are kept) of at most
// dataset.MaxPixels pixels, the header checked before any pixel is
// decoded. Grayscale PNGs of 1, 2 or 4 bits are refused: image/png scales
// their values.
func (f Format) Decode(data []byte) (*image.Gray16, error) {
	what := f.What
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Height > dataset.MaxPixels/cfg.Width {
		return nil, fmt.Errorf("%s of %dx%d pixels: %w (%d)", what, cfg.Width, cfg.Height, dataset.ErrTooLarge, dataset.MaxPixels)
	}
	// IHDR is the first chunk (DecodeConfig checked it): bit depth at
	// byte 24.
	gray8 := f.Gray8 && cfg.ColorModel == color.GrayModel && data[24] == 8
	if cfg.ColorModel != color.Gray16Model && !gray8 {
		if f.Gray8 {
			return nil, fmt.Errorf("%s is not a 16-bit or 8-bit grayscale PNG", what)
		}
		return nil, fmt.Errorf("%s is not a 16-bit grayscale PNG", what)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if g8, ok := img.(*image.Gray); ok && gray8 {
		w, h := g8.Rect.Dx(), g8.Rect.Dy()
		g := image.NewGray16(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := g8.Pix[y*g8.Stride : y*g8.Stride+w]
			for x, v := range row {
				g.Pix[y*g.Stride+2*x+1] = v
			}
		}
		return g, nil
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		return nil, fmt.Errorf("%s decodes to %T, not 16-bit grayscale", what, img)
	}
	return g, nil
}

// BadValue is the error of a pixel whose value the lookup table rejects
// (maps to [Bad]).
type BadValue struct {
	X, Y int
	V    uint16
}

func (b BadValue) Error() string { return fmt.Sprintf("pixel (%d, %d) has value %d", b.X, b.Y, b.V) }

// Region is the pixels of one object key: a mask cropped to their box,
// placed at Origin.
type Region struct {
	Key    int32
	Origin image.Point
	Mask   *dataset.Mask
}

// Objects groups the pixels of g by lut (see [Regions]) and makes one
// bitmap object of each region, in key order; describe gives the class and
// tags of a key. Errors are those of Regions.
func Objects(g *image.Gray16, lut []int32, describe func(key int32) (class string, tags []dataset.Tag)) ([]dataset.Object, error) {
	regs, err := Regions(g, lut)
	if err != nil {
		return nil, err
	}
	objs := make([]dataset.Object, 0, len(regs))
	for _, r := range regs {
		class, tags := describe(r.Key)
		objs = append(objs, dataset.Object{Class: class, Shape: dataset.ShapeBitmap, Mask: r.Mask, Origin: r.Origin, Tags: tags})
	}
	return objs, nil
}

// Regions groups the pixels of g by their key lut[v], lut having an entry
// for each of the 65536 pixel values: pixels of a negative key are dropped,
// except that the key [Bad] is an error (a [BadValue]). The result is sorted
// by key.
func Regions(g *image.Gray16, lut []int32) ([]Region, error) {
	return regions(g, lut, MaxMaskPixels)
}

// regions is Regions with the bound on the mask pixels as a parameter.
func regions(g *image.Gray16, lut []int32, maxMask int) ([]Region, error) {
	if len(lut) < 1<<16 {
		return nil, errShortLUT
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	type acc struct{ x0, y0, x1, y1 int }
	slots := map[int32]int{}
	var accs []acc
	var keys []int32
	at := func(x, y int) uint16 {
		i := y*g.Stride + 2*x
		return uint16(g.Pix[i])<<8 | uint16(g.Pix[i+1])
	}
	// Pass 1: the box of every key. Runs of one value are long, so the
	// last lookup is remembered.
	lastV, lastSlot := -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := at(x, y)
			if int(v) != lastV {
				lastV = int(v)
				k := lut[v]
				switch {
				case k == Bad:
					return nil, BadValue{x, y, v}
				case k < 0:
					lastSlot = -1
				default:
					s, ok := slots[k]
					if !ok {
						s = len(accs)
						slots[k] = s
						accs = append(accs, acc{x, y, x + 1, y + 1})
						keys = append(keys, k)
					}
					lastSlot = s
				}
			}
			if lastSlot >= 0 {
				a := &accs[lastSlot]
				a.x0, a.y0 = min(a.x0, x), min(a.y0, y)
				a.x1, a.y1 = max(a.x1, x+1), max(a.y1, y+1)
			}
		}
	}
	// Pass 2: fill the cropped masks. Their boxes may overlap; a map whose
	// regions are scattered over the image could ask for a full-image mask
	// each, so their total is bounded.
	total := 0
	for _, a := range accs {
		total += (a.x1 - a.x0) * (a.y1 - a.y0)
		if total > maxMask {
			return nil, fmt.Errorf("the boxes of its %d regions cover more than %d pixels: %w", len(accs), maxMask, dataset.ErrTooLarge)
		}
	}
	masks := make([]*dataset.Mask, len(accs))
	for i, a := range accs {
		m, err := dataset.NewMask(a.x1-a.x0, a.y1-a.y0)
		if err != nil {
			return nil, err
		}
		masks[i] = m
	}
	lastV, lastSlot = -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := at(x, y)
			if int(v) != lastV {
				lastV = int(v)
				lastSlot = -1
				if k := lut[v]; k >= 0 {
					lastSlot = slots[k]
				}
			}
			if lastSlot >= 0 {
				a, m := accs[lastSlot], masks[lastSlot]
				m.Bits[(y-a.y0)*m.W+x-a.x0] = 1
			}
		}
	}
	out := make([]Region, len(accs))
	for i, a := range accs {
		out[i] = Region{Key: keys[i], Origin: image.Pt(a.x0, a.y0), Mask: masks[i]}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// errShortLUT is the error of a lookup table without an entry for every
// pixel value.
var errShortLUT = errors.New("instancemap: the lookup table has fewer than 65536 entries")
