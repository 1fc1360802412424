package dataset

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"math"
	"sort"
	"strconv"
)

// This file is the canonical encoding: the one byte form of an annotation
// and of a meta, whatever format they came from. Canonical annotations are
// valid Supervisely annotation JSON (the 2019+ layout, formats.md §1.3):
//
//   - keys sorted, no spaces, one line;
//   - objects in the order given: the drawing order (z-order), later
//     objects on top, which every importer takes from its source and every
//     rasterizing export follows; tags sorted by name and value;
//   - polygon holes of fewer than 3 vertices (which cover nothing) left
//     out;
//   - polygon vertices in Supervisely's pixel-centre coordinates (our
//     continuous coordinates minus 0.5), rounded to 1/1000 and written in
//     shortest decimal form; rectangles as inclusive corners;
//   - bitmaps cropped to their tight box and encoded by [CanonicalBitmap],
//     a fixed byte layout that depends on no compressor.
//
// The same annotation therefore always has the same digest.

// CanonicalBitmap encodes m (cropped to its tight bounding box) as a
// Supervisely bitmap data string and returns it with the origin. Unlike
// [EncodeBitmap] it does not depend on a compressor's choices: the PNG (bit
// depth 1, colour type 3, palette transparent black and opaque white, no
// filtering) and the zlib stream around it both use stored (uncompressed)
// deflate blocks, so the bytes are fixed forever. Every zlib and PNG reader,
// including Supervisely's, decodes it. It is larger than a compressed
// bitmap; the store compresses it.
func CanonicalBitmap(m *Mask) (string, image.Point, error) {
	if err := m.check(); err != nil {
		return "", image.Point{}, fmt.Errorf("encode bitmap: %w", err)
	}
	x0, y0, x1, y1, ok := m.BBox()
	if !ok {
		return "", image.Point{}, fmt.Errorf("encode bitmap: %w", ErrEmptyMask)
	}
	w, h := x1-x0, y1-y0
	stride := (w + 7) / 8
	raw := make([]byte, 0, (stride+1)*h)
	for y := y0; y < y1; y++ {
		raw = append(raw, 0) // filter type None
		row := m.Bits[y*m.W : (y+1)*m.W]
		var b byte
		for x := x0; x < x1; x++ {
			if row[x] != 0 {
				b |= 0x80 >> uint((x-x0)%8)
			}
			if (x-x0)%8 == 7 || x == x1-1 {
				raw = append(raw, b)
				b = 0
			}
		}
	}
	var png bytes.Buffer
	png.Write(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 1, 3 // bit depth 1, colour type 3 (palette)
	WritePNGChunk(&png, "IHDR", ihdr)
	WritePNGChunk(&png, "PLTE", []byte{0, 0, 0, 255, 255, 255})
	WritePNGChunk(&png, "tRNS", []byte{0})
	WritePNGChunk(&png, "IDAT", storedZlib(raw))
	WritePNGChunk(&png, "IEND", nil)
	return base64.StdEncoding.EncodeToString(storedZlib(png.Bytes())), image.Pt(x0, y0), nil
}

// WritePNGChunk appends one PNG chunk (length, type, data, CRC) to b.
func WritePNGChunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	b.Write(n[:])
}

// storedZlib wraps data in a zlib stream of stored deflate blocks.
func storedZlib(data []byte) []byte {
	out := make([]byte, 0, len(data)+len(data)/65535*5+11)
	out = append(out, 0x78, 0x01)
	rest := data
	for first := true; first || len(rest) > 0; first = false {
		n := min(len(rest), 65535)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		out = append(out, final, byte(n), byte(n>>8), byte(^n), byte(^n>>8))
		out = append(out, rest[:n]...)
		rest = rest[n:]
	}
	return binary.BigEndian.AppendUint32(out, adler32.Checksum(data))
}

// jsonWriter writes canonical JSON by hand, keys in the order given (the
// callers give them sorted).
type jsonWriter struct {
	bytes.Buffer
}

func (w *jsonWriter) str(s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// num writes f rounded to 1/1000 in shortest decimal form.
func (w *jsonWriter) num(f float64) {
	w.WriteString(formatCoord(f))
}

func formatCoord(f float64) string {
	f = math.Round(f*1000) / 1000
	if f == 0 {
		f = 0 // no negative zero
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (w *jsonWriter) int(i int) { w.WriteString(strconv.Itoa(i)) }

func (w *jsonWriter) tags(tags []Tag) {
	sorted := append([]Tag(nil), tags...)
	sortTags(sorted)
	w.WriteByte('[')
	for i, t := range sorted {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(`{"name":`)
		w.str(t.Name)
		switch {
		case t.Number:
			w.WriteString(`,"value":`)
			w.WriteString(t.Value)
		case t.Value != "":
			w.WriteString(`,"value":`)
			w.str(t.Value)
		}
		w.WriteByte('}')
	}
	w.WriteByte(']')
}

// NumberTag returns a tag with a numeric value in canonical form.
func NumberTag(name string, v float64) Tag {
	return Tag{Name: name, Value: strconv.FormatFloat(v, 'g', -1, 64), Number: true}
}

func sortTags(tags []Tag) {
	sort.Slice(tags, func(i, j int) bool {
		if tags[i].Name != tags[j].Name {
			return tags[i].Name < tags[j].Name
		}
		if tags[i].Value != tags[j].Value {
			return tags[i].Value < tags[j].Value
		}
		return !tags[i].Number && tags[j].Number
	})
}

// encodeObject writes one object.
func encodeObject(o *Object) ([]byte, error) {
	var w jsonWriter
	w.WriteByte('{')
	if o.Shape == ShapeBitmap {
		if o.Mask == nil {
			return nil, fmt.Errorf("bitmap object of class %q has no mask", o.Class)
		}
		data, origin, err := CanonicalBitmap(o.Mask)
		if err != nil {
			return nil, fmt.Errorf("object of class %q: %w", o.Class, err)
		}
		origin = origin.Add(o.Origin)
		w.WriteString(`"bitmap":{"data":`)
		w.str(data)
		w.WriteString(`,"origin":[`)
		w.int(origin.X)
		w.WriteByte(',')
		w.int(origin.Y)
		w.WriteString(`]},`)
	}
	w.WriteString(`"classTitle":`)
	w.str(o.Class)
	w.WriteString(`,"description":"","geometryType":`)
	w.str(o.Shape)
	switch o.Shape {
	case ShapeBitmap:
	case ShapePolygon:
		if len(o.Polygon.Exterior) < 3 {
			return nil, fmt.Errorf("polygon of class %q has %d vertices; at least 3 are needed", o.Class, len(o.Polygon.Exterior))
		}
		w.WriteString(`,"points":{"exterior":`)
		w.ring(o.Polygon.Exterior)
		w.WriteString(`,"interior":[`)
		n := 0
		for _, h := range o.Polygon.Holes {
			if len(h) < 3 {
				// Covers nothing (see Rasterize), and ParseAnnotation
				// drops it: writing it would make the encoding of the
				// parsed annotation differ.
				continue
			}
			if n > 0 {
				w.WriteByte(',')
			}
			w.ring(h)
			n++
		}
		w.WriteString(`]}`)
	case ShapeRectangle:
		r := o.Rect.Canon()
		if r.Empty() {
			return nil, fmt.Errorf("rectangle of class %q is empty", o.Class)
		}
		w.WriteString(`,"points":{"exterior":[[`)
		w.int(r.Min.X)
		w.WriteByte(',')
		w.int(r.Min.Y)
		w.WriteString(`],[`)
		w.int(r.Max.X - 1)
		w.WriteByte(',')
		w.int(r.Max.Y - 1)
		w.WriteString(`]],"interior":[]}`)
	default:
		return nil, fmt.Errorf("object of class %q has unknown shape %q", o.Class, o.Shape)
	}
	w.WriteString(`,"tags":`)
	w.tags(o.Tags)
	w.WriteByte('}')
	return w.Bytes(), nil
}

// ring writes vertices in Supervisely's pixel-centre coordinates.
func (w *jsonWriter) ring(pts []Point) {
	w.WriteByte('[')
	for i, p := range pts {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('[')
		w.num(p.X - 0.5)
		w.WriteByte(',')
		w.num(p.Y - 0.5)
		w.WriteByte(']')
	}
	w.WriteByte(']')
}

// EncodeAnnotation returns the canonical bytes of a (see the top of this
// file). Objects keep their order: it is the drawing order. Objects with an
// empty geometry are an error.
func EncodeAnnotation(a *Annotation) ([]byte, error) {
	if a.Width <= 0 || a.Height <= 0 {
		return nil, fmt.Errorf("annotation has size %dx%d", a.Width, a.Height)
	}
	objs := make([][]byte, len(a.Objects))
	for i := range a.Objects {
		raw, err := encodeObject(&a.Objects[i])
		if err != nil {
			return nil, err
		}
		objs[i] = raw
	}
	var w jsonWriter
	w.WriteString(`{"description":"","objects":[`)
	for i, raw := range objs {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(raw)
	}
	w.WriteString(`],"size":{"height":`)
	w.int(a.Height)
	w.WriteString(`,"width":`)
	w.int(a.Width)
	w.WriteString(`},"tags":`)
	w.tags(a.Tags)
	w.WriteString("}\n")
	return w.Bytes(), nil
}

// EncodeMeta returns the canonical meta.json: classes sorted by title, tags
// by name, keys sorted.
func EncodeMeta(m *Meta) []byte {
	c := *m
	c.Classes = append([]Class(nil), m.Classes...)
	c.Tags = append([]TagMeta(nil), m.Tags...)
	c.Sort()
	var w jsonWriter
	w.WriteString(`{"classes":[`)
	for i, cl := range c.Classes {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(`{"color":`)
		w.str(cl.Color)
		w.WriteString(`,"geometry_config":{},"shape":`)
		w.str(cl.Shape)
		w.WriteString(`,"title":`)
		w.str(cl.Title)
		w.WriteByte('}')
	}
	w.WriteString(`],"tags":[`)
	for i, t := range c.Tags {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(`{"color":`)
		w.str(t.Color)
		w.WriteString(`,"name":`)
		w.str(t.Name)
		w.WriteString(`,"value_type":`)
		w.str(t.ValueType)
		if t.ValueType == TagOneOfString {
			w.WriteString(`,"values":[`)
			for j, v := range t.Values {
				if j > 0 {
					w.WriteByte(',')
				}
				w.str(v)
			}
			w.WriteByte(']')
		}
		w.WriteByte('}')
	}
	w.WriteString("]}\n")
	return w.Bytes()
}
