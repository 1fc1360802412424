// Package ingest turns a dataset in one of the public formats into a
// dataset artifact (the canonical Supervisely layout of package dataset),
// with a class mapping applied and every item checked. The import step and
// the CLI's convert, stats and diff use it.
//
// Checks on every item, whatever the format: the image decodes (header and
// a structural check that it is not truncated; Settings.Decode decodes every
// pixel), its header claims at most dataset.MaxPixels pixels, the
// annotation's size matches the image, every object lies inside the image
// (or, with Settings.Clip, is clipped to it), item names are unique and
// valid, and every class is declared by the source. A failing item fails
// the import, naming the file and the item, or with Settings.Skip is left
// out and listed in the report.
//
// Items run on the engine's item pool (engine.StreamItems) as the format
// emits them; the result never depends on the order they finish in. Items
// that a format loads lazily (dataset.SourceItem.Load) are memoized under
// the digests of their image and of every file their annotation reads, when
// the import runs as a step.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image decoders for DecodeConfig
	_ "image/png"
	"io/fs"
	"os"
	"sort"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/engine"
)

// Settings configure one import.
type Settings struct {
	Format  string
	Options dataset.Options
	Classes map[string]string // source class → class; nil keeps every class as spelled
	Skip    bool              // on_error = "skip"
	Clip    bool              // clip objects to the image instead of failing
	Decode  bool              // decode every image fully
	Workers int               // items checked at once; 0: the run's -j
}

// Skipped is an item left out by on_error = "skip".
type Skipped struct {
	Item  string `json:"item"`
	File  string `json:"file,omitempty"`
	Error string `json:"error"`
}

// Warning is a problem the format settled in an item it kept (see
// dataset.SourceItem.Warnings).
type Warning struct {
	Item    string `json:"item"`
	File    string `json:"file,omitempty"`
	Message string `json:"message"`
}

// Report is an import's report (the import step's report.json).
type Report struct {
	Format   string         `json:"format"`
	Items    int            `json:"items"`
	Objects  map[string]int `json:"objects"`
	Skipped  []Skipped      `json:"skipped"`
	Warnings []Warning      `json:"warnings,omitempty"`
}

// Result is an imported dataset and its report.
type Result struct {
	Dataset *dataset.Dataset
	Report  Report
}

// item is one checked item: its manifest entry and what the dataset's
// meta and report need of it. It is what the item memo keeps.
type item struct {
	Entry    dataset.Entry  `json:"entry"`
	Classes  []string       `json:"classes"` // source classes the item's objects used
	Tags     []string       `json:"tags"`    // tag names on the image and its objects
	File     string         `json:"file"`
	Objects  map[string]int `json:"objects"`
	Warnings []string       `json:"warnings,omitempty"`
}

// pending is a checked item and its position in the format's emission
// order.
type pending struct {
	seq int
	item
}

// badItem is an item error and the position of its item in the format's
// emission order.
type badItem struct {
	seq int
	err *dataset.ItemError
}

// itemWork is how the engine runs an import's items.
func itemWork(set Settings) engine.ItemWork[*item] {
	return engine.ItemWork[*item]{
		Scheme:  "import item v2",
		Workers: set.Workers,
		Refs:    func(it *item) []cache.Digest { return []cache.Digest{it.Entry.Image, it.Entry.Ann} },
		Tolerate: func(err error) bool {
			var ie *dataset.ItemError
			return errors.As(err, &ie)
		},
	}
}

// Import reads src in the settings' format, checks every item on rc's item
// pool and stores the dataset.
func Import(ctx context.Context, rc *engine.RunContext, src dataset.Source, set Settings) (*Result, error) {
	imp, err := formats.Importer(set.Format, set.Options)
	if err != nil {
		return nil, err
	}
	return importWith(ctx, rc, src, imp, set)
}

// importWith runs imp with every check of the import step.
func importWith(ctx context.Context, rc *engine.RunContext, src dataset.Source, imp dataset.Importer, set Settings) (*Result, error) {
	var meta *dataset.Meta
	results, err := engine.StreamItems(ctx, rc, itemWork(set), func(emit func(engine.Item[*item]) error) error {
		var err error
		meta, err = imp.Import(ctx, src, func(it *dataset.SourceItem) error {
			return emit(engine.Item[*item]{Name: it.Name, Key: keyLines(src, it), Run: func() (*item, error) {
				it.Resolve()
				return check(rc.Store, src, it, set)
			}})
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if meta == nil {
		meta = &dataset.Meta{}
	}
	var done []pending
	var bad []badItem
	for i, r := range results {
		if r.Err != nil {
			var ie *dataset.ItemError
			errors.As(r.Err, &ie)
			bad = append(bad, badItem{i, ie})
			continue
		}
		done = append(done, pending{i, *r.Value})
	}
	return finish(rc.Store, set, meta, done, bad)
}

// finish orders the items by name, then by the order the format emitted
// them in, never by the order the workers finished them in: of two items
// with the same name the first emitted is kept.
func finish(store *cache.Store, set Settings, meta *dataset.Meta, done []pending, bad []badItem) (*Result, error) {
	sort.Slice(done, func(i, j int) bool {
		if done[i].Entry.Name != done[j].Entry.Name {
			return done[i].Entry.Name < done[j].Entry.Name
		}
		return done[i].seq < done[j].seq
	})
	if set.Classes != nil {
		var missing []string
		for src := range set.Classes {
			if meta.Class(src) == nil {
				missing = append(missing, src)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			var have []string
			for _, c := range meta.Classes {
				have = append(have, c.Title)
			}
			sort.Strings(have)
			if s := engine.Suggest(missing[0], have); s != "" {
				return nil, fmt.Errorf("classes maps %q, which the source does not have.%s Its classes are: %s", missing[0], s, strings.Join(have, ", "))
			}
			return nil, fmt.Errorf("classes maps %q, which the source does not have; its classes are: %s", missing[0], strings.Join(have, ", "))
		}
	}
	// Unknown classes, duplicates: item errors found only now.
	seen := map[string]bool{}
	kept := done[:0]
	for _, p := range done {
		var err error
		for _, c := range p.Classes {
			if set.Classes == nil && meta.Class(c) == nil {
				err = fmt.Errorf("unknown class %q: the source's meta does not declare it", c)
				break
			}
		}
		if err == nil && seen[p.Entry.Name] {
			err = fmt.Errorf("duplicate item name %q", p.Entry.Name)
		}
		if err != nil {
			bad = append(bad, badItem{p.seq, &dataset.ItemError{Item: p.Entry.Name, File: p.File, Err: err}})
			continue
		}
		seen[p.Entry.Name] = true
		kept = append(kept, p)
	}
	sort.Slice(bad, func(i, j int) bool {
		x, y := bad[i].err, bad[j].err
		if x.Item != y.Item {
			return x.Item < y.Item
		}
		if x.File != y.File {
			return x.File < y.File
		}
		return bad[i].seq < bad[j].seq
	})
	if len(bad) > 0 && !set.Skip {
		more := ""
		if len(bad) > 1 {
			more = fmt.Sprintf(" (and %d more bad item(s); on_error = \"skip\" leaves them out)", len(bad)-1)
		}
		return nil, fmt.Errorf("%w%s", bad[0].err, more)
	}
	rep := Report{Format: set.Format, Objects: map[string]int{}, Skipped: []Skipped{}}
	for _, b := range bad {
		rep.Skipped = append(rep.Skipped, Skipped{Item: b.err.Item, File: b.err.File, Error: b.err.Err.Error()})
	}
	out := outputMeta(meta, set.Classes)
	b := dataset.NewBuilder(store)
	for _, p := range kept {
		if err := b.AddEntry(p.Entry); err != nil {
			return nil, err
		}
		for c, n := range p.Objects {
			rep.Objects[c] += n
		}
		for _, w := range p.Warnings {
			rep.Warnings = append(rep.Warnings, Warning{Item: p.Entry.Name, File: p.File, Message: w})
		}
		for _, t := range p.Tags {
			out.AddTag(dataset.TagMeta{Name: t})
		}
	}
	ds, err := b.Finish(out)
	if err != nil {
		return nil, err
	}
	rep.Items = len(ds.Entries)
	return &Result{Dataset: ds, Report: rep}, nil
}

// outputMeta applies the class mapping to the source meta: each target
// class takes the shape its sources share (else "any") and the colour of
// its first source in name order.
func outputMeta(src *dataset.Meta, mapping map[string]string) *dataset.Meta {
	out := &dataset.Meta{Tags: append([]dataset.TagMeta(nil), src.Tags...)}
	if mapping == nil {
		out.Classes = append(out.Classes, src.Classes...)
		return out
	}
	sources := map[string][]string{}
	for s, d := range mapping {
		sources[d] = append(sources[d], s)
	}
	for d, ss := range sources {
		sort.Strings(ss)
		first := src.Class(ss[0])
		c := dataset.Class{Title: d, Shape: first.Shape, Color: first.Color}
		for _, s := range ss[1:] {
			if src.Class(s).Shape != c.Shape {
				c.Shape = dataset.ShapeAny
			}
		}
		out.Classes = append(out.Classes, c)
	}
	out.Sort()
	return out
}

// check runs every check on an item whose annotation is loaded.
func check(store *cache.Store, src dataset.Source, it *dataset.SourceItem, set Settings) (*item, error) {
	if it.Err != nil {
		var ie *dataset.ItemError
		if errors.As(it.Err, &ie) {
			if (ie.Item == "" && it.Name != "") || (ie.File == "" && it.File != "") {
				// Name the item and the file even where the format did not.
				c := *ie
				if c.Item == "" {
					c.Item = it.Name
				}
				if c.File == "" {
					c.File = it.File
				}
				ie = &c
			}
			return nil, ie
		}
		return nil, &dataset.ItemError{Item: it.Name, File: it.File, Err: it.Err}
	}
	itemErr := func(format string, args ...any) error {
		return &dataset.ItemError{Item: it.Name, File: it.File, Err: fmt.Errorf(format, args...)}
	}
	if err := dataset.ValidItemName(it.Name); err != nil {
		return nil, itemErr("%v", err)
	}
	var data []byte
	var digest cache.Digest
	var size int64
	imageFile := it.Image
	switch {
	case it.ImageBytes != nil:
		data = it.ImageBytes
		var err error
		if digest, err = store.PutBytes(data); err != nil {
			return nil, err
		}
		size = int64(len(data))
		imageFile = it.Name
	case src == nil:
		return nil, itemErr("the format gave no image")
	default:
		if !fs.ValidPath(it.Image) {
			return nil, itemErr("image path %q escapes the source directory", it.Image)
		}
		var err error
		if digest, size, err = src.Digest(it.Image); err != nil {
			return nil, itemErr("image %s: %v", it.Image, err)
		}
		if data, err = fs.ReadFile(src, it.Image); err != nil {
			if cache.IsCorrupt(err) || cache.IsNotFound(err) {
				return nil, err // a store problem, not the item's
			}
			return nil, itemErr("image %s: %v", it.Image, err)
		}
	}
	w, h, err := checkImage(data, set.Decode)
	if err != nil {
		return nil, &dataset.ItemError{Item: it.Name, File: imageFile, Err: err}
	}
	a := it.Ann
	if a == nil {
		a = &dataset.Annotation{}
	}
	switch {
	case a.Width == 0 && a.Height == 0:
		a.Width, a.Height = w, h
	case a.Width != w || a.Height != h:
		return nil, itemErr("the annotation says the image is %dx%d, but %s is %dx%d", a.Width, a.Height, imageFile, w, h)
	}
	frame := image.Rect(0, 0, w, h)
	p := &item{File: it.File, Objects: map[string]int{}, Warnings: it.Warnings}
	objs := a.Objects[:0:0]
	for i, o := range a.Objects {
		b := o.Bounds()
		if b.Empty() {
			return nil, itemErr("object %d (class %q) is empty", i, o.Class)
		}
		if !b.In(frame) {
			if !set.Clip || !b.Overlaps(frame) {
				return nil, itemErr("object %d (class %q) spans %v, outside the %dx%d image", i, o.Class, b, w, h)
			}
			clipped, err := clip(o, w, h)
			if err != nil {
				return nil, itemErr("object %d (class %q): %v", i, o.Class, err)
			}
			o = clipped
		}
		p.Classes = append(p.Classes, o.Class)
		if set.Classes != nil {
			to, ok := set.Classes[o.Class]
			if !ok {
				continue
			}
			o.Class = to
		}
		p.Objects[o.Class]++
		objs = append(objs, o)
	}
	a.Objects = objs
	for _, t := range a.Tags {
		p.Tags = append(p.Tags, t.Name)
	}
	for _, o := range objs {
		for _, t := range o.Tags {
			p.Tags = append(p.Tags, t.Name)
		}
	}
	raw, err := dataset.EncodeAnnotation(a)
	if err != nil {
		return nil, itemErr("%v", err)
	}
	annD, err := store.PutBytes(raw)
	if err != nil {
		return nil, err
	}
	p.Entry = dataset.Entry{Name: it.Name, Image: digest, ImageSize: size, Ann: annD, AnnSize: int64(len(raw)), Width: w, Height: h}
	sort.Strings(p.Classes)
	return p, nil
}

// keyLines are the item key lines of a lazily loaded item: the digests of
// its image and of every file its annotation depends on; nil (not
// memoized) for other items.
func keyLines(src dataset.Source, it *dataset.SourceItem) []string {
	if it.Err != nil || it.Ann != nil || it.Load == nil || src == nil || len(it.Deps) == 0 || it.ImageBytes != nil || !fs.ValidPath(it.Image) {
		return nil
	}
	lines := make([]string, 0, 1+len(it.Deps))
	for _, f := range append([]string{it.Image}, it.Deps...) {
		d, _, err := src.Digest(f)
		if err != nil {
			return nil
		}
		lines = append(lines, "file "+f+" "+d.String())
	}
	return lines
}

// clip cuts an object that crosses the image border to the image
// (dataset.Object.ClipTo: a rectangle stays a rectangle, any other shape
// becomes the bitmap of its pixels inside); it fails when nothing is left.
func clip(o dataset.Object, w, h int) (dataset.Object, error) {
	c, ok, err := o.ClipTo(w, h)
	if err == nil && !ok {
		err = errors.New("nothing of it lies inside the image")
	}
	return c, err
}

// checkImage reads the image header, bounds its size, and checks that the
// file is complete (JPEG ends with EOI, PNG with IEND) or, with decode,
// decodes every pixel.
func checkImage(data []byte, decode bool) (w, h int, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("not a decodable image: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > dataset.MaxPixels {
		return 0, 0, fmt.Errorf("the image header claims %dx%d pixels (at most %d are accepted)", cfg.Width, cfg.Height, dataset.MaxPixels)
	}
	if decode {
		if _, err := dataset.DecodeImageFile(data); err != nil {
			return 0, 0, fmt.Errorf("the %s image does not decode: %v", format, err)
		}
		return cfg.Width, cfg.Height, nil
	}
	switch format {
	case "jpeg":
		end := bytes.TrimRight(data, "\x00")
		if !bytes.HasSuffix(end, []byte{0xFF, 0xD9}) {
			return 0, 0, errors.New("the JPEG image is truncated (no end-of-image marker)")
		}
	case "png":
		if !bytes.HasSuffix(data, []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}) {
			return 0, 0, errors.New("the PNG image is truncated (no IEND chunk)")
		}
	}
	return cfg.Width, cfg.Height, nil
}

// ReportTree stores the report as a tree holding report.json.
func ReportTree(s *cache.Store, r Report) (cache.Digest, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return cache.Digest{}, err
	}
	d, err := s.PutBytes(b.Bytes())
	if err != nil {
		return cache.Digest{}, err
	}
	return s.PutTree([]cache.TreeEntry{{Name: "report.json", Kind: cache.File, Digest: d, Size: int64(b.Len())}})
}

// ImportDir imports a directory on disk (dsbuild convert and stats): it is
// stored into s first, by reflink where the file system supports it, else
// by copy, so that the directory and the store never share a file.
func ImportDir(ctx context.Context, rc *engine.RunContext, dir string, set Settings) (*Result, error) {
	s := rc.Store
	var src dataset.Source
	if formats.NeedsPath(set.Format) {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s: not a directory", dir)
		}
		d, _, err := s.PutDir(ctx, dir, cache.IngestOptions{Adopt: cache.Clone})
		if err != nil {
			return nil, err
		}
		src = s.TreeFS(d)
	}
	return Import(ctx, rc, src, set)
}
