package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
)

// supervislyVector is the person_bmp bitmap of formats.md §1.5 (from
// supervisely-ecosystem/persons, project/ds1/ann/pexels-photo-101063.png.json;
// origin [611, 340], image 1422×800).
const supervislyVector = "eJwBvAFD/olQTkcNChoKAAAADUlIRFIAAACeAAAAnwEDAAAAMhfynQAAAAZQTFRFAAAA////pdmf3QAAAAF0Uk5TAEDm2GYAAAFkSURBVHic3ddNboUgEABgjQuXHIEr9AYeDZNejKQXIekFSLqoC8IUUAScKfKqeXkpy0/U+QGDXbcPMXdoDKAwMlgwcgoFWAoBIxDYO0QxDQ4lhSjQsRmZQ30NUfIX0cdpnoHDQ4jifBr211EfsSNRPILqXmQWr0+/PtD2ECsWMfWrlcmPGxY7iQExdce88zyipRBIzN407ShPUDQj1FG9MvbX8AUzOkNJZfSfcbgNVR3HZmQ0fmPkzTj9BfWOgsbPiEsdIaG5CV0zP6poM3yv4v5ZdH1jBFrehiPYiUCTcN7QHclEK2qMHDQQqNJMWcMJ5AmqDQWNM4UdRlfuE9SxGySaDJdY+IVGOOLonpPQVJC52BLaiBIjP0eI5Zwb0VWOQFvg/CsyKDG0M2QmShyOqEI5fLUy1CEfj1PCJYTur2XoXy8C8gzhbTsmsRyX7X9hzNGsYeYfSw8sLRQ/voA4Hfp71A9iaL573rxMMQAAAABJRU5ErkJggnk5swI="

// sdkDocVector is the example in the docstring of Bitmap.base64_2_data in
// supervisely/supervisely (supervisely/geometry/bitmap.py); it is not in
// formats.md. It decodes to a 3×3 square ring.
const sdkDocVector = "eJzrDPBz5+WS4mJgYOD19HAJAtLMIMwIInOeqf8BUmwBPiGuQPr///9Lb86/C2QxlgT5BTM4PLuRBuTwebo4hlTMSa44sKHhISMDuxpTYrr03F6gDIOnq5/LOqeEJgDM5ht6"

// pngChunks returns the data of the first chunk of each type in a PNG file.
func pngChunks(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	if !bytes.HasPrefix(b, pngSignature) {
		t.Fatalf("not a PNG: % x", b[:min(8, len(b))])
	}
	out := map[string][]byte{}
	for p := b[8:]; len(p) >= 12; {
		n := binary.BigEndian.Uint32(p)
		typ := string(p[4:8])
		if _, seen := out[typ]; !seen {
			out[typ] = p[8 : 8+n]
		}
		p = p[12+n:]
	}
	return out
}

// chunk builds a PNG chunk with its CRC.
func chunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// rawPNG writes a PNG file of any colour type from unfiltered rows, with
// extra chunks (PLTE, tRNS) between IHDR and IDAT. With rows nil it writes no
// IDAT at all (a bare header).
func rawPNG(w, h uint32, depth, colorType byte, rows [][]byte, extra ...[]byte) []byte {
	var b bytes.Buffer
	b.Write(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colorType
	b.Write(chunk("IHDR", ihdr))
	for _, c := range extra {
		b.Write(c)
	}
	if rows != nil {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		for _, r := range rows {
			zw.Write(append([]byte{0}, r...))
		}
		zw.Close()
		b.Write(chunk("IDAT", z.Bytes()))
	}
	b.Write(chunk("IEND", nil))
	return b.Bytes()
}

func zlibBase64(b []byte) string {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return base64.StdEncoding.EncodeToString(z.Bytes())
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeBitmapSuperviselyVector(t *testing.T) {
	raw, err := base64.StdEncoding.DecodeString(supervislyVector)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 455 || raw[0] != 0x78 || raw[1] != 0x9c {
		t.Fatalf("base64 stage: %d bytes starting % x, want 455 starting 78 9c", len(raw), raw[:2])
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	pngData, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(pngData) != 444 {
		t.Fatalf("zlib stage: %d bytes, want 444", len(pngData))
	}
	ch := pngChunks(t, pngData)
	ihdr := ch["IHDR"]
	if w, h := binary.BigEndian.Uint32(ihdr), binary.BigEndian.Uint32(ihdr[4:]); w != 158 || h != 159 || ihdr[8] != 1 || ihdr[9] != 3 {
		t.Fatalf("IHDR: %dx%d depth %d colour type %d, want 158x159 depth 1 colour type 3", w, h, ihdr[8], ihdr[9])
	}
	if !bytes.Equal(ch["PLTE"], []byte{0, 0, 0, 0xff, 0xff, 0xff}) || !bytes.Equal(ch["tRNS"], []byte{0}) {
		t.Fatalf("PLTE % x, tRNS % x", ch["PLTE"], ch["tRNS"])
	}

	m, err := DecodeBitmap(supervislyVector)
	if err != nil {
		t.Fatal(err)
	}
	if m.W != 158 || m.H != 159 || m.Area() != 11632 {
		t.Fatalf("mask %dx%d with %d pixels, want 158x159 with 11632", m.W, m.H, m.Area())
	}
	if x0, y0, x1, y1, ok := m.BBox(); !ok || x0 != 0 || y0 != 0 || x1 != 158 || y1 != 159 {
		t.Fatalf("tight box (%d,%d,%d,%d), want the whole 158x159 mask", x0, y0, x1, y1)
	}

	// Placement at origin [611, 340] in the 1422×800 image.
	full := mustMask(t, 1422, 800)
	full.Paste(m, 611, 340)
	x0, y0, x1, y1, _ := full.BBox()
	if x0 != 611 || x1-1 != 768 || y0 != 340 || y1-1 != 498 || full.Area() != 11632 {
		t.Fatalf("placed box columns %d-%d rows %d-%d area %d, want columns 611-768 rows 340-498 area 11632", x0, x1-1, y0, y1-1, full.Area())
	}

	// Re-encoding with Go gives a different string but the same mask.
	s, origin, err := EncodeBitmap(full)
	if err != nil {
		t.Fatal(err)
	}
	if origin != image.Pt(611, 340) {
		t.Fatalf("origin %v, want (611,340)", origin)
	}
	back, err := DecodeBitmap(s)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(m) {
		t.Fatal("re-encoded vector decodes to a different mask")
	}
}

func TestDecodeBitmapSDKDocVector(t *testing.T) {
	m, err := DecodeBitmap(sdkDocVector)
	if err != nil {
		t.Fatal(err)
	}
	if want := maskFromRows(t, "###", "#.#", "###"); !m.Equal(want) {
		t.Fatalf("got\n%swant\n%s", rowsOf(m), rowsOf(want))
	}
}

func TestEncodeBitmapFormat(t *testing.T) {
	m := maskFromRows(t,
		"......",
		"..##..",
		"..#...",
		".....#",
	)
	s, origin, err := EncodeBitmap(m)
	if err != nil {
		t.Fatal(err)
	}
	if origin != image.Pt(2, 1) {
		t.Fatalf("origin %v, want (2,1)", origin)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 0x78 || raw[1] != 0x9c {
		t.Fatalf("zlib header % x, want 78 9c", raw[:2])
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	pngData, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	ch := pngChunks(t, pngData)
	ihdr := ch["IHDR"]
	if w, h := binary.BigEndian.Uint32(ihdr), binary.BigEndian.Uint32(ihdr[4:]); w != 4 || h != 3 || ihdr[8] != 1 || ihdr[9] != 3 {
		t.Fatalf("IHDR: %dx%d depth %d colour type %d, want 4x3 depth 1 colour type 3", w, h, ihdr[8], ihdr[9])
	}
	if !bytes.Equal(ch["PLTE"], []byte{0, 0, 0, 0xff, 0xff, 0xff}) || !bytes.Equal(ch["tRNS"], []byte{0}) {
		t.Fatalf("PLTE % x, tRNS % x, want 000000ffffff and 00", ch["PLTE"], ch["tRNS"])
	}
	got, err := DecodeBitmap(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := maskFromRows(t, "##..", "#...", "...#"); !got.Equal(want) {
		t.Fatalf("decoded\n%swant\n%s", rowsOf(got), rowsOf(want))
	}
}

func TestEncodeBitmapDeterministic(t *testing.T) {
	a := personMask(t)
	s1, o1, err := EncodeBitmap(a)
	if err != nil {
		t.Fatal(err)
	}
	s2, o2, err := EncodeBitmap(a)
	if err != nil {
		t.Fatal(err)
	}
	if s1 != s2 || o1 != o2 {
		t.Fatal("two encodings of one mask differ")
	}
	// The same shape elsewhere in a larger image: same string, shifted origin.
	b := mustMask(t, 300, 300)
	b.Paste(a, 17, 40)
	s3, o3, err := EncodeBitmap(b)
	if err != nil {
		t.Fatal(err)
	}
	if s3 != s1 || o3 != o1.Add(image.Pt(17, 40)) {
		t.Fatalf("shifted shape: same string %v, origin %v, want origin %v", s3 == s1, o3, o1.Add(image.Pt(17, 40)))
	}
}

func TestBitmapRoundTrip(t *testing.T) {
	for name, m := range testShapes(t) {
		s, origin, err := EncodeBitmap(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cropped, err := DecodeBitmap(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back := mustMask(t, m.W, m.H)
		back.Paste(cropped, origin.X, origin.Y)
		if !back.Equal(m) {
			t.Errorf("%s: round trip differs:\n%s\nwant\n%s", name, rowsOf(back), rowsOf(m))
		}
	}
}

func TestEncodeBitmapEmpty(t *testing.T) {
	for _, m := range []*Mask{mustMask(t, 4, 4), mustMask(t, 0, 0)} {
		if _, _, err := EncodeBitmap(m); !errors.Is(err, ErrEmptyMask) {
			t.Errorf("EncodeBitmap(empty %dx%d) error = %v, want ErrEmptyMask", m.W, m.H, err)
		}
	}
}

func TestDecodeBitmapVariants(t *testing.T) {
	sdkPalette := color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 255, 255, 255}}
	pal := image.NewPaletted(image.Rect(0, 0, 3, 1), sdkPalette)
	pal.Pix = []uint8{1, 0, 1}
	opaquePal := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 0, 0, 255}})
	opaquePal.Pix = []uint8{1, 0, 1}
	gray := image.NewGray(image.Rect(0, 0, 3, 1))
	gray.Pix = []uint8{0, 7, 255}
	gray16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	gray16.SetGray16(1, 0, color.Gray16{Y: 1})
	rgba := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	copy(rgba.Pix, []uint8{255, 255, 255, 0, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0})
	rgb := image.NewRGBA(image.Rect(0, 0, 3, 1)) // opaque: written as colour type 2
	copy(rgb.Pix, []uint8{0, 0, 0, 255, 0, 0, 1, 255, 9, 9, 9, 255})
	gray16PNG := encodePNG(t, gray16)

	gaRows := [][]byte{{255, 0, 0, 9, 0, 5, 0, 0}}       // (grey, alpha) × 4
	rgbRows := [][]byte{{0, 0, 0, 0, 0, 1, 9, 9, 9}}     // black, blue-ish, grey
	trnsBlack := chunk("tRNS", []byte{0, 0, 0, 0, 0, 0}) // RGB key 0,0,0 (16-bit samples)
	grayTRNS := chunk("tRNS", []byte{0, 0})              // grey key 0
	grayTRNSRows := [][]byte{{0, 3, 0}}                  // grey values
	for _, tc := range []struct {
		name string
		data string
		want string // one row of '.'/'#'; "" means an error is expected
	}{
		{"zlib palette+tRNS (SDK)", zlibBase64(encodePNG(t, pal)), "#.#"},
		{"zlib grey: value != 0", zlibBase64(encodePNG(t, gray)), ".##"},
		{"zlib grey 16-bit", zlibBase64(gray16PNG), ".#."},
		{"zlib RGBA: alpha != 0", zlibBase64(encodePNG(t, rgba)), ".#.."},
		{"zlib grey+alpha: alpha != 0", zlibBase64(rawPNG(4, 1, 8, 4, gaRows)), ".##."},
		{"zlib RGB+tRNS: alpha from key", zlibBase64(rawPNG(3, 1, 8, 2, rgbRows, trnsBlack)), ".##"},
		{"zlib grey+tRNS: grey value", zlibBase64(rawPNG(3, 1, 8, 0, grayTRNSRows, grayTRNS)), ".#."},
		{"zlib RGB without tRNS: 3 channels", zlibBase64(encodePNG(t, rgb)), ""},
		{"zlib palette without tRNS: 3 channels", zlibBase64(encodePNG(t, opaquePal)), ""},
		{"bare palette+tRNS", base64.StdEncoding.EncodeToString(encodePNG(t, pal)), "#.#"},
		{"bare opaque palette: colour != 0", base64.StdEncoding.EncodeToString(encodePNG(t, opaquePal)), "#.#"},
		{"bare RGBA: any channel", base64.StdEncoding.EncodeToString(encodePNG(t, rgba)), "##.#"},
		{"bare RGB: any colour channel", base64.StdEncoding.EncodeToString(encodePNG(t, rgb)), ".##"},
		{"bare grey", base64.StdEncoding.EncodeToString(encodePNG(t, gray)), ".##"},
		{"bare grey+alpha: any channel", base64.StdEncoding.EncodeToString(rawPNG(4, 1, 8, 4, gaRows)), "###."},
		{"bare grey+tRNS: grey value", base64.StdEncoding.EncodeToString(rawPNG(3, 1, 8, 0, grayTRNSRows, grayTRNS)), ".#."},
	} {
		m, err := DecodeBitmap(tc.data)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: decoded to\n%s, want an error", tc.name, rowsOf(m))
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := strings.TrimSpace(rowsOf(m)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDecodeBitmapErrors(t *testing.T) {
	valid, _, err := EncodeBitmap(maskFromRows(t, "#.", "##"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(valid)
	corrupt := bytes.Clone(raw)
	corrupt[len(corrupt)/2] ^= 0xff

	pngData := encodePNG(t, image.NewGray(image.Rect(0, 0, 2, 2)))
	badCRC := bytes.Clone(pngData)
	badCRC[len(badCRC)-20] ^= 0xff // inside IDAT

	hugeGray := rawPNG(100000, 100000, 8, 0, nil)
	hugePalette := rawPNG(100000, 100000, 1, 3, nil, chunk("PLTE", []byte{0, 0, 0, 255, 255, 255}), chunk("tRNS", []byte{0}))

	for _, tc := range []struct {
		name    string
		data    string
		tooBig  bool
		mention string
	}{
		{"empty string", "", false, "zlib"},
		{"truncated base64", supervislyVector[:101], false, "base64"},
		{"base64 cut on a quad boundary", supervislyVector[:100], false, "zlib"},
		{"bad base64 character", "eJw*" + supervislyVector[4:], false, "base64"},
		{"not zlib", base64.StdEncoding.EncodeToString([]byte("hello, world")), false, "zlib"},
		{"corrupt zlib stream", base64.StdEncoding.EncodeToString(corrupt), false, "zlib"},
		{"zlib of a non-PNG", zlibBase64([]byte("GIF89a not a png at all")), false, "png"},
		{"PNG with a bad CRC", zlibBase64(badCRC), false, "png"},
		{"truncated PNG", zlibBase64(pngData[:len(pngData)/2]), false, "png"},
		{"huge header (zlib)", zlibBase64(hugeGray), true, "png header"},
		{"huge palette header (zlib)", zlibBase64(hugePalette), true, "png header"},
		{"huge header (bare PNG)", base64.StdEncoding.EncodeToString(hugeGray), true, "png header"},
		{"zero width", zlibBase64(rawPNG(0, 5, 8, 0, [][]byte{})), false, "png"},
	} {
		m, err := DecodeBitmap(tc.data)
		if err == nil {
			t.Errorf("%s: decoded a %dx%d mask, want an error", tc.name, m.W, m.H)
			continue
		}
		if errors.Is(err, ErrTooLarge) != tc.tooBig {
			t.Errorf("%s: error %q, want ErrTooLarge %v", tc.name, err, tc.tooBig)
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.mention)
		}
	}
}

// zeroReader yields n zero bytes.
type zeroReader struct{ n int }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), z.n)
	clear(p[:k])
	z.n -= k
	return k, nil
}

func TestDecodeBitmapZlibBomb(t *testing.T) {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if _, err := io.Copy(zw, &zeroReader{n: maxBitmapPNGBytes + 1}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	_, err := DecodeBitmap(base64.StdEncoding.EncodeToString(z.Bytes()))
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("error = %v, want the inflated-size limit", err)
	}
}

func TestDecodeBitmapJSON(t *testing.T) {
	for _, tc := range []struct {
		name   string
		json   string
		origin image.Point
		w, h   int
		isNil  bool
		errSub string
	}{
		{"current", `{"origin": [611, 340], "data": "` + supervislyVector + `"}`, image.Pt(611, 340), 158, 159, false, ""},
		{"legacy: no origin", `{"data": "` + sdkDocVector + `"}`, image.Pt(0, 0), 3, 3, false, ""},
		{"legacy: float origin, half to even", `{"origin": [1.5, 2.5], "data": "` + sdkDocVector + `"}`, image.Pt(2, 2), 3, 3, false, ""},
		{"legacy: negative float origin", `{"origin": [-0.6, 3.49], "data": "` + sdkDocVector + `"}`, image.Pt(-1, 3), 3, 3, false, ""},
		{"legacy vector object: null", `null`, image.Point{}, 0, 0, true, ""},
		{"legacy vector object: {}", `{}`, image.Point{}, 0, 0, true, ""},
		{"legacy vector object: empty data", `{"origin": [], "data": ""}`, image.Point{}, 0, 0, true, ""},
		{"origin of 1 number", `{"origin": [1], "data": "` + sdkDocVector + `"}`, image.Point{}, 0, 0, false, "coordinates"},
		{"origin out of range", `{"origin": [1e20, 0], "data": "` + sdkDocVector + `"}`, image.Point{}, 0, 0, false, "out of range"},
		{"not an object", `[1, 2]`, image.Point{}, 0, 0, false, "JSON"},
		{"data not a string", `{"data": 5}`, image.Point{}, 0, 0, false, "JSON"},
		{"bad data", `{"origin": [0, 0], "data": "AAAA"}`, image.Point{}, 0, 0, false, "zlib"},
	} {
		m, origin, err := DecodeBitmapJSON([]byte(tc.json))
		if tc.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.errSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.isNil {
			if m != nil {
				t.Errorf("%s: got a %dx%d mask, want nil", tc.name, m.W, m.H)
			}
			continue
		}
		if m == nil || m.W != tc.w || m.H != tc.h || origin != tc.origin {
			t.Errorf("%s: got mask %v origin %v, want %dx%d at %v", tc.name, m != nil, origin, tc.w, tc.h, tc.origin)
		}
	}
}

func FuzzDecodeBitmap(f *testing.F) {
	f.Add(supervislyVector)
	f.Add(sdkDocVector)
	f.Add(supervislyVector[:200])
	f.Add("")
	f.Add("iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAAXNSR0IArs4c6QAAAARnQU1BAACxjwv8YQUAAAAJcEhZcwAADsMAAA")
	for _, rows := range [][]string{{"#"}, {"#.", ".#"}, {"...", ".#.", "..."}} {
		m := maskFromRows(f, rows...)
		s, _, err := EncodeBitmap(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
		raw, _ := base64.StdEncoding.DecodeString(s)
		zr, _ := zlib.NewReader(bytes.NewReader(raw))
		p, _ := io.ReadAll(zr)
		f.Add(base64.StdEncoding.EncodeToString(p)) // bare PNG
	}
	f.Fuzz(func(t *testing.T, data string) {
		// Bounded like a bitmap of a 512x512 image: the unbounded decoder
		// may, by design, spend seconds on a 2^28-pixel header.
		m, err := DecodeBitmapWithin(data, 512, 512)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil mask with an error")
			}
			return
		}
		if m.W > 512 || m.H > 512 {
			t.Fatalf("DecodeBitmapWithin(512, 512) returned a %dx%d mask", m.W, m.H)
		}
		s, origin, err := EncodeBitmap(m)
		if m.Area() == 0 {
			if !errors.Is(err, ErrEmptyMask) {
				t.Fatalf("EncodeBitmap(empty) error = %v, want ErrEmptyMask", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("EncodeBitmap of a decoded mask: %v", err)
		}
		back, err := DecodeBitmap(s)
		if err != nil {
			t.Fatalf("DecodeBitmap of an encoded mask: %v", err)
		}
		want, err := m.Crop(origin.X, origin.Y, back.W, back.H)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Equal(want) || back.Area() != m.Area() {
			t.Fatal("re-encoded mask differs from the decoded one")
		}
		if s2, o2, err := EncodeBitmap(back); err != nil || s2 != s || o2 != image.Pt(0, 0) {
			t.Fatalf("encoding is not stable: %v", err)
		}
	})
}
