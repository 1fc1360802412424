// Package imports is the import step kind: a dataset in one of the public
// formats becomes a dataset artifact (the canonical Supervisely layout of
// package dataset), with a class mapping applied and every item checked.
//
//	import "voc" {
//	  format   = "pascal_voc"
//	  path     = "data/VOCdevkit/VOC2012"      # relative to the recipe
//	  classes  = { person = "person" }         # optional: rename, merge, drop the rest
//	  options  = { void = "neutral" }          # format settings
//	  on_error = "skip"                        # or "fail" (the default)
//	}
//
// Checks on every item, whatever the format: the image decodes (header and
// a structural check that it is not truncated; options verify_images =
// "decode" decodes every pixel), its header claims at most
// dataset.MaxPixels pixels, the annotation's size matches the image, every
// object lies inside the image, item names are unique and valid, and every
// class is declared by the source. A failing item fails the step, naming
// the file and the item, or with on_error = "skip" is left out and listed
// in the step's report output (report.json).
package imports

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
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/engine"
)

// Settings configure one import.
type Settings struct {
	Format   string
	Options  dataset.Options
	Classes  map[string]string // source class → class; nil keeps every class as spelled
	Skip     bool              // on_error = "skip"
	Clip     bool              // clip objects to the image instead of failing
	Decode   bool              // decode every image fully
	Workers  int               // 0: one per CPU
	Progress func(done, total int64)
	// MemoSalt, when set, memoizes items that formats load lazily (see
	// dataset.SourceItem.Load) under keys derived from it: the step's key
	// without its inputs.
	MemoSalt cache.Digest
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

// Report is the import step's report.json.
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

// pending is one processed item, kept until the meta is known.
type pending struct {
	seq      int // position in the format's emission order
	entry    dataset.Entry
	classes  []string // source classes the item's objects used
	tags     []string // tag names on the image and its objects
	file     string
	objects  map[string]int
	warnings []string
}

// badItem is an item error and the position of its item in the format's
// emission order.
type badItem struct {
	seq int
	err *dataset.ItemError
}

// queued is an item as the format emitted it, numbered.
type queued struct {
	seq int
	it  *dataset.SourceItem
}

// Import reads src in the settings' format and stores the dataset.
func Import(ctx context.Context, store *cache.Store, src dataset.Source, set Settings) (*Result, error) {
	imp, err := formats.Importer(set.Format, set.Options)
	if err != nil {
		return nil, err
	}
	return importWith(ctx, store, src, imp, set)
}

// importWith runs imp with every check of the import step.
func importWith(ctx context.Context, store *cache.Store, src dataset.Source, imp dataset.Importer, set Settings) (*Result, error) {
	workers := set.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan queued, 2*workers)
	var (
		mu      sync.Mutex
		done    []pending
		bad     []badItem
		fatal   error // of the first item in emission order that had one
		fatalAt int
		counter atomic.Int64
		wg      sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := range queue {
				p, err := processItem(store, src, q.it, set)
				mu.Lock()
				var ie *dataset.ItemError
				switch {
				case err == nil:
					p.seq = q.seq
					done = append(done, *p)
				case errors.As(err, &ie):
					bad = append(bad, badItem{q.seq, ie})
				default:
					// Every item emitted is processed, so the first in
					// emission order wins, whatever finishes first.
					if fatal == nil || q.seq < fatalAt {
						fatal, fatalAt = err, q.seq
						cancel()
					}
				}
				mu.Unlock()
				n := counter.Add(1)
				if set.Progress != nil {
					set.Progress(n, 0)
				}
			}
		}()
	}
	seq := 0
	meta, ierr := imp.Import(ctx, src, func(it *dataset.SourceItem) error {
		select {
		case queue <- queued{seq, it}:
			seq++
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(queue)
	wg.Wait()
	if fatal != nil {
		return nil, fatal
	}
	if ierr != nil {
		return nil, ierr
	}
	if meta == nil {
		meta = &dataset.Meta{}
	}
	return finish(store, set, meta, done, bad)
}

// finish orders the items by name, then by the order the format emitted
// them in, never by the order the workers finished them in: of two items
// with the same name the first emitted is kept.
func finish(store *cache.Store, set Settings, meta *dataset.Meta, done []pending, bad []badItem) (*Result, error) {
	sort.Slice(done, func(i, j int) bool {
		if done[i].entry.Name != done[j].entry.Name {
			return done[i].entry.Name < done[j].entry.Name
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
		for _, c := range p.classes {
			if set.Classes == nil && meta.Class(c) == nil {
				err = fmt.Errorf("unknown class %q: the source's meta does not declare it", c)
				break
			}
		}
		if err == nil && seen[p.entry.Name] {
			err = fmt.Errorf("duplicate item name %q", p.entry.Name)
		}
		if err != nil {
			bad = append(bad, badItem{p.seq, &dataset.ItemError{Item: p.entry.Name, File: p.file, Err: err}})
			continue
		}
		seen[p.entry.Name] = true
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
		if err := b.AddEntry(p.entry); err != nil {
			return nil, err
		}
		for c, n := range p.objects {
			rep.Objects[c] += n
		}
		for _, w := range p.warnings {
			rep.Warnings = append(rep.Warnings, Warning{Item: p.entry.Name, File: p.file, Message: w})
		}
		for _, t := range p.tags {
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

// processItem checks one item, stores its image (when generated) and its
// canonical annotation, and returns its manifest entry.
func processItem(store *cache.Store, src dataset.Source, it *dataset.SourceItem, set Settings) (*pending, error) {
	if it.Err != nil || it.Ann != nil || it.Load == nil {
		return checkItem(store, src, it, set)
	}
	// A lazily loaded item: from the item memo when its files are
	// unchanged, else loaded, checked and remembered.
	key, memo := itemKey(src, it, set.MemoSalt)
	if memo {
		if p, ok := recallItem(store, key); ok {
			return p, nil
		}
	}
	loaded.Add(1)
	it.Resolve()
	p, err := checkItem(store, src, it, set)
	if err == nil && memo {
		rememberItem(store, key, p)
	}
	return p, err
}

// checkItem runs every check on an item whose annotation is loaded.
func checkItem(store *cache.Store, src dataset.Source, it *dataset.SourceItem, set Settings) (*pending, error) {
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
	p := &pending{file: it.File, objects: map[string]int{}, warnings: it.Warnings}
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
		p.classes = append(p.classes, o.Class)
		if set.Classes != nil {
			to, ok := set.Classes[o.Class]
			if !ok {
				continue
			}
			o.Class = to
		}
		p.objects[o.Class]++
		objs = append(objs, o)
	}
	a.Objects = objs
	for _, t := range a.Tags {
		p.tags = append(p.tags, t.Name)
	}
	for _, o := range objs {
		for _, t := range o.Tags {
			p.tags = append(p.tags, t.Name)
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
	p.entry = dataset.Entry{Name: it.Name, Image: digest, ImageSize: size, Ann: annD, AnnSize: int64(len(raw)), Width: w, Height: h}
	sort.Strings(p.classes)
	return p, nil
}

// itemKey is the memo key of a lazily loaded item: the salt, its name, and
// the digests of its image and of every file its annotation depends on.
func itemKey(src dataset.Source, it *dataset.SourceItem, salt cache.Digest) (cache.Digest, bool) {
	if salt.IsZero() || src == nil || len(it.Deps) == 0 || it.ImageBytes != nil || !fs.ValidPath(it.Image) {
		return cache.Digest{}, false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dsbuild import item v1\n%s\n%s\n", salt, it.Name)
	for _, f := range append([]string{it.Image}, it.Deps...) {
		d, _, err := src.Digest(f)
		if err != nil {
			return cache.Digest{}, false
		}
		fmt.Fprintf(&b, "%s %s\n", d, f)
	}
	return cache.Sum([]byte(b.String())), true
}

// loaded counts lazily loaded annotations actually read, for tests.
var loaded atomic.Int64

// memoItem is what the item memo keeps of an imported item.
type memoItem struct {
	Entry    dataset.Entry  `json:"entry"`
	Classes  []string       `json:"classes"`
	Tags     []string       `json:"tags"`
	File     string         `json:"file"`
	Objects  map[string]int `json:"objects"`
	Warnings []string       `json:"warnings,omitempty"`
}

func recallItem(s *cache.Store, key cache.Digest) (*pending, bool) {
	outs, err := s.GetMemo(key)
	if err != nil || len(outs) != 1 {
		return nil, false
	}
	raw, err := s.ReadBlob(outs[0].Digest)
	if err != nil {
		return nil, false
	}
	var m memoItem
	if json.Unmarshal(raw, &m) != nil || !s.Has(m.Entry.Image) || !s.Has(m.Entry.Ann) {
		return nil, false
	}
	return &pending{entry: m.Entry, classes: m.Classes, tags: m.Tags, file: m.File, objects: m.Objects, warnings: m.Warnings}, true
}

// rememberItem records an imported item; failing to is only a lost
// shortcut for the next build.
func rememberItem(s *cache.Store, key cache.Digest, p *pending) {
	raw, err := json.Marshal(memoItem{Entry: p.entry, Classes: p.classes, Tags: p.tags, File: p.file, Objects: p.objects, Warnings: p.warnings})
	if err != nil {
		return
	}
	if d, err := s.PutBytes(raw); err == nil {
		s.PutMemo(key, []cache.Output{{Name: "item", Digest: d}})
	}
}

// clip turns an object that crosses the image border into a bitmap of its
// part inside the image.
func clip(o dataset.Object, w, h int) (dataset.Object, error) {
	m, err := o.Raster(w, h)
	if err != nil {
		return o, err
	}
	if m.Area() == 0 {
		return o, errors.New("nothing of it lies inside the image")
	}
	o.Shape, o.Mask, o.Origin, o.Polygon, o.Rect = dataset.ShapeBitmap, m, image.Point{}, dataset.Polygon{}, image.Rectangle{}
	return o, nil
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
