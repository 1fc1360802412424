package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // the image formats datasets hold
	_ "image/png"
)

// DecodeImage decodes a stored image file (PNG or JPEG) into RGBA with
// its origin at (0, 0). The header is read first: an image of more than
// MaxPixels pixels is an error before any pixel buffer is allocated.
func DecodeImage(raw []byte) (*image.RGBA, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decoding the image: %v", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("the image is %dx%d pixels, more than %d", cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decoding the image: %v", err)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok || rgba.Rect.Min != (image.Point{}) {
		b := img.Bounds()
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	}
	return rgba, nil
}
