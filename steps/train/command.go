package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/steps/exec"
	"dsbuild/steps/export"
)

// Command mode: a train step with a command runs the user's trainer (see
// the package documentation).

// DataFormats are the formats a trainer may get its data in; the first is
// the default.
var DataFormats = []string{"supervisely", "coco", "masks"}

// reservedInputs are the directories under inputs/ that the step fills
// itself; an entry of inputs cannot take their names.
var reservedInputs = []string{"data", "validation", "from"}

// commandAttrs are the attributes of command mode only.
var commandAttrs = []string{"command", "data_format", "env", "inputs"}

// commandSettings are a command step's parameters.
type commandSettings struct {
	argv   []string
	env    []string
	format string // data_format, defaulted
}

// keyLines are a command step's own key lines: its allow-listed
// variables' values and the export that writes its data (the export
// kind's version changes when the same dataset exports to other bytes).
func (c *commandSettings) keyLines() []string {
	lines := []string{fmt.Sprintf("data_format %s export v%d", c.format, export.Kind{}.Version())}
	return append(lines, exec.EnvKeyLines(c.env)...)
}

// written reports whether attribute name is written in the step's block
// (not a default).
func written(cfg *engine.Config, name string) bool {
	_, ok := cfg.Ranges[name]
	return ok
}

// builtinParams are the built-in trainer's parameters: every parameter of
// the schema but command mode's.
func builtinParams() []string {
	var out []string
	for _, a := range (Kind{}).Schema().Attrs {
		if a.Kind == engine.Param && !slices.Contains(commandAttrs, a.Name) {
			out = append(out, a.Name)
		}
	}
	return out
}

func errorOn(cfg *engine.Config, attr, summary, detail string) *hcl.Diagnostic {
	r := cfg.Range(attr)
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}
}

// commandOnly reports the command mode's attributes, and deterministic,
// written in a step without a command.
func commandOnly(cfg *engine.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range commandAttrs[1:] {
		if written(cfg, name) {
			diags = append(diags, errorOn(cfg, name, "Argument of a train step with a command",
				fmt.Sprintf("%s is for train steps with a command (your own trainer); the built-in trainer has no use for it. Set command, or remove %s.", name, name)))
		}
	}
	if written(cfg, engine.DeterministicAttr) {
		diags = append(diags, errorOn(cfg, engine.DeterministicAttr, "Argument of a train step with a command",
			"deterministic is for train steps with a command; the built-in trainer is deterministic."))
	}
	return diags
}

// decodeCommand reads and checks a step with a command. The built-in
// trainer's parameters are errors where written; their defaults are
// dropped from the configuration, so that they neither enter the step's
// key nor show in dsbuild explain.
func decodeCommand(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &commandSettings{argv: cfg.StringList("command"), env: cfg.StringList("env"), format: DataFormats[0]}
	var diags hcl.Diagnostics
	if len(set.argv) == 0 {
		diags = append(diags, errorOn(cfg, "command", "Empty command",
			`command must name a program, as in ["python3", "inputs/code/train.py"].`))
	}
	for _, name := range builtinParams() {
		if written(cfg, name) {
			diags = append(diags, errorOn(cfg, name, "Parameter of the built-in trainer",
				fmt.Sprintf("%s is a parameter of the built-in trainer; a train step with a command takes its parameters in command.", name)))
		}
		delete(cfg.Params, name)
	}
	if cfg.Has("data_format") {
		set.format = cfg.String("data_format")
		if !slices.Contains(DataFormats, set.format) {
			diags = append(diags, errorOn(cfg, "data_format", "Invalid data_format",
				fmt.Sprintf("data_format is %q; it must be %s.%s", set.format, quotedList(DataFormats), engine.Suggest(set.format, DataFormats))))
		}
	}
	for _, e := range set.env {
		if !exec.ValidEnvName(e) {
			diags = append(diags, errorOn(cfg, "env", "Invalid environment variable name", fmt.Sprintf("%q is not a variable name.", e)))
		}
	}
	for _, in := range cfg.Inputs {
		if in.Attr == "inputs" && slices.Contains(reservedInputs, in.Name) {
			r := in.Range
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reserved input name",
				Detail:  fmt.Sprintf("inputs cannot have an entry named %q: the step itself fills inputs/data/ (the training set), inputs/validation/ and inputs/from/ (the model to continue from). Use data, validation or from for those, and another name for the rest.", in.Name),
				Subject: &r})
		}
	}
	return &params{command: set}, diags
}

// quotedList writes `"a", "b" or "c"`.
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return orList(q)
}

// runCommand prepares the scratch directory, runs the trainer, checks its
// model/ against the contract and stores it.
func runCommand(ctx context.Context, rc *engine.RunContext, set *commandSettings) (map[string]cache.Digest, error) {
	sc, err := exec.NewScratch(rc.Store, "train-")
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	for _, attr := range []string{"data", "validation"} {
		d, ok := rc.Inputs[attr]
		if !ok {
			continue
		}
		if err := exportInput(ctx, rc, sc, attr, d, set.format); err != nil {
			return nil, err
		}
	}
	if d, ok := rc.Inputs["from"]; ok {
		if _, err := model.Inspect(rc.Store, d); err != nil {
			return nil, engine.Errorf(rc.Config.Range("from"), "the model to continue from: %v", err)
		}
		if err := sc.Materialize(ctx, rc.Store, "from", d); err != nil {
			return nil, err
		}
	}
	if err := sc.MaterializeMap(ctx, rc, "inputs"); err != nil {
		return nil, err
	}
	if err := sc.Seal(); err != nil {
		return nil, err
	}
	if err := sc.Run(ctx, exec.Command{Argv: set.argv, Env: set.env, Progress: exec.StatusOf(rc)}); err != nil {
		return nil, err
	}
	dir, err := checkModelDir(sc.Dir)
	if err != nil {
		return nil, err
	}
	ds, _, err := rc.Store.Capture(ctx, []string{dir}, cache.CaptureOptions{Base: sc.Dir, KeepEmptyDirs: true})
	if err != nil {
		var le *cache.LinkOutError
		if errors.As(err, &le) {
			rel, rerr := filepath.Rel(sc.Dir, le.Path)
			if rerr != nil {
				rel = le.Path
			}
			return nil, fmt.Errorf("the command's model/: %s is a symbolic link to %s; dsbuild does not follow links out of the step's directory: copy the file into model/", filepath.ToSlash(rel), le.Target)
		}
		return nil, fmt.Errorf("storing the model: %w", err)
	}
	return map[string]cache.Digest{"model": ds[0]}, nil
}

// exportInput writes the dataset d of input attr (data or validation) in
// format to inputs/<attr>/, read-only.
func exportInput(ctx context.Context, rc *engine.RunContext, sc *exec.Scratch, attr string, d cache.Digest, format string) error {
	ds, err := dataset.Open(rc.Store, d)
	if err != nil {
		return fmt.Errorf("%s: %w", attr, err)
	}
	if len(ds.Entries) == 0 {
		return engine.Errorf(rc.Config.Range(attr), "the dataset is empty")
	}
	dir := sc.Input(attr)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := formats.Export(ctx, rc.Store, ds, format, nil, dir); err != nil {
		return fmt.Errorf("%s: %w", attr, err)
	}
	return exec.ReadOnlyTree(dir)
}

// modelContract says what a command writes.
const modelContract = `a train step's command writes its model into the directory model/: config.json declaring the model's "format" (as in {"format": "my-trainer/1"}), the weight files in any form, and optionally metrics.json with the figures of each epoch (docs/model.md)`

// checkModelDir checks the command's model/ against the model contract
// and returns its path.
func checkModelDir(scratch string) (string, error) {
	dir := filepath.Join(scratch, "model")
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("the command did not create model/; %s", modelContract)
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("the command's model/ is a symbolic link; %s", modelContract)
	case !fi.IsDir():
		return "", fmt.Errorf("the command's model/ is a file; %s", modelContract)
	}
	const broken = "the command's model/ does not satisfy the model contract (docs/model.md)"
	if _, err := os.Lstat(filepath.Join(dir, model.ConfigFile)); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %s: missing; write model/%s declaring the model's \"format\", as in {\"format\": \"my-trainer/1\"}, beside the weight files", broken, model.ConfigFile, model.ConfigFile)
	}
	if _, err := model.InspectDir(dir); err != nil {
		return "", fmt.Errorf("%s: %v; %s", broken, err, modelContract)
	}
	return dir, nil
}
