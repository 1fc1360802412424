package annotate

import (
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"dsbuild/dataset"
)

// redSeg is a fake Segmenter whose logit is gain·(red − ½) of its input,
// so that red shapes on black come back as foreground exactly where they
// are drawn.
type redSeg struct {
	s     int
	gain  float32
	calls int
	sizes []int // n of each call
	err   error // returned by Segment when set
	// mangle, when set, changes the output before it is returned.
	mangle func([]float32) []float32
}

func (r *redSeg) Size() int { return r.s }

func (r *redSeg) Segment(x []float32, n int) ([]float32, error) {
	r.calls++
	r.sizes = append(r.sizes, n)
	if r.err != nil {
		return nil, r.err
	}
	px := r.s * r.s
	if len(x) != 3*px*n {
		return nil, errors.New("redSeg: wrong input length")
	}
	gain := r.gain
	if gain == 0 {
		gain = 1
	}
	out := make([]float32, n*px)
	for i := range n {
		red := x[i*3*px : i*3*px+px]
		for j, v := range red {
			out[i*px+j] = float32(gain * (v - 0.5))
		}
	}
	if r.mangle != nil {
		out = r.mangle(out)
	}
	return out, nil
}

var red = color.RGBA{255, 0, 0, 255}

// drawRects returns a w×h opaque black image with the rectangles in red.
func drawRects(w, h int, rects ...image.Rectangle) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	for _, r := range rects {
		r = r.Intersect(img.Rect)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetRGBA(x, y, red)
			}
		}
	}
	return img
}

// rectMask is the w×h mask of r.
func rectMask(t *testing.T, w, h int, r image.Rectangle) *dataset.Mask {
	t.Helper()
	m, err := dataset.NewMask(w, h)
	if err != nil {
		t.Fatal(err)
	}
	r = r.Intersect(image.Rect(0, 0, w, h))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.Set(x, y, true)
		}
	}
	return m
}

// raster is the object's mask over the w×h image.
func raster(t *testing.T, o dataset.Object, w, h int) *dataset.Mask {
	t.Helper()
	m, err := o.Raster(w, h)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tag returns the value of the object's tag name and whether it is there
// as a number.
func tag(o dataset.Object, name string) (string, bool) {
	for _, t := range o.Tags {
		if t.Name == name {
			return t.Value, t.Number
		}
	}
	return "", false
}

// checkObject checks the invariants of every produced object.
func checkObject(t *testing.T, o dataset.Object, class string) {
	t.Helper()
	if o.Class != class || o.Shape != dataset.ShapeBitmap || o.Mask == nil {
		t.Fatalf("object %+v: want a bitmap of class %q", o, class)
	}
	x0, y0, x1, y1, ok := o.Mask.BBox()
	if !ok || x0 != 0 || y0 != 0 || x1 != o.Mask.W || y1 != o.Mask.H {
		t.Fatalf("mask %dx%d is not cropped to its box (%d,%d)-(%d,%d) ok=%v", o.Mask.W, o.Mask.H, x0, y0, x1, y1, ok)
	}
	if _, num := tag(o, "confidence"); !num {
		t.Fatalf("object at %v has no numeric confidence tag: %+v", o.Origin, o.Tags)
	}
}

// matchRects checks that objs are the rectangles, in order, each with an
// IoU of at least minIoU at image resolution.
func matchRects(t *testing.T, objs []dataset.Object, w, h int, minIoU float64, want ...image.Rectangle) {
	t.Helper()
	if len(objs) != len(want) {
		for _, o := range objs {
			t.Logf("got %v", o.Bounds())
		}
		t.Fatalf("got %d objects, want %d", len(objs), len(want))
	}
	for i, r := range want {
		iou := dataset.IoU(raster(t, objs[i], w, h), rectMask(t, w, h, r))
		t.Logf("object %d: bounds %v, want %v, IoU %.4f", i, objs[i].Bounds(), r, iou)
		if iou < minIoU {
			t.Errorf("object %d: IoU %.4f with %v, want ≥ %v", i, iou, r, minIoU)
		}
	}
}

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

// twoStage is [Boxes] with one segmenter for both stages, as the tests of
// the stages' geometry need.
func twoStage(seg Segmenter, img image.Image, boxes []Box, p Params) ([]dataset.Object, error) {
	return Boxes(seg, seg, img, boxes, p)
}
