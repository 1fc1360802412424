package voc

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // DecodeConfig of exported images, for <depth>
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"dsbuild/dataset"
)

type exporter struct {
	classes       []string // nil: the dataset's meta decides
	auto          bool     // classes = "auto"
	subsets       map[string]bool
	defaultSubset string
}

// NewExporter returns the pascal_voc writer; the package documentation
// lists its options.
func NewExporter(opt dataset.Options) (dataset.Exporter, error) {
	ex := &exporter{subsets: map[string]bool{}}
	var err error
	classes := opt.Take("classes", "auto")
	if ex.auto = strings.TrimSpace(classes) == "auto"; !ex.auto {
		if ex.classes, err = parseClasses(classes, true); err != nil {
			return nil, fmt.Errorf("format %s: %w", Format, err)
		}
	}
	for _, s := range strings.Split(opt.Take("subsets", "train,val,trainval,test"), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if err := checkID(s); err != nil {
			return nil, fmt.Errorf("format %s: option subsets: %q cannot name a list file", Format, s)
		}
		ex.subsets[s] = true
	}
	ex.defaultSubset = strings.TrimSpace(opt.Take("default_subset", "default"))
	if ex.defaultSubset != "" {
		if err := checkID(ex.defaultSubset); err != nil {
			return nil, fmt.Errorf("format %s: option default_subset: %q cannot name a list file", Format, ex.defaultSubset)
		}
	}
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	return ex, nil
}

// Export implements dataset.Exporter.
func (ex *exporter) Export(ctx context.Context, ds *dataset.Dataset, s dataset.Store, dir string) error {
	if err := ds.CheckNames(); err != nil {
		return fmt.Errorf("format %s: %w", Format, err)
	}
	classes := ex.classes
	if classes == nil {
		voc := true
		for _, c := range ds.Meta.Classes {
			if c.Title != Neutral {
				classes = append(classes, c.Title)
				voc = voc && slices.Contains(Classes, c.Title)
			}
		}
		if ex.auto && voc {
			classes = append([]string(nil), Classes...)
		} else {
			sort.Strings(classes)
			if err := checkClassList(classes); err != nil {
				return fmt.Errorf("format %s: the dataset's classes: %w", Format, err)
			}
		}
	}
	index := map[string]uint8{}
	for i, c := range classes {
		index[c] = uint8(i + 1)
	}

	// Every item's id, checked for clashes before anything is written.
	byID := map[string]string{}
	for _, e := range ds.Entries {
		_, file := dataset.Split(e.Name)
		id := strings.TrimSuffix(file, path.Ext(file))
		if err := checkID(id); err != nil {
			return fmt.Errorf("item %s: %w", e.Name, err)
		}
		if prev, ok := byID[id]; ok {
			return fmt.Errorf("items %s and %s would both have VOC id %q; VOC keeps one flat directory of ids", prev, e.Name, id)
		}
		byID[id] = e.Name
	}

	for _, d := range []string{dirAnnotations, dirLists, dirImages, dirSegClass, dirSegObject} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	pal := Colormap()
	lists := map[string][]string{}
	for _, e := range ds.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		subsets, err := ex.item(ds, s, e, dir, index, pal)
		if err != nil {
			return fmt.Errorf("format %s: %w", Format, err)
		}
		_, file := dataset.Split(e.Name)
		id := strings.TrimSuffix(file, path.Ext(file))
		for _, sub := range subsets {
			lists[sub] = append(lists[sub], id)
		}
	}
	if err := writeFile(dir, LabelmapFile, writeLabelmap(classes, pal)); err != nil {
		return err
	}
	if len(ds.Entries) == 0 && ex.defaultSubset != "" {
		// No items: an empty list still makes a tree that reads back (as a
		// dataset without items), where empty directories would not be
		// kept.
		lists[ex.defaultSubset] = nil
	}
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ids := lists[n]
		sort.Strings(ids)
		data := []byte(strings.Join(ids, "\n") + "\n")
		if len(ids) == 0 {
			data = nil
		}
		if err := writeFile(dir, path.Join(dirLists, n+".txt"), data); err != nil {
			return err
		}
	}
	return nil
}

// item writes one item's image, XML and PNGs, and returns the lists that
// name it.
func (ex *exporter) item(ds *dataset.Dataset, s dataset.Store, e dataset.Entry, dir string, index map[string]uint8, pal color.Palette) ([]string, error) {
	_, file := dataset.Split(e.Name)
	id := strings.TrimSuffix(file, path.Ext(file))
	a, err := ds.Annotation(s, e)
	if err != nil {
		return nil, err
	}
	img, err := s.ReadBlob(e.Image)
	if err != nil {
		return nil, fmt.Errorf("%s: image: %w", e.Name, err)
	}
	w, h := a.Width, a.Height
	if _, err := dataset.NewMask(w, h); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	obj := &indexMap{W: w, H: h, Pix: make([]uint8, w*h)}
	cls := &indexMap{W: w, H: h, Pix: make([]uint8, w*h)}
	xa := &annotation{Filename: file, Width: w, Height: h, Depth: 3}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(img)); err == nil && (cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model) {
		xa.Depth = 1
	}
	// Objects come in drawing order (the canonical encoding keeps the
	// source's order); a later one paints over an earlier one.
	for i := range a.Objects {
		o := &a.Objects[i]
		ov, cv := uint8(Void), uint8(Void)
		if o.Class != Neutral {
			c, ok := index[o.Class]
			if !ok {
				return nil, fmt.Errorf("%s: class %q has no VOC index; option classes gives the class list (\"auto\", \"voc\", \"meta\" or names)", e.Name, o.Class)
			}
			cv = c
		}
		m, err := o.Raster(w, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		x0, y0, x1, y1, ok := m.BBox()
		if !ok {
			continue
		}
		if o.Class != Neutral {
			if len(xa.Objects) == Void-1 {
				return nil, fmt.Errorf("%s: more than %d objects; a VOC instance PNG numbers at most %d", e.Name, Void-1, Void-1)
			}
			xo := xmlObject{Name: o.Class}
			xo.setBox(image.Rect(x0, y0, x1, y1))
			xa.Objects = append(xa.Objects, xo)
			ov = uint8(len(xa.Objects))
		}
		for j, b := range m.Bits {
			if b != 0 {
				obj.Pix[j], cls.Pix[j] = ov, cv
			}
		}
	}
	if err := writeFile(dir, path.Join(dirImages, file), img); err != nil {
		return nil, err
	}
	if err := writeFile(dir, path.Join(dirAnnotations, id+".xml"), writeXML(xa)); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dir string
		m   *indexMap
	}{{dirSegObject, obj}, {dirSegClass, cls}} {
		data, err := encodeIndexPNG(p.m, pal)
		if err != nil {
			return nil, fmt.Errorf("%s: %s PNG: %w", e.Name, p.dir, err)
		}
		if err := writeFile(dir, path.Join(p.dir, id+".png"), data); err != nil {
			return nil, err
		}
	}
	var subsets []string
	seen := map[string]bool{}
	for _, t := range a.Tags {
		if ex.subsets[t.Name] && !seen[t.Name] {
			seen[t.Name] = true
			subsets = append(subsets, t.Name)
		}
	}
	if len(subsets) == 0 && ex.defaultSubset != "" {
		subsets = append(subsets, ex.defaultSubset)
	}
	return subsets, nil
}

func writeFile(dir, rel string, data []byte) error {
	return os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), data, 0o644)
}
