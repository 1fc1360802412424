package transform

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// Pixel ops: noise, contrast_brightness, blur, random_color (DTL's layers
// of the same names), background and bbox.
//
// Determinism. Every random choice is drawn from the item's generator in a
// fixed order and number (documented per op), whatever the parameters'
// values. Float arithmetic uses only IEEE operations whose results are
// exact roundings (+ − × ÷, floor, ldexp), in a fixed order, with every
// product wrapped in an explicit float64 conversion so that the compiler
// may not fuse it into an FMA (Go allows that on GOAMD64=v3); the Gaussian
// kernel uses expNeg below instead of math.Exp, which may take an FMA path
// on CPUs that have one. Where it can, the work is done in integers
// (lookup tables, fixed-point matrices and kernels).
//
// Rounding. DTL converts its float results with numpy's astype(uint8),
// which truncates; dsbuild rounds to the nearest value (halves up), so that
// noise of mean 0 does not darken the image by half a level on average.
//
// Other departures from DTL: flat attributes (contrast_min for
// contrast.min, blur's kind for name); noise's mean defaults to 0;
// contrast_brightness needs only one of its two ranges (contrast defaults
// to 1, brightness to 0); blur's sigma_max defaults to sigma_min, and
// sigma is capped at 100 and the median kernel at 101 so that one item
// cannot take minutes; background and bbox: see their types.
//
// Alpha. Colour ops change R, G and B and keep A; as image.RGBA is
// alpha-premultiplied, results are clipped to [0, A] (to [0, 255] in the
// opaque pixels of ordinary images). blur filters all four channels, which
// is correct for premultiplied pixels.

func init() {
	register(opSpec{
		Name: "noise",
		Doc: "Adds Gaussian noise of the given mean and standard deviation to each colour channel of each pixel, " +
			"then rounds and clips to [0, 255]. Draws 3 normals per pixel, row by row.",
		Attrs: []engine.AttrSpec{
			{Name: "mean", Type: tNumber, Doc: "mean of the noise, in levels of 0–255; default 0"},
			{Name: "std", Type: tNumber, Required: true, Doc: "standard deviation of the noise, in levels (≥ 0)"},
		},
		Build: buildNoise,
	})
	register(opSpec{
		Name: "contrast_brightness",
		Doc: "Computes (v − c)·contrast + brightness + c for each colour channel, with contrast and brightness drawn " +
			"uniformly once per item (contrast first) from their ranges and c = 128 with center_grey, else 0. " +
			"Give either range or both; contrast defaults to 1 and brightness to 0.",
		Attrs: []engine.AttrSpec{
			{Name: "contrast_min", Type: tNumber, Doc: "in [0, 10]; give with contrast_max"},
			{Name: "contrast_max", Type: tNumber, Doc: "in [0, 10], ≥ contrast_min"},
			{Name: "center_grey", Type: tBool, Doc: "scale contrast about grey 128 instead of black; default false"},
			{Name: "brightness_min", Type: tNumber, Doc: "in [-255, 255]; give with brightness_max"},
			{Name: "brightness_max", Type: tNumber, Doc: "in [-255, 255], ≥ brightness_min"},
		},
		Build: buildContrastBrightness,
	})
	register(opSpec{
		Name: "blur",
		Doc: `Blurs the image: kind = "gaussian" with a sigma drawn uniformly per item from [sigma_min, sigma_max] ` +
			`(a separable kernel of radius ceil(3·sigma)), or kind = "median" over a kernel×kernel window. ` +
			"Pixels beyond the edges repeat the edge pixels.",
		Attrs: []engine.AttrSpec{
			{Name: "kind", Type: tString, Required: true, Doc: `"gaussian" or "median"`},
			{Name: "sigma_min", Type: tNumber, Doc: "gaussian: the smallest sigma, in pixels, in [0.01, 100]"},
			{Name: "sigma_max", Type: tNumber, Doc: "gaussian: the largest sigma, in [sigma_min, 100]; default sigma_min"},
			{Name: "kernel", Type: tNumber, Doc: "median: the window side, an odd number from 3 to 101"},
		},
		Build: buildBlur,
	})
	register(opSpec{
		Name: "random_color",
		Doc: "Multiplies each pixel's RGB row vector by I + N·strength/5, N a 3×3 matrix of standard normals " +
			"drawn once per item (row by row), then rounds and clips to [0, 255].",
		Attrs: []engine.AttrSpec{
			{Name: "strength", Type: tNumber, Doc: "in [0, 1]; default 0.25"},
		},
		Build: buildRandomColor,
	})
	register(opSpec{
		Name: "background",
		Doc: "Treats the pixels outside every object of the given classes (of every object when classes is " +
			"empty) as background: paints them with color, and/or adds a bitmap object of class covering " +
			"exactly them, as the first (back-most) object.",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Doc: "the foreground classes; default all"},
			{Name: "color", Type: tString, Doc: `"#RRGGBB": paint the background with this opaque colour`},
			{Name: "class", Type: tString, Doc: "add a background object of this new class (shape bitmap)"},
		},
		Build: buildBackground,
	})
	register(opSpec{
		Name: "bbox",
		Doc: "Replaces each object of the given classes (of every class when classes is empty) by its bounding " +
			"rectangle, clipped to the image; the classes become rectangle classes, renamed <class><suffix> " +
			"when suffix is given.",
		Attrs: []engine.AttrSpec{
			{Name: "classes", Type: tStringList, Doc: "classes to convert; default all"},
			{Name: "suffix", Type: tString, Doc: `appended to the converted classes' names ("_box": person → person_box); default none`},
		},
		Build: buildBBox,
	})
}

// pixFinite reads an optional number attribute, rejecting infinities.
func pixFinite(p params, name string) (float64, error) {
	f := p.num(name)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, badParam(name, "must be finite")
	}
	return f, nil
}

// pixInRange reads an optional number attribute and checks lo ≤ v ≤ hi.
func pixInRange(p params, name string, lo, hi float64) (float64, error) {
	f, err := pixFinite(p, name)
	if err != nil {
		return 0, err
	}
	if f < lo || f > hi {
		return 0, badParam(name, "must be between %s and %s, not %s", pixFmtNum(lo), pixFmtNum(hi), pixFmtNum(f))
	}
	return f, nil
}

// pixRows calls f with each row of img's pixels, top to bottom: 4 bytes
// (R, G, B, A) a pixel.
func pixRows(img *image.RGBA, f func(row []uint8)) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		f(img.Pix[y*img.Stride : y*img.Stride+4*w])
	}
}

func pixFmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// pixUniform draws a value in [lo, hi) (lo when they are equal). It always
// takes one draw from r, so that later draws do not depend on the range.
func pixUniform(it *Item, lo, hi float64) float64 {
	u := it.Rand.Float64()
	return lo + float64((hi-lo)*u)
}

// pixRoundClip rounds f to the nearest integer (halves up) and clips it to
// [0, hi]; NaN gives 0.
func pixRoundClip(f float64, hi uint8) uint8 {
	f = math.Floor(f + 0.5)
	if !(f > 0) {
		return 0
	}
	if f >= float64(hi) {
		return hi
	}
	return uint8(f)
}

// ---- noise

type noiseOp struct{ mean, std float64 }

func buildNoise(p params) (Op, error) {
	if !p.has("std") {
		return nil, badParam("std", "is required")
	}
	mean, err := pixFinite(p, "mean")
	if err != nil {
		return nil, err
	}
	std, err := pixFinite(p, "std")
	if err != nil {
		return nil, err
	}
	if std < 0 {
		return nil, badParam("std", "must not be negative")
	}
	return noiseOp{mean, std}, nil
}

func (o noiseOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.EditPixels()
	if err != nil {
		return nil, err
	}
	pixRows(img, func(row []uint8) {
		for x := 0; x < len(row); x += 4 {
			px := row[x : x+4]
			for c := 0; c < 3; c++ {
				n := it.Rand.NormFloat64()
				f := float64(px[c]) + o.mean
				f += float64(o.std * n)
				px[c] = pixRoundClip(f, px[3])
			}
		}
	})
	return []*Item{it}, nil
}

// ---- contrast_brightness

type contrastOp struct {
	cMin, cMax, bMin, bMax float64
	center                 float64
}

func buildContrastBrightness(p params) (Op, error) {
	o := contrastOp{cMin: 1, cMax: 1}
	if p.boolean("center_grey") {
		o.center = 128
	}
	given := false
	for _, r := range []struct {
		lo, hi   string
		min, max float64
		dLo, dHi *float64
	}{
		{"contrast_min", "contrast_max", 0, 10, &o.cMin, &o.cMax},
		{"brightness_min", "brightness_max", -255, 255, &o.bMin, &o.bMax},
	} {
		switch {
		case !p.has(r.lo) && !p.has(r.hi):
			continue
		case !p.has(r.lo):
			return nil, badParam(r.hi, "needs %s", r.lo)
		case !p.has(r.hi):
			return nil, badParam(r.lo, "needs %s", r.hi)
		}
		given = true
		var err error
		if *r.dLo, err = pixInRange(p, r.lo, r.min, r.max); err != nil {
			return nil, err
		}
		if *r.dHi, err = pixInRange(p, r.hi, r.min, r.max); err != nil {
			return nil, err
		}
		if *r.dHi < *r.dLo {
			return nil, badParam(r.hi, "must not be less than %s", r.lo)
		}
	}
	if !given {
		return nil, badParam("", "give contrast_min and contrast_max, or brightness_min and brightness_max, or both")
	}
	return o, nil
}

func (o contrastOp) Apply(it *Item) ([]*Item, error) {
	// Two draws, contrast first, whatever the ranges.
	a := pixUniform(it, o.cMin, o.cMax)
	b := pixUniform(it, o.bMin, o.bMax)
	var lut [256]uint8
	for v := range lut {
		f := float64(v) - o.center
		f = float64(f*a) + b
		f += o.center
		lut[v] = pixRoundClip(f, 255)
	}
	img, err := it.EditPixels()
	if err != nil {
		return nil, err
	}
	pixRows(img, func(row []uint8) {
		for x := 0; x < len(row); x += 4 {
			alpha := row[x+3]
			for c := x; c < x+3; c++ {
				row[c] = min(lut[row[c]], alpha)
			}
		}
	})
	return []*Item{it}, nil
}

// ---- blur

const (
	blurMaxSigma  = 100
	blurMaxKernel = 101
)

type blurOp struct {
	median             bool
	sigmaMin, sigmaMax float64
	kernel             int
}

func buildBlur(p params) (Op, error) {
	switch k := p.str("kind"); k {
	case "gaussian":
		for _, n := range []string{"kernel"} {
			if p.has(n) {
				return nil, badParam(n, `is for kind = "median"`)
			}
		}
		if !p.has("sigma_min") {
			return nil, badParam("sigma_min", `is required with kind = "gaussian"`)
		}
		lo, err := pixInRange(p, "sigma_min", 0.01, blurMaxSigma)
		if err != nil {
			return nil, err
		}
		hi := lo
		if p.has("sigma_max") {
			if hi, err = pixInRange(p, "sigma_max", 0.01, blurMaxSigma); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, badParam("sigma_max", "must not be less than sigma_min")
			}
		}
		return blurOp{sigmaMin: lo, sigmaMax: hi}, nil
	case "median":
		for _, n := range []string{"sigma_min", "sigma_max"} {
			if p.has(n) {
				return nil, badParam(n, `is for kind = "gaussian"`)
			}
		}
		if !p.has("kernel") {
			return nil, badParam("kernel", `is required with kind = "median"`)
		}
		k, err := p.integer("kernel")
		if err != nil {
			return nil, err
		}
		if k < 3 || k > blurMaxKernel || k%2 == 0 {
			return nil, badParam("kernel", "must be an odd number from 3 to %d, not %d", blurMaxKernel, k)
		}
		return blurOp{median: true, kernel: k}, nil
	default:
		if !p.has("kind") {
			return nil, badParam("kind", "is required")
		}
		return nil, badParam("kind", `is %q; use "gaussian" or "median"`, k)
	}
}

func (o blurOp) Apply(it *Item) ([]*Item, error) {
	var sigma float64
	if !o.median {
		sigma = pixUniform(it, o.sigmaMin, o.sigmaMax) // one draw
	}
	img, err := it.EditPixels()
	if err != nil {
		return nil, err
	}
	if o.median {
		medianBlur(img, o.kernel/2)
	} else {
		gaussianBlur(img, gaussKernel(sigma))
	}
	return []*Item{it}, nil
}

// blurKernelScale is the fixed-point scale of Gaussian weights.
const blurKernelScale = 1 << 20

// gaussKernel returns the weights exp(−i²/2σ²), i = −r … r, r = ceil(3σ),
// normalised and rounded to integers of sum ≈ blurKernelScale, with the taps
// that round to 0 trimmed off both ends (which changes no result).
func gaussKernel(sigma float64) []int64 {
	r := int(math.Ceil(3 * sigma))
	den := float64(2*sigma) * sigma
	g := make([]float64, 2*r+1)
	sum := 0.0
	for i := -r; i <= r; i++ {
		g[i+r] = expNeg(-float64(i*i) / den)
	}
	for _, v := range g {
		sum += v
	}
	w := make([]int64, len(g))
	for i, v := range g {
		w[i] = int64(math.Floor(float64(v/sum*blurKernelScale) + 0.5))
	}
	for len(w) > 1 && w[0] == 0 {
		w = w[1 : len(w)-1]
	}
	return w
}

// expNeg returns e^x for x ≤ 0 using + − × ÷, floor and ldexp in a fixed
// order, so that it gives the same bits on every machine (math.Exp may take
// an FMA path on amd64). The relative error is below 1e-15.
func expNeg(x float64) float64 {
	if !(x > -746) { // underflows to 0; NaN too
		return 0
	}
	// ln2 split in two (Cody and Waite, as in package math): k·ln2Hi is
	// exact for |k| < 2^20.
	const (
		ln2    = 0.6931471805599453
		ln2Hi  = 6.93147180369123816490e-01
		ln2Lo  = 1.90821492927058770002e-10
		invLn2 = 1 / ln2
	)
	k := math.Floor(float64(x*invLn2) + 0.5)
	r := x - float64(k*ln2Hi)
	r -= float64(k * ln2Lo) // |r| ≤ ln2/2 + ε
	sum, term := 1.0, 1.0
	for n := 1; n <= 20; n++ {
		term = float64(term*r) / float64(n)
		sum += term
	}
	return math.Ldexp(sum, int(k))
}

// gaussianBlur convolves the four channels of img with w along the rows,
// then along the columns, in integers, repeating the edge pixels; the one
// rounding is at the end.
func gaussianBlur(img *image.RGBA, w []int64) {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	if W == 0 || H == 0 {
		return
	}
	r := len(w) / 2
	var total int64
	for _, v := range w {
		total += v
	}
	// Rows: tmp holds Σ w·v ≤ 255·total < 2^31.
	tmp := make([]int32, 4*W*H)
	pad := make([]uint8, 4*(W+2*r))
	acc := make([]int64, 4*W)
	for y := 0; y < H; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*W]
		for x := -r; x < W+r; x++ {
			sx := min(max(x, 0), W-1)
			copy(pad[4*(x+r):4*(x+r)+4], row[4*sx:4*sx+4])
		}
		clear(acc)
		for k, wk := range w {
			src := pad[4*k : 4*k+4*W]
			for i, v := range src {
				acc[i] += wk * int64(v)
			}
		}
		dst := tmp[4*W*y : 4*W*(y+1)]
		for i, v := range acc {
			dst[i] = int32(v)
		}
	}
	// Columns: Σ w·tmp ≤ 255·total² < 2^43.
	t2 := total * total
	for y := 0; y < H; y++ {
		clear(acc)
		for k, wk := range w {
			sy := min(max(y+k-r, 0), H-1)
			src := tmp[4*W*sy : 4*W*(sy+1)]
			for i, v := range src {
				acc[i] += wk * int64(v)
			}
		}
		row := img.Pix[y*img.Stride : y*img.Stride+4*W]
		for i, v := range acc {
			row[i] = uint8((v + t2/2) / t2)
		}
	}
}

// medianBlur replaces each channel value by the median of the
// (2r+1)×(2r+1) window around it, repeating the edge pixels (Huang's
// sliding histogram).
func medianBlur(img *image.RGBA, r int) {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	if W == 0 || H == 0 {
		return
	}
	k := 2*r + 1
	PW, PH := W+2*r, H+2*r
	plane := make([]uint8, PW*PH)
	out := make([]uint8, W*H)
	half := k * k / 2 // the median has half values below it
	for c := 0; c < 4; c++ {
		for py := 0; py < PH; py++ {
			sy := min(max(py-r, 0), H-1)
			for px := 0; px < PW; px++ {
				sx := min(max(px-r, 0), W-1)
				plane[py*PW+px] = img.Pix[sy*img.Stride+4*sx+c]
			}
		}
		var hist [256]int
		for y := 0; y < H; y++ {
			hist = [256]int{}
			for wy := y; wy < y+k; wy++ {
				for _, v := range plane[wy*PW : wy*PW+k] {
					hist[v]++
				}
			}
			m, lt := 0, 0 // the median and the count of values below it
			for lt+hist[m] <= half {
				lt += hist[m]
				m++
			}
			out[y*W] = uint8(m)
			for x := 1; x < W; x++ {
				for wy := y; wy < y+k; wy++ {
					gone, come := plane[wy*PW+x-1], plane[wy*PW+x+k-1]
					hist[gone]--
					hist[come]++
					if int(gone) < m {
						lt--
					}
					if int(come) < m {
						lt++
					}
				}
				for lt > half {
					m--
					lt -= hist[m]
				}
				for lt+hist[m] <= half {
					lt += hist[m]
					m++
				}
				out[y*W+x] = uint8(m)
			}
		}
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				img.Pix[y*img.Stride+4*x+c] = out[y*W+x]
			}
		}
	}
}

// ---- random_color

type randomColorOp struct{ strength float64 }

func buildRandomColor(p params) (Op, error) {
	s := 0.25
	if p.has("strength") {
		var err error
		if s, err = pixInRange(p, "strength", 0, 1); err != nil {
			return nil, err
		}
	}
	return randomColorOp{s}, nil
}

func (o randomColorOp) Apply(it *Item) ([]*Item, error) {
	// A = I + N·strength/5, nine draws row by row, in fixed point 2^16.
	k := o.strength / 5
	var q [3][3]int64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			a := float64(it.Rand.NormFloat64() * k)
			if i == j {
				a++
			}
			q[i][j] = int64(math.Floor(float64(a*65536) + 0.5))
		}
	}
	img, err := it.EditPixels()
	if err != nil {
		return nil, err
	}
	pixRows(img, func(row []uint8) {
		for x := 0; x < len(row); x += 4 {
			v0, v1, v2, alpha := int64(row[x]), int64(row[x+1]), int64(row[x+2]), int64(row[x+3])
			for j := 0; j < 3; j++ { // the row vector v times A
				s := (v0*q[0][j] + v1*q[1][j] + v2*q[2][j] + 1<<15) >> 16 // floor: rounds halves up
				row[x+j] = uint8(min(max(s, 0), alpha))
			}
		}
	})
	return []*Item{it}, nil
}

// ---- background

// backgroundOp follows DTL's background layer, which adds a rectangle of
// the whole image of a new class as the first object, so that renderers
// that paint objects in order (later over earlier) show it only where no
// other object is. dsbuild's object is instead a bitmap of exactly the
// background pixels, also first: painted in order it gives the same
// picture as DTL's, and per-object uses (areas, IoU, per-class masks,
// instance exports) do not count object pixels as background. dsbuild's op
// also paints the background (color), and may take the foreground from
// some classes only, for both.
type backgroundOp struct {
	classes []string
	paint   bool
	rgb     [3]uint8
	class   string
}

func buildBackground(p params) (Op, error) {
	o := backgroundOp{classes: p.strs("classes"), class: p.str("class")}
	if p.has("color") {
		c, err := parseRGBHex(p.str("color"))
		if err != nil {
			return nil, badParam("color", "%v", err)
		}
		o.paint, o.rgb = true, c
	}
	if p.has("class") {
		if o.class == "" {
			return nil, badParam("class", "must not be empty")
		}
		if slices.Contains(o.classes, o.class) {
			return nil, badParam("class", "is one of classes; the background class must be new")
		}
	}
	if err := noEmptyName("classes", o.classes, "must not hold an empty name"); err != nil {
		return nil, err
	}
	if !o.paint && o.class == "" {
		return nil, badParam("", "give color, class or both")
	}
	return o, nil
}

// parseRGBHex reads "#RRGGBB".
func parseRGBHex(s string) ([3]uint8, error) {
	var c [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return c, fmt.Errorf("is %q; write a colour as \"#RRGGBB\"", s)
	}
	for i := range c {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return c, fmt.Errorf("is %q; write a colour as \"#RRGGBB\" in hexadecimal digits", s)
		}
		c[i] = uint8(v)
	}
	return c, nil
}

func (o backgroundOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, o.classes); err != nil {
		return nil, err
	}
	if o.class == "" {
		return in, nil
	}
	if in.Class(o.class) != nil {
		return nil, fmt.Errorf("class %q is already in the input; the background class must be new", o.class)
	}
	out := *in
	out.Classes = append([]dataset.Class(nil), in.Classes...)
	out.AddClass(dataset.Class{Title: o.class, Shape: dataset.ShapeBitmap})
	out.Sort()
	return &out, nil
}

func (o backgroundOp) Apply(it *Item) ([]*Item, error) {
	w, h := it.Ann.Width, it.Ann.Height
	var img *image.RGBA
	if o.paint {
		var err error
		if img, err = it.Pixels(); err != nil {
			return nil, err
		}
		w, h = img.Rect.Dx(), img.Rect.Dy()
	}
	fg, err := o.foreground(it.Ann.Objects, w, h)
	if err != nil {
		return nil, err
	}
	if o.paint {
		it.Touch()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if fg.Bits[y*w+x] == 0 {
					i := y*img.Stride + 4*x
					img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = o.rgb[0], o.rgb[1], o.rgb[2], 255
				}
			}
		}
	}
	if o.class != "" {
		for i, b := range fg.Bits {
			fg.Bits[i] = 1 - min(b, 1)
		}
		if x0, y0, x1, y1, ok := fg.BBox(); ok {
			m, err := fg.Crop(x0, y0, x1-x0, y1-y0)
			if err != nil {
				return nil, err
			}
			bg := dataset.Object{Class: o.class, Shape: dataset.ShapeBitmap, Mask: m, Origin: image.Pt(x0, y0)}
			it.Ann.Objects = append([]dataset.Object{bg}, it.Ann.Objects...)
		}
	}
	return []*Item{it}, nil
}

// foreground is the w×h union of the objects of o's classes (of all
// objects when there are none).
func (o backgroundOp) foreground(objs []dataset.Object, w, h int) (*dataset.Mask, error) {
	fg, err := dataset.NewMask(w, h)
	if err != nil {
		return nil, err
	}
	var polys []dataset.Polygon
	for i := range objs {
		ob := &objs[i]
		if len(o.classes) > 0 && !slices.Contains(o.classes, ob.Class) {
			continue
		}
		switch ob.Shape {
		case dataset.ShapeBitmap:
			if ob.Mask != nil {
				fg.Paste(ob.Mask, ob.Origin.X, ob.Origin.Y)
			}
		case dataset.ShapePolygon:
			polys = append(polys, ob.Polygon)
		case dataset.ShapeRectangle:
			r := ob.Rect.Intersect(image.Rect(0, 0, w, h))
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					fg.Bits[y*w+x] = 1
				}
			}
		default:
			return nil, fmt.Errorf("object %d of class %q has unknown shape %q", i, ob.Class, ob.Shape)
		}
	}
	if len(polys) > 0 {
		pm, err := dataset.Rasterize(w, h, polys)
		if err != nil {
			return nil, err
		}
		fg.Paste(pm, 0, 0)
	}
	return fg, nil
}

// ---- bbox

// bboxOp follows DTL's bbox layer, which maps {class: new_class} and makes
// new_class a rectangle class (classes not listed pass unchanged). dsbuild
// takes a list of classes (all when empty) and an optional suffix for the
// new names (a rename op after it gives any other name); without a suffix
// the classes keep their names and become rectangle classes.
type bboxOp struct {
	classes []string
	suffix  string
}

func buildBBox(p params) (Op, error) {
	o := bboxOp{classes: p.strs("classes"), suffix: p.str("suffix")}
	if p.has("suffix") && o.suffix == "" {
		return nil, badParam("suffix", "must not be empty (leave it out to keep the class names)")
	}
	if err := noEmptyName("classes", o.classes, "must not hold an empty name"); err != nil {
		return nil, err
	}
	return o, nil
}

func (o bboxOp) selected(class string) bool {
	return len(o.classes) == 0 || slices.Contains(o.classes, class)
}

func (o bboxOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, o.classes); err != nil {
		return nil, err
	}
	out := &dataset.Meta{Tags: in.Tags}
	for _, c := range in.Classes {
		if o.selected(c.Title) {
			c.Title += o.suffix
			c.Shape = dataset.ShapeRectangle
		}
		out.MergeClass(c) // a converted class may meet one of its name
	}
	out.Sort()
	return out, nil
}

func (o bboxOp) Apply(it *Item) ([]*Item, error) {
	frame := image.Rect(0, 0, it.Ann.Width, it.Ann.Height)
	objs := make([]dataset.Object, 0, len(it.Ann.Objects))
	for _, ob := range it.Ann.Objects {
		if !o.selected(ob.Class) {
			objs = append(objs, ob)
			continue
		}
		r := ob.Bounds().Intersect(frame)
		if r.Empty() {
			continue
		}
		objs = append(objs, dataset.Object{Class: ob.Class + o.suffix, Tags: ob.Tags, Shape: dataset.ShapeRectangle, Rect: r})
	}
	it.Ann.Objects = objs
	return []*Item{it}, nil
}
