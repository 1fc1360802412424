package voc

import (
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dsbuild/dataset"
)

func TestParseXML(t *testing.T) {
	read := func(id string) string {
		b, err := os.ReadFile(filepath.Join(fixtureDir, "Annotations", id+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name string
		xml  string
		want *annotation
	}{
		{"formats.md §2.6", read("2099_000001"), &annotation{
			Filename: "2099_000001.jpg", Width: 8, Height: 6, Depth: 3,
			Objects: []xmlObject{
				{Name: "person", Box: [4]float64{2, 2, 4, 5}, HasBox: true},
				{Name: "dog", Box: [4]float64{6, 3, 8, 6}, HasBox: true},
			},
		}},
		// Extra elements, a part whose <name> is not the object's, a
		// missing <difficult>.
		{"extras", read("2099_000002"), &annotation{
			Filename: "2099_000002.jpg", Width: 48, Height: 36, Depth: 3,
			Objects: []xmlObject{
				{Name: "person", Box: [4]float64{12, 13, 17, 33}, HasBox: true},
				{Name: "pottedplant", Box: [4]float64{2, 28, 8, 35}, HasBox: true},
				{Name: "person", Box: [4]float64{31, 15, 36, 34}, HasBox: true},
				{Name: "person", Box: [4]float64{33, 9, 40, 32}, HasBox: true},
			},
		}},
		{"size after objects", read("2099_000003"), nil},
		{"decimals, spaces, difficult, no box, no size",
			"<annotation>\n<object><name> person </name><difficult>1</difficult><bndbox><xmin>304.1916</xmin><ymin> 1 </ymin><xmax>400</xmax><ymax>2.5</ymax></bndbox></object><object><name>cat</name></object></annotation>",
			&annotation{Objects: []xmlObject{
				{Name: "person", Difficult: true, Box: [4]float64{304.1916, 1, 400, 2.5}, HasBox: true},
				{Name: "cat"},
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseXML([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if got.Width != 40 || got.Height != 32 || len(got.Objects) != 3 || got.Objects[2].Name != "chair" {
					t.Errorf("parseXML = %+v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseXML =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	// 1-based inclusive boxes become 0-based half-open pixels.
	o := xmlObject{Box: [4]float64{2, 2, 4, 5}}
	if r := o.boxRect(); r != image.Rect(1, 1, 4, 5) {
		t.Errorf("boxRect = %v, want (1,1)-(4,5)", r)
	}
	for _, tc := range []struct{ xml, msg string }{
		{"", "XML"},
		{"<annotation>", "XML"},
		{"<annotation><size><width>8</width></annotation>", "XML"},
		{"<annotations/>", "root is <annotations>"},
		{"<annotation><size><width>-8</width></size></annotation>", "<size><width>: -8 is out of range"},
		{"<annotation><size><height>1e9</height></size></annotation>", "<size><height>: \"1e9\" is not an integer"},
		{"<annotation><size><depth>999999999999</depth></size></annotation>", "<size><depth>: 999999999999 is out of range"},
		{"<annotation><object><difficult>yes</difficult></object></annotation>", "object 1: <difficult>"},
		{"<annotation><object/><object><bndbox><xmin>NaN</xmin></bndbox></object></annotation>", "object 2: <bndbox> coordinate \"NaN\""},
		{"<annotation><object><bndbox><xmin>1</xmin></bndbox></object></annotation>", "coordinate \"\" is not a number"},
		{"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><annotation><filename>&a;</filename></annotation>", "XML"},
	} {
		if _, err := parseXML([]byte(tc.xml)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parseXML(%q) = %v, want an error containing %q", tc.xml, err, tc.msg)
		}
	}
}

func TestWriteXML(t *testing.T) {
	a := &annotation{Filename: "a&b.png", Width: 10, Height: 7, Depth: 1}
	o := xmlObject{Name: "person<1>"}
	o.setBox(image.Rect(0, 2, 3, 7))
	a.Objects = append(a.Objects, o, xmlObject{Name: "dog", Difficult: true})
	got := writeXML(a)
	want := "<annotation>\n\t<folder>VOC2012</folder>\n\t<filename>a&amp;b.png</filename>\n" +
		"\t<size>\n\t\t<width>10</width>\n\t\t<height>7</height>\n\t\t<depth>1</depth>\n\t</size>\n\t<segmented>1</segmented>\n" +
		"\t<object>\n\t\t<name>person&lt;1&gt;</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n" +
		"\t\t<bndbox>\n\t\t\t<xmin>1</xmin>\n\t\t\t<ymin>3</ymin>\n\t\t\t<xmax>3</xmax>\n\t\t\t<ymax>7</ymax>\n\t\t</bndbox>\n\t</object>\n" +
		"\t<object>\n\t\t<name>dog</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>1</difficult>\n\t</object>\n" +
		"</annotation>\n"
	if string(got) != want {
		t.Errorf("writeXML =\n%s\nwant\n%s", got, want)
	}
	back, err := parseXML(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Errorf("parseXML(writeXML(a)) = %+v, want %+v", back, a)
	}
}

// FuzzParseXML checks that no input makes the XML reader panic, and that
// what it accepts is in range and survives writeXML.
func FuzzParseXML(f *testing.F) {
	for _, id := range []string{"2099_000001", "2099_000002", "2099_000003", "2099_000004"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, "Annotations", id+".xml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("<annotation><object><bndbox><xmin>1.5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox></object></annotation>"))
	f.Add([]byte("<annotation><size><width>x</width></size>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseXML(data)
		if err != nil {
			return
		}
		if a.Width < 0 || a.Height < 0 || a.Depth < 0 || a.Width > maxSide || a.Height > maxSide {
			t.Fatalf("parseXML accepted size %dx%d", a.Width, a.Height)
		}
		for _, o := range a.Objects {
			_ = o.boxRect()
		}
		if _, err := parseXML(writeXML(a)); err != nil {
			t.Fatalf("parseXML(writeXML(%+v)): %v", a, err)
		}
	})
}

// FuzzDecodeIndexPNG checks that no PNG makes the mask reader panic or
// return a map of the wrong size.
func FuzzDecodeIndexPNG(f *testing.F) {
	for _, sub := range []string{"SegmentationClass", "SegmentationObject"} {
		for _, id := range []string{"2099_000001", "2099_000003"} {
			b, err := os.ReadFile(filepath.Join(fixtureDir, sub, id+".png"))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add(hugePNG(1<<20, 1<<20))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeIndexPNG(data, nil)
		if err != nil {
			return
		}
		if m.W <= 0 || m.H <= 0 || m.W*m.H > dataset.MaxPixels || len(m.Pix) != m.W*m.H {
			t.Fatalf("decodeIndexPNG: %dx%d with %d pixels", m.W, m.H, len(m.Pix))
		}
		if _, err := encodeIndexPNG(m, Colormap()); err != nil {
			t.Fatal(err)
		}
	})
}
