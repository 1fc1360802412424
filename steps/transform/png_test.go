package transform

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"dsbuild/cache"
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

// The encoder's reused buffers and zlib writer give the bytes a fresh one
// gives, whatever was encoded before; the digests are those of the
// encoder before it reused anything (commit a1aa5cf).
func TestEncodePNGBytesDoNotDependOnHistory(t *testing.T) {
	mk := func(w, h int, opaque bool, seed uint8) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = uint8(i*7) ^ seed
			if i%4 == 3 {
				img.Pix[i] = 0xff
				if !opaque && i%12 == 3 {
					img.Pix[i] = seed
				}
			}
		}
		return img
	}
	imgs := []*image.RGBA{mk(256, 256, true, 1), mk(37, 5, false, 9), mk(300, 17, true, 3), mk(1, 1, false, 200)}
	want := []string{"sha256:099b66835576abccd6889f4aad76a99051be837979b20dee195350ad96f23b17", "sha256:1b757b2d67a2a4e905702d11bdae7192c2a621c593829f3211b865b8d2b667a7",
		"sha256:3ef3e82198aa9f434e528874886f8493b188df4356ed3cc9d2a77c1f387d3835", "sha256:ccef1bfef0989a8f2630b0833b0ed81c4e22dd43b9a32d807dbe741de9408587"}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 1, 0, 0}} {
		for _, i := range order {
			b, err := encodePNG(imgs[i])
			if err != nil {
				t.Fatal(err)
			}
			if got := cache.Sum(b).String(); got != want[i] {
				t.Errorf("image %d, order %v: %s, want %s", i, order, got, want[i])
			}
		}
	}
}
