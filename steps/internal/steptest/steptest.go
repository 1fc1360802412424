// Package steptest loads and builds small recipes for the step kinds'
// tests, with every kind and macro dsbuild has.
package steptest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/steps"
)

// Load writes hcl as dir/main.hcl and loads it; an error diagnostic fails
// the test.
func Load(t testing.TB, dir, hcl string) *engine.Recipe {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return r
}

// Build loads hcl (Load) and builds it in store with jobs steps at once (0:
// the default); a build error or a failed step fails the test.
func Build(t testing.TB, dir string, store *cache.Store, hcl string, jobs int) (*engine.Recipe, *engine.BuildResult) {
	t.Helper()
	r := Load(t, dir, hcl)
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	if err := br.FirstError(); err != nil {
		t.Fatal(err)
	}
	return r, br
}
