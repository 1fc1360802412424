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
// Items are memoized one by one: an item's key is the step's key without
// its inputs plus the item's name, image digest and annotation digest, so
// adding K images to a source processes exactly K items, and changing an op
// processes every item again but imports nothing. An item's random choices
// come from a generator seeded by its key, so results depend neither on the
// order of items nor on the number of workers. A chain of pixel ops decodes
// an item's image once and encodes it once (as PNG).
package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/steps/imports"
)

// Kind is the transform step kind.
type Kind struct{}

func (Kind) Name() string { return "transform" }

// Version 2: PNG writer with a fixed filter. 3: objects keep their order
// (the drawing order), where the canonical encoding used to sort them.
func (Kind) Version() int { return 3 }

// KeyLines puts the image decoder in the key: pixel ops work on the pixels
// it decodes from JPEGs.
func (Kind) KeyLines(cfg *engine.Config) []string { return []string{dataset.ImageDecoder} }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Sends the items of one or more datasets through ops, in the order written.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputList, Required: true, Doc: "datasets, merged in order"},
			{Name: "on_error", Type: cty.String, Default: cty.StringVal("fail"), Doc: `"fail" or "skip" (bad items are left out and listed in the report)`},
			{Name: "workers", Type: cty.Number, NotInKey: true, Doc: "items processed at once (default: the build's -j)"},
		},
		Blocks:        blockSpecs(),
		Outputs:       []string{"dataset", "report"},
		DefaultOutput: "dataset",
	}
}

func (Kind) Validate(cfg *engine.Config) hcl.Diagnostics {
	_, diags := buildOps(cfg)
	if v := cfg.String("on_error"); v != "fail" && v != "skip" {
		r := cfg.Range("on_error")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid on_error",
			Detail: fmt.Sprintf("on_error is %q; use \"fail\" or \"skip\".", v), Subject: &r})
	}
	return diags
}

// processed counts items run through the ops (memo misses), for tests.
var processed atomic.Int64

// memoRecord is what the item memo keeps for one input item.
type memoRecord struct {
	Entries []dataset.Entry `json:"entries"`
	Skipped string          `json:"skipped,omitempty"` // the item error, with on_error = "skip"
}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	ops, diags := buildOps(rc.Config)
	if diags.HasErrors() {
		return nil, diags
	}
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
				return nil, fmt.Errorf("op %s: %w", o.where, err)
			}
		}
	}
	skip := rc.Config.String("on_error") == "skip"
	salt := rc.ItemSalt()
	records := make([]memoRecord, len(entries))
	err = rc.ForEach(ctx, len(entries), int(rc.Config.Int("workers")), func(i int) error {
		var err error
		records[i], err = item(rc.Store, inMeta, ops, salt, entries[i], skip)
		return err // the lowest failing item's: the same error every time
	})
	if err != nil {
		return nil, err
	}
	b := dataset.NewBuilder(rc.Store)
	rep := imports.Report{Format: "transform", Objects: map[string]int{}, Skipped: []imports.Skipped{}}
	for i, e := range entries {
		if records[i].Skipped != "" {
			rep.Skipped = append(rep.Skipped, imports.Skipped{Item: e.Name, Error: records[i].Skipped})
		}
		for _, out := range records[i].Entries {
			if err := b.AddEntry(out); err != nil {
				return nil, fmt.Errorf("item %s: %w (ops that make several items of one name them <stem>__<k>)", e.Name, err)
			}
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		return nil, err
	}
	rep.Items = len(ds.Entries)
	repTree, err := imports.ReportTree(rc.Store, rep)
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

// item runs one input item through the ops, or takes its result from the
// item memo.
func item(s *cache.Store, meta *dataset.Meta, ops []builtOp, salt cache.Digest, e dataset.Entry, skip bool) (memoRecord, error) {
	key := cache.Sum([]byte(fmt.Sprintf("dsbuild transform item v1\n%s\n%s\n%s\n%s\n", salt, e.Name, e.Image, e.Ann)))
	if rec, ok := recall(s, key); ok {
		return rec, nil
	}
	processed.Add(1)
	rec, err := apply(s, meta, ops, key, e)
	if err != nil {
		var ie *dataset.ItemError
		if !errors.As(err, &ie) {
			return rec, err
		}
		if !skip {
			return rec, err
		}
		rec = memoRecord{Skipped: ie.Err.Error()}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return rec, err
	}
	d, err := s.PutBytes(raw)
	if err != nil {
		return rec, err
	}
	return rec, s.PutMemo(key, []cache.Output{{Name: "record", Digest: d}})
}

// recall reads a memoized item whose outputs are all still stored.
func recall(s *cache.Store, key cache.Digest) (memoRecord, bool) {
	outs, err := s.GetMemo(key)
	if err != nil || len(outs) != 1 {
		return memoRecord{}, false
	}
	raw, err := s.ReadBlob(outs[0].Digest)
	if err != nil {
		return memoRecord{}, false
	}
	var rec memoRecord
	if json.Unmarshal(raw, &rec) != nil {
		return memoRecord{}, false
	}
	for _, e := range rec.Entries {
		if !s.Has(e.Image) || !s.Has(e.Ann) {
			return memoRecord{}, false
		}
	}
	return rec, true
}

func apply(s *cache.Store, meta *dataset.Meta, ops []builtOp, key cache.Digest, e dataset.Entry) (memoRecord, error) {
	raw, err := s.ReadBlob(e.Ann)
	if err != nil {
		return memoRecord{}, err
	}
	ann, err := dataset.ParseAnnotation(raw, meta)
	if err != nil {
		return memoRecord{}, &dataset.ItemError{Item: e.Name, Err: err}
	}
	seed := [32]byte(key)
	first := &Item{Name: e.Name, Ann: ann, Rand: rand.New(rand.NewChaCha8(seed)), store: s, image: e.Image, imageSize: e.ImageSize}
	items := []*Item{first}
	for _, o := range ops {
		var next []*Item
		for _, it := range items {
			out, err := o.op.Apply(it)
			if err != nil {
				return memoRecord{}, &dataset.ItemError{Item: e.Name, Err: fmt.Errorf("op %s: %w", o.where, err)}
			}
			next = append(next, out...)
		}
		items = next
	}
	var rec memoRecord
	for _, it := range items {
		out, err := it.finish(s)
		if err != nil {
			return memoRecord{}, &dataset.ItemError{Item: e.Name, Err: err}
		}
		rec.Entries = append(rec.Entries, out)
	}
	return rec, nil
}
