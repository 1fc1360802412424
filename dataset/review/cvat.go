package review

// This file writes and reads CVAT for images 1.1 XML (formats.md §6).

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"

	"dsbuild/dataset"
)

// CVAT names: the tag label that carries the verdict and its attribute.
const (
	cvatReviewLabel = "review"
	cvatVerdictAttr = "verdict"
)

// CVAT shape sources (formats.md §6.2): the prediction is "auto", a
// reviewer's shape "manual".
const (
	sourceAuto   = "auto"
	sourceManual = "manual"
)

// entry is one image as a writer puts it: the item, the verdict ("" in the
// package) and the objects to write.
type entry struct {
	it      *Item
	verdict Verdict
	objects []dataset.Object
	manual  bool // the objects are the reviewer's, not the prediction
}

// xmlAttr escapes s for an XML attribute value (line breaks and tabs as
// character references, so that they survive attribute normalisation).
func xmlAttr(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s)) // cannot fail on a bytes.Buffer
	return b.String()
}

// xmlText escapes s for XML character data, keeping line breaks as they are
// (CVAT separates attribute values by them).
func xmlText(s string) string {
	return strings.ReplaceAll(xmlAttr(s), "&#xA;", "\n")
}

// f2 formats a coordinate as CVAT does ("{:.2f}").
func f2(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if s == "-0.00" {
		s = "0.00"
	}
	return s
}

// cvatRLE returns the CVAT run lengths of m, row by row over the whole of m,
// starting with a (possibly empty) run of zeros, joined by ", ".
func cvatRLE(m *dataset.Mask) string {
	var b strings.Builder
	cur, n := uint8(0), 0
	flush := func() {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(n))
	}
	for _, v := range m.Bits {
		if v != 0 {
			v = 1
		}
		if v != cur {
			flush()
			cur, n = v, 0
		}
		n++
	}
	flush()
	return b.String()
}

// decodeCVATRLE decodes CVAT run lengths into a w×h mask (read row by row,
// starting with zeros). The runs must sum to w*h.
func decodeCVATRLE(rle string, w, h int) (*dataset.Mask, error) {
	m, err := dataset.NewMask(w, h)
	if err != nil {
		return nil, err
	}
	total := w * h
	pos := 0
	for i, f := range strings.Split(rle, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("rle: run %d (%q) is not a non-negative integer", i, f)
		}
		if n > total-pos {
			return nil, fmt.Errorf("rle: the runs exceed width*height = %d", total)
		}
		if i%2 == 1 {
			for j := pos; j < pos+n; j++ {
				m.Bits[j] = 1
			}
		}
		pos += n
	}
	if pos != total {
		return nil, fmt.Errorf("rle: the runs sum to %d, want width*height = %d", pos, total)
	}
	return m, nil
}

// encodeCVAT writes an annotations.xml: the task's labels (one per class,
// type any, and the review tag label) and, for every entry, its objects and
// (when set) its verdict tag.
func encodeCVAT(entries []entry, classes []dataset.Class) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n")
	b.WriteString("  <meta>\n    <task>\n      <id>1</id>\n      <name>dsbuild review</name>\n")
	fmt.Fprintf(&b, "      <size>%d</size>\n      <mode>annotation</mode>\n      <overlap>0</overlap>\n      <labels>\n", len(entries))
	for _, c := range classes {
		fmt.Fprintf(&b, "        <label>\n          <name>%s</name>\n          <color>%s</color>\n          <type>any</type>\n          <attributes>\n          </attributes>\n        </label>\n",
			xmlText(c.Title), xmlText(c.Color))
	}
	values := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		values[i] = string(v)
	}
	fmt.Fprintf(&b, "        <label>\n          <name>%s</name>\n          <color>%s</color>\n          <type>tag</type>\n          <attributes>\n"+
		"            <attribute>\n              <name>%s</name>\n              <mutable>False</mutable>\n              <input_type>select</input_type>\n"+
		"              <default_value>%s</default_value>\n              <values>%s</values>\n            </attribute>\n          </attributes>\n        </label>\n",
		cvatReviewLabel, dataset.DefaultColor(cvatReviewLabel), cvatVerdictAttr, Good, xmlText(strings.Join(values, "\n")))
	b.WriteString("      </labels>\n    </task>\n  </meta>\n")
	for id, e := range entries {
		w, h := e.it.Ann.Width, e.it.Ann.Height
		fmt.Fprintf(&b, "  <image id=\"%d\" name=\"%s\" width=\"%d\" height=\"%d\">\n", id, xmlAttr(e.it.Name), w, h)
		source := sourceAuto
		if e.manual {
			source = sourceManual
		}
		for j := range e.objects {
			o := &e.objects[j]
			head := fmt.Sprintf("label=\"%s\" source=\"%s\" occluded=\"0\"", xmlAttr(o.Class), source)
			switch {
			case o.Shape == dataset.ShapePolygon && len(o.Polygon.Holes) == 0:
				pts := make([]string, len(o.Polygon.Exterior))
				for k, p := range o.Polygon.Exterior {
					pts[k] = f2(p.X) + "," + f2(p.Y)
				}
				fmt.Fprintf(&b, "    <polygon %s points=\"%s\" z_order=\"0\">\n    </polygon>\n", head, strings.Join(pts, ";"))
			case o.Shape == dataset.ShapeRectangle:
				r := o.Rect.Canon()
				fmt.Fprintf(&b, "    <box %s xtl=\"%s\" ytl=\"%s\" xbr=\"%s\" ybr=\"%s\" z_order=\"0\">\n    </box>\n",
					head, f2(float64(r.Min.X)), f2(float64(r.Min.Y)), f2(float64(r.Max.X)), f2(float64(r.Max.Y)))
			default:
				// Bitmaps, and polygons with holes, which CVAT polygons
				// cannot hold.
				m, at, ok, err := o.TightRaster(w, h)
				if err != nil {
					return nil, fmt.Errorf("item %s: object %d: %w", e.it.Name, j, err)
				}
				if !ok {
					return nil, fmt.Errorf("item %s: object %d (class %q) covers no pixel", e.it.Name, j, o.Class)
				}
				fmt.Fprintf(&b, "    <mask %s rle=\"%s\" left=\"%d\" top=\"%d\" width=\"%d\" height=\"%d\" z_order=\"0\">\n    </mask>\n",
					head, cvatRLE(m), at.X, at.Y, m.W, m.H)
			}
		}
		if e.verdict != "" {
			fmt.Fprintf(&b, "    <tag label=\"%s\" source=\"%s\">\n      <attribute name=\"%s\">%s</attribute>\n    </tag>\n",
				cvatReviewLabel, sourceManual, cvatVerdictAttr, xmlText(string(e.verdict)))
		}
		b.WriteString("  </image>\n")
	}
	b.WriteString("</annotations>\n")
	return b.Bytes(), nil
}

// cvatLabelsJSON is the task's labels in the JSON of CVAT's "Raw" label
// editor, so that a reviewer can paste them when creating the task.
func cvatLabelsJSON(classes []dataset.Class) []byte {
	type attr struct {
		Name         string   `json:"name"`
		Mutable      bool     `json:"mutable"`
		InputType    string   `json:"input_type"`
		DefaultValue string   `json:"default_value"`
		Values       []string `json:"values"`
	}
	type label struct {
		Name       string `json:"name"`
		Color      string `json:"color"`
		Type       string `json:"type"`
		Attributes []attr `json:"attributes"`
	}
	labels := make([]label, 0, len(classes)+1)
	for _, c := range classes {
		labels = append(labels, label{Name: c.Title, Color: c.Color, Type: "any", Attributes: []attr{}})
	}
	values := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		values[i] = string(v)
	}
	labels = append(labels, label{Name: cvatReviewLabel, Color: dataset.DefaultColor(cvatReviewLabel), Type: "tag",
		Attributes: []attr{{Name: cvatVerdictAttr, InputType: "select", DefaultValue: string(Good), Values: values}}})
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(labels) // plain structs of strings: cannot fail
	return b.Bytes()
}

// cvatDoc is what ReadResults reads of an annotations.xml.
type cvatDoc struct {
	XMLName xml.Name    `xml:"annotations"`
	Images  []cvatImage `xml:"image"`
	Tracks  []struct{}  `xml:"track"`
}

type cvatImage struct {
	ID     string     `xml:"id,attr"`
	Name   string     `xml:"name,attr"`
	Width  string     `xml:"width,attr"`
	Height string     `xml:"height,attr"`
	Elems  []cvatElem `xml:",any"`
}

// cvatElem is any element inside <image>, attributes kept by name.
type cvatElem struct {
	XMLName    xml.Name
	Attrs      []xml.Attr `xml:",any,attr"`
	Attributes []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"attribute"`
}

func (e *cvatElem) attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

// num returns attribute name as a finite number.
func (e *cvatElem) num(name string) (float64, error) {
	s, ok := e.attr(name)
	if !ok {
		return 0, fmt.Errorf("no %s attribute", name)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<31 {
		return 0, fmt.Errorf("%s=%q is not a number", name, s)
	}
	return f, nil
}

// int returns attribute name as an integer (CVAT may write "3" or "3.00").
func (e *cvatElem) int(name string) (int, error) {
	f, err := e.num(name)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("%s=%v is not a whole number", name, f)
	}
	return int(f), nil
}

// readCVAT reads a CVAT for images 1.1 annotations.xml into c.
func readCVAT(data []byte, file string, c *collector) {
	var doc cvatDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		c.problem(file, "", fmt.Errorf("not a CVAT for images 1.1 annotations file: %w", err))
		return
	}
	if len(doc.Tracks) > 0 {
		c.problem(file, "", errors.New("the file holds tracks (video annotation); export the task as \"CVAT for images 1.1\""))
		return
	}
	for i := range doc.Images {
		im := &doc.Images[i]
		where := fmt.Sprintf("image %q (id %s)", im.Name, im.ID)
		it := c.ix.match(im.Name)
		if it == nil {
			c.problem(file, "", fmt.Errorf("%s is not in the review package", where))
			continue
		}
		f, ok := c.item(file, it, where)
		if !ok {
			continue
		}
		w, errW := strconv.Atoi(strings.TrimSpace(im.Width))
		h, errH := strconv.Atoi(strings.TrimSpace(im.Height))
		if errW != nil || errH != nil || w != it.Ann.Width || h != it.Ann.Height {
			c.problem(file, it.Name, fmt.Errorf("%s is %qx%q, the package's image is %dx%d", where, im.Width, im.Height, it.Ann.Width, it.Ann.Height))
			continue
		}
		for j := range im.Elems {
			e := &im.Elems[j]
			kind := e.XMLName.Local
			label, _ := e.attr("label")
			at := fmt.Sprintf("<%s> %d (label %q)", kind, j, label)
			switch kind {
			case "tag":
				readCVATTag(e, f, it, file, at, c)
			case "mask", "polygon", "box":
				o, err := cvatObject(e, label, w, h)
				if err != nil {
					c.problem(file, it.Name, fmt.Errorf("%s: %w", at, err))
					continue
				}
				c.object(f, it, o, at)
			default:
				// polyline, points, ellipse, cuboid, skeleton: not
				// segmentation shapes (formats.md §6.2).
			}
		}
	}
}

// readCVATTag reads an image tag: the review tag with its verdict
// attribute, or a tag label named after a verdict.
func readCVATTag(e *cvatElem, f *found, it *Item, file, at string, c *collector) {
	label, _ := e.attr("label")
	if v, ok := ParseVerdict(label); ok {
		f.verdict(v)
		return
	}
	if label != cvatReviewLabel {
		c.problem(file, it.Name, fmt.Errorf("%s: unknown verdict tag %q (use the tag %q with attribute %q, or a tag named %s)",
			at, label, cvatReviewLabel, cvatVerdictAttr, verdictTagNames()))
		return
	}
	n := 0
	for _, a := range e.Attributes {
		if a.Name != cvatVerdictAttr {
			continue
		}
		n++
		v, ok := ParseVerdict(a.Value)
		if !ok {
			c.problem(file, it.Name, fmt.Errorf("%s: unknown verdict %q (want %s)", at, strings.TrimSpace(a.Value), verdictNames()))
			return
		}
		f.verdict(v)
	}
	if n == 0 {
		c.problem(file, it.Name, fmt.Errorf("%s: no %q attribute", at, cvatVerdictAttr))
	}
}

// cvatObject converts a mask, polygon or box element of an imgW×imgH image
// into an object.
func cvatObject(e *cvatElem, label string, imgW, imgH int) (dataset.Object, error) {
	if label == "" {
		return dataset.Object{}, errors.New("no label")
	}
	if r, ok := e.attr("rotation"); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(r), 64); err != nil || f != 0 {
			return dataset.Object{}, fmt.Errorf("rotation=%q: rotated shapes are not supported", r)
		}
	}
	switch e.XMLName.Local {
	case "mask":
		var v [4]int
		for i, name := range []string{"left", "top", "width", "height"} {
			var err error
			if v[i], err = e.int(name); err != nil {
				return dataset.Object{}, err
			}
		}
		left, top, w, h := v[0], v[1], v[2], v[3]
		if w <= 0 || h <= 0 {
			return dataset.Object{}, fmt.Errorf("mask size %dx%d is not valid", w, h)
		}
		// Checked before decoding, so that a few bytes cannot claim a huge
		// mask.
		if left < 0 || top < 0 || w > imgW-left || h > imgH-top {
			return dataset.Object{}, fmt.Errorf("class %q: the mask box %v lies (partly) outside the %dx%d image", label, image.Rect(left, top, left+w, top+h), imgW, imgH)
		}
		rle, ok := e.attr("rle")
		if !ok {
			return dataset.Object{}, errors.New("no rle attribute")
		}
		m, err := decodeCVATRLE(rle, w, h)
		if err != nil {
			return dataset.Object{}, err
		}
		return tightBitmap(label, m, image.Pt(left, top))
	case "polygon":
		s, ok := e.attr("points")
		if !ok {
			return dataset.Object{}, errors.New("no points attribute")
		}
		var ring []dataset.Point
		for _, pt := range strings.Split(s, ";") {
			xs, ys, ok := strings.Cut(pt, ",")
			x, err1 := strconv.ParseFloat(strings.TrimSpace(xs), 64)
			y, err2 := strconv.ParseFloat(strings.TrimSpace(ys), 64)
			if !ok || err1 != nil || err2 != nil || math.IsNaN(x) || math.IsNaN(y) || math.Abs(x) > 1<<31 || math.Abs(y) > 1<<31 {
				return dataset.Object{}, fmt.Errorf("points: %q is not x,y", pt)
			}
			ring = append(ring, dataset.Point{X: x, Y: y})
		}
		return dataset.Object{Class: label, Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: ring}}, nil
	default: // box
		var v [4]float64
		for i, name := range []string{"xtl", "ytl", "xbr", "ybr"} {
			var err error
			if v[i], err = e.num(name); err != nil {
				return dataset.Object{}, err
			}
		}
		r := image.Rect(int(math.Round(v[0])), int(math.Round(v[1])), int(math.Round(v[2])), int(math.Round(v[3])))
		if r.Empty() {
			return dataset.Object{}, fmt.Errorf("box (%v, %v)-(%v, %v) covers no pixel", v[0], v[1], v[2], v[3])
		}
		return dataset.Object{Class: label, Shape: dataset.ShapeRectangle, Rect: r}, nil
	}
}

func verdictNames() string {
	q := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func verdictTagNames() string {
	q := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		q[i] = fmt.Sprintf("%q", v.Tag())
	}
	return strings.Join(q, ", ")
}
