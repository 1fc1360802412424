package report_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"html"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/report"
)

// pngBytes encodes a w×h image of one colour.
func pngBytes(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type item struct {
	img  []byte
	objs []dataset.Object
	tags []string
}

func rect(class string, x0, y0, x1, y1 int) dataset.Object {
	return dataset.Object{Class: class, Shape: dataset.ShapeRectangle, Rect: image.Rect(x0, y0, x1, y1)}
}

func build(t *testing.T, s *cache.Store, classes []string, items map[string]item) *dataset.Dataset {
	t.Helper()
	b := dataset.NewBuilder(s)
	meta := &dataset.Meta{}
	for _, c := range classes {
		meta.AddClass(dataset.Class{Title: c, Shape: dataset.ShapeAny})
	}
	for name, it := range items {
		d, err := s.PutBytes(it.img)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(it.img))
		if err != nil {
			t.Fatal(err)
		}
		a := &dataset.Annotation{Width: cfg.Width, Height: cfg.Height, Objects: it.objs}
		for _, tg := range it.tags {
			meta.AddTag(dataset.TagMeta{Name: tg})
			a.Tags = append(a.Tags, dataset.Tag{Name: tg})
		}
		if _, err := b.Add(name, d, int64(len(it.img)), a); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := b.Finish(meta)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

type fixture struct {
	s    *cache.Store
	a, b *dataset.Dataset
	d    *dataset.DatasetDiff
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	grey := pngBytes(t, 40, 30, color.RGBA{90, 90, 90, 255})
	blue := pngBytes(t, 40, 30, color.RGBA{20, 40, 200, 255})
	tall := pngBytes(t, 20, 50, color.RGBA{200, 200, 200, 255})
	a := build(t, s, []string{"person", "<b>", "car", "old"}, map[string]item{
		"d/a.png": {img: grey, objs: []dataset.Object{rect("person", 2, 2, 20, 20)}},
		"d/b.png": {img: grey, objs: []dataset.Object{rect("<b>", 5, 5, 15, 15)}, tags: []string{"day"}},
		"d/c.png": {img: grey, objs: []dataset.Object{rect("car", 0, 0, 10, 10)}},
		"d/r.png": {img: tall, objs: []dataset.Object{rect("old", 1, 1, 5, 5)}},
	})
	b := build(t, s, []string{"person", "<b>", "car", "new"}, map[string]item{
		"d/a.png": {img: grey, objs: []dataset.Object{rect("person", 3, 2, 21, 20)}},
		"d/b.png": {img: blue, objs: []dataset.Object{rect("<b>", 5, 5, 15, 15), rect("<b>", 25, 5, 35, 25)}, tags: []string{"night"}},
		"d/c.png": {img: grey, objs: []dataset.Object{rect("car", 0, 0, 10, 10)}},
		"d/n.png": {img: tall, objs: []dataset.Object{rect("new", 1, 1, 5, 45)}},
	})
	d, err := dataset.Diff(s, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Changed) != 2 || len(d.Added) != 1 || len(d.Removed) != 1 {
		t.Fatalf("fixture diff: %d changed, %d added, %d removed; want 2, 1, 1", len(d.Changed), len(d.Added), len(d.Removed))
	}
	return &fixture{s: s, a: a, b: b, d: d}
}

func (f *fixture) render(t *testing.T, opt report.Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Diff(&buf, f.s, f.a, f.b, f.d, "v1", "v2", opt); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func checkHTML5(t *testing.T, page string) {
	t.Helper()
	for _, want := range []string{"<!doctype html>\n", `<meta charset="utf-8">`, "<title>", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.HasPrefix(page, "<!doctype html>") {
		t.Errorf("page does not start with <!doctype html>")
	}
	for _, bad := range []string{"http://", "https://", "<script", "<link"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page is not self-contained: it contains %q", bad)
		}
	}
}

var dataURI = regexp.MustCompile(`src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)

func TestDiffPage(t *testing.T) {
	f := newFixture(t)
	opt := report.Options{Thumb: 16}
	page := f.render(t, opt)
	if again := f.render(t, opt); again != page {
		t.Fatal("two renderings of the same diff differ")
	}
	checkHTML5(t, page)
	for _, want := range []string{
		`id="items-a">4<`, `id="items-b">4<`,
		`id="added">1<`, `id="removed">1<`, `id="changed">2<`,
		"<code>old</code>", "<code>new</code>", // classes only in A, B
		">+1</td>", ">-1</td>", // class deltas: <b> +1, old -1, new +1
		"~ person [2 2 20 20] → [3 2 21 20]",
		"&#43; tag night", "− tag day",
		"<code>d/a.png</code>", "<code>d/n.png</code>", "<code>d/r.png</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "d/c.png") {
		t.Error("page lists the unchanged item d/c.png")
	}
	// Escaping: the class <b> appears only escaped.
	if strings.Contains(page, "<b>") {
		t.Error("class name <b> is not escaped")
	}
	if !strings.Contains(page, "&lt;b&gt;") {
		t.Error("page lacks the escaped class name &lt;b&gt;")
	}
	// No paging for 4 items at the default 50 a page.
	if strings.Contains(page, `href="#page-`) {
		t.Error("page has paging anchors for 4 items")
	}

	// One thumbnail per side of each changed item, one for added and
	// removed items; each at most Thumb on the longer side.
	items := strings.Split(page, `<div class="item"`)[1:]
	if len(items) != 4 {
		t.Fatalf("%d items on the page, want 4", len(items))
	}
	want := map[string]int{"d/a.png": 2, "d/b.png": 2, "d/n.png": 1, "d/r.png": 1}
	for _, it := range items {
		name := regexp.MustCompile(`<code>([^<]*)</code>`).FindStringSubmatch(it)[1]
		ms := dataURI.FindAllStringSubmatch(it, -1)
		if len(ms) != want[name] {
			t.Errorf("%s: %d thumbnails, want %d", name, len(ms), want[name])
		}
		for _, m := range ms {
			raw, err := base64.StdEncoding.DecodeString(m[1])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if b := img.Bounds(); max(b.Dx(), b.Dy()) != 16 {
				t.Errorf("%s: thumbnail is %v, want 16 px on the longer side", name, b.Size())
			}
		}
	}
	// The added object of d/b.png is drawn over the blue image in B's
	// thumbnail: some pixel differs from the plain image.
	var bItem string
	for _, it := range items {
		if strings.Contains(it, "<code>d/b.png</code>") {
			bItem = it
		}
	}
	ms := dataURI.FindAllStringSubmatch(bItem, -1)
	raw, _ := base64.StdEncoding.DecodeString(ms[1][1])
	img, _ := png.Decode(bytes.NewReader(raw))
	// (30, 15) in the image is inside the added object; the thumbnail is
	// 16×12, scale 0.4.
	if r, g, b, _ := img.At(12, 6).RGBA(); r>>8 == 20 && g>>8 == 40 && b>>8 == 200 {
		t.Error("the added object is not drawn on B's thumbnail")
	}
	if r, g, b, _ := img.At(1, 11).RGBA(); r>>8 != 20 || g>>8 != 40 || b>>8 != 200 {
		t.Errorf("background pixel = %d,%d,%d, want the image's 20,40,200", r>>8, g>>8, b>>8)
	}
}

func TestDiffPaging(t *testing.T) {
	f := newFixture(t)
	page := f.render(t, report.Options{Thumb: 8, PerPage: 3})
	for _, want := range []string{`id="page-1"`, `id="page-2"`, `href="#page-1"`, `href="#page-2"`, "Page 2 of 2"} {
		if !strings.Contains(page, want) {
			t.Errorf("paged page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="page-3"`) {
		t.Error("4 items at 3 a page make 3 pages")
	}
	p2 := page[strings.Index(page, `id="page-2"`):]
	if n := strings.Count(p2, `<div class="item"`); n != 1 {
		t.Errorf("page 2 has %d items, want 1", n)
	}
}

func TestDiffEmpty(t *testing.T) {
	f := newFixture(t)
	d, err := dataset.Diff(f.s, f.a, f.a)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Diff(&buf, f.s, f.a, f.a, d, "x", "x", report.Options{}); err != nil {
		t.Fatal(err)
	}
	checkHTML5(t, buf.String())
	if !strings.Contains(buf.String(), "No differences.") {
		t.Error("empty diff page does not say no differences")
	}
}

func TestDiffUndecodableImage(t *testing.T) {
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(x int) *dataset.Dataset {
		b := dataset.NewBuilder(s)
		d, err := s.PutBytes([]byte("not an image"))
		if err != nil {
			t.Fatal(err)
		}
		a := &dataset.Annotation{Width: 300, Height: 100, Objects: []dataset.Object{rect("p", x, 0, x+50, 50)}}
		if _, err := b.Add("d/x.jpg", d, 12, a); err != nil {
			t.Fatal(err)
		}
		meta := &dataset.Meta{}
		meta.AddClass(dataset.Class{Title: "p"})
		ds, err := b.Finish(meta)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	a, b := mk(0), mk(100)
	d, err := dataset.Diff(s, a, b)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Diff(&buf, s, a, b, d, "a", "b", report.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(dataURI.FindAllString(buf.String(), -1)); n != 2 {
		t.Errorf("%d thumbnails, want 2", n)
	}
	if !strings.Contains(buf.String(), "image not decodable") {
		t.Error("page does not say the image is not decodable")
	}
}

func TestStatsPage(t *testing.T) {
	f := newFixture(t)
	st, err := dataset.ComputeStats(f.b, f.s)
	if err != nil {
		t.Fatal(err)
	}
	render := func() string {
		var buf bytes.Buffer
		if err := report.Stats(&buf, f.b, st, "v2 <release>"); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	page := render()
	if render() != page {
		t.Fatal("two renderings of the same stats differ")
	}
	checkHTML5(t, page)
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4 (classes, object sizes, image sizes, tags)", n)
	}
	for _, want := range []string{`id="items">4<`, `id="objects">5<`, "v2 &lt;release&gt;", "&lt;b&gt;", "40x30", "20x50", "night", "rectangle", "16-31"} {
		if !strings.Contains(page, want) {
			t.Errorf("stats page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>") || strings.Contains(page, "<release>") {
		t.Error("a name is not escaped")
	}
	// Every size bucket is charted, in order.
	last := -1
	for _, b := range dataset.SizeBuckets {
		i := strings.Index(page, ">"+html.EscapeString(b)+"</text>")
		if i < 0 || i < last {
			t.Errorf("size bucket %q missing or out of order", b)
		}
		last = i
	}
	// Stats without a dataset (no tree, default colours) still render.
	var buf bytes.Buffer
	if err := report.Stats(&buf, nil, &dataset.Stats{}, "empty"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "<svg"); n != 4 {
		t.Errorf("empty stats: %d charts, want 4", n)
	}
}

// pngBomb is a PNG whose header claims w×h pixels of 16-bit RGBA but whose
// image data is a few bytes: decoding it without checking the header first
// allocates w×h×8 bytes.
func pngBomb(w, h uint32) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		out.Write(n[:])
		body := append([]byte(typ), data...)
		out.Write(body)
		binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(body))
		out.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6 // bit depth 16, colour type RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}) // an empty zlib stream
	chunk("IEND", nil)
	return out.Bytes()
}

// TestDiffImageBomb: an item whose image header claims 100000×100000 pixels
// is not decoded (dataset.DecodeImage refuses it from the header); the page
// still renders, with a grey canvas and the reason, and the other side's
// image is drawn.
func TestDiffImageBomb(t *testing.T) {
	bomb := pngBomb(100000, 100000)
	if cfg, err := png.DecodeConfig(bytes.NewReader(bomb)); err != nil || cfg.Width != 100000 || cfg.Height != 100000 {
		t.Fatalf("the crafted PNG's header reads as %+v, %v; want 100000×100000", cfg, err)
	}
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(img []byte, w, h int) *dataset.Dataset {
		b := dataset.NewBuilder(s)
		d, err := s.PutBytes(img)
		if err != nil {
			t.Fatal(err)
		}
		a := &dataset.Annotation{Width: w, Height: h, Objects: []dataset.Object{rect("p", 0, 0, 10, 10)}}
		if _, err := b.Add("d/x.png", d, int64(len(img)), a); err != nil {
			t.Fatal(err)
		}
		meta := &dataset.Meta{}
		meta.AddClass(dataset.Class{Title: "p"})
		ds, err := b.Finish(meta)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	a := mk(pngBytes(t, 40, 30, color.RGBA{20, 40, 200, 255}), 40, 30)
	// The builder bounds the annotation's size, not the image's header:
	// the manifest of an exec step, say, can pair any image with any
	// annotation.
	b := mk(bomb, 40, 30)
	d, err := dataset.Diff(s, a, b)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Diff(&buf, s, a, b, d, "a", "b", report.Options{Thumb: 16}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	checkHTML5(t, page)
	ms := dataURI.FindAllStringSubmatch(page, -1)
	if len(ms) != 2 {
		t.Fatalf("%d thumbnails, want 2", len(ms))
	}
	want := fmt.Sprintf("image not decodable (the image is 100000x100000 pixels, more than %d): grey canvas", dataset.MaxPixels)
	if n := strings.Count(page, want); n != 1 {
		t.Errorf("page says %q %d times, want once (for B)", want, n)
	}
	// A's thumbnail is the image; B's is a grey canvas of the annotation's
	// size.
	for i, wantPx := range []color.RGBA{{20, 40, 200, 255}, {0xCC, 0xCC, 0xCC, 0xFF}} {
		raw, err := base64.StdEncoding.DecodeString(ms[i][1])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if got := color.RGBAModel.Convert(img.At(b.Max.X-1, b.Max.Y-1)).(color.RGBA); got != wantPx {
			t.Errorf("thumbnail %d: corner pixel %v, want %v", i, got, wantPx)
		}
	}
}
