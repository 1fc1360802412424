package annotate

import (
	"image"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"dsbuild/model"
)

// smallModel is a real UNet (depth 2, width 4) with non-zero biases.
func smallModel(t testing.TB, size int) *model.Folded {
	t.Helper()
	cfg := &model.Config{Arch: "unet", Depth: 2, Width: 4, InputSize: size, InChannels: 3, Foreground: []string{"person"}}
	w := model.Init(cfg, 7)
	for _, s := range cfg.Tensors() {
		if strings.HasSuffix(s.Name, ".bias") {
			for j := range w[s.Name] {
				w[s.Name][j] = float32((j*5+len(s.Name))%9-4) * 0.05
			}
		}
	}
	f, err := model.Fold(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testImage is a w×h image with smooth colours and a few rectangles.
func testImage(w, h int) *image.RGBA {
	img := drawRects(w, h, image.Rect(w/10, h/8, w/2, h/2), image.Rect(w*6/10, h/3, w*9/10, h*9/10))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i+1] = uint8((x * 255) / w)
			img.Pix[i+2] = uint8((y * 255) / h)
		}
	}
	return img
}

// TestCPUBatchesIdentical: the CPU segmenter gives each image Forward's
// logits at its index, bit for bit whether the images come in one batch
// or one by one, and the two-stage annotator gives the same objects
// whatever its batch size.
func TestCPUBatchesIdentical(t *testing.T) {
	f := smallModel(t, 32)
	const n = 5
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, n*3*32*32)
	for i := range x {
		x[i] = rng.Float32()
	}
	seg := CPU(f)
	all, err := seg.Segment(x, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n*32*32 {
		t.Fatalf("%d logits, want %d", len(all), n*32*32)
	}
	for i := range n {
		in := x[i*3*32*32 : (i+1)*3*32*32]
		one, err := seg.Segment(in, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := f.Forward(in)
		for j := range want {
			if math.Float32bits(all[i*32*32+j]) != math.Float32bits(want[j]) || math.Float32bits(one[j]) != math.Float32bits(want[j]) {
				t.Fatalf("image %d, logit %d: %v in the batch, %v alone, Forward gives %v", i, j, all[i*32*32+j], one[j], want[j])
			}
		}
	}

	// Annotate: pick the threshold at the median stage-1 probability so
	// that the random network finds something.
	img := testImage(90, 70)
	l, err := seg.Segment(ImageInput(img, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(l)
	p := Params{Class: "person", Threshold: sigmoid(float64(l[len(l)/2])), Padding: 0.1, Batch: 3}
	one := p
	one.Batch = 1
	a3, err := twoStage(seg, img, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	a1, err := twoStage(seg, img, nil, one)
	if err != nil {
		t.Fatal(err)
	}
	if len(a3) == 0 {
		t.Fatal("no objects; the test would prove nothing")
	}
	if !reflect.DeepEqual(a1, a3) {
		t.Fatal("batches of 1 and 3 gave different objects")
	}
	t.Logf("%d objects at threshold %.4f", len(a3), p.Threshold)
	for _, o := range a3 {
		checkObject(t, o, "person")
	}
}

func TestCPUErrors(t *testing.T) {
	f := smallModel(t, 8)
	seg := CPU(f)
	if seg.Size() != 8 {
		t.Fatalf("Size %d, want 8", seg.Size())
	}
	if out, err := seg.Segment(nil, 0); err != nil || len(out) != 0 {
		t.Fatalf("no images: %v, %v", out, err)
	}
	for _, tc := range []struct {
		seg  Segmenter
		x    []float32
		n    int
		want string
	}{
		{seg, make([]float32, 3*64-1), 1, "191 input values for 1 images"},
		{seg, make([]float32, 3*64), 2, "192 input values for 2 images"},
		{seg, nil, -1, "-1 images"},
		{CPU(nil), nil, 0, "no model"},
		{CPU(&model.Folded{Config: f.Config}), make([]float32, 3*64), 1, "image 0: forward pass failed"},
	} {
		if _, err := tc.seg.Segment(tc.x, tc.n); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	if CPU(nil).Size() != 0 {
		t.Error("Size without a model")
	}
}

func BenchmarkAnnotate(b *testing.B) {
	f := smallModel(b, 64)
	img := testImage(320, 240)
	l, err := CPU(f).Segment(ImageInput(img, 64), 1)
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(l)
	p := Params{Class: "person", Threshold: sigmoid(float64(l[len(l)/2])), Padding: 0.1, MinArea: 50}
	boxes := []Box{
		{Rect: image.Rect(30, 30, 160, 120), Score: 0.9},
		{Rect: image.Rect(190, 80, 290, 220), Score: 0.8},
		{Rect: image.Rect(0, 0, 320, 240), Score: 0.5},
	}
	for _, bc := range []struct {
		name  string
		boxes []Box
	}{{"stage1+2", nil}, {"boxes", boxes}} {
		b.Run(bc.name, func(b *testing.B) {
			seg := CPU(f)
			n := 0
			for b.Loop() {
				objs, err := twoStage(seg, img, bc.boxes, p)
				if err != nil {
					b.Fatal(err)
				}
				n = len(objs)
			}
			b.ReportMetric(float64(n), "objects")
		})
	}
}
