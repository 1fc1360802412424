package annotate

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"dsbuild/dataset"
)

// DefaultThreshold is the probability threshold when Params.Threshold is 0.
const DefaultThreshold = 0.5

// DefaultBatch is the number of crops per Segment call when Params.Batch
// is 0.
const DefaultBatch = 8

// maxSize bounds the segmenter's input side, so that pixel counts fit the
// integer arithmetic used here.
const maxSize = 1 << 14

// maxLogit bounds logits before resampling: NaN becomes −maxLogit
// (background) and ±Inf ±maxLogit, so that weights of 0 never meet an
// infinity.
const maxLogit = 1e6

// Params are the settings of [Annotate].
type Params struct {
	Class     string  // class name of the produced objects, e.g. "person"; required
	Threshold float64 // probability threshold in (0, 1); 0 means DefaultThreshold
	MinArea   int     // instances with fewer image pixels are dropped; ≥ 0
	Padding   float64 // box padding on each side as a fraction of the box's larger side; ≥ 0
	Batch     int     // crops per Segment call; 0 means DefaultBatch
}

// check validates p and fills in the defaults.
func (p Params) check() (Params, error) {
	if p.Threshold == 0 {
		p.Threshold = DefaultThreshold
	}
	if p.Batch == 0 {
		p.Batch = DefaultBatch
	}
	switch {
	case p.Class == "":
		return p, errors.New("no class name")
	case !(p.Threshold > 0 && p.Threshold < 1):
		return p, fmt.Errorf("threshold is %v; it must lie strictly between 0 and 1", p.Threshold)
	case p.MinArea < 0:
		return p, fmt.Errorf("min area is %d; it must not be negative", p.MinArea)
	case !(p.Padding >= 0 && p.Padding <= math.MaxFloat64):
		return p, fmt.Errorf("padding is %v; it must be a finite fraction ≥ 0", p.Padding)
	case p.Batch < 0:
		return p, fmt.Errorf("batch is %d; it must be positive", p.Batch)
	}
	return p, nil
}

// Box is a detection in image pixels (half-open, relative to the image's
// bounds' minimum) with the detector's score.
type Box struct {
	Rect  image.Rectangle
	Score float64
}

// task is one box for stage 2.
type task struct {
	rect   image.Rectangle
	score  float64
	scored bool // from a detector: emit the "score" tag
}

// Annotate returns the instance objects of one image, each a bitmap
// object of class p.Class whose mask is cropped to its tight bounding box,
// sorted by (top, left, area) and then by box order.
//
// With boxes == nil it first finds the boxes itself (stage 1): the whole
// image resampled to S×S, thresholded, its 8-connected components mapped
// out to image pixels, those below MinArea (in image pixels, scaled) left
// out. A non-nil empty boxes gives no objects without running the network.
//
// Stage 2, for every box: pad by Padding times the box's larger side on
// each side, clamp to the image (an empty box is skipped), crop, resample
// to S×S, segment (Batch crops per call), resample the logits back to the
// crop's size, threshold, keep the largest 8-connected component and drop
// it when it has fewer than MinArea pixels. Each object carries the tag
// "confidence", the mean foreground probability over its mask rounded to
// 3 decimals, and, for boxes given by the caller, "score", the box's score.
func Annotate(seg Segmenter, img image.Image, boxes []Box, p Params) ([]dataset.Object, error) {
	p, err := p.check()
	if err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	if seg == nil {
		return nil, errors.New("annotate: no segmenter")
	}
	src, err := newRGBSource(img)
	if err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	s := seg.Size()
	if s < 1 || s > maxSize {
		return nil, fmt.Errorf("annotate: segmenter input size is %d; it must be 1 to %d", s, maxSize)
	}
	a := &annotator{seg: seg, src: src, s: s, p: p, thr: math.Log(p.Threshold / (1 - p.Threshold))}
	var tasks []task
	if boxes == nil {
		if tasks, err = a.detect(); err != nil {
			return nil, fmt.Errorf("annotate: stage 1: %w", err)
		}
	} else {
		tasks = make([]task, len(boxes))
		for i, b := range boxes {
			if math.IsNaN(b.Score) || math.IsInf(b.Score, 0) {
				return nil, fmt.Errorf("annotate: box %d: score is %v", i, b.Score)
			}
			tasks[i] = task{rect: b.Rect, score: b.Score, scored: true}
		}
	}
	objs, err := a.refine(tasks)
	if err != nil {
		return nil, fmt.Errorf("annotate: stage 2: %w", err)
	}
	sortObjects(objs)
	return objs, nil
}

// sortObjects orders objects by (top, left, area), stably.
func sortObjects(objs []dataset.Object) {
	type keyed struct {
		ob   dataset.Object
		area int
	}
	ks := make([]keyed, len(objs))
	for i, o := range objs {
		ks[i] = keyed{o, o.Mask.Area()}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		x, y := &ks[i], &ks[j]
		switch {
		case x.ob.Origin.Y != y.ob.Origin.Y:
			return x.ob.Origin.Y < y.ob.Origin.Y
		case x.ob.Origin.X != y.ob.Origin.X:
			return x.ob.Origin.X < y.ob.Origin.X
		}
		return x.area < y.area
	})
	for i, k := range ks {
		objs[i] = k.ob
	}
}

// annotator holds one Annotate call's state.
type annotator struct {
	seg Segmenter
	src *rgbSource
	s   int
	p   Params
	thr float64 // the threshold in logit space
}

// segment runs the segmenter on n inputs and checks and cleans its output.
func (a *annotator) segment(x []float32, n int) ([]float32, error) {
	out, err := a.seg.Segment(x, n)
	if err != nil {
		return nil, fmt.Errorf("segmenting %d image(s): %w", n, err)
	}
	if want := n * a.s * a.s; len(out) != want {
		return nil, fmt.Errorf("segmenting %d image(s): the segmenter returned %d logits, want %d", n, len(out), want)
	}
	for i, v := range out {
		switch {
		case v != v:
			out[i] = -maxLogit
		case v > maxLogit:
			out[i] = maxLogit
		case v < -maxLogit:
			out[i] = -maxLogit
		}
	}
	return out, nil
}

// detect is stage 1: boxes from the components of the whole image's mask.
func (a *annotator) detect() ([]task, error) {
	s, w, h := a.s, a.src.w, a.src.h
	x := make([]float32, 3*s*s)
	a.src.sample(image.Rect(0, 0, w, h), s, x)
	logits, err := a.segment(x, 1)
	if err != nil {
		return nil, err
	}
	fg := make([]uint8, s*s)
	for i, v := range logits {
		if float64(v) > a.thr {
			fg[i] = 1
		}
	}
	_, comps := components(fg, s, s)
	// A component of area n stands for n·w·h/s² image pixels; compare
	// n·w·h < MinArea·s² in integers (MinArea capped at w·h + 1, above
	// which nothing can pass, so that the products fit in int64).
	W, H, S := int64(w), int64(h), int64(s)
	minArea := min(int64(a.p.MinArea), W*H+1)
	var tasks []task
	for _, c := range comps {
		if int64(c.area)*W*H < minArea*S*S {
			continue
		}
		b := c.box
		r := image.Rect(
			int(int64(b.Min.X)*W/S), int(int64(b.Min.Y)*H/S),
			int((int64(b.Max.X)*W+S-1)/S), int((int64(b.Max.Y)*H+S-1)/S),
		)
		tasks = append(tasks, task{rect: r})
	}
	return tasks, nil
}

// crop is a task's padded, clamped window.
type crop struct {
	task
	win image.Rectangle
}

// window pads r by pad·max(w, h) on each side and clamps it to the w×h
// image; ok is false when nothing is left. Coordinates are first clamped
// to ±2⁴⁰ and the padding to 2⁴², so that nothing overflows.
func window(r image.Rectangle, pad float64, w, h int) (image.Rectangle, bool) {
	const lim = 1 << 40
	cl := func(v int) int64 { return min(max(int64(v), -lim), lim) }
	x0, y0, x1, y1 := cl(r.Min.X), cl(r.Min.Y), cl(r.Max.X), cl(r.Max.Y)
	if x0 >= x1 || y0 >= y1 {
		return image.Rectangle{}, false
	}
	d := int64(min(math.Round(pad*float64(max(x1-x0, y1-y0))), 1<<42))
	x0, y0 = max(x0-d, 0), max(y0-d, 0)
	x1, y1 = min(x1+d, int64(w)), min(y1+d, int64(h))
	if x0 >= x1 || y0 >= y1 {
		return image.Rectangle{}, false
	}
	return image.Rect(int(x0), int(y0), int(x1), int(y1)), true
}

// refine is stage 2.
func (a *annotator) refine(tasks []task) ([]dataset.Object, error) {
	var crops []crop
	for _, t := range tasks {
		if win, ok := window(t.rect, a.p.Padding, a.src.w, a.src.h); ok {
			crops = append(crops, crop{t, win})
		}
	}
	s := a.s
	in := 3 * s * s
	var objs []dataset.Object
	x := make([]float32, min(a.p.Batch, len(crops))*in)
	for start := 0; start < len(crops); start += a.p.Batch {
		batch := crops[start:min(start+a.p.Batch, len(crops))]
		for k, c := range batch {
			a.src.sample(c.win, s, x[k*in:(k+1)*in])
		}
		logits, err := a.segment(x[:len(batch)*in], len(batch))
		if err != nil {
			return nil, fmt.Errorf("crops %d to %d: %w", start, start+len(batch)-1, err)
		}
		for k, c := range batch {
			ob, ok, err := a.instance(c, logits[k*s*s:(k+1)*s*s])
			if err != nil {
				return nil, fmt.Errorf("crop %d %v: %w", start+k, c.win, err)
			}
			if ok {
				objs = append(objs, ob)
			}
		}
	}
	return objs, nil
}

// instance turns one crop's S×S logits into its object: resampled to the
// window's size, thresholded, the largest component kept.
func (a *annotator) instance(c crop, logits []float32) (dataset.Object, bool, error) {
	w, h := c.win.Dx(), c.win.Dy()
	plane := newLogitPlane(logits, a.s, w, h)
	fg := make([]uint8, w*h)
	row := make([]float32, w)
	for y := range h {
		plane.row(y, row)
		dst := fg[y*w : (y+1)*w]
		for x, v := range row {
			if float64(v) > a.thr {
				dst[x] = 1
			}
		}
	}
	labels, comps := components(fg, w, h)
	best, ok := largest(comps)
	if !ok || best.area < a.p.MinArea {
		return dataset.Object{}, false, nil
	}
	b := best.box
	m, err := dataset.NewMask(b.Dx(), b.Dy())
	if err != nil {
		return dataset.Object{}, false, err
	}
	sum := 0.0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if labels[y*w+x] == best.label {
				m.Bits[(y-b.Min.Y)*m.W+x-b.Min.X] = 1
				sum += sigmoid(float64(plane.at(x, y)))
			}
		}
	}
	conf := math.Round(sum/float64(best.area)*1000) / 1000
	tags := []dataset.Tag{dataset.NumberTag("confidence", conf)}
	if c.scored {
		tags = append(tags, dataset.NumberTag("score", c.score))
	}
	return dataset.Object{
		Class:  a.p.Class,
		Tags:   tags,
		Shape:  dataset.ShapeBitmap,
		Mask:   m,
		Origin: c.win.Min.Add(b.Min),
	}, true, nil
}
