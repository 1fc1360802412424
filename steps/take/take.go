// Package take is the take step kind: a deterministic batch of a dataset's
// items, by rank. Items are ordered by a hash of the seed and the item's
// name, and the step keeps ranks skip … skip+count−1; so consecutive
// batches (skip = 0, count, 2·count, …) never overlap, and adding items to
// the pool never reorders the others. The bootstrap loop draws each
// round's images from the pool this way.
//
//	take "round1" {
//	  from  = import.unlabeled
//	  count = 40
//	  skip  = 0
//	}
package take

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
)

// Kind is the take step kind.
type Kind struct{}

func (Kind) Name() string { return "take" }
func (Kind) Version() int { return 1 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Keeps a deterministic batch of a dataset's items: ranks skip … skip+count−1 in an order fixed by the seed and the item names.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputOne, Required: true, Doc: "the dataset"},
			{Name: "count", Type: cty.Number, Int: true, Required: true, Doc: "items to keep"},
			{Name: "skip", Type: cty.Number, Int: true, Default: cty.NumberIntVal(0), Doc: "items to pass over first"},
			{Name: "seed", Type: cty.String, Default: cty.StringVal(""), Doc: "changes the order"},
		},
		Outputs: []string{"dataset"},
	}
}

// settings are a take step's parameters, decoded when the recipe loads.
type settings struct {
	count, skip int64
	seed        string
}

// Decode reads and checks the parameters (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{count: cfg.Int("count"), skip: cfg.Int("skip"), seed: cfg.String("seed")}
	var diags hcl.Diagnostics
	for _, a := range []struct {
		name   string
		v, min int64
	}{{"count", set.count, 1}, {"skip", set.skip, 0}} {
		if a.v < a.min {
			r := cfg.Range(a.name)
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + a.name,
				Detail: fmt.Sprintf("%s is %d; it must be at least %d.", a.name, a.v, a.min), Subject: &r})
		}
	}
	return set, diags
}

// Rank is an item's place in the order: a hash of the seed and the name.
func Rank(seed, name string) uint64 {
	h := cache.Sum([]byte("dsbuild take v1\n" + seed + "\n" + name))
	return binary.BigEndian.Uint64(h[:8])
}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return nil, err
	}
	set := engine.Decoded[*settings](rc.Config)
	seed := set.seed
	idx := make([]int, len(ds.Entries))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		ra, rb := Rank(seed, ds.Entries[idx[a]].Name), Rank(seed, ds.Entries[idx[b]].Name)
		return ra < rb || ra == rb && ds.Entries[idx[a]].Name < ds.Entries[idx[b]].Name
	})
	skip, count := set.skip, set.count
	if skip >= int64(len(idx)) {
		r := rc.Config.Range("skip")
		return nil, engine.Errorf(r, "skip is %d but the dataset has only %d items; the pool is used up", skip, len(idx))
	}
	end := min(skip+count, int64(len(idx)))
	if end-skip < count {
		rc.Logf("the pool has %d items left at rank %d; taking %d, not %d", int64(len(idx))-skip, skip, end-skip, count)
	}
	b := dataset.NewBuilder(rc.Store)
	for _, i := range idx[skip:end] {
		if err := b.AddEntry(ds.Entries[i]); err != nil {
			return nil, err
		}
	}
	out, err := b.Finish(ds.Meta)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"dataset": out.Tree}, nil
}
