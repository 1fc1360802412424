package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/png" // the image formats datasets hold (JPEG: dataset/jpeg)

	"dsbuild/dataset/jpeg"
)

// ImageDecoder names the JPEG decoding of DecodeImage and DecodeImageFile
// (dataset/jpeg: libjpeg-turbo's pixels). Steps whose output depends on
// decoded pixels put it in their keys, so that another decoder is another
// key.
const ImageDecoder = jpeg.Identity

// isJPEG tells a JPEG file by its start-of-image marker.
func isJPEG(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == 0xFF && raw[1] == 0xD8
}

// imageConfig reads an image file's header: JPEG through dataset/jpeg,
// other formats through the registered decoders (PNG).
func imageConfig(raw []byte) (image.Config, error) {
	if isJPEG(raw) {
		return jpeg.DecodeConfigBytes(raw)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	return cfg, err
}

// DecodeImageFile decodes an image file (PNG, or JPEG through dataset/jpeg,
// whose pixels are libjpeg-turbo's and so PIL's) without the size check of
// DecodeImage. Every decoding of stored pixels goes through it.
func DecodeImageFile(raw []byte) (image.Image, error) {
	if isJPEG(raw) {
		return jpeg.DecodeBytes(raw)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	return img, err
}

// DecodeImage decodes a stored image file (PNG or JPEG) into RGBA with
// its origin at (0, 0). The header is read first: an image of more than
// MaxPixels pixels is an error before any pixel buffer is allocated.
func DecodeImage(raw []byte) (*image.RGBA, error) {
	cfg, err := imageConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("decoding the image: %v", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("the image is %dx%d pixels, more than %d", cfg.Width, cfg.Height, MaxPixels)
	}
	img, err := DecodeImageFile(raw)
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
