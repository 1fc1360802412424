package synthetic

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"dsbuild/dataset"
)

// Limits on the parameters. MaxSide keeps every fixed-point product in the
// drawing code inside int64; MaxCount keeps the six-digit item names in
// sorted order (one million names "000000" … "999999").
const (
	MinSide    = 16
	MaxSide    = 4096
	MaxCount   = 1_000_000
	MaxFigures = 100
)

// Domains: the looks of the pictures (see the package documentation).
// Domain a is the original look; b is the shifted one.
const (
	DomainA = "a"
	DomainB = "b"
)

// Encodings of the generated images.
const (
	JPEG = "jpeg"
	PNG  = "png"
)

// Params are the generator's settings. [DefaultParams] gives the defaults
// and [ParseParams] reads them from format options; a Params built by hand
// must pass [Params.Validate].
type Params struct {
	Count                  int    // number of images, indexes 0 … Count-1
	Width, Height          int    // image size in pixels
	MinFigures, MaxFigures int    // figures placed per image, inclusive range
	Seed                   uint64 // the random seed
	Encoding               string // JPEG or PNG
	Quality                int    // JPEG quality, 1-100
	Dataset                string // the <dataset> part of item names
	Split                  []Part // subsets; none when empty
	Domain                 string // DomainA or DomainB
}

// Part is one subset of a split, with its relative weight (the weights need
// not sum to 1: they are divided by their sum).
type Part struct {
	Name   string
	Weight float64
}

// DefaultParams returns the defaults: 100 JPEG images (quality 90) of
// 256×256 pixels with 1 to 3 figures each, seed 1, dataset "synthetic", no
// split, domain a.
func DefaultParams() Params {
	return Params{
		Count: 100, Width: 256, Height: 256,
		MinFigures: 1, MaxFigures: 3,
		Seed: 1, Encoding: JPEG, Quality: 90,
		Dataset: "synthetic", Domain: DomainA,
	}
}

// ParseParams reads the format options (see the package documentation),
// removing those it knows, and rejects unknown ones. Every error names the
// option at fault.
func ParseParams(opt dataset.Options) (Params, error) {
	p := DefaultParams()
	var errs []error
	intOpt := func(key, def string, lo, hi int) int {
		s := opt.Take(key, def)
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			errs = append(errs, fmt.Errorf("option %s = %q: want a whole number from %d to %d", key, s, lo, hi))
			return 0
		}
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("option %s = %d: must be from %d to %d", key, v, lo, hi))
		}
		return v
	}
	p.Count = intOpt("count", "100", 1, MaxCount)
	p.Width = intOpt("width", "256", MinSide, MaxSide)
	p.Height = intOpt("height", "256", MinSide, MaxSide)

	figs := opt.Take("figures", "1-3")
	if lo, hi, err := parseRange(figs); err != nil {
		errs = append(errs, fmt.Errorf("option figures = %q: %v", figs, err))
	} else {
		p.MinFigures, p.MaxFigures = lo, hi
	}

	seed := opt.Take("seed", "1")
	if v, err := strconv.ParseUint(strings.TrimSpace(seed), 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("option seed = %q: want a whole number from 0 to %d", seed, uint64(math.MaxUint64)))
	} else {
		p.Seed = v
	}

	p.Encoding = opt.Take("encoding", JPEG)
	if p.Encoding != JPEG && p.Encoding != PNG {
		errs = append(errs, fmt.Errorf("option encoding = %q: want %q or %q", p.Encoding, JPEG, PNG))
	}
	if q, ok := opt["quality"]; ok && p.Encoding == PNG {
		opt.Take("quality", "")
		errs = append(errs, fmt.Errorf("option quality = %q: only encoding %q has a quality", q, JPEG))
	} else {
		p.Quality = intOpt("quality", "90", 1, 100)
	}

	p.Dataset = opt.Take("dataset", "synthetic")
	if err := checkDataset(p.Dataset); err != nil {
		errs = append(errs, fmt.Errorf("option dataset = %q: %v", p.Dataset, err))
	}

	split := opt.Take("split", "")
	if parts, err := parseSplit(split); err != nil {
		errs = append(errs, fmt.Errorf("option split = %q: %v", split, err))
	} else {
		p.Split = parts
	}

	p.Domain = opt.Take("domain", DomainA)
	if err := checkDomain(p.Domain); err != nil {
		errs = append(errs, fmt.Errorf("option domain = %q: %v", p.Domain, err))
	}

	if err := opt.Done("synthetic"); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Params{}, fmt.Errorf("synthetic: %w", errors.Join(errs...))
	}
	return p, nil
}

// Validate checks p as ParseParams would.
func (p Params) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s = %d: must be from %d to %d", name, v, lo, hi))
		}
	}
	check("count", p.Count, 1, MaxCount)
	check("width", p.Width, MinSide, MaxSide)
	check("height", p.Height, MinSide, MaxSide)
	check("minimum figures", p.MinFigures, 0, MaxFigures)
	check("maximum figures", p.MaxFigures, p.MinFigures, MaxFigures)
	switch p.Encoding {
	case JPEG:
		check("quality", p.Quality, 1, 100)
	case PNG:
	default:
		errs = append(errs, fmt.Errorf("encoding %q: want %q or %q", p.Encoding, JPEG, PNG))
	}
	if err := checkDataset(p.Dataset); err != nil {
		errs = append(errs, fmt.Errorf("dataset %q: %v", p.Dataset, err))
	}
	if err := checkParts(p.Split); err != nil {
		errs = append(errs, fmt.Errorf("split: %v", err))
	}
	if err := checkDomain(p.Domain); err != nil {
		errs = append(errs, fmt.Errorf("domain %q: %v", p.Domain, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("synthetic: %w", errors.Join(errs...))
	}
	return nil
}

func checkDomain(d string) error {
	if d != DomainA && d != DomainB {
		return fmt.Errorf("want %q (the original look) or %q (other backgrounds, lighting, scales and figure styles)", DomainA, DomainB)
	}
	return nil
}

// parseRange reads "N" or "MIN-MAX".
func parseRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if !isRange {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf(`want "N" or "MIN-MAX", whole numbers from 0 to %d`, MaxFigures)
	}
	if lo < 0 || hi > MaxFigures || lo > hi {
		return 0, 0, fmt.Errorf("want 0 ≤ MIN ≤ MAX ≤ %d", MaxFigures)
	}
	return lo, hi, nil
}

func checkDataset(name string) error {
	if name == dataset.MetaFile || name == dataset.ManifestFile {
		return errors.New("the name is reserved for the dataset's own files")
	}
	return dataset.ValidItemName(name + "/000000.jpg")
}

// parseSplit reads "name=weight,name=weight,...".
func parseSplit(s string) ([]Part, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var parts []Part
	for _, f := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf(`%q: want NAME=WEIGHT, e.g. "train=0.8,val=0.2"`, strings.TrimSpace(f))
		}
		name, w = strings.TrimSpace(name), strings.TrimSpace(w)
		v, err := strconv.ParseFloat(w, 64)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: the weight is not a number", name, w)
		}
		parts = append(parts, Part{Name: name, Weight: v})
	}
	if err := checkParts(parts); err != nil {
		return nil, err
	}
	return parts, nil
}

func checkParts(parts []Part) error {
	seen := map[string]bool{}
	total := 0.0
	for _, pt := range parts {
		if !validTagName(pt.Name) {
			return fmt.Errorf("subset name %q: use letters, digits, '_', '-' and '.' (not first)", pt.Name)
		}
		if seen[pt.Name] {
			return fmt.Errorf("subset %q is named twice", pt.Name)
		}
		seen[pt.Name] = true
		if !(pt.Weight > 0) || math.IsInf(pt.Weight, 0) {
			return fmt.Errorf("subset %s: weight %v must be a positive number", pt.Name, pt.Weight)
		}
		total += pt.Weight
	}
	if math.IsInf(total, 0) {
		return fmt.Errorf("the weights sum to %v", total)
	}
	return nil
}

func validTagName(s string) bool {
	if s == "" || len(s) > 100 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
