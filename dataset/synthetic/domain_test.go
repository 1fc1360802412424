package synthetic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"testing"

	"dsbuild/dataset"
)

// TestDomainAUnchanged pins the pixels and masks of pictures that the
// person recipe imports (its seed data's and its pool's options), as the
// generator drew them before domains existed: domain a, by default or
// named, must keep every existing lockfile valid. The sums were computed
// with the code of commit 1ad97db.
func TestDomainAUnchanged(t *testing.T) {
	for _, tc := range []struct {
		opt  dataset.Options
		want map[int]string
	}{
		{dataset.Options{"count": "96", "width": "96", "height": "96", "figures": "1-2", "seed": "12", "dataset": "pool"},
			map[int]string{0: "9ad12364bf20e9b5", 1: "da12bc98e4c03214", 7: "5b19c1b6b20bc998", 95: "3b28b04610be72ba"}},
		{dataset.Options{"count": "120", "width": "96", "height": "96", "figures": "0-3", "seed": "11"},
			map[int]string{0: "03fd6a0a38b0d8a6", 1: "9243c99119e8bbe2", 7: "4caba21afb5d0863", 95: "aed7f2a0cf039a2a"}},
	} {
		for _, named := range []bool{false, true} {
			opt := copyOpt(tc.opt)
			if named {
				opt["domain"] = "a"
			}
			p, err := ParseParams(opt)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				img, masks, err := Generate(p, i)
				if err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				h.Write(img.Pix)
				for _, m := range masks {
					h.Write(m.Bits)
				}
				if got := hex.EncodeToString(h.Sum(nil))[:16]; got != want {
					t.Errorf("%v (domain named: %v) picture %d: sum %s, want %s", tc.opt, named, i, got, want)
				}
			}
		}
	}
}

// shiftStats are measures of a domain over many pictures.
type shiftStats struct {
	figures       int
	small, large  float64 // shares of figures whose box is under h/5 tall, at least 0.9h
	meanLum       float64 // mean luminance
	spreadLum     float64 // standard deviation of the pictures' mean luminances
	figureShare   float64 // share of the pixels that figures cover
	figureLumDiff float64 // mean |figure luminance − background luminance| per picture
}

func measure(t *testing.T, p Params, n int) shiftStats {
	t.Helper()
	var s shiftStats
	var lums []float64
	for i := 0; i < n; i++ {
		img, masks, err := Generate(p, i)
		if err != nil {
			t.Fatal(err)
		}
		w, h := p.Width, p.Height
		inFig := make([]bool, w*h)
		for _, m := range masks {
			_, y0, _, y1, _ := m.BBox()
			s.figures++
			switch bh := y1 - y0; {
			case bh*5 < h:
				s.small++
			case bh*10 >= h*9:
				s.large++
			}
			for o, b := range m.Bits {
				if b != 0 {
					inFig[o] = true
				}
			}
		}
		var sumL, figL, bgL float64
		nFig := 0
		for o := 0; o < w*h; o++ {
			px := img.Pix[4*o : 4*o+3]
			l := 0.299*float64(px[0]) + 0.587*float64(px[1]) + 0.114*float64(px[2])
			sumL += l
			if inFig[o] {
				figL += l
				nFig++
			} else {
				bgL += l
			}
		}
		np := float64(w * h)
		lums = append(lums, sumL/np)
		s.figureShare += float64(nFig) / np
		if nFig > 0 && nFig < w*h {
			s.figureLumDiff += math.Abs(figL/float64(nFig) - bgL/float64(w*h-nFig))
		}
	}
	for _, l := range lums {
		s.meanLum += l
	}
	s.meanLum /= float64(n)
	for _, l := range lums {
		s.spreadLum += (l - s.meanLum) * (l - s.meanLum)
	}
	s.spreadLum = math.Sqrt(s.spreadLum / float64(n))
	s.small /= float64(s.figures)
	s.large /= float64(s.figures)
	s.figureShare /= float64(n)
	s.figureLumDiff /= float64(n)
	return s
}

// TestDomainShift measures domain b against domain a on the person
// recipe's pool options: b has both smaller and larger figures, stronger
// colour casts and a wider spread of brightness, while its figures still
// stand out from their backgrounds about as much as a's do and cover a
// share of the picture of the same order.
func TestDomainShift(t *testing.T) {
	p, err := ParseParams(dataset.Options{"width": "96", "height": "96", "figures": "1-2", "seed": "12", "dataset": "pool"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	a := measure(t, p, n)
	p.Domain = DomainB
	b := measure(t, p, n)
	for _, x := range []struct {
		name string
		s    shiftStats
	}{{"a", a}, {"b", b}} {
		t.Logf("domain %s: %d figures, %.0f%% under h/5, %.0f%% at least 0.9h, figures cover %.1f%%; luminance %.0f ± %.0f; figure-background contrast %.1f",
			x.name, x.s.figures, 100*x.s.small, 100*x.s.large, 100*x.s.figureShare, x.s.meanLum, x.s.spreadLum, x.s.figureLumDiff)
	}
	if b.small < a.small+0.10 || b.small < 0.15 {
		t.Errorf("domain b has %.2f small figures, a %.2f: want at least 0.15 and 0.10 more", b.small, a.small)
	}
	if b.large < a.large+0.10 {
		t.Errorf("domain b has %.2f large figures, a %.2f: want 0.10 more", b.large, a.large)
	}
	if b.spreadLum < a.spreadLum*1.1 {
		t.Errorf("domain b's brightness spread %.1f is not wider than a's %.1f", b.spreadLum, a.spreadLum)
	}
	// Not absurd: figures are visible and of a sensible size.
	if b.figureLumDiff < a.figureLumDiff/2 {
		t.Errorf("domain b's figures stand out by %.1f, a's by %.1f", b.figureLumDiff, a.figureLumDiff)
	}
	if b.figureShare < a.figureShare/2 || b.figureShare > a.figureShare*2 {
		t.Errorf("domain b's figures cover %.3f of the pictures, a's %.3f", b.figureShare, a.figureShare)
	}
	if b.figures < n*9/10 {
		t.Errorf("only %d visible figures in %d pictures of 1 or 2", b.figures, n)
	}
	// Every picture of b has a lighting; it casts a colour on mid-grey
	// and, in most pictures, shades the picture unevenly.
	cast, uneven := 0, 0
	for i := 0; i < n; i++ {
		c, _ := backdrop(&p, i)
		if c.light == nil {
			t.Fatalf("picture %d of domain b has no lighting", i)
		}
		g := c.light.apply(p.Width/2, p.Height/2, rgb{128, 128, 128})
		if max(g.r, g.g, g.b)-min(g.r, g.g, g.b) >= 12 {
			cast++
		}
		if c.light.shade != nil && slices.Max(c.light.shade)-slices.Min(c.light.shade) >= 64 {
			uneven++
		}
	}
	t.Logf("domain b: %d of %d lightings cast a colour, %d shade unevenly", cast, n, uneven)
	if cast < n*2/3 || uneven < n/2 {
		t.Errorf("domain b: %d of %d lightings cast a colour, %d shade unevenly", cast, n, uneven)
	}
	p.Domain = DomainA
	if c, _ := backdrop(&p, 0); c.light != nil {
		t.Error("domain a has a lighting")
	}
}

// TestDomainsDiffer checks that domain b draws other pictures from the same
// options, including another background, and that its items carry the
// same kind of annotations.
func TestDomainsDiffer(t *testing.T) {
	p := DefaultParams()
	p.Width, p.Height, p.Encoding = 96, 96, PNG
	q := p
	q.Domain = DomainB
	for i := 0; i < 10; i++ {
		ia, err := Item(p, i)
		if err != nil {
			t.Fatal(err)
		}
		ib, err := Item(q, i)
		if err != nil {
			t.Fatal(err)
		}
		if ia.Name != ib.Name {
			t.Errorf("picture %d: names %s and %s", i, ia.Name, ib.Name)
		}
		if bytes.Equal(ia.ImageBytes, ib.ImageBytes) {
			t.Errorf("picture %d is the same in both domains", i)
		}
		ca, _ := backdrop(&p, i)
		cb, _ := backdrop(&q, i)
		if bytes.Equal(ca.img.Pix, cb.img.Pix) {
			t.Errorf("picture %d has the same background in both domains", i)
		}
		for _, o := range ib.Ann.Objects {
			if o.Class != Class || o.Shape != dataset.ShapeBitmap || o.Mask.Area() == 0 {
				t.Errorf("picture %d: object %+v", i, o)
			}
		}
	}
}

// BenchmarkDrawDomainB is BenchmarkDraw in domain b.
func BenchmarkDrawDomainB(b *testing.B) {
	p := DefaultParams()
	p.MinFigures, p.MaxFigures, p.Domain = 3, 3, DomainB
	for i := 0; b.Loop(); i++ {
		render(&p, i%100)
	}
}
