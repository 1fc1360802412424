package formats_test

import (
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset/formats"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
)

// A dataset without items (on_error = "skip" or --skip-bad left out every
// item) exports, in every format, to a directory that reads back as a
// dataset without items, not as an error.
func TestEmptyDatasetReadsBack(t *testing.T) {
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "broken.png"), []byte("\x89PNG\r\n\x1a\nnot a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ingest.ImportDir(ctx, engine.BareRun(s, 0, nil), src, ingest.Settings{Format: "images", Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dataset.Entries) != 0 || len(res.Report.Skipped) != 1 {
		t.Fatalf("%d items, %d skipped; want 0 and 1", len(res.Dataset.Entries), len(res.Report.Skipped))
	}
	imports := map[string]bool{}
	for _, n := range formats.ImportNames() {
		imports[n] = true
	}
	for _, name := range formats.ExportNames() {
		if !imports[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			back := importDir(t, s, name, exportTo(t, s, res.Dataset, name, nil), nil)
			if len(back.Entries) != 0 {
				t.Errorf("%d items read back, want 0", len(back.Entries))
			}
		})
	}
}
