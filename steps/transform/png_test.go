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
// gives, whatever was encoded before. The digests pin the PNG bytes of
// transform version 4 (the reuse itself was checked against the encoder
// before it, at commit a1aa5cf): other bytes need a new transform version.
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
	want := []string{"sha256:2836a0e4e419ced0a6b7ffe797d19229b4ec0dffa12f503841ec0a1e6f964bd1", "sha256:8b1263f0726407fb65b1ac88b684dfce82c418df3854e310a5fcc9aa7e00acaf",
		"sha256:88266257481346a48803196964c7b0242fcdc7a93aca1aad7a2aa0d5cf1ff1c7", "sha256:ccef1bfef0989a8f2630b0833b0ed81c4e22dd43b9a32d807dbe741de9408587"}
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
