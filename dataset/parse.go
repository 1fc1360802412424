package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"
)

// ErrUnsupportedGeometry is returned (wrapped) for Supervisely geometries
// that segmentation has no use for: line, point, graph, cuboid.
var ErrUnsupportedGeometry = errors.New("unsupported geometry")

// ParseAnnotation reads a Supervisely annotation: the canonical form, any
// 2019+ file (geometryType or shape on each object), and the 2018 legacy
// layout (type on each object, both points and bitmap present; formats.md
// §1.3–1.6). meta, if not nil, decides an object's geometry as the SDK does:
// from its class's shape unless that is "any", then from the object's
// geometryType, shape or type. Polygon vertices are converted from
// Supervisely's pixel-centre coordinates to continuous ones (+0.5).
func ParseAnnotation(data []byte, meta *Meta) (*Annotation, error) {
	var raw struct {
		Size struct {
			Height *int `json:"height"`
			Width  *int `json:"width"`
		} `json:"size"`
		Tags    []json.RawMessage `json:"tags"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("annotation JSON: %w", err)
	}
	if raw.Size.Height == nil || raw.Size.Width == nil {
		return nil, errors.New("annotation has no size {height, width}")
	}
	a := &Annotation{Width: *raw.Size.Width, Height: *raw.Size.Height}
	if !sizeOK(a.Width, a.Height) || a.Width == 0 || a.Height == 0 {
		return nil, fmt.Errorf("annotation size %dx%d is not a valid image size", a.Width, a.Height)
	}
	var err error
	if a.Tags, err = parseTags(raw.Tags); err != nil {
		return nil, fmt.Errorf("annotation tags: %w", err)
	}
	for i, ro := range raw.Objects {
		o, err := parseObject(ro, meta, a.Width, a.Height)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		if o != nil {
			a.Objects = append(a.Objects, *o)
		}
	}
	return a, nil
}

func parseTags(raws []json.RawMessage) ([]Tag, error) {
	var out []Tag
	for _, r := range raws {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '"' {
			var name string
			if err := json.Unmarshal(r, &name); err != nil {
				return nil, err
			}
			if name == "" {
				return nil, errors.New("a tag has no name")
			}
			out = append(out, Tag{Name: name})
			continue
		}
		var t struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r, &t); err != nil {
			return nil, err
		}
		if t.Name == "" {
			return nil, errors.New("a tag has no name")
		}
		tag := Tag{Name: t.Name}
		v := bytes.TrimSpace(t.Value)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			if err := json.Unmarshal(v, &tag.Value); err != nil {
				return nil, err
			}
		default:
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return nil, fmt.Errorf("tag %q: value %s is neither a string nor a number", t.Name, v)
			}
			tag = NumberTag(t.Name, f)
		}
		out = append(out, tag)
	}
	return out, nil
}

type rawPoints struct {
	Exterior [][]float64   `json:"exterior"`
	Interior [][][]float64 `json:"interior"`
}

func parseObject(data []byte, meta *Meta, w, h int) (*Object, error) {
	var ro struct {
		ClassTitle   string            `json:"classTitle"`
		GeometryType string            `json:"geometryType"`
		Shape        string            `json:"shape"`
		Type         string            `json:"type"`
		Tags         []json.RawMessage `json:"tags"`
		Points       *rawPoints        `json:"points"`
		Bitmap       json.RawMessage   `json:"bitmap"`
		ID           json.RawMessage   `json:"id"`
	}
	if err := json.Unmarshal(data, &ro); err != nil {
		return nil, err
	}
	if ro.ClassTitle == "" {
		return nil, errors.New("no classTitle")
	}
	o := &Object{Class: ro.ClassTitle}
	var err error
	if o.Tags, err = parseTags(ro.Tags); err != nil {
		return nil, fmt.Errorf("class %q: tags: %w", ro.ClassTitle, err)
	}
	shape, own := "", ""
	for _, s := range []string{ro.GeometryType, ro.Shape, ro.Type} {
		if own == "" {
			own = s
		}
	}
	if meta != nil {
		if c := meta.Class(ro.ClassTitle); c != nil && c.Shape != ShapeAny {
			shape = c.Shape
		}
	}
	if shape == "" {
		shape = own
	}
	// The class's shape decides (as in the SDK); an object drawn as
	// another geometry lacks the field that shape is read from.
	hasBitmap := len(bytes.TrimSpace(ro.Bitmap)) > 0 && string(bytes.TrimSpace(ro.Bitmap)) != "null"
	mismatch := func(field string) error {
		drawn := "has points"
		if hasBitmap {
			drawn = "has a bitmap"
		}
		if own != "" {
			drawn = "is a " + own
		}
		id := ""
		if v := bytes.TrimSpace(ro.ID); len(v) > 0 && string(v) != "null" {
			id = fmt.Sprintf(" (id %s)", v)
		}
		return fmt.Errorf("class %q is a %s class in the meta, but the object%s %s, with no %q field; the class's shape decides how its objects are read (as in the Supervisely SDK): give the class the object's shape, or \"any\", in meta.json, or convert the object", ro.ClassTitle, shape, id, drawn, field)
	}
	o.Shape = shape
	switch shape {
	case ShapeBitmap:
		if !hasBitmap {
			if own != "" && own != ShapeBitmap || ro.Points != nil {
				return nil, mismatch("bitmap")
			}
			return nil, fmt.Errorf("class %q: bitmap object without a \"bitmap\" field", ro.ClassTitle)
		}
		m, origin, err := DecodeBitmapJSONWithin(ro.Bitmap, w, h)
		if err != nil {
			return nil, fmt.Errorf("class %q: bitmap: %w", ro.ClassTitle, err)
		}
		if m == nil || m.Area() == 0 {
			return nil, fmt.Errorf("class %q: empty bitmap", ro.ClassTitle)
		}
		if abs(origin.X) > MaxPixels || abs(origin.Y) > MaxPixels {
			return nil, fmt.Errorf("class %q: bitmap origin %v is far outside any image", ro.ClassTitle, origin)
		}
		o.Mask, o.Origin = m, origin
	case ShapePolygon:
		if ro.Points == nil {
			if own != "" && own != ShapePolygon || hasBitmap {
				return nil, mismatch("points")
			}
			return nil, fmt.Errorf("class %q: polygon without points", ro.ClassTitle)
		}
		ext, err := parseRing(ro.Points.Exterior)
		if err != nil {
			return nil, fmt.Errorf("class %q: exterior: %w", ro.ClassTitle, err)
		}
		if len(ext) < 3 {
			return nil, fmt.Errorf("class %q: polygon with %d vertices", ro.ClassTitle, len(ext))
		}
		o.Polygon.Exterior = ext
		for i, r := range ro.Points.Interior {
			h, err := parseRing(r)
			if err != nil {
				return nil, fmt.Errorf("class %q: hole %d: %w", ro.ClassTitle, i, err)
			}
			if len(h) >= 3 {
				o.Polygon.Holes = append(o.Polygon.Holes, h)
			}
		}
	case ShapeRectangle:
		if ro.Points == nil && (own != "" && own != ShapeRectangle || hasBitmap) {
			return nil, mismatch("points")
		}
		if ro.Points == nil || len(ro.Points.Exterior) != 2 {
			return nil, fmt.Errorf("class %q: a rectangle needs exactly 2 points", ro.ClassTitle)
		}
		p, q := ro.Points.Exterior[0], ro.Points.Exterior[1]
		if len(p) != 2 || len(q) != 2 {
			return nil, fmt.Errorf("class %q: rectangle points must be [x, y]", ro.ClassTitle)
		}
		for _, v := range []float64{p[0], p[1], q[0], q[1]} {
			if math.IsNaN(v) || math.Abs(v) > maxCoord {
				return nil, fmt.Errorf("class %q: rectangle coordinate %v out of range", ro.ClassTitle, v)
			}
		}
		r := image.Rect(int(math.Round(p[0])), int(math.Round(p[1])), int(math.Round(q[0])), int(math.Round(q[1])))
		o.Rect = image.Rect(r.Min.X, r.Min.Y, r.Max.X+1, r.Max.Y+1) // inclusive corners
	case "line", "point", "graph", "cuboid", "polyline", "keypoints":
		return nil, fmt.Errorf("class %q: %w %q", ro.ClassTitle, ErrUnsupportedGeometry, shape)
	case "":
		return nil, fmt.Errorf("class %q: no geometry type (geometryType, shape or type) and no class shape in meta", ro.ClassTitle)
	default:
		return nil, fmt.Errorf("class %q: unknown geometry %q", ro.ClassTitle, shape)
	}
	return o, nil
}

func parseRing(pts [][]float64) ([]Point, error) {
	out := make([]Point, 0, len(pts))
	for _, p := range pts {
		if len(p) != 2 {
			return nil, fmt.Errorf("point %v is not [x, y]", p)
		}
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.Abs(p[0]) > maxCoord || math.Abs(p[1]) > maxCoord {
			return nil, fmt.Errorf("point %v out of range", p)
		}
		out = append(out, Point{X: p[0] + 0.5, Y: p[1] + 0.5})
	}
	return out, nil
}

// ParseMeta reads a Supervisely meta.json in any of its forms (formats.md
// §1.2): classes and tags; classes with tags_images and tags_objects name
// lists (2018); or a bare list of classes (classes.json).
func ParseMeta(data []byte) (*Meta, error) {
	type rawClass struct {
		Title string `json:"title"`
		Shape string `json:"shape"`
		Color string `json:"color"`
	}
	type rawTag struct {
		Name      string   `json:"name"`
		ValueType string   `json:"value_type"`
		Values    []string `json:"values"`
		Color     string   `json:"color"`
	}
	var classes []rawClass
	var tags []rawTag
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &classes); err != nil {
			return nil, fmt.Errorf("classes JSON: %w", err)
		}
	} else {
		var raw struct {
			Classes     []rawClass      `json:"classes"`
			Tags        json.RawMessage `json:"tags"`
			TagsImages  []string        `json:"tags_images"`
			TagsObjects []string        `json:"tags_objects"`
		}
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, fmt.Errorf("meta JSON: %w", err)
		}
		classes = raw.Classes
		if len(raw.Tags) > 0 && string(raw.Tags) != "null" {
			if err := json.Unmarshal(raw.Tags, &tags); err != nil {
				// Some old files list tag names only.
				var names []string
				if err2 := json.Unmarshal(raw.Tags, &names); err2 != nil {
					return nil, fmt.Errorf("meta tags: %w", err)
				}
				for _, n := range names {
					tags = append(tags, rawTag{Name: n})
				}
			}
		}
		for _, n := range append(raw.TagsImages, raw.TagsObjects...) {
			tags = append(tags, rawTag{Name: n})
		}
	}
	m := &Meta{}
	for _, c := range classes {
		if c.Title == "" {
			return nil, errors.New("meta: a class has no title")
		}
		if m.Class(c.Title) != nil {
			return nil, fmt.Errorf("meta: class %q is defined twice", c.Title)
		}
		m.AddClass(Class{Title: c.Title, Shape: c.Shape, Color: c.Color})
	}
	for _, t := range tags {
		if t.Name == "" {
			return nil, errors.New("meta: a tag has no name")
		}
		m.AddTag(TagMeta{Name: t.Name, ValueType: t.ValueType, Values: t.Values, Color: t.Color})
	}
	m.Sort()
	return m, nil
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
