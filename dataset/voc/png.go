package voc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"dsbuild/dataset"
)

// indexMap is a decoded segmentation PNG: one index per pixel, row-major.
type indexMap struct {
	W, H int
	Pix  []uint8
}

// decodeIndexPNG reads a SegmentationClass or SegmentationObject PNG. A
// palette PNG (at any bit depth) gives its indices and an 8-bit gray one
// its values, whatever the colours (formats.md §2.5: read indices, not
// colours); a true-colour PNG (a re-saved or CVAT mask) is mapped back to
// indices through the inverse colormap (inverse, or the VOC colormap when
// it is nil), and a colour off the colormap is an error. The header is
// checked against [dataset.MaxPixels] before any pixel is decoded.
func decodeIndexPNG(data []byte, inverse map[[3]uint8]uint8) (*indexMap, error) {
	colormap := "the VOC colormap"
	if inverse == nil {
		inverse = inverseColormap
	} else {
		colormap = "the colours of " + LabelmapFile
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("PNG: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("PNG has size %dx%d", cfg.Width, cfg.Height)
	}
	if cfg.Width > dataset.MaxPixels/cfg.Height {
		return nil, fmt.Errorf("PNG of %dx%d pixels: %w", cfg.Width, cfg.Height, dataset.ErrTooLarge)
	}
	// image/png scales 1-, 2- and 4-bit gray to 8 bits (a stored 1 reads
	// as 255, 85 or 17), which would turn indices into other indices:
	// only 8-bit gray is read. IHDR is the first chunk (DecodeConfig
	// checked it): bit depth at byte 24, colour type at byte 25.
	if depth, colorType := data[24], data[25]; colorType == 0 && depth != 8 {
		return nil, fmt.Errorf("PNG is %d-bit gray; index maps must be palette, 8-bit gray or RGB images", depth)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("PNG: %w", err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	m := &indexMap{W: w, H: h, Pix: make([]uint8, w*h)}
	switch img := img.(type) {
	case *image.Paletted:
		for y := 0; y < h; y++ {
			copy(m.Pix[y*w:(y+1)*w], img.Pix[y*img.Stride:y*img.Stride+w])
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(m.Pix[y*w:(y+1)*w], img.Pix[y*img.Stride:y*img.Stride+w])
		}
	case *image.RGBA, *image.NRGBA, *image.RGBA64, *image.NRGBA64:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i, ok := inverse[[3]uint8{c.R, c.G, c.B}]
				if !ok {
					return nil, fmt.Errorf("pixel (%d, %d) has colour (%d, %d, %d), which is not in %s", x, y, c.R, c.G, c.B, colormap)
				}
				m.Pix[y*w+x] = i
			}
		}
	default:
		return nil, errors.New("PNG is neither a palette, 8-bit gray nor RGB image")
	}
	return m, nil
}

// encodeIndexPNG writes an index map as an 8-bit palette PNG with the VOC
// colormap (256 entries, so image/png writes 8-bit indices; formats.md §8).
func encodeIndexPNG(m *indexMap, pal color.Palette) ([]byte, error) {
	img := &image.Paletted{Pix: m.Pix, Stride: m.W, Rect: image.Rect(0, 0, m.W, m.H), Palette: pal}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
