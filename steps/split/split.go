// Package split is the split step kind: a dataset divided into named parts
// by fractions, deterministically by item, each part an output.
//
//	split "people" {
//	  from     = transform.people
//	  parts    = { train = 0.9, val = 0.1 }
//	  stratify = "class"          # optional: "class", or "tag:<name>"
//	}
//
// Without stratify, an item's part is decided by a hash of the seed and
// the item's name alone: adding items never moves the others from one part
// to another, and the shares come close to the fractions. With stratify,
// the items of each stratum (the item's first object class in name order,
// or the value of the given image tag; "" for none) are ordered by that
// hash and cut at the exact fractions, so every stratum is split in the
// same proportions.
package split

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
)

// Kind is the split step kind.
type Kind struct{}

func (Kind) Name() string { return "split" }
func (Kind) Version() int { return 1 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Divides a dataset into named parts by fractions, deterministically by item.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputOne, Required: true, Doc: "the dataset"},
			{Name: "parts", Type: cty.Map(cty.Number), Required: true, Doc: "part name → fraction; the fractions sum to 1"},
			{Name: "stratify", Type: cty.String, Doc: `"class" or "tag:<name>"`},
			{Name: "seed", Type: cty.String, Default: cty.StringVal(""), Doc: "changes which items go where"},
		},
		OutputsAttr: "parts",
	}
}

type part struct {
	name     string
	fraction float64
}

func parts(cfg *engine.Config) ([]part, error) {
	var out []part
	sum := 0.0
	for it := cfg.Params["parts"].ElementIterator(); it.Next(); {
		k, v := it.Element()
		f, _ := v.AsBigFloat().Float64()
		if f <= 0 || f > 1 {
			return nil, fmt.Errorf("part %q has fraction %v; fractions are in (0, 1]", k.AsString(), f)
		}
		out = append(out, part{k.AsString(), f})
		sum += f
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("parts is empty")
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, fmt.Errorf("the fractions sum to %v, not 1", sum)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// settings are a split step's parameters, decoded when the recipe loads.
type settings struct {
	parts    []part // sorted by name
	stratify string // "", "class" or "tag:<name>"
	seed     string
}

// Decode reads and checks the parameters (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	set := &settings{stratify: cfg.String("stratify"), seed: cfg.String("seed")}
	var err error
	if set.parts, err = parts(cfg); err != nil {
		r := cfg.Range("parts")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid parts", Detail: err.Error() + ".", Subject: &r})
	}
	if s := set.stratify; s != "" && s != "class" && (!strings.HasPrefix(s, "tag:") || s == "tag:") {
		r := cfg.Range("stratify")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid stratify",
			Detail: fmt.Sprintf("stratify is %q; use \"class\" or \"tag:<name>\".", s), Subject: &r})
	}
	return set, diags
}

// rank is an item's place in [0, 1), from the seed and its name only.
func rank(seed, name string) float64 {
	h := cache.Sum([]byte("dsbuild split v1\n" + seed + "\n" + name))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	set := engine.Decoded[*settings](rc.Config)
	ps, seed := set.parts, set.seed
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return nil, err
	}
	assign := make([]int, len(ds.Entries))
	if strat := set.stratify; strat == "" {
		for i, e := range ds.Entries {
			r, acc := rank(seed, e.Name), 0.0
			assign[i] = len(ps) - 1
			for k, p := range ps {
				acc += p.fraction
				if r < acc {
					assign[i] = k
					break
				}
			}
		}
	} else {
		strata := map[string][]int{}
		for i, e := range ds.Entries {
			key, err := stratum(rc.Store, ds, e, strat)
			if err != nil {
				return nil, err
			}
			strata[key] = append(strata[key], i)
		}
		for _, members := range strata {
			sort.Slice(members, func(a, b int) bool {
				return rank(seed, ds.Entries[members[a]].Name) < rank(seed, ds.Entries[members[b]].Name)
			})
			for k, n := range exactCounts(len(members), ps) {
				for _, i := range members[:n] {
					assign[i] = k
				}
				members = members[n:]
			}
		}
	}
	outs := map[string]cache.Digest{}
	for k, p := range ps {
		b := dataset.NewBuilder(rc.Store)
		for i, e := range ds.Entries {
			if assign[i] == k {
				if err := b.AddEntry(e); err != nil {
					return nil, err
				}
			}
		}
		out, err := b.Finish(ds.Meta)
		if err != nil {
			return nil, err
		}
		outs[p.name] = out.Tree
	}
	return outs, nil
}

// exactCounts splits n by the fractions with the largest-remainder method.
func exactCounts(n int, ps []part) []int {
	counts := make([]int, len(ps))
	type rem struct {
		k int
		r float64
	}
	var rems []rem
	total := 0
	for k, p := range ps {
		x := float64(n) * p.fraction
		counts[k] = int(math.Floor(x))
		total += counts[k]
		rems = append(rems, rem{k, x - math.Floor(x)})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].r > rems[j].r })
	for i := 0; total < n; i++ {
		counts[rems[i%len(rems)].k]++
		total++
	}
	return counts
}

func stratum(s dataset.Store, ds *dataset.Dataset, e dataset.Entry, strat string) (string, error) {
	a, err := ds.Annotation(s, e)
	if err != nil {
		return "", err
	}
	if strat == "class" {
		var classes []string
		for _, o := range a.Objects {
			classes = append(classes, o.Class)
		}
		sort.Strings(classes)
		if len(classes) == 0 {
			return "", nil
		}
		return classes[0], nil
	}
	name := strings.TrimPrefix(strat, "tag:")
	for _, t := range a.Tags {
		if t.Name == name {
			return "=" + t.Value, nil
		}
	}
	return "", nil
}
