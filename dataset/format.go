package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/agext/levenshtein"

	"dsbuild/cache"
)

// Source is a directory being imported: its files, read with their hashes
// checked, and their digests. Images are referenced by digest, never
// copied: Digest names a file that is already in the store.
type Source interface {
	fs.FS
	// Digest returns the digest and size of the file at name.
	Digest(name string) (cache.Digest, int64, error)
}

// SourceItem is one image as a format reader found it.
type SourceItem struct {
	// Name is the item's name, "<dataset>/<file>": the format's subset or
	// folder, and the image's file name.
	Name string
	// Image is the path of the image in the Source; or ImageBytes holds an
	// image the reader made (the synthetic format).
	Image      string
	ImageBytes []byte
	// Ann is the annotation as the format states it. A zero Width and
	// Height mean the format does not say; the image decides.
	Ann *Annotation
	// File is the annotation file it came from, for error messages.
	File string
	// Err, if set, says this item is broken (an *ItemError naming the
	// item and file); the import step fails or skips it (on_error).
	Err error
	// Load, if set instead of Ann, reads the annotation when it is needed,
	// and Deps lists every source file besides the image that the
	// annotation depends on (its own file, the meta that decides shapes).
	// The import step then memoizes the item by the digests of its image
	// and Deps, so that an unchanged item is not read again when others
	// change.
	Load func() (*Annotation, error)
	Deps []string
	// Generate, if set instead of Image, ImageBytes and Ann, makes the
	// item's image and annotation when they are needed (a format that
	// draws its pictures: synthetic). Nothing in a source names what such
	// an item holds, so the import step does not memoize it.
	Generate func() (image []byte, ann *Annotation, err error)
	// Warnings are what the format found in this item and settled by a
	// documented rule instead of failing it (a disagreement between two
	// of its files, say). Each names the item; the import step reports
	// them with the step's output.
	Warnings []string
}

// Resolve makes a lazily made item whole: Generate fills ImageBytes and
// Ann, Load fills Ann. A failure becomes the item's Err: an *ItemError as
// Load or Generate returned it (so that it can name another file than
// File), else one naming the item and File. Resolve does nothing for items
// that are complete or broken. The import step calls it on its worker
// pool, so a format emits its items cheaply and leaves the costly reading
// or drawing to Resolve.
func (it *SourceItem) Resolve() {
	if it.Err != nil {
		return
	}
	var err error
	switch {
	case it.Generate != nil && it.ImageBytes == nil && it.Ann == nil:
		var img []byte
		var a *Annotation
		if img, a, err = it.Generate(); err == nil {
			it.ImageBytes, it.Ann = img, a
		}
	case it.Load != nil && it.Ann == nil:
		var a *Annotation
		if a, err = it.Load(); err == nil {
			it.Ann = a
		}
	}
	if err == nil {
		return
	}
	var ie *ItemError
	if errors.As(err, &ie) {
		it.Err = err
		return
	}
	it.Err = &ItemError{Item: it.Name, File: it.File, Err: err}
}

// Importer reads one format.
type Importer interface {
	// Import calls emit for every item, in a deterministic order, and
	// returns the meta as the source spells it (class names unmapped).
	// A problem with one item is reported by emitting the item with Err
	// set to an *ItemError, and the import goes on; an error that spoils
	// the whole source (an unreadable meta or top-level file) is
	// returned, naming the file. If emit returns an error, Import stops
	// and returns it.
	Import(ctx context.Context, src Source, emit func(*SourceItem) error) (*Meta, error)
}

// Exporter writes a dataset in one format, in two parts, so that the
// export step can memoize the costly one item by item and a distributed
// build can run it in shards: ExportItem does one entry's share (reading
// its annotation, painting and encoding its masks), Finish writes the
// whole export from the shares. ExportTo runs both into a directory.
type Exporter interface {
	// ExportItem returns entry e's share of the export. It may depend only
	// on the exporter's options, ds.Meta, and e's name, size, image and
	// annotation: the export step memoizes it under those.
	ExportItem(ctx context.Context, ds *Dataset, s Store, e Entry) (ExportedItem, error)
	// Finish writes the export to w, given ExportItem's result for each
	// of ds.Entries, in that order.
	Finish(ctx context.Context, ds *Dataset, s Store, items []ExportedItem, w ExportWriter) error
}

// ExportedItem is one item's share of an export.
type ExportedItem struct {
	// Record is what Finish needs of the item, in the exporter's own
	// encoding.
	Record []byte `json:"record,omitempty"`
	// Blobs are the blobs ExportItem stored that Record names (an encoded
	// mask, say), so that whoever keeps the record keeps them.
	Blobs []cache.Digest `json:"blobs,omitempty"`
}

// ExportTo writes ds with x into dir (existing and empty): ExportItem on
// every entry, in order, then Finish into dir (a DirWriter).
func ExportTo(ctx context.Context, x Exporter, ds *Dataset, s Store, dir string) error {
	items := make([]ExportedItem, len(ds.Entries))
	for i, e := range ds.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		it, err := x.ExportItem(ctx, ds, s, e)
		if err != nil {
			return err
		}
		items[i] = it
	}
	return x.Finish(ctx, ds, s, items, &DirWriter{Dir: dir, Store: s})
}

// ItemError is a problem with one item: it names the item and the file.
type ItemError struct {
	Item string // item name, or "" when not known yet
	File string // the file at fault, relative to the source
	Err  error
}

func (e *ItemError) Error() string {
	switch {
	case e.Item != "" && e.File != "":
		return fmt.Sprintf("%s (item %s): %v", e.File, e.Item, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Item != "":
		return fmt.Sprintf("item %s: %v", e.Item, e.Err)
	}
	return e.Err.Error()
}

func (e *ItemError) Unwrap() error { return e.Err }

// ItemName is the item the error is about: it names it itself, so the
// engine's item work does not name it again.
func (e *ItemError) ItemName() string { return e.Item }

// IsItemError reports whether err concerns one item only.
func IsItemError(err error) bool {
	var ie *ItemError
	return errors.As(err, &ie)
}

// Options are a format's settings from the recipe (import's and export's
// options = { ... }). Formats read what they know with Take and then call
// Done, which reports the keys nobody read.
type Options map[string]string

// knownPrefix marks the keys Take was asked for, so that Done can suggest
// one of them; no option key from a recipe or a command line starts with a
// NUL byte.
const knownPrefix = "\x00known:"

// Take returns the option and removes it; def if absent.
func (o Options) Take(key, def string) string {
	if o == nil {
		return def
	}
	o[knownPrefix+key] = ""
	v, ok := o[key]
	if !ok {
		return def
	}
	delete(o, key)
	return v
}

// Done reports unread options as an error naming the first (in byte
// order), with a did-you-mean among the options the format read with Take
// and the list of them. It leaves o holding the unread options alone.
func (o Options) Done(format string) error {
	var keys, known []string
	for k := range o {
		if name, ok := strings.CutPrefix(k, knownPrefix); ok {
			known = append(known, name)
			delete(o, k) // Done leaves only the unread options
		} else {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	sort.Strings(known)
	msg := fmt.Sprintf("format %s has no option %q", format, keys[0])
	if len(known) == 0 {
		return errors.New(msg + "; it has no options")
	}
	best, bestD := "", 4
	for _, k := range known {
		if d := levenshtein.Distance(keys[0], k, nil); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("%s. Did you mean %q? Its options are %s", msg, best, strings.Join(known, ", "))
	}
	return fmt.Errorf("%s; its options are %s", msg, strings.Join(known, ", "))
}
