package dataset

import (
	"bytes"
	"image"
	"strings"
	"testing"
)

func maskFrom(rows ...string) *Mask {
	m, _ := NewMask(len(rows[0]), len(rows))
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				m.Set(x, y, true)
			}
		}
	}
	return m
}

func TestCanonicalBitmapRoundTrip(t *testing.T) {
	m := maskFrom(
		"..........",
		"...###....",
		"..#...#...",
		"...####...",
		"..........",
	)
	data, origin, err := CanonicalBitmap(m)
	if err != nil {
		t.Fatal(err)
	}
	if origin != image.Pt(2, 1) {
		t.Errorf("origin = %v, want (2,1)", origin)
	}
	got, err := DecodeBitmap(data)
	if err != nil {
		t.Fatalf("DecodeBitmap(CanonicalBitmap(m)) failed: %v", err)
	}
	want, _ := m.Crop(2, 1, 5, 3)
	if !got.Equal(want) {
		t.Errorf("decoded %dx%d mask differs from the cropped original", got.W, got.H)
	}
	// The layout is ours and fixed: pin it. (Checked independently with
	// Python's zlib: chunk CRCs valid, IHDR 5x3 depth 1 colour type 3,
	// rows 00 70, 00 88, 00 78.)
	const pinned = "eAEBaQCW/4lQTkcNChoKAAAADUlIRFIAAAAFAAAAAwEDAAAAYfhXuwAAAAZQTFRFAAAA////pdmf3QAAAAF0Uk5TAEDm2GYAAAARSURBVHgBAQYA+f8AcACIAHgERgFxmMrDXgAAAABJRU5ErkJggvt5G58="
	if data != pinned {
		t.Errorf("CanonicalBitmap = %s\nwant %s", data, pinned)
	}
	// Large masks span several stored deflate blocks.
	big, _ := NewMask(1200, 900)
	for i := range big.Bits {
		if i%7 == 0 {
			big.Bits[i] = 1
		}
	}
	d2, o2, err := CanonicalBitmap(big)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeBitmap(d2)
	if err != nil {
		t.Fatal(err)
	}
	x0, y0, x1, y1, _ := big.BBox()
	crop, _ := big.Crop(x0, y0, x1-x0, y1-y0)
	if !back.Equal(crop) || o2 != image.Pt(x0, y0) {
		t.Errorf("a 1200x900 mask does not survive CanonicalBitmap")
	}
}

func sampleAnnotation() *Annotation {
	return &Annotation{
		Width: 10, Height: 5,
		Tags: []Tag{{Name: "val"}, NumberTag("score", 0.5), {Name: "city", Value: "aachen"}},
		Objects: []Object{
			{Class: "person", Shape: ShapeRectangle, Rect: image.Rect(1, 1, 4, 3)},
			{Class: "person", Shape: ShapeBitmap, Mask: maskFrom("..##", ".###"), Origin: image.Pt(5, 2), Tags: []Tag{{Name: "iscrowd"}}},
			{Class: "bike", Shape: ShapePolygon, Polygon: Polygon{
				Exterior: []Point{{0, 0}, {4, 0}, {4, 4}, {0, 4}},
				Holes:    [][]Point{{{1, 1}, {2, 1}, {2, 2}}},
			}},
		},
	}
}

func TestEncodeAnnotationCanonical(t *testing.T) {
	a := sampleAnnotation()
	got, err := EncodeAnnotation(a)
	if err != nil {
		t.Fatal(err)
	}
	// Tags in another order, and the bitmap uncropped at another origin:
	// the same bytes.
	b := sampleAnnotation()
	b.Tags[0], b.Tags[2] = b.Tags[2], b.Tags[0]
	full := maskFrom("......", "......", "....##", "...###")
	b.Objects[1].Mask, b.Objects[1].Origin = full, image.Pt(3, 0)
	again, err := EncodeAnnotation(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Errorf("the same annotation encodes differently:\n%s\n%s", got, again)
	}
	s := string(got)
	for _, want := range []string{
		`{"description":"","objects":[{"classTitle":"person","description":"","geometryType":"rectangle","points":{"exterior":[[1,1],[3,2]],"interior":[]},"tags":[]},{"bitmap":{"data":"`,
		`"origin":[6,2]},"classTitle":"person","description":"","geometryType":"bitmap","tags":[{"name":"iscrowd"}]},`,
		`{"classTitle":"bike","description":"","geometryType":"polygon","points":{"exterior":[[-0.5,-0.5],[3.5,-0.5],[3.5,3.5],[-0.5,3.5]],"interior":[[[0.5,0.5],[1.5,0.5],[1.5,1.5]]]},"tags":[]}],`,
		`"size":{"height":5,"width":10},"tags":[{"name":"city","value":"aachen"},{"name":"score","value":0.5},{"name":"val"}]}` + "\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("canonical annotation lacks %s\nfull: %s", want, s)
		}
	}
}

// Objects keep their order, the drawing order: the same objects in another
// order are another annotation, and parsing the bytes gives that order back.
func TestEncodeAnnotationKeepsObjectOrder(t *testing.T) {
	a, b := sampleAnnotation(), sampleAnnotation()
	b.Objects[0], b.Objects[2] = b.Objects[2], b.Objects[0]
	ra, err := EncodeAnnotation(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := EncodeAnnotation(b)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ra, rb) {
		t.Fatalf("objects in another order encode the same: %s", ra)
	}
	for _, raw := range [][]byte{ra, rb} {
		p, err := ParseAnnotation(raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		var classes []string
		for _, o := range p.Objects {
			classes = append(classes, o.Class+"/"+o.Shape)
		}
		want := "person/rectangle person/bitmap bike/polygon"
		if bytes.Equal(raw, rb) {
			want = "bike/polygon person/bitmap person/rectangle"
		}
		if got := strings.Join(classes, " "); got != want {
			t.Errorf("parsed order %s, want %s", got, want)
		}
	}
}

func TestParseAnnotationRoundTrip(t *testing.T) {
	raw, err := EncodeAnnotation(sampleAnnotation())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAnnotation(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Objects) != 3 || a.Width != 10 || a.Height != 5 {
		t.Fatalf("parsed %dx%d with %d objects", a.Width, a.Height, len(a.Objects))
	}
	back, err := EncodeAnnotation(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, back) {
		t.Errorf("parse and encode changed the bytes:\n%s\n%s", raw, back)
	}
	for _, o := range a.Objects {
		if o.Class == "person" && o.Shape == ShapeRectangle && o.Rect != image.Rect(1, 1, 4, 3) {
			t.Errorf("rectangle = %v, want (1,1)-(4,3)", o.Rect)
		}
		if o.Class == "bike" && o.Polygon.Exterior[1] != (Point{4, 0}) {
			t.Errorf("polygon vertex = %v, want (4,0) in continuous coordinates", o.Polygon.Exterior[1])
		}
	}
}

func TestParseAnnotationErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       `{"size":`,
		"no size":        `{"objects":[]}`,
		"zero size":      `{"size":{"height":0,"width":3},"objects":[]}`,
		"no class":       `{"size":{"height":2,"width":3},"objects":[{"geometryType":"rectangle","points":{"exterior":[[0,0],[1,1]]}}]}`,
		"no geometry":    `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a"}]}`,
		"bad rectangle":  `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a","geometryType":"rectangle","points":{"exterior":[[0,0]]}}]}`,
		"short polygon":  `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a","geometryType":"polygon","points":{"exterior":[[0,0],[1,1]]}}]}`,
		"bad bitmap":     `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a","geometryType":"bitmap","bitmap":{"origin":[0,0],"data":"!!"}}]}`,
		"line":           `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a","geometryType":"line","points":{"exterior":[[0,0],[1,1]]}}]}`,
		"tag no name":    `{"size":{"height":2,"width":3},"tags":[{"value":"x"}],"objects":[]}`,
		"tag bad value":  `{"size":{"height":2,"width":3},"tags":[{"name":"x","value":[1]}],"objects":[]}`,
		"point is 3-D":   `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a","geometryType":"polygon","points":{"exterior":[[0,0,1],[1,1],[2,2]]}}]}`,
		"huge rectangle": `{"size":{"height":2,"width":3},"objects":[{"classTitle":"a","geometryType":"rectangle","points":{"exterior":[[0,0],[1e300,1]]}}]}`,
	} {
		if _, err := ParseAnnotation([]byte(in), nil); err == nil {
			t.Errorf("%s: ParseAnnotation(%s) succeeded", name, in)
		}
	}
}

func TestParseAnnotationLegacyAndMetaShape(t *testing.T) {
	// 2018 layout: type, both points and bitmap; tags as strings. The
	// class shape in meta wins over the object's own field.
	legacy := `{"size":{"width":4,"height":3},"tags":["train"],"objects":[
	 {"type":"polygon","classTitle":"person_poly","tags":[],"points":{"exterior":[[0,0],[2,0],[2,2]],"interior":[]},"bitmap":null},
	 {"type":"rectangle","classTitle":"box","tags":[],"points":{"exterior":[[3,2],[1,0]],"interior":[]},"bitmap":{"origin":[0,0],"data":""}}]}`
	meta := &Meta{Classes: []Class{{Title: "person_poly", Shape: ShapePolygon}, {Title: "box", Shape: ShapeAny}}}
	a, err := ParseAnnotation([]byte(legacy), meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tags) != 1 || a.Tags[0].Name != "train" {
		t.Errorf("tags = %+v", a.Tags)
	}
	if a.Objects[0].Shape != ShapePolygon || a.Objects[1].Shape != ShapeRectangle || a.Objects[1].Rect != image.Rect(1, 0, 4, 3) {
		t.Errorf("objects = %+v", a.Objects)
	}
}

func TestMetaRoundTripAndLegacyForms(t *testing.T) {
	m := &Meta{}
	m.AddClass(Class{Title: "person", Shape: ShapeBitmap, Color: "#FF0099"})
	m.AddClass(Class{Title: "neutral", Shape: ShapePolygon})
	m.AddTag(TagMeta{Name: "weather", ValueType: TagOneOfString, Values: []string{"sun", "rain"}})
	raw := EncodeMeta(m)
	want := `{"classes":[{"color":"` + DefaultColor("neutral") + `","geometry_config":{},"shape":"polygon","title":"neutral"},{"color":"#FF0099","geometry_config":{},"shape":"bitmap","title":"person"}],"tags":[{"color":"` + DefaultColor("weather") + `","name":"weather","value_type":"oneof_string","values":["sun","rain"]}]}` + "\n"
	if string(raw) != want {
		t.Errorf("EncodeMeta = %s\nwant %s", raw, want)
	}
	back, err := ParseMeta(raw)
	if err != nil || !bytes.Equal(EncodeMeta(back), raw) {
		t.Errorf("ParseMeta(EncodeMeta(m)) = %v, %v", back, err)
	}
	for name, in := range map[string]string{
		"2018":         `{"classes":[{"title":"person","shape":"bitmap","color":"#FF0099"}],"tags_images":["train"],"tags_objects":["occluded"]}`,
		"classes.json": `[{"title":"person","shape":"bitmap","color":"#FF0099"}]`,
	} {
		got, err := ParseMeta([]byte(in))
		if err != nil || got.Class("person") == nil {
			t.Errorf("%s: ParseMeta = %+v, %v", name, got, err)
		}
		if name == "2018" && (got.TagMeta("train") == nil || got.TagMeta("occluded") == nil) {
			t.Errorf("2018 meta lost its tags: %+v", got.Tags)
		}
	}
	if _, err := ParseMeta([]byte(`{"classes":[{"title":"a"},{"title":"a"}]}`)); err == nil {
		t.Errorf("a class defined twice was accepted")
	}
}

// A bitmap larger than the image its annotation describes is refused from
// its PNG header, before its pixels are inflated.
func TestParseAnnotationBoundsBitmaps(t *testing.T) {
	big, _ := NewMask(300, 200)
	big.Set(0, 0, true)
	big.Set(299, 199, true)
	data, _, err := CanonicalBitmap(big)
	if err != nil {
		t.Fatal(err)
	}
	ann := `{"size":{"height":100,"width":100},"objects":[{"classTitle":"a","geometryType":"bitmap","bitmap":{"origin":[0,0],"data":"` + data + `"}}]}`
	if _, err := ParseAnnotation([]byte(ann), nil); err == nil || !strings.Contains(err.Error(), "the bitmap is 300x200, larger than the 100x100 image") {
		t.Errorf("ParseAnnotation of an oversized bitmap: %v", err)
	}
	if _, err := DecodeBitmapWithin(data, 300, 200); err != nil {
		t.Errorf("DecodeBitmapWithin(300, 200): %v", err)
	}
}
