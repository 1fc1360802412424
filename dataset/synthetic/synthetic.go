// Package synthetic is the "synthetic" import format: a deterministic
// generator of person-like figures over textured backgrounds, with exact
// masks. Demos, tests and benchmarks use it when no real dataset is at hand.
//
// # Pictures
//
// Every picture has a textured background (sky over ground, wall over
// floor, or an abstract fill: gradients, value noise, stripes, checkers,
// planks, with grain) and a few distractor shapes (boxes, poles, discs) that
// belong to the background. Over it stand the figures: each has a head with
// hair, a neck, a torso, two arms with hands and two legs with shoes, drawn
// as capsules, ellipses and quadrilaterals, in varied sizes, builds, skin,
// hair and clothing colours (trousers, shorts or a skirt, long or short
// sleeves) and poses (standing, walking, waving, arms up, arms out, hands
// on hips, jumping). A figure's size and place come from a depth: nearer
// figures are larger and stand lower, and they are drawn later, so they
// occlude the figures behind them. Some figures stand partly outside the
// frame and are clipped. Edges are not anti-aliased: a pixel belongs to a
// figure exactly when its centre lies inside one of the figure's parts.
// That is domain a, the default.
//
// # Domains
//
// Option domain = "b" draws the same kind of pictures (persons with exact
// masks, the same options, names and annotations) with another look, as a
// collection of target photos differs from the public datasets a seed
// model was trained on; a model trained on domain a scores lower on it
// until it sees domain b pictures. Domain b changes:
//
//   - backgrounds: a brick or concrete facade with windows over asphalt or
//     paving, foliage (a Voronoi mosaic) over grass or gravel, pale snow or
//     sand, or a strongly coloured interior with posters over diagonal
//     tiles; the horizon lies anywhere from 15 % to 70 % of the height; two
//     to seven distractors (boxes, poles with signs, tree trunks, discs,
//     bushes, wires across the picture) and coarser grain;
//   - lighting, over background and figures alike: one of harsh daylight
//     (high contrast, one side lit), haze (washed out, bright, bluish),
//     evening (warm cast, darker, vignetted), night (blue cast, dark
//     outside a lamp's lit spot) or fluorescent interior (green cast, one
//     side lit);
//   - figure scales: three bands of height, far (1/7 to 1/4 of the
//     picture's height, smaller than any figure of domain a, whose figures
//     are 1/5 to 9/10), middle (1/4 to 2/3) and near (3/4 to 13/10:
//     close-ups whose legs the frame cuts);
//   - figure styles: child and long-legged proportions besides the adult
//     one, builds from narrow to wide, bright or horizontally striped
//     shirts, bright trousers, knee-length coats, caps and beanies, and
//     other poses (running, arms folded, pointing, hands behind the head,
//     wide stances), a third of the figures leaning by up to 12°.
//
// On the person recipe's pool options (96×96, 1-2 figures), 17 % of domain
// b's visible figures are under 1/5 of the height and 20 % at least 9/10
// (domain a: 3 % and 2 %); the pictures' mean brightness is lower and
// spreads nearly twice as widely (111 ± 49 on 0-255, a: 131 ± 27); figures
// cover 14 % of the pixels (a: 10 %) and differ from their background in
// brightness about as much as in domain a (TestDomainShift prints these
// figures). Domain a's pictures are those of
// the generator before domains existed, bit for bit.
//
// # Masks
//
// Each visible figure gives one bitmap object of class "person" (colour
// [Color]) whose mask is exactly the pixels that the figure shows in the
// picture: masks never overlap, occluded parts belong to the figure in
// front, and a figure that is wholly occluded or outside the frame gives no
// object. With encoding "png" the mask pixels are exactly the figure's
// pixels; with "jpeg" the compression blurs the edges as it would a photo.
//
// # Determinism
//
// Picture i depends only on the seed, the size, the figures range, the
// domain and i (not on count: a larger count only adds pictures), and its
// subset only on
// the seed, i and the split. The drawing uses integer arithmetic and
// seeded PCG streams with a platform-independent reduction, so the pixels
// are the same on every machine; the encoded bytes are the same for a given
// Go release (image/jpeg and image/png are deterministic).
//
// # Options
//
//	count    = "100"        number of pictures, 1 to 1,000,000
//	width    = "256"        picture width in pixels, 16 to 4096
//	height   = "256"        picture height in pixels, 16 to 4096
//	figures  = "1-3"        figures placed per picture: "N" or "MIN-MAX", 0 to 100
//	                        (the number is drawn uniformly; fewer may be visible)
//	seed     = "1"          the random seed, 0 to 2^64-1
//	encoding = "jpeg"       "jpeg" or "png" (lossless)
//	quality  = "90"         JPEG quality, 1 to 100 (only with encoding "jpeg")
//	dataset  = "synthetic"  the <dataset> part of the item names
//	split    = ""           subsets, e.g. "train=0.8,val=0.2": each picture is
//	                        tagged with one subset, drawn from its index and the
//	                        seed with the given weights (divided by their sum)
//	domain   = "a"          the look: "a" (the original) or "b" (other
//	                        backgrounds, lighting, scales and figure styles)
//
// Items are named "<dataset>/NNNNNN.jpg" (or .png), NNNNNN the picture's
// index from 000000, emitted in that order; each picture is drawn when the
// import step resolves its item, on the step's worker pool, so a large
// count never holds more pictures than the pool runs at once. Their
// annotations state the size, carry the subset as an image tag (without a
// value) and hold the figures' objects. The meta has the class "person"
// (bitmap) and one tag per subset.
//
// The source directory is not read: Import accepts an empty or nil source.
package synthetic

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"dsbuild/dataset"
)

// Class is the class of every figure, and Color its colour in the meta.
const (
	Class = "person"
	Color = "#DC143C"
)

// Generate draws picture i (i ≥ 0) of p and returns it with one mask per
// visible figure. The masks are the size of the picture, non-empty and
// disjoint, in drawing order (back to front); every pixel outside them is
// background. It fails only when p is not valid or i is negative.
func Generate(p Params, i int) (*image.RGBA, []*dataset.Mask, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if i < 0 {
		return nil, nil, fmt.Errorf("synthetic: picture index %d is negative", i)
	}
	s := render(&p, i)
	return s.c.img, s.masks(), nil
}

// masks splits the owner map into one full-size mask per visible figure,
// in drawing order.
func (s *scene) masks() []*dataset.Mask {
	w, h := s.c.w, s.c.h
	byID := make([]*dataset.Mask, 256)
	for o, id := range s.c.owner {
		if id == 0 {
			continue
		}
		m := byID[id]
		if m == nil {
			m = &dataset.Mask{W: w, H: h, Bits: make([]uint8, w*h)}
			byID[id] = m
		}
		m.Bits[o] = 1
	}
	var out []*dataset.Mask
	for _, id := range s.order {
		if byID[id] != nil {
			out = append(out, byID[id])
		}
	}
	return out
}

// Encode encodes a picture as p.Encoding says: JPEG at p.Quality, or PNG
// at png.BestSpeed (the pictures are noisy; better compression costs more
// time than it saves space).
func Encode(p Params, img image.Image) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch p.Encoding {
	case JPEG:
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: p.Quality})
	case PNG:
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img)
	default:
		err = fmt.Errorf("unknown encoding %q", p.Encoding)
	}
	if err != nil {
		return nil, fmt.Errorf("synthetic: encoding: %w", err)
	}
	return b.Bytes(), nil
}

// Name returns the item name of picture i: "<dataset>/NNNNNN.jpg" (or .png).
func (p Params) Name(i int) string {
	ext := ".jpg"
	if p.Encoding == PNG {
		ext = ".png"
	}
	return fmt.Sprintf("%s/%06d%s", p.Dataset, i, ext)
}

// Subset returns the subset that the split gives picture i, or "" without
// a split. It depends only on the seed, i and the split, and uses a
// per-picture hash, so the subsets' shares are close to the weights but not
// exact.
func (p Params) Subset(i int) string {
	if len(p.Split) == 0 {
		return ""
	}
	total := 0.0
	for _, pt := range p.Split {
		total += pt.Weight
	}
	u := mix(p.Seed ^ mix(uint64(i)^0x5851f42d4c957f2d))
	x := float64(float64(u>>11) / (1 << 53) * total)
	cum := 0.0
	for _, pt := range p.Split {
		cum += pt.Weight
		if x < cum {
			return pt.Name
		}
	}
	return p.Split[len(p.Split)-1].Name
}

// Meta returns the meta of the generated dataset: the person class and a
// tag per subset.
func (p Params) Meta() *dataset.Meta {
	m := &dataset.Meta{Classes: []dataset.Class{{Title: Class, Shape: dataset.ShapeBitmap, Color: Color}}}
	for _, pt := range p.Split {
		m.AddTag(dataset.TagMeta{Name: pt.Name, ValueType: dataset.TagNone})
	}
	m.Sort()
	return m
}

// Item generates and encodes picture i of p: the item the importer emits
// for it, resolved (dataset.SourceItem.Resolve).
func Item(p Params, i int) (*dataset.SourceItem, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	img, a, err := generate(&p, i)
	if err != nil {
		return nil, err
	}
	return &dataset.SourceItem{Name: p.Name(i), ImageBytes: img, Ann: a}, nil
}

// generate draws and encodes picture i of p, which is valid, and makes its
// annotation.
func generate(p *Params, i int) ([]byte, *dataset.Annotation, error) {
	s := render(p, i)
	data, err := Encode(*p, s.c.img)
	if err != nil {
		return nil, nil, err
	}
	a := &dataset.Annotation{Width: p.Width, Height: p.Height}
	if sub := p.Subset(i); sub != "" {
		a.Tags = []dataset.Tag{{Name: sub}}
	}
	for _, m := range s.masks() {
		crop, at, _ := m.Tight(image.Point{}) // every mask has a pixel
		a.Objects = append(a.Objects, dataset.Object{
			Class: Class, Shape: dataset.ShapeBitmap, Mask: crop, Origin: at,
		})
	}
	return data, a, nil
}

// NewImporter returns the generator configured by the options (see the
// package documentation).
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	p, err := ParseParams(opt)
	if err != nil {
		return nil, err
	}
	return &importer{p: p}, nil
}

// ImporterFor returns the generator for p, which must be valid.
func ImporterFor(p Params) (dataset.Importer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.Split = append([]Part(nil), p.Split...)
	return &importer{p: p}, nil
}

type importer struct {
	p Params
}

// Import emits the pictures in index order without drawing them: each
// item draws and encodes its picture when the import step resolves it
// (dataset.SourceItem.Generate), on the step's worker pool. src is not
// read and may be nil.
func (im *importer) Import(ctx context.Context, _ dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	p := im.p
	for i := range p.Count {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		it := &dataset.SourceItem{Name: p.Name(i), Generate: func() ([]byte, *dataset.Annotation, error) {
			return generate(&p, i)
		}}
		if err := emit(it); err != nil {
			return nil, err
		}
	}
	return p.Meta(), nil
}
