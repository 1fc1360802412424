// Package export is the export step kind: a dataset artifact written in
// one of the public formats, as a tree output (checkout copies it out).
//
//	export "coco" {
//	  from    = transform.people
//	  format  = "coco"
//	  options = { masks = "polygons" }
//	}
package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// Run writes the dataset into a scratch directory of the store and stores
// it (the files are moved, not copied).
func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return nil, err
	}
	scratch, err := rc.Store.TempDir("export-")
	if err != nil {
		return nil, err
	}
	defer cache.RemoveAll(scratch)
	dir := filepath.Join(scratch, "out")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	set := engine.Decoded[*settings](rc.Config)
	if err := formats.Export(ctx, rc.Store, ds, set.format, set.options, dir); err != nil {
		return nil, err
	}
	d, _, err := rc.Store.PutDir(ctx, dir, cache.IngestOptions{KeepEmptyDirs: true, Adopt: cache.Move})
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"out": d}, nil
}
