// Package stats is the stats step kind: a dataset's counts (what dsbuild
// stats prints) as an artifact, so a recipe can keep them with the
// dataset version they describe and CI can diff them.
//
//	stats "people" {
//	  from = transform.people
//	}
//
// Its output "stats" is a tree of two files: stats.json, the counts as
// `dsbuild stats --json` prints them (dataset.Stats: items, objects per
// class, tags, object tags, image sizes, shapes, object sizes), and
// stats.html, the same as `dsbuild stats --html` writes. Each item's
// counts (dataset.ItemStats) go through engine.Items: memoized under the
// item's name, size and annotation and the dataset's meta, so a dataset
// with a few more items reads only the new ones' annotations, and a
// distributed build can count in shards (engine.Itemwise). The sum does
// not depend on the order, the memo or the shards.
package stats

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/report"
	"dsbuild/engine"
)

// Kind is the stats step kind.
type Kind struct{}

func (Kind) Name() string { return "stats" }
func (Kind) Version() int { return 1 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Counts a dataset's items, objects per class, tags, image and object sizes: stats.json and stats.html, as dsbuild stats writes them.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputOne, Required: true, Doc: "the dataset"},
		},
		Outputs: []string{"stats"},
	}
}

// Files of the output tree.
const (
	JSONFile = "stats.json"
	HTMLFile = "stats.html"
)

// itemWork lays out one item per entry: its counts. Run and PlanItems
// share it.
func itemWork(rc *engine.RunContext, ds *dataset.Dataset) (engine.ItemWork[*dataset.Stats], []engine.Item[*dataset.Stats]) {
	work := engine.ItemWork[*dataset.Stats]{Scheme: "stats item v1"}
	items := make([]engine.Item[*dataset.Stats], len(ds.Entries))
	for i, e := range ds.Entries {
		items[i] = engine.Item[*dataset.Stats]{
			Name:  e.Name,
			Key:   []string{"meta " + ds.MetaDigest.String(), fmt.Sprintf("size %dx%d", e.Width, e.Height), "ann " + e.Ann.String()},
			Run:   func() (*dataset.Stats, error) { return dataset.ItemStats(ds, rc.Store, e) },
			Reads: []cache.Digest{e.Ann},
		}
	}
	return work, items
}

// PlanItems lists the items and their key lines, for plan's estimate.
func (Kind) PlanItems(ctx context.Context, rc *engine.RunContext) (engine.ItemPlan, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return engine.ItemPlan{}, err
	}
	return engine.PlanOf(itemWork(rc, ds)), nil
}

// Itemwise: a step's items can run in shards (engine.ShardRun).
func (Kind) Itemwise() {}

// Run counts each item (memoized per item), sums the counts and stores
// stats.json and stats.html.
func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return nil, err
	}
	work, items := itemWork(rc, ds)
	results, err := engine.Items(ctx, rc, work, items)
	if err != nil {
		return nil, err
	}
	counts := make([]*dataset.Stats, len(results))
	for i, r := range results {
		counts[i] = r.Value
	}
	st := dataset.SumStats(ds.Meta, counts)
	var js, page bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		return nil, err
	}
	// The page names the dataset, not the step: the key has no step name.
	if err := report.Stats(&page, ds, st, "dataset "+ds.Tree.Short()); err != nil {
		return nil, fmt.Errorf("%s: %w", HTMLFile, err)
	}
	var entries []cache.TreeEntry
	for _, f := range []struct {
		name string
		data []byte
	}{{JSONFile, js.Bytes()}, {HTMLFile, page.Bytes()}} {
		d, err := rc.Store.PutBytes(f.data)
		if err != nil {
			return nil, err
		}
		entries = append(entries, cache.TreeEntry{Name: f.name, Kind: cache.File, Digest: d, Size: int64(len(f.data))})
	}
	tree, err := rc.Store.PutTree(entries)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"stats": tree}, nil
}
