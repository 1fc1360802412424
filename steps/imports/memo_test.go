package imports_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset/formats"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
)

// A Supervisely source with one more image re-reads one annotation: the
// others come from the item memo, and the dataset is the same as a fresh
// import's.
func TestImportMemoizesItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	// A Supervisely project of 7 synthetic images, and one of 6.
	res, err := ingest.ImportDir(ctx, engine.BareRun(s, 0, nil), "", ingest.Settings{Format: "synthetic", Options: map[string]string{"count": "7", "width": "32", "height": "32"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	proj := filepath.Join(dir, "project")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := formats.Export(ctx, s, res.Dataset, "supervisely", nil, proj); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(proj, "synthetic")
	hold := t.TempDir()
	for _, f := range []string{"img/000006.jpg", "ann/000006.jpg.json"} {
		os.MkdirAll(filepath.Join(hold, filepath.Dir(f)), 0o755)
		if err := os.Rename(filepath.Join(last, f), filepath.Join(hold, f)); err != nil {
			t.Fatal(err)
		}
	}
	const recipe = `import "p" {
  format = "supervisely"
  path   = "project"
}
`
	build := func() (cache.Digest, *engine.ItemCounts) {
		r, br := steptest.Build(t, dir, s, recipe, 0)
		res := br.Result(r.Step("import.p"))
		if res.Items == nil {
			t.Fatal("import.p counted no items")
		}
		return res.Outputs["dataset"], res.Items
	}
	if _, items := build(); items.Ran != 6 {
		t.Fatalf("first import read %d annotations, want 6", items.Ran)
	}
	for _, f := range []string{"img/000006.jpg", "ann/000006.jpg.json"} {
		if err := os.Rename(filepath.Join(hold, f), filepath.Join(last, f)); err != nil {
			t.Fatal(err)
		}
	}
	got, items := build()
	if items.Ran != 1 || items.Cached != 6 {
		t.Errorf("adding one image read %d annotations and recalled %d, want 1 and 6", items.Ran, items.Cached)
	}
	fresh, err := cache.Open(filepath.Join(t.TempDir(), "fresh"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	s = fresh
	if want, _ := build(); got != want {
		t.Errorf("the memoized import gave dataset %s, a fresh import %s", got.Short(), want.Short())
	}
}
