package transform

import (
	"image"
	"image/color"
	"math/rand/v2"
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
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / max(1, w-1)), uint8(y * 255 / max(1, h-1)), 100, 255})
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
