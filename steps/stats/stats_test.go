package stats_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
	"dsbuild/steps/stats"
)

func recipe(count int) string {
	return strings.ReplaceAll(`
import "pool" {
  format  = "synthetic"
  options = { count = "COUNT", width = "40", height = "36", figures = "0-3", seed = "5" }
}
stats "pool" {
  from = import.pool
}
`, "COUNT", strconv.Itoa(count))
}

// build builds hcl in dir: the import's dataset, the stats step's result
// and its two files.
func build(t *testing.T, dir string, store *cache.Store, hcl string, jobs int) (*dataset.Dataset, *engine.StepResult, map[string][]byte) {
	t.Helper()
	r, br := steptest.Build(t, dir, store, hcl, jobs)
	ds, err := dataset.Open(store, br.Result(r.Step("import.pool")).Outputs["dataset"])
	if err != nil {
		t.Fatal(err)
	}
	res := br.Result(r.Step("stats.pool"))
	if res.Items == nil {
		t.Fatal("stats.pool counted no items")
	}
	entries, err := store.ReadTree(res.Outputs["stats"])
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if files[e.Name], err = store.ReadBlob(e.Digest); err != nil {
			t.Fatal(err)
		}
	}
	return ds, res, files
}

// counts are the items, objects per class and image sizes of ds, counted
// here from its annotations.
func counts(t *testing.T, store *cache.Store, ds *dataset.Dataset) (int, map[string]int, map[string]int) {
	objects, sizes := map[string]int{}, map[string]int{}
	for _, c := range ds.Meta.Classes {
		objects[c.Title] = 0
	}
	for _, e := range ds.Entries {
		a, err := ds.Annotation(store, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range a.Objects {
			objects[o.Class]++
		}
		sizes[fmt.Sprintf("%dx%d", e.Width, e.Height)]++
	}
	return len(ds.Entries), objects, sizes
}

// The step stores the dataset's counts, item by item through the memo: a
// dataset with more items counts only the new ones, and the counts are
// the same whatever was memoized and however many workers ran.
func TestStatsStep(t *testing.T) {
	t.Parallel()
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	check := func(ds *dataset.Dataset, files map[string][]byte) {
		t.Helper()
		if len(files) != 2 || len(files[stats.HTMLFile]) == 0 || !strings.HasPrefix(string(files[stats.HTMLFile]), "<!doctype html>") {
			t.Errorf("the output has %d files; want %s and an HTML %s", len(files), stats.JSONFile, stats.HTMLFile)
		}
		var st dataset.Stats
		if err := json.Unmarshal(files[stats.JSONFile], &st); err != nil {
			t.Fatal(err)
		}
		items, objects, sizes := counts(t, store, ds)
		if st.Items != items || !reflect.DeepEqual(st.Objects, objects) || !reflect.DeepEqual(st.ImageSizes, sizes) {
			t.Errorf("stats.json: %d items, objects %v, sizes %v; the annotations: %d, %v, %v", st.Items, st.Objects, st.ImageSizes, items, objects, sizes)
		}
		shapes, total := 0, 0
		for _, v := range st.Shapes {
			shapes += v
		}
		for _, v := range objects {
			total += v
		}
		if shapes != total || total == 0 {
			t.Errorf("shapes count %d objects, the annotations %d (want some)", shapes, total)
		}
	}
	ds, res, files := build(t, dir, store, recipe(6), 0)
	if got := *res.Items; got != (engine.ItemCounts{Total: 6, Ran: 6}) {
		t.Errorf("first build: items %+v, want 6 that ran", got)
	}
	check(ds, files)
	ds, res, files = build(t, dir, store, recipe(9), 0)
	if got := *res.Items; got != (engine.ItemCounts{Total: 9, Ran: 3, Cached: 6}) {
		t.Errorf("3 more images: items %+v, want 3 that ran and 6 from the memo", got)
	}
	check(ds, files)
	other, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if _, o, _ := build(t, t.TempDir(), other, recipe(9), 1); o.Outputs["stats"] != res.Outputs["stats"] {
		t.Errorf("-j 1 in a new store gave %s, the memoized build %s", o.Outputs["stats"].Short(), res.Outputs["stats"].Short())
	}
}
