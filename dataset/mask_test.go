package dataset

import (
	"errors"
	"math"
	"testing"
)

func TestNewMaskSizes(t *testing.T) {
	for _, tc := range []struct {
		w, h    int
		wantErr bool
		tooBig  bool
	}{
		{0, 0, false, false},
		{3, 2, false, false},
		{-1, 2, true, false},
		{2, -1, true, false},
		{1<<14 + 1, 1 << 14, true, true},
		{math.MaxInt, 2, true, true},
	} {
		m, err := NewMask(tc.w, tc.h)
		if (err != nil) != tc.wantErr {
			t.Errorf("NewMask(%d, %d) error = %v, want error %v", tc.w, tc.h, err, tc.wantErr)
			continue
		}
		if errors.Is(err, ErrTooLarge) != tc.tooBig {
			t.Errorf("NewMask(%d, %d) error = %v, want ErrTooLarge %v", tc.w, tc.h, err, tc.tooBig)
		}
		if err == nil && (m.W != tc.w || m.H != tc.h || len(m.Bits) != tc.w*tc.h || m.Area() != 0) {
			t.Errorf("NewMask(%d, %d) = %dx%d with %d bytes, area %d", tc.w, tc.h, m.W, m.H, len(m.Bits), m.Area())
		}
	}
	// The limit itself is allowed (checked without allocating 256 MiB).
	if !sizeOK(1<<14, 1<<14) || sizeOK(1<<14+1, 1<<14) || sizeOK(1, MaxPixels+1) {
		t.Error("sizeOK does not accept exactly MaxPixels pixels")
	}
}

func TestMaskAtSetOutside(t *testing.T) {
	m := mustMask(t, 3, 2)
	m.Set(2, 1, true)
	m.Set(3, 0, true)  // outside: ignored
	m.Set(-1, 0, true) // outside: ignored
	if !m.At(2, 1) || m.At(3, 0) || m.At(-1, 0) || m.At(0, 2) || m.Area() != 1 {
		t.Fatalf("unexpected mask:\n%s", rowsOf(m))
	}
	if m.Bits[1*3+2] != 1 {
		t.Fatalf("Bits[5] = %d, want 1", m.Bits[5])
	}
	m.Set(2, 1, false)
	if m.Area() != 0 {
		t.Fatal("Set(false) did not clear the pixel")
	}
}

func TestMaskBBoxArea(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rows           []string
		area           int
		x0, y0, x1, y1 int
		ok             bool
	}{
		{"empty", []string{"...", "..."}, 0, 0, 0, 0, 0, false},
		{"single", []string{"...", ".#."}, 1, 1, 1, 2, 2, true},
		{"full", []string{"##", "##"}, 4, 0, 0, 2, 2, true},
		{"spread", []string{"..#..", ".....", "#...."}, 2, 0, 0, 3, 3, true},
		{"right column", []string{"...#", "...#"}, 2, 3, 0, 4, 2, true},
		{"vector 3.4", []string{".##.", ".##.", "..#."}, 5, 1, 0, 3, 3, true},
	} {
		m := maskFromRows(t, tc.rows...)
		x0, y0, x1, y1, ok := m.BBox()
		if x0 != tc.x0 || y0 != tc.y0 || x1 != tc.x1 || y1 != tc.y1 || ok != tc.ok {
			t.Errorf("%s: BBox = (%d,%d,%d,%d,%v), want (%d,%d,%d,%d,%v)", tc.name, x0, y0, x1, y1, ok, tc.x0, tc.y0, tc.x1, tc.y1, tc.ok)
		}
		if a := m.Area(); a != tc.area {
			t.Errorf("%s: Area = %d, want %d", tc.name, a, tc.area)
		}
	}
}

func TestInvalidMaskIsEmpty(t *testing.T) {
	for name, m := range map[string]*Mask{
		"nil":        nil,
		"short bits": {W: 3, H: 3, Bits: []uint8{1, 1}},
		"negative":   {W: -1, H: 2, Bits: nil},
	} {
		if m.Area() != 0 || m.At(0, 0) {
			t.Errorf("%s: invalid mask reports set pixels", name)
		}
		if _, _, _, _, ok := m.BBox(); ok {
			t.Errorf("%s: BBox ok for an invalid mask", name)
		}
		if _, err := m.Crop(0, 0, 1, 1); err == nil {
			t.Errorf("%s: Crop accepted an invalid mask", name)
		}
		if _, err := EncodeRLE(m); err == nil {
			t.Errorf("%s: EncodeRLE accepted an invalid mask", name)
		}
		if _, _, err := EncodeBitmap(m); err == nil {
			t.Errorf("%s: EncodeBitmap accepted an invalid mask", name)
		}
		if m.Contours() != nil {
			t.Errorf("%s: Contours of an invalid mask is not nil", name)
		}
		m.Set(0, 0, true) // must not panic
	}
}

func TestMaskEqual(t *testing.T) {
	a := maskFromRows(t, "#.", ".#")
	b := maskFromRows(t, "#.", ".#")
	b.Bits[0] = 7 // any non-zero byte is set
	if !a.Equal(b) {
		t.Error("masks with the same set pixels are not Equal")
	}
	b.Set(1, 0, true)
	if a.Equal(b) {
		t.Error("different masks are Equal")
	}
	if a.Equal(maskFromRows(t, "#.#", ".#.")) {
		t.Error("masks of different sizes are Equal")
	}
}

func TestMaskCropPaste(t *testing.T) {
	m := maskFromRows(t,
		".....",
		".##..",
		".#...",
		".....",
	)
	c, err := m.Crop(1, 1, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := maskFromRows(t, "##", "#."); !c.Equal(want) {
		t.Fatalf("Crop(1,1,2,2) =\n%swant\n%s", rowsOf(c), rowsOf(want))
	}
	// A window that extends past the mask: outside pixels are unset.
	c, err = m.Crop(-1, 1, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := maskFromRows(t, "..#", "..#"); !c.Equal(want) {
		t.Fatalf("Crop(-1,1,3,2) =\n%swant\n%s", rowsOf(c), rowsOf(want))
	}
	if _, err := m.Crop(0, 0, -1, 2); err == nil {
		t.Error("Crop with a negative width succeeded")
	}

	// Paste ORs and clips.
	dst := maskFromRows(t,
		"#...",
		"....",
		"....",
	)
	src := maskFromRows(t, "##", ".#")
	dst.Paste(src, 3, 1)
	dst.Paste(src, -1, -1)
	dst.Paste(src, 100, 100) // entirely outside
	want := maskFromRows(t,
		"#...",
		"...#",
		"....",
	)
	if !dst.Equal(want) {
		t.Fatalf("Paste =\n%swant\n%s", rowsOf(dst), rowsOf(want))
	}
	dst.Paste(src, 0, 0)
	want = maskFromRows(t,
		"##..",
		".#.#",
		"....",
	)
	if !dst.Equal(want) {
		t.Fatalf("Paste at 0,0 =\n%swant\n%s", rowsOf(dst), rowsOf(want))
	}
}

func TestIoU(t *testing.T) {
	a := maskFromRows(t, "##..", "##..")
	b := maskFromRows(t, ".##.", ".##.")
	empty := mustMask(t, 4, 2)
	for _, tc := range []struct {
		name string
		a, b *Mask
		want float64
	}{
		{"identical", a, a, 1},
		{"half overlap", a, b, 2.0 / 6.0},
		{"both empty", empty, mustMask(t, 3, 3), 1},
		{"nil and empty", nil, empty, 1},
		{"one empty", a, empty, 0},
		{"different sizes", a, maskFromRows(t, "##", "#."), 3.0 / 4.0},
	} {
		if got := IoU(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: IoU = %v, want %v", tc.name, got, tc.want)
		}
		if got := IoU(tc.b, tc.a); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s (swapped): IoU = %v, want %v", tc.name, got, tc.want)
		}
	}
}
