package transform

import (
	"fmt"
	"image"

	"dsbuild/engine"
)

func init() {
	register(opSpec{
		Name: "sliding_window",
		Doc: "Makes one item per window slid over the image, left to right and top to bottom, the last window of a " +
			"row or column flush with the border. The input item is left out; a window larger than the image is an error.",
		Attrs: []engine.AttrSpec{
			{Name: "window_width", Type: tNumber, Required: true, Doc: "window width in pixels, at least 1"},
			{Name: "window_height", Type: tNumber, Required: true, Doc: "window height in pixels, at least 1"},
			{Name: "min_overlap_x", Type: tNumber, Doc: "least overlap of neighbouring windows in a row, in pixels; default 0"},
			{Name: "min_overlap_y", Type: tNumber, Doc: "least overlap of neighbouring windows in a column, in pixels; default 0"},
		},
		Build: buildSlidingWindow,
	})
}

// sliding_window follows DTL's sliding_window with flat attributes
// (window_width, window_height, min_overlap_x, min_overlap_y). Departure: an
// item that would make more than geoMaxOutputs windows is an error.

type slidingWindowOp struct{ ww, wh, ovx, ovy int }

func buildSlidingWindow(p params) (Op, error) {
	o := &slidingWindowOp{}
	for _, f := range []struct {
		name string
		dst  *int
		min  int
	}{{"window_width", &o.ww, 1}, {"window_height", &o.wh, 1}, {"min_overlap_x", &o.ovx, 0}, {"min_overlap_y", &o.ovy, 0}} {
		if f.min == 1 && !p.has(f.name) {
			return nil, badParam("", "%s is missing", f.name)
		}
		v, err := p.integer(f.name)
		if err != nil {
			return nil, err
		}
		if v < f.min {
			if f.min == 1 {
				return nil, badParam(f.name, "must be at least 1")
			}
			return nil, badParam(f.name, "must not be negative")
		}
		*f.dst = v
	}
	if o.ovx >= o.ww {
		return nil, badParam("min_overlap_x", "must be less than window_width, so that the windows advance")
	}
	if o.ovy >= o.wh {
		return nil, badParam("min_overlap_y", "must be less than window_height, so that the windows advance")
	}
	return o, nil
}

// geoWindowStarts returns the window positions along a side: 0, stride,
// 2·stride, … and last size−win, flush with the border (DTL's SlidingWindows).
func geoWindowStarts(size, win, stride int) []int {
	limit := size - win
	var out []int
	for t := 0; ; t += stride {
		if t >= limit {
			return append(out, limit)
		}
		out = append(out, t)
	}
}

func (o *slidingWindowOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if o.ww > w || o.wh > h {
		return nil, fmt.Errorf("the %dx%d window is larger than the %dx%d image", o.ww, o.wh, w, h)
	}
	sx, sy := o.ww-o.ovx, o.wh-o.ovy
	if n := int64((w-o.ww+sx-1)/sx+1) * int64((h-o.wh+sy-1)/sy+1); n > geoMaxOutputs {
		return nil, fmt.Errorf("the %dx%d image would make %d windows, more than %d", w, h, n, geoMaxOutputs)
	}
	var out []*Item
	for _, y := range geoWindowStarts(h, o.wh, sy) {
		for _, x := range geoWindowStarts(w, o.ww, sx) {
			c := geoDerive(it)
			if err := geoCrop(c, img, image.Rect(x, y, x+o.ww, y+o.wh)); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}
