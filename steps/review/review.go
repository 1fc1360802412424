// Package review is the review step kind: predictions go to people (or to
// a simulated reviewer) and come back as verdicts — good, needs
// correction, bad — with corrected objects for the middle case.
//
//	review "round1" {
//	  from    = preannotate.round1
//	  package = "review/round1/package"   # default: review/<name>/package
//	  results = "review/round1/results"   # default: review/<name>/results
//	}
//
// Without results, the step writes the review package (a Supervisely
// project, a CVAT for images 1.1 task and Label Studio tasks, package
// dataset/review) to the package directory and waits: the build finishes
// everything else and exits with code 2, and dsbuild review status lists
// what waits. Once the results directory holds an export from any of the
// three tools, the next build reads it; every item must have exactly one
// verdict, or nothing is accepted.
//
// Both directories must lie inside the recipe directory, clear of the
// directories other steps use (checked when the recipe loads and again
// before writing, engine.OutputRules); the package directory is replaced
// only when dsbuild made it (engine.ReplaceDir).
//
// With a simulate block, a reviewer is played from ground truth: an item
// whose prediction reaches IoU good against the truth is good, one below
// bad is bad, the rest are corrected to the truth. Its results files are
// written as the named tool would export them and read back like a
// person's.
//
//	review "round1" {
//	  from = preannotate.round1
//	  simulate {
//	    truth  = import.pool
//	    good   = 0.8
//	    bad    = 0.5
//	    format = "cvat"
//	  }
//	}
//
// Outputs: accepted, the good items as predicted and the corrected items
// with their corrections (bad ones are left out), and report, a tree
// holding verdicts.json (counts and each item's verdict, predicted and
// accepted objects, and when simulated the IoU of its prediction against
// the truth) and, when simulated, the results files. [Report.Summary]
// turns a report into the figures dsbuild review status shows, and
// [Statuses] says where each review step of a recipe stands (waiting,
// results-ready, reviewed, simulated, not-built), with figures only from
// lockfile entries that engine.ResolveLocked confirms; the command only
// prints them.
package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	rv "dsbuild/dataset/review"
	"dsbuild/engine"
)

// Kind is the review step kind.
type Kind struct{}

func (Kind) Name() string { return "review" }

// Version 2: verdicts.json records each item's predicted objects and,
// when simulated, the IoU its verdict was given by. Version 3: the
// Supervisely meta.json of the package and of simulated results declares
// every tag the predictions carry (the "confidence" tag among them), and
// Label Studio tasks may name their images by image_root or local_files.
func (Kind) Version() int { return 3 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Sends predictions to review (a Supervisely, CVAT and Label Studio package) and reads the verdicts back; waits until results exist, or simulates a reviewer from ground truth.",
		Attrs: []engine.AttrSpec{
			{Name: "from", Kind: engine.InputOne, Required: true, Doc: "the predictions: a preannotate step's dataset"},
			{Name: "package", Type: cty.String, Default: cty.StringVal(""), Doc: "where the review package is written, relative to the recipe (default review/<name>/package)"},
			{Name: "results", Type: cty.String, Default: cty.StringVal(""), Doc: "the directory reviewers' exports go to, relative to the recipe (default review/<name>/results)"},
			{Name: "image_root", Type: cty.String, Default: cty.StringVal(""), Doc: "the URL where the package's label-studio/images folder is served: Label Studio tasks load their images from <image_root>/<dataset>/<file>"},
			{Name: "local_files", Type: cty.String, Default: cty.StringVal(""), Doc: "the path of the package's label-studio/images folder below Label Studio's LOCAL_FILES_DOCUMENT_ROOT: tasks load their images as /data/local-files/?d=<local_files>/<dataset>/<file>"},
		},
		Blocks: []engine.BlockSpec{{
			Type: "simulate",
			Doc:  "plays the reviewer from ground truth instead of waiting for people",
			Attrs: []engine.AttrSpec{
				{Name: "truth", Kind: engine.InputOne, Required: true, Doc: "a dataset with the true objects of the same items"},
				{Name: "good", Type: cty.Number, Default: cty.NumberFloatVal(0.8), Doc: "IoU at or above which a prediction is good"},
				{Name: "bad", Type: cty.Number, Default: cty.NumberFloatVal(0.5), Doc: "IoU below which a prediction is bad"},
				{Name: "format", Type: cty.String, Default: cty.StringVal(rv.FormatSupervisely), Doc: `the tool whose export is written: "supervisely", "cvat" or "label-studio"`},
			},
		}},
		Outputs:       []string{"accepted", "report"},
		DefaultOutput: "accepted",
	}
}

// settings are a review step's parameters, decoded when the recipe
// loads.
type settings struct {
	pkg, results          string // as set; "" for the default (Dirs)
	imageRoot, localFiles string
	sim                   *simulation // nil when people review
}

// simulation is a simulate block's parameters.
type simulation struct {
	good, bad float64
	format    string
	at        hcl.Range // the block's header
}

// Decode reads and checks the parameters and the simulate block
// (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{pkg: cfg.String("package"), results: cfg.String("results"),
		imageRoot: cfg.String("image_root"), localFiles: cfg.String("local_files")}
	var diags hcl.Diagnostics
	if set.imageRoot != "" && set.localFiles != "" {
		r := cfg.Range("local_files")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting image URLs",
			Detail: "Label Studio tasks name their images either by image_root (a URL) or by local_files (a path below LOCAL_FILES_DOCUMENT_ROOT); set one of them.", Subject: &r})
	}
	for _, b := range cfg.Blocks {
		if b.Type != "simulate" {
			continue
		}
		r := b.Range
		if set.sim != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate simulate block", Detail: "A review has at most one simulate block.", Subject: &r})
		}
		sim := &simulation{format: b.Params["format"].AsString(), at: b.Range}
		sim.good, _ = b.Params["good"].AsBigFloat().Float64()
		sim.bad, _ = b.Params["bad"].AsBigFloat().Float64()
		if !(0 <= sim.bad && sim.bad <= sim.good && sim.good <= 1) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid IoU bars",
				Detail: fmt.Sprintf("simulate needs 0 ≤ bad ≤ good ≤ 1; they are bad = %v, good = %v.", sim.bad, sim.good), Subject: &r})
		}
		known := false
		for _, f := range rv.Formats {
			known = known || f == sim.format
		}
		if !known {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid format",
				Detail: fmt.Sprintf("simulate format is %q; use \"supervisely\", \"cvat\" or \"label-studio\".", sim.format), Subject: &r})
		}
		if set.sim == nil {
			set.sim = sim
		}
	}
	return set, diags
}

// Dirs returns the package and results directories of a review step,
// relative to the recipe.
func Dirs(s *engine.Step) (pkg, results string) {
	set := engine.Decoded[*settings](s.Config)
	pkg, results = set.pkg, set.results
	if pkg == "" {
		pkg = filepath.Join("review", s.Name, "package")
	}
	if results == "" {
		results = filepath.Join("review", s.Name, "results")
	}
	return pkg, results
}

// Paths implements engine.PathUser: the package directory is written and
// the results directory is the reviewers' (dsbuild only reads it); both
// must stay inside the recipe directory, clear of every directory another
// step uses.
func (Kind) Paths(s *engine.Step) []engine.PathUse {
	pkg, results := Dirs(s)
	uses := []engine.PathUse{{Attr: "package", Path: pkg, Output: true}}
	if !Simulated(s.Config) {
		uses = append(uses, engine.PathUse{Attr: "results", Path: results, Output: true})
	}
	return uses
}

// Simulated says whether a review step plays its reviewer.
func Simulated(cfg *engine.Config) bool {
	return engine.Decoded[*settings](cfg).sim != nil
}

// Sources hashes the results directory, when people's results are
// expected and the directory exists; its digest enters the key, so new or
// edited results run the step again.
func (Kind) Sources(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	if Simulated(rc.Config) {
		return nil, nil
	}
	_, results := Dirs(rc.Step)
	dir, err := rc.OutputDir("results", results)
	if err != nil {
		return nil, err
	}
	// The same test as dsbuild review status's "waiting".
	if !rv.HasResults(dir) {
		return nil, nil
	}
	d, err := engine.HashSource(ctx, rc, results, nil, cache.Copy)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"results": d}, nil
}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["from"])
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	items := make([]rv.Item, len(ds.Entries))
	for i, e := range ds.Entries {
		a, err := ds.Annotation(rc.Store, e)
		if err != nil {
			return nil, fmt.Errorf("from: item %s: %w", e.Name, err)
		}
		items[i] = rv.Item{Name: e.Name, Ann: a} // images only for a package
	}
	classes := ds.Meta.Classes
	tmp, err := rc.Store.TempDir("review-*")
	if err != nil {
		return nil, err
	}
	defer cache.RemoveAll(tmp)
	resultsDir := filepath.Join(tmp, "results")
	pkgRel, resultsRel := Dirs(rc.Step)
	set := engine.Decoded[*settings](rc.Config)
	var source string           // what the errors name
	var ious map[string]float64 // by item, when simulated
	switch d, ok := rc.Inputs["results"]; {
	case set.sim != nil:
		sim := set.sim
		truth, err := readTruth(rc, ds, sim)
		if err != nil {
			return nil, err
		}
		if ious, err = rv.Simulate(items, classes, truth, sim.good, sim.bad, sim.format, resultsDir); err != nil {
			return nil, err
		}
		source = "simulated " + sim.format + " results"
	case ok:
		if err := rc.Store.Materialize(ctx, d, resultsDir, false); err != nil {
			return nil, err
		}
		source = filepath.Join(rc.RecipeDir, resultsRel)
	default:
		// Checked before anything is read or written: a package that
		// may not go there fails the step, it does not wait.
		dest, err := rc.OutputDir("package", pkgRel)
		if err != nil {
			return nil, err
		}
		if rc.DryRun || rc.ScratchRecipe {
			// Planning, or a worker's copy of the recipe: the package is
			// the client's to write, into the real recipe.
			return nil, &engine.WaitingError{Msg: "waiting for review results in " + resultsRel}
		}
		for i, e := range ds.Entries {
			if items[i].Image, err = rc.Store.ReadBlob(e.Image); err != nil {
				return nil, fmt.Errorf("from: item %s: %w", e.Name, err)
			}
		}
		if err := engine.ReplaceDir(dest, func(dir string) error {
			return rv.WritePackageWith(dir, items, classes, pkgOptions(set, ds.Meta))
		}); err != nil {
			return nil, engine.Errorf(rc.Config.Range("package"), "writing the review package: %w", err)
		}
		return nil, &engine.WaitingError{Msg: fmt.Sprintf("waiting for review: %d images are in %s (Supervisely project, CVAT task and Label Studio tasks; see its README.txt); put the reviewers' export in %s and build again",
			len(items), filepath.Join(rc.RecipeDir, pkgRel), filepath.Join(rc.RecipeDir, resultsRel))}
	}
	results, err := rv.ReadResults(resultsDir, items, classes)
	if err != nil {
		// Name the reviewer's files, not the scratch copy read.
		msg := strings.ReplaceAll(err.Error(), resultsDir, source)
		return nil, fmt.Errorf("%s; nothing was accepted", msg)
	}
	return accept(rc, ds, items, results, ious, resultsDir, set.sim != nil)
}

// pkgOptions are the package's options from the step's attributes and the
// predictions' meta.
func pkgOptions(set *settings, meta *dataset.Meta) rv.PackageOptions {
	return rv.PackageOptions{Tags: meta.Tags, ImageRoot: set.imageRoot, LocalFiles: set.localFiles}
}

func readTruth(rc *engine.RunContext, ds *dataset.Dataset, sim *simulation) (map[string]*dataset.Annotation, error) {
	tds, err := dataset.Open(rc.Store, rc.Inputs["simulate.truth"])
	if err != nil {
		return nil, fmt.Errorf("simulate.truth: %w", err)
	}
	byName := map[string]dataset.Entry{}
	for _, e := range tds.Entries {
		byName[e.Name] = e
	}
	truth := map[string]*dataset.Annotation{}
	var missing []string
	for _, e := range ds.Entries {
		te, ok := byName[e.Name]
		if !ok {
			missing = append(missing, e.Name)
			continue
		}
		a, err := tds.Annotation(rc.Store, te)
		if err != nil {
			return nil, fmt.Errorf("simulate.truth: item %s: %w", e.Name, err)
		}
		truth[e.Name] = a
	}
	if len(missing) > 0 {
		return nil, engine.Errorf(sim.at, "simulate.truth lacks %d of the reviewed items (first: %s)", len(missing), missing[0])
	}
	return truth, nil
}

// Report is verdicts.json.
type Report struct {
	Items    int                `json:"items"`
	Counts   map[string]int     `json:"counts"` // by verdict, all three present
	Shares   map[string]float64 `json:"shares"`
	Verdicts []ItemVerdict      `json:"verdicts"` // sorted by name
}

// ItemVerdict is one item's verdict.
type ItemVerdict struct {
	Name      string   `json:"name"`
	Verdict   string   `json:"verdict"`
	Objects   int      `json:"objects"`       // objects accepted
	Predicted int      `json:"predicted"`     // objects predicted (reviewed)
	IoU       *float64 `json:"iou,omitempty"` // simulated: the prediction's IoU against the truth
}

// ReportFile is the report tree's file.
const ReportFile = "verdicts.json"

// accept builds the accepted dataset and the report; items are the
// predictions, in ds.Entries order; ious, when simulated, each item's IoU.
func accept(rc *engine.RunContext, ds *dataset.Dataset, items []rv.Item, results []rv.Result, ious map[string]float64, resultsDir string, keepResults bool) (map[string]cache.Digest, error) {
	byName := map[string]rv.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	rep := Report{Items: len(ds.Entries), Counts: map[string]int{}, Shares: map[string]float64{}}
	for _, v := range rv.Verdicts {
		rep.Counts[string(v)] = 0
	}
	b := dataset.NewBuilder(rc.Store)
	for i, e := range ds.Entries {
		r, ok := byName[e.Name]
		if !ok {
			return nil, fmt.Errorf("review results lack item %s; nothing was accepted", e.Name)
		}
		rep.Counts[string(r.Verdict)]++
		iv := ItemVerdict{Name: e.Name, Verdict: string(r.Verdict), Predicted: len(items[i].Ann.Objects)}
		if v, ok := ious[e.Name]; ok {
			iv.IoU = &v
		}
		switch r.Verdict {
		case rv.Good:
			iv.Objects = len(items[i].Ann.Objects)
			if err := b.AddEntry(e); err != nil {
				return nil, err
			}
		case rv.NeedsCorrection:
			// ReadResults gives the objects in their class's shape.
			a := &dataset.Annotation{Width: e.Width, Height: e.Height, Objects: r.Objects}
			iv.Objects = len(a.Objects)
			if _, err := b.Add(e.Name, e.Image, e.ImageSize, a); err != nil {
				return nil, err
			}
		}
		rep.Verdicts = append(rep.Verdicts, iv)
	}
	for k, n := range rep.Counts {
		if rep.Items > 0 {
			rep.Shares[k] = float64(int(float64(n)/float64(rep.Items)*10000+0.5)) / 10000
		}
	}
	sort.Slice(rep.Verdicts, func(i, j int) bool { return rep.Verdicts[i].Name < rep.Verdicts[j].Name })
	out, err := b.Finish(ds.Meta)
	if err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	rd, err := rc.Store.PutBytes(append(raw, '\n'))
	if err != nil {
		return nil, err
	}
	entries := []cache.TreeEntry{{Name: ReportFile, Kind: cache.File, Digest: rd, Size: int64(len(raw) + 1)}}
	if keepResults {
		d, _, err := rc.Store.PutDir(context.Background(), resultsDir, cache.IngestOptions{Adopt: cache.Copy})
		if err != nil {
			return nil, err
		}
		sub, err := rc.Store.ReadTree(d)
		if err != nil {
			return nil, err
		}
		var size int64
		for _, s := range sub {
			size += s.Size
		}
		entries = append(entries, cache.TreeEntry{Name: "results", Kind: cache.Dir, Digest: d, Size: size})
	}
	tree, err := rc.Store.PutTree(entries)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"accepted": out.Tree, "report": tree}, nil
}

// ReadReport reads a review step's report tree.
func ReadReport(s *cache.Store, tree cache.Digest) (*Report, error) {
	entries, err := s.ReadTree(tree)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name == ReportFile {
			raw, err := s.ReadBlob(e.Digest)
			if err != nil {
				return nil, err
			}
			var r Report
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", ReportFile, err)
			}
			return &r, nil
		}
	}
	return nil, errors.New("not a review report: no " + ReportFile)
}
