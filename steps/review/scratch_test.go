package review_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
)

// A waiting review writes its package into the recipe, except where the
// recipe is a scratch copy (a worker's: BuildOptions.ScratchRecipe); it
// waits all the same.
func TestScratchRecipeWritesNoPackage(t *testing.T) {
	t.Parallel()
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, scratch := range []bool{true, false} {
		dir := t.TempDir()
		hcl := `import "pool" {
  format  = "synthetic"
  options = { count = "2", width = "32", height = "32", figures = "1", seed = "1" }
}
review "r" {
  from = import.pool
}
`
		r := steptest.Load(t, dir, hcl)
		br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store, ScratchRecipe: scratch})
		if err != nil {
			t.Fatal(err)
		}
		res := br.Result(r.Step("review.r"))
		var w *engine.WaitingError
		if res.Status != engine.Waiting || !errors.As(res.Err, &w) {
			t.Fatalf("scratch %v: review.r is %s (%v), want waiting", scratch, res.Status, res.Err)
		}
		_, err = os.Stat(filepath.Join(dir, "review", "r", "package"))
		if scratch && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a scratch recipe got a review package (stat: %v)", err)
		}
		if !scratch && err != nil {
			t.Errorf("the recipe got no review package: %v", err)
		}
	}
}
