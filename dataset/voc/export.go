package voc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // DecodeConfig of exported images, for <depth>
	"path"
	"slices"
	"sort"
	"strings"

	"dsbuild/cache"
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

// classList is the export's class list: the option's, else the meta's
// (VOC's own 20 in VOC's order when they are all VOC classes and classes
// is "auto", else sorted).
func (ex *exporter) classList(meta *dataset.Meta) ([]string, error) {
	if ex.classes != nil {
		return ex.classes, nil
	}
	var classes []string
	voc := true
	for _, c := range meta.Classes {
		if c.Title != Neutral {
			classes = append(classes, c.Title)
			voc = voc && slices.Contains(Classes, c.Title)
		}
	}
	if ex.auto && voc {
		return append([]string(nil), Classes...), nil
	}
	sort.Strings(classes)
	if err := checkClassList(classes); err != nil {
		return nil, fmt.Errorf("the dataset's classes: %w", err)
	}
	return classes, nil
}

// palette is the colormap of the PNGs, made once (ExportItem runs per
// item).
var palette = Colormap()

// itemRecord is one item's share of the export: its XML and PNGs, stored,
// and the lists that name it.
type itemRecord struct {
	Files   [3]storedFile `json:"files"` // the XML, the object PNG, the class PNG
	Subsets []string      `json:"subsets"`
}

// storedFile is a file ExportItem stored.
type storedFile struct {
	Blob cache.Digest `json:"blob"`
	Size int64        `json:"size"`
}

// ExportItem implements dataset.Exporter: the item's annotation XML
// and its object and class PNGs, stored, with the lists that name it.
func (ex *exporter) ExportItem(ctx context.Context, ds *dataset.Dataset, s dataset.Store, e dataset.Entry) (dataset.ExportedItem, error) {
	classes, err := ex.classList(ds.Meta)
	if err != nil {
		return dataset.ExportedItem{}, fmt.Errorf("format %s: %w", Format, err)
	}
	index := map[string]uint8{}
	for i, c := range classes {
		index[c] = uint8(i + 1)
	}
	files, subsets, err := ex.item(ds, s, e, index, palette)
	if err != nil {
		return dataset.ExportedItem{}, fmt.Errorf("format %s: %w", Format, err)
	}
	r := itemRecord{Subsets: subsets}
	blobs := make([]cache.Digest, len(files))
	for i, data := range files {
		if blobs[i], err = s.PutBytes(data); err != nil {
			return dataset.ExportedItem{}, fmt.Errorf("format %s: %s: %w", Format, e.Name, err)
		}
		r.Files[i] = storedFile{Blob: blobs[i], Size: int64(len(data))}
	}
	rec, err := json.Marshal(r)
	if err != nil {
		return dataset.ExportedItem{}, err
	}
	return dataset.ExportedItem{Record: rec, Blobs: blobs}, nil
}

// Finish implements dataset.Exporter: each item's image, XML and PNGs,
// the list files and labelmap.txt.
func (ex *exporter) Finish(ctx context.Context, ds *dataset.Dataset, s dataset.Store, items []dataset.ExportedItem, w dataset.ExportWriter) error {
	if err := ds.CheckNames(); err != nil {
		return fmt.Errorf("format %s: %w", Format, err)
	}
	classes, err := ex.classList(ds.Meta)
	if err != nil {
		return fmt.Errorf("format %s: %w", Format, err)
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
		if err := w.Mkdir(d); err != nil {
			return err
		}
	}
	lists := map[string][]string{}
	for i, e := range ds.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rec itemRecord
		if err := json.Unmarshal(items[i].Record, &rec); err != nil {
			return fmt.Errorf("format %s: %s: its item record: %w", Format, e.Name, err)
		}
		_, file := dataset.Split(e.Name)
		id := strings.TrimSuffix(file, path.Ext(file))
		for _, f := range []struct {
			rel string
			sf  storedFile
		}{
			{path.Join(dirImages, file), storedFile{e.Image, e.ImageSize}},
			{path.Join(dirAnnotations, id+".xml"), rec.Files[0]},
			{path.Join(dirSegObject, id+".png"), rec.Files[1]},
			{path.Join(dirSegClass, id+".png"), rec.Files[2]},
		} {
			if err := w.WriteBlob(f.rel, f.sf.Blob, f.sf.Size); err != nil {
				return fmt.Errorf("format %s: %s: %w", Format, e.Name, err)
			}
		}
		for _, sub := range rec.Subsets {
			lists[sub] = append(lists[sub], id)
		}
	}
	if err := dataset.WriteExportFile(w, LabelmapFile, writeLabelmap(classes, palette)); err != nil {
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
		if err := dataset.WriteExportFile(w, path.Join(dirLists, n+".txt"), data); err != nil {
			return err
		}
	}
	return nil
}

// item encodes one item's XML and PNGs (in that order: the annotation, the
// object PNG, the class PNG) and returns the lists that name it.
func (ex *exporter) item(ds *dataset.Dataset, s dataset.Store, e dataset.Entry, index map[string]uint8, pal color.Palette) ([3][]byte, []string, error) {
	var files [3][]byte
	_, file := dataset.Split(e.Name)
	a, err := ds.Annotation(s, e)
	if err != nil {
		return files, nil, err
	}
	img, err := s.ReadBlob(e.Image)
	if err != nil {
		return files, nil, fmt.Errorf("%s: image: %w", e.Name, err)
	}
	w, h := a.Width, a.Height
	if _, err := dataset.NewMask(w, h); err != nil {
		return files, nil, fmt.Errorf("%s: %w", e.Name, err)
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
				return files, nil, fmt.Errorf("%s: class %q has no VOC index; option classes gives the class list (\"auto\", \"voc\", \"meta\" or names)", e.Name, o.Class)
			}
			cv = c
		}
		m, err := o.Raster(w, h)
		if err != nil {
			return files, nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		x0, y0, x1, y1, ok := m.BBox()
		if !ok {
			continue
		}
		if o.Class != Neutral {
			if len(xa.Objects) == Void-1 {
				return files, nil, fmt.Errorf("%s: more than %d objects; a VOC instance PNG numbers at most %d", e.Name, Void-1, Void-1)
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
	files[0] = writeXML(xa)
	for i, p := range []struct {
		dir string
		m   *indexMap
	}{{dirSegObject, obj}, {dirSegClass, cls}} {
		data, err := encodeIndexPNG(p.m, pal)
		if err != nil {
			return files, nil, fmt.Errorf("%s: %s PNG: %w", e.Name, p.dir, err)
		}
		files[1+i] = data
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
	return files, subsets, nil
}
