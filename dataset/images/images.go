// Package images is the "images" import format: a folder of unlabeled
// images.
//
// Every file under the source directory, at any depth, whose extension is
// one of the option extensions (compared without regard to case, so
// "PHOTO.JPG" counts as ".jpg") becomes one item; other files are ignored,
// and so are hidden files and directories (a name starting with ".", such
// as .DS_Store or the "._name.jpg" files macOS leaves behind, which are not
// images). The importer decodes nothing: each item's annotation has no
// objects, no tags and a zero size, and the import step takes the size
// from the image (and rejects an image it cannot read).
//
// Item names are "<dataset>/<file>", <dataset> the option dataset and
// <file> the file's path relative to the source directory with every "/"
// replaced by "__": "park/evening/c.jpg" becomes "images/park__evening__c.jpg".
// Items are emitted sorted by name; each item's Image and File are the
// image's path in the source. Two paths that give the same name
// ("a/b.jpg" and "a__b.jpg") cannot both be kept: the first in byte order
// of the paths is, and each other one is emitted after it as a broken item
// naming both files. A path that does not make a valid item name is likewise
// a broken item.
//
// # Options
//
//	extensions = ".jpg,.jpeg,.png"  the image file extensions, comma-separated, each with its dot
//	dataset    = "images"           the <dataset> part of the item names
//
// The meta is empty: no classes, no tags.
package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"dsbuild/dataset"
)

// Defaults of the options.
const (
	DefaultExtensions = ".jpg,.jpeg,.png"
	DefaultDataset    = "images"
)

// Sep replaces "/" in item names.
const Sep = "__"

type importer struct {
	exts    map[string]bool
	dataset string
}

// NewImporter returns the reader configured by the options (see the
// package documentation).
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	var errs []error
	exts := opt.Take("extensions", DefaultExtensions)
	im := &importer{exts: map[string]bool{}}
	if err := im.parseExtensions(exts); err != nil {
		errs = append(errs, fmt.Errorf("option extensions = %q: %v", exts, err))
	}
	im.dataset = opt.Take("dataset", DefaultDataset)
	if err := checkDataset(im.dataset); err != nil {
		errs = append(errs, fmt.Errorf("option dataset = %q: %v", im.dataset, err))
	}
	if err := opt.Done("images"); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("images: %w", errors.Join(errs...))
	}
	return im, nil
}

func (im *importer) parseExtensions(s string) error {
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if len(e) < 2 || e[0] != '.' || strings.ContainsAny(e[1:], "./\\") {
			return fmt.Errorf("%q is not an extension: want a dot and a name, e.g. \".jpg\"", e)
		}
		im.exts[e] = true
	}
	return nil
}

func checkDataset(name string) error {
	if name == dataset.MetaFile || name == dataset.ManifestFile {
		return errors.New("the name is reserved for the dataset's own files")
	}
	return dataset.ValidItemName(name + "/x.jpg")
}

// ItemName returns the item name of the image at path p (slash-separated,
// relative to the source directory) in dataset ds.
func ItemName(ds, p string) string {
	return ds + "/" + strings.ReplaceAll(p, "/", Sep)
}

// Import emits one item per image file, sorted by item name.
func (im *importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	if src == nil {
		return nil, errors.New("images: no source directory")
	}
	type file struct{ path, name string }
	var files []file
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return fmt.Errorf("images: reading the source directory: %w", err)
			}
			return fmt.Errorf("images: %s: %w", p, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || !im.exts[strings.ToLower(path.Ext(p))] {
			return nil
		}
		files = append(files, file{p, ItemName(im.dataset, p)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Sorted by name, then path: the first path of a name keeps it.
	sort.Slice(files, func(i, j int) bool {
		if files[i].name != files[j].name {
			return files[i].name < files[j].name
		}
		return files[i].path < files[j].path
	})
	keeper := "" // the path that keeps the current name
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i == 0 || files[i-1].name != f.name {
			keeper = f.path
		}
		it := &dataset.SourceItem{Name: f.name, Image: f.path, Ann: &dataset.Annotation{}, File: f.path}
		if err := dataset.ValidItemName(f.name); err != nil {
			it.Err = &dataset.ItemError{Item: f.name, File: f.path, Err: err}
		} else if p := keeper; p != f.path {
			it.Err = &dataset.ItemError{Item: f.name, File: f.path,
				Err: fmt.Errorf("%s and %s both give the item name %q (%q replaces \"/\"); %s keeps it", p, f.path, f.name, Sep, p)}
		}
		if err := emit(it); err != nil {
			return nil, err
		}
	}
	return &dataset.Meta{}, nil
}
