package transform

import (
	"fmt"
	"image"
	"math/rand/v2"
	"path"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// pixelWork counts the image decodes and encodes of one input item and the
// items made of it (apply's; one goroutine), for tests.
type pixelWork struct{ decodes, encodes int }

// Item is one image and its annotation travelling through a transform's
// ops. Its pixels are decoded on first use and encoded once at the end,
// whatever the number of pixel ops in between.
type Item struct {
	Name string // "<dataset>/<file>"
	Ann  *dataset.Annotation
	// Rand draws this item's random choices; it is seeded from the item's
	// key, so results depend neither on order nor on the worker count.
	Rand *rand.Rand

	store      dataset.Store
	image      cache.Digest // the source image, while the pixels are unchanged
	imageSize  int64
	pixels     *image.RGBA // decoded, or nil
	changed    bool        // pixels differ from the source image
	derivedSeq int         // numbering of items derived from this one
	work       *pixelWork  // shared with the items derived from this one; may be nil
}

// Pixels returns the image, decoding it on first use. The caller may modify
// it only after calling SetPixels or Touch.
func (it *Item) Pixels() (*image.RGBA, error) {
	if it.pixels != nil {
		return it.pixels, nil
	}
	raw, err := it.store.ReadBlob(it.image)
	if err != nil {
		return nil, err
	}
	if it.work != nil {
		it.work.decodes++
	}
	rgba, err := dataset.DecodeImage(raw)
	if err != nil {
		return nil, err
	}
	it.pixels = rgba
	return rgba, nil
}

// SetPixels replaces the image (its size becomes the annotation's).
func (it *Item) SetPixels(img *image.RGBA) {
	it.pixels, it.changed = img, true
	it.Ann.Width, it.Ann.Height = img.Rect.Dx(), img.Rect.Dy()
}

// Touch marks the decoded pixels as modified in place.
func (it *Item) Touch() { it.changed = true }

// EditPixels decodes the image, like Pixels, for the caller to modify in
// place, and marks it modified (Touch).
func (it *Item) EditPixels() (*image.RGBA, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	it.Touch()
	return img, nil
}

// Clone returns a copy sharing nothing mutable, named name, for ops that
// make several items of one (crops of instances, sliding windows).
func (it *Item) Clone(name string) *Item {
	c := *it
	c.Name = name
	ann := *it.Ann
	ann.Tags = append([]dataset.Tag(nil), it.Ann.Tags...)
	ann.Objects = append([]dataset.Object(nil), it.Ann.Objects...)
	c.Ann = &ann
	if it.pixels != nil {
		p := *it.pixels
		p.Pix = append([]uint8(nil), it.pixels.Pix...)
		c.pixels = &p
	}
	return &c
}

// Derived names the k-th item made from this one: "<ds>/<stem>__<k><ext>".
func (it *Item) Derived() string {
	it.derivedSeq++
	ext := path.Ext(it.Name)
	return fmt.Sprintf("%s__%d%s", strings.TrimSuffix(it.Name, ext), it.derivedSeq, ext)
}

// finish stores the pixels if they changed (as PNG, renaming the item's
// extension to .png) and the annotation, and returns the manifest entry.
func (it *Item) finish(s dataset.Store) (dataset.Entry, error) {
	name, img, size := it.Name, it.image, it.imageSize
	if it.changed {
		if it.work != nil {
			it.work.encodes++
		}
		raw, err := encodePNG(it.pixels)
		if err != nil {
			return dataset.Entry{}, err
		}
		d, err := s.PutBytes(raw)
		if err != nil {
			return dataset.Entry{}, err
		}
		img, size = d, int64(len(raw))
		if ext := path.Ext(name); !strings.EqualFold(ext, ".png") {
			name = strings.TrimSuffix(name, ext) + ".png"
		}
	}
	raw, err := dataset.EncodeAnnotation(it.Ann)
	if err != nil {
		return dataset.Entry{}, err
	}
	ann, err := s.PutBytes(raw)
	if err != nil {
		return dataset.Entry{}, err
	}
	return dataset.Entry{Name: name, Image: img, ImageSize: size, Ann: ann, AnnSize: int64(len(raw)), Width: it.Ann.Width, Height: it.Ann.Height}, nil
}
