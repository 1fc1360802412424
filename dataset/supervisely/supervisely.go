// Package supervisely reads and writes Supervisely projects (formats.md §1),
// the layout dsbuild's own dataset artifacts use.
//
// # Import
//
// The source is a project directory:
//
//	meta.json                       classes and tags (or a bare classes.json)
//	<dataset>/img/<image file>      the images
//	<dataset>/ann/<image file>.json their annotations (2019+ naming)
//	<dataset>/ann/<image stem>.json  or so, in the 2018 legacy naming
//
// meta.json may take any of its three forms (classes and tags; classes with
// the 2018 tags_images and tags_objects name lists; or a bare list of
// classes); without meta.json, classes.json (a bare list of classes) is
// read. A dataset is a top-level directory that holds both ann/ and img/
// (as the SDK decides, §1.1); other directories and files (masks_machine/,
// obj_class_to_machine_color.json, ...) are ignored. The annotation of
// img/<file> is ann/<file>.json, or else ann/<stem>.json, in that order (as
// the SDK looks them up). Annotations are read by [dataset.ParseAnnotation]
// in either the 2019+ or the 2018 object layout; the class shape in the meta
// decides an object's geometry, as in the SDK.
//
// Items are named "<dataset directory>/<image file>" and emitted sorted by
// name. Image tags of the annotation are kept as they are; the image size it
// states becomes the item's size. The returned meta is the project's meta as
// it spells it: classes that annotations use but the meta lacks are left to
// the import step to report.
//
// Item errors (the item is emitted with an *[dataset.ItemError] and the
// import goes on): an image without an annotation file, an unreadable or
// malformed annotation, an invalid item name, and an annotation file in
// ann/ that no image uses (an annotation of a missing image; the item is
// named after the file without ".json"). Hidden files (a leading dot) and
// subdirectories of img/ and ann/ are skipped. Errors that spoil the whole
// project (no meta, a malformed meta, directories none of which is a
// dataset) are returned. A project with a meta and no directory at all (what
// the export of a dataset without items writes) has no items.
//
// Options:
//
//	unsupported = "drop" (default) | "error"
//	    What to do with objects whose geometry segmentation has no use for
//	    (line, point, graph, cuboid: [dataset.ErrUnsupportedGeometry]):
//	    leave them out of the item, or make the item an error.
//
// # Export
//
// The exporter writes a project that Supervisely tools (and this importer)
// open: meta.json (the canonical meta, [dataset.EncodeMeta]) and, for each
// entry "<dataset>/<file>", <dataset>/img/<file> (the image bytes as
// stored) and <dataset>/ann/<file>.json (the canonical annotation, byte for
// byte as stored). Importing an export gives back the same entries (the
// same image and annotation digests). It has no options.
package supervisely

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"dsbuild/dataset"
)

// Format is the format's name in recipes.
const Format = "supervisely"

// Values of the unsupported option.
const (
	UnsupportedDrop  = "drop"
	UnsupportedError = "error"
)

// Importer reads a Supervisely project.
type Importer struct {
	// DropUnsupported leaves out objects of unsupported geometry instead
	// of failing their item.
	DropUnsupported bool
}

// NewImporter returns the Supervisely reader configured by opt (see the
// package doc for the options).
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	u := opt.Take("unsupported", UnsupportedDrop)
	if u != UnsupportedDrop && u != UnsupportedError {
		return nil, fmt.Errorf("format %s: option unsupported = %q: it must be %q or %q", Format, u, UnsupportedDrop, UnsupportedError)
	}
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	return &Importer{DropUnsupported: u == UnsupportedDrop}, nil
}

// ReadMeta reads the project's meta: meta.json, or else classes.json.
func ReadMeta(src fs.FS) (*dataset.Meta, error) {
	for _, name := range []string{"meta.json", "classes.json"} {
		data, err := fs.ReadFile(src, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m, err := dataset.ParseMeta(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return m, nil
	}
	return nil, errors.New("meta.json: not found (nor classes.json): not a Supervisely project")
}

// Datasets lists the project's datasets: the top-level directories that
// hold both ann/ and img/, sorted.
func Datasets(src fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("project directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if isDir(src, e.Name()+"/ann") && isDir(src, e.Name()+"/img") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func isDir(src fs.FS, name string) bool {
	fi, err := fs.Stat(src, name)
	return err == nil && fi.IsDir()
}

// files lists the plain, non-hidden files of a directory, sorted.
func files(src fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(src, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

// AnnotationFile returns the annotation file name of image file img given
// the set of files in ann/: "<img>.json", else "<stem>.json" (formats.md
// §1.1), else "".
func AnnotationFile(img string, ann map[string]bool) string {
	if n := img + ".json"; ann[n] {
		return n
	}
	if ext := path.Ext(img); ext != "" {
		if n := strings.TrimSuffix(img, ext) + ".json"; ann[n] {
			return n
		}
	}
	return ""
}

// Import implements [dataset.Importer].
func (im *Importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	meta, err := ReadMeta(src)
	if err != nil {
		return nil, err
	}
	dss, err := Datasets(src)
	if err != nil {
		return nil, err
	}
	if len(dss) == 0 {
		// A project of no items (an export of an empty dataset) is a
		// meta.json alone; a directory that holds other directories but
		// no dataset is more likely the wrong directory.
		entries, err := fs.ReadDir(src, ".")
		if err != nil {
			return nil, fmt.Errorf("project directory: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				return nil, errors.New("project directory: no dataset directory (one holding both ann/ and img/)")
			}
		}
		return meta, nil
	}
	var items []item
	for _, ds := range dss {
		its, err := listDataset(src, ds)
		if err != nil {
			return nil, err
		}
		items = append(items, its...)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := emit(im.read(src, meta, it)); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// item is an item found in a dataset directory, before its annotation is
// read: an image with its annotation file, or an annotation without image.
type item struct {
	name, image, ann string
}

// listDataset pairs the images of dataset directory ds with their
// annotation files, and lists the annotation files no image uses.
func listDataset(src fs.FS, ds string) ([]item, error) {
	imgs, err := files(src, ds+"/img")
	if err != nil {
		return nil, fmt.Errorf("%s/img: %w", ds, err)
	}
	anns, err := files(src, ds+"/ann")
	if err != nil {
		return nil, fmt.Errorf("%s/ann: %w", ds, err)
	}
	annSet := make(map[string]bool, len(anns))
	for _, a := range anns {
		annSet[a] = true
	}
	used := make(map[string]bool, len(anns))
	items := make([]item, 0, len(imgs))
	for _, f := range imgs {
		it := item{name: ds + "/" + f, image: ds + "/img/" + f}
		if a := AnnotationFile(f, annSet); a != "" {
			it.ann = ds + "/ann/" + a
			used[a] = true
		}
		items = append(items, it)
	}
	for _, a := range anns {
		if !used[a] && strings.HasSuffix(a, ".json") {
			items = append(items, item{name: ds + "/" + strings.TrimSuffix(a, ".json"), ann: ds + "/ann/" + a})
		}
	}
	return items, nil
}

func (im *Importer) read(src dataset.Source, meta *dataset.Meta, it item) *dataset.SourceItem {
	si := &dataset.SourceItem{Name: it.name, Image: it.image, File: it.ann}
	fail := func(file string, err error) *dataset.SourceItem {
		si.Err = &dataset.ItemError{Item: it.name, File: file, Err: err}
		return si
	}
	switch {
	case it.image == "":
		return fail(it.ann, errors.New("annotation of a missing image: no such file in img/"))
	case it.ann == "":
		return fail(it.image, errors.New("image without annotation: no "+path.Base(it.image)+".json in ann/"))
	}
	if err := dataset.ValidItemName(it.name); err != nil {
		return fail(it.image, err)
	}
	// The annotation is read when the import step needs it: an item whose
	// image, annotation and meta are unchanged comes from the item memo.
	si.Deps = append(metaFiles(src), it.ann)
	si.Load = func() (*dataset.Annotation, error) {
		data, err := fs.ReadFile(src, it.ann)
		if err != nil {
			return nil, err
		}
		return im.parse(data, meta)
	}
	return si
}

// metaFiles lists the meta files present, which decide objects' shapes.
func metaFiles(src fs.FS) []string {
	var out []string
	for _, f := range []string{"meta.json", "classes.json"} {
		if _, err := fs.Stat(src, f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// parse parses an annotation, leaving out objects of unsupported geometry
// when so configured.
func (im *Importer) parse(data []byte, meta *dataset.Meta) (*dataset.Annotation, error) {
	a, err := dataset.ParseAnnotation(data, meta)
	if err == nil || !im.DropUnsupported || !errors.Is(err, dataset.ErrUnsupportedGeometry) {
		return a, err
	}
	kept, err := dropUnsupported(data, meta)
	if err != nil {
		return nil, err
	}
	return dataset.ParseAnnotation(kept, meta)
}

// dropUnsupported rewrites an annotation without the objects that
// ParseAnnotation rejects for their geometry. Each object is tried alone, so
// that the rule is ParseAnnotation's own.
func dropUnsupported(data []byte, meta *dataset.Meta) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("annotation JSON: %w", err)
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(top["objects"], &objs); err != nil {
		return nil, fmt.Errorf("annotation objects: %w", err)
	}
	kept := objs[:0]
	for _, o := range objs {
		one, err := json.Marshal(map[string]any{
			"size":    map[string]int{"width": 1, "height": 1},
			"objects": []json.RawMessage{o},
		})
		if err != nil {
			return nil, fmt.Errorf("annotation objects: %w", err)
		}
		if _, err := dataset.ParseAnnotation(one, meta); errors.Is(err, dataset.ErrUnsupportedGeometry) {
			continue
		}
		kept = append(kept, o)
	}
	raw, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	top["objects"] = raw
	return json.Marshal(top)
}

// Exporter writes a Supervisely project.
type Exporter struct{}

// NewExporter returns the Supervisely writer; it has no options.
func NewExporter(opt dataset.Options) (dataset.Exporter, error) {
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	return Exporter{}, nil
}

// ExportItem implements [dataset.Exporter]. A Supervisely project
// holds each item's image and canonical annotation as they are stored:
// there is nothing to compute per item.
func (Exporter) ExportItem(context.Context, *dataset.Dataset, dataset.Store, dataset.Entry) (dataset.ExportedItem, error) {
	return dataset.ExportedItem{}, nil
}

// Finish implements [dataset.Exporter]: meta.json, and each item's
// image and annotation under <dataset>/img/ and <dataset>/ann/.
func (Exporter) Finish(ctx context.Context, ds *dataset.Dataset, s dataset.Store, items []dataset.ExportedItem, w dataset.ExportWriter) error {
	if err := ds.CheckNames(); err != nil {
		return fmt.Errorf("format %s: %w", Format, err)
	}
	if err := dataset.WriteExportFile(w, "meta.json", dataset.EncodeMeta(ds.Meta)); err != nil {
		return err
	}
	entries := append([]dataset.Entry(nil), ds.Entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	made := map[string]bool{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, file := dataset.Split(e.Name)
		if name == "meta.json" || name == "classes.json" {
			return fmt.Errorf("item %s: dataset name %q is reserved in a Supervisely project", e.Name, name)
		}
		if !made[name] {
			for _, sub := range []string{"img", "ann"} {
				if err := w.Mkdir(name + "/" + sub); err != nil {
					return err
				}
			}
			made[name] = true
		}
		if err := w.WriteBlob(name+"/img/"+file, e.Image, e.ImageSize); err != nil {
			return fmt.Errorf("item %s: image: %w", e.Name, err)
		}
		if err := w.WriteBlob(name+"/ann/"+file+".json", e.Ann, e.AnnSize); err != nil {
			return fmt.Errorf("item %s: annotation: %w", e.Name, err)
		}
	}
	return nil
}
