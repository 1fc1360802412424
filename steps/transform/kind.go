// Package transform is the transform step kind: one or more datasets,
// merged in order, sent item by item through a sequence of op blocks, run
// in the order written, like the layers of Supervisely's DTL
// (shared/docs/dtl.md).
//
//	transform "people" {
//	  from = [import.voc, import.coco]
//	  keep_classes {
//	    classes = ["person"]
//	  }
//	  skip_if {
//	    no_objects = true
//	  }
//	  flip {
//	    axis = "horizontal"
//	  }
//	}
//
// Items are memoized one by one by the engine (engine.Items): an item's key
// lines are its image and annotation digests, so adding K images to a
// source processes exactly K items, and changing an op processes every
// item again but imports nothing. An item's random choices come from a
// generator seeded by its name and digests, so results depend neither on the
// order of items nor on the number of workers. A chain of pixel ops decodes
// an item's image once and encodes it once (as PNG).
package transform

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
)

// Kind is the transform step kind.
type Kind struct{}

func (Kind) Name() string { return "transform" }

// Version 2: PNG writer with a fixed filter. 3: objects keep their order
// (the drawing order), where the canonical encoding used to sort them. 4:
// the PNG writer's deflate codes Huffman only (no LZ77 matching): 4× faster
// on photo crops for files about 8 % larger (OpenCV's PNG writer also
// skips string matching by default: zlib level 1 with the RLE strategy).
func (Kind) Version() int { return 4 }

// KeyLines puts the image decoder in the key: pixel ops work on the pixels
// it decodes from JPEGs.
func (Kind) KeyLines(cfg *engine.Config) []string { return []string{dataset.ImageDecoder} }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Sends the items of one or more datasets through ops, in the order written.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputList, Required: true, Doc: "datasets, merged in order"},
			{Name: "on_error", Type: cty.String, Default: cty.StringVal("fail"), Doc: `"fail" or "skip" (bad items are left out and listed in the report)`},
			{Name: "workers", Type: cty.Number, Int: true, NotInKey: true, Doc: "items processed at once (default: the build's -j)"},
		},
		Blocks:        blockSpecs(),
		Outputs:       []string{"dataset", "report"},
		DefaultOutput: "dataset",
	}
}

// settings is a transform's configuration, decoded once when the recipe
// loads: its ops, built and checked. Ops hold only their parameters, so
// the runs of one recipe share them.
type settings struct {
	ops     []builtOp
	skip    bool // on_error = "skip"
	workers int
}

// Decode builds the ops (diagnostics at their attributes) and checks
// on_error.
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	ops, diags := buildOps(cfg)
	v := cfg.String("on_error")
	if v != "fail" && v != "skip" {
		r := cfg.Range("on_error")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid on_error",
			Detail: fmt.Sprintf("on_error is %q; use \"fail\" or \"skip\".", v), Subject: &r})
	}
	return &settings{ops: ops, skip: v == "skip", workers: int(cfg.Int("workers"))}, diags
}

// work is a transform run's item work: one item per input item, whose
// result is the entries the ops made of it.
type work struct {
	meta  *dataset.Meta // of the output
	spec  engine.ItemWork[[]dataset.Entry]
	items []engine.Item[[]dataset.Entry]
}

// prepare opens and merges the inputs and lays out the item work; Run and
// PlanItems share it.
func prepare(rc *engine.RunContext) (*work, error) {
	set := engine.Decoded[*settings](rc.Config)
	ops := set.ops
	var inputs []*dataset.Dataset
	for _, in := range rc.Config.Inputs {
		ds, err := dataset.Open(rc.Store, rc.Inputs[in.Name])
		if err != nil {
			return nil, fmt.Errorf("%s (from %s): %w", in.Name, in.From.Addr, err)
		}
		inputs = append(inputs, ds)
	}
	inMeta, entries, err := merge(inputs, rc.Config.Inputs)
	if err != nil {
		return nil, err
	}
	// Items are parsed with the input meta (class shapes decide an
	// object's geometry); the ops' metas give the output meta.
	meta := inMeta
	for _, o := range ops {
		if m, ok := o.op.(MetaOp); ok {
			if meta, err = m.Meta(meta); err != nil {
				return nil, o.fail(err)
			}
		}
	}
	// An item's entries: the items the ops made of it.
	spec := engine.ItemWork[[]dataset.Entry]{
		Scheme:  "transform item v2",
		Workers: set.workers,
		Refs: func(out []dataset.Entry) []cache.Digest {
			refs := make([]cache.Digest, 0, 2*len(out))
			for _, e := range out {
				refs = append(refs, e.Image, e.Ann)
			}
			return refs
		},
	}
	if set.skip {
		spec.Tolerate = func(err error) bool {
			var ie *dataset.ItemError
			return errors.As(err, &ie)
		}
	}
	salt := rc.ItemSalt()
	items := make([]engine.Item[[]dataset.Entry], len(entries))
	for i, e := range entries {
		items[i] = engine.Item[[]dataset.Entry]{
			Name:  e.Name,
			Key:   []string{"image " + e.Image.String(), "ann " + e.Ann.String()},
			Run:   func() ([]dataset.Entry, error) { return apply(rc.Store, inMeta, ops, e, itemSeed(salt, e), nil) },
			Reads: []cache.Digest{e.Image, e.Ann},
		}
	}
	return &work{meta: meta, spec: spec, items: items}, nil
}

// PlanItems lists the items and their key lines, for plan's estimate.
func (Kind) PlanItems(ctx context.Context, rc *engine.RunContext) (engine.ItemPlan, error) {
	w, err := prepare(rc)
	if err != nil {
		return engine.ItemPlan{}, err
	}
	return engine.PlanOf(w.spec, w.items), nil
}

// Itemwise: a step's items can run in shards (engine.ShardRun).
func (Kind) Itemwise() {}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	w, err := prepare(rc)
	if err != nil {
		return nil, err
	}
	meta := w.meta
	results, err := engine.Items(ctx, rc, w.spec, w.items)
	if err != nil {
		return nil, err
	}
	b := dataset.NewBuilder(rc.Store)
	rep := ingest.Report{Format: "transform", Objects: map[string]int{}, Skipped: []ingest.Skipped{}}
	for _, r := range results {
		if r.Err != nil {
			var ie *dataset.ItemError
			errors.As(r.Err, &ie)
			rep.Skipped = append(rep.Skipped, ingest.Skipped{Item: r.Name, Error: ie.Err.Error()})
		}
		for _, out := range r.Value {
			if err := b.AddEntry(out); err != nil {
				return nil, fmt.Errorf("item %s: %w (ops that make several items of one name them <stem>__<k>)", r.Name, err)
			}
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		return nil, err
	}
	rep.Items = len(ds.Entries)
	repTree, err := ingest.ReportTree(rc.Store, rep)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"dataset": ds.Tree, "report": repTree}, nil
}

// merge unions the inputs in order: classes by title (differing shapes
// become "any"), tag definitions by name, items concatenated; an item name
// in two inputs is an error naming both.
func merge(inputs []*dataset.Dataset, ins []engine.Input) (*dataset.Meta, []dataset.Entry, error) {
	meta := &dataset.Meta{}
	var entries []dataset.Entry
	from := map[string]string{}
	for i, ds := range inputs {
		meta.Merge(ds.Meta)
		for _, e := range ds.Entries {
			if prev, dup := from[e.Name]; dup {
				return nil, nil, fmt.Errorf("item %s is in both %s and %s; give the sources different dataset names", e.Name, prev, ins[i].From.Addr)
			}
			from[e.Name] = ins[i].From.Addr
			entries = append(entries, e)
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	meta.Sort()
	return meta, entries, nil
}

// itemSeed seeds an item's random choices: a hash of the step's item salt
// (rc.ItemSalt), the item's name and its digests — not its position, so
// results depend neither on the order of items nor on the workers. (It is
// what the item memo's key was before the engine owned the memo; keeping it
// keeps every result.)
func itemSeed(salt cache.Digest, e dataset.Entry) [32]byte {
	return [32]byte(cache.Sum([]byte(fmt.Sprintf("dsbuild transform item v1\n%s\n%s\n%s\n%s\n", salt, e.Name, e.Image, e.Ann))))
}

// apply runs one input item through the ops, its random choices drawn
// from a generator seeded by seed.
func apply(s *cache.Store, meta *dataset.Meta, ops []builtOp, e dataset.Entry, seed [32]byte, work *pixelWork) ([]dataset.Entry, error) {
	raw, err := s.ReadBlob(e.Ann)
	if err != nil {
		return nil, err
	}
	ann, err := dataset.ParseAnnotation(raw, meta)
	if err != nil {
		return nil, &dataset.ItemError{Item: e.Name, Err: err}
	}
	first := &Item{Name: e.Name, Ann: ann, Rand: rand.New(rand.NewChaCha8(seed)), store: s, image: e.Image, imageSize: e.ImageSize, work: work}
	items := []*Item{first}
	for _, o := range ops {
		var next []*Item
		for _, it := range items {
			out, err := o.op.Apply(it)
			if err != nil {
				return nil, &dataset.ItemError{Item: e.Name, Err: o.fail(err)}
			}
			next = append(next, out...)
		}
		items = next
	}
	var outs []dataset.Entry
	for _, it := range items {
		out, err := it.finish(s)
		if err != nil {
			return nil, &dataset.ItemError{Item: e.Name, Err: err}
		}
		outs = append(outs, out)
	}
	return outs, nil
}
