package review

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
)

// stubKind stands in for the kinds a review reads from (train,
// preannotate): Statuses only looks at their names and inputs.
type stubKind struct {
	name    string
	inputs  []string
	outputs []string
}

func (k stubKind) Name() string { return k.name }
func (stubKind) Version() int   { return 1 }
func (k stubKind) Schema() *engine.Schema {
	s := &engine.Schema{Outputs: k.outputs}
	for _, in := range k.inputs {
		s.Attrs = append(s.Attrs, engine.AttrSpec{Name: in, Kind: engine.InputOne})
	}
	if len(k.outputs) > 0 {
		s.DefaultOutput = k.outputs[0]
	}
	return s
}
func (stubKind) Run(context.Context, *engine.RunContext) (map[string]cache.Digest, error) {
	return nil, nil
}

// TestStatusesBeforeBuild checks the states a review step has before the
// lockfile records it: the package written and no results (waiting, with
// both paths), results there (results-ready; hidden files do not count),
// nothing yet (not-built), a simulate block (simulated); a bootstrap's
// N_roundR name gives its bootstrap and round, and the train steps behind
// the predictions are named without figures.
func TestStatusesBeforeBuild(t *testing.T) {
	dir := t.TempDir()
	recipe := `
train "m" {}
train "crop" {}
preannotate "p" {
  model      = train.m
  crop_model = train.crop
}
review "loop_round2" {
  from = preannotate.p
}
review "ready" {
  from    = preannotate.p
  results = "in/ready"
}
review "hidden" {
  from    = preannotate.p
  package = "out/hidden"
  results = "in/hidden"
}
review "later" {
  from = preannotate.p
}
review "sim" {
  from = preannotate.p
  simulate {
    truth = preannotate.p
  }
}
`
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("recipe.hcl", recipe)
	write("review/loop_round2/package/meta.json", "{}")
	write("in/ready/export.json", "[]")
	write("out/hidden/meta.json", "{}")
	write("in/hidden/.DS_Store", "")

	kinds := engine.NewKinds(Kind{},
		stubKind{name: "train", outputs: []string{"model"}},
		stubKind{name: "preannotate", inputs: []string{"model", "crop_model"}, outputs: []string{"dataset"}})
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: kinds})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	lock, err := engine.ReadLockfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}

	got := Statuses(context.Background(), r, lock, store)
	m, crop := &ModelStatus{Step: "train.m"}, &ModelStatus{Step: "train.crop"}
	// r.Steps, and so the statuses, are in address order.
	want := []Status{
		{Step: "review.hidden", State: StateWaiting, Package: "out/hidden", Results: "in/hidden", Model: m, CropModel: crop},
		{Step: "review.later", State: StateNotBuilt, Model: m, CropModel: crop},
		{Step: "review.loop_round2", State: StateWaiting, Bootstrap: "loop", Round: 2,
			Package: filepath.Join("review", "loop_round2", "package"), Results: filepath.Join("review", "loop_round2", "results"),
			Model: m, CropModel: crop},
		{Step: "review.ready", State: StateResultsReady, Results: "in/ready", Model: m, CropModel: crop},
		{Step: "review.sim", State: StateSimulated, Model: m, CropModel: crop},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Statuses:\n got %+v\nwant %+v", got, want)
	}
}
