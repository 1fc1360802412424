package synthetic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"reflect"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// collect runs an importer and returns what it emitted, resolved as the
// import step resolves it.
func collect(t testing.TB, imp dataset.Importer, src dataset.Source) ([]*dataset.SourceItem, *dataset.Meta) {
	t.Helper()
	var items []*dataset.SourceItem
	meta, err := imp.Import(context.Background(), src, func(it *dataset.SourceItem) error {
		it.Resolve()
		items = append(items, it)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items, meta
}

func copyOpt(o dataset.Options) dataset.Options {
	c := dataset.Options{}
	for k, v := range o {
		c[k] = v
	}
	return c
}

func mustImporter(t testing.TB, opt dataset.Options) dataset.Importer {
	t.Helper()
	imp, err := NewImporter(opt)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func canon(t testing.TB, a *dataset.Annotation) []byte {
	t.Helper()
	b, err := dataset.EncodeAnnotation(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaults(t *testing.T) {
	p, err := ParseParams(dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Params{Count: 100, Width: 256, Height: 256, MinFigures: 1, MaxFigures: 3, Seed: 1, Encoding: "jpeg", Quality: 90, Dataset: "synthetic", Domain: "a"}
	if !reflect.DeepEqual(p, want) || !reflect.DeepEqual(DefaultParams(), want) {
		t.Errorf("defaults %+v, want %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseParams(t *testing.T) {
	good := []struct {
		opt  dataset.Options
		want func(*Params)
	}{
		{dataset.Options{"count": "7", "width": "64", "height": "48"}, func(p *Params) { p.Count, p.Width, p.Height = 7, 64, 48 }},
		{dataset.Options{"figures": "4"}, func(p *Params) { p.MinFigures, p.MaxFigures = 4, 4 }},
		{dataset.Options{"figures": " 0 - 100 "}, func(p *Params) { p.MinFigures, p.MaxFigures = 0, 100 }},
		{dataset.Options{"seed": "18446744073709551615"}, func(p *Params) { p.Seed = math.MaxUint64 }},
		{dataset.Options{"encoding": "png"}, func(p *Params) { p.Encoding = PNG }},
		{dataset.Options{"quality": "75"}, func(p *Params) { p.Quality = 75 }},
		{dataset.Options{"dataset": "people"}, func(p *Params) { p.Dataset = "people" }},
		{dataset.Options{"split": "train=0.8, val=0.2"}, func(p *Params) { p.Split = []Part{{"train", 0.8}, {"val", 0.2}} }},
		{dataset.Options{"split": "a=3,b=1,c=1e-3"}, func(p *Params) { p.Split = []Part{{"a", 3}, {"b", 1}, {"c", 0.001}} }},
		{dataset.Options{"split": " "}, func(p *Params) {}},
		{dataset.Options{"domain": "a"}, func(p *Params) {}},
		{dataset.Options{"domain": "b"}, func(p *Params) { p.Domain = DomainB }},
	}
	for _, g := range good {
		want := DefaultParams()
		g.want(&want)
		opt := dataset.Options{}
		for k, v := range g.opt {
			opt[k] = v
		}
		p, err := ParseParams(opt)
		if err != nil || !reflect.DeepEqual(p, want) {
			t.Errorf("ParseParams(%v) = %+v, %v; want %+v", g.opt, p, err, want)
		}
		if len(opt) != 0 {
			t.Errorf("ParseParams(%v) left %v", g.opt, opt)
		}
	}
	bad := []struct {
		opt  dataset.Options
		want string
	}{
		{dataset.Options{"count": "0"}, "option count = 0: must be from 1 to 1000000"},
		{dataset.Options{"count": "1000001"}, "option count = 1000001"},
		{dataset.Options{"count": "ten"}, `option count = "ten": want a whole number`},
		{dataset.Options{"count": "1.5"}, `option count = "1.5"`},
		{dataset.Options{"width": "15"}, "option width = 15: must be from 16 to 4096"},
		{dataset.Options{"height": "4097"}, "option height = 4097"},
		{dataset.Options{"height": ""}, `option height = ""`},
		{dataset.Options{"figures": "3-1"}, `option figures = "3-1": want 0 ≤ MIN ≤ MAX ≤ 100`},
		{dataset.Options{"figures": "101"}, `option figures = "101"`},
		{dataset.Options{"figures": "-1"}, `option figures = "-1"`},
		{dataset.Options{"figures": "1-2-3"}, `option figures = "1-2-3"`},
		{dataset.Options{"figures": "a-b"}, `option figures = "a-b": want "N" or "MIN-MAX"`},
		{dataset.Options{"seed": "-1"}, `option seed = "-1"`},
		{dataset.Options{"seed": "18446744073709551616"}, `option seed = "18446744073709551616"`},
		{dataset.Options{"encoding": "JPEG"}, `option encoding = "JPEG": want "jpeg" or "png"`},
		{dataset.Options{"encoding": "webp"}, `option encoding = "webp"`},
		{dataset.Options{"quality": "0"}, "option quality = 0: must be from 1 to 100"},
		{dataset.Options{"quality": "101"}, "option quality = 101"},
		{dataset.Options{"encoding": "png", "quality": "80"}, `option quality = "80": only encoding "jpeg" has a quality`},
		{dataset.Options{"dataset": ""}, `option dataset = ""`},
		{dataset.Options{"dataset": "a/b"}, `option dataset = "a/b"`},
		{dataset.Options{"dataset": ".x"}, `option dataset = ".x"`},
		{dataset.Options{"dataset": "manifest.jsonl"}, `option dataset = "manifest.jsonl": the name is reserved`},
		{dataset.Options{"split": "train"}, `option split = "train": "train": want NAME=WEIGHT`},
		{dataset.Options{"split": "train=0.8,"}, `option split = "train=0.8,"`},
		{dataset.Options{"split": "train=x"}, `train=x: the weight is not a number`},
		{dataset.Options{"split": "train=0"}, "subset train: weight 0 must be a positive number"},
		{dataset.Options{"split": "train=-1"}, "subset train: weight -1"},
		{dataset.Options{"split": "train=NaN"}, "subset train: weight NaN"},
		{dataset.Options{"split": "train=Inf"}, "subset train: weight +Inf"},
		{dataset.Options{"split": "a=1e308,b=1e308"}, "the weights sum to +Inf"},
		{dataset.Options{"split": "a=1,a=2"}, `subset "a" is named twice`},
		{dataset.Options{"split": "=1"}, `subset name ""`},
		{dataset.Options{"split": "a b=1"}, `subset name "a b"`},
		{dataset.Options{"colour": "red"}, `format synthetic has no option "colour"`},
		{dataset.Options{"domain": "c"}, `option domain = "c": want "a" (the original look) or "b"`},
		{dataset.Options{"domain": "B"}, `option domain = "B"`},
		{dataset.Options{"domain": ""}, `option domain = ""`},
	}
	for _, b := range bad {
		_, err := ParseParams(copyOpt(b.opt))
		if err == nil || !strings.Contains(err.Error(), b.want) || !strings.HasPrefix(err.Error(), "synthetic: ") {
			t.Errorf("ParseParams(%v) = %v, want an error with %q", b.opt, err, b.want)
		}
		if _, err := NewImporter(copyOpt(b.opt)); err == nil {
			t.Errorf("NewImporter(%v) accepted it", b.opt)
		}
	}
	// Several problems are all reported.
	_, err := ParseParams(dataset.Options{"count": "0", "width": "x", "split": "a"})
	for _, s := range []string{"option count", "option width", "option split"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not mention %s", err, s)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, mod := range []func(*Params){
		func(p *Params) { p.Count = 0 },
		func(p *Params) { p.Width = 5000 },
		func(p *Params) { p.MinFigures, p.MaxFigures = 3, 2 },
		func(p *Params) { p.Encoding = "gif" },
		func(p *Params) { p.Quality = 0 },
		func(p *Params) { p.Dataset = "" },
		func(p *Params) { p.Split = []Part{{"x", math.NaN()}} },
		func(p *Params) { p.Domain = "" },
		func(p *Params) { p.Domain = "c" },
	} {
		p := DefaultParams()
		mod(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", p)
		}
		if _, _, err := Generate(p, 0); err == nil {
			t.Errorf("Generate(%+v) = nil error", p)
		}
		if _, err := ImporterFor(p); err == nil {
			t.Errorf("ImporterFor(%+v) = nil error", p)
		}
	}
	if _, _, err := Generate(DefaultParams(), -1); err == nil {
		t.Error("Generate at index -1 succeeded")
	}
}

// TestDeterminism imports twice and checks that every byte agrees, and
// agrees with Item.
func TestDeterminism(t *testing.T) {
	for _, d := range []string{DomainA, DomainB} {
		t.Run("domain "+d, func(t *testing.T) { testDeterminism(t, d) })
	}
}

func testDeterminism(t *testing.T, domain string) {
	opt := func() dataset.Options {
		return dataset.Options{"count": "12", "width": "96", "height": "64", "figures": "0-5", "seed": "42", "split": "train=0.7,val=0.3", "domain": domain}
	}
	p, err := ParseParams(opt())
	if err != nil {
		t.Fatal(err)
	}
	a, metaA := collect(t, &importer{p: p}, nil)
	b, metaB := collect(t, mustImporter(t, opt()), nil)
	c, _ := collect(t, mustImporter(t, opt()), nil)
	if !reflect.DeepEqual(metaA, metaB) {
		t.Errorf("metas differ: %+v, %+v", metaA, metaB)
	}
	if len(a) != 12 || len(b) != 12 || len(c) != 12 {
		t.Fatalf("%d, %d, %d items, want 12", len(a), len(b), len(c))
	}
	for i := range a {
		it, err := Item(p, i)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []*dataset.SourceItem{b[i], c[i], it} {
			if o.Name != a[i].Name || !bytes.Equal(o.ImageBytes, a[i].ImageBytes) || !bytes.Equal(canon(t, o.Ann), canon(t, a[i].Ann)) {
				t.Errorf("item %d differs between runs", i)
			}
		}
	}
	// Another seed gives other pictures.
	q := p
	q.Seed++
	other, _ := Item(q, 0)
	if bytes.Equal(other.ImageBytes, a[0].ImageBytes) {
		t.Error("seed does not change the picture")
	}
	// A larger count only adds pictures.
	q = p
	q.Count = 20
	more, _ := collect(t, &importer{p: q}, nil)
	if !bytes.Equal(more[11].ImageBytes, a[11].ImageBytes) || !bytes.Equal(canon(t, more[11].Ann), canon(t, a[11].Ann)) {
		t.Error("picture 11 depends on count")
	}
}

// TestGolden pins the pixels and masks of a few pictures: they must be the
// same on every machine and Go release (the encoders' bytes are not
// pinned). If the drawing is changed on purpose, update the sums.
func TestGolden(t *testing.T) {
	want := []string{
		"9e2204688c1706d4",
		"19c881653709bc79",
		"4c29b92b51d3c0bd",
	}
	p := DefaultParams()
	p.Split = []Part{{"train", 0.8}, {"val", 0.2}}
	for i, w := range want {
		img, masks, err := Generate(p, i)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		h.Write(img.Pix)
		for _, m := range masks {
			h.Write(m.Bits)
		}
		h.Write([]byte(p.Subset(i)))
		if got := hex.EncodeToString(h.Sum(nil))[:16]; got != w {
			t.Errorf("picture %d: sum %s, want %s", i, got, w)
		}
	}
}

// TestMasks checks, over many pictures, that the masks are non-empty,
// inside the picture and disjoint, that they are exactly the pixels where
// figures were drawn over the background, and that a PNG holds exactly
// those pixels. It also checks that some figures are clipped by the frame
// and some occlude others.
func TestMasks(t *testing.T) {
	for _, d := range []string{DomainA, DomainB} {
		t.Run("domain "+d, func(t *testing.T) { testMasks(t, d) })
	}
}

func testMasks(t *testing.T, domain string) {
	clipped, touching, pictures, objects := 0, 0, 0, 0
	for _, size := range [][2]int{{64, 48}, {48, 96}, {256, 256}, {16, 16}} {
		p := DefaultParams()
		p.Width, p.Height, p.MinFigures, p.MaxFigures, p.Encoding, p.Domain = size[0], size[1], 0, 6, PNG, domain
		n := 40
		if size[0] == 256 {
			n = 8
		}
		for i := 0; i < n; i++ {
			img, masks, err := Generate(p, i)
			if err != nil {
				t.Fatal(err)
			}
			w, h := p.Width, p.Height
			if img.Bounds() != image.Rect(0, 0, w, h) {
				t.Fatalf("picture bounds %v", img.Bounds())
			}
			pictures++
			objects += len(masks)
			if len(masks) > p.MaxFigures {
				t.Errorf("%dx%d #%d: %d masks for at most %d figures", w, h, i, len(masks), p.MaxFigures)
			}
			union := make([]int, w*h) // mask index + 1
			for k, m := range masks {
				if m.W != w || m.H != h || len(m.Bits) != w*h {
					t.Fatalf("mask %d is %dx%d", k, m.W, m.H)
				}
				if m.Area() == 0 {
					t.Errorf("%dx%d #%d: mask %d is empty", w, h, i, k)
				}
				x0, y0, x1, y1, _ := m.BBox()
				if x0 == 0 || y0 == 0 || x1 == w || y1 == h {
					clipped++
				}
				for o, b := range m.Bits {
					if b == 0 {
						continue
					}
					if b != 1 {
						t.Fatalf("mask byte %d", b)
					}
					if union[o] != 0 {
						t.Fatalf("%dx%d #%d: masks %d and %d overlap at pixel %d", w, h, i, union[o]-1, k, o)
					}
					union[o] = k + 1
				}
			}
			for y := 0; y < h; y++ {
				for x := 0; x+1 < w; x++ {
					if a, b := union[y*w+x], union[y*w+x+1]; a != 0 && b != 0 && a != b {
						touching++
						y, x = h, w
					}
				}
			}
			// Outside the masks the picture is the background; inside, a
			// figure was drawn (it may match the background by chance in
			// a few pixels).
			bg, _ := backdrop(&p, i)
			same, in := 0, 0
			for o := 0; o < w*h; o++ {
				eq := bytes.Equal(img.Pix[4*o:4*o+4], bg.img.Pix[4*o:4*o+4])
				if union[o] == 0 && !eq {
					t.Fatalf("%dx%d #%d: pixel %d changed outside every mask", w, h, i, o)
				}
				if union[o] != 0 {
					in++
					if eq {
						same++
					}
				}
			}
			if in > 0 && same*20 > in {
				t.Errorf("%dx%d #%d: %d of %d mask pixels look like the background", w, h, i, same, in)
			}
			// The PNG holds exactly these pixels, and the item's objects are
			// these masks.
			it, err := Item(p, i)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := png.Decode(bytes.NewReader(it.ImageBytes))
			if err != nil {
				t.Fatal(err)
			}
			rgba, ok := dec.(*image.RGBA)
			if !ok || !bytes.Equal(rgba.Pix, img.Pix) {
				t.Fatalf("%dx%d #%d: the PNG (%T) does not hold the picture", w, h, i, dec)
			}
			if len(it.Ann.Objects) != len(masks) {
				t.Fatalf("%d objects for %d masks", len(it.Ann.Objects), len(masks))
			}
			for k, o := range it.Ann.Objects {
				r, err := o.Raster(w, h)
				if err != nil || !r.Equal(masks[k]) || o.Class != "person" || o.Shape != dataset.ShapeBitmap {
					t.Errorf("object %d is not mask %d (%v)", k, k, err)
				}
				if x0, y0, x1, y1, _ := o.Mask.BBox(); x0 != 0 || y0 != 0 || x1 != o.Mask.W || y1 != o.Mask.H {
					t.Errorf("object %d's mask is not cropped to its box", k)
				}
			}
		}
	}
	t.Logf("%d pictures, %d objects, %d clipped by the frame, %d pictures with touching figures", pictures, objects, clipped, touching)
	if clipped < objects/20 || touching < pictures/10 {
		t.Errorf("too few clipped (%d) or touching (%d) figures", clipped, touching)
	}
}

func TestCountsAndNames(t *testing.T) {
	for _, tc := range []struct {
		opt   dataset.Options
		n     int
		names []string
		maxO  int  // objects per picture
		most  bool // nearly all figures are visible
	}{
		{dataset.Options{"count": "3", "width": "32", "height": "32"}, 3,
			[]string{"synthetic/000000.jpg", "synthetic/000001.jpg", "synthetic/000002.jpg"}, 3, false},
		{dataset.Options{"count": "2", "width": "32", "height": "32", "encoding": "png", "dataset": "people", "figures": "0"}, 2,
			[]string{"people/000000.png", "people/000001.png"}, 0, false},
		{dataset.Options{"count": "20", "width": "64", "height": "64", "figures": "4"}, 20, nil, 4, true},
	} {
		items, meta := collect(t, mustImporter(t, tc.opt), nil)
		if len(items) != tc.n {
			t.Fatalf("%v: %d items", tc.opt, len(items))
		}
		want := &dataset.Meta{Classes: []dataset.Class{{Title: "person", Shape: dataset.ShapeBitmap, Color: Color}}}
		if !reflect.DeepEqual(meta, want) {
			t.Errorf("meta %+v", meta)
		}
		total := 0
		for i, it := range items {
			if tc.names != nil && it.Name != tc.names[i] {
				t.Errorf("item %d is %q, want %q", i, it.Name, tc.names[i])
			}
			if i > 0 && it.Name <= items[i-1].Name {
				t.Errorf("items out of order: %s after %s", it.Name, items[i-1].Name)
			}
			if err := dataset.ValidItemName(it.Name); err != nil {
				t.Error(err)
			}
			if it.Err != nil || it.Image != "" || len(it.ImageBytes) == 0 || it.Ann.Width != 32 && it.Ann.Width != 64 || len(it.Ann.Tags) != 0 {
				t.Errorf("item %+v", it)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(it.ImageBytes))
			if err != nil || cfg.Width != it.Ann.Width || cfg.Height != it.Ann.Height || (format == "png") != strings.HasSuffix(it.Name, ".png") {
				t.Errorf("%s: image %v %s %v", it.Name, cfg, format, err)
			}
			if n := len(it.Ann.Objects); n > tc.maxO {
				t.Errorf("%s: %d objects", it.Name, n)
			}
			total += len(it.Ann.Objects)
		}
		if tc.most && total < tc.n*tc.maxO*3/4 {
			t.Errorf("%v: only %d objects in %d pictures", tc.opt, total, tc.n)
		}
	}
}

func TestSplit(t *testing.T) {
	p := DefaultParams()
	p.Split = []Part{{"train", 0.8}, {"val", 0.15}, {"test", 0.05}}
	counts := map[string]int{}
	const n = 4000
	for i := 0; i < n; i++ {
		counts[p.Subset(i)]++
	}
	for _, pt := range p.Split {
		share := float64(counts[pt.Name]) / n
		if math.Abs(share-pt.Weight) > 0.03 {
			t.Errorf("subset %s has %.3f of the pictures, want about %.2f", pt.Name, share, pt.Weight)
		}
	}
	// Weights are relative; the subset of a picture depends on the seed
	// and index only.
	q := p
	q.Split = []Part{{"train", 16}, {"val", 3}, {"test", 1}}
	q.Width, q.Count, q.MinFigures = 32, 5, 0
	diff := 0
	r := p
	r.Seed = 2
	for i := 0; i < 200; i++ {
		if p.Subset(i) != q.Subset(i) {
			t.Errorf("picture %d: %s with weights 0.8/0.15/0.05, %s with 16/3/1", i, p.Subset(i), q.Subset(i))
		}
		if p.Subset(i) != r.Subset(i) {
			diff++
		}
	}
	if diff == 0 {
		t.Error("the seed does not change the split")
	}
	if s := DefaultParams().Subset(3); s != "" {
		t.Errorf("no split gives subset %q", s)
	}
	// Items carry their subset as a tag; the meta defines the tags.
	q.Height = 32
	items, meta := collect(t, &importer{p: q}, nil)
	for i, it := range items {
		if want := []dataset.Tag{{Name: q.Subset(i)}}; !reflect.DeepEqual(it.Ann.Tags, want) {
			t.Errorf("%s: tags %v, want %v", it.Name, it.Ann.Tags, want)
		}
	}
	var tags []string
	for _, tm := range meta.Tags {
		if tm.ValueType != dataset.TagNone {
			t.Errorf("tag %+v", tm)
		}
		tags = append(tags, tm.Name)
	}
	if !reflect.DeepEqual(tags, []string{"test", "train", "val"}) {
		t.Errorf("meta tags %v", tags)
	}
}

// TestCanonicalRoundTrip stores the items as a dataset and reads the
// annotations back.
func TestCanonicalRoundTrip(t *testing.T) {
	store, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	imp := mustImporter(t, dataset.Options{"count": "6", "width": "80", "height": "60", "figures": "1-4", "split": "train=1,val=1"})
	b := dataset.NewBuilder(store)
	want := map[string][]byte{}
	meta, err := imp.Import(context.Background(), nil, func(it *dataset.SourceItem) error {
		it.Resolve()
		d, err := store.PutBytes(it.ImageBytes)
		if err != nil {
			return err
		}
		want[it.Name] = canon(t, it.Ann)
		_, err = b.Add(it.Name, d, int64(len(it.ImageBytes)), it.Ann)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	ds, err = dataset.Open(store, ds.Tree)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Entries) != 6 {
		t.Fatalf("%d entries", len(ds.Entries))
	}
	for _, e := range ds.Entries {
		a, err := ds.Annotation(store, e)
		if err != nil {
			t.Fatal(err)
		}
		if got := canon(t, a); !bytes.Equal(got, want[e.Name]) {
			t.Errorf("%s: annotation changed:\n%s\n%s", e.Name, got, want[e.Name])
		}
		img, err := store.ReadBlob(e.Image)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
	}
}

func TestImportStops(t *testing.T) {
	imp := mustImporter(t, dataset.Options{"count": "50", "width": "32", "height": "32"})
	stop := errors.New("stop")
	n := 0
	_, err := imp.Import(context.Background(), nil, func(*dataset.SourceItem) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("emit error: %v after %d items", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = imp.Import(ctx, nil, func(*dataset.SourceItem) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Errorf("cancel: %v after %d items", err, n)
	}
	// A non-empty source is not read.
	store, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := store.PutDir(context.Background(), "../../testdata/fixtures/images", cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	items, _ := collect(t, mustImporter(t, dataset.Options{"count": "2", "width": "16", "height": "16"}), store.TreeFS(d))
	if len(items) != 2 {
		t.Errorf("%d items", len(items))
	}
}

// FuzzParseParams checks that no option value makes the parser or a small
// generator panic, and that what it accepts is valid.
func FuzzParseParams(f *testing.F) {
	f.Add("3", "32", "24", "0-4", "7", "png", "x", "a=1,b=2", "a")
	f.Add("1", "16", "4096", "100", "0", "jpeg", "synthetic", "", "b")
	f.Add("2", "17", "16", "0-9", "5", "png", "y", "", "b")
	f.Add("-1", "1e9", "0x10", "5-", "99999999999999999999", "", ".", "a=1e400", "c")
	f.Fuzz(func(t *testing.T, count, w, h, figs, seed, enc, ds, split, domain string) {
		p, err := ParseParams(dataset.Options{"count": count, "width": w, "height": h, "figures": figs, "seed": seed, "encoding": enc, "dataset": ds, "split": split, "domain": domain})
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseParams accepted %+v, Validate says %v", p, err)
		}
		if p.Width*p.Height <= 64*64 {
			if _, err := Item(p, 0); err != nil {
				t.Fatal(err)
			}
		}
		_ = p.Subset(5)
	})
}

func benchmarkItem(b *testing.B, enc string) {
	p := DefaultParams()
	p.Encoding = enc
	p.MinFigures, p.MaxFigures = 3, 3
	for i := 0; b.Loop(); i++ {
		if _, err := Item(p, i%100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkItemJPEG is one 256×256 picture with 3 figures, drawn and
// encoded.
func BenchmarkItemJPEG(b *testing.B) { benchmarkItem(b, JPEG) }
func BenchmarkItemPNG(b *testing.B)  { benchmarkItem(b, PNG) }

func BenchmarkDraw(b *testing.B) {
	p := DefaultParams()
	p.MinFigures, p.MaxFigures = 3, 3
	for i := 0; b.Loop(); i++ {
		render(&p, i%100)
	}
}

// TestImportDrawsLazily: Import emits items without drawing them (the
// import step's pool draws them), and resolving an item draws the picture
// that Item gives.
func TestImportDrawsLazily(t *testing.T) {
	p, err := ParseParams(dataset.Options{"count": "3", "width": "32", "height": "24", "encoding": "png"})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := ImporterFor(p)
	if err != nil {
		t.Fatal(err)
	}
	var items []*dataset.SourceItem
	if _, err := imp.Import(context.Background(), nil, func(it *dataset.SourceItem) error {
		items = append(items, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	for i, it := range items {
		if it.ImageBytes != nil || it.Ann != nil || it.Generate == nil || it.Load != nil || it.Deps != nil {
			t.Fatalf("item %d was drawn when emitted, or cannot be drawn later", i)
		}
	}
	for i := len(items) - 1; i >= 0; i-- { // in any order
		it := items[i]
		it.Resolve()
		want, err := Item(p, i)
		if err != nil {
			t.Fatal(err)
		}
		if it.Err != nil || it.Name != want.Name || !bytes.Equal(it.ImageBytes, want.ImageBytes) || !bytes.Equal(canon(t, it.Ann), canon(t, want.Ann)) {
			t.Errorf("item %d resolves to another picture than Item's (error %v)", i, it.Err)
		}
	}
}
