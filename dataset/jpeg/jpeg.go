// Package jpeg decodes JPEG images to the pixels libjpeg-turbo gives with
// its default settings, which is what PIL (Image.open(f).convert("RGB")),
// OpenCV, torchvision and TensorFlow read: a model trained on dsbuild's
// pixels sees the images those tools show it when it is served.
//
// Guarantee: for baseline (SOF0), extended sequential Huffman (SOF1) and
// progressive (SOF2) JPEGs of 8-bit precision with one component
// (grayscale) or three (YCbCr, or RGB as Adobe's APP14 transform 0 or the
// component ids 'R','G','B' say), with any integral sampling factors (4:4:4,
// 4:2:2, 4:2:0, 4:4:0, 4:1:1, ...) and restart intervals, every pixel
// equals libjpeg-turbo 2.1's default decoding: the integer "islow" inverse
// DCT with its fixed-point constants, rounding and range limiting; "fancy"
// (triangle filter) upsampling of 2:1 subsampled chroma with its biases and
// edge rules (box replication for other ratios and for chroma at most 2
// samples wide, as libjpeg-turbo does); and its fixed-point YCbCr→RGB
// tables. The tests compare every pixel with PIL 9.4 on libjpeg-turbo 2.1.5
// (testdata/make_refs.py).
//
// Not supported: arithmetic coding, lossless and hierarchical JPEG and
// 12-bit samples are errors. Four-component JPEGs (CMYK, Adobe YCCK) are
// handed to the standard library's image/jpeg, whose result (*image.CMYK)
// is returned as it is: their pixels are not guaranteed to match
// libjpeg-turbo. The 4:4:0 upsampling follows libjpeg-turbo's algorithm but
// has no PIL reference (PIL cannot write it).
//
// Corrupt data is an error, never a panic: a scan cut short by the end of
// the file, a bad Huffman code, a missing table or a missing end-of-image
// marker. Like libjpeg, a marker met in the middle of a scan's data ends
// that data (the rest of the scan decodes as zero bits).
package jpeg

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"io"
)

// Identity names this decoder and the decoding it reproduces. Steps that
// decode images put it in their keys: a change of the pixels it gives must
// change it.
const Identity = "jpeg dsbuild-ljt v1 (libjpeg-turbo islow, fancy upsampling)"

// FormatError reports a JPEG that is not valid or that this decoder does
// not support.
type FormatError string

func (e FormatError) Error() string { return "jpeg: " + string(e) }

func errorf(format string, args ...any) error {
	return FormatError(fmt.Sprintf(format, args...))
}

// Decode reads a JPEG image. It returns *image.Gray for one component,
// *image.RGBA (opaque) for three, and image/jpeg's result for four.
func Decode(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return DecodeBytes(data)
}

// DecodeBytes is Decode of a file already in memory.
func DecodeBytes(data []byte) (image.Image, error) {
	d := newDecoder(data)
	defer d.free()
	if err := d.run(false); err != nil {
		return nil, err
	}
	if d.fallback {
		img, err := stdjpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("jpeg: %d-component image: %w", len(d.comps), err)
		}
		return img, nil
	}
	return d.output()
}

// DecodeConfig reads the size and color model of a JPEG image from its
// header: color.GrayModel for one component, color.RGBAModel for three,
// color.CMYKModel for four.
func DecodeConfig(r io.Reader) (image.Config, error) {
	// The header is small; read in chunks until the frame header is found.
	var buf []byte
	chunk := make([]byte, 4096)
	for empty := 0; ; {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if n == 0 && err == nil {
			if empty++; empty == 100 {
				return image.Config{}, io.ErrNoProgress
			}
			continue
		}
		empty = 0
		d := newDecoder(buf)
		cerr := d.run(true)
		if cerr == nil && d.frameSeen {
			cfg := d.config()
			d.free()
			return cfg, nil
		}
		d.free()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if cerr == nil {
					cerr = errorf("no frame header before the end of the file")
				}
				return image.Config{}, cerr
			}
			return image.Config{}, err
		}
		if cerr != nil && !errors.Is(cerr, errShort) {
			return image.Config{}, cerr
		}
	}
}

// DecodeConfigBytes is DecodeConfig of a file already in memory.
func DecodeConfigBytes(data []byte) (image.Config, error) {
	d := newDecoder(data)
	defer d.free()
	if err := d.run(true); err != nil {
		if errors.Is(err, errShort) {
			return image.Config{}, errorf("truncated before the frame header")
		}
		return image.Config{}, err
	}
	if !d.frameSeen {
		return image.Config{}, errorf("no frame header")
	}
	return d.config(), nil
}

func (d *decoder) config() image.Config {
	var m color.Model
	switch len(d.comps) {
	case 1:
		m = color.GrayModel
	case 3:
		m = color.RGBAModel
	default:
		m = color.CMYKModel
	}
	return image.Config{ColorModel: m, Width: d.width, Height: d.height}
}
