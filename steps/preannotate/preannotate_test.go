package preannotate_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
)

func recipe(count int, threshold string) string {
	return strings.NewReplacer("COUNT", strconv.Itoa(count), "THRESHOLD", threshold).Replace(`
import "seed" {
  format  = "synthetic"
  options = { count = "4", width = "32", height = "32", figures = "1", seed = "1" }
}
import "pool" {
  format  = "synthetic"
  options = { count = "COUNT", width = "40", height = "36", figures = "1-2", seed = "2" }
}
train "m" {
  data       = import.seed
  input_size = 32
  depth      = 1
  width      = 4
  epochs     = 1
}
preannotate "p" {
  model     = train.m
  images    = import.pool
  threshold = THRESHOLD
  device    = "cpu"
}
`)
}

// load writes hcl into dir and loads it.
func load(t *testing.T, dir, hcl string) *engine.Recipe { return steptest.Load(t, dir, hcl) }

// build builds hcl and returns preannotate.p's dataset and result.
func build(t *testing.T, dir string, store *cache.Store, hcl string, jobs int) (*dataset.Dataset, *engine.StepResult) {
	t.Helper()
	r, br := steptest.Build(t, dir, store, hcl, jobs)
	res := br.Result(r.Step("preannotate.p"))
	ds, err := dataset.Open(store, res.Outputs["dataset"])
	if err != nil {
		t.Fatal(err)
	}
	if res.Items == nil {
		t.Fatal("preannotate.p counted no items")
	}
	return ds, res
}

// plan builds hcl's import.pool, then plans preannotate.p.
func plan(t *testing.T, dir string, store *cache.Store, hcl string) *engine.StepResult {
	t.Helper()
	r := load(t, dir, hcl)
	if br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store, Targets: []*engine.Step{r.Step("import.pool")}}); err != nil || br.FirstError() != nil {
		t.Fatal(err, br.FirstError())
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	return br.Result(r.Step("preannotate.p"))
}

// Pre-annotation is memoized per image: adding images to the pool runs the
// network on the new ones only; a changed parameter runs it on all.
func TestMemoPerImage(t *testing.T) {
	t.Parallel()
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, res := build(t, dir, store, recipe(6, "0.5"), 0)
	if n := res.Items.Ran; n != 6 {
		t.Fatalf("first build annotated %d images, want 6", n)
	}
	// Plan estimates it once the pool is imported.
	if got := plan(t, dir, store, recipe(9, "0.5")); got.Status != engine.WillRun || got.Items == nil || *got.Items != (engine.ItemCounts{Total: 9, Ran: 3, Cached: 6}) {
		t.Errorf("plan after adding 3 images: %s, items %+v; want 3 of 9 to run", got.Status, got.Items)
	}
	b, res := build(t, dir, store, recipe(9, "0.5"), 0)
	if n := res.Items.Ran; n != 3 {
		t.Errorf("adding 3 images annotated %d, want 3", n)
	}
	for i, e := range a.Entries {
		if b.Entries[i] != e {
			t.Errorf("item %s changed when other items were added", e.Name)
		}
	}
	_, res = build(t, dir, store, recipe(9, "0.4"), 0)
	if n := res.Items.Ran; n != 9 {
		t.Errorf("a new threshold annotated %d images, want 9", n)
	}
	// The result does not depend on the number of workers.
	other, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := build(t, t.TempDir(), other, recipe(9, "0.5"), 1); c.Tree != b.Tree {
		t.Errorf("-j 1 gives %s, the default %s", c.Tree.Short(), b.Tree.Short())
	}
}
