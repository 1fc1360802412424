package dataset

import (
	"fmt"
	"hash/fnv"
	"image"
	"sort"
)

// Shape names, as Supervisely spells them in meta.json and in objects.
const (
	ShapeBitmap    = "bitmap"
	ShapePolygon   = "polygon"
	ShapeRectangle = "rectangle"
	ShapeAny       = "any" // a class whose objects may have any geometry
)

// Meta is a dataset's class and tag definitions (Supervisely's meta.json).
// Canonical form: classes sorted by Title, tags sorted by Name.
type Meta struct {
	Classes []Class
	Tags    []TagMeta
}

// Class is an object class.
type Class struct {
	Title string
	Shape string // ShapeBitmap, ShapePolygon, ShapeRectangle or ShapeAny
	Color string // "#RRGGBB"
}

// Tag value types, as Supervisely spells them.
const (
	TagNone        = "none"
	TagAnyNumber   = "any_number"
	TagAnyString   = "any_string"
	TagOneOfString = "oneof_string"
)

// TagMeta defines a tag that images or objects may carry.
type TagMeta struct {
	Name      string
	ValueType string   // TagNone, TagAnyNumber, TagAnyString, TagOneOfString
	Values    []string // for TagOneOfString
	Color     string   // "#RRGGBB"
}

// Tag is a tag on an image or object. Value is empty for a tag without a
// value; a numeric value is held in its canonical decimal form with Number
// set, so that it is written as a JSON number.
type Tag struct {
	Name   string
	Value  string
	Number bool
}

// Annotation is everything known about one image besides its pixels.
type Annotation struct {
	Width, Height int
	Tags          []Tag
	Objects       []Object
}

// Object is one annotated object. Exactly one geometry is set, as Shape says:
//   - ShapeBitmap: Mask (cropped to its tight bounding box) at Origin;
//   - ShapePolygon: Polygon, in continuous pixel coordinates (see [Point]);
//   - ShapeRectangle: Rect, half-open pixel bounds (Max is exclusive).
type Object struct {
	Class   string
	Tags    []Tag
	Shape   string
	Mask    *Mask
	Origin  image.Point
	Polygon Polygon
	Rect    image.Rectangle
}

// Bounds returns the object's pixel bounding box (half-open).
func (o *Object) Bounds() image.Rectangle {
	switch o.Shape {
	case ShapeBitmap:
		if o.Mask == nil {
			return image.Rectangle{}
		}
		x0, y0, x1, y1, ok := o.Mask.BBox()
		if !ok {
			return image.Rectangle{}
		}
		return image.Rect(x0, y0, x1, y1).Add(o.Origin)
	case ShapePolygon:
		if len(o.Polygon.Exterior) == 0 {
			return image.Rectangle{}
		}
		minX, minY := o.Polygon.Exterior[0].X, o.Polygon.Exterior[0].Y
		maxX, maxY := minX, minY
		for _, p := range o.Polygon.Exterior {
			minX, maxX = min(minX, p.X), max(maxX, p.X)
			minY, maxY = min(minY, p.Y), max(maxY, p.Y)
		}
		return image.Rect(floor(minX), floor(minY), ceil(maxX), ceil(maxY))
	case ShapeRectangle:
		return o.Rect
	}
	return image.Rectangle{}
}

// Raster returns the object's mask over the whole w×h image.
func (o *Object) Raster(w, h int) (*Mask, error) {
	switch o.Shape {
	case ShapeBitmap:
		m, err := NewMask(w, h)
		if err != nil {
			return nil, err
		}
		if o.Mask != nil {
			m.Paste(o.Mask, o.Origin.X, o.Origin.Y)
		}
		return m, nil
	case ShapePolygon:
		return Rasterize(w, h, []Polygon{o.Polygon})
	case ShapeRectangle:
		m, err := NewMask(w, h)
		if err != nil {
			return nil, err
		}
		r := o.Rect.Intersect(image.Rect(0, 0, w, h))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				m.Bits[y*w+x] = 1
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("object of class %q has unknown shape %q", o.Class, o.Shape)
}

// Class returns the class with the given title, or nil.
func (m *Meta) Class(title string) *Class {
	for i := range m.Classes {
		if m.Classes[i].Title == title {
			return &m.Classes[i]
		}
	}
	return nil
}

// TagMeta returns the tag definition with the given name, or nil.
func (m *Meta) TagMeta(name string) *TagMeta {
	for i := range m.Tags {
		if m.Tags[i].Name == name {
			return &m.Tags[i]
		}
	}
	return nil
}

// AddClass adds a class unless one with its title exists; an empty colour
// gets [DefaultColor].
func (m *Meta) AddClass(c Class) {
	if m.Class(c.Title) != nil {
		return
	}
	if c.Color == "" {
		c.Color = DefaultColor(c.Title)
	}
	if c.Shape == "" {
		c.Shape = ShapeAny
	}
	m.Classes = append(m.Classes, c)
}

// AddTag adds a tag definition unless one with its name exists.
func (m *Meta) AddTag(t TagMeta) {
	if m.TagMeta(t.Name) != nil {
		return
	}
	if t.ValueType == "" {
		t.ValueType = TagNone
	}
	if t.Color == "" {
		t.Color = DefaultColor(t.Name)
	}
	m.Tags = append(m.Tags, t)
}

// MergeClass adds c, or, when a class of its title exists with another
// shape, makes that class's shape "any".
func (m *Meta) MergeClass(c Class) {
	if have := m.Class(c.Title); have != nil {
		if have.Shape != c.Shape {
			have.Shape = ShapeAny
		}
		return
	}
	m.AddClass(c)
}

// Merge adds other's classes (MergeClass) and tag definitions.
func (m *Meta) Merge(other *Meta) {
	for _, c := range other.Classes {
		m.MergeClass(c)
	}
	for _, t := range other.Tags {
		m.AddTag(t)
	}
}

// Sort puts the meta in canonical order.
func (m *Meta) Sort() {
	sort.Slice(m.Classes, func(i, j int) bool { return m.Classes[i].Title < m.Classes[j].Title })
	sort.Slice(m.Tags, func(i, j int) bool { return m.Tags[i].Name < m.Tags[j].Name })
}

// DefaultColor is a stable colour for a name without one: a hash of the name.
func DefaultColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	return fmt.Sprintf("#%02X%02X%02X", byte(v>>16), byte(v>>8), byte(v))
}

func floor(f float64) int {
	i := int(f)
	if float64(i) > f {
		i--
	}
	return i
}

func ceil(f float64) int {
	i := int(f)
	if float64(i) < f {
		i++
	}
	return i
}
