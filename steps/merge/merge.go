// Package merge is the merge step kind: the union of datasets, with a
// policy for items of the same name and duplicate images.
//
//	merge "all" {
//	  from     = [import.voc, import.coco, transform.reviewed]
//	  conflict = "prefer_last"   # "error" (default), "prefer_last", "keep_both"
//	}
//
// Classes are merged by title (different shapes become "any"), tag
// definitions by name. Two items with the same name are a conflict:
// "error" fails naming both sources, "prefer_last" keeps the later
// input's item, "keep_both" renames the later one <stem>__<k><ext>. Items
// whose image (by digest) was already taken from an earlier input are
// duplicates: with dedupe = true (the default) they are left out and listed
// in the report.
package merge

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
)

// Kind is the merge step kind.
type Kind struct{}

func (Kind) Name() string { return "merge" }
func (Kind) Version() int { return 1 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "The union of datasets, with a policy for conflicts and duplicates.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputList, Required: true, Doc: "datasets, in order of precedence (later wins with prefer_last)"},
			{Name: "conflict", Type: cty.String, Default: cty.StringVal("error"), Doc: `"error", "prefer_last" or "keep_both"`},
			{Name: "dedupe", Type: cty.Bool, Default: cty.True, Doc: "leave out items whose image an earlier input already has"},
		},
		Outputs:       []string{"dataset", "report"},
		DefaultOutput: "dataset",
	}
}

// settings are a merge step's parameters, decoded when the recipe loads.
type settings struct {
	conflict string // "error", "prefer_last" or "keep_both"
	dedupe   bool
}

// Decode reads and checks the parameters (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{conflict: cfg.String("conflict"), dedupe: cfg.Bool("dedupe")}
	switch set.conflict {
	case "error", "prefer_last", "keep_both":
		return set, nil
	}
	r := cfg.Range("conflict")
	return set, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid conflict policy",
		Detail: fmt.Sprintf("conflict is %q; use \"error\", \"prefer_last\" or \"keep_both\".", set.conflict), Subject: &r}}
}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	set := engine.Decoded[*settings](rc.Config)
	policy, dedupe := set.conflict, set.dedupe
	meta := &dataset.Meta{}
	byName := map[string]int{} // name → index in entries
	var entries []dataset.Entry
	source := map[string]string{}
	images := map[cache.Digest]string{}
	rep := ingest.Report{Format: "merge", Objects: map[string]int{}, Skipped: []ingest.Skipped{}}
	for _, in := range rc.Config.Inputs {
		ds, err := dataset.Open(rc.Store, rc.Inputs[in.Name])
		if err != nil {
			return nil, fmt.Errorf("%s (from %s): %w", in.Name, in.From.Addr, err)
		}
		meta.Merge(ds.Meta)
		for _, e := range ds.Entries {
			if prev, dup := images[e.Image]; dup && dedupe {
				rep.Skipped = append(rep.Skipped, ingest.Skipped{Item: e.Name, Error: fmt.Sprintf("duplicate image: %s (from %s) has the same image as %s", e.Name, in.From.Addr, prev)})
				continue
			}
			if i, clash := byName[e.Name]; clash {
				switch policy {
				case "error":
					return nil, fmt.Errorf("item %s is in both %s and %s; set conflict = \"prefer_last\" or \"keep_both\"", e.Name, source[e.Name], in.From.Addr)
				case "prefer_last":
					entries[i] = e
					source[e.Name] = in.From.Addr
					images[e.Image] = e.Name
					continue
				case "keep_both":
					e.Name = freeName(e.Name, byName)
				}
			}
			byName[e.Name] = len(entries)
			source[e.Name] = in.From.Addr
			images[e.Image] = e.Name
			entries = append(entries, e)
		}
	}
	b := dataset.NewBuilder(rc.Store)
	for _, e := range entries {
		if err := b.AddEntry(e); err != nil {
			return nil, err
		}
	}
	meta.Sort()
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

// freeName returns <stem>__<k><ext> for the smallest k not taken.
func freeName(name string, taken map[string]int) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for k := 2; ; k++ {
		n := fmt.Sprintf("%s__%d%s", stem, k, ext)
		if _, ok := taken[n]; !ok {
			return n
		}
	}
}
