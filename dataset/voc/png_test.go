package voc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// grayPNG writes a w×1 gray PNG of the given bit depth holding row (packed
// as that depth packs it).
func grayPNG(t *testing.T, w uint32, depth byte, row []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], 1)
	ihdr[8], ihdr[9] = depth, 0
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(append([]byte{0}, row...)) // filter None
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// A gray PNG below 8 bits is not read as indices: image/png scales its
// values (a 4-bit 1 reads as 17), which would silently give instance 17
// for instance 1. 8-bit gray gives its values.
func TestDecodeIndexPNGLowBitGray(t *testing.T) {
	m, err := decodeIndexPNG(grayPNG(t, 2, 8, []byte{1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	if m.Pix[0] != 1 || m.Pix[1] != 2 {
		t.Errorf("8-bit gray read as %v, want [1 2]", m.Pix)
	}
	for _, depth := range []byte{1, 2, 4} {
		m, err := decodeIndexPNG(grayPNG(t, 2, depth, []byte{0x40}))
		if err == nil || !strings.Contains(err.Error(), "-bit gray") {
			t.Errorf("%d-bit gray: got %v, %v; want an error", depth, m, err)
		}
	}
}
