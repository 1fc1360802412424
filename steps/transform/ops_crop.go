package transform

import (
	"image"
	"math"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/engine"
)

func init() {
	register(opSpec{
		Name: "crop",
		Doc: "Crops the image and its objects: either cuts the given amounts from the sides, or keeps a random part " +
			"of it at a random position. An empty crop leaves the item out.",
		Attrs: []engine.AttrSpec{
			{Name: "left", Type: tString, Doc: `"<int>px" or "<int>%" of the image width, cut from the left; default "0px"`},
			{Name: "top", Type: tString, Doc: `"<int>px" or "<int>%" of the image height, cut from the top; default "0px"`},
			{Name: "right", Type: tString, Doc: `"<int>px" or "<int>%" of the image width, cut from the right; default "0px"`},
			{Name: "bottom", Type: tString, Doc: `"<int>px" or "<int>%" of the image height, cut from the bottom; default "0px"`},
			{Name: "width_min", Type: tNumber, Doc: "random part: least width, in percent of the image width (0–100)"},
			{Name: "width_max", Type: tNumber, Doc: "random part: greatest width, in percent of the image width (0–100)"},
			{Name: "height_min", Type: tNumber, Doc: "random part: least height, in percent of the image height (0–100)"},
			{Name: "height_max", Type: tNumber, Doc: "random part: greatest height, in percent of the image height (0–100)"},
			{Name: "keep_aspect", Type: tBool, Default: cty.False, Doc: "random part: one percentage drawn for both sides (the ranges must be equal); default false"},
		},
		Build: buildCrop,
	})
}

// crop follows DTL's crop with flat attributes: DTL's sides {left, …} are
// the attributes left, top, right, bottom, and its random_part {width:
// {min_percent, max_percent}, height: {…}, keep_aspect_ratio} is width_min,
// width_max, height_min, height_max and keep_aspect. Departures: amounts are
// whole pixels or whole percents; a negative amount (which in DTL crops
// outside the image, an error at run time) and a percentage above 100 are
// errors when the recipe loads, so a crop can only be empty (the item is
// left out), never outside the image. The random part draws the width
// percentage, then the height percentage (unless keep_aspect), then the
// left and top offsets, from the item's generator.

type cropOp struct {
	sides                    bool
	left, top, right, bottom geoAmount
	wMin, wMax, hMin, hMax   float64
	keepAspect               bool
}

func buildCrop(p params) (Op, error) {
	sideNames := []string{"left", "top", "right", "bottom"}
	partNames := []string{"width_min", "width_max", "height_min", "height_max"}
	var sides, part []string
	for _, n := range sideNames {
		if p.has(n) {
			sides = append(sides, n)
		}
	}
	for _, n := range partNames {
		if p.has(n) {
			part = append(part, n)
		}
	}
	switch {
	case len(sides) > 0 && len(part) > 0:
		return nil, badParam(part[0], "cannot be given with %s: give either the sides to cut or a random part", sides[0])
	case len(sides) == 0 && len(part) == 0:
		return nil, badParam("", "give the sides to cut (left, top, right, bottom) or a random part (width_min, width_max, height_min, height_max)")
	}
	o := &cropOp{keepAspect: p.boolean("keep_aspect")}
	if len(sides) > 0 {
		if o.keepAspect {
			return nil, badParam("keep_aspect", "applies only to a random part (width_min, width_max, height_min, height_max)")
		}
		o.sides = true
		dst := []*geoAmount{&o.left, &o.top, &o.right, &o.bottom}
		for i, n := range sideNames {
			if !p.has(n) {
				continue
			}
			a, err := parseGeoAmount(p, n, 100)
			if err != nil {
				return nil, err
			}
			*dst[i] = a
		}
		// Percentages that leave nothing can never work: a diagnostic now,
		// not an empty crop on every item.
		for _, pair := range [][2]string{{"left", "right"}, {"top", "bottom"}} {
			a, b := *dst[indexOf(sideNames, pair[0])], *dst[indexOf(sideNames, pair[1])]
			absentOrPct := func(g geoAmount) bool { return g.pct || g.v == 0 }
			if absentOrPct(a) && absentOrPct(b) && (a.pct || b.pct) && a.v+b.v >= 100 {
				return nil, badParam(pair[1], "with %s removes %d%% of the image: nothing would be left", pair[0], a.v+b.v)
			}
		}
		return o, nil
	}
	dst := []*float64{&o.wMin, &o.wMax, &o.hMin, &o.hMax}
	for i, n := range partNames {
		if !p.has(n) {
			return nil, badParam("", "a random part needs width_min, width_max, height_min and height_max; %s is missing", n)
		}
		v := p.num(n)
		if math.IsNaN(v) || v < 0 || v > 100 {
			return nil, badParam(n, "must be a percentage between 0 and 100")
		}
		*dst[i] = v
	}
	if o.wMin > o.wMax {
		return nil, badParam("width_min", "is more than width_max")
	}
	if o.hMin > o.hMax {
		return nil, badParam("height_min", "is more than height_max")
	}
	if o.keepAspect && (o.wMin != o.hMin || o.wMax != o.hMax) {
		return nil, badParam("keep_aspect", "needs equal width and height ranges (one percentage is drawn for both)")
	}
	return o, nil
}

func (o *cropOp) Apply(it *Item) ([]*Item, error) {
	img, err := it.Pixels()
	if err != nil {
		return nil, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var r image.Rectangle
	if o.sides {
		// Not image.Rect, which would swap inverted bounds.
		r = image.Rectangle{Min: image.Pt(o.left.of(w), o.top.of(h)), Max: image.Pt(w-o.right.of(w), h-o.bottom.of(h))}
	} else {
		pw := geoUniform(it.Rand, o.wMin, o.wMax)
		ph := pw
		if !o.keepAspect {
			ph = geoUniform(it.Rand, o.hMin, o.hMax)
		}
		cw := min(w, int(math.Floor(float64(w)*pw/100)))
		ch := min(h, int(math.Floor(float64(h)*ph/100)))
		if cw <= 0 || ch <= 0 {
			return nil, nil
		}
		x, y := it.Rand.IntN(w-cw+1), it.Rand.IntN(h-ch+1)
		r = image.Rect(x, y, x+cw, y+ch)
	}
	if r.Empty() {
		return nil, nil // DTL: an empty crop yields nothing
	}
	if err := geoCrop(it, img, r); err != nil {
		return nil, err
	}
	return []*Item{it}, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
