package masks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"path"
	"sort"
	"strings"

	"dsbuild/dataset"
)

// Importer reads the masks layout; the package documentation describes it.
type Importer struct{}

// NewImporter returns the masks reader. It has no options.
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	return &Importer{}, nil
}

// classList is classes.json as read back.
type classList struct {
	mode    string
	labels  []label // without background, in file order
	byIndex map[int]int
	byColor map[color.RGBA]int
}

func readClasses(src fs.FS) (*classList, error) {
	raw, err := fs.ReadFile(src, ClassesFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: not found; a masks directory has the class listing the masks export writes", ClassesFile)
		}
		return nil, fmt.Errorf("%s: %w", ClassesFile, err)
	}
	var doc struct {
		Mode    string  `json:"mode"`
		Classes []label `json:"classes"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", ClassesFile, err)
	}
	if doc.Mode != ModeIndex && doc.Mode != ModeColor {
		return nil, fmt.Errorf("%s: mode is %q; it must be %q or %q", ClassesFile, doc.Mode, ModeIndex, ModeColor)
	}
	cl := &classList{mode: doc.Mode, byIndex: map[int]int{}, byColor: map[color.RGBA]int{}}
	names := map[string]bool{}
	for i, l := range doc.Classes {
		rgb, err := parseColor(l.Color)
		if err != nil && doc.Mode == ModeColor {
			return nil, fmt.Errorf("%s: class %d (%q): %w", ClassesFile, i, l.Name, err)
		}
		l.rgb = rgb
		switch {
		case l.Name == "":
			return nil, fmt.Errorf("%s: class %d has no name", ClassesFile, i)
		case l.Index < 0 || l.Index > 1<<16-1 || doc.Mode == ModeIndex && l.Index > 255:
			return nil, fmt.Errorf("%s: class %q has index %d, out of range for %s mode", ClassesFile, l.Name, l.Index, doc.Mode)
		case names[l.Name]:
			return nil, fmt.Errorf("%s: class %q is listed twice", ClassesFile, l.Name)
		}
		if _, dup := cl.byIndex[l.Index]; dup {
			return nil, fmt.Errorf("%s: index %d is given to two classes", ClassesFile, l.Index)
		}
		if doc.Mode == ModeColor {
			if _, dup := cl.byColor[rgb]; dup {
				return nil, fmt.Errorf("%s: colour %s is given to two classes", ClassesFile, l.Color)
			}
		}
		names[l.Name] = true
		if l.Index == 0 {
			// Background: no class, no object.
			cl.byIndex[0], cl.byColor[rgb] = -1, -1
			continue
		}
		cl.byIndex[l.Index], cl.byColor[rgb] = len(cl.labels), len(cl.labels)
		cl.labels = append(cl.labels, l)
	}
	if _, ok := cl.byIndex[0]; !ok {
		// An export always lists background; without it 0 (or black) is
		// still background.
		cl.byIndex[0], cl.byColor[color.RGBA{0, 0, 0, 255}] = -1, -1
	}
	return cl, nil
}

// Import implements [dataset.Importer].
func (im *Importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	cl, err := readClasses(src)
	if err != nil {
		return nil, err
	}
	meta := &dataset.Meta{}
	for _, l := range cl.labels {
		meta.AddClass(dataset.Class{Title: l.Name, Shape: dataset.ShapeBitmap, Color: l.Color})
	}
	top, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("masks directory: %w", err)
	}
	var items []*dataset.SourceItem
	for _, d := range top {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		its, err := listDataset(src, d.Name())
		if err != nil {
			return nil, err
		}
		items = append(items, its...)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if it.Err == nil {
			mask := it.File
			it.Load = func() (*dataset.Annotation, error) { return readMask(src, mask, cl) }
			it.Deps = []string{mask, ClassesFile}
		}
		if err := emit(it); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// listDataset pairs the masks of dataset directory ds with their images.
func listDataset(src fs.FS, ds string) ([]*dataset.SourceItem, error) {
	entries, err := fs.ReadDir(src, ds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds, err)
	}
	images := map[string][]string{} // stem → image files
	if imgs, err := fs.ReadDir(src, ds+"/"+ImagesDir); err == nil {
		for _, e := range imgs {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			stem := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
			images[stem] = append(images[stem], e.Name())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s/%s: %w", ds, ImagesDir, err)
	}
	var out []*dataset.SourceItem
	masks := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.EqualFold(path.Ext(n), ".png") {
			continue
		}
		stem := strings.TrimSuffix(n, path.Ext(n))
		masks[stem] = true
		mask := ds + "/" + n
		it := &dataset.SourceItem{File: mask}
		imgs := images[stem]
		switch len(imgs) {
		case 0:
			it.Name = ds + "/" + n
			it.Err = &dataset.ItemError{Item: it.Name, File: mask, Err: fmt.Errorf("no image %s/%s/%s.*: the mask's image is missing (an export with option images = \"false\" leaves the images out)", ds, ImagesDir, stem)}
		case 1:
			it.Name, it.Image = ds+"/"+imgs[0], ds+"/"+ImagesDir+"/"+imgs[0]
			if err := dataset.ValidItemName(it.Name); err != nil {
				it.Err = &dataset.ItemError{Item: it.Name, File: it.Image, Err: err}
			}
		default:
			it.Name = ds + "/" + n
			it.Err = &dataset.ItemError{Item: it.Name, File: mask, Err: fmt.Errorf("several images have the mask's stem: %s", strings.Join(imgs, ", "))}
		}
		out = append(out, it)
	}
	for stem, imgs := range images {
		if masks[stem] {
			continue
		}
		for _, f := range imgs {
			name := ds + "/" + f
			out = append(out, &dataset.SourceItem{Name: name, File: ds + "/" + ImagesDir + "/" + f,
				Err: &dataset.ItemError{Item: name, File: ds + "/" + ImagesDir + "/" + f, Err: fmt.Errorf("image without mask: no %s/%s.png", ds, stem)}})
		}
	}
	return out, nil
}

// readMask decodes one mask into one bitmap object per class present, in
// the order of classes.json.
func readMask(src fs.FS, name string, cl *classList) (*dataset.Annotation, error) {
	data, err := fs.ReadFile(src, name)
	if err != nil {
		return nil, err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("mask: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("mask has size %dx%d", cfg.Width, cfg.Height)
	}
	if cfg.Width > dataset.MaxPixels/cfg.Height {
		return nil, fmt.Errorf("mask of %dx%d pixels: %w", cfg.Width, cfg.Height, dataset.ErrTooLarge)
	}
	// image/png scales gray of fewer than 8 bits to 8 (a stored 1 reads as
	// 255, 85 or 17): only 8-bit gray holds indices as they are. IHDR is
	// the first chunk (DecodeConfig checked it): bit depth at byte 24,
	// colour type at byte 25.
	if depth, colorType := data[24], data[25]; cl.mode == ModeIndex && colorType == 0 && depth != 8 {
		return nil, fmt.Errorf("mask is %d-bit gray; index masks are 8-bit gray or palette PNGs", depth)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("mask: %w", err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// lab[i] is the position in cl.labels of pixel i's class, or -1.
	lab := make([]int, w*h)
	switch cl.mode {
	case ModeIndex:
		var pix []uint8
		var stride int
		switch m := img.(type) {
		case *image.Gray:
			pix, stride = m.Pix, m.Stride
		case *image.Paletted:
			pix, stride = m.Pix, m.Stride
		default:
			return nil, fmt.Errorf("mask is a %s PNG; classes.json says mode %q, whose masks are 8-bit gray (or palette) PNGs", colorModelName(img), ModeIndex)
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := int(pix[y*stride+x])
				li, ok := cl.byIndex[v]
				if !ok {
					return nil, fmt.Errorf("pixel (%d, %d) has value %d, which %s does not list", x, y, v, ClassesFile)
				}
				lab[y*w+x] = li
			}
		}
	case ModeColor:
		switch img.(type) {
		case *image.RGBA, *image.NRGBA, *image.RGBA64, *image.NRGBA64, *image.Paletted:
		default:
			return nil, fmt.Errorf("mask is a %s PNG; classes.json says mode %q, whose masks are RGB PNGs", colorModelName(img), ModeColor)
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				li, ok := cl.byColor[color.RGBA{c.R, c.G, c.B, 255}]
				if !ok {
					return nil, fmt.Errorf("pixel (%d, %d) has colour #%02X%02X%02X, which %s does not list", x, y, c.R, c.G, c.B, ClassesFile)
				}
				lab[y*w+x] = li
			}
		}
	}
	masks := make([]*dataset.Mask, len(cl.labels))
	for i, li := range lab {
		if li < 0 {
			continue
		}
		if masks[li] == nil {
			if masks[li], err = dataset.NewMask(w, h); err != nil {
				return nil, err
			}
		}
		masks[li].Bits[i] = 1
	}
	a := &dataset.Annotation{Width: w, Height: h}
	for li, m := range masks {
		if m == nil {
			continue
		}
		crop, at, _ := m.Tight(image.Point{}) // made at its first pixel
		a.Objects = append(a.Objects, dataset.Object{Class: cl.labels[li].Name, Shape: dataset.ShapeBitmap, Mask: crop, Origin: at})
	}
	return a, nil
}

func colorModelName(img image.Image) string {
	switch img.(type) {
	case *image.Gray:
		return "gray"
	case *image.Gray16:
		return "16-bit gray"
	case *image.Paletted:
		return "palette"
	case *image.RGBA, *image.NRGBA:
		return "RGB"
	case *image.RGBA64, *image.NRGBA64:
		return "16-bit RGB"
	}
	return fmt.Sprintf("%T", img)
}
