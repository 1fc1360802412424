package dataset

import (
	"bytes"
	stdjpeg "image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"
)

// TestDecodeImageIsLibjpegTurbo checks that DecodeImage, the decoder of
// transform, train, preannotate and the reports, gives PIL's pixels
// (libjpeg-turbo) for JPEGs, color and grayscale, where image/jpeg does not.
func TestDecodeImageIsLibjpegTurbo(t *testing.T) {
	for _, name := range []string{"c37x29_q75_420_prog", "c61x45_q90_422_base", "g37x29_q95_base"} {
		raw, err := os.ReadFile("jpeg/testdata/gen/" + name + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open("jpeg/testdata/ref/" + name + ".png")
		if err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeImage(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		std, err := stdjpeg.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b := want.Bounds()
		if got.Rect != b {
			t.Fatalf("%s: bounds %v, want %v", name, got.Rect, b)
		}
		stdDiffers := false
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				wr, wg, wb, _ := want.At(x, y).RGBA()
				g := got.RGBAAt(x, y)
				if uint32(g.R) != wr>>8 || uint32(g.G) != wg>>8 || uint32(g.B) != wb>>8 || g.A != 255 {
					t.Fatalf("%s: pixel (%d,%d) is %v, PIL's is %d,%d,%d", name, x, y, g, wr>>8, wg>>8, wb>>8)
				}
				sr, sg, sb, _ := std.At(x, y).RGBA()
				if sr != wr || sg != wg || sb != wb {
					stdDiffers = true
				}
			}
		}
		if !stdDiffers && !strings.HasPrefix(name, "g") {
			t.Errorf("%s: image/jpeg gives PIL's pixels too; the check proves nothing", name)
		}
	}
	if _, err := DecodeImage([]byte{0xFF, 0xD8, 0xFF, 0xD9}); err == nil || !strings.Contains(err.Error(), "decoding the image: jpeg:") {
		t.Errorf("an empty JPEG: %v", err)
	}
	if ImageDecoder == "" || !strings.Contains(ImageDecoder, "libjpeg-turbo") {
		t.Errorf("ImageDecoder = %q", ImageDecoder)
	}
}
