package dataset

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Point is a polygon vertex in continuous image coordinates: X along the
// columns and Y along the rows, from the top-left corner of the image, so that
// pixel (x, y) covers [x, x+1) × [y, y+1) and its centre is (x+0.5, y+0.5), as
// in COCO (formats.md §3.1).
type Point struct {
	X, Y float64
}

// Polygon is the region inside its Exterior ring and outside all of its Holes
// (Supervisely's "exterior" and "interior" rings). Each ring is a closed
// sequence of vertices; the last vertex joins the first, which is not repeated.
type Polygon struct {
	Exterior []Point
	Holes    [][]Point
}

// maxCoord bounds vertex coordinates accepted by Rasterize (2^31 in
// magnitude), far outside any image, so that intermediate products stay exact
// enough and finite.
const maxCoord = 1 << 31

// Rasterize returns the w×h mask of the union of polys, using the
// pixel-centre rule of formats.md §3.5: pixel (x, y) is set when its centre
// (x+0.5, y+0.5) lies inside a polygon. Inside a ring is decided with the
// even-odd rule along the row through the pixel centres, with half-open edges
// (a centre exactly on a left or top boundary is inside, on a right or bottom
// boundary outside), so polygons that share an edge never overlap and
// axis-aligned rectangles with integer corners give exactly the pixels they
// cover. A polygon covers the pixels inside its exterior and inside none of
// its holes. Rings of fewer than 3 vertices cover nothing.
//
// pycocotools (rleFrPoly) rasterises a 5× upsampled outline instead; the two
// agree except on boundary pixels. Rasterize fails for an invalid size and
// for vertices that are not finite or exceed 2^31 in magnitude.
func Rasterize(w, h int, polys []Polygon) (*Mask, error) {
	m, err := NewMask(w, h)
	if err != nil {
		return nil, fmt.Errorf("rasterize: %w", err)
	}
	for i, p := range polys {
		if err := checkRing(p.Exterior); err != nil {
			return nil, fmt.Errorf("rasterize: polygon %d exterior: %w", i, err)
		}
		for j, hole := range p.Holes {
			if err := checkRing(hole); err != nil {
				return nil, fmt.Errorf("rasterize: polygon %d hole %d: %w", i, j, err)
			}
		}
	}
	var row []uint8
	for _, p := range polys {
		row = fillPolygon(m, p, row)
	}
	return m, nil
}

func checkRing(ring []Point) error {
	for i, p := range ring {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.Abs(p.X) > maxCoord || math.Abs(p.Y) > maxCoord {
			return fmt.Errorf("vertex %d (%v, %v) is not finite or exceeds 2^31", i, p.X, p.Y)
		}
	}
	return nil
}

// fillPolygon ORs polygon p into m. row is a scratch buffer, returned for reuse.
func fillPolygon(m *Mask, p Polygon, row []uint8) []uint8 {
	if len(p.Exterior) < 3 || m.W == 0 || m.H == 0 {
		return row
	}
	ext := newRingScan(p.Exterior)
	if len(ext.edges) == 0 {
		return row
	}
	y0, y1 := max(0, ext.edges[0].y0), 0
	for _, e := range ext.edges {
		y1 = max(y1, e.y1)
	}
	y1 = min(y1, m.H)
	holes := make([]*ringScan, 0, len(p.Holes))
	for _, h := range p.Holes {
		if len(h) >= 3 {
			holes = append(holes, newRingScan(h))
		}
	}
	if cap(row) < m.W {
		row = make([]uint8, m.W)
	}
	row = row[:m.W]
	var spans [][2]int
	for y := y0; y < y1; y++ {
		spans = ext.spans(y, m.W, spans[:0])
		if len(spans) == 0 {
			continue
		}
		lo, hi := spans[0][0], spans[len(spans)-1][1]
		for _, s := range spans {
			for x := s[0]; x < s[1]; x++ {
				row[x] = 1
			}
		}
		for _, hs := range holes {
			spans = hs.spans(y, m.W, spans[:0])
			for _, s := range spans {
				for x := max(s[0], lo); x < min(s[1], hi); x++ {
					row[x] = 0
				}
			}
		}
		dst := m.Bits[y*m.W : (y+1)*m.W]
		for x := lo; x < hi; x++ {
			dst[x] |= row[x]
			row[x] = 0
		}
	}
	return row
}

// edge is a non-horizontal ring edge from (xa, ya) to (xb, yb) that may cross
// the centre lines of rows y0 … y1-1.
type edge struct {
	xa, ya, xb, yb float64
	y0, y1         int
}

// ringScan yields, row by row in increasing order, the pixel spans inside one
// ring.
type ringScan struct {
	edges  []edge // sorted by y0
	next   int    // edges[next:] are not active yet
	active []edge
	xs     []float64
}

func newRingScan(ring []Point) *ringScan {
	r := &ringScan{edges: make([]edge, 0, len(ring))}
	for i, a := range ring {
		b := ring[(i+1)%len(ring)]
		if a.Y == b.Y {
			continue // never crosses a row centre line under the half-open rule
		}
		lo, hi := min(a.Y, b.Y), max(a.Y, b.Y)
		// Row y's centre line is y+0.5; the exact crossing test is redone in
		// spans, so the candidate range may be one row too wide.
		r.edges = append(r.edges, edge{
			xa: a.X, ya: a.Y, xb: b.X, yb: b.Y,
			y0: int(math.Floor(lo - 0.5)),
			y1: int(math.Ceil(hi-0.5)) + 1,
		})
	}
	slices.SortStableFunc(r.edges, func(a, b edge) int { return cmp.Compare(a.y0, b.y0) })
	return r
}

// spans appends to dst the half-open column ranges [x0, x1), clipped to
// [0, w), of the pixels of row y whose centres lie inside the ring, in
// increasing order. Calls must come with non-decreasing y.
func (r *ringScan) spans(y, w int, dst [][2]int) [][2]int {
	for r.next < len(r.edges) && r.edges[r.next].y0 <= y {
		r.active = append(r.active, r.edges[r.next])
		r.next++
	}
	yc := float64(y) + 0.5
	r.xs = r.xs[:0]
	kept := r.active[:0]
	for _, e := range r.active {
		if e.y1 <= y {
			continue // finished: drop it
		}
		kept = append(kept, e)
		if (e.ya <= yc) != (e.yb <= yc) {
			r.xs = append(r.xs, e.xa+(yc-e.ya)*(e.xb-e.xa)/(e.yb-e.ya))
		}
	}
	r.active = kept
	slices.Sort(r.xs)
	for i := 0; i+1 < len(r.xs); i += 2 {
		// Centre x+0.5 in [xl, xr) ⇔ ceil(xl-0.5) ≤ x < ceil(xr-0.5).
		x0 := clampCol(math.Ceil(r.xs[i]-0.5), w)
		x1 := clampCol(math.Ceil(r.xs[i+1]-0.5), w)
		if x0 < x1 {
			dst = append(dst, [2]int{x0, x1})
		}
	}
	return dst
}

// clampCol converts a column bound to an int in [0, w].
func clampCol(f float64, w int) int {
	if f <= 0 {
		return 0
	}
	if f >= float64(w) {
		return w
	}
	return int(f)
}

// Directions of travel along pixel edges, in clockwise order as seen on screen
// (y axis down): turning right is +1, turning left is +3 (mod 4).
const (
	east = iota
	south
	west
	north
)

var dirStep = [4][2]int{east: {1, 0}, south: {0, 1}, west: {-1, 0}, north: {0, -1}}

// sides returns, for the unit edge leaving corner (cx, cy) in direction d, the
// pixels on its right and on its left.
func sides(cx, cy, d int) (rx, ry, lx, ly int) {
	switch d {
	case east:
		return cx, cy, cx, cy - 1
	case south:
		return cx - 1, cy, cx, cy
	case west:
		return cx - 1, cy - 1, cx - 1, cy
	default: // north
		return cx, cy - 1, cx - 1, cy - 1
	}
}

// Contours returns polygons whose union is exactly the set pixels of m: one
// Polygon per 4-connected component of set pixels, with one hole per enclosed
// 8-connected region of unset pixels. Set pixels that touch only at a corner
// thus belong to different polygons, and unset pixels that touch only at a
// corner belong to the same hole.
//
// Rings follow the pixel edges (the "cracks" between pixels): every vertex is
// a pixel corner with integer coordinates in the continuous frame of [Point]
// (a lone pixel (x, y) gives the square (x, y)-(x+1, y+1)), and is a corner
// where the ring turns. Rasterize(m.W, m.H, m.Contours()) reproduces m
// exactly. The output is deterministic:
// polygons are ordered by their topmost, then leftmost pixel; every ring
// starts at its topmost, then leftmost vertex; exteriors run clockwise as seen
// on screen (positive shoelace area in image coordinates) and holes
// counter-clockwise; holes are ordered by their first vertex (row, then
// column). Contours returns nil for an empty or invalid mask.
func (m *Mask) Contours() []Polygon {
	if !m.valid() || m.W == 0 || m.H == 0 {
		return nil
	}
	// label[i] is 1 + the index in polys of the component of pixel i.
	label := make([]int32, len(m.Bits))
	// traced[i] records that the top edge of pixel i belongs to a traced ring.
	traced := make([]bool, len(m.Bits))
	var polys []Polygon
	var stack []int
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			i := y*m.W + x
			if m.Bits[i] == 0 || traced[i] || m.on(x, y-1) {
				continue
			}
			ring := m.traceRing(x, y, traced)
			if label[i] == 0 {
				// The first pixel of a component in raster order: its top edge
				// lies on the component's outer boundary.
				polys = append(polys, Polygon{Exterior: ring})
				stack = m.labelComponent(i, int32(len(polys)), label, stack)
				continue
			}
			p := &polys[label[i]-1]
			p.Holes = append(p.Holes, ring)
		}
	}
	for _, p := range polys {
		slices.SortStableFunc(p.Holes, func(a, b []Point) int {
			if c := cmp.Compare(a[0].Y, b[0].Y); c != 0 {
				return c
			}
			return cmp.Compare(a[0].X, b[0].X)
		})
	}
	return polys
}

// traceRing follows the boundary ring whose first edge is the top edge of
// pixel (sx, sy), heading east with the set pixels on its right, and returns
// its corners, starting at the topmost, then leftmost one. At a corner shared
// by two diagonal set pixels it turns right, staying with the same pixel, which
// keeps the components 4-connected. It marks the top edges it walks in traced.
func (m *Mask) traceRing(sx, sy int, traced []bool) []Point {
	var ring []Point
	cx, cy, d := sx, sy, east
	// A ring walks each pixel edge at most once; the bound only guards the
	// loop against a broken invariant.
	for steps := 2 * (m.W + 1) * (m.H + 1); steps > 0; steps-- {
		if d == east {
			traced[cy*m.W+cx] = true
		}
		cx, cy = cx+dirStep[d][0], cy+dirStep[d][1]
		nd := d
		for _, turn := range [3]int{1, 0, 3} { // right, straight, left
			c := (d + turn) % 4
			rx, ry, lx, ly := sides(cx, cy, c)
			if m.on(rx, ry) && !m.on(lx, ly) {
				nd = c
				break
			}
		}
		if nd != d {
			ring = append(ring, Point{float64(cx), float64(cy)})
		}
		if cx == sx && cy == sy && nd == east {
			break
		}
		d = nd
	}
	return rotateToTopLeft(ring)
}

// on reports whether pixel (x, y) is set, for a valid m; pixels outside m are
// unset.
func (m *Mask) on(x, y int) bool {
	return x >= 0 && y >= 0 && x < m.W && y < m.H && m.Bits[y*m.W+x] != 0
}

// labelComponent sets label id on the 4-connected component of set pixels that
// contains pixel i. stack is scratch space, returned for reuse.
func (m *Mask) labelComponent(i int, id int32, label []int32, stack []int) []int {
	label[i] = id
	stack = append(stack[:0], i)
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := j%m.W, j/m.W
		for _, n := range [4][3]int{{x - 1, y, j - 1}, {x + 1, y, j + 1}, {x, y - 1, j - m.W}, {x, y + 1, j + m.W}} {
			if m.on(n[0], n[1]) && label[n[2]] == 0 {
				label[n[2]] = id
				stack = append(stack, n[2])
			}
		}
	}
	return stack
}

// rotateToTopLeft rotates ring in place so that it starts at its topmost, then
// leftmost vertex, and returns it.
func rotateToTopLeft(ring []Point) []Point {
	best := 0
	for i, p := range ring {
		b := ring[best]
		if p.Y < b.Y || p.Y == b.Y && p.X < b.X {
			best = i
		}
	}
	slices.Reverse(ring[:best])
	slices.Reverse(ring[best:])
	slices.Reverse(ring)
	return ring
}
