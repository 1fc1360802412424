package transform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/steps"
)

type env struct {
	t     *testing.T
	dir   string
	store *cache.Store
}

func newEnv(t *testing.T) *env {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t, t.TempDir(), s}
}

// build writes the recipe, builds it, and returns the dataset of step.
func (e *env) build(hcl, step string) *dataset.Dataset {
	e.t.Helper()
	return e.buildJobs(hcl, step, 0)
}

// buildJobs builds with -j jobs (0: the default).
func (e *env) buildJobs(hcl, step string, jobs int) *dataset.Dataset {
	e.t.Helper()
	ds, _ := e.run(hcl, step, jobs)
	return ds
}

// run builds with -j jobs and returns the dataset and the result of step.
func (e *env) run(hcl, step string, jobs int) (*dataset.Dataset, *engine.StepResult) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, "main.hcl"), []byte(hcl), 0o644); err != nil {
		e.t.Fatal(err)
	}
	r, diags := engine.Load(e.dir, engine.LoadOptions{Kinds: steps.Kinds()})
	if diags.HasErrors() {
		e.t.Fatal(diags)
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: e.store, Jobs: jobs})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := br.FirstError(); err != nil {
		e.t.Fatal(err)
	}
	res := br.Result(r.Step(step))
	ds, err := dataset.Open(e.store, res.Outputs["dataset"])
	if err != nil {
		e.t.Fatal(err)
	}
	return ds, res
}

// ran is how many items of step ran (were not taken from the item memo).
func ran(t *testing.T, res *engine.StepResult) int {
	t.Helper()
	if res.Items == nil {
		t.Fatalf("%s (%s) counted no items", res.Step.Addr, res.Status)
	}
	return res.Items.Ran
}

func recipe(count int, workers int, ops string) string {
	return strings.NewReplacer("COUNT", strconv.Itoa(count), "WORKERS", strconv.Itoa(workers), "OPS", ops).Replace(`
import "syn" {
  format  = "synthetic"
  options = { count = "COUNT", width = "48", height = "40", figures = "0-3", seed = "5" }
}

transform "t" {
  from    = [import.syn]
  workers = WORKERS
  OPS
}
`)
}

const someOps = `
  skip_if {
    no_objects = true
  }
  flip {
    direction   = "left_right"
    probability = 0.5
  }
  tag {
    add = ["augmented"]
  }
`

// -j bounds the item pool; the output does not depend on it.
func TestSameResultForAnyWorkerCount(t *testing.T) {
	t.Parallel()
	var trees []cache.Digest
	for _, jobs := range []int{1, 4} {
		e := newEnv(t)
		ds := e.buildJobs(recipe(30, 0, someOps), "transform.t", jobs)
		trees = append(trees, ds.Tree)
		if len(ds.Entries) == 0 || len(ds.Entries) == 30 {
			t.Errorf("-j %d: %d items; skip_if no_objects should drop some of 30 (figures 0-3)", jobs, len(ds.Entries))
		}
	}
	if trees[0] != trees[1] {
		t.Errorf("-j 1 and -j 4 give different datasets: %s, %s", trees[0].Short(), trees[1].Short())
	}
}

func TestAddingItemsProcessesOnlyThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, res := e.run(recipe(20, 2, someOps), "transform.t", 0)
	if n := ran(t, res); n != 20 {
		t.Fatalf("first build processed %d items, want 20", n)
	}
	ds, res := e.run(recipe(23, 2, someOps), "transform.t", 0)
	if n := ran(t, res); n != 3 || res.Items.Total != 23 {
		t.Errorf("adding 3 images processed %d items of %d, want 3 of 23", n, res.Items.Total)
	}
	// A changed op processes every item again.
	_, res = e.run(recipe(23, 2, strings.Replace(someOps, "0.5", "0.25", 1)), "transform.t", 0)
	if n := ran(t, res); n != 23 {
		t.Errorf("changing an op processed %d items, want 23", n)
	}
	for _, en := range ds.Entries {
		a, err := ds.Annotation(e.store, en)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Objects) == 0 || len(a.Tags) == 0 {
			t.Errorf("%s: %d objects, tags %v", en.Name, len(a.Objects), a.Tags)
		}
	}
}

func TestFlipTwiceRestoresAnnotations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	orig := e.build(recipe(6, 2, `keep_classes {
    classes = ["person"]
  }`), "transform.t")
	twice := e.build(recipe(6, 2, `flip {
    direction = "left_right"
  }
  flip {
    direction = "left_right"
  }
  flip {
    direction = "up_down"
  }
  flip {
    direction = "up_down"
  }`), "transform.t")
	if len(orig.Entries) != len(twice.Entries) {
		t.Fatalf("%d items, then %d", len(orig.Entries), len(twice.Entries))
	}
	for i := range orig.Entries {
		if orig.Entries[i].Ann != twice.Entries[i].Ann {
			t.Errorf("%s: flipping twice each way changed the annotation", orig.Entries[i].Name)
		}
		if !strings.HasSuffix(twice.Entries[i].Name, ".png") {
			t.Errorf("%s: a re-encoded image keeps a .jpg name", twice.Entries[i].Name)
		}
	}
}

func TestOpDiagnostics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct{ ops, want string }{
		{`flip {
    direction = "vertical"
  }`, `DTL's "vertical" is dsbuild's "left_right"`},
		{`skip_if {
    probability = 2
  }`, "probability must be between 0 and 1"},
		{`skip_if {}`, "give at least one condition"},
		{`skip_if {
    name_regex = "("
  }`, "missing closing )"},
		{`rename {
    map = {}
  }`, "map is empty"},
	} {
		if err := os.WriteFile(filepath.Join(e.dir, "main.hcl"), []byte(recipe(2, 1, tc.ops)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, diags := engine.Load(e.dir, engine.LoadOptions{Kinds: steps.Kinds()})
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.ops, diags, tc.want)
		}
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Start.Line < 9 {
				t.Errorf("%s: diagnostic %q not at the op's attribute: %v", tc.ops, d.Summary, d.Subject)
			}
		}
	}
}

func TestUnknownClassInAnOpNamesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.dir, "main.hcl"), []byte(recipe(2, 1, `keep_classes {
    classes = ["pedestrian"]
  }`)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(e.dir, engine.LoadOptions{Kinds: steps.Kinds()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	err = br.FirstError()
	if err == nil || !strings.Contains(err.Error(), `op keep_classes: class "pedestrian" is not in the input; its classes are: person`) {
		t.Errorf("error = %v", err)
	}
	// The error keeps the op block's place in the recipe (line 10).
	var se *engine.SourceError
	if !errors.As(err, &se) || se.Range.Start.Line != 10 || filepath.Base(se.Range.Filename) != "main.hcl" {
		t.Errorf("the error's recipe range: %+v", se)
	}
}

// Ops that change a class's shape: items are parsed with the input meta,
// and the output parses with the output meta.
func TestShapeChangingOpsBuild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ds := e.build(recipe(4, 2, `find_contours {}
  poly2bitmap {}
  edge_band {
    width = 1
  }`), "transform.t")
	if c := ds.Meta.Class("person"); c == nil || c.Shape != dataset.ShapeBitmap || ds.Meta.Class("edge") == nil {
		t.Fatalf("meta = %+v", ds.Meta.Classes)
	}
	for _, en := range ds.Entries {
		if _, err := ds.Annotation(e.store, en); err != nil {
			t.Errorf("%s: %v", en.Name, err)
		}
	}
}
