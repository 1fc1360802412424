package train

import (
	"math"
	"math/rand/v2"
)

// Pixel labels of a Sample.
const (
	Background uint8 = 0
	Foreground uint8 = 1
	Ignored    uint8 = 2 // excluded from the loss and the metrics
)

// Sample is one training or validation image at its own resolution.
type Sample struct {
	Name  string
	W, H  int
	RGB   []float32 // 3 × H × W, channel-major, in [0, 1]
	Label []uint8   // H × W: Background, Foreground or Ignored
	Edge  []bool    // H × W: inside the band along object edges; may be nil
}

// Augment says how samples are varied, each draw from the sample's own
// seeded generator.
type Augment struct {
	Flip   bool    // mirror left-right with probability ½
	Crop   float64 // 0: none; else a random window whose side is Crop…1 of the image's
	Rotate float64 // maximum rotation in degrees, either way
	Color  float64 // maximum brightness shift and contrast change (0.2 = ±20 %)
}

// rng draws uniform floats from a PCG stream with exact arithmetic only
// (no dependence on math/rand's float conversions).
type rng struct{ p *rand.PCG }

func newRNG(seed uint64, stream ...uint64) rng {
	h := seed
	for _, s := range stream {
		h = mix(h ^ mix(s+0x9e3779b97f4a7c15))
	}
	return rng{rand.NewPCG(seed, h)}
}

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit is uniform in [0, 1).
func (r rng) unit() float64 { return float64(r.p.Uint64()>>11) / (1 << 53) }

// sym is uniform in [−a, a).
func (r rng) sym(a float64) float64 { return (2*r.unit() - 1) * a }

// view is the mapping from the S×S network input to the source image.
type view struct {
	x0, y0, w, h float64 // the window in source pixels
	sin, cos     float64 // rotation about the window's centre
	flip         bool
	bright, cont float64
}

func plainView(s *Sample) view {
	return view{w: float64(s.W), h: float64(s.H), cos: 1, cont: 1}
}

func randomView(s *Sample, a Augment, r rng) view {
	v := plainView(s)
	if a.Flip {
		v.flip = r.unit() < 0.5
	}
	if a.Crop > 0 && a.Crop < 1 {
		f := a.Crop + r.unit()*(1-a.Crop)
		v.w, v.h = f*float64(s.W), f*float64(s.H)
		v.x0 = r.unit() * (float64(s.W) - v.w)
		v.y0 = r.unit() * (float64(s.H) - v.h)
	}
	if a.Rotate > 0 {
		v.sin, v.cos = math.Sincos(r.sym(a.Rotate) * math.Pi / 180)
	}
	if a.Color > 0 {
		v.bright = r.sym(a.Color)
		v.cont = 1 + r.sym(a.Color)
	}
	return v
}

// render fills x (3·S·S), y and w (S·S) for one sample seen through v.
// Each output pixel centre maps to a source point; the image is sampled
// bilinearly (clamped at the border), labels and edges by the nearest
// pixel; points outside the source are ignored (weight 0).
func render(s *Sample, v view, size int, edgeWeight float64, x, y, w []float32) {
	n := size * size
	cx, cy := v.x0+v.w/2, v.y0+v.h/2
	for i := 0; i < size; i++ {
		for j := 0; j < size; j++ {
			u := (float64(j)+0.5)/float64(size) - 0.5
			t := (float64(i)+0.5)/float64(size) - 0.5
			if v.flip {
				u = -u
			}
			ru, rt := u*v.cos-t*v.sin, u*v.sin+t*v.cos
			sx, sy := cx+ru*v.w, cy+rt*v.h // continuous source coordinates
			k := i*size + j
			px, py := int(math.Floor(sx)), int(math.Floor(sy))
			if px < 0 || py < 0 || px >= s.W || py >= s.H {
				x[k], x[n+k], x[2*n+k] = 0, 0, 0
				y[k], w[k] = 0, 0
				continue
			}
			lab := s.Label[py*s.W+px]
			switch lab {
			case Ignored:
				y[k], w[k] = 0, 0
			default:
				y[k] = float32(lab)
				w[k] = 1
				if s.Edge != nil && s.Edge[py*s.W+px] {
					w[k] = float32(1 + edgeWeight)
				}
			}
			// Bilinear between pixel centres.
			fx, fy := sx-0.5, sy-0.5
			x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
			ax, ay := fx-float64(x0), fy-float64(y0)
			x1, y1 := min(max(x0+1, 0), s.W-1), min(max(y0+1, 0), s.H-1)
			x0, y0 = min(max(x0, 0), s.W-1), min(max(y0, 0), s.H-1)
			for c := 0; c < 3; c++ {
				p := s.RGB[c*s.W*s.H:]
				top := float64(p[y0*s.W+x0])*(1-ax) + float64(p[y0*s.W+x1])*ax
				bot := float64(p[y1*s.W+x0])*(1-ax) + float64(p[y1*s.W+x1])*ax
				val := top*(1-ay) + bot*ay
				val = (val-0.5)*v.cont + 0.5 + v.bright
				x[c*n+k] = float32(min(max(val, 0), 1))
			}
		}
	}
}

// EdgeBand marks the pixels within r pixels (Chebyshev distance) of a
// pixel whose foreground label differs: both sides of every object edge.
func EdgeBand(label []uint8, w, h, r int) []bool {
	if r <= 0 {
		return nil
	}
	fg := func(i int) bool { return label[i] == Foreground }
	// A pixel is in the band if its r-neighbourhood holds both foreground
	// and non-foreground pixels: a separable max filter of each.
	anyOf := func(pred func(int) bool) []bool {
		row := make([]bool, w*h)
		for yy := 0; yy < h; yy++ {
			last := -1 << 30
			for xx := 0; xx < w; xx++ { // last seen to the left
				if pred(yy*w + xx) {
					last = xx
				}
				row[yy*w+xx] = xx-last <= r
			}
			last = 1 << 30
			for xx := w - 1; xx >= 0; xx-- {
				if pred(yy*w + xx) {
					last = xx
				}
				row[yy*w+xx] = row[yy*w+xx] || last-xx <= r
			}
		}
		out := make([]bool, w*h)
		for xx := 0; xx < w; xx++ {
			last := -1 << 30
			for yy := 0; yy < h; yy++ {
				if row[yy*w+xx] {
					last = yy
				}
				out[yy*w+xx] = yy-last <= r
			}
			last = 1 << 30
			for yy := h - 1; yy >= 0; yy-- {
				if row[yy*w+xx] {
					last = yy
				}
				out[yy*w+xx] = out[yy*w+xx] || last-yy <= r
			}
		}
		return out
	}
	a := anyOf(fg)
	b := anyOf(func(i int) bool { return !fg(i) })
	for i := range a {
		a[i] = a[i] && b[i]
	}
	return a
}
