package transform

import (
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// testItem makes an item with decoded pixels (a w×h gradient) and the given
// objects, for testing ops directly.
func testItem(w, h int, objs ...dataset.Object) *Item {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, pixGradient(x, y, w, h))
		}
	}
	return &Item{
		Name:   "ds/item.jpg",
		Ann:    &dataset.Annotation{Width: w, Height: h, Objects: objs},
		Rand:   rand.New(rand.NewChaCha8([32]byte{1})),
		pixels: img,
	}
}

// buildOp builds an op from its parameters as a recipe would give them.
func buildOp(t *testing.T, name string, attrs map[string]any) (Op, error) {
	t.Helper()
	spec, ok := opSpecs[name]
	if !ok {
		t.Fatalf("no op %q", name)
	}
	bc := engine.BlockConfig{Type: name, Params: ctyParams(t, attrs)}
	return spec.Build(params{bc})
}

// rectMask is a bitmap object covering r.
func rectMask(class string, r image.Rectangle) dataset.Object {
	m, _ := dataset.NewMask(r.Dx(), r.Dy())
	for i := range m.Bits {
		m.Bits[i] = 1
	}
	return dataset.Object{Class: class, Shape: dataset.ShapeBitmap, Mask: m, Origin: r.Min}
}

// pixGradient is testItem's pixel (x, y) of a w×h item.
func pixGradient(x, y, w, h int) color.RGBA {
	return color.RGBA{uint8(x * 255 / max(1, w-1)), uint8(y * 255 / max(1, h-1)), 100, 255}
}

// mustBuild builds an op that must build.
func mustBuild(t *testing.T, name string, attrs map[string]any) Op {
	t.Helper()
	op, err := buildOp(t, name, attrs)
	if err != nil {
		t.Fatalf("build %s %v: %v", name, attrs, err)
	}
	return op
}

// applyOne applies op to it and returns the one item out.
func applyOne(t *testing.T, op Op, it *Item) *Item {
	t.Helper()
	out, err := op.Apply(it)
	if err != nil || len(out) != 1 {
		t.Fatalf("Apply = %d items, %v; want 1", len(out), err)
	}
	return out[0]
}

// rectObj is a rectangle object covering r.
func rectObj(class string, r image.Rectangle) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapeRectangle, Rect: r}
}

// checkParamErr checks that building op name from attrs fails at attr with
// a message containing msg.
func checkParamErr(t *testing.T, name string, attrs map[string]any, attr, msg string) {
	t.Helper()
	_, err := buildOp(t, name, attrs)
	pe, ok := err.(*paramError)
	if !ok {
		t.Errorf("%s %v: err = %v, want a parameter error at %q", name, attrs, err, attr)
		return
	}
	if pe.attr != attr || !strings.Contains(pe.msg, msg) {
		t.Errorf("%s %v: error at %q: %q, want at %q containing %q", name, attrs, pe.attr, pe.msg, attr, msg)
	}
}
