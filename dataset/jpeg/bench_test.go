package jpeg

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	stdjpeg "image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// photo encodes a deterministic 640×480 photo-like image (smooth shading,
// textured regions, hard edges, sensor-like noise) with image/jpeg at
// quality 90 (4:2:0, baseline).
func photo(tb testing.TB) []byte {
	const w, h = 640, 480
	rng := rand.New(rand.NewPCG(15, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/w, float64(y)/h
			// Sky to ground, a sun, textured "foliage", a building.
			r := 90 + 120*fy + 30*math.Sin(fx*9)
			g := 140 + 60*math.Sin(fx*3+fy*2)
			b := 220 - 150*fy
			if dx, dy := fx-0.7, fy-0.25; dx*dx+dy*dy < 0.004 {
				r, g, b = 250, 230, 180
			}
			if fy > 0.6 {
				t := math.Sin(float64(x)*0.9) * math.Cos(float64(y)*1.3)
				r, g, b = 60+40*t, 110+50*t, 40+20*t
			}
			if fx > 0.15 && fx < 0.35 && fy > 0.3 && fy < 0.8 {
				r, g, b = 170, 160, 150
				if (x/12+y/16)%2 == 0 {
					r, g, b = 60, 70, 90
				}
			}
			n := rng.NormFloat64() * 4
			c := func(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v+n))) }
			img.SetRGBA(x, y, color.RGBA{c(r), c(g), c(b), 255})
		}
	}
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, img, &stdjpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestWritePhoto writes the benchmark's photo for the PIL timing script
// (bench/jpegpil.py) when JPEG_PHOTO names a file.
func TestWritePhoto(t *testing.T) {
	out := os.Getenv("JPEG_PHOTO")
	if out == "" {
		t.Skip("JPEG_PHOTO not set")
	}
	if err := os.WriteFile(out, photo(t), 0o644); err != nil {
		t.Fatal(err)
	}
}

// toRGBA is what dsbuild did with image/jpeg's result: draw it into RGBA.
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// BenchmarkDecode compares this decoder with image/jpeg, on the 640×480
// photo and on all reference files (one op decodes every one of them).
// "stdlib" is image/jpeg's Decode alone (it returns YCbCr), "stdlib_rgba"
// adds the conversion to RGBA that dsbuild needs, which this decoder's
// result already is.
func BenchmarkDecode(b *testing.B) {
	var refs [][]byte
	for _, r := range loadRefs(b) {
		refs = append(refs, must(os.ReadFile(r.jpegPath())))
	}
	sets := []struct {
		name  string
		files [][]byte
	}{{"photo640x480", [][]byte{photo(b)}}, {"refs", refs}}
	decoders := []struct {
		name string
		dec  func([]byte) error
	}{
		{"ljt", func(d []byte) error { _, err := DecodeBytes(d); return err }},
		{"stdlib", func(d []byte) error { _, err := stdjpeg.Decode(bytes.NewReader(d)); return err }},
		{"stdlib_rgba", func(d []byte) error {
			img, err := stdjpeg.Decode(bytes.NewReader(d))
			if err == nil {
				toRGBA(img)
			}
			return err
		}},
	}
	for _, s := range sets {
		for _, d := range decoders {
			b.Run(s.name+"/"+d.name, func(b *testing.B) {
				n := 0
				for _, f := range s.files {
					n += len(f)
				}
				b.SetBytes(int64(n))
				for b.Loop() {
					for _, f := range s.files {
						if err := d.dec(f); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
