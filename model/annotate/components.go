package annotate

import "image"

// component is one 8-connected component of a binary map.
type component struct {
	label int32
	area  int
	box   image.Rectangle // half-open bounds of its pixels
}

// components labels the 8-connected components of the w×h map fg (non-zero
// is foreground). labels[i] is the 1-based index of pixel i's component in
// comps, 0 for background. Components are numbered in raster order of
// their first pixel, and filled with an explicit stack, so the result does
// not depend on anything but fg.
func components(fg []uint8, w, h int) (labels []int32, comps []component) {
	labels = make([]int32, w*h)
	var stack []int32
	for start, v := range fg {
		if v == 0 || labels[start] != 0 {
			continue
		}
		id := int32(len(comps) + 1)
		sx, sy := start%w, start/w
		c := component{label: id, box: image.Rect(sx, sy, sx+1, sy+1)}
		labels[start] = id
		stack = append(stack[:0], int32(start))
		for len(stack) > 0 {
			i := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			x, y := i%w, i/w
			c.area++
			c.box.Min.X, c.box.Max.X = min(c.box.Min.X, x), max(c.box.Max.X, x+1)
			c.box.Min.Y, c.box.Max.Y = min(c.box.Min.Y, y), max(c.box.Max.Y, y+1)
			for ny := max(y-1, 0); ny <= min(y+1, h-1); ny++ {
				for nx := max(x-1, 0); nx <= min(x+1, w-1); nx++ {
					j := ny*w + nx
					if fg[j] != 0 && labels[j] == 0 {
						labels[j] = id
						stack = append(stack, int32(j))
					}
				}
			}
		}
		comps = append(comps, c)
	}
	return labels, comps
}

// largest returns the component with the most pixels, the first in
// raster order on a tie; ok is false when there is none.
func largest(comps []component) (c component, ok bool) {
	for _, k := range comps {
		if k.area > c.area {
			c, ok = k, true
		}
	}
	return c, ok
}
