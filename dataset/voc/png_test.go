package voc

import (
	"bytes"
	"compress/zlib"
	"strings"
	"testing"

	"dsbuild/dataset/internal/importtest"
)

// grayPNG writes a w×1 gray PNG of the given bit depth holding row (packed
// as that depth packs it).
func grayPNG(t *testing.T, w uint32, depth byte, row []byte) []byte {
	t.Helper()
	p := importtest.NewPNG()
	p.Chunk("IHDR", importtest.GrayIHDR(w, 1, depth))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(append([]byte{0}, row...)) // filter None
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p.Chunk("IDAT", z.Bytes())
	p.Chunk("IEND", nil)
	return p.Bytes()
}

// A gray PNG below 8 bits is not read as indices: image/png scales its
// values (a 4-bit 1 reads as 17), which would silently give instance 17
// for instance 1. 8-bit gray gives its values.
func TestDecodeIndexPNGLowBitGray(t *testing.T) {
	m, err := decodeIndexPNG(grayPNG(t, 2, 8, []byte{1, 2}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Pix[0] != 1 || m.Pix[1] != 2 {
		t.Errorf("8-bit gray read as %v, want [1 2]", m.Pix)
	}
	for _, depth := range []byte{1, 2, 4} {
		m, err := decodeIndexPNG(grayPNG(t, 2, depth, []byte{0x40}), nil)
		if err == nil || !strings.Contains(err.Error(), "-bit gray") {
			t.Errorf("%d-bit gray: got %v, %v; want an error", depth, m, err)
		}
	}
}
