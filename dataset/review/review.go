package review

import (
	"errors"
	"fmt"
	"image"
	"math"
	"path"
	"sort"
	"strings"

	"dsbuild/dataset"
)

// Item is one image under review.
type Item struct {
	// Name is the dataset item name, "<dataset>/<file>".
	Name string
	// Image is the encoded image file (PNG, JPEG, ...) as stored. It is
	// written into the package; ReadResults does not use it.
	Image []byte
	// Ann is the prediction: Width and Height (required), the predicted
	// objects (usually bitmaps with a "confidence" number tag) and maybe
	// image tags.
	Ann *dataset.Annotation
}

// Verdict is a reviewer's judgement of one prediction.
type Verdict string

// The three verdicts. Reviewers see them as the image tags of [Verdict.Tag]
// in Supervisely and as these values in CVAT and Label Studio.
const (
	// Good: the prediction is right as it is.
	Good Verdict = "good"
	// NeedsCorrection: the reviewer corrected the objects; the corrected
	// objects replace the prediction.
	NeedsCorrection Verdict = "needs correction"
	// Bad: the prediction is rejected and not corrected.
	Bad Verdict = "bad"
)

// Verdicts lists the verdicts in the order reviewers see them.
var Verdicts = []Verdict{Good, NeedsCorrection, Bad}

// Tag returns the image tag name that stands for v in a Supervisely
// project: "good prediction", "needs correction" or "bad prediction".
func (v Verdict) Tag() string {
	switch v {
	case Good:
		return "good prediction"
	case Bad:
		return "bad prediction"
	}
	return string(v)
}

// ParseVerdict reads a verdict as reviewers may spell it: the verdict
// ("good"), its tag name ("good prediction"), in any case, with '_' or '-'
// for spaces.
func ParseVerdict(s string) (Verdict, bool) {
	n := strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return ' '
		}
		return r
	}, strings.ToLower(s))), " ")
	for _, v := range Verdicts {
		if n == string(v) || n == v.Tag() {
			return v, true
		}
	}
	return "", false
}

// Result is the review of one item.
type Result struct {
	Name    string
	Verdict Verdict
	// Objects are the corrected objects when Verdict is NeedsCorrection:
	// never nil then, and empty when the reviewer removed everything (the
	// image holds no object). It is nil for Good (the prediction stands as
	// it is) and Bad.
	Objects []dataset.Object
}

// The result formats, as Simulate names them.
const (
	FormatSupervisely = "supervisely"
	FormatCVAT        = "cvat"
	FormatLabelStudio = "label-studio"
)

// Formats lists the result formats.
var Formats = []string{FormatSupervisely, FormatCVAT, FormatLabelStudio}

// index is the validated package: items sorted by name, and the classes.
type index struct {
	items   []*Item // sorted by name
	byName  map[string]*Item
	byBase  map[string][]*Item // by file name, for results that lost the dataset part
	classes []dataset.Class    // sorted by title, defaults filled in
	shape   map[string]string  // class title → shape
	tags    []dataset.TagMeta  // the predictions' tag definitions, when known
}

// newIndex checks the items' names and sizes and the classes. With
// predictions set it also checks every predicted object (known class,
// valid geometry inside its image); with images set it requires the image
// bytes (and, for a PNG or JPEG, the prediction's size).
func newIndex(items []Item, classes []dataset.Class, predictions, images bool) (*index, error) {
	ix := &index{byName: map[string]*Item{}, byBase: map[string][]*Item{}, shape: map[string]string{}}
	var meta dataset.Meta
	for _, c := range classes {
		if c.Title == "" {
			return nil, errors.New("a class has no title")
		}
		if meta.Class(c.Title) != nil {
			return nil, fmt.Errorf("class %q is given twice", c.Title)
		}
		meta.AddClass(c)
	}
	meta.Sort()
	ix.classes = meta.Classes
	for _, c := range ix.classes {
		ix.shape[c.Title] = c.Shape
	}
	for i := range items {
		it := &items[i]
		if err := dataset.ValidItemName(it.Name); err != nil {
			return nil, err
		}
		if ix.byName[it.Name] != nil {
			return nil, fmt.Errorf("item %s is given twice", it.Name)
		}
		if it.Ann == nil {
			return nil, fmt.Errorf("item %s has no annotation (the prediction)", it.Name)
		}
		if w, h := it.Ann.Width, it.Ann.Height; w <= 0 || h <= 0 || w > dataset.MaxPixels/h {
			return nil, fmt.Errorf("item %s: image size %dx%d is not valid", it.Name, w, h)
		}
		if images {
			if err := checkItemImage(it); err != nil {
				return nil, err
			}
		}
		if predictions {
			for j := range it.Ann.Objects {
				if err := ix.checkObject(&it.Ann.Objects[j], it.Ann.Width, it.Ann.Height); err != nil {
					return nil, fmt.Errorf("item %s: predicted object %d: %w", it.Name, j, err)
				}
			}
		}
		ix.byName[it.Name] = it
		_, file := dataset.Split(it.Name)
		ix.byBase[file] = append(ix.byBase[file], it)
		ix.items = append(ix.items, it)
	}
	sort.Slice(ix.items, func(i, j int) bool { return ix.items[i].Name < ix.items[j].Name })
	return ix, nil
}

// match finds the item a results file names: by its full item name, by
// its last two path elements (a tool may prefix a folder, "images/ds/a.png"),
// or else by its file name alone when exactly one item has it.
func (ix *index) match(name string) *Item {
	if it := ix.byName[name]; it != nil {
		return it
	}
	if it := ix.byName[path.Join(path.Base(path.Dir(name)), path.Base(name))]; it != nil {
		return it
	}
	if its := ix.byBase[path.Base(name)]; len(its) == 1 {
		return its[0]
	}
	return nil
}

// checkObject checks that o has a class of the package, a valid geometry,
// and lies inside a w×h image.
func (ix *index) checkObject(o *dataset.Object, w, h int) error {
	if _, ok := ix.shape[o.Class]; !ok {
		return fmt.Errorf("unknown class %q (the classes are %s)", o.Class, ix.classList())
	}
	switch o.Shape {
	case dataset.ShapeBitmap:
		m := o.Mask
		if m == nil || m.W < 0 || m.H < 0 || len(m.Bits) != m.W*m.H {
			return fmt.Errorf("class %q: invalid bitmap", o.Class)
		}
		if m.Area() == 0 {
			return fmt.Errorf("class %q: the mask has no set pixels", o.Class)
		}
	case dataset.ShapePolygon:
		if len(o.Polygon.Exterior) < 3 {
			return fmt.Errorf("class %q: polygon with %d vertices; at least 3 are needed", o.Class, len(o.Polygon.Exterior))
		}
		for _, ring := range append([][]dataset.Point{o.Polygon.Exterior}, o.Polygon.Holes...) {
			for _, p := range ring {
				if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
					return fmt.Errorf("class %q: polygon vertex (%v, %v) is not finite", o.Class, p.X, p.Y)
				}
			}
		}
	case dataset.ShapeRectangle:
		if o.Rect.Canon().Empty() {
			return fmt.Errorf("class %q: empty rectangle", o.Class)
		}
	default:
		return fmt.Errorf("class %q: unsupported shape %q", o.Class, o.Shape)
	}
	b := o.Bounds()
	if o.Shape == dataset.ShapeRectangle {
		b = o.Rect.Canon()
	}
	// Not b.In: an empty box is "in" every rectangle, wherever it lies.
	if b.Min.X < 0 || b.Min.Y < 0 || b.Max.X > w || b.Max.Y > h {
		return fmt.Errorf("class %q: the %s at %v lies (partly) outside the %dx%d image", o.Class, o.Shape, b, w, h)
	}
	return nil
}

func (ix *index) classList() string {
	if len(ix.classes) == 0 {
		return "none"
	}
	q := make([]string, len(ix.classes))
	for i, c := range ix.classes {
		q[i] = fmt.Sprintf("%q", c.Title)
	}
	return strings.Join(q, ", ")
}

// tightBitmap returns the bitmap object of class c for mask m placed at
// origin, cropped to its set pixels (dataset.Mask.Tight).
func tightBitmap(c string, m *dataset.Mask, origin image.Point) (dataset.Object, error) {
	t, at, ok := m.Tight(origin)
	if !ok {
		return dataset.Object{}, fmt.Errorf("class %q: the mask has no set pixels", c)
	}
	return dataset.Object{Class: c, Shape: dataset.ShapeBitmap, Mask: t, Origin: at}, nil
}

// maxProblems bounds the problems one ReadResults error lists.
const maxProblems = 10

// collector gathers what a results file says about each item, and the
// problems found, and turns them into Results.
type collector struct {
	ix       *index
	path     string // the results as given, for the missing-items error
	found    map[string]*found
	spoiled  map[string]bool // items with a problem already reported
	problems []error
	more     int // problems beyond maxProblems
}

// found is what the results say about one item.
type found struct {
	file     string // the results file that holds it
	verdicts []Verdict
	objects  []dataset.Object
}

func newCollector(ix *index, path string) *collector {
	return &collector{ix: ix, path: path, found: map[string]*found{}, spoiled: map[string]bool{}}
}

// problem records a problem of file (and item, when not empty).
func (c *collector) problem(file, item string, err error) {
	if item != "" {
		c.spoiled[item] = true
		c.add(fmt.Errorf("%s: item %s: %w", file, item, err))
	} else {
		c.add(fmt.Errorf("%s: %w", file, err))
	}
}

// add records a problem whose message names the file and item itself.
func (c *collector) add(err error) {
	if len(c.problems) == maxProblems {
		c.more++
		return
	}
	c.problems = append(c.problems, err)
}

// item starts the results of it found in file; ok is false (and a problem
// recorded) when file or another file already gave them.
func (c *collector) item(file string, it *Item, where string) (*found, bool) {
	if f := c.found[it.Name]; f != nil {
		if f.file == file {
			c.problem(file, it.Name, fmt.Errorf("%s: the image appears twice", where))
		} else {
			c.problem(file, it.Name, fmt.Errorf("%s: the image also has results in %s", where, f.file))
		}
		return nil, false
	}
	f := &found{file: file}
	c.found[it.Name] = f
	return f, true
}

// verdict adds a verdict to f.
func (f *found) verdict(v Verdict) {
	for _, have := range f.verdicts {
		if have == v {
			return // the same verdict twice is one verdict
		}
	}
	f.verdicts = append(f.verdicts, v)
}

// object checks o and adds it to f in the shape of its class.
func (c *collector) object(f *found, it *Item, o dataset.Object, where string) {
	if err := c.ix.checkObject(&o, it.Ann.Width, it.Ann.Height); err != nil {
		c.problem(f.file, it.Name, fmt.Errorf("%s: %w", where, err))
		return
	}
	objs, err := conformObject(o, c.ix.shape[o.Class], it.Ann.Width, it.Ann.Height)
	if err != nil {
		c.problem(f.file, it.Name, fmt.Errorf("%s: %w", where, err))
		return
	}
	f.objects = append(f.objects, objs...)
}

// conformObject converts o into shape, the shape of its class, without
// changing its pixels: into a bitmap for a bitmap class, into the polygons
// traced from its pixels ([dataset.Mask.Contours], one object per
// 4-connected part, holes kept) for a polygon class. It leaves o as it is
// for a class of any shape (or its own), returns nothing for an object
// that covers no pixel, and fails for a class of rectangles, which only a
// rectangle fits.
func conformObject(o dataset.Object, shape string, w, h int) ([]dataset.Object, error) {
	switch shape {
	case o.Shape, dataset.ShapeAny, "":
		return []dataset.Object{o}, nil
	case dataset.ShapeBitmap, dataset.ShapePolygon:
	default:
		return nil, fmt.Errorf("class %q takes %ss; a %s is not one (draw a %s)", o.Class, shape, o.Shape, shape)
	}
	m, at, ok, err := o.TightRaster(w, h)
	if err != nil {
		return nil, fmt.Errorf("class %q: %w", o.Class, err)
	}
	if !ok {
		return nil, nil
	}
	if shape == dataset.ShapeBitmap {
		return []dataset.Object{{Class: o.Class, Tags: o.Tags, Shape: dataset.ShapeBitmap, Mask: m, Origin: at}}, nil
	}
	var out []dataset.Object
	for _, p := range m.Contours() {
		out = append(out, dataset.Object{Class: o.Class, Tags: o.Tags, Shape: dataset.ShapePolygon, Polygon: shift(p, float64(at.X), float64(at.Y))})
	}
	return out, nil
}

// shift moves a polygon by (dx, dy).
func shift(p dataset.Polygon, dx, dy float64) dataset.Polygon {
	move := func(ring []dataset.Point) []dataset.Point {
		out := make([]dataset.Point, len(ring))
		for i, q := range ring {
			out[i] = dataset.Point{X: q.X + dx, Y: q.Y + dy}
		}
		return out
	}
	r := dataset.Polygon{Exterior: move(p.Exterior)}
	for _, h := range p.Holes {
		r.Holes = append(r.Holes, move(h))
	}
	return r
}

// results returns one Result per item in items order, or every problem
// found. When no image had results, because the file was broken or names
// none of the package's images, its problems are the whole story and the
// missing items are not listed.
func (c *collector) results(items []Item) ([]Result, error) {
	var missing []string
	out := make([]Result, 0, len(items))
	for _, it := range items {
		f := c.found[it.Name]
		if f == nil {
			missing = append(missing, it.Name)
			continue
		}
		if c.spoiled[it.Name] {
			continue // its problems are reported; "no verdict" would repeat one
		}
		switch len(f.verdicts) {
		case 0:
			c.add(fmt.Errorf("item %s has no verdict in %s", it.Name, f.file))
			continue
		case 1:
		default:
			q := make([]string, len(f.verdicts))
			for i, v := range f.verdicts {
				q[i] = fmt.Sprintf("%q", v)
			}
			c.problem(f.file, it.Name, fmt.Errorf("more than one verdict: %s", strings.Join(q, ", ")))
			continue
		}
		r := Result{Name: it.Name, Verdict: f.verdicts[0]}
		if r.Verdict == NeedsCorrection {
			r.Objects = append([]dataset.Object{}, f.objects...)
		}
		out = append(out, r)
	}
	if len(missing) > 0 && (len(c.found) > 0 || len(c.problems) == 0) {
		shown := missing[:min(5, len(missing))]
		more := ""
		if len(missing) > len(shown) {
			more = ", …"
		}
		// Not capped: it is the one problem that says how much is missing.
		c.problems = append(c.problems, fmt.Errorf("%s: %d items of the review package have no results: %s%s",
			c.path, len(missing), strings.Join(shown, ", "), more))
	}
	if len(c.problems) > 0 {
		if c.more > 0 {
			c.problems = append(c.problems, fmt.Errorf("and %d more problems", c.more))
		}
		return nil, errors.Join(c.problems...)
	}
	return out, nil
}
