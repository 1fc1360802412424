package preannotate_test

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/model/annotate"
	"dsbuild/steps"
)

// The crops a crop model is trained on and the windows stage 2 cuts are
// the same rectangles: for every person of a synthetic dataset, the crop
// that instances_crop with pad = "<n>%" makes has the size of
// annotate.Window(the person's bounds, n) and holds the person at the
// window's offset. Persons on the border (clipped windows) and paddings
// that do not divide a side (rounded down) are among them.
func TestCropsMatchStage2Windows(t *testing.T) {
	t.Parallel()
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := `import "syn" {
  format  = "synthetic"
  options = { count = "8", width = "64", height = "48", figures = "1-3", seed = "5" }
}
`
	pcts := []int{0, 7, 30, 100}
	for _, p := range pcts {
		src += fmt.Sprintf("transform \"pad%d\" {\n  from = [import.syn]\n  instances_crop {\n    classes = [\"person\"]\n    pad     = \"%d%%\"\n  }\n}\n", p, p)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := br.FirstError(); err != nil {
		t.Fatal(err)
	}
	open := func(addr string) *dataset.Dataset {
		ds, err := dataset.Open(store, br.Result(r.Step(addr)).Outputs["dataset"])
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	syn := open("import.syn")
	clipped, rounded := 0, 0
	for _, pct := range pcts {
		crops := open(fmt.Sprintf("transform.pad%d", pct))
		byName := map[string]dataset.Entry{}
		for _, e := range crops.Entries {
			byName[strings.TrimSuffix(e.Name, path.Ext(e.Name))] = e
		}
		n := 0
		for _, e := range syn.Entries {
			a, err := syn.Annotation(store, e)
			if err != nil {
				t.Fatal(err)
			}
			k := 0
			for _, ob := range a.Objects {
				if ob.Class != "person" {
					continue
				}
				b := ob.Bounds()
				win, ok := annotate.Window(b, pct, a.Width, a.Height)
				if !ok {
					continue
				}
				k++
				name := fmt.Sprintf("%s__%d", strings.TrimSuffix(e.Name, path.Ext(e.Name)), k)
				c, found := byName[name]
				if !found {
					t.Fatalf("pad %d%%: no crop %s for the person at %v of %s", pct, name, b, e.Name)
				}
				n++
				ca, err := crops.Annotation(store, c)
				if err != nil {
					t.Fatal(err)
				}
				if c.Width != win.Dx() || c.Height != win.Dy() {
					t.Errorf("pad %d%%: %s: crop %d×%d, stage 2's window %v is %d×%d", pct, name, c.Width, c.Height, win, win.Dx(), win.Dy())
				}
				if len(ca.Objects) != 1 || ca.Objects[0].Bounds() != b.Sub(win.Min) {
					t.Errorf("pad %d%%: %s: the crop holds %d objects, the first at %v; stage 2's window %v puts the person at %v", pct, name, len(ca.Objects), firstBounds(ca), win, b.Sub(win.Min))
				}
				full := b // unclamped
				full.Min.X -= pct * b.Dx() / 100
				full.Max.X += pct * b.Dx() / 100
				full.Min.Y -= pct * b.Dy() / 100
				full.Max.Y += pct * b.Dy() / 100
				if win != full {
					clipped++
				}
				if pct*b.Dx()%100 != 0 || pct*b.Dy()%100 != 0 {
					rounded++
				}
			}
		}
		if n != len(crops.Entries) {
			t.Errorf("pad %d%%: %d crops, %d windows", pct, len(crops.Entries), n)
		}
	}
	if clipped == 0 || rounded == 0 {
		t.Errorf("%d clipped windows and %d rounded paddings: the test does not exercise both", clipped, rounded)
	}
	t.Logf("%d clipped windows, %d with rounded padding", clipped, rounded)
}

func firstBounds(a *dataset.Annotation) any {
	if len(a.Objects) == 0 {
		return "none"
	}
	return a.Objects[0].Bounds()
}
