package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// maxBitmapPNGBytes caps the size of the PNG file inflated from the zlib layer
// of a bitmap string (64 MiB), so that a zlib stream of repeated bytes cannot
// exhaust memory before the PNG header is checked. Real bitmaps are a few KiB.
const maxBitmapPNGBytes = 64 << 20

// pngSignature starts every PNG file.
var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

// bitmapPalette is the palette the Supervisely SDK writes: index 0 transparent
// black, index 1 opaque white. With 2 entries image/png writes bit depth 1,
// colour type 3, and a 1-byte tRNS chunk holding 00.
var bitmapPalette = color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 255, 255, 255}}

// EncodeBitmap encodes m as the data string of a Supervisely bitmap object
// (formats.md §1.5) and returns it with the origin, the top-left corner of the
// mask's tight bounding box in m's coordinates (the object's "origin": [x, y]).
//
// The mask is cropped to its bounding box and written as a 2-entry palette PNG
// (index 0 transparent black, index 1 opaque white; bit depth 1, colour type 3,
// tRNS 00), with image/png at png.DefaultCompression; the whole PNG file is
// then compressed with compress/zlib at zlib.DefaultCompression (level 6, the
// level Python's zlib.compress uses; the stream starts 78 9c) and encoded as
// standard base64 with padding. These settings are fixed, so the same mask
// always gives the same string with a given Go toolchain.
//
// It fails with [ErrEmptyMask] when no pixel is set (the SDK rejects such
// bitmaps) and for an invalid mask.
func EncodeBitmap(m *Mask) (data string, origin image.Point, err error) {
	if err := m.check(); err != nil {
		return "", image.Point{}, fmt.Errorf("encode bitmap: %w", err)
	}
	x0, y0, x1, y1, ok := m.BBox()
	if !ok {
		return "", image.Point{}, fmt.Errorf("encode bitmap: %w", ErrEmptyMask)
	}
	img := image.NewPaletted(image.Rect(0, 0, x1-x0, y1-y0), bitmapPalette)
	for y := y0; y < y1; y++ {
		src := m.Bits[y*m.W+x0 : y*m.W+x1]
		dst := img.Pix[(y-y0)*img.Stride:]
		for i, b := range src {
			if b != 0 {
				dst[i] = 1
			}
		}
	}
	var pngBuf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&pngBuf, img); err != nil {
		return "", image.Point{}, fmt.Errorf("encode bitmap: png: %w", err)
	}
	var zbuf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&zbuf, zlib.DefaultCompression)
	if err != nil {
		return "", image.Point{}, fmt.Errorf("encode bitmap: zlib: %w", err)
	}
	if _, err := zw.Write(pngBuf.Bytes()); err != nil {
		return "", image.Point{}, fmt.Errorf("encode bitmap: zlib: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", image.Point{}, fmt.Errorf("encode bitmap: zlib: %w", err)
	}
	return base64.StdEncoding.EncodeToString(zbuf.Bytes()), image.Pt(x0, y0), nil
}

// DecodeBitmap decodes the data string of a Supervisely bitmap object into a
// mask the size of the stored PNG (the object's box, without its origin; place
// it with [Mask.Paste] at the origin). The data encoding is the same in the
// current and the 2018 legacy format (formats.md §1.5-1.6); see
// [DecodeBitmapJSON] for the differences in the surrounding object. The string
// must be standard base64 with padding (line breaks are ignored).
//
// When the bytes are a zlib stream (the SDK's encoding), the PNG inside is read
// the way the SDK reads it with OpenCV, by the channels it decodes to: a PNG
// with alpha (colour types 4 and 6, or a palette or RGB image with a tRNS
// chunk) gives the mask where alpha ≠ 0; a grey-level PNG (colour type 0) gives
// it where the grey value ≠ 0; a palette or RGB PNG without tRNS has 3 channels
// and is rejected.
//
// When the bytes are a bare PNG (the uncompressed variant the current SDK also
// accepts), a pixel is set when any of its channels is non-zero: grey, R, G, B
// and, for colour types 4 and 6, alpha. A palette PNG is read through its
// palette colours: R, G, B, and alpha when it has a tRNS chunk.
//
// Before decoding pixels it checks the PNG header and rejects images of more
// than [MaxPixels] pixels with [ErrTooLarge]; the inflated PNG file may not
// exceed 64 MiB. It never panics; every failure is a wrapped error.
func DecodeBitmap(data string) (*Mask, error) { return DecodeBitmapWithin(data, 0, 0) }

// DecodeBitmapWithin is DecodeBitmap for a bitmap that must fit a maxW×maxH
// image (0, 0: no bound but [MaxPixels]): a larger PNG header is an error
// before anything is inflated beyond what such a bitmap needs, so a few
// bytes cannot claim hundreds of megabytes.
func DecodeBitmapWithin(data string, maxW, maxH int) (*Mask, error) {
	limit := int64(maxBitmapPNGBytes)
	if maxW > 0 && maxH > 0 {
		// The largest PNG such a bitmap can be: 8-bit RGBA rows, a filter
		// byte each, stored uncompressed, plus chunk overhead.
		limit = min(limit, int64(4*maxW+1)*int64(maxH)+int64(maxH/8+1)*12+4096)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("decode bitmap: base64: %w", err)
	}
	if bytes.HasPrefix(raw, pngSignature) {
		m, err := decodeBitmapPNG(raw, false, maxW, maxH)
		if err != nil {
			return nil, fmt.Errorf("decode bitmap (bare PNG): %w", err)
		}
		return m, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode bitmap: neither a zlib stream nor a PNG: %w", err)
	}
	pngData, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("decode bitmap: zlib: %w", err)
	}
	if int64(len(pngData)) > limit {
		return nil, fmt.Errorf("decode bitmap: inflated PNG exceeds %d bytes", limit)
	}
	m, err := decodeBitmapPNG(pngData, true, maxW, maxH)
	if err != nil {
		return nil, fmt.Errorf("decode bitmap: %w", err)
	}
	return m, nil
}

// DecodeBitmapJSON decodes the JSON value of an object's "bitmap" key,
// {"origin": [x, y], "data": "<base64>"}, and returns the mask (as
// [DecodeBitmap]) and its origin. It accepts the 2018 legacy layout
// (formats.md §1.6):
//   - a missing origin defaults to (0, 0);
//   - origin coordinates may be JSON floats; they are rounded half to even,
//     as Python's round does in the legacy SDK, and must lie within ±2^31;
//   - null, {} or an empty "data" string is the empty bitmap of a legacy
//     vector object: DecodeBitmapJSON then returns a nil mask and a nil error.
func DecodeBitmapJSON(raw []byte) (*Mask, image.Point, error) {
	return DecodeBitmapJSONWithin(raw, 0, 0)
}

// DecodeBitmapJSONWithin is DecodeBitmapJSON with the bound of
// [DecodeBitmapWithin].
func DecodeBitmapJSONWithin(raw []byte, maxW, maxH int) (*Mask, image.Point, error) {
	var v struct {
		Origin []float64 `json:"origin"`
		Data   *string   `json:"data"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, image.Point{}, fmt.Errorf("decode bitmap JSON: %w", err)
	}
	if v.Data == nil || *v.Data == "" {
		return nil, image.Point{}, nil
	}
	var origin image.Point
	switch len(v.Origin) {
	case 0:
	case 2:
		var xy [2]int
		for i, f := range v.Origin {
			r := math.RoundToEven(f)
			if math.Abs(r) > math.MaxInt32 {
				return nil, image.Point{}, fmt.Errorf("decode bitmap JSON: origin %v out of range", v.Origin)
			}
			xy[i] = int(r)
		}
		origin = image.Pt(xy[0], xy[1])
	default:
		return nil, image.Point{}, fmt.Errorf("decode bitmap JSON: origin has %d coordinates, want 2", len(v.Origin))
	}
	m, err := DecodeBitmapWithin(*v.Data, maxW, maxH)
	if err != nil {
		return nil, image.Point{}, fmt.Errorf("decode bitmap JSON: %w", err)
	}
	return m, origin, nil
}

// PNG colour types (IHDR byte 9).
const (
	pngGray      = 0
	pngRGB       = 2
	pngPalette   = 3
	pngGrayAlpha = 4
	pngRGBA      = 6
)

// pngLayout returns the colour type of a PNG file and whether a tRNS chunk
// precedes its first IDAT chunk. It only walks chunk headers; png.Decode
// validates the rest.
func pngLayout(b []byte) (colorType byte, hasTRNS bool, err error) {
	if !bytes.HasPrefix(b, pngSignature) {
		return 0, false, errors.New("not a PNG file")
	}
	p := b[len(pngSignature):]
	first := true
	for {
		if len(p) < 8 {
			return 0, false, errors.New("png: truncated chunk header")
		}
		n := binary.BigEndian.Uint32(p[:4])
		typ := string(p[4:8])
		if uint64(n)+12 > uint64(len(p)) {
			return 0, false, fmt.Errorf("png: truncated %q chunk", typ)
		}
		body := p[8 : 8+n]
		switch {
		case first:
			if typ != "IHDR" || n != 13 {
				return 0, false, errors.New("png: missing IHDR chunk")
			}
			colorType = body[9]
			first = false
		case typ == "tRNS":
			hasTRNS = true
		case typ == "IDAT" || typ == "IEND":
			return colorType, hasTRNS, nil
		}
		p = p[12+n:]
	}
}

// channelRule says which channels of a decoded pixel make it foreground.
type channelRule int

const (
	ruleAlpha   channelRule = iota // alpha ≠ 0
	ruleColor                      // any of R, G, B ≠ 0 (grey is R = G = B)
	ruleAnyRGBA                    // any of R, G, B, A ≠ 0
)

// set applies the rule to a pixel whose colour channels are (any) non-zero
// when col is true and whose alpha is non-zero when alpha is true.
func (r channelRule) set(col, alpha bool) bool {
	switch r {
	case ruleAlpha:
		return alpha
	case ruleColor:
		return col
	default:
		return col || alpha
	}
}

// decodeBitmapPNG decodes a PNG file into a mask. sdk selects the reading of a
// zlib-wrapped PNG (OpenCV channel rules) rather than of a bare PNG (any
// non-zero channel); see DecodeBitmap.
func decodeBitmapPNG(b []byte, sdk bool, maxW, maxH int) (*Mask, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("png header: %w", err)
	}
	if err := checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, fmt.Errorf("png header: %w", err)
	}
	if maxW > 0 && maxH > 0 && (cfg.Width > maxW || cfg.Height > maxH) {
		return nil, fmt.Errorf("the bitmap is %dx%d, larger than the %dx%d image", cfg.Width, cfg.Height, maxW, maxH)
	}
	ct, trns, err := pngLayout(b)
	if err != nil {
		return nil, err
	}
	var rule channelRule
	switch {
	case sdk && (ct == pngGrayAlpha || ct == pngRGBA || (ct == pngPalette || ct == pngRGB) && trns):
		rule = ruleAlpha
	case sdk && ct == pngGray:
		rule = ruleColor
	case sdk:
		return nil, fmt.Errorf("png colour type %d without transparency decodes to 3 channels; want alpha or grey", ct)
	case ct == pngGrayAlpha || ct == pngRGBA || ct == pngPalette && trns:
		rule = ruleAnyRGBA
	default:
		// Grey, RGB and opaque palette images have no alpha channel; the alpha
		// image/png synthesises from a grey or RGB tRNS key is not one either.
		rule = ruleColor
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	return maskFromImage(img, rule)
}

// maskFromImage builds a mask from the pixels of img that satisfy rule.
func maskFromImage(img image.Image, rule channelRule) (*Mask, error) {
	r := img.Bounds()
	m, err := NewMask(r.Dx(), r.Dy())
	if err != nil {
		return nil, err
	}
	switch img := img.(type) {
	case *image.Paletted:
		var lut [256]uint8
		for i, c := range img.Palette {
			n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
			col := n.R != 0 || n.G != 0 || n.B != 0
			if rule.set(col, n.A != 0) {
				lut[i] = 1
			}
		}
		for y := 0; y < m.H; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+m.W]
			dst := m.Bits[y*m.W : (y+1)*m.W]
			for x, idx := range row {
				dst[x] = lut[idx]
			}
		}
	case *image.Gray:
		for y := 0; y < m.H; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+m.W]
			for x, v := range row {
				if rule.set(v != 0, true) {
					m.Bits[y*m.W+x] = 1
				}
			}
		}
	case *image.NRGBA:
		for y := 0; y < m.H; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*m.W]
			for x := 0; x < m.W; x++ {
				p := row[4*x : 4*x+4]
				col := p[0] != 0 || p[1] != 0 || p[2] != 0
				if rule.set(col, p[3] != 0) {
					m.Bits[y*m.W+x] = 1
				}
			}
		}
	default:
		// Gray16, RGBA, RGBA64 and NRGBA64 (16-bit and opaque images) are
		// rare; read them through the generic, slower interface.
		for y := 0; y < m.H; y++ {
			for x := 0; x < m.W; x++ {
				n := color.NRGBA64Model.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
				col := n.R != 0 || n.G != 0 || n.B != 0
				if rule.set(col, n.A != 0) {
					m.Bits[y*m.W+x] = 1
				}
			}
		}
	}
	return m, nil
}
