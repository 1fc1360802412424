package export_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
)

// recipe imports count synthetic images (adding images never changes the
// first ones) and exports them in format with options.
func recipe(count int, format, options string) string {
	return strings.NewReplacer("COUNT", strconv.Itoa(count), "FORMAT", format, "OPTIONS", options).Replace(`
import "pool" {
  format  = "synthetic"
  options = { count = "COUNT", width = "40", height = "36", figures = "0-3", seed = "5", dataset = "train" }
}
export "out" {
  from    = import.pool
  format  = "FORMAT"
  options = { OPTIONS }
}
`)
}

// build builds hcl in dir and returns the import's dataset and the
// export's result.
func build(t *testing.T, dir string, store *cache.Store, hcl string, jobs int) (*dataset.Dataset, *engine.StepResult) {
	t.Helper()
	r, br := steptest.Build(t, dir, store, hcl, jobs)
	ds, err := dataset.Open(store, br.Result(r.Step("import.pool")).Outputs["dataset"])
	if err != nil {
		t.Fatal(err)
	}
	res := br.Result(r.Step("export.out"))
	if res.Items == nil {
		t.Fatalf("export.out counted no items (%s, %v: %s)", res.Status, res.Err, res.Reason)
	}
	return ds, res
}

// whole is what formats.Export writes for ds, stored as the step stores
// its output: the export without the step's item work.
func whole(t *testing.T, store *cache.Store, ds *dataset.Dataset, format string, opt dataset.Options) cache.Digest {
	t.Helper()
	dir := t.TempDir()
	if err := formats.Export(context.Background(), store, ds, format, opt, dir); err != nil {
		t.Fatal(err)
	}
	d, _, err := store.PutDir(context.Background(), dir, cache.IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every format's export is done item by item and memoized per item: the
// step's output is what formats.Export writes, adding images to the
// dataset exports the new ones only, other options export all again, and
// the number of workers changes nothing.
func TestItemwiseExport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format, options, other string
		opt                    dataset.Options
	}{
		{"coco", "", `masks = "polygons"`, nil},
		{"pascal_voc", "", `default_subset = "all"`, nil},
		{"masks", `mode = "color"`, `mode = "index"`, dataset.Options{"mode": "color"}},
		{"supervisely", "", "", nil},
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			ds, res := build(t, dir, store, recipe(6, tc.format, tc.options), 0)
			if got := *res.Items; got != (engine.ItemCounts{Total: 6, Ran: 6}) {
				t.Errorf("first export: items %+v, want 6 that ran", got)
			}
			if want := whole(t, store, ds, tc.format, tc.opt); res.Outputs["out"] != want {
				t.Errorf("the step wrote %s, formats.Export %s", res.Outputs["out"].Short(), want.Short())
			}
			ds, res = build(t, dir, store, recipe(9, tc.format, tc.options), 0)
			if got := *res.Items; got != (engine.ItemCounts{Total: 9, Ran: 3, Cached: 6}) {
				t.Errorf("3 more images: items %+v, want 3 that ran and 6 from the memo", got)
			}
			want := whole(t, store, ds, tc.format, tc.opt)
			if res.Outputs["out"] != want {
				t.Errorf("after adding images the step wrote %s, formats.Export %s", res.Outputs["out"].Short(), want.Short())
			}
			other, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if _, res := build(t, t.TempDir(), other, recipe(9, tc.format, tc.options), 1); res.Outputs["out"] != want {
				t.Errorf("-j 1 in a new store wrote %s, want %s", res.Outputs["out"].Short(), want.Short())
			}
			if tc.other != "" {
				if _, res := build(t, dir, store, recipe(9, tc.format, tc.other), 0); res.Items.Ran != 9 {
					t.Errorf("options { %s }: %d items ran, want all 9", tc.other, res.Items.Ran)
				}
			}
		})
	}
}
