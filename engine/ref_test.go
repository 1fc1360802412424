package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
)

// outputsKind has the outputs and default output it is given; nothing runs.
type outputsKind struct {
	name    string
	outputs []string
	def     string
}

func (k outputsKind) Name() string { return k.name }
func (outputsKind) Version() int   { return 1 }
func (k outputsKind) Schema() *engine.Schema {
	return &engine.Schema{Outputs: k.outputs, DefaultOutput: k.def}
}
func (outputsKind) Run(context.Context, *engine.RunContext) (map[string]cache.Digest, error) {
	return nil, nil
}

func loadOutputsRecipe(t *testing.T) *engine.Recipe {
	t.Helper()
	dir := t.TempDir()
	src := `
one "a" {}
two "b" {}
dflt "d" {}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	kinds := engine.NewKinds(
		outputsKind{name: "one", outputs: []string{"out"}},
		outputsKind{name: "two", outputs: []string{"left", "right"}},
		outputsKind{name: "dflt", outputs: []string{"dataset", "report"}, def: "dataset"})
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: kinds})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return r
}

// TestParseOutputRef checks how a reference splits into a step and an
// output: at the last dot, and only when what precedes it is a step.
func TestParseOutputRef(t *testing.T) {
	r := loadOutputsRecipe(t)
	for _, c := range []struct {
		ref  string
		want engine.OutputRef
	}{
		{"one.a", engine.OutputRef{Step: "one.a"}},
		{"two.b.left", engine.OutputRef{Step: "two.b", Output: "left"}},
		{"two.b.left.x", engine.OutputRef{Step: "two.b.left.x"}},        // no step two.b.left
		{"one.a.nope", engine.OutputRef{Step: "one.a", Output: "nope"}}, // OutputName refuses it
		{"gone.x.y", engine.OutputRef{Step: "gone.x.y"}},                // no step: whole
		{"noperiod", engine.OutputRef{Step: "noperiod"}},
	} {
		if got := r.ParseOutputRef(c.ref); got != c.want {
			t.Errorf("ParseOutputRef(%q) = %+v, want %+v", c.ref, got, c.want)
		}
	}
}

// TestOutputName checks the choice of output: the only one, the kind's
// default, the caller's, or an error naming the outputs.
func TestOutputName(t *testing.T) {
	r := loadOutputsRecipe(t)
	for _, c := range []struct {
		step, output, def string
		want, err         string
	}{
		{step: "one.a", want: "out"},
		{step: "one.a", def: "dataset", want: "out"}, // the only output beats def
		{step: "dflt.d", def: "model", want: "dataset"},
		{step: "dflt.d", output: "report", want: "report"},
		{step: "two.b", def: "right", want: "right"},
		{step: "two.b", err: "two.b has outputs left, right: name one, as in two.b.left"},
		{step: "two.b", output: "rigth", err: `two.b has no output "rigth". Did you mean "right"? Its outputs are left, right`},
		{step: "one.a", output: "zzzzzz", err: `one.a has no output "zzzzzz"; its outputs are out`},
		{step: "dflt.d", def: "model", output: "model", err: `dflt.d has no output "model"`},
	} {
		got, err := r.Step(c.step).OutputName(c.output, c.def)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s OutputName(%q, %q) = %q, %v; want an error with %q", c.step, c.output, c.def, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s OutputName(%q, %q) = %q, %v; want %q", c.step, c.output, c.def, got, err, c.want)
		}
	}
}

// TestResolveOutput checks that a step output resolves to the digest the
// lockfile records, and that the output is checked before the lockfile.
func TestResolveOutput(t *testing.T) {
	f := newFixture(t, chain)
	r := f.load(engine.LoadOptions{})
	f.record(r, engine.BuildOptions{})
	lf, err := engine.ReadLockfile(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	r = f.load(engine.LoadOptions{})
	d, err := engine.ResolveOutput(context.Background(), r, lf, f.store, r.Step("lower.final"), "", "dataset", "rec")
	if err != nil || d != lf.Steps["lower.final"].Outputs["out"] {
		t.Errorf("ResolveOutput(lower.final) = %v, %v; want %v", d, err, lf.Steps["lower.final"].Outputs["out"])
	}
	// A wrong output name is an error even where the entry is missing.
	delete(lf.Steps, "gen.a")
	if _, err := engine.ResolveOutput(context.Background(), r, lf, f.store, r.Step("gen.a"), "model", "", "rec"); err == nil || !strings.Contains(err.Error(), `gen.a has no output "model"`) {
		t.Errorf("ResolveOutput(gen.a.model) = %v, want no such output", err)
	}
	if _, err := engine.ResolveOutput(context.Background(), r, lf, f.store, r.Step("gen.a"), "", "", "rec"); err == nil || !strings.Contains(err.Error(), "gen.a is not in dsbuild.lock") {
		t.Errorf("ResolveOutput of a missing entry = %v", err)
	}
}
