package dataset

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// maskFromRows builds a mask from rows of '0'/'1' (or '.'/'#') characters.
func maskFromRows(t testing.TB, rows ...string) *Mask {
	t.Helper()
	h, w := len(rows), 0
	if h > 0 {
		w = len(rows[0])
	}
	m, err := NewMask(w, h)
	if err != nil {
		t.Fatal(err)
	}
	for y, r := range rows {
		if len(r) != w {
			t.Fatalf("row %d has %d columns, want %d", y, len(r), w)
		}
		for x, c := range r {
			m.Set(x, y, c == '1' || c == '#')
		}
	}
	return m
}

// rowsOf renders a mask as rows of '.' and '#', for failure messages.
func rowsOf(m *Mask) string {
	var sb strings.Builder
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			if m.At(x, y) {
				sb.WriteByte('#')
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func mustMask(t testing.TB, w, h int) *Mask {
	t.Helper()
	m, err := NewMask(w, h)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fillEllipse sets (add) or clears the pixels whose centres lie inside the
// ellipse with centre (cx, cy) and radii rx, ry.
func fillEllipse(m *Mask, cx, cy, rx, ry float64, add bool) {
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			if dx*dx+dy*dy <= 1 {
				m.Set(x, y, add)
			}
		}
	}
}

// fillRect sets or clears the pixels of columns x0…x1-1 and rows y0…y1-1.
func fillRect(m *Mask, x0, y0, x1, y1 int, add bool) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			m.Set(x, y, add)
		}
	}
}

// personMask draws a crude person: head, torso, arms that touch the hips
// (leaving holes between arm and body), and two legs.
func personMask(t testing.TB) *Mask {
	m := mustMask(t, 90, 200)
	fillEllipse(m, 45, 20, 12, 15, true)   // head
	fillEllipse(m, 45, 75, 22, 42, true)   // torso
	fillRect(m, 10, 45, 18, 110, true)     // left arm
	fillRect(m, 72, 45, 80, 110, true)     // right arm
	fillRect(m, 10, 40, 80, 48, true)      // shoulders, closing the holes at the top
	fillRect(m, 10, 104, 80, 112, true)    // hands on the hips, closing them below
	fillRect(m, 30, 110, 42, 195, true)    // left leg
	fillRect(m, 48, 110, 60, 195, true)    // right leg
	fillEllipse(m, 45, 60, 4, 6, false)    // a hole inside the torso
	fillEllipse(m, 45, 60, 1.5, 2.5, true) // an island inside that hole
	return m
}

// testShapes returns named masks used by round-trip tests.
func testShapes(t testing.TB) map[string]*Mask {
	t.Helper()
	shapes := map[string]*Mask{}

	m := mustMask(t, 64, 48)
	fillEllipse(m, 30.3, 22.7, 20.5, 14.2, true)
	shapes["ellipse"] = m

	m = mustMask(t, 64, 64)
	fillEllipse(m, 32, 32, 28, 28, true)
	fillEllipse(m, 32, 32, 12, 9, false)
	shapes["ring"] = m

	m = mustMask(t, 80, 40)
	fillEllipse(m, 12, 12, 8, 10, true)
	fillEllipse(m, 40, 25, 15, 9, true)
	fillRect(m, 60, 2, 78, 38, true)
	fillRect(m, 64, 8, 74, 30, false)
	fillRect(m, 67, 14, 71, 22, true) // island in the rectangle's hole
	shapes["components"] = m

	shapes["person"] = personMask(t)

	shapes["diagonal"] = maskFromRows(t,
		"#...",
		".#..",
		"..#.",
		"...#",
	)
	shapes["checkerboard"] = maskFromRows(t,
		"#.#.#",
		".#.#.",
		"#.#.#",
		".#.#.",
	)
	// A hole whose unset pixels touch only at a corner (one 8-connected hole).
	shapes["diagonal-hole"] = maskFromRows(t,
		"#####",
		"#.###",
		"##.##",
		"#####",
	)
	shapes["full"] = maskFromRows(t, "###", "###")
	shapes["single"] = maskFromRows(t, "...", ".#.", "...")

	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []float64{0.2, 0.5, 0.8} {
		m := mustMask(t, 37, 23)
		for i := range m.Bits {
			if rng.Float64() < p {
				m.Bits[i] = 1
			}
		}
		shapes["noise-"+strconv.FormatFloat(p, 'f', 1, 64)] = m
	}
	return shapes
}
