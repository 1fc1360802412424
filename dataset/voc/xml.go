package voc

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
)

// annotation is what dsbuild uses of an Annotations/<id>.xml file.
type annotation struct {
	Filename      string
	Width, Height int // 0 when the file does not say
	Depth         int
	Objects       []xmlObject // document order: instance k is Objects[k-1]
}

// xmlObject is one <object>.
type xmlObject struct {
	Name      string
	Difficult bool
	// Box is the <bndbox> as written, 1-based and inclusive: xmin, ymin,
	// xmax, ymax. HasBox is false when there is none.
	Box    [4]float64
	HasBox bool
}

// The XML layout; children are looked up by tag name, in any order, and
// unknown elements are ignored (formats.md §2.2).
type rawAnnotation struct {
	XMLName  xml.Name
	Filename string `xml:"filename"`
	Size     struct {
		Width  string `xml:"width"`
		Height string `xml:"height"`
		Depth  string `xml:"depth"`
	} `xml:"size"`
	Objects []rawObject `xml:"object"`
}

type rawObject struct {
	Name      string `xml:"name"`
	Difficult string `xml:"difficult"`
	BndBox    *struct {
		Xmin string `xml:"xmin"`
		Ymin string `xml:"ymin"`
		Xmax string `xml:"xmax"`
		Ymax string `xml:"ymax"`
	} `xml:"bndbox"`
}

// maxSide bounds the <size> values accepted (a side of a MaxPixels image).
const maxSide = 1 << 28

// parseXML reads an Annotations file. It fails for XML that is not well
// formed, a root other than <annotation>, and sizes, flags or boxes that
// are not numbers.
func parseXML(data []byte) (*annotation, error) {
	var raw rawAnnotation
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("XML: %w", err)
	}
	if raw.XMLName.Local != "annotation" {
		return nil, fmt.Errorf("XML root is <%s>, not <annotation>", raw.XMLName.Local)
	}
	a := &annotation{Filename: strings.TrimSpace(raw.Filename)}
	var err error
	for _, f := range []struct {
		name string
		s    string
		v    *int
	}{{"width", raw.Size.Width, &a.Width}, {"height", raw.Size.Height, &a.Height}, {"depth", raw.Size.Depth, &a.Depth}} {
		if *f.v, err = parseSize(f.s); err != nil {
			return nil, fmt.Errorf("<size><%s>: %w", f.name, err)
		}
	}
	for i, ro := range raw.Objects {
		o := xmlObject{Name: strings.TrimSpace(ro.Name)}
		switch strings.TrimSpace(ro.Difficult) {
		case "", "0":
		case "1":
			o.Difficult = true
		default:
			return nil, fmt.Errorf("object %d: <difficult> is %q, not 0 or 1", i+1, ro.Difficult)
		}
		if b := ro.BndBox; b != nil {
			for j, s := range []string{b.Xmin, b.Ymin, b.Xmax, b.Ymax} {
				f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					return nil, fmt.Errorf("object %d: <bndbox> coordinate %q is not a number", i+1, s)
				}
				o.Box[j] = f
			}
			o.HasBox = true
		}
		a.Objects = append(a.Objects, o)
	}
	return a, nil
}

// parseSize reads a <size> field: empty is 0.
func parseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	if n < 0 || n > maxSide {
		return 0, fmt.Errorf("%d is out of range", n)
	}
	return n, nil
}

// boxRect converts a 1-based inclusive box to 0-based half-open pixels,
// rounding decimals to the nearest pixel.
func (o *xmlObject) boxRect() image.Rectangle {
	r := func(f float64) int { return int(math.Round(f)) }
	return image.Rect(r(o.Box[0])-1, r(o.Box[1])-1, r(o.Box[2]), r(o.Box[3]))
}

// writeXML writes an Annotations file in a fixed layout (tabs, LF,
// elements in the devkit's order).
func writeXML(a *annotation) []byte {
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		xml.EscapeText(&e, []byte(s)) // cannot fail writing to a Buffer
		return e.String()
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	b.WriteString("<annotation>\n\t<folder>VOC2012</folder>\n")
	fmt.Fprintf(&b, "\t<filename>%s</filename>\n", esc(a.Filename))
	fmt.Fprintf(&b, "\t<size>\n\t\t<width>%d</width>\n\t\t<height>%d</height>\n\t\t<depth>%d</depth>\n\t</size>\n", a.Width, a.Height, a.Depth)
	b.WriteString("\t<segmented>1</segmented>\n")
	for _, o := range a.Objects {
		difficult := 0
		if o.Difficult {
			difficult = 1
		}
		fmt.Fprintf(&b, "\t<object>\n\t\t<name>%s</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>%d</difficult>\n", esc(o.Name), difficult)
		if o.HasBox {
			fmt.Fprintf(&b, "\t\t<bndbox>\n\t\t\t<xmin>%s</xmin>\n\t\t\t<ymin>%s</ymin>\n\t\t\t<xmax>%s</xmax>\n\t\t\t<ymax>%s</ymax>\n\t\t</bndbox>\n",
				num(o.Box[0]), num(o.Box[1]), num(o.Box[2]), num(o.Box[3]))
		}
		b.WriteString("\t</object>\n")
	}
	b.WriteString("</annotation>\n")
	return b.Bytes()
}

// setBox sets the object's box from 0-based half-open pixel bounds.
func (o *xmlObject) setBox(r image.Rectangle) {
	o.Box = [4]float64{float64(r.Min.X + 1), float64(r.Min.Y + 1), float64(r.Max.X), float64(r.Max.Y)}
	o.HasBox = true
}
