package transform

import (
	"image"
	"math"
	"slices"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// Mask and shape ops: poly2bitmap, find_contours, split_masks, merge_masks,
// edge_band. They change geometry only, never pixels, so none of them
// decodes the image.
//
// Where DTL (shared/docs/dtl.md §2.4, §2.5) converts into a new class
// through classes_mapping, these ops keep each object's class and select
// objects with an optional classes list (every class when it is absent or
// empty); a rename op before or after gives DTL's renaming.

func init() {
	register(opSpec{
		Name: "poly2bitmap",
		Doc: "Turns polygon and rectangle objects of the given classes (all if empty) into bitmap objects: " +
			"the pixels whose centres lie inside (dataset.Rasterize), clipped to the image. " +
			"Objects that cover no pixel of the image are dropped.",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Doc: "classes to convert; all if absent or empty"},
		},
		Build: func(p params) (Op, error) {
			cl, err := optClasses(p, "classes")
			if err != nil {
				return nil, err
			}
			return poly2bitmapOp{classes: cl}, nil
		},
	})
	register(opSpec{
		Name: "find_contours",
		Doc: "Turns bitmap objects of the given classes (all if empty) into polygon objects, one per 4-connected " +
			"component, with its holes. The rings follow the pixel edges, so that the polygons cover exactly the " +
			"mask's pixels; simplify_tolerance > 0 simplifies each ring (Douglas–Peucker, at least 3 vertices kept).",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Doc: "classes to convert; all if absent or empty"},
			{Name: "simplify_tolerance", Type: tNumber, Default: cty.NumberIntVal(0), Doc: "Douglas–Peucker tolerance in pixels, ≥ 0; 0 keeps the exact outline"},
		},
		Build: func(p params) (Op, error) {
			cl, err := optClasses(p, "classes")
			if err != nil {
				return nil, err
			}
			tol := p.num("simplify_tolerance")
			if math.IsInf(tol, 0) || math.IsNaN(tol) {
				return nil, badParam("simplify_tolerance", "must be a finite number of pixels")
			}
			if tol < 0 {
				return nil, badParam("simplify_tolerance", "must not be negative")
			}
			return findContoursOp{classes: cl, tolerance: tol}, nil
		},
	})
	register(opSpec{
		Name: "split_masks",
		Doc: "Splits each bitmap object of the given classes (all if empty) into one object per connected " +
			"component (8-connected by default, as in DTL), ordered by topmost, then leftmost pixel.",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Doc: "classes to split; all if absent or empty"},
			{Name: "connectivity", Type: tNumber, Default: cty.NumberIntVal(8), Doc: "8 (pixels touching at a corner are connected) or 4"},
		},
		Build: func(p params) (Op, error) {
			cl, err := optClasses(p, "classes")
			if err != nil {
				return nil, err
			}
			conn := 8
			if p.has("connectivity") {
				if conn, err = p.integer("connectivity"); err != nil {
					return nil, err
				}
				if conn != 4 && conn != 8 {
					return nil, badParam("connectivity", "is %d; use 4 or 8", conn)
				}
			}
			return splitMasksOp{classes: cl, eight: conn == 8}, nil
		},
	})
	register(opSpec{
		Name: "merge_masks",
		Doc: "Makes all objects of one class in an item one bitmap object, the union of their pixels " +
			"(polygons and rectangles rasterised and clipped to the image, bitmaps as they are), " +
			"in the place of the first of them.",
		Attrs: []engine.AttrSpec{
			{Name: "class", Type: tString, Required: true, Doc: "the class whose objects are merged"},
		},
		Build: func(p params) (Op, error) {
			c := p.str("class")
			if c == "" {
				return nil, badParam("class", "must not be empty")
			}
			return mergeMasksOp{class: c}, nil
		},
	})
	register(opSpec{
		Name: "edge_band",
		Doc: "Adds, for each object of the given classes (all if empty; never objects of the band's own class), " +
			"a bitmap object of class `class` covering the image pixels within `width` pixels of the object's " +
			"boundary, inside and outside: the pixels (x, y) whose square window [x-width, x+width] × " +
			"[y-width, y+width], clipped to the image, holds both a pixel of the object and a pixel outside it " +
			"(dilation minus erosion by a (2·width+1)² square). A straight edge gets a band 2·width pixels wide, " +
			"width on each side; the image border is not an edge. Empty bands are not added.",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Doc: "classes whose objects get a band; all if absent or empty"},
			{Name: "class", Type: tString, Default: cty.StringVal("edge"), Doc: "class of the band objects"},
			{Name: "width", Type: tNumber, Default: cty.NumberIntVal(2), Doc: "pixels on each side of the boundary, ≥ 1"},
		},
		Build: func(p params) (Op, error) {
			cl, err := optClasses(p, "classes")
			if err != nil {
				return nil, err
			}
			o := edgeBandOp{classes: cl, class: "edge", width: 2}
			if p.has("class") {
				if o.class = p.str("class"); o.class == "" {
					return nil, badParam("class", "must not be empty")
				}
			}
			if slices.Contains(cl, o.class) {
				return nil, badParam("classes", "must not include the band class %q", o.class)
			}
			if p.has("width") {
				if o.width, err = p.integer("width"); err != nil {
					return nil, err
				}
				if o.width < 1 {
					return nil, badParam("width", "must be at least 1 pixel, not %d", o.width)
				}
			}
			return o, nil
		},
	})
}

// optClasses reads an optional list of class names; nil means every class.
func optClasses(p params, attr string) ([]string, error) {
	cl := p.strs(attr)
	if err := noEmptyName(attr, cl, "must not contain an empty class name"); err != nil {
		return nil, err
	}
	return cl, nil
}

// classSelected reports whether class c is one of classes (all when empty).
func classSelected(classes []string, c string) bool {
	return len(classes) == 0 || slices.Contains(classes, c)
}

// withShapes returns a copy of in in which the selected classes (all when
// classes is empty) get the shape that to gives for their current shape.
func withShapes(in *dataset.Meta, classes []string, to func(shape string) string) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, classes); err != nil {
		return nil, err
	}
	out := &dataset.Meta{Classes: slices.Clone(in.Classes), Tags: in.Tags}
	for i := range out.Classes {
		if classSelected(classes, out.Classes[i].Title) {
			out.Classes[i].Shape = to(out.Classes[i].Shape)
		}
	}
	return out, nil
}

// objectMask returns the pixels of ob as a tight mask and its origin, nil
// when there are none. Polygons (pixel-centre rule of dataset.Rasterize) and
// rectangles are clipped to the w×h image (dataset.Object.TightRaster);
// bitmaps are taken as they are, even where they extend past the image.
func objectMask(ob *dataset.Object, w, h int) (*dataset.Mask, image.Point, error) {
	if ob.Shape == dataset.ShapeBitmap {
		m, at, _ := ob.Mask.Tight(ob.Origin)
		return m, at, nil
	}
	m, at, _, err := ob.TightRaster(w, h)
	return m, at, err
}

// poly2bitmap: any geometry → bitmap. DTL's poly2bitmap takes a
// classes_mapping into new classes; this op keeps the class.
type poly2bitmapOp struct{ classes []string }

func (o poly2bitmapOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	return withShapes(in, o.classes, func(string) string { return dataset.ShapeBitmap })
}

func (o poly2bitmapOp) Apply(it *Item) ([]*Item, error) {
	objs := make([]dataset.Object, 0, len(it.Ann.Objects))
	for _, ob := range it.Ann.Objects {
		if !classSelected(o.classes, ob.Class) || ob.Shape == dataset.ShapeBitmap {
			objs = append(objs, ob)
			continue
		}
		m, origin, err := objectMask(&ob, it.Ann.Width, it.Ann.Height)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue // covers no pixel of the image
		}
		objs = append(objs, dataset.Object{Class: ob.Class, Tags: ob.Tags, Shape: dataset.ShapeBitmap, Mask: m, Origin: origin})
	}
	it.Ann.Objects = objs
	return []*Item{it}, nil
}

// find_contours: bitmap → polygons with holes.
//
// Departures from DTL (FindContoursLayer, OpenCV RETR_CCOMP through pixel
// centres, +0.5 px): the rings run along pixel edges (dataset.Mask.Contours),
// so that without simplification the polygons rasterise back to exactly the
// mask; components are 4-connected (pixels touching only at a corner become
// separate polygons, since a ring cannot pass through a corner twice);
// DTL's approx_epsilon is called simplify_tolerance; the class is kept.
type findContoursOp struct {
	classes   []string
	tolerance float64
}

func (o findContoursOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	return withShapes(in, o.classes, func(s string) string {
		if s == dataset.ShapeBitmap {
			return dataset.ShapePolygon
		}
		return s // rectangles and polygons are left as they are
	})
}

func (o findContoursOp) Apply(it *Item) ([]*Item, error) {
	objs := make([]dataset.Object, 0, len(it.Ann.Objects))
	for _, ob := range it.Ann.Objects {
		if !classSelected(o.classes, ob.Class) || ob.Shape != dataset.ShapeBitmap {
			objs = append(objs, ob)
			continue
		}
		if ob.Mask == nil {
			continue
		}
		off := dataset.Point{X: float64(ob.Origin.X), Y: float64(ob.Origin.Y)}
		for _, poly := range ob.Mask.Contours() {
			p := dataset.Polygon{Exterior: o.ring(poly.Exterior, off)}
			for _, h := range poly.Holes {
				p.Holes = append(p.Holes, o.ring(h, off))
			}
			objs = append(objs, dataset.Object{Class: ob.Class, Tags: slices.Clone(ob.Tags), Shape: dataset.ShapePolygon, Polygon: p})
		}
	}
	it.Ann.Objects = objs
	return []*Item{it}, nil
}

// ring moves a contour ring by off and simplifies it.
func (o findContoursOp) ring(r []dataset.Point, off dataset.Point) []dataset.Point {
	out := make([]dataset.Point, len(r))
	for i, p := range r {
		out[i] = dataset.Point{X: p.X + off.X, Y: p.Y + off.Y}
	}
	if o.tolerance > 0 {
		out = simplifyRing(out, o.tolerance)
	}
	return out
}

// simplifyRing applies Douglas–Peucker to a closed ring: the ring is cut at
// its first vertex and at the vertex farthest from it, each half is
// simplified (a vertex is kept when it lies more than tol from the segment
// joining the kept vertices around it), and, should fewer than 3 vertices
// remain, the vertex farthest from the cut's chord is put back. The first
// vertex and the direction of travel are kept. Ties go to the earlier vertex.
func simplifyRing(ring []dataset.Point, tol float64) []dataset.Point {
	n := len(ring)
	if n <= 3 {
		return ring
	}
	far, best := 0, -1.0
	for i := 1; i < n; i++ {
		if d := math.Hypot(ring[i].X-ring[0].X, ring[i].Y-ring[0].Y); d > best {
			far, best = i, d
		}
	}
	pts := append(slices.Clone(ring), ring[0]) // index n is vertex 0 again
	keep := make([]bool, n+1)
	keep[0], keep[far], keep[n] = true, true, true
	stack := [][2]int{{0, far}, {far, n}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		k, dk := -1, tol
		for i := s[0] + 1; i < s[1]; i++ {
			if d := segmentDist(pts[i], pts[s[0]], pts[s[1]]); d > dk {
				k, dk = i, d
			}
		}
		if k >= 0 {
			keep[k] = true
			stack = append(stack, [2]int{k, s[1]}, [2]int{s[0], k})
		}
	}
	kept := 0
	for i := 0; i < n; i++ {
		if keep[i] {
			kept++
		}
	}
	if kept < 3 {
		k, dk := -1, -1.0
		for i := 1; i < n; i++ {
			if !keep[i] {
				if d := segmentDist(ring[i], ring[0], ring[far]); d > dk {
					k, dk = i, d
				}
			}
		}
		keep[k] = true
	}
	out := make([]dataset.Point, 0, max(kept, 3))
	for i := 0; i < n; i++ {
		if keep[i] {
			out = append(out, ring[i])
		}
	}
	return out
}

// segmentDist is the distance from p to the segment ab.
func segmentDist(p, a, b dataset.Point) float64 {
	dx, dy := b.X-a.X, b.Y-a.Y
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return math.Hypot(p.X-a.X, p.Y-a.Y)
	}
	t := ((p.X-a.X)*dx + (p.Y-a.Y)*dy) / l2
	t = max(0, min(1, t))
	return math.Hypot(p.X-(a.X+t*dx), p.Y-(a.Y+t*dy))
}

// split_masks: one object per connected component. DTL splits into
// 8-connected components (skimage), the default here; connectivity = 4
// gives the components that find_contours makes polygons of.
type splitMasksOp struct {
	classes []string
	eight   bool
}

func (o splitMasksOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	return metaWithClasses(in, o.classes)
}

func (o splitMasksOp) Apply(it *Item) ([]*Item, error) {
	objs := make([]dataset.Object, 0, len(it.Ann.Objects))
	for _, ob := range it.Ann.Objects {
		if !classSelected(o.classes, ob.Class) || ob.Shape != dataset.ShapeBitmap {
			objs = append(objs, ob)
			continue
		}
		parts, err := maskComponents(ob.Mask, ob.Origin, o.eight)
		if err != nil {
			return nil, err
		}
		if len(parts) == 1 {
			objs = append(objs, ob) // unchanged, whatever its cropping
			continue
		}
		for _, p := range parts {
			objs = append(objs, dataset.Object{Class: ob.Class, Tags: slices.Clone(ob.Tags), Shape: dataset.ShapeBitmap, Mask: p.mask, Origin: p.origin})
		}
	}
	it.Ann.Objects = objs
	return []*Item{it}, nil
}

type maskComponent struct {
	mask   *dataset.Mask
	origin image.Point
}

// maskComponents returns the connected components of m (at origin) as tight
// masks, in the raster order of their first pixel.
func maskComponents(m *dataset.Mask, origin image.Point, eight bool) ([]maskComponent, error) {
	if m == nil || m.W <= 0 || m.H <= 0 || len(m.Bits) != m.W*m.H {
		return nil, nil
	}
	label := make([]int32, len(m.Bits))
	var out []maskComponent
	var stack, pix []int
	for start, b := range m.Bits {
		if b == 0 || label[start] != 0 {
			continue
		}
		id := int32(len(out) + 1)
		label[start] = id
		stack = append(stack[:0], start)
		pix = pix[:0]
		x0, y0, x1, y1 := m.W, m.H, 0, 0
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			pix = append(pix, j)
			x, y := j%m.W, j/m.W
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if (dx == 0 && dy == 0) || (!eight && dx != 0 && dy != 0) {
						continue
					}
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= m.W || ny >= m.H {
						continue
					}
					if k := ny*m.W + nx; m.Bits[k] != 0 && label[k] == 0 {
						label[k] = id
						stack = append(stack, k)
					}
				}
			}
		}
		c, err := dataset.NewMask(x1-x0, y1-y0)
		if err != nil {
			return nil, err
		}
		for _, j := range pix {
			c.Bits[(j/m.W-y0)*c.W+j%m.W-x0] = 1
		}
		out = append(out, maskComponent{c, origin.Add(image.Pt(x0, y0))})
	}
	return out, nil
}

// merge_masks: DTL's merge_bitmap_masks ORs the bitmaps of one class; this
// op also takes the class's polygons and rectangles (rasterised, clipped to
// the image), so that the class becomes a bitmap class. The merged object
// carries the tags of the merged objects, each name and value once, in the
// order first met.
type mergeMasksOp struct{ class string }

func (o mergeMasksOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	return withShapes(in, []string{o.class}, func(string) string { return dataset.ShapeBitmap })
}

func (o mergeMasksOp) Apply(it *Item) ([]*Item, error) {
	type part struct {
		m      *dataset.Mask
		origin image.Point
	}
	var parts []part
	var frame image.Rectangle
	var tags []dataset.Tag
	first := -1
	objs := make([]dataset.Object, 0, len(it.Ann.Objects))
	for _, ob := range it.Ann.Objects {
		if ob.Class != o.class {
			objs = append(objs, ob)
			continue
		}
		if first < 0 {
			first = len(objs)
		}
		for _, t := range ob.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		m, origin, err := objectMask(&ob, it.Ann.Width, it.Ann.Height)
		if err != nil {
			return nil, err
		}
		if m != nil {
			parts = append(parts, part{m, origin})
			frame = frame.Union(image.Rectangle{Min: origin, Max: origin.Add(image.Pt(m.W, m.H))})
		}
	}
	if len(parts) == 0 {
		it.Ann.Objects = objs
		return []*Item{it}, nil
	}
	u, err := dataset.NewMask(frame.Dx(), frame.Dy())
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		u.Paste(p.m, p.origin.X-frame.Min.X, p.origin.Y-frame.Min.Y)
	}
	merged := dataset.Object{Class: o.class, Tags: tags, Shape: dataset.ShapeBitmap, Mask: u, Origin: frame.Min}
	it.Ann.Objects = slices.Insert(objs, first, merged)
	return []*Item{it}, nil
}

// edge_band: the seed workflow's band along object boundaries
// (shared/docs/dtl.md §5.3: the article mentions one; its exact form and use
// are unverified, and it is no DTL layer).
//
// Pixel-exact definition, which trainers may rely on: let M be the set of
// image pixels of a source object (bitmap pixels inside the image; polygons
// by the pixel-centre rule of dataset.Rasterize; rectangles as their pixels)
// and r = width. Pixel (x, y) of the image is in the object's band when the
// window W = [x-r, x+r] × [y-r, y+r] ∩ image holds at least one pixel of M
// and at least one pixel of the image not in M. That is the morphological
// gradient dilate(M) minus erode(M) with the (2r+1)×(2r+1) square
// structuring element (Chebyshev distance ≤ r), computed inside the image:
// pixels beyond the image count neither as in M nor as outside it, so the
// image border is not an edge. Across a straight edge the band is 2r pixels
// wide, r pixels of M and r outside. Each source object gets its own band
// object (appended after all objects, in the order of their sources, with
// no tags); a band with no pixel is not added. Objects of the band class
// itself never get a band.
type edgeBandOp struct {
	classes []string
	class   string
	width   int
}

func (o edgeBandOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, o.classes); err != nil {
		return nil, err
	}
	out := &dataset.Meta{Classes: slices.Clone(in.Classes), Tags: in.Tags}
	if c := out.Class(o.class); c != nil {
		if c.Shape != dataset.ShapeBitmap {
			c.Shape = dataset.ShapeAny
		}
		return out, nil
	}
	out.AddClass(dataset.Class{Title: o.class, Shape: dataset.ShapeBitmap})
	out.Sort()
	return out, nil
}

func (o edgeBandOp) Apply(it *Item) ([]*Item, error) {
	w, h := it.Ann.Width, it.Ann.Height
	var bands []dataset.Object
	for _, ob := range it.Ann.Objects {
		if ob.Class == o.class || !classSelected(o.classes, ob.Class) {
			continue
		}
		m, origin, err := objectMask(&ob, w, h)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue
		}
		b, borigin, err := edgeBand(m, origin, w, h, o.width)
		if err != nil {
			return nil, err
		}
		if b != nil {
			bands = append(bands, dataset.Object{Class: o.class, Shape: dataset.ShapeBitmap, Mask: b, Origin: borigin})
		}
	}
	it.Ann.Objects = append(it.Ann.Objects, bands...)
	return []*Item{it}, nil
}

// edgeBand computes the band (see edgeBandOp) of mask m at origin in a w×h
// image, as a tight mask and its origin; nil when it is empty.
func edgeBand(m *dataset.Mask, origin image.Point, w, h, r int) (*dataset.Mask, image.Point, error) {
	img := image.Rect(0, 0, w, h)
	box := image.Rectangle{Min: origin, Max: origin.Add(image.Pt(m.W, m.H))}.Intersect(img)
	if box.Empty() {
		return nil, image.Point{}, nil
	}
	// Every window that holds a pixel of M, and every pixel such a window
	// can see, lies within 2r of the box: work on that part of the image.
	// Clipping windows to g is then clipping them to the image.
	g := box.Inset(-2 * r).Intersect(img)
	gw, gh := g.Dx(), g.Dy()
	band, err := dataset.NewMask(gw, gh) // checks the size before sat is made
	if err != nil {
		return nil, image.Point{}, err
	}
	// sat[(y)*(gw+1)+x] counts the pixels of M in g's columns < x, rows < y.
	sat := make([]int32, (gw+1)*(gh+1))
	for y := 0; y < gh; y++ {
		var run int32
		for x := 0; x < gw; x++ {
			if m.At(g.Min.X+x-origin.X, g.Min.Y+y-origin.Y) {
				run++
			}
			sat[(y+1)*(gw+1)+x+1] = sat[y*(gw+1)+x+1] + run
		}
	}
	for y := 0; y < gh; y++ {
		ya, yb := max(0, y-r), min(gh, y+r+1)
		for x := 0; x < gw; x++ {
			xa, xb := max(0, x-r), min(gw, x+r+1)
			n := sat[yb*(gw+1)+xb] - sat[ya*(gw+1)+xb] - sat[yb*(gw+1)+xa] + sat[ya*(gw+1)+xa]
			if n > 0 && int(n) < (yb-ya)*(xb-xa) {
				band.Bits[y*gw+x] = 1
			}
		}
	}
	t, at, _ := band.Tight(g.Min)
	return t, at, nil
}
