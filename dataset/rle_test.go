package dataset

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Vectors of formats.md §3.4.
var rleStringVectors = []struct {
	name   string
	h, w   int
	counts []uint32
	s      string
}{
	{"3x4 rows 0110/0110/0010", 3, 4, []uint32{3, 2, 1, 3, 3}, "32112"},
	{"2x2 all set", 2, 2, []uint32{0, 4}, "04"},
	{"large counts", 1, 101157, []uint32{0, 100, 1000, 50, 30000, 2, 70000, 5}, "0T3Xo0^NXZl0`NPRW13"},
	{"negative difference", 1, 79, []uint32{10, 20, 5, 3, 40, 1}, ":d05_OS1N"},
}

func TestRLEStringVectors(t *testing.T) {
	for _, v := range rleStringVectors {
		r := &RLE{H: v.h, W: v.w, Counts: v.counts}
		if got := r.CountsString(); got != v.s {
			t.Errorf("%s: CountsString = %q, want %q", v.name, got, v.s)
		}
		got, err := ParseRLEString(v.h, v.w, v.s)
		if err != nil {
			t.Errorf("%s: ParseRLEString: %v", v.name, err)
			continue
		}
		if !slices.Equal(got.Counts, v.counts) || got.H != v.h || got.W != v.w {
			t.Errorf("%s: ParseRLEString = %dx%d %v, want %dx%d %v", v.name, got.H, got.W, got.Counts, v.h, v.w, v.counts)
		}
	}
}

func TestEncodeRLEVector(t *testing.T) {
	m := maskFromRows(t,
		"0110",
		"0110",
		"0010",
	)
	r, err := EncodeRLE(m)
	if err != nil {
		t.Fatal(err)
	}
	if r.H != 3 || r.W != 4 || !slices.Equal(r.Counts, []uint32{3, 2, 1, 3, 3}) {
		t.Fatalf("EncodeRLE = %dx%d %v, want 3x4 [3 2 1 3 3]", r.H, r.W, r.Counts)
	}
	if r.Area() != 5 {
		t.Errorf("Area = %d, want 5", r.Area())
	}
	if x0, y0, x1, y1, ok := r.BBox(); !ok || x0 != 1 || y0 != 0 || x1 != 3 || y1 != 3 {
		t.Errorf("BBox = (%d,%d,%d,%d,%v), want (1,0,3,3) i.e. COCO [1,0,2,3]", x0, y0, x1, y1, ok)
	}
	back, err := r.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(m) {
		t.Fatalf("Decode =\n%swant\n%s", rowsOf(back), rowsOf(m))
	}

	full, err := EncodeRLE(maskFromRows(t, "11", "11"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full.Counts, []uint32{0, 4}) || full.CountsString() != "04" {
		t.Errorf("all-set 2x2: counts %v string %q, want [0 4] and 04", full.Counts, full.CountsString())
	}
	for _, tc := range []struct {
		m    *Mask
		want []uint32
	}{
		{mustMask(t, 3, 2), []uint32{6}},
		{mustMask(t, 0, 0), []uint32{0}},
		{mustMask(t, 0, 5), []uint32{0}},
	} {
		r, err := EncodeRLE(tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Counts, tc.want) {
			t.Errorf("EncodeRLE(empty %dx%d) = %v, want %v", tc.m.W, tc.m.H, r.Counts, tc.want)
		}
		if _, _, _, _, ok := r.BBox(); ok || r.Area() != 0 {
			t.Errorf("empty %dx%d: BBox ok or non-zero area", tc.m.W, tc.m.H)
		}
	}
}

func TestRLERoundTrip(t *testing.T) {
	for name, m := range testShapes(t) {
		r, err := EncodeRLE(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var sum uint64
		for _, c := range r.Counts {
			sum += uint64(c)
		}
		if sum != uint64(m.W*m.H) || (len(r.Counts) > 1 && slices.Contains(r.Counts[1:], 0)) {
			t.Fatalf("%s: counts %v are not canonical or do not sum to %d", name, r.Counts, m.W*m.H)
		}
		r2, err := ParseRLEString(r.H, r.W, r.CountsString())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := r2.Decode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !back.Equal(m) {
			t.Errorf("%s: mask → RLE → string → RLE → mask differs:\n%s\nwant\n%s", name, rowsOf(back), rowsOf(m))
		}
		if r.Area() != m.Area() {
			t.Errorf("%s: RLE area %d, mask area %d", name, r.Area(), m.Area())
		}
		x0, y0, x1, y1, ok := r.BBox()
		mx0, my0, mx1, my1, mok := m.BBox()
		if x0 != mx0 || y0 != my0 || x1 != mx1 || y1 != my1 || ok != mok {
			t.Errorf("%s: RLE BBox (%d,%d,%d,%d,%v), mask BBox (%d,%d,%d,%d,%v)", name, x0, y0, x1, y1, ok, mx0, my0, mx1, my1, mok)
		}
	}
}

func TestRLEBBoxRunAcrossColumns(t *testing.T) {
	// A run that starts low in column 1 and ends high in column 2 covers every
	// row in the box, as maskApi.c rleToBbox computes it.
	r := &RLE{H: 4, W: 4, Counts: []uint32{7, 2, 7}} // positions 7 (x=1,y=3) and 8 (x=2,y=0)
	x0, y0, x1, y1, ok := r.BBox()
	if !ok || x0 != 1 || y0 != 0 || x1 != 3 || y1 != 4 {
		t.Fatalf("BBox = (%d,%d,%d,%d,%v), want (1,0,3,4)", x0, y0, x1, y1, ok)
	}
}

func TestMergeRLE(t *testing.T) {
	a := maskFromRows(t, "##..", "#...", "....")
	b := maskFromRows(t, ".#..", "....", "..##")
	c := maskFromRows(t, "....", "...#", "....")
	want := maskFromRows(t, "##..", "#..#", "..##")
	var rs []*RLE
	for _, m := range []*Mask{a, b, c} {
		r, err := EncodeRLE(m)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	u, err := MergeRLE(rs...)
	if err != nil {
		t.Fatal(err)
	}
	wantRLE, _ := EncodeRLE(want)
	if !slices.Equal(u.Counts, wantRLE.Counts) || u.H != 3 || u.W != 4 {
		t.Fatalf("MergeRLE = %dx%d %v, want 3x4 %v", u.H, u.W, u.Counts, wantRLE.Counts)
	}

	// Non-canonical input (empty runs inside) gives canonical output.
	single, err := MergeRLE(&RLE{H: 2, W: 3, Counts: []uint32{1, 0, 2, 2, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(single.Counts, []uint32{3, 3}) {
		t.Fatalf("MergeRLE(one non-canonical) = %v, want [3 3]", single.Counts)
	}

	// Random masks: the merge equals the OR of the decoded masks.
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		w, h := 1+rng.IntN(12), 1+rng.IntN(12)
		or := mustMask(t, w, h)
		var in []*RLE
		for k := 0; k < 1+rng.IntN(4); k++ {
			m := mustMask(t, w, h)
			for i := range m.Bits {
				if rng.IntN(4) == 0 {
					m.Bits[i] = 1
				}
			}
			or.Paste(m, 0, 0)
			r, _ := EncodeRLE(m)
			in = append(in, r)
		}
		u, err := MergeRLE(in...)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := EncodeRLE(or)
		if !slices.Equal(u.Counts, want.Counts) {
			t.Fatalf("trial %d: merge %v, want %v", trial, u.Counts, want.Counts)
		}
	}

	for name, in := range map[string][]*RLE{
		"none":           nil,
		"size mismatch":  {rs[0], {H: 4, W: 3, Counts: []uint32{12}}},
		"invalid counts": {rs[0], {H: 3, W: 4, Counts: []uint32{11}}},
		"nil":            {nil},
	} {
		if _, err := MergeRLE(in...); err == nil {
			t.Errorf("MergeRLE(%s) succeeded", name)
		}
	}
}

func TestRLEErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *RLE
		sub  string
	}{
		{"counts sum too small", &RLE{H: 2, W: 2, Counts: []uint32{1, 2}}, "sum to 3"},
		{"counts sum too large", &RLE{H: 2, W: 2, Counts: []uint32{4, 1}}, "sum to 5"},
		{"empty counts", &RLE{H: 1, W: 1}, "sum to 0"},
		{"negative height", &RLE{H: -1, W: 2}, "negative"},
		{"huge", &RLE{H: 1 << 20, W: 1 << 20, Counts: []uint32{1 << 31}}, "MaxPixels"},
		{"nil", nil, "nil"},
	} {
		err := tc.r.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.sub) {
			t.Errorf("%s: Validate = %v, want an error mentioning %q", tc.name, err, tc.sub)
		}
		if _, err := tc.r.Decode(); err == nil {
			t.Errorf("%s: Decode succeeded", tc.name)
		}
		if tc.r.Area() != 0 {
			t.Errorf("%s: Area of an invalid RLE is not 0", tc.name)
		}
		if _, _, _, _, ok := tc.r.BBox(); ok {
			t.Errorf("%s: BBox of an invalid RLE is ok", tc.name)
		}
	}

	for _, tc := range []struct {
		name string
		h, w int
		s    string
		sub  string
	}{
		{"sum mismatch", 3, 5, "32112", "sum to 12"},
		{"negative size", -3, 4, "32112", "negative"},
		{"too large", 1 << 15, 1 << 15, "0", "MaxPixels"},
		{"character below '0'", 3, 4, "32/12", "outside"},
		{"character above 'o'", 3, 4, "321p2", "outside"},
		{"ends inside a count", 3, 4, "3211P", "ends inside"},
		{"negative count", 1, 1, "O", "outside 0"},
		{"count above 2^32-1", 1, 1, "ooooooo0", "outside 0"},
		{"13 groups wrapping to -1", 1, 1, "ooooooooooooO", "outside 0"},
		{"more than 64 bits", 1, 1, "oooooooooooooo0", "groups"},
	} {
		_, err := ParseRLEString(tc.h, tc.w, tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.sub) {
			t.Errorf("%s: ParseRLEString(%d, %d, %q) = %v, want an error mentioning %q", tc.name, tc.h, tc.w, tc.s, err, tc.sub)
		}
	}
}

func FuzzDecodeRLEString(f *testing.F) {
	for _, v := range rleStringVectors {
		f.Add(v.h, v.w, v.s)
	}
	f.Add(0, 0, "")
	f.Add(3, 4, "3211P")
	f.Add(1, 1, "ooooooooooooO")
	f.Fuzz(func(t *testing.T, h, w int, s string) {
		r, err := ParseRLEString(h, w, s)
		if err != nil {
			return
		}
		// Re-encoding the decoded counts and parsing them again is lossless.
		r2, err := ParseRLEString(h, w, r.CountsString())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", r.CountsString(), err)
		}
		if !slices.Equal(r.Counts, r2.Counts) {
			t.Fatalf("counts %v re-parse to %v", r.Counts, r2.Counts)
		}
		if h*w > 1<<20 {
			return // keep masks small
		}
		m, err := r.Decode()
		if err != nil {
			t.Fatalf("Decode of a parsed RLE: %v", err)
		}
		if m.Area() != r.Area() {
			t.Fatalf("mask area %d, RLE area %d", m.Area(), r.Area())
		}
		x0, y0, x1, y1, ok := r.BBox()
		mx0, my0, mx1, my1, mok := m.BBox()
		if x0 != mx0 || y0 != my0 || x1 != mx1 || y1 != my1 || ok != mok {
			t.Fatalf("RLE BBox (%d,%d,%d,%d,%v), mask BBox (%d,%d,%d,%d,%v)", x0, y0, x1, y1, ok, mx0, my0, mx1, my1, mok)
		}
		enc, err := EncodeRLE(m)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := MergeRLE(r)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(enc.Counts, canon.Counts) {
			t.Fatalf("EncodeRLE(Decode) = %v, canonical form of %v is %v", enc.Counts, r.Counts, canon.Counts)
		}
	})
}
