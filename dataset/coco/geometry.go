package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"

	"dsbuild/dataset"
)

// objects decodes one annotation's geometry into objects, for an image of
// w×h pixels (0×0 when its size is unknown).
func (c *cocoFile) objects(r *rawAnn, w, h int) ([]dataset.Object, error) {
	ck, err := idKey(r.CategoryID)
	if err != nil {
		return nil, fmt.Errorf("category_id: %v", err)
	}
	class, ok := c.cats[ck]
	if !ok {
		return nil, fmt.Errorf("category_id %s is not in categories", showKey(ck))
	}
	crowd, err := optInt(r.Iscrowd)
	if err != nil || crowd < 0 || crowd > 1 {
		return nil, fmt.Errorf("iscrowd is %s, not 0 or 1", r.Iscrowd)
	}
	var tags []dataset.Tag
	if crowd == 1 {
		tags = []dataset.Tag{{Name: CrowdTag}}
	}
	seg := bytes.TrimSpace(r.Segmentation)
	if polys, ok := fastPolygons(seg); ok {
		return polygonObjects(class, tags, polys, r.Bbox)
	}
	var parts []json.RawMessage
	if len(seg) > 0 && seg[0] == '[' {
		if err := json.Unmarshal(seg, &parts); err != nil {
			return nil, fmt.Errorf("segmentation: %v", err)
		}
	}
	switch {
	case len(seg) == 0 || string(seg) == "null" || (seg[0] == '[' && len(parts) == 0):
		rect, err := boxRect(r.Bbox, w, h)
		if err != nil {
			return nil, fmt.Errorf("no segmentation, and bbox: %v", err)
		}
		return []dataset.Object{{Class: class, Tags: tags, Shape: dataset.ShapeRectangle, Rect: rect}}, nil
	case seg[0] == '{':
		rle, err := parseRLE(seg, w, h)
		if err != nil {
			return nil, fmt.Errorf("segmentation: %v", err)
		}
		return bitmapObject(class, tags, rle)
	case seg[0] != '[':
		return nil, fmt.Errorf("segmentation is neither polygons nor RLE: %.40s", seg)
	}
	first := bytes.TrimSpace(parts[0])
	if len(first) > 0 && first[0] == '{' {
		// A list of RLEs (pycocotools frPyObjects takes one): their union.
		rles := make([]*dataset.RLE, len(parts))
		for i, p := range parts {
			if rles[i], err = parseRLE(p, w, h); err != nil {
				return nil, fmt.Errorf("segmentation[%d]: %v", i, err)
			}
		}
		rle, err := dataset.MergeRLE(rles...)
		if err != nil {
			return nil, fmt.Errorf("segmentation: %v", err)
		}
		return bitmapObject(class, tags, rle)
	}
	polys := make([][]float64, len(parts))
	for i, p := range parts {
		if err := json.Unmarshal(p, &polys[i]); err != nil {
			return nil, fmt.Errorf("segmentation[%d] is not a list of numbers: %v", i, err)
		}
	}
	return polygonObjects(class, tags, polys, r.Bbox)
}

// polygonObjects makes the one object of an annotation whose segmentation
// is a list of polygons: a polygon object for one polygon (a rectangle when
// it is the box-as-polygon of a box-only annotation, see boxPolygon), a
// bitmap object of the union of its parts for several, and nothing for
// several parts that cover no pixel centre.
func polygonObjects(class string, tags []dataset.Tag, polys [][]float64, bbox json.RawMessage) ([]dataset.Object, error) {
	rings := make([][]dataset.Point, len(polys))
	for i, nums := range polys {
		if len(nums) < 6 || len(nums)%2 != 0 {
			return nil, fmt.Errorf("segmentation[%d] has %d numbers: a polygon needs an even count of at least 6 (3 points)", i, len(nums))
		}
		pts := make([]dataset.Point, len(nums)/2)
		for j := range pts {
			x, y := nums[2*j], nums[2*j+1]
			if math.Abs(x) > maxCoord || math.Abs(y) > maxCoord {
				return nil, fmt.Errorf("segmentation[%d]: point (%v, %v) is out of range", i, x, y)
			}
			pts[j] = dataset.Point{X: x, Y: y}
		}
		rings[i] = pts
	}
	if len(rings) == 1 {
		if r, ok := boxPolygon(rings[0], bbox); ok {
			return []dataset.Object{{Class: class, Tags: tags, Shape: dataset.ShapeRectangle, Rect: r}}, nil
		}
		return []dataset.Object{{Class: class, Tags: tags, Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: rings[0]}}}, nil
	}
	m, origin, err := rasterizeParts(rings)
	if err != nil || m == nil {
		return nil, err
	}
	return []dataset.Object{{Class: class, Tags: tags, Shape: dataset.ShapeBitmap, Mask: m, Origin: origin}}, nil
}

// rasterizeParts rasterizes the union of several polygons (the parts of one
// object) with dataset.Rasterize's pixel-centre rule, in the frame of their
// vertices, so that parts outside the image stay outside it for the import
// step to refuse or clip. It returns the mask cropped to its box and placed
// at origin, or a nil mask when no pixel centre lies inside a part.
func rasterizeParts(rings [][]dataset.Point) (*dataset.Mask, image.Point, error) {
	minX, minY := rings[0][0].X, rings[0][0].Y
	maxX, maxY := minX, minY
	for _, ring := range rings {
		for _, p := range ring {
			minX, maxX = min(minX, p.X), max(maxX, p.X)
			minY, maxY = min(minY, p.Y), max(maxY, p.Y)
		}
	}
	ox, oy := int(math.Floor(minX)), int(math.Floor(minY))
	w, h := int(math.Ceil(maxX))-ox, int(math.Ceil(maxY))-oy
	if w <= 0 || h <= 0 {
		return nil, image.Point{}, nil
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return nil, image.Point{}, fmt.Errorf("segmentation: its %d polygons span %dx%d pixels, more than %d", len(rings), w, h, maxPixels)
	}
	polys := make([]dataset.Polygon, len(rings))
	for i, ring := range rings {
		pts := make([]dataset.Point, len(ring))
		for j, p := range ring {
			pts[j] = dataset.Point{X: p.X - float64(ox), Y: p.Y - float64(oy)}
		}
		polys[i] = dataset.Polygon{Exterior: pts}
	}
	full, err := dataset.Rasterize(w, h, polys)
	if err != nil {
		return nil, image.Point{}, fmt.Errorf("segmentation: %v", err)
	}
	m, at, _ := full.Tight(image.Pt(ox, oy))
	return m, at, nil
}

// boxPolygon reports whether ring is the box of a box-only annotation
// written as a polygon, as dsbuild's export writes it: four vertices with
// integer coordinates tracing the axis-aligned rectangle that the
// annotation's bbox [x, y, w, h] states exactly (in any starting corner and
// direction). It returns the rectangle's pixel bounds.
func boxPolygon(ring []dataset.Point, bbox json.RawMessage) (image.Rectangle, bool) {
	if len(ring) != 4 || len(bytes.TrimSpace(bbox)) == 0 {
		return image.Rectangle{}, false
	}
	var b []float64
	if json.Unmarshal(bbox, &b) != nil || len(b) != 4 || b[2] <= 0 || b[3] <= 0 {
		return image.Rectangle{}, false
	}
	for _, v := range b {
		if v != math.Trunc(v) || math.Abs(v) > maxCoord {
			return image.Rectangle{}, false
		}
	}
	x0, y0, x1, y1 := b[0], b[1], b[0]+b[2], b[1]+b[3]
	seen := map[dataset.Point]bool{}
	for i, p := range ring {
		if (p.X != x0 && p.X != x1) || (p.Y != y0 && p.Y != y1) || seen[p] {
			return image.Rectangle{}, false
		}
		seen[p] = true
		// Consecutive corners share a side: one coordinate is equal.
		q := ring[(i+1)%4]
		if (p.X == q.X) == (p.Y == q.Y) {
			return image.Rectangle{}, false
		}
	}
	return image.Rect(int(x0), int(y0), int(x1), int(y1)), true
}

// boxRect converts bbox [x, y, w, h] to the smallest pixel box containing it,
// clipped to a known w×h image.
func boxRect(raw json.RawMessage, w, h int) (image.Rectangle, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return image.Rectangle{}, errors.New("missing")
	}
	var b []float64
	if err := json.Unmarshal(raw, &b); err != nil {
		return image.Rectangle{}, err
	}
	if len(b) != 4 {
		return image.Rectangle{}, fmt.Errorf("%v is not [x, y, width, height]", b)
	}
	for _, v := range b {
		if math.Abs(v) > maxCoord {
			return image.Rectangle{}, fmt.Errorf("%v is out of range", b)
		}
	}
	if b[2] <= 0 || b[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("%v has no area", b)
	}
	r := image.Rect(int(math.Floor(b[0])), int(math.Floor(b[1])), int(math.Ceil(b[0]+b[2])), int(math.Ceil(b[1]+b[3])))
	if w > 0 && h > 0 {
		r = r.Intersect(image.Rect(0, 0, w, h))
		if r.Empty() {
			return image.Rectangle{}, fmt.Errorf("%v lies outside the %dx%d image", b, w, h)
		}
	}
	return r, nil
}

// parseRLE reads {"size": [h, w], "counts": [...] or "..."} for an image of
// w×h pixels (0×0 when unknown).
func parseRLE(raw json.RawMessage, w, h int) (*dataset.RLE, error) {
	var r struct {
		Size   []json.RawMessage `json:"size"`
		Counts json.RawMessage   `json:"counts"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("RLE: %v", err)
	}
	if len(r.Size) != 2 {
		return nil, errors.New("RLE size is not [height, width]")
	}
	rh, err1 := intValue(r.Size[0])
	rw, err2 := intValue(r.Size[1])
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("RLE size: %v", err)
	}
	if rh < 0 || rw < 0 || (rw > 0 && rh > int64(maxPixels)/rw) {
		return nil, fmt.Errorf("RLE size [%d, %d] is negative or exceeds %d pixels", rh, rw, maxPixels)
	}
	if w > 0 && h > 0 && (int(rw) != w || int(rh) != h) {
		return nil, fmt.Errorf("RLE size [%d, %d] (height, width) differs from the image's %dx%d", rh, rw, w, h)
	}
	counts := bytes.TrimSpace(r.Counts)
	switch {
	case len(counts) > 0 && counts[0] == '"':
		var s string
		if err := json.Unmarshal(counts, &s); err != nil {
			return nil, fmt.Errorf("RLE counts: %v", err)
		}
		return dataset.ParseRLEString(int(rh), int(rw), s)
	case len(counts) > 0 && counts[0] == '[':
		var nums []json.RawMessage
		if err := json.Unmarshal(counts, &nums); err != nil {
			return nil, fmt.Errorf("RLE counts: %v", err)
		}
		rle := &dataset.RLE{H: int(rh), W: int(rw), Counts: make([]uint32, len(nums))}
		for i, n := range nums {
			v, err := intValue(n)
			if err != nil || v < 0 || v > math.MaxUint32 {
				return nil, fmt.Errorf("RLE counts[%d] is not a count: %.40s", i, n)
			}
			rle.Counts[i] = uint32(v)
		}
		if err := rle.Validate(); err != nil {
			return nil, err
		}
		return rle, nil
	}
	return nil, errors.New("RLE counts is neither a list nor a string")
}

// bitmapObject decodes r into a bitmap object cropped to its box; an empty
// RLE gives no object.
func bitmapObject(class string, tags []dataset.Tag, r *dataset.RLE) ([]dataset.Object, error) {
	m, origin, err := decodeCropped(r)
	if err != nil || m == nil {
		return nil, err
	}
	return []dataset.Object{{Class: class, Tags: tags, Shape: dataset.ShapeBitmap, Mask: m, Origin: origin}}, nil
}

// decodeCropped decodes a valid RLE into a mask of its bounding box, placed
// at the returned origin, without allocating the whole image. It returns a
// nil mask when no pixel is set.
func decodeCropped(r *dataset.RLE) (*dataset.Mask, image.Point, error) {
	x0, y0, x1, y1, ok := r.BBox()
	if !ok {
		return nil, image.Point{}, r.Validate()
	}
	m, err := dataset.NewMask(x1-x0, y1-y0)
	if err != nil {
		return nil, image.Point{}, err
	}
	x, y := 0, 0 // column and row of the next position
	for i, c := range r.Counts {
		n := int(c)
		if i%2 == 0 {
			t := x*r.H + y + n
			x, y = t/r.H, t%r.H
			continue
		}
		for n > 0 {
			// The rest of this column, or of the run.
			k := min(n, r.H-y)
			for yy := y; yy < y+k; yy++ {
				m.Bits[(yy-y0)*m.W+x-x0] = 1
			}
			n -= k
			if y += k; y == r.H {
				x, y = x+1, 0
			}
		}
	}
	return m, image.Pt(x0, y0), nil
}

// fastPolygons parses compact polygon JSON, [[x,y,...],...], the bulk of a
// COCO file, without encoding/json's reflection. The input comes from a
// JSON document that the decoder has validated; anything but non-empty
// lists of plain numbers (null, nesting, a number out of range) returns
// ok = false, and the caller decodes it with encoding/json.
func fastPolygons(seg []byte) (polys [][]float64, ok bool) {
	if len(seg) < 4 || seg[0] != '[' || seg[1] != '[' || seg[len(seg)-1] != ']' {
		return nil, false
	}
	p := 1 // at '[' of a polygon
	for {
		if p >= len(seg) || seg[p] != '[' {
			return nil, false
		}
		p++
		var nums []float64
		for {
			q := p
			for q < len(seg) && seg[q] != ',' && seg[q] != ']' {
				c := seg[q]
				if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
					return nil, false
				}
				q++
			}
			if q == len(seg) || q == p {
				return nil, false
			}
			v, err := strconv.ParseFloat(string(seg[p:q]), 64)
			if err != nil {
				return nil, false
			}
			nums = append(nums, v)
			p = q + 1
			if seg[q] == ']' {
				break
			}
		}
		polys = append(polys, nums)
		if p >= len(seg) {
			return nil, false
		}
		switch seg[p] {
		case ',':
			p++
		case ']':
			if p != len(seg)-1 {
				return nil, false
			}
			return polys, true
		default:
			return nil, false
		}
	}
}
