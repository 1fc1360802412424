package jpeg

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	stdjpeg "image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// ref is one entry of testdata/refs.json (written by make_refs.py).
type ref struct {
	Name   string `json:"name"`
	JPEG   string `json:"jpeg"`
	Ref    string `json:"ref"`
	Mode   string `json:"mode"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

func loadRefs(t testing.TB) []ref {
	raw, err := os.ReadFile("testdata/refs.json")
	if err != nil {
		t.Fatal(err)
	}
	var refs []ref
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatal(err)
	}
	return refs
}

func (r ref) jpegPath() string {
	if strings.HasPrefix(r.JPEG, "testdata/fixtures/") {
		return filepath.Join("..", "..", r.JPEG)
	}
	return filepath.Join("testdata", r.JPEG)
}

// samples returns the image's samples as PIL's tobytes() would: RGB or L.
func samples(img image.Image, mode string) []byte {
	b := img.Bounds()
	if mode == "L" {
		g := image.NewGray(b)
		draw.Draw(g, b, img, b.Min, draw.Src)
		return g.Pix
	}
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out
}

// maxDiff is the largest absolute difference of two sample slices and the
// number of differing samples.
func maxDiff(a, b []byte) (max, n int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		if d > max {
			max = d
		}
	}
	return max, n
}

// TestPixelsMatchLibjpegTurbo decodes every reference JPEG (generated at
// several qualities, subsamplings, progressive and with restart intervals,
// and the repository's bundled fixtures) and requires every sample to equal
// PIL's (libjpeg-turbo 2.1.5). It also measures image/jpeg on the same
// files: it must differ somewhere, or these references would not tell the
// two decoders apart.
func TestPixelsMatchLibjpegTurbo(t *testing.T) {
	refs := loadRefs(t)
	if len(refs) < 40 {
		t.Fatalf("only %d references", len(refs))
	}
	stdMax, stdFiles := 0, 0
	kinds := map[string]bool{}
	for _, r := range refs {
		data, err := os.ReadFile(r.jpegPath())
		if err != nil {
			t.Fatal(err)
		}
		pf, err := os.Open(filepath.Join("testdata", r.Ref))
		if err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(pf)
		pf.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantS := samples(want, r.Mode)

		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: DecodeConfig: %v", r.Name, err)
			continue
		}
		if cfg.Width != r.Width || cfg.Height != r.Height {
			t.Errorf("%s: DecodeConfig %dx%d, want %dx%d", r.Name, cfg.Width, cfg.Height, r.Width, r.Height)
		}
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: %v", r.Name, err)
			continue
		}
		if r.Mode == "L" {
			if _, ok := img.(*image.Gray); !ok {
				t.Errorf("%s: got %T, want *image.Gray", r.Name, img)
			}
		} else if _, ok := img.(*image.RGBA); !ok {
			t.Errorf("%s: got %T, want *image.RGBA", r.Name, img)
		}
		if img.Bounds() != image.Rect(0, 0, r.Width, r.Height) {
			t.Errorf("%s: bounds %v, want %dx%d", r.Name, img.Bounds(), r.Width, r.Height)
			continue
		}
		if m, n := maxDiff(samples(img, r.Mode), wantS); n > 0 {
			t.Errorf("%s: %d samples differ from libjpeg-turbo's, by up to %d", r.Name, n, m)
		}
		kinds[r.Mode] = true

		std, err := stdjpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: image/jpeg: %v", r.Name, err)
		}
		if m, n := maxDiff(samples(std, r.Mode), wantS); n > 0 {
			stdFiles++
			stdMax = max(stdMax, m)
		}
	}
	t.Logf("image/jpeg differs from libjpeg-turbo on %d of %d files, by up to %d/255", stdFiles, len(refs), stdMax)
	if stdFiles == 0 || stdMax < 2 {
		t.Errorf("image/jpeg matches the references (%d files differ, by up to %d): they do not test what this decoder adds", stdFiles, stdMax)
	}
	if !kinds["L"] || !kinds["RGB"] {
		t.Errorf("references cover modes %v; want L and RGB", kinds)
	}
}

// TestDecodeErrors checks that invalid and unsupported files are errors
// that say why, and that CMYK goes to image/jpeg.
func TestDecodeErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/gen/c37x29_q75_420_base.jpg")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile("testdata/gen/c37x29_q75_420_prog.jpg")
	if err != nil {
		t.Fatal(err)
	}
	sof := bytes.Index(good, []byte{0xFF, 0xC0})
	arith := bytes.Clone(good)
	arith[sof+1] = 0xC9
	twelve := bytes.Clone(good)
	twelve[sof+4] = 12
	noEOI := good[:len(good)-2]
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a JPEG file"},
		{"png", []byte("\x89PNG\r\n\x1a\n"), "not a JPEG file"},
		{"header only", good[:sof+19], "truncated"},
		{"cut in the scan", good[:len(good)/2], "truncated"},
		{"cut in a progressive scan", prog[:len(prog)*3/4], "truncated"},
		{"no EOI", noEOI, "no end-of-image marker"},
		{"arithmetic", arith, "arithmetic-coded JPEG (SOF9) is not supported"},
		{"12-bit", twelve, "12-bit samples are not supported"},
		{"bundled truncated fixture", must(os.ReadFile("../../testdata/fixtures/images/broken/truncated.jpg")), "truncated"},
	}
	for _, c := range cases {
		_, err := Decode(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeConfig(bytes.NewReader(arith)); err == nil || !strings.Contains(err.Error(), "arithmetic") {
		t.Errorf("DecodeConfig of an arithmetic-coded JPEG: %v", err)
	}

	cmyk, err := os.ReadFile("testdata/gen/cmyk_q90.jpg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(bytes.NewReader(cmyk))
	if err != nil {
		t.Fatalf("CMYK: %v", err)
	}
	if _, ok := img.(*image.CMYK); !ok || img.Bounds().Dx() != 37 {
		t.Errorf("CMYK: got %T %v, want image/jpeg's *image.CMYK of 37x29", img, img.Bounds())
	}
	if cfg, err := DecodeConfig(bytes.NewReader(cmyk)); err != nil || cfg.ColorModel != color.CMYKModel {
		t.Errorf("CMYK DecodeConfig: %v %v", cfg.ColorModel, err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDecode: no input makes Decode or DecodeConfig panic.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/gen/*.jpg")
	for _, name := range files {
		if strings.Contains(name, "37x29_q75") || strings.Contains(name, "rst") || strings.Contains(name, "c5x7") {
			f.Add(must(os.ReadFile(name)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return
		}
		if cfg.Width*cfg.Height > 1<<20 {
			return // dsbuild bounds the pixels before decoding
		}
		img, err := DecodeBytes(data)
		if err == nil && (img.Bounds().Dx() != cfg.Width || img.Bounds().Dy() != cfg.Height) {
			t.Fatalf("decoded %v, header says %dx%d", img.Bounds(), cfg.Width, cfg.Height)
		}
	})
}

// TestDecodeConfigReads reads the header from readers that return little
// at a time, and reads no further than needed.
func TestDecodeConfigReads(t *testing.T) {
	data := must(os.ReadFile("testdata/gen/c61x45_q90_420_prog.jpg"))
	for name, r := range map[string]io.Reader{
		"one byte at a time": iotest.OneByteReader(bytes.NewReader(data)),
		"data with EOF":      iotest.DataErrReader(bytes.NewReader(data)),
	} {
		cfg, err := DecodeConfig(r)
		if err != nil || cfg.Width != 61 || cfg.Height != 45 || cfg.ColorModel != color.RGBAModel {
			t.Errorf("%s: %v %dx%d %v", name, err, cfg.Width, cfg.Height, err)
		}
	}
	gray := must(os.ReadFile("testdata/gen/g37x29_q75_prog.jpg"))
	if cfg, err := DecodeConfig(bytes.NewReader(gray)); err != nil || cfg.ColorModel != color.GrayModel {
		t.Errorf("grayscale: %v %v", cfg.ColorModel, err)
	}
	sof := bytes.Index(data, []byte{0xFF, 0xC2})
	if _, err := DecodeConfig(bytes.NewReader(data[:sof+5])); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a header cut in the frame header: %v", err)
	}
}
