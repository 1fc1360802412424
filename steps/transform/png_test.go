package transform

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestEncodePNGDecodesToTheSamePixels(t *testing.T) {
	t.Parallel()
	for _, opaque := range []bool{true, false} {
		img := image.NewRGBA(image.Rect(0, 0, 37, 23))
		for y := 0; y < 23; y++ {
			for x := 0; x < 37; x++ {
				a := uint8(255)
				if !opaque && (x+y)%3 == 0 {
					a = 0 // fully transparent keeps exact (premultiplied zero) pixels
				}
				c := color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x * y), a}
				img.Set(x, y, c)
			}
		}
		raw, err := encodePNG(img)
		if err != nil {
			t.Fatal(err)
		}
		back, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("opaque=%v: png.Decode: %v", opaque, err)
		}
		for y := 0; y < 23; y++ {
			for x := 0; x < 37; x++ {
				r1, g1, b1, a1 := img.At(x, y).RGBA()
				r2, g2, b2, a2 := back.At(x, y).RGBA()
				if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 || a1>>8 != a2>>8 {
					t.Fatalf("opaque=%v: pixel (%d,%d) = %v, want %v", opaque, x, y, back.At(x, y), img.At(x, y))
				}
			}
		}
		again, _ := encodePNG(img)
		if !bytes.Equal(raw, again) {
			t.Errorf("encodePNG is not deterministic")
		}
	}
}
