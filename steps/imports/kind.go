package imports

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
)

// Version of the import kind: bump it when the same source imports to
// other bytes. 2: canonical object order uses the written (rounded)
// geometry, and holes of fewer than 3 vertices are left out. 3: a COCO
// annotation of several polygons is one bitmap object, and a box written as
// a polygon is a rectangle. 4: objects keep the source's order (the drawing
// order) instead of being sorted by class and box.
const Version = 4

// Kind is the import step kind.
type Kind struct{}

func (Kind) Name() string { return "import" }
func (Kind) Version() int { return Version }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Imports a dataset in one of the public formats as a dataset artifact.",
		Attrs: []engine.AttrSpec{
			{Name: "format", Type: cty.String, Required: true, Doc: "the source format"},
			{Name: "path", Type: cty.String, Doc: "source directory, relative to the recipe (not for synthetic)"},
			{Name: "classes", Type: cty.Map(cty.String), Doc: "class mapping: source class → class; classes not listed are dropped"},
			{Name: "options", Type: cty.Map(cty.String), Doc: "format settings"},
			{Name: "on_error", Type: cty.String, Default: cty.StringVal("fail"), Doc: `"fail" or "skip" (bad items are left out and listed in the report)`},
			{Name: "clip", Type: cty.Bool, Default: cty.False, Doc: "clip objects that cross the image border instead of failing"},
			{Name: "verify_images", Type: cty.String, Default: cty.StringVal("header"), Doc: `"header" (header and completeness) or "decode" (every pixel)`},
			engine.LinkAttr,
			engine.CopyAttr,
			{Name: "workers", Type: cty.Number, Int: true, NotInKey: true, Doc: "items processed at once (default: the build's -j)"},
		},
		Outputs:       []string{"dataset", "report"},
		DefaultOutput: "dataset",
	}
}

// settings are an import step's parameters, decoded when the recipe
// loads.
type settings struct {
	ingest ingest.Settings
	path   string // the source directory, relative to the recipe; "" for none
	adopt  cache.Adopt
}

// Decode reads and checks the parameters (engine.Decoder): the format
// exists and takes the options, the path is there when the format reads
// one.
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{
		ingest: ingest.Settings{
			Format:  cfg.String("format"),
			Options: optionsOf(cfg),
			Classes: mapOf(cfg, "classes"),
			Skip:    cfg.String("on_error") == "skip",
			Clip:    cfg.Bool("clip"),
			Decode:  cfg.String("verify_images") == "decode",
			Workers: int(cfg.Int("workers")),
		},
		path:  cfg.String("path"),
		adopt: engine.SourceAdopt(cfg),
	}
	diags := engine.ValidateLink(cfg)
	bad := func(attr, summary, detail string) {
		r := cfg.Range(attr)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r})
	}
	format := set.ingest.Format
	if !slices.Contains(formats.ImportNames(), format) {
		bad("format", "Unknown format", fmt.Sprintf("There is no import format %q.%s The formats are: %s.", format, engine.Suggest(format, formats.ImportNames()), strings.Join(formats.ImportNames(), ", ")))
	} else if _, err := formats.Importer(format, set.ingest.Options); err != nil {
		bad("options", "Invalid format options", err.Error())
	}
	switch {
	case formats.NeedsPath(format) && set.path == "":
		bad("format", "Missing source path", fmt.Sprintf("Format %q reads a directory: set path.", format))
	case !formats.NeedsPath(format) && cfg.Has("path"):
		bad("path", "Unexpected path", fmt.Sprintf("Format %q reads no directory.", format))
	case filepath.IsAbs(set.path):
		bad("path", "Absolute source path", "path must be relative to the recipe directory, so that the recipe builds the same anywhere.")
	}
	if v := cfg.String("on_error"); v != "fail" && v != "skip" {
		bad("on_error", "Invalid on_error", fmt.Sprintf("on_error is %q; use \"fail\" or \"skip\".", v))
	}
	if v := cfg.String("verify_images"); v != "header" && v != "decode" {
		bad("verify_images", "Invalid verify_images", fmt.Sprintf("verify_images is %q; use \"header\" or \"decode\".", v))
	}
	for from, to := range set.ingest.Classes {
		if from == "" || to == "" {
			bad("classes", "Invalid class mapping", "class names must not be empty.")
		}
	}
	return set, diags
}

func mapOf(cfg *engine.Config, name string) map[string]string {
	if !cfg.Has(name) {
		return nil
	}
	out := map[string]string{}
	for it := cfg.Params[name].ElementIterator(); it.Next(); {
		k, v := it.Element()
		if !v.IsNull() {
			out[k.AsString()] = v.AsString()
		}
	}
	return out
}

func optionsOf(cfg *engine.Config) dataset.Options {
	return dataset.Options(mapOf(cfg, "options"))
}

// KeyLines puts the image decoder in the key when verify_images = "decode":
// which images decode is its verdict; and, with clip = true, the rule that
// clips objects (dataset.ClipRule), which decides their geometry.
func (Kind) KeyLines(cfg *engine.Config) []string {
	set := engine.Decoded[*settings](cfg)
	var lines []string
	if set.ingest.Decode {
		lines = append(lines, dataset.ImageDecoder)
	}
	if set.ingest.Clip {
		lines = append(lines, "clip "+dataset.ClipRule)
	}
	return lines
}

// Sources hashes the source directory (through the stat cache) and stores
// it as the link attribute says: a reflink or copy by default, hard links
// with link = "hard" (engine.HashSource).
func (Kind) Sources(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	set := engine.Decoded[*settings](rc.Config)
	if !formats.NeedsPath(set.ingest.Format) {
		return nil, nil
	}
	d, err := engine.HashSource(ctx, rc, set.path, nil, set.adopt)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"source": d}, nil
}

// Itemwise: a step's items can run in shards (engine.ShardRun).
func (Kind) Itemwise() {}

// Run imports the stored source.
func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	set := engine.Decoded[*settings](rc.Config).ingest
	var src dataset.Source
	if d, ok := rc.Inputs["source"]; ok {
		src = rc.Store.TreeFS(d)
	}
	res, err := ingest.Import(ctx, rc, src, set)
	if err != nil {
		return nil, err
	}
	rep, err := ingest.ReportTree(rc.Store, res.Report)
	if err != nil {
		return nil, err
	}
	if n := len(res.Report.Skipped); n > 0 {
		rc.Logf("skipped %d bad item(s) (on_error = \"skip\"), first %s: %s", n, res.Report.Skipped[0].Item, res.Report.Skipped[0].Error)
	}
	if n := len(res.Report.Warnings); n > 0 {
		w := res.Report.Warnings[0]
		rc.Logf("%d warning(s) (listed in its report), first %s: %s", n, w.Item, w.Message)
	}
	return map[string]cache.Digest{"dataset": res.Dataset.Tree, "report": rep}, nil
}
