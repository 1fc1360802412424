package review

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// TestCVATRLEVector is formats.md §6.3: a 3×2 box at (2, 3) with rows 011
// and 110 is rle="1, 4, 1".
func TestCVATRLEVector(t *testing.T) {
	m := maskOf(".##", "##.")
	if got := cvatRLE(m); got != "1, 4, 1" {
		t.Errorf("cvatRLE = %q, want \"1, 4, 1\"", got)
	}
	back, err := decodeCVATRLE("1, 4, 1", 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(m) {
		t.Errorf("decode(\"1, 4, 1\") = %v, want rows 011/110", back.Bits)
	}
	// CVAT reads by splitting on "," and trimming.
	if back, err := decodeCVATRLE(" 1,4 ,1", 3, 2); err != nil || !back.Equal(m) {
		t.Errorf("decode without the spaces: %v, %v", back, err)
	}
	for _, c := range []struct {
		name string
		m    *dataset.Mask
		want string
	}{
		{"starts set", maskOf("#.", ".."), "0, 1, 3"},
		{"all set", block(2, 2), "0, 4"},
		{"ends unset", maskOf("##", ".."), "0, 2, 2"},
	} {
		if got := cvatRLE(c.m); got != c.want {
			t.Errorf("%s: cvatRLE = %q, want %q", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"", "1, 4", "1, 4, 2", "1, -4, 1", "1, x, 1", "7", "1,,5"} {
		if _, err := decodeCVATRLE(bad, 3, 2); err == nil {
			t.Errorf("decode(%q) of a 3×2 mask: no error", bad)
		}
	}
}

// TestCVATFixture reads the minimal file of formats.md §6.3.
func TestCVATFixture(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><id>1</id><name>fixture</name><size>1</size><mode>annotation</mode><overlap>0</overlap>
    <labels>
      <label><name>person</name><type>any</type><attributes/></label>
      <label><name>review</name><type>tag</type><attributes><attribute><name>verdict</name>
        <mutable>False</mutable><input_type>select</input_type><default_value>good</default_value>
        <values>good
needs correction
bad</values></attribute></attributes></label>
    </labels></task></meta>
  <image id="0" name="a/b.jpg" width="8" height="6">
    <mask label="person" source="file" occluded="0" rle="1, 4, 1" left="2" top="3" width="3" height="2" z_order="0"></mask>
    <tag label="review" source="manual"><attribute name="verdict">bad</attribute></tag>
  </image>
</annotations>
`
	items := []Item{{Name: "a/b.jpg", Ann: &dataset.Annotation{Width: 8, Height: 6}}}
	file := filepath.Join(t.TempDir(), "annotations.xml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResults(file, items, testClasses)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Verdict != Bad || got[0].Objects != nil {
		t.Errorf("results %+v, want a/b.jpg bad", got)
	}
	// The mask pastes into rows 3-4, columns 2-4.
	ix, _ := newIndex(items, testClasses, false, false)
	c := newCollector(ix, file)
	readCVAT([]byte(doc), file, c)
	objs := c.found["a/b.jpg"].objects
	if len(objs) != 1 {
		t.Fatalf("objects %v", objs)
	}
	full, _ := objs[0].Raster(8, 6)
	var set []image.Point
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x++ {
			if full.At(x, y) {
				set = append(set, image.Pt(x, y))
			}
		}
	}
	want := []image.Point{{3, 3}, {4, 3}, {2, 4}, {3, 4}}
	if !slices.Equal(set, want) {
		t.Errorf("mask pixels %v, want %v", set, want)
	}
}

// TestBrushVectors are formats.md §7.3's vectors.
func TestBrushVectors(t *testing.T) {
	m := maskOf(".##", "..#")
	want := []int{0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248}
	if got := encodeBrush(m); !slices.Equal(got, want) {
		t.Errorf("encodeBrush(011/001) = %v, want %v", got, want)
	}
	back, err := decodeBrush(want, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(m) {
		t.Errorf("decode = %v, want alpha 0,255,255,0,0,255", back.Bits)
	}
	// A literal chunk of num = 4 with values 0, 255, 0, 255: one pixel
	// whose alpha is 255.
	one, err := decodeBrush([]int{0, 0, 0, 4, 57, 27, 248, 96, 31, 224, 31, 224}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !one.At(0, 0) {
		t.Error("literal chunk: the pixel is not set")
	}
}

// TestBrushRoundTrip encodes masks that need every chunk size, literal
// runs included, and decodes them.
func TestBrushRoundTrip(t *testing.T) {
	big, _ := dataset.NewMask(200, 170) // 34,000 pixels: runs over 65,536 values
	for i := range big.Bits {
		if i%9000 < 3 || i == 17 || i%401 == 0 {
			big.Bits[i] = 1
		}
	}
	for _, m := range []*dataset.Mask{maskOf("#"), maskOf("."), maskOf("#.#.", ".#.#"), block(5, 4), big} {
		rle := encodeBrush(m)
		back, err := decodeBrush(rle, m.W, m.H)
		if err != nil {
			t.Fatalf("%dx%d: %v", m.W, m.H, err)
		}
		if !back.Equal(m) {
			t.Errorf("%dx%d: round trip differs", m.W, m.H)
		}
	}
	// A hand-made stream with literal chunks (the JavaScript encoder's
	// style) and 16-bit values: 2 pixels, alpha 0 then 1.
	var w bitWriter
	w.write(8, 32)
	w.write(15, 5) // 16-bit values
	for _, n := range brushCountBits {
		w.write(uint64(n-1), 4)
	}
	w.write(0, 1) // literal
	w.write(0, 2)
	w.write(7, 3) // 8 values
	for _, v := range []uint64{9, 9, 9, 0, 1, 1, 1, 1} {
		w.write(v, 16)
	}
	rle := make([]int, len(w.buf))
	for i, b := range w.buf {
		rle[i] = int(b)
	}
	got, err := decodeBrush(rle, 2, 1)
	if err != nil || got.At(0, 0) || !got.At(1, 0) {
		t.Errorf("literal 16-bit stream: %v, %v; want pixel 1 only", got, err)
	}
}

func TestBrushErrors(t *testing.T) {
	good := []int{0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248}
	// One pixel (4 values) and a repeat chunk of 8.
	var w bitWriter
	w.write(4, 32)
	w.write(7, 5)
	for _, n := range brushCountBits {
		w.write(uint64(n-1), 4)
	}
	w.write(1, 1)
	w.write(0, 2)
	w.write(7, 3)
	w.write(255, 8)
	long := make([]int, len(w.buf))
	for i, b := range w.buf {
		long[i] = int(b)
	}
	for _, c := range []struct {
		name string
		rle  []int
		w, h int
		want string
	}{
		{"empty", nil, 3, 2, "header"},
		{"wrong size", good, 2, 2, "want 4*2*2"},
		{"truncated", good[:9], 3, 2, "ends early"},
		{"not a byte", append(slices.Clone(good[:13]), 256), 3, 2, "not 0…255"},
		{"chunk too long", long, 1, 1, "runs past"},
	} {
		_, err := decodeBrush(c.rle, c.w, c.h)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestParseVerdict(t *testing.T) {
	for in, want := range map[string]Verdict{
		"good": Good, "Good Prediction": Good, "good_prediction": Good, " bad ": Bad, "bad-prediction": Bad,
		"needs correction": NeedsCorrection, "NEEDS_CORRECTION": NeedsCorrection, "needs  correction": NeedsCorrection,
	} {
		if got, ok := ParseVerdict(in); !ok || got != want {
			t.Errorf("ParseVerdict(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "ok", "goodprediction", "correct", "bad predictions"} {
		if v, ok := ParseVerdict(in); ok {
			t.Errorf("ParseVerdict(%q) = %q", in, v)
		}
	}
	for v, tag := range map[Verdict]string{Good: "good prediction", NeedsCorrection: "needs correction", Bad: "bad prediction"} {
		if v.Tag() != tag {
			t.Errorf("%q.Tag() = %q, want %q", v, v.Tag(), tag)
		}
	}
}
