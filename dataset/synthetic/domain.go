package synthetic

// Domain b: the same kind of pictures (persons with exact masks over a
// background) with another look, as a target photo collection differs from
// the public datasets a seed model was trained on. Everything here is drawn
// from its own random streams, so domain a's pictures do not depend on it.

// look is what a domain changes in the drawing: its random streams, its
// background, its figures, their grain, and whether a lighting lies over
// the whole picture.
type look struct {
	stream     uint64 // added to the stream numbers
	background func(c *canvas, r *rnd) int
	person     func(r *rnd, w, h, hz, k int) figure
	grain      [2]int // figure grain amplitude, inclusive range
	light      bool
}

var (
	lookA = &look{background: background, person: person, grain: [2]int{2, 8}}
	lookB = &look{stream: 16, background: backgroundB, person: personB, grain: [2]int{3, 12}, light: true}
)

func lookOf(domain string) *look {
	if domain == DomainB {
		return lookB
	}
	return lookA
}

// ---- lighting -----------------------------------------------------------

// lighting maps every drawn colour, background and figures alike: a
// per-channel gain (the colour cast), a contrast around mid-grey, a
// brightness offset, then a per-pixel shading factor.
type lighting struct {
	gain     [3]int // per channel, in 1/256
	contrast int    // in 1/256
	bright   int
	shade    []int32 // per pixel, in 1/256; nil: none
	w        int
}

const (
	shadeNone = iota
	shadeSide
	shadeVignette
	shadeSpot
)

// newLighting draws one of five lightings: harsh daylight, haze, evening,
// night under a lamp, fluorescent interior.
func newLighting(r *rnd, w, h int) *lighting {
	l := &lighting{w: w}
	shade := shadeNone
	switch r.pick(25, 20, 20, 15, 20) {
	case 0: // harsh daylight: strong contrast, one side lit
		l.gain = [3]int{r.in(250, 270), r.in(245, 262), r.in(228, 248)}
		l.contrast, l.bright = r.in(290, 340), r.in(-5, 15)
		shade = shadeSide
	case 1: // haze: washed out, bright, bluish
		l.gain = [3]int{r.in(225, 245), r.in(235, 250), r.in(255, 275)}
		l.contrast, l.bright = r.in(140, 185), r.in(30, 55)
	case 2: // evening: warm, darker, vignetted
		l.gain = [3]int{r.in(280, 305), r.in(232, 252), r.in(160, 195)}
		l.contrast, l.bright = r.in(215, 260), r.in(-35, -15)
		shade = shadeVignette
	case 3: // night: blue and dark outside the lamp's spot
		l.gain = [3]int{r.in(175, 205), r.in(200, 225), r.in(262, 295)}
		l.contrast, l.bright = r.in(230, 280), r.in(-40, -20)
		shade = shadeSpot
	default: // fluorescent interior: green cast, one side lit
		l.gain = [3]int{r.in(220, 240), r.in(266, 286), r.in(232, 252)}
		l.contrast, l.bright = r.in(220, 260), r.in(-5, 10)
		shade = shadeSide
	}
	if shade == shadeNone {
		return l
	}
	l.shade = make([]int32, w*h)
	// Coordinates are doubled and centred: dx = 2x+1-w, in -w … w.
	ox, oy := r.in(-w/3, w/3), r.in(-h/3, h/3)
	angle, k := r.n(360), r.in(60, 110)
	rr := max(1, (w*w+h*h)*r.in(60, 120)/100) // squared radius, doubled units
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := 2*x+1-w, 2*y+1-h
			var s int
			switch shade {
			case shadeSide: // brighter on one side, darker on the other
				proj := (int64(dx)*cosDeg(angle) + int64(dy)*sinDeg(angle)) / 16384
				s = 256 + k*int(proj)/(w+h)
			case shadeVignette: // darker towards the corners
				d := (dx-ox)*(dx-ox) + (dy-oy)*(dy-oy)
				s = max(70, 256-k*2*d/rr)
			default: // a lit spot: up to 1.3 inside, 0.6 outside
				d := (dx-2*ox)*(dx-2*ox) + (dy-2*oy)*(dy-2*oy)
				s = 155 + max(0, 175*(rr/2-d)/max(1, rr/2))
			}
			l.shade[y*w+x] = int32(s)
		}
	}
	return l
}

func (l *lighting) apply(x, y int, c rgb) rgb {
	s := 256
	if l.shade != nil {
		s = int(l.shade[y*l.w+x])
	}
	return rgb{l.channel(c.r, 0, s), l.channel(c.g, 1, s), l.channel(c.b, 2, s)}
}

func (l *lighting) channel(v, i, s int) int {
	v = v * l.gain[i] / 256
	v = (v-128)*l.contrast/256 + 128 + l.bright
	return v * s / 256
}

// ---- backgrounds ----------------------------------------------------------

// filler is a procedural fill.
type filler interface{ at(x, y int) rgb }

// mosaic is a Voronoi mosaic: foliage, gravel, crowds of leaves.
type mosaic struct {
	c0, c1 rgb
	cell   int
	gw     int
	px, py []int
	t      []int
}

func (r *rnd) mosaic(c0, c1 rgb, w, h int) *mosaic {
	m := &mosaic{c0: c0, c1: c1, cell: r.in(4, 12)}
	m.gw = w/m.cell + 3
	n := m.gw * (h/m.cell + 3)
	m.px, m.py, m.t = make([]int, n), make([]int, n), make([]int, n)
	for k := 0; k < n; k++ {
		m.px[k], m.py[k], m.t[k] = r.n(m.cell), r.n(m.cell), r.n(256)
	}
	return m
}

func (m *mosaic) at(x, y int) rgb {
	// Grid cell i+1 is the pixels' cell i, so every neighbour exists.
	cx, cy := x/m.cell+1, y/m.cell+1
	best, t := -1, 0
	for j := cy - 1; j <= cy+1; j++ {
		for i := cx - 1; i <= cx+1; i++ {
			k := j*m.gw + i
			dx, dy := (i-1)*m.cell+m.px[k]-x, (j-1)*m.cell+m.py[k]-y
			if d := dx*dx + dy*dy; best < 0 || d < best {
				best, t = d, m.t[k]
			}
		}
	}
	return lerp(m.c0, m.c1, t)
}

// bricks is a brick wall: offset rows, mortar lines, each brick its own
// shade between c0 and c1.
type bricks struct {
	c0, c1, mortar rgb
	bh, bw         int
	seed           uint32
}

func (r *rnd) bricks(c0, c1 rgb, h int) *bricks {
	bh := max(3, h*r.in(3, 7)/100)
	return &bricks{c0: c0, c1: c1, mortar: r.jitter(rgb{190, 185, 175}, 25), bh: bh, bw: bh * r.in(2, 3), seed: uint32(r.p.Uint64())}
}

func (b *bricks) at(x, y int) rgb {
	row := y / b.bh
	off := 0
	if row%2 == 1 {
		off = b.bw / 2
	}
	if y%b.bh == 0 || (x+off)%b.bw == 0 {
		return b.mortar
	}
	return lerp(b.c0, b.c1, int(hash2((x+off)/b.bw, row, b.seed)%256))
}

// tiles is a checker turned by 45°.
type tiles struct {
	c0, c1 rgb
	cell   int
}

func (t *tiles) at(x, y int) rgb {
	u, v := (x+y)/t.cell, (x-y+1<<20)/t.cell
	if (u+v)%2 == 0 {
		return t.c0
	}
	return t.c1
}

var (
	brickPals = [][2]rgb{{{150, 60, 45}, {110, 45, 35}}, {{185, 160, 120}, {150, 125, 95}}, {{95, 95, 100}, {70, 70, 78}}}
	foliages  = [][2]rgb{{{30, 70, 25}, {110, 150, 50}}, {{60, 80, 30}, {150, 140, 60}}, {{20, 50, 35}, {70, 120, 80}}}
	pales     = [][2]rgb{{{235, 240, 248}, {205, 215, 230}}, {{240, 225, 190}, {220, 200, 160}}}
	brights   = []rgb{{230, 200, 30}, {240, 110, 20}, {30, 160, 70}, {200, 30, 40}, {240, 240, 240}, {20, 20, 22}, {120, 40, 160}, {40, 120, 220}, {235, 90, 150}}
)

// backgroundB fills the canvas with one of four scenes that domain a never
// draws (a street facade over asphalt, foliage over grass or gravel, snow
// or sand, a cluttered interior over tiles) and more distractors, and
// returns the horizon row.
func backgroundB(c *canvas, r *rnd) int {
	w, h := c.w, c.h
	hz := h * r.in(15, 70) / 100
	var top, bottom filler
	var extra []func() // scene-specific distractors, drawn first
	amp := 0
	switch r.pick(30, 25, 20, 25) {
	case 0: // street: brick facade with windows over asphalt or paving
		if r.n(3) > 0 {
			bp := brickPals[r.n(len(brickPals))]
			top = r.bricks(r.jitter(bp[0], 15), r.jitter(bp[1], 15), h)
		} else { // concrete
			top = r.texture(texNoise, r.jitter(rgb{70, 70, 75}, 10), r.jitter(rgb{120, 120, 125}, 10), 0, h, w, h)
		}
		if r.n(2) == 0 {
			g := r.in(60, 110)
			bottom = r.texture(texNoise, rgb{g, g, g + 4}, rgb{g - 25, g - 25, g - 20}, hz, h, w, h)
		} else {
			bottom = &tiles{c0: r.jitter(rgb{150, 145, 140}, 20), c1: r.jitter(rgb{115, 110, 105}, 20), cell: r.in(5, 12)}
		}
		ww, wh := max(2, w*r.in(6, 12)/100), max(2, hz*r.in(15, 35)/100)
		glass := r.jitter(rgb{40, 55, 70}, 20)
		extra = append(extra, func() {
			for y := hz / 8; y+wh < hz; y += wh * 2 {
				for x := ww / 2; x+ww < w; x += ww * 2 {
					s := quad{{int64(x) * sub, int64(y) * sub}, {int64(x+ww) * sub, int64(y) * sub}, {int64(x+ww) * sub, int64(y+wh) * sub}, {int64(x) * sub, int64(y+wh) * sub}}
					fill(c, s, func(x, y int) { c.set(x, y, glass, amp) })
				}
			}
		})
	case 1: // park: foliage over grass or gravel
		f := foliages[r.n(len(foliages))]
		top = r.mosaic(r.jitter(f[0], 10), r.jitter(f[1], 10), w, h)
		if r.n(2) == 0 {
			bottom = r.mosaic(r.jitter(rgb{70, 120, 40}, 15), r.jitter(rgb{120, 160, 70}, 15), w, h)
		} else {
			bottom = r.mosaic(r.jitter(rgb{140, 130, 115}, 15), r.jitter(rgb{190, 180, 165}, 15), w, h)
		}
	case 2: // snow or sand: pale and smooth
		p := pales[r.n(len(pales))]
		top = r.texture(texGradient, r.jitter(rgb{200, 215, 235}, 10), r.jitter(rgb{235, 240, 245}, 8), 0, hz, w, h)
		bottom = r.texture(texNoise, r.jitter(p[0], 8), r.jitter(p[1], 8), hz, h, w, h)
	default: // interior: a strong wall colour with posters, over tiles
		base := r.from(brights, 20)
		top = r.texture(texGradient, base, lerp(base, rgb{}, r.in(40, 120)), 0, hz, w, h)
		bottom = &tiles{c0: r.color(), c1: r.color(), cell: r.in(4, 10)}
		for n := r.in(3, 8); n > 0; n-- {
			x, y := int64(r.n(w))*sub, int64(r.n(max(1, hz)))*sub
			pw, ph := int64(r.in(w/12+1, w/4+1))*sub, int64(r.in(h/12+1, h/4+1))*sub
			col, col2 := r.color(), r.color()
			period := r.in(0, 4)
			extra = append(extra, func() {
				fill(c, quad{{x, y}, {x + pw, y}, {x + pw, y + ph}, {x, y + ph}}, func(x, y int) {
					if period > 0 && (x/period)%2 == 1 {
						c.set(x, y, col2, amp)
						return
					}
					c.set(x, y, col, amp)
				})
			})
		}
	}
	amp = r.in(4, 14)
	for y := 0; y < h; y++ {
		t := top
		if y >= hz {
			t = bottom
		}
		for x := 0; x < w; x++ {
			c.set(x, y, t.at(x, y), amp)
		}
	}
	for _, f := range extra {
		f()
	}
	// Distractors: boxes, poles, trunks, discs, bushes and wires.
	for n := r.in(2, 7); n > 0; n-- {
		col := r.color()
		x, y := int64(r.n(w))*sub, int64(r.n(h))*sub
		var ss []shape
		switch r.pick(20, 25, 15, 15, 15, 10) {
		case 0:
			bw, bh := int64(r.in(w/16+1, w/4+1))*sub, int64(r.in(h/16+1, h/4+1))*sub
			ss = append(ss, quad{{x, y}, {x + bw, y}, {x + bw, y + bh}, {x, y + bh}})
		case 1: // a pole, maybe with a sign
			top := int64(r.in(0, hz))*sub - int64(h/4)*sub
			ss = append(ss, capsule{vec{x, top}, vec{x, int64(h) * sub}, int64(r.in(sub/2, sub*max(1, w/48)))})
			if r.n(2) == 0 {
				sw := int64(r.in(w/12+1, w/6+1)) * sub
				ss = append(ss, quad{{x - sw/2, top}, {x + sw/2, top}, {x + sw/2, top + sw*2/3}, {x - sw/2, top + sw*2/3}})
			}
		case 2: // a tree trunk
			col = r.jitter(rgb{90, 65, 45}, 20)
			rad := int64(r.in(max(1, w/40), max(2, w/16))) * sub
			ss = append(ss, capsule{vec{x, -rad}, vec{x + int64(r.in(-w/20, w/20))*sub, int64(hz+r.n(h-hz+1)) * sub}, rad})
		case 3:
			rr := int64(r.in(2, max(3, min(w, h)/6))) * sub
			ss = append(ss, ellipse{c: vec{x, y}, rx: rr, ry: rr * int64(r.in(60, 140)) / 100})
		case 4: // a bush: a few overlapping ellipses on the ground
			col = r.from(foliages[r.n(len(foliages))][:], 20)
			y = int64(hz+r.n(max(1, h-hz))) * sub
			for k := r.in(3, 6); k > 0; k-- {
				rr := int64(r.in(2, max(3, min(w, h)/10))) * sub
				ss = append(ss, ellipse{c: vec{x + int64(r.in(-w/12, w/12))*sub, y - int64(r.n(h/12+1))*sub}, rx: rr, ry: rr * 3 / 4})
			}
		default: // a wire across the picture
			col = r.jitter(rgb{30, 30, 30}, 10)
			ss = append(ss, capsule{vec{-sub, y}, vec{int64(w+1) * sub, int64(r.n(h)) * sub}, int64(r.in(sub/2, sub))})
		}
		for _, s := range ss {
			fill(c, s, func(x, y int) { c.set(x, y, col, amp) })
		}
	}
	return hz
}

// ---- figures --------------------------------------------------------------

// proportions are a body's lengths in per mille of its height.
type proportions struct {
	headRY, shoulder, hip, thigh, shin, upper, fore int
}

var (
	adult    = proportions{62, 175, 520, 245, 230, 165, 150}
	child    = proportions{88, 215, 545, 230, 215, 150, 135}
	longLegs = proportions{55, 160, 490, 262, 245, 172, 158}
)

var (
	coats      = []rgb{{190, 165, 120}, {80, 90, 50}, {25, 25, 30}, {150, 30, 35}, {60, 70, 95}}
	brightLegs = []rgb{{200, 30, 40}, {230, 200, 30}, {235, 235, 235}, {30, 140, 70}, {120, 170, 220}, {40, 60, 120}}
)

// poseB draws domain b's poses: more running, arms folded or carrying,
// pointing, hands behind the head and wide stances, fewer plain standing
// ones.
func (r *rnd) poseB() pose {
	var p pose
	for i := 0; i < 2; i++ {
		p.leg[i], p.knee[i] = r.in(2, 8), r.in(-6, 6)
		p.arm[i], p.elbow[i] = r.in(5, 20), r.in(-10, 20)
	}
	switch r.pick(12, 13, 20, 15, 10, 10, 20) {
	case 0: // standing
	case 1: // walking
		s := r.n(2)
		p.leg[s], p.knee[s] = r.in(10, 22), r.in(-10, 10)
		p.arm[s], p.arm[1-s] = r.in(10, 25), r.in(5, 20)
	case 2: // running: long strides, bent arms
		s := r.n(2)
		p.leg[s], p.knee[s] = r.in(25, 45), r.in(-35, 5)
		p.leg[1-s], p.knee[1-s] = r.in(10, 25), r.in(-70, -40)
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(20, 55), r.in(50, 95)
		}
	case 3: // arms folded or carrying: forearms across the body
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(5, 20), -r.in(75, 110)
		}
	case 4: // pointing
		s := r.n(2)
		p.arm[s], p.elbow[s] = r.in(75, 105), r.in(-8, 8)
	case 5: // hands behind the head
		for i := 0; i < 2; i++ {
			p.arm[i], p.elbow[i] = r.in(135, 160), -r.in(120, 150)
		}
	default: // wide stance
		for i := 0; i < 2; i++ {
			p.leg[i], p.knee[i] = r.in(12, 22), r.in(-5, 5)
			p.arm[i], p.elbow[i] = r.in(25, 45), r.in(-30, 10)
		}
	}
	return p
}

// sheared leans a shape: x moves by (y0-y)×k/100, so points at row y0 (the
// feet) stay.
func sheared(s shape, k, y0 int64) shape {
	v := func(p vec) vec { return vec{p.x + (y0-p.y)*k/100, p.y} }
	switch t := s.(type) {
	case capsule:
		return capsule{v(t.a), v(t.b), t.r}
	case ellipse:
		t.c = v(t.c)
		return t
	case quad:
		for i := range t {
			t[i] = v(t[i])
		}
		return t
	}
	return s
}

// personB builds figure k of domain b. Sizes come in three bands: far
// (1/7 to 1/4 of the picture's height, smaller than domain a's smallest),
// middle, and near (3/4 to 13/10: close-ups whose legs the frame cuts).
// Bodies vary more (child and long-legged proportions, wider builds),
// wear bright or striped clothes, coats and hats, take domain b's poses
// and may lean.
func personB(r *rnd, w, h, hz, k int) figure {
	lo, hi := max(8, h/7), max(9, h*13/10)
	var fh int
	switch r.pick(30, 35, 35) {
	case 0:
		fh = r.in(lo, max(lo, h/4))
	case 1:
		fh = r.in(max(lo, h/4), max(lo, h*2/3))
	default:
		fh = r.in(max(lo, h*3/4), hi)
	}
	depth := (fh - lo) * 1000 / max(1, hi-lo)
	footY := hz + (h+fh/4-hz)*depth/1000 + r.n(fh/12+1)
	left, right := -fh/8, w+fh/8
	if r.n(10) >= 3 && w-fh/4 > fh/4 {
		left, right = fh/4, w-fh/4
	}
	cxPix := r.in(left, right)

	pr := adult
	switch r.pick(55, 25, 20) {
	case 1:
		pr = child
	case 2:
		pr = longLegs
	}
	S := int64(fh) * sub
	f := func(per int) int64 { return S * int64(per) / 1000 }
	build := int64(r.in(75, 145))
	wd := func(per int) int64 { return S * int64(per) * build / 100000 }
	cx := int64(cxPix)*sub + sub/2
	foot := int64(footY) * sub
	top := foot - S

	skin := r.from(skins, 12)
	hair := r.from(hairs, 10)
	shirt := r.from(brights, 25)
	stripe := r.from(brights, 25)
	period := 0
	if r.n(100) < 40 {
		period = max(1, fh/24)
	}
	pants := r.from(brightLegs, 20)
	if r.n(100) < 40 {
		pants = r.from(trousers, 15)
	}
	shoe := r.from(shoes, 10)
	coat := r.from(coats, 15)
	hasCoat := r.n(100) < 30
	hat := r.pick(50, 30, 20) // none, cap, beanie
	hatCol := r.from(brights, 20)
	longSleeves := r.n(100) < 70
	lean := int64(0)
	if r.n(100) < 35 {
		lean = int64(r.in(6, 22))
		if r.n(2) == 0 {
			lean = -lean
		}
	}

	headRY := f(pr.headRY)
	headRX := headRY * int64(r.in(76, 94)) / 100
	head := vec{cx + f(r.in(-12, 12)), top + headRY}
	shY := top + f(pr.shoulder)
	hipY := top + f(pr.hip)
	sw, hw := wd(100+pr.headRY/4), wd(80)
	ar, lr := max(wd(32), sub/2), max(wd(44), sub/2)

	var parts []part
	add := func(s shape, c rgb) { parts = append(parts, part{s: sheared(s, lean, foot), col: c}) }
	addStriped := func(s shape) {
		parts = append(parts, part{s: sheared(s, lean, foot), col: shirt, alt: stripe, period: period})
	}
	p := r.poseB()
	var knees [2]vec
	for i, side := range []int64{-1, 1} {
		hip := vec{cx + side*hw*55/100, hipY}
		knee := limb(hip, side, p.leg[i], f(pr.thigh))
		ankle := limb(knee, side, p.leg[i]+p.knee[i], f(pr.shin))
		knees[i] = knee
		add(capsule{hip, knee, lr}, pants)
		add(capsule{knee, ankle, lr * 9 / 10}, pants)
		add(capsule{ankle, vec{ankle.x + side*f(50), ankle.y + f(10)}, max(lr*3/4, sub/2)}, shoe)
	}
	add(capsule{vec{cx - hw + lr, hipY}, vec{cx + hw - lr, hipY}, lr}, pants)
	add(capsule{vec{cx, head.y + headRY*3/4}, vec{cx, shY + f(10)}, wd(30)}, skin)
	if hasCoat { // down to the knees, flaring
		ky := max(knees[0].y, knees[1].y)
		add(quad{{cx - sw, shY + ar}, {cx + sw, shY + ar}, {cx + hw*3/2, ky}, {cx - hw*3/2, ky}}, coat)
	} else {
		addStriped(quad{{cx - sw, shY + ar}, {cx + sw, shY + ar}, {cx + hw, hipY + f(25)}, {cx - hw, hipY + f(25)}})
	}
	torsoTop := capsule{vec{cx - sw + ar, shY + ar}, vec{cx + sw - ar, shY + ar}, ar}
	if hasCoat {
		add(torsoTop, coat)
	} else {
		addStriped(torsoTop)
	}
	for i, side := range []int64{-1, 1} {
		sh := vec{cx + side*(sw-ar), shY + ar}
		elbow := limb(sh, side, p.arm[i], f(pr.upper))
		wrist := limb(elbow, side, p.arm[i]+p.elbow[i], f(pr.fore))
		upper := part{s: sheared(capsule{sh, elbow, ar}, lean, foot), col: shirt, alt: stripe, period: period}
		if hasCoat {
			upper = part{s: upper.s, col: coat}
		}
		parts = append(parts, upper)
		fore := skin
		if longSleeves {
			fore = upper.col
		}
		add(capsule{elbow, wrist, ar * 9 / 10}, fore)
		hand := limb(wrist, side, p.arm[i]+p.elbow[i], ar/2)
		add(ellipse{c: hand, rx: ar * 5 / 4, ry: ar * 5 / 4}, skin)
	}
	add(ellipse{c: head, rx: headRX, ry: headRY}, skin)
	switch hat {
	case 0: // hair
		add(ellipse{c: vec{head.x, head.y - headRY/10}, rx: headRX * 21 / 20, ry: headRY, cut: true, cutY: head.y - headRY/3}, hair)
	case 1: // a cap with a brim
		add(ellipse{c: vec{head.x, head.y - headRY/8}, rx: headRX * 11 / 10, ry: headRY, cut: true, cutY: head.y - headRY/3}, hatCol)
		side := int64(1)
		if r.n(2) == 0 {
			side = -1
		}
		by := head.y - headRY/3
		add(capsule{vec{head.x, by}, vec{head.x + side*headRX*8/5, by}, max(headRY/7, sub/2)}, hatCol)
	default: // a beanie, taller than the head
		add(ellipse{c: vec{head.x, head.y - headRY*3/10}, rx: headRX * 21 / 20, ry: headRY, cut: true, cutY: head.y - headRY/4}, hatCol)
	}
	return figure{parts: parts, foot: int64(footY), index: k}
}
