// Package export is the export step kind: a dataset artifact written in
// one of the public formats, as a tree output (checkout copies it out).
//
//	export "coco" {
//	  from    = transform.people
//	  format  = "coco"
//	  options = { masks = "polygons" }
//	}
//
// Each item's share of the work (dataset.Exporter's ExportItem) goes
// through engine.Items: it is memoized under the item's name, size, image
// and annotation, the dataset's meta and the step's parameters, so a
// dataset with more items exports only the new ones, and a distributed
// build can run the shares in shards (engine.Itemwise). The output is the
// format's whole export, byte for byte, whatever was memoized or sharded.
// It is built as a tree of the store (cache.Store.PutFiles): the images
// and the items' stored files are named by digest, never copied or read.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/engine"
)

// Kind is the export step kind.
type Kind struct{}

func (Kind) Name() string { return "export" }

// Version of the export kind: bump it when the same dataset exports to
// other bytes. 2: COCO writes box-only objects as their box polygon;
// pascal_voc writes labelmap.txt and by default the dataset's classes when
// they are not VOC's. 3: masks writes each item's image to
// <dataset>/images/ (option images), so that the export reads back; a
// dataset without items gets coco's instances_default.json and
// pascal_voc's empty default list.
func (Kind) Version() int { return 3 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Writes a dataset in one of the public formats.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputOne, Required: true, Doc: "the dataset"},
			{Name: "format", Type: cty.String, Required: true, Doc: "the format to write"},
			{Name: "options", Type: cty.Map(cty.String), Doc: "format settings"},
		},
		Outputs: []string{"out"},
	}
}

func optionsOf(cfg *engine.Config) dataset.Options {
	if !cfg.Has("options") {
		return dataset.Options{}
	}
	out := dataset.Options{}
	for it := cfg.Params["options"].ElementIterator(); it.Next(); {
		k, v := it.Element()
		if !v.IsNull() {
			out[k.AsString()] = v.AsString()
		}
	}
	return out
}

// settings are an export step's parameters, decoded when the recipe loads.
type settings struct {
	format  string
	options dataset.Options
}

// Decode reads the parameters and checks that the format exists and takes
// the options (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{format: cfg.String("format"), options: optionsOf(cfg)}
	subject, summary, detail := "", "", ""
	if !slices.Contains(formats.ExportNames(), set.format) {
		subject, summary = "format", "Unknown format"
		detail = fmt.Sprintf("There is no export format %q.%s The formats are: %s.", set.format, engine.Suggest(set.format, formats.ExportNames()), strings.Join(formats.ExportNames(), ", "))
	} else if _, err := formats.Exporter(set.format, set.options); err != nil {
		subject, summary, detail = "options", "Invalid format options", err.Error()
	}
	if subject == "" {
		return set, nil
	}
	r := cfg.Range(subject)
	return set, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}}
}

// itemWork lays out the step's item work, one item per entry: the
// exporter's ExportItem, memoized under the entry's name, size, image and
// annotation and the dataset's meta (the step's parameters are in the
// salt). Run and PlanItems share it.
func itemWork(ctx context.Context, rc *engine.RunContext, ds *dataset.Dataset, x dataset.Exporter) (engine.ItemWork[dataset.ExportedItem], []engine.Item[dataset.ExportedItem]) {
	work := engine.ItemWork[dataset.ExportedItem]{
		Scheme: "export item v2", // v2: records name their stored files with sizes
		Refs:   func(it dataset.ExportedItem) []cache.Digest { return it.Blobs },
	}
	items := make([]engine.Item[dataset.ExportedItem], len(ds.Entries))
	for i, e := range ds.Entries {
		items[i] = engine.Item[dataset.ExportedItem]{
			Name: e.Name,
			Key: []string{"meta " + ds.MetaDigest.String(), fmt.Sprintf("size %dx%d", e.Width, e.Height),
				"image " + e.Image.String(), "ann " + e.Ann.String()},
			Run:   func() (dataset.ExportedItem, error) { return x.ExportItem(ctx, ds, rc.Store, e) },
			Reads: []cache.Digest{e.Image, e.Ann},
		}
	}
	return work, items
}

// exporter is the step's exporter.
func exporter(rc *engine.RunContext) (dataset.Exporter, error) {
	set := engine.Decoded[*settings](rc.Config)
	return formats.Exporter(set.format, set.options)
}

// PlanItems lists the items and their key lines, for plan's estimate.
func (Kind) PlanItems(ctx context.Context, rc *engine.RunContext) (engine.ItemPlan, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return engine.ItemPlan{}, err
	}
	x, err := exporter(rc)
	if err != nil {
		return engine.ItemPlan{}, err
	}
	return engine.PlanOf(itemWork(ctx, rc, ds, x)), nil
}

// Itemwise: a step's items can run in shards (engine.ShardRun).
func (Kind) Itemwise() {}

// Run does each item's share of the export (memoized per item: a dataset
// with a few more items exports only those), then has the format write
// the export as a tree of the store: the files it makes are stored as
// they are written, and the images and the items' stored files are named
// by digest, never read (on a worker they may stay on the remote).
func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return nil, err
	}
	x, err := exporter(rc)
	if err != nil {
		return nil, err
	}
	work, items := itemWork(ctx, rc, ds, x)
	set := engine.Decoded[*settings](rc.Config)
	results, err := engine.Items(ctx, rc, work, items)
	if err != nil {
		return nil, fmt.Errorf("exporting as %s: %w", set.format, err)
	}
	shares := make([]dataset.ExportedItem, len(results))
	for i, r := range results {
		shares[i] = r.Value
	}
	tw := &treeWriter{s: rc.Store}
	err = x.Finish(ctx, ds, rc.Store, shares, tw)
	if cerr := tw.close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = tw.checkNamed(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("exporting as %s: %w", set.format, err)
	}
	d, err := rc.Store.PutFiles(tw.files, tw.dirs)
	if err != nil {
		return nil, fmt.Errorf("exporting as %s: %w", set.format, err)
	}
	return map[string]cache.Digest{"out": d}, nil
}

// treeWriter is the export step's dataset.ExportWriter: the export as a
// tree of the store. A file made with Create is stored as it is written
// (streamed, whatever its size); WriteBlob names a blob without reading
// it; PutFiles makes the tree of both.
type treeWriter struct {
	s       *cache.Store
	files   []cache.TreeFile
	dirs    []string
	created []*storedFile
	missing []cache.TreeFile // named by WriteBlob, not in the store
}

// Create implements dataset.ExportWriter.
func (t *treeWriter) Create(rel string) (io.WriteCloser, error) {
	pr, pw := io.Pipe()
	f := &storedFile{t: t, rel: rel, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.d, f.n, f.err = t.s.PutReader(pr, -1)
		pr.CloseWithError(f.err) // a failed store fails the writes
	}()
	t.created = append(t.created, f)
	return f, nil
}

// WriteBlob implements dataset.ExportWriter.
func (t *treeWriter) WriteBlob(rel string, d cache.Digest, size int64) error {
	f := cache.TreeFile{Path: rel, Digest: d, Size: size}
	t.files = append(t.files, f)
	if !t.s.Has(d) {
		t.missing = append(t.missing, f)
	}
	return nil
}

// checkNamed checks that the blobs WriteBlob named are there, as reading
// them would have: in the store (a stat each), or else on its remote (one
// batched existence check; a blob the remote lacks is uploaded from here,
// which fails if it is nowhere). A missing blob is a cache.NotFoundError,
// so the engine rebuilds the step that made it and tries again.
func (t *treeWriter) checkNamed(ctx context.Context) error {
	switch {
	case len(t.missing) == 0:
		return nil
	case !t.s.HasRemote():
		return fmt.Errorf("%s: %w", t.missing[0].Path, &cache.NotFoundError{Digest: t.missing[0].Digest})
	}
	refs := make([]cache.Ref, len(t.missing))
	for i, f := range t.missing {
		refs[i] = cache.Ref{Digest: f.Digest, Size: f.Size}
	}
	if err := t.s.Upload(ctx, refs); err != nil {
		return fmt.Errorf("%d of the files it names are neither here nor on the remote (%s first): %w", len(refs), t.missing[0].Path, err)
	}
	return nil
}

// Mkdir implements dataset.ExportWriter.
func (t *treeWriter) Mkdir(rel string) error {
	t.dirs = append(t.dirs, rel)
	return nil
}

// close ends the files Finish left open (a failed Finish's, say), which
// are then not in the export: the first is an error.
func (t *treeWriter) close() error {
	var err error
	for _, f := range t.created {
		if f.closed {
			continue
		}
		f.pw.CloseWithError(errors.New("export abandoned"))
		<-f.done
		if err == nil {
			err = fmt.Errorf("%s was not closed", f.rel)
		}
	}
	return err
}

// storedFile is a file of a treeWriter being written.
type storedFile struct {
	t      *treeWriter
	rel    string
	pw     *io.PipeWriter
	done   chan struct{}
	closed bool
	d      cache.Digest
	n      int64
	err    error
}

func (f *storedFile) Write(p []byte) (int, error) { return f.pw.Write(p) }

// Close ends the file and adds it to the tree once stored.
func (f *storedFile) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.pw.Close()
	<-f.done
	if f.err != nil {
		return fmt.Errorf("storing %s: %w", f.rel, f.err)
	}
	f.t.files = append(f.t.files, cache.TreeFile{Path: f.rel, Digest: f.d, Size: f.n})
	return nil
}
