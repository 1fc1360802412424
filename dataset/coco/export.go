package coco

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"dsbuild/dataset"
)

type exporter struct {
	polygons bool
}

// NewExporter returns the COCO writer configured by opt (see the package
// documentation for its options).
func NewExporter(opt dataset.Options) (dataset.Exporter, error) {
	masks := opt.Take("masks", "rle")
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	switch masks {
	case "rle":
		return &exporter{}, nil
	case "polygons":
		return &exporter{polygons: true}, nil
	}
	return nil, fmt.Errorf("format %s: option masks = %q: want \"rle\" or \"polygons\"", Format, masks)
}

// itemObject is one object of an entry's share of the export: its class
// and its annotation's fields from "segmentation" to "iscrowd".
type itemObject struct {
	Class  string `json:"class"`
	Fields string `json:"fields"`
}

// ExportItem implements dataset.Exporter: entry en's objects encoded
// (segmentation, area, bbox, iscrowd), each with its class, as a JSON
// list. Objects with nothing to write (an empty mask) are left out.
func (e *exporter) ExportItem(ctx context.Context, ds *dataset.Dataset, s dataset.Store, en dataset.Entry) (dataset.ExportedItem, error) {
	a, err := ds.Annotation(s, en)
	if err != nil {
		return dataset.ExportedItem{}, fmt.Errorf("coco export: %w", err)
	}
	iw, ih := a.Width, a.Height
	if iw <= 0 || ih <= 0 {
		iw, ih = en.Width, en.Height
	}
	objs := []itemObject{}
	for k := range a.Objects {
		o := &a.Objects[k]
		fields, ok, err := e.object(o, iw, ih)
		if err != nil {
			return dataset.ExportedItem{}, fmt.Errorf("coco export: %s: object %d (class %q): %w", en.Name, k, o.Class, err)
		}
		if !ok {
			continue
		}
		if !hasClass(ds.Meta, o.Class) {
			return dataset.ExportedItem{}, fmt.Errorf("coco export: %s: object %d: class %q is not in the meta", en.Name, k, o.Class)
		}
		objs = append(objs, itemObject{Class: o.Class, Fields: fields})
	}
	rec, err := json.Marshal(objs)
	return dataset.ExportedItem{Record: rec}, err
}

func hasClass(m *dataset.Meta, title string) bool {
	for _, c := range m.Classes {
		if c.Title == title {
			return true
		}
	}
	return false
}

// Finish implements dataset.Exporter: one annotation file per subset
// (the items' dataset part), annotations/instances_<subset>.json, and the
// images under <subset>/. Image ids count from 1 over all the items in
// name order, annotation ids from 1 over the objects in that order, and
// category ids follow the sorted class titles.
func (e *exporter) Finish(ctx context.Context, ds *dataset.Dataset, s dataset.Store, items []dataset.ExportedItem, out dataset.ExportWriter) error {
	if err := ds.CheckNames(); err != nil {
		return fmt.Errorf("coco export: %w", err)
	}
	titles := make([]string, 0, len(ds.Meta.Classes))
	for _, c := range ds.Meta.Classes {
		titles = append(titles, c.Title)
	}
	sort.Strings(titles)
	catID := make(map[string]int, len(titles))
	for i, t := range titles {
		catID[t] = i + 1
	}
	order := make([]int, len(ds.Entries))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return ds.Entries[order[i]].Name < ds.Entries[order[j]].Name })
	entries := make([]dataset.Entry, len(order))
	recs := make([][]byte, len(order))
	for i, k := range order {
		entries[i], recs[i] = ds.Entries[k], items[k].Record
	}
	if err := out.Mkdir("annotations"); err != nil {
		return err
	}
	w := &writer{out: out, titles: titles, catID: catID, written: map[string]bool{}}
	// Sorted names put each subset's items together.
	for lo := 0; lo < len(entries); {
		subset, _ := dataset.Split(entries[lo].Name)
		hi := lo
		for hi < len(entries) {
			if sub, _ := dataset.Split(entries[hi].Name); sub != subset {
				break
			}
			hi++
		}
		if err := w.subset(ctx, subset, entries[lo:hi], recs[lo:hi], lo+1); err != nil {
			return err
		}
		lo = hi
	}
	if len(entries) == 0 {
		// No items: one empty file of subset "default" still holds the
		// categories, so that the export reads back as an empty dataset.
		return w.subset(ctx, "default", nil, nil, 1)
	}
	return nil
}

type writer struct {
	out     dataset.ExportWriter
	titles  []string
	catID   map[string]int
	annID   int
	written map[string]bool // relative paths, to catch a clash
}

func (w *writer) claim(rel string) error {
	if w.written[rel] {
		return fmt.Errorf("coco export: %s would be written twice", rel)
	}
	w.written[rel] = true
	return nil
}

// subset writes one annotation file and its images, from the entries and
// their ExportItem records; firstID is the id of its first image.
func (w *writer) subset(ctx context.Context, subset string, entries []dataset.Entry, recs [][]byte, firstID int) (err error) {
	annRel := "annotations/instances_" + subset + ".json"
	if err := w.claim(annRel); err != nil {
		return err
	}
	if err := w.out.Mkdir(subset); err != nil {
		return err
	}
	f, err := w.out.Create(annRel)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	b := bufio.NewWriterSize(f, 256<<10)
	b.WriteString(`{"info":{"description":"exported by dsbuild"},"licenses":[],` + "\n" + `"images":[`)
	for i, en := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, file := dataset.Split(en.Name)
		rel := subset + "/" + file
		if err := w.claim(rel); err != nil {
			return err
		}
		if err := w.out.WriteBlob(rel, en.Image, en.ImageSize); err != nil {
			return fmt.Errorf("coco export: %s: image: %w", en.Name, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "\n"+`{"id":%d,"file_name":%s,"width":%d,"height":%d}`, firstID+i, jsonString(file), en.Width, en.Height)
	}
	b.WriteString("\n],\n" + `"annotations":[`)
	first := true
	for i, en := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		var objs []itemObject
		if err := json.Unmarshal(recs[i], &objs); err != nil {
			return fmt.Errorf("coco export: %s: its item record: %w", en.Name, err)
		}
		for _, o := range objs {
			cat, known := w.catID[o.Class]
			if !known {
				return fmt.Errorf("coco export: %s: class %q is not in the meta", en.Name, o.Class)
			}
			w.annID++
			if !first {
				b.WriteByte(',')
			}
			first = false
			fmt.Fprintf(b, "\n"+`{"id":%d,"image_id":%d,"category_id":%d,%s}`, w.annID, firstID+i, cat, o.Fields)
		}
	}
	b.WriteString("\n],\n" + `"categories":[`)
	for i, t := range w.titles {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "\n"+`{"id":%d,"name":%s,"supercategory":%s}`, i+1, jsonString(t), jsonString(t))
	}
	b.WriteString("\n]}\n")
	return b.Flush()
}

// object returns the segmentation, area, bbox and iscrowd fields of one
// object; ok is false for an object that has nothing to write.
func (e *exporter) object(o *dataset.Object, iw, ih int) (fields string, ok bool, err error) {
	crowd := false
	for _, t := range o.Tags {
		if t.Name == CrowdTag {
			crowd = true
		}
	}
	m, err := o.Raster(iw, ih)
	if err != nil {
		return "", false, err
	}
	area := m.Area()
	var seg bytes.Buffer
	var bbox string
	switch {
	case crowd || o.Shape == dataset.ShapeBitmap || o.Shape == dataset.ShapePolygon && len(o.Polygon.Holes) > 0:
		if area == 0 {
			return "", false, nil
		}
		bbox = maskBox(m)
		polys := []dataset.Polygon(nil)
		if e.polygons && !crowd {
			polys = m.Contours()
			for _, p := range polys {
				if len(p.Holes) > 0 {
					polys = nil // COCO polygons have no holes: RLE
					break
				}
			}
		}
		if polys != nil {
			writePolygons(&seg, polys)
			break
		}
		rle, err := dataset.EncodeRLE(m)
		if err != nil {
			return "", false, err
		}
		fmt.Fprintf(&seg, `{"size":[%d,%d],"counts":%s}`, rle.H, rle.W, jsonString(rle.CountsString()))
	case o.Shape == dataset.ShapePolygon:
		writePolygons(&seg, []dataset.Polygon{o.Polygon})
		ext := o.Polygon.Exterior
		minX, minY, maxX, maxY := ext[0].X, ext[0].Y, ext[0].X, ext[0].Y
		for _, p := range ext {
			minX, maxX = min(minX, p.X), max(maxX, p.X)
			minY, maxY = min(minY, p.Y), max(maxY, p.Y)
		}
		bbox = "[" + num(minX) + "," + num(minY) + "," + num(maxX-minX) + "," + num(maxY-minY) + "]"
	case o.Shape == dataset.ShapeRectangle:
		// The box as a polygon (pycocotools' annToMask fails on
		// "segmentation": []); the importer reads it back as a rectangle.
		r := o.Rect.Canon()
		fmt.Fprintf(&seg, "[[%d,%d,%d,%d,%d,%d,%d,%d]]", r.Min.X, r.Min.Y, r.Max.X, r.Min.Y, r.Max.X, r.Max.Y, r.Min.X, r.Max.Y)
		bbox = fmt.Sprintf("[%d,%d,%d,%d]", r.Min.X, r.Min.Y, r.Dx(), r.Dy())
	default:
		return "", false, fmt.Errorf("unknown shape %q", o.Shape)
	}
	iscrowd := 0
	if crowd {
		iscrowd = 1
	}
	return fmt.Sprintf(`"segmentation":%s,"area":%d,"bbox":%s,"iscrowd":%d`, seg.Bytes(), area, bbox, iscrowd), true, nil
}

// maskBox is the COCO bbox of a non-empty mask.
func maskBox(m *dataset.Mask) string {
	x0, y0, x1, y1, _ := m.BBox()
	return fmt.Sprintf("[%d,%d,%d,%d]", x0, y0, x1-x0, y1-y0)
}

// writePolygons writes the exteriors of polys as COCO polygons.
func writePolygons(b *bytes.Buffer, polys []dataset.Polygon) {
	b.WriteByte('[')
	for i, p := range polys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, pt := range p.Exterior {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(num(pt.X))
			b.WriteByte(',')
			b.WriteString(num(pt.Y))
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
}

// num writes a coordinate rounded to 1/1000 (the canonical precision) in
// shortest decimal form.
func num(f float64) string {
	f = math.Round(f*1000) / 1000
	if f == 0 {
		f = 0 // no negative zero
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
