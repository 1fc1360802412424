package transform

import (
	"bytes"
	"encoding/binary"
	"image"

	"github.com/klauspost/compress/zlib"

	"dsbuild/dataset"
)

// encodePNG writes img as an 8-bit PNG: RGB when every pixel is opaque,
// else RGBA (non-premultiplied). Every row uses the Up filter and the zlib
// stream klauspost/compress's fastest level: image/png tries five filters
// on every row and compresses with the standard library, which made it
// most of a transform's time. The bytes are a pure function of the pixels
// for a given build.
func encodePNG(img *image.RGBA) ([]byte, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	opaque := true
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 0xff {
			opaque = false
			break
		}
	}
	bpp := 4
	colorType := byte(6) // RGBA
	if opaque {
		bpp, colorType = 3, 2 // RGB
	}
	stride := w * bpp
	raw := make([]byte, (stride+1)*h)
	prev := make([]byte, stride)
	cur := make([]byte, stride)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		if opaque {
			for x := 0; x < w; x++ {
				copy(cur[3*x:3*x+3], row[4*x:4*x+3])
			}
		} else {
			// image.RGBA is premultiplied; PNG stores straight alpha.
			for x := 0; x < w; x++ {
				r, g, b, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 0 && a != 0xff {
					r = uint8(uint16(r) * 0xff / uint16(a))
					g = uint8(uint16(g) * 0xff / uint16(a))
					b = uint8(uint16(b) * 0xff / uint16(a))
				}
				cur[4*x], cur[4*x+1], cur[4*x+2], cur[4*x+3] = r, g, b, a
			}
		}
		out := raw[y*(stride+1):]
		out[0] = 2 // Up
		for i, v := range cur {
			out[1+i] = v - prev[i]
		}
		prev, cur = cur, prev
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, colorType
	dataset.WritePNGChunk(&b, "IHDR", ihdr)
	dataset.WritePNGChunk(&b, "IDAT", z.Bytes())
	dataset.WritePNGChunk(&b, "IEND", nil)
	return b.Bytes(), nil
}
