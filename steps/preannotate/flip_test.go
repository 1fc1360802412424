package preannotate_test

import (
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/model"
	"dsbuild/model/annotate"
	"dsbuild/steps/internal/steptest"
)

// flip = true segments each image also mirrored and averages the logits:
// each image's annotation is exactly what annotate.Scene gives with
// annotate.FlipAverage over the CPU segmenter of the same model, it is
// computed anew (the parameter is in the items' salt), and it does not
// depend on the number of workers.
func TestFlip(t *testing.T) {
	t.Parallel()
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := build(t, t.TempDir(), store, recipe(5, "0.5"), 0)
	flipped := strings.Replace(recipe(5, "0.5"), `device    = "cpu"`, "device    = \"cpu\"\n  flip      = true", 1)
	dir := t.TempDir()
	ds, res := build(t, dir, store, flipped, 0)
	if n := res.Items.Ran; n != 5 {
		t.Errorf("flip = true annotated %d images anew, want all 5", n)
	}
	if ds.Tree == plain.Tree {
		t.Error("flip = true gave the plain predictions")
	}

	// The same objects from annotate directly.
	r, br := steptest.Build(t, dir, store, flipped, 0)
	art, err := model.Load(store, br.Result(r.Step("train.m")).Outputs["model"])
	if err != nil {
		t.Fatal(err)
	}
	f, err := model.Fold(&art.Config, art.Weights)
	if err != nil {
		t.Fatal(err)
	}
	seg := annotate.FlipAverage(annotate.CPU(f))
	objects := 0
	for _, e := range ds.Entries {
		raw, err := store.ReadBlob(e.Image)
		if err != nil {
			t.Fatal(err)
		}
		img, err := dataset.DecodeImage(raw)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := annotate.Scene(seg, img, annotate.Params{Class: art.Config.Foreground[0], Threshold: 0.5, MinArea: 16})
		if err != nil {
			t.Fatal(err)
		}
		objects += len(objs)
		want, err := dataset.EncodeAnnotation(&dataset.Annotation{Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), Objects: objs})
		if err != nil {
			t.Fatal(err)
		}
		if cache.Sum(want) != e.Ann {
			t.Errorf("%s: the step's annotation is not annotate.Scene's with FlipAverage", e.Name)
		}
	}
	t.Logf("%d objects in %d images", objects, len(ds.Entries))

	other, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := build(t, t.TempDir(), other, flipped, 1); c.Tree != ds.Tree {
		t.Errorf("-j 1 gives %s, the default %s", c.Tree.Short(), ds.Tree.Short())
	}
}
