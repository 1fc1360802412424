package imports_test

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
)

// buildImportD builds recipe in dir (steptest.Build) on s and returns the
// dataset and item counts of its import step "d".
func buildImportD(t *testing.T, dir string, s *cache.Store, recipe string) (cache.Digest, engine.ItemCounts) {
	t.Helper()
	r, br := steptest.Build(t, dir, s, recipe, 0)
	res := br.Result(r.Step("import.d"))
	if res.Items == nil {
		t.Fatal("import.d counted no items")
	}
	return res.Outputs["dataset"], *res.Items
}

// copySourceTree copies the directory src to dst.
func copySourceTree(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// reencodePNG writes the PNG at path again with other compression: other
// bytes, the same pixels.
func reencodePNG(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(b.Bytes(), raw) {
		t.Fatalf("%s: re-encoding gave the same bytes", path)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The instance-map formats read their maps lazily, on the import's item
// pool, and list what each item depends on: after one map changes only
// that item reads its map again (the unlabelled item, which has no map,
// always runs); a file the items do not depend on (a labelIds map) reruns
// none of them; one they all depend on (Vistas' config) reruns all of them;
// and the memoized dataset is the one a fresh store builds.
func TestInstanceMapFormatsMemoizeItems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format, fixture string
		edited          string // a map whose item reruns alone
		unused          string // a file no item depends on, "" for none
		shared          string // a file every labelled item depends on, "" for none
	}{
		{format: "cityscapes", fixture: "cityscapes",
			edited: "gtFine/train/bochum/bochum_000000_000313_gtFine_instanceIds.png",
			unused: "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelIds.png"},
		{format: "mapillary_vistas", fixture: "mapillary_vistas/v2.0",
			edited: "validation/v2.0/instances/zY8xW6vU4tS2rQ0pO9nM7L.png",
			unused: "validation/v2.0/labels/zY8xW6vU4tS2rQ0pO9nM7L.png",
			shared: "config_v2.0.json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			copySourceTree(t, filepath.Join("../../testdata/fixtures", tc.fixture), src)
			recipe := "import \"d\" {\n  format = \"" + tc.format + "\"\n  path   = \"src\"\n}\n"
			check := func(what string, ran, cached int) cache.Digest {
				t.Helper()
				d, c := buildImportD(t, dir, s, recipe)
				if c.Ran != ran || c.Cached != cached || c.Total != 5 {
					t.Errorf("%s: %d items ran, %d cached, of %d; want %d and %d of 5", what, c.Ran, c.Cached, c.Total, ran, cached)
				}
				return d
			}
			check("first build", 5, 0)
			reencodePNG(t, filepath.Join(src, tc.edited))
			got := check("one map changed", 2, 3)
			if tc.unused != "" {
				reencodePNG(t, filepath.Join(src, tc.unused))
				if d := check("a file no item reads changed", 1, 4); d != got {
					t.Errorf("the dataset changed: %s, was %s", d.Short(), got.Short())
				}
			}
			if tc.shared != "" {
				f, err := os.OpenFile(filepath.Join(src, tc.shared), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("\n")
				f.Close()
				if d := check("a file every item reads changed", 5, 0); d != got {
					t.Errorf("the dataset changed: %s, was %s", d.Short(), got.Short())
				}
			}
			fresh, err := cache.Open(filepath.Join(t.TempDir(), "fresh"), t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := buildImportD(t, dir, fresh, recipe); got != want {
				t.Errorf("the memoized import gave dataset %s, a fresh import %s", got.Short(), want.Short())
			}
		})
	}
}
