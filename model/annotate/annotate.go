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

// maxPaddingPercent bounds the padding in whole percent (10 000 times a
// box's side), so that the window arithmetic fits in int64.
const maxPaddingPercent = 1 << 20

// Params are the settings of [Scene] and [Boxes].
type Params struct {
	Class     string  // class name of the produced objects, e.g. "person"; required
	Threshold float64 // probability threshold in (0, 1); 0 means DefaultThreshold
	MinArea   int     // instances with fewer image pixels are dropped; ≥ 0
	// Padding is [Boxes]' box padding, a fraction of the box's width on
	// the left and right and of its height on the top and bottom, in
	// whole percent (0.1 is 10 %), as instances_crop's pad = "10%". ≥ 0.
	Padding float64
	Batch   int // crops per Segment call; 0 means DefaultBatch
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
	case p.Batch < 0:
		return p, fmt.Errorf("batch is %d; it must be positive", p.Batch)
	}
	if _, err := PaddingPercent(p.Padding); err != nil {
		return p, err
	}
	return p, nil
}

// PaddingPercent converts a padding fraction to the whole percent that
// instances_crop's pad = "<n>%" writes: 0.1 is 10. A padding that is
// negative, not finite or not a whole percent (within 10⁻⁹) is an error;
// one above 2²⁰ % is taken as 2²⁰ %, which pads past any image.
func PaddingPercent(pad float64) (int, error) {
	if !(pad >= 0 && pad <= math.MaxFloat64) {
		return 0, fmt.Errorf("padding is %v; it must be a finite fraction ≥ 0", pad)
	}
	pct := math.Round(pad * 100)
	if math.Abs(pad*100-pct) > 1e-9*max(1, pct) {
		return 0, fmt.Errorf("padding is %v; it must be a whole percent (a multiple of 0.01), as instances_crop's pad = \"<n>%%\" is", pad)
	}
	return int(min(pct, maxPaddingPercent)), nil
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

// Scene returns the instance objects of one image in one pass: the whole
// image resampled to S×S and segmented, the S×S logits resampled back to
// the image's size and thresholded, and every 8-connected component of at
// least MinArea image pixels kept as one bitmap object of class p.Class
// (holes stay holes; touching instances make one object). Objects are
// cropped to their tight bounding boxes, sorted by (top, left, area) and
// then by raster order of their first pixel, and carry the tag
// "confidence", the mean foreground probability over the mask rounded to
// 3 decimals. Padding and Batch are not used.
func Scene(seg Segmenter, img image.Image, p Params) ([]dataset.Object, error) {
	a, err := newAnnotator(img, p)
	if err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	if err := checkSegmenter(seg); err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	sc, err := a.scene(seg)
	if err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	var objs []dataset.Object
	for _, c := range sc.comps {
		if c.area < a.p.MinArea {
			continue
		}
		ob, err := a.object(sc.labels, sc.plane, a.src.w, c, image.Point{}, nil)
		if err != nil {
			return nil, fmt.Errorf("annotate: %w", err)
		}
		objs = append(objs, ob)
	}
	sortObjects(objs)
	return objs, nil
}

// Boxes returns the instance objects of one image in two stages, with two
// models: find for the boxes, crop for each box's mask. Objects are
// bitmaps of class p.Class cropped to their tight bounding boxes, sorted
// by (top, left, area) and then by box order.
//
// Stage 1, with boxes == nil: the boxes are the bounds of the components
// that [Scene] would give with find (at image resolution, those below
// MinArea left out). A non-nil empty boxes gives no objects without
// running a network; with boxes given, find is not used and may be nil.
//
// Stage 2, for every box: pad by Padding times the box's width on the
// left and right and its height on the top and bottom (rounded down to
// whole pixels, as instances_crop does), clamp to the image (an empty
// window is skipped), crop, resample to crop's S×S, segment (Batch crops
// per call), resample the logits back to the window's size, threshold,
// keep the largest 8-connected component and drop it when it has fewer
// than MinArea pixels. Each object carries the tag "confidence" and, for
// boxes given by the caller, "score", the box's score.
func Boxes(find, crop Segmenter, img image.Image, boxes []Box, p Params) ([]dataset.Object, error) {
	a, err := newAnnotator(img, p)
	if err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	if err := checkSegmenter(crop); err != nil {
		return nil, fmt.Errorf("annotate: crop model: %w", err)
	}
	var tasks []task
	if boxes == nil {
		if err := checkSegmenter(find); err != nil {
			return nil, fmt.Errorf("annotate: stage 1: %w", err)
		}
		if tasks, err = a.detect(find); err != nil {
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
	objs, err := a.refine(crop, tasks)
	if err != nil {
		return nil, fmt.Errorf("annotate: stage 2: %w", err)
	}
	sortObjects(objs)
	return objs, nil
}

// checkSegmenter checks that seg exists and has a usable input size.
func checkSegmenter(seg Segmenter) error {
	if seg == nil {
		return errors.New("no segmenter")
	}
	if s := seg.Size(); s < 1 || s > maxSize {
		return fmt.Errorf("segmenter input size is %d; it must be 1 to %d", s, maxSize)
	}
	return nil
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

// annotator holds one call's state.
type annotator struct {
	src *rgbSource
	p   Params
	pct int     // the padding in whole percent
	thr float64 // the threshold in logit space
}

func newAnnotator(img image.Image, p Params) (*annotator, error) {
	p, err := p.check()
	if err != nil {
		return nil, err
	}
	src, err := newRGBSource(img)
	if err != nil {
		return nil, err
	}
	pct, _ := PaddingPercent(p.Padding)
	return &annotator{src: src, p: p, pct: pct, thr: math.Log(p.Threshold / (1 - p.Threshold))}, nil
}

// segment runs seg on n inputs and checks and cleans its output.
func segment(seg Segmenter, x []float32, n int) ([]float32, error) {
	s := seg.Size()
	out, err := seg.Segment(x, n)
	if err != nil {
		return nil, fmt.Errorf("segmenting %d image(s): %w", n, err)
	}
	if want := n * s * s; len(out) != want {
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

// sceneMask is the whole image's prediction at image resolution.
type sceneMask struct {
	plane  *logitPlane
	labels []int32
	comps  []component
}

// scene segments the whole image at seg's resolution and labels the
// components of the thresholded logits resampled to the image's size.
func (a *annotator) scene(seg Segmenter) (*sceneMask, error) {
	s, w, h := seg.Size(), a.src.w, a.src.h
	x := make([]float32, 3*s*s)
	a.src.sample(image.Rect(0, 0, w, h), s, x)
	logits, err := segment(seg, x, 1)
	if err != nil {
		return nil, err
	}
	plane, fg := a.threshold(logits, s, w, h)
	labels, comps := components(fg, w, h)
	return &sceneMask{plane: plane, labels: labels, comps: comps}, nil
}

// threshold resamples an s×s logit map to w×h and thresholds it.
func (a *annotator) threshold(logits []float32, s, w, h int) (*logitPlane, []uint8) {
	plane := newLogitPlane(logits, s, w, h)
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
	return plane, fg
}

// detect is stage 1: the bounds of the scene components of at least
// MinArea pixels.
func (a *annotator) detect(seg Segmenter) ([]task, error) {
	sc, err := a.scene(seg)
	if err != nil {
		return nil, err
	}
	var tasks []task
	for _, c := range sc.comps {
		if c.area >= a.p.MinArea {
			tasks = append(tasks, task{rect: c.box})
		}
	}
	return tasks, nil
}

// crop is a task's padded, clamped window.
type crop struct {
	task
	win image.Rectangle
}

// Window is the window stage 2 cuts for the box r of a w×h image with a
// padding of pct whole percent: r grown by ⌊pct·width/100⌋ pixels on the
// left and right and ⌊pct·height/100⌋ on the top and bottom, then
// clamped to the image; ok is false when nothing is left. It is the
// rectangle that instances_crop with pad = "<pct>%" cuts for an object
// whose bounds are r. Coordinates are first clamped to ±2⁴⁰ and pct to
// 2²⁰, so that nothing overflows.
func Window(r image.Rectangle, pct, w, h int) (image.Rectangle, bool) {
	const lim = 1 << 40
	cl := func(v int) int64 { return min(max(int64(v), -lim), lim) }
	x0, y0, x1, y1 := cl(r.Min.X), cl(r.Min.Y), cl(r.Max.X), cl(r.Max.Y)
	if x0 >= x1 || y0 >= y1 {
		return image.Rectangle{}, false
	}
	p := int64(min(max(pct, 0), maxPaddingPercent))
	dx, dy := p*(x1-x0)/100, p*(y1-y0)/100
	x0, y0 = max(x0-dx, 0), max(y0-dy, 0)
	x1, y1 = min(x1+dx, int64(w)), min(y1+dy, int64(h))
	if x0 >= x1 || y0 >= y1 {
		return image.Rectangle{}, false
	}
	return image.Rect(int(x0), int(y0), int(x1), int(y1)), true
}

// refine is stage 2.
func (a *annotator) refine(seg Segmenter, tasks []task) ([]dataset.Object, error) {
	var crops []crop
	for _, t := range tasks {
		if win, ok := Window(t.rect, a.pct, a.src.w, a.src.h); ok {
			crops = append(crops, crop{t, win})
		}
	}
	s := seg.Size()
	in := 3 * s * s
	var objs []dataset.Object
	x := make([]float32, min(a.p.Batch, len(crops))*in)
	for start := 0; start < len(crops); start += a.p.Batch {
		batch := crops[start:min(start+a.p.Batch, len(crops))]
		for k, c := range batch {
			a.src.sample(c.win, s, x[k*in:(k+1)*in])
		}
		logits, err := segment(seg, x[:len(batch)*in], len(batch))
		if err != nil {
			return nil, fmt.Errorf("crops %d to %d: %w", start, start+len(batch)-1, err)
		}
		for k, c := range batch {
			ob, ok, err := a.instance(c, logits[k*s*s:(k+1)*s*s], s)
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

// instance turns one crop's s×s logits into its object: resampled to the
// window's size, thresholded, the largest component kept.
func (a *annotator) instance(c crop, logits []float32, s int) (dataset.Object, bool, error) {
	w, h := c.win.Dx(), c.win.Dy()
	plane, fg := a.threshold(logits, s, w, h)
	labels, comps := components(fg, w, h)
	best, ok := largest(comps)
	if !ok || best.area < a.p.MinArea {
		return dataset.Object{}, false, nil
	}
	var tags []dataset.Tag
	if c.scored {
		tags = append(tags, dataset.NumberTag("score", c.score))
	}
	ob, err := a.object(labels, plane, w, best, c.win.Min, tags)
	return ob, err == nil, err
}

// object makes the bitmap object of component c of a labelled map of
// width w whose pixel (0, 0) is image pixel origin: its mask cropped to
// c's box, the "confidence" tag (the mean sigmoid of plane's logits over
// the mask, 3 decimals), then extra.
func (a *annotator) object(labels []int32, plane *logitPlane, w int, c component, origin image.Point, extra []dataset.Tag) (dataset.Object, error) {
	b := c.box
	m, err := dataset.NewMask(b.Dx(), b.Dy())
	if err != nil {
		return dataset.Object{}, err
	}
	sum := 0.0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if labels[y*w+x] == c.label {
				m.Bits[(y-b.Min.Y)*m.W+x-b.Min.X] = 1
				sum += sigmoid(float64(plane.at(x, y)))
			}
		}
	}
	conf := math.Round(sum/float64(c.area)*1000) / 1000
	tags := append([]dataset.Tag{dataset.NumberTag("confidence", conf)}, extra...)
	return dataset.Object{
		Class:  a.p.Class,
		Tags:   tags,
		Shape:  dataset.ShapeBitmap,
		Mask:   m,
		Origin: origin.Add(b.Min),
	}, nil
}
