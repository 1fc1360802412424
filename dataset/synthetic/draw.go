package synthetic

import (
	"image"
	"math/bits"
	"math/rand/v2"
	"sort"
)

// The drawing code uses integers only, so that the pixels are the same on
// every machine: Go may fuse floating-point multiply-adds on some
// architectures (arm64, ppc64, s390x, amd64 v3), and math/rand/v2's IntN
// draws differently on 32-bit machines. Geometry is in fixed point with
// sub units per pixel; a pixel (x, y) is tested at its centre.

const sub = 16 // fixed-point units per pixel

// rnd draws from a PCG stream with a platform-independent reduction.
type rnd struct{ p *rand.PCG }

func newRnd(seed uint64, i int, stream uint64) *rnd {
	a := mix(seed ^ mix(uint64(i)+stream*0x9e3779b97f4a7c15))
	b := mix(a ^ stream ^ 0xd1b54a32d192ed03)
	return &rnd{rand.NewPCG(a, b)}
}

// mix is the splitmix64 finalizer.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// n returns a number in [0, k); 0 when k ≤ 0.
func (r *rnd) n(k int) int {
	if k <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(r.p.Uint64(), uint64(k))
	return int(hi)
}

// in returns a number in [lo, hi].
func (r *rnd) in(lo, hi int) int { return lo + r.n(hi-lo+1) }

// pick returns an index drawn by the weights.
func (r *rnd) pick(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	v := r.n(total)
	for i, w := range weights {
		if v < w {
			return i
		}
		v -= w
	}
	return len(weights) - 1
}

// rgb is a colour whose channels may leave 0-255 before clamping.
type rgb struct{ r, g, b int }

func (r *rnd) jitter(c rgb, d int) rgb {
	return rgb{c.r + r.in(-d, d), c.g + r.in(-d, d), c.b + r.in(-d, d)}
}

func (r *rnd) from(palette []rgb, d int) rgb { return r.jitter(palette[r.n(len(palette))], d) }

func lerp(a, b rgb, t int) rgb { // t in 0-255
	return rgb{a.r + (b.r-a.r)*t/255, a.g + (b.g-a.g)*t/255, a.b + (b.b-a.b)*t/255}
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// hash2 is a per-pixel hash for grain.
func hash2(x, y int, s uint32) uint32 {
	h := uint32(x)*0x27d4eb2d ^ uint32(y)*0x165667b1 ^ s
	h ^= h >> 15
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// canvas is the picture being drawn and, per pixel, which figure owns it
// (0 for the background, k+1 for figure k).
type canvas struct {
	w, h  int
	img   *image.RGBA
	owner []uint8
	grain uint32
	light *lighting // nil: the colours as drawn (domain a)
}

func (c *canvas) set(x, y int, col rgb, amp int) {
	if amp > 0 {
		d := int(hash2(x, y, c.grain)%uint32(2*amp+1)) - amp
		col = rgb{col.r + d, col.g + d, col.b + d}
	}
	if c.light != nil {
		col = c.light.apply(x, y, col)
	}
	o := y*c.img.Stride + 4*x
	p := c.img.Pix[o : o+4 : o+4]
	p[0], p[1], p[2], p[3] = clamp8(col.r), clamp8(col.g), clamp8(col.b), 255
}

// ---- background -------------------------------------------------------

const (
	texGradient = iota
	texNoise
	texStripes
	texChecker
	texPlanks
)

// texture is a procedural fill of two colours.
type texture struct {
	kind   int
	c0, c1 rgb
	y0, y1 int // gradient span (rows)
	cell   int // noise cell, stripe period, checker or plank size
	dx, dy int // stripe direction
	grid   []uint8
	gw     int
}

func (r *rnd) texture(kind int, c0, c1 rgb, y0, y1, w, h int) *texture {
	t := &texture{kind: kind, c0: c0, c1: c1, y0: y0, y1: max(y1, y0+1)}
	switch kind {
	case texNoise:
		t.cell = r.in(6, 24)
		t.gw = w/t.cell + 2
		t.grid = make([]uint8, t.gw*(h/t.cell+2))
		for i := range t.grid {
			t.grid[i] = uint8(r.n(256))
		}
	case texStripes:
		t.cell = r.in(4, 16)
		dirs := [][2]int{{1, 0}, {0, 1}, {1, 1}, {1, -1}, {2, 1}, {1, 2}}
		d := dirs[r.n(len(dirs))]
		t.dx, t.dy = d[0], d[1]
	case texChecker, texPlanks:
		t.cell = r.in(6, 20)
	}
	return t
}

func (t *texture) at(x, y int) rgb {
	switch t.kind {
	case texGradient:
		v := (y - t.y0) * 255 / (t.y1 - t.y0)
		return lerp(t.c0, t.c1, max(0, min(255, v)))
	case texNoise:
		cx, cy := x/t.cell, y/t.cell
		fx, fy := x%t.cell, y%t.cell
		g := func(i, j int) int { return int(t.grid[j*t.gw+i]) }
		top := g(cx, cy)*(t.cell-fx) + g(cx+1, cy)*fx
		bot := g(cx, cy+1)*(t.cell-fx) + g(cx+1, cy+1)*fx
		v := (top*(t.cell-fy) + bot*fy) / (t.cell * t.cell)
		return lerp(t.c0, t.c1, v)
	case texStripes:
		s := x*t.dx + y*t.dy + 1<<20 // keep it positive
		if (s/t.cell)%2 == 0 {
			return t.c0
		}
		return t.c1
	case texChecker:
		if (x/t.cell+y/t.cell)%2 == 0 {
			return t.c0
		}
		return t.c1
	case texPlanks:
		row := y / t.cell
		off := (row * 37) % (t.cell * 5)
		if y%t.cell == 0 || (x+off)%(t.cell*5) == 0 {
			return lerp(t.c0, rgb{}, 60)
		}
		if row%2 == 0 {
			return t.c0
		}
		return t.c1
	}
	return t.c0
}

var (
	skies    = [][2]rgb{{{90, 140, 215}, {190, 215, 245}}, {{235, 150, 90}, {120, 90, 150}}, {{160, 165, 175}, {215, 215, 220}}, {{40, 50, 90}, {110, 100, 140}}}
	grounds  = [][2]rgb{{{55, 110, 45}, {95, 150, 60}}, {{65, 65, 70}, {105, 105, 110}}, {{185, 165, 115}, {215, 195, 150}}, {{105, 80, 55}, {145, 115, 85}}}
	floors   = [][2]rgb{{{135, 95, 55}, {170, 125, 80}}, {{200, 200, 205}, {150, 150, 160}}, {{70, 40, 45}, {95, 60, 60}}}
	skins    = []rgb{{255, 224, 189}, {241, 194, 125}, {224, 172, 105}, {198, 134, 66}, {141, 85, 36}, {95, 60, 35}}
	hairs    = []rgb{{20, 15, 10}, {60, 40, 25}, {110, 75, 40}, {205, 175, 105}, {150, 150, 150}, {160, 70, 30}}
	trousers = []rgb{{30, 40, 80}, {25, 25, 30}, {90, 70, 50}, {110, 110, 115}, {170, 150, 110}, {50, 80, 140}}
	shoes    = []rgb{{30, 25, 20}, {235, 235, 235}, {80, 50, 30}, {120, 20, 20}}
)

// background fills the canvas with a textured scene and a few distractor
// shapes (not people: they belong to the background), and returns the
// horizon row, which places the figures' feet.
func background(c *canvas, r *rnd) int {
	w, h := c.w, c.h
	hz := h * r.in(25, 60) / 100
	var top, bottom *texture
	switch r.pick(45, 35, 20) {
	case 0: // outdoors: sky over ground
		s := skies[r.n(len(skies))]
		top = r.texture(texGradient, r.jitter(s[0], 15), r.jitter(s[1], 15), 0, hz, w, h)
		g := grounds[r.n(len(grounds))]
		bottom = r.texture([]int{texNoise, texNoise, texStripes}[r.n(3)], r.jitter(g[0], 15), r.jitter(g[1], 15), hz, h, w, h)
	case 1: // indoors: wall over floor
		base := rgb{r.in(110, 235), r.in(110, 235), r.in(110, 235)}
		top = r.texture([]int{texStripes, texNoise, texGradient}[r.n(3)], base, r.jitter(base, 30), 0, hz, w, h)
		f := floors[r.n(len(floors))]
		bottom = r.texture([]int{texPlanks, texChecker, texNoise}[r.n(3)], r.jitter(f[0], 15), r.jitter(f[1], 15), hz, h, w, h)
	default: // abstract
		kinds := []int{texNoise, texStripes, texChecker, texGradient}
		top = r.texture(kinds[r.n(len(kinds))], r.color(), r.color(), 0, hz, w, h)
		bottom = r.texture(kinds[r.n(len(kinds))], r.color(), r.color(), 0, h, w, h)
	}
	amp := r.in(2, 10)
	for y := 0; y < h; y++ {
		t := top
		if y >= hz {
			t = bottom
		}
		for x := 0; x < w; x++ {
			c.set(x, y, t.at(x, y), amp)
		}
	}
	// Distractors: boxes, poles and discs, drawn before the figures.
	for n := r.in(0, 3); n > 0; n-- {
		col := r.color()
		var s shape
		x, y := int64(r.n(w))*sub, int64(r.n(h))*sub
		switch r.pick(40, 30, 30) {
		case 0:
			bw, bh := int64(r.in(w/16+1, w/4+1))*sub, int64(r.in(h/16+1, h/4+1))*sub
			s = quad{{x, y}, {x + bw, y}, {x + bw, y + bh}, {x, y + bh}}
		case 1: // a pole: thin, tall, limb-like
			rad := int64(r.in(sub/2, sub*max(1, w/64)))
			s = capsule{vec{x, y}, vec{x + int64(r.in(-w/16, w/16))*sub, y + int64(r.in(h/4, h/2))*sub}, rad}
		default:
			rr := int64(r.in(2, max(3, min(w, h)/8))) * sub
			s = ellipse{c: vec{x, y}, rx: rr, ry: rr * int64(r.in(60, 140)) / 100}
		}
		fill(c, s, func(x, y int) { c.set(x, y, col, amp) })
	}
	return hz
}

func (r *rnd) color() rgb { return rgb{r.n(256), r.n(256), r.n(256)} }

// ---- shapes -------------------------------------------------------------

type vec struct{ x, y int64 }

func (a vec) add(b vec) vec { return vec{a.x + b.x, a.y + b.y} }

// shape is a filled region in fixed point.
type shape interface {
	bounds() (x0, y0, x1, y1 int64) // fixed-point bounding box
	contains(p vec) bool
}

// capsule is the set of points within r of the segment a-b: a limb.
type capsule struct {
	a, b vec
	r    int64
}

func (c capsule) bounds() (int64, int64, int64, int64) {
	return min(c.a.x, c.b.x) - c.r, min(c.a.y, c.b.y) - c.r, max(c.a.x, c.b.x) + c.r, max(c.a.y, c.b.y) + c.r
}

func (c capsule) contains(p vec) bool {
	vx, vy := c.b.x-c.a.x, c.b.y-c.a.y
	wx, wy := p.x-c.a.x, p.y-c.a.y
	t := wx*vx + wy*vy
	ll := vx*vx + vy*vy
	rr := c.r * c.r
	switch {
	case t <= 0 || ll == 0:
		return wx*wx+wy*wy <= rr
	case t >= ll:
		dx, dy := p.x-c.b.x, p.y-c.b.y
		return dx*dx+dy*dy <= rr
	}
	cr := wx*vy - wy*vx
	return cr*cr <= rr*ll
}

// ellipse is an axis-aligned ellipse; with cut set, only its part above
// row cutY (fixed point) is kept.
type ellipse struct {
	c      vec
	rx, ry int64
	cut    bool
	cutY   int64
}

func (e ellipse) bounds() (int64, int64, int64, int64) {
	return e.c.x - e.rx, e.c.y - e.ry, e.c.x + e.rx, e.c.y + e.ry
}

func (e ellipse) contains(p vec) bool {
	if e.cut && p.y > e.cutY {
		return false
	}
	dx, dy := (p.x-e.c.x)*e.ry, (p.y-e.c.y)*e.rx
	rr := e.rx * e.ry
	return dx*dx+dy*dy <= rr*rr
}

// quad is a convex quadrilateral, vertices in either winding.
type quad [4]vec

func (q quad) bounds() (int64, int64, int64, int64) {
	x0, y0, x1, y1 := q[0].x, q[0].y, q[0].x, q[0].y
	for _, v := range q[1:] {
		x0, y0, x1, y1 = min(x0, v.x), min(y0, v.y), max(x1, v.x), max(y1, v.y)
	}
	return x0, y0, x1, y1
}

func (q quad) contains(p vec) bool {
	pos, neg := false, false
	for i := range q {
		a, b := q[i], q[(i+1)%4]
		cr := (b.x-a.x)*(p.y-a.y) - (b.y-a.y)*(p.x-a.x)
		pos = pos || cr > 0
		neg = neg || cr < 0
	}
	return !(pos && neg)
}

// fill calls set for every pixel of the canvas whose centre s contains.
func fill(c *canvas, s shape, set func(x, y int)) {
	bx0, by0, bx1, by1 := s.bounds()
	x0, y0 := max(0, floorDiv(bx0, sub)), max(0, floorDiv(by0, sub))
	x1, y1 := min(int64(c.w), floorDiv(bx1, sub)+1), min(int64(c.h), floorDiv(by1, sub)+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if s.contains(vec{x*sub + sub/2, y*sub + sub/2}) {
				set(int(x), int(y))
			}
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// sinTab[d] is sin(d°) × 16384, for d in 0…90.
var sinTab = [91]int64{
	0, 286, 572, 857, 1143, 1428, 1713, 1997, 2280, 2563,
	2845, 3126, 3406, 3686, 3964, 4240, 4516, 4790, 5063, 5334,
	5604, 5872, 6138, 6402, 6664, 6924, 7182, 7438, 7692, 7943,
	8192, 8438, 8682, 8923, 9162, 9397, 9630, 9860, 10087, 10311,
	10531, 10749, 10963, 11174, 11381, 11585, 11786, 11982, 12176, 12365,
	12551, 12733, 12911, 13085, 13255, 13421, 13583, 13741, 13894, 14044,
	14189, 14330, 14466, 14598, 14726, 14849, 14968, 15082, 15191, 15296,
	15396, 15491, 15582, 15668, 15749, 15826, 15897, 15964, 16026, 16083,
	16135, 16182, 16225, 16262, 16294, 16322, 16344, 16362, 16374, 16382,
	16384,
}

// sinDeg returns sin(d°) × 16384 for any whole d.
func sinDeg(d int) int64 {
	d %= 360
	if d < 0 {
		d += 360
	}
	switch {
	case d <= 90:
		return sinTab[d]
	case d <= 180:
		return sinTab[180-d]
	case d <= 270:
		return -sinTab[d-180]
	}
	return -sinTab[360-d]
}

func cosDeg(d int) int64 { return sinDeg(d + 90) }

// limb returns the end of a limb of length l from p at angle deg, measured
// from straight down and positive away from the body on side (-1 the
// picture's left, +1 its right).
func limb(p vec, side int64, deg int, l int64) vec {
	return vec{p.x + side*l*sinDeg(deg)/16384, p.y + l*cosDeg(deg)/16384}
}

// ---- figures ------------------------------------------------------------

// part is one primitive of a figure with its colour; with period > 0 it
// is striped: rows y with (y/period) odd take alt.
type part struct {
	s      shape
	col    rgb
	alt    rgb
	period int
}

type figure struct {
	parts []part
	foot  int64 // fixed-point row of the feet: the depth order
	index int
}

// pose is the joint angles of a figure, in degrees: arms and legs from
// straight down, positive away from the body; elbows and knees add to
// them. Index 0 is the picture's left limb, 1 its right.
type pose struct {
	arm, elbow, leg, knee [2]int
}

func (r *rnd) pose() pose {
	var p pose
	stand := func(p *pose, i int) {
		p.arm[i], p.elbow[i] = r.in(4, 18), r.in(-10, 15)
	}
	for i := 0; i < 2; i++ {
		p.leg[i], p.knee[i] = r.in(1, 6), r.in(-4, 4)
	}
	switch r.pick(30, 25, 15, 8, 7, 8, 7) {
	case 0: // standing
		stand(&p, 0)
		stand(&p, 1)
	case 1: // walking: one leg out, arms swinging
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(5, 25), r.in(0, 30)
		}
		s := r.n(2)
		p.leg[s], p.knee[s] = r.in(10, 25), r.in(-15, 15)
		p.leg[1-s], p.knee[1-s] = r.in(-6, 4), r.in(-10, 10)
	case 2: // waving
		s := r.n(2)
		p.arm[s], p.elbow[s] = r.in(110, 160), r.in(-20, 40)
		stand(&p, 1-s)
	case 3: // both arms up
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(140, 175), r.in(-15, 15)
		}
	case 4: // arms out
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(80, 100), r.in(-15, 15)
		}
	case 5: // hands on hips
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(35, 50), -r.in(80, 100)
		}
	default: // jumping star
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(110, 140), r.in(-10, 10)
			p.leg[i], p.knee[i] = r.in(15, 30), r.in(-8, 8)
		}
	}
	return p
}

// person builds figure k: its size and place depend on a depth drawn at
// random (nearer figures are larger and lower in the picture); some stand
// partly outside the frame.
func person(r *rnd, w, h, hz, k int) figure {
	depth := r.n(1001)
	hMin := max(12, h/5)
	hMax := max(hMin, h*9/10)
	fh := hMin + (hMax-hMin)*depth/1000 + r.in(-(hMax-hMin)/10, (hMax-hMin)/10)
	fh = max(hMin, min(hMax, fh))
	footY := hz + (h+fh/8-hz)*depth/1000 + r.n(fh/12+1)
	// Three figures in ten may stand across the left or right edge; the
	// others stand inside where the picture is wide enough.
	lo, hi := -fh/10, w+fh/10
	if r.n(10) >= 3 && w-fh/4 > fh/4 {
		lo, hi = fh/4, w-fh/4
	}
	cxPix := r.in(lo, hi)

	S := int64(fh) * sub
	f := func(per int) int64 { return S * int64(per) / 1000 }
	build := int64(r.in(85, 125))
	wd := func(per int) int64 { return S * int64(per) * build / 100000 }
	cx := int64(cxPix)*sub + sub/2
	top := int64(footY)*sub - S

	skin := r.from(skins, 10)
	hair := r.from(hairs, 10)
	shirt := r.color()
	pants := r.from(trousers, 15)
	shoe := r.from(shoes, 10)
	longSleeves := r.n(100) < 55
	style := r.pick(60, 25, 15)     // trousers, shorts, skirt
	hairStyle := r.pick(55, 30, 15) // short, long, none

	headRY := f(62)
	headRX := headRY * int64(r.in(78, 92)) / 100
	head := vec{cx + f(r.in(-10, 10)), top + headRY}
	shY := top + f(175)
	hipY := top + f(520)
	sw, hw := wd(105), wd(82)
	ar, lr := max(wd(34), sub/2), max(wd(46), sub/2)

	var parts []part
	add := func(s shape, c rgb) { parts = append(parts, part{s: s, col: c}) }
	if hairStyle == 1 {
		add(capsule{head, vec{head.x, top + f(200)}, headRX * 21 / 20}, hair)
	}
	p := r.pose()
	for i, side := range []int64{-1, 1} {
		hip := vec{cx + side*hw*55/100, hipY}
		knee := limb(hip, side, p.leg[i], f(245))
		ankle := limb(knee, side, p.leg[i]+p.knee[i], f(230))
		shinCol := pants
		if style != 0 {
			shinCol = skin
		}
		add(capsule{hip, knee, lr}, pants)
		add(capsule{knee, ankle, lr * 9 / 10}, shinCol)
		add(capsule{ankle, vec{ankle.x + side*f(45), ankle.y + f(8)}, max(lr*7/10, sub/2)}, shoe)
	}
	if style == 2 { // skirt
		add(quad{{cx - hw, hipY}, {cx + hw, hipY}, {cx + hw*3/2, hipY + f(200)}, {cx - hw*3/2, hipY + f(200)}}, shirt)
	}
	add(capsule{vec{cx - hw + lr, hipY}, vec{cx + hw - lr, hipY}, lr}, pants)
	add(capsule{vec{cx, head.y + headRY*3/4}, vec{cx, shY + f(10)}, wd(28)}, skin)
	add(quad{{cx - sw, shY + ar}, {cx + sw, shY + ar}, {cx + hw, hipY + f(25)}, {cx - hw, hipY + f(25)}}, shirt)
	add(capsule{vec{cx - sw + ar, shY + ar}, vec{cx + sw - ar, shY + ar}, ar}, shirt)
	for i, side := range []int64{-1, 1} {
		sh := vec{cx + side*(sw-ar), shY + ar}
		elbow := limb(sh, side, p.arm[i], f(165))
		wrist := limb(elbow, side, p.arm[i]+p.elbow[i], f(150))
		fore := skin
		if longSleeves {
			fore = shirt
		}
		add(capsule{sh, elbow, ar}, shirt)
		add(capsule{elbow, wrist, ar * 9 / 10}, fore)
		hand := limb(wrist, side, p.arm[i]+p.elbow[i], ar/2)
		add(ellipse{c: hand, rx: ar * 5 / 4, ry: ar * 5 / 4}, skin)
	}
	add(ellipse{c: head, rx: headRX, ry: headRY}, skin)
	if hairStyle != 2 {
		add(ellipse{c: vec{head.x, head.y - headRY/10}, rx: headRX * 21 / 20, ry: headRY, cut: true, cutY: head.y - headRY/4}, hair)
	}
	return figure{parts: parts, foot: int64(footY), index: k}
}

// scene is one generated picture: the canvas and which figures are visible.
type scene struct {
	c       *canvas
	figures int     // figures placed
	order   []uint8 // owner ids in drawing order, back to front
}

// render draws image i of p.
func render(p *Params, i int) *scene {
	w, h := p.Width, p.Height
	c, hz := backdrop(p, i)
	lk := lookOf(p.Domain)

	fr := newRnd(p.Seed, i, lk.stream+2)
	n := fr.in(p.MinFigures, p.MaxFigures)
	figs := make([]figure, n)
	for k := range figs {
		figs[k] = lk.person(fr, w, h, hz, k)
	}
	// Far figures first, so nearer ones occlude them.
	sort.SliceStable(figs, func(a, b int) bool { return figs[a].foot < figs[b].foot })
	s := &scene{c: c, figures: n}
	for _, fg := range figs {
		id := uint8(fg.index + 1)
		s.order = append(s.order, id)
		amp := fr.in(lk.grain[0], lk.grain[1])
		for _, pt := range fg.parts {
			col, alt, period := pt.col, pt.alt, pt.period
			fill(c, pt.s, func(x, y int) {
				c.owner[y*w+x] = id
				if period > 0 && (y/period)%2 == 1 {
					c.set(x, y, alt, amp)
					return
				}
				c.set(x, y, col, amp)
			})
		}
	}
	return s
}

// backdrop draws the background of picture i of p, under the domain's
// lighting, which also applies to the figures drawn later.
func backdrop(p *Params, i int) (*canvas, int) {
	w, h := p.Width, p.Height
	c := &canvas{w: w, h: h, img: image.NewRGBA(image.Rect(0, 0, w, h)), owner: make([]uint8, w*h)}
	lk := lookOf(p.Domain)
	if lk.light {
		c.light = newLighting(newRnd(p.Seed, i, lk.stream+3), w, h)
	}
	bg := newRnd(p.Seed, i, lk.stream+1)
	c.grain = uint32(bg.p.Uint64())
	return c, lk.background(c, bg)
}
