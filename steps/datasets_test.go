package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/steps"
)

// buildRecipe builds hcl in a fresh recipe directory and store and returns
// the build result, failing on any step failure.
func buildRecipe(t *testing.T, store *cache.Store, hcl string) (*engine.Recipe, *engine.BuildResult, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds()})
	if diags.HasErrors() {
		return nil, nil, diags
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return r, br, br.FirstError()
}

func output(t *testing.T, s *cache.Store, r *engine.Recipe, br *engine.BuildResult, addr, out string) *dataset.Dataset {
	t.Helper()
	ds, err := dataset.Open(s, br.Result(r.Step(addr)).Outputs[out])
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func newStore(t *testing.T) *cache.Store {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const synthetic = `
import "a" {
  format  = "synthetic"
  options = { count = "COUNT", width = "32", height = "32", figures = "1-2", seed = "1", dataset = "a" }
}
`

func TestSplitIsDeterministicAndStable(t *testing.T) {
	s := newStore(t)
	rec := func(count string) string {
		return strings.Replace(synthetic, "COUNT", count, 1) + `
split "s" {
  from  = import.a
  parts = { train = 0.75, val = 0.25 }
}
`
	}
	r, br, err := buildRecipe(t, s, rec("200"))
	if err != nil {
		t.Fatal(err)
	}
	train, val := output(t, s, r, br, "split.s", "train"), output(t, s, r, br, "split.s", "val")
	if n := len(train.Entries) + len(val.Entries); n != 200 {
		t.Fatalf("parts hold %d items, want 200", n)
	}
	if n := len(val.Entries); n < 30 || n > 70 {
		t.Errorf("val has %d of 200 items, want about 50", n)
	}
	// Adding items moves none of the others.
	r2, br2, err := buildRecipe(t, s, rec("260"))
	if err != nil {
		t.Fatal(err)
	}
	val2 := output(t, s, r2, br2, "split.s", "val")
	inVal := map[string]bool{}
	for _, e := range val2.Entries {
		inVal[e.Name] = true
	}
	for _, e := range val.Entries {
		if !inVal[e.Name] {
			t.Errorf("%s moved out of val when items were added", e.Name)
		}
	}
}

func TestSplitStratifiedExact(t *testing.T) {
	s := newStore(t)
	r, br, err := buildRecipe(t, s, strings.Replace(synthetic, "COUNT", "40", 1)+`
split "s" {
  from     = import.a
  parts    = { train = 0.5, val = 0.5 }
  stratify = "class"
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(output(t, s, r, br, "split.s", "val").Entries); n != 20 {
		t.Errorf("stratified val has %d of 40 items, want exactly 20", n)
	}
}

func TestSplitDiagnostics(t *testing.T) {
	_, _, err := buildRecipe(t, newStore(t), strings.Replace(synthetic, "COUNT", "4", 1)+`
split "s" {
  from     = import.a
  parts    = { train = 0.5, val = 0.4 }
  stratify = "colour"
}
`)
	diags, ok := err.(hcl.Diagnostics)
	if !ok || len(diags) != 2 || !strings.Contains(diags[0].Detail, "the fractions sum to 0.9, not 1") || !strings.Contains(diags[1].Detail, `stratify is "colour"`) {
		t.Errorf("diagnostics = %v", err)
	}
}

func TestMergePolicies(t *testing.T) {
	two := strings.Replace(synthetic, "COUNT", "5", 1) + `
import "b" {
  format  = "synthetic"
  options = { count = "3", width = "32", height = "32", figures = "1", seed = "2", dataset = "a" }
}

merge "m" {
  from     = [import.a, import.b]
  conflict = "POLICY"
}
`
	s := newStore(t)
	if _, _, err := buildRecipe(t, s, strings.Replace(two, "POLICY", "error", 1)); err == nil || !strings.Contains(err.Error(), "item a/000000.jpg is in both import.a and import.b") {
		t.Errorf("conflict = error: %v", err)
	}
	r, br, err := buildRecipe(t, s, strings.Replace(two, "POLICY", "prefer_last", 1))
	if err != nil {
		t.Fatal(err)
	}
	m := output(t, s, r, br, "merge.m", "dataset")
	b := output(t, s, r, br, "import.b", "dataset")
	if len(m.Entries) != 5 || m.Entries[0].Image != b.Entries[0].Image {
		t.Errorf("prefer_last: %d items, first image %s, want 5 items with b's first image", len(m.Entries), m.Entries[0].Image.Short())
	}
	r, br, err = buildRecipe(t, s, strings.Replace(two, "POLICY", "keep_both", 1))
	if err != nil {
		t.Fatal(err)
	}
	m = output(t, s, r, br, "merge.m", "dataset")
	if len(m.Entries) != 8 || m.Entries[1].Name != "a/000000__2.jpg" {
		var names []string
		for _, e := range m.Entries {
			names = append(names, e.Name)
		}
		t.Errorf("keep_both: %v", names)
	}
	// The same image twice is a duplicate, left out and reported.
	r, br, err = buildRecipe(t, s, strings.Replace(synthetic, "COUNT", "3", 1)+`
merge "m" {
  from = [import.a, import.a]
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if m := output(t, s, r, br, "merge.m", "dataset"); len(m.Entries) != 3 {
		t.Errorf("merging a dataset with itself gave %d items, want 3", len(m.Entries))
	}
}
