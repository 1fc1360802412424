package jpeg

import (
	"bytes"
	"image"
	"os"
	"sync"
	"testing"
)

// pixelsOf returns a decoded image's pixel bytes, row by row.
func pixelsOf(img image.Image) []byte {
	switch m := img.(type) {
	case *image.RGBA:
		var out []byte
		for y := 0; y < m.Rect.Dy(); y++ {
			out = append(out, m.Pix[y*m.Stride:y*m.Stride+4*m.Rect.Dx()]...)
		}
		return out
	case *image.Gray:
		var out []byte
		for y := 0; y < m.Rect.Dy(); y++ {
			out = append(out, m.Pix[y*m.Stride:y*m.Stride+m.Rect.Dx()]...)
		}
		return out
	}
	return nil
}

// TestDecodedImagesStayIntact: decoders and their buffers are reused from
// one image to the next (a pool), so an image already returned must not
// share memory with a later decoding, and a decoding must not see what an
// earlier one (of another size or kind, or one that failed) left behind.
// Every reference file is decoded and kept, then all are decoded again, in
// reverse order, with a failing file between each, and from several
// goroutines at once: each result must equal the first, which must still
// hold its pixels.
func TestDecodedImagesStayIntact(t *testing.T) {
	refs := loadRefs(t)
	var files [][]byte
	for _, r := range refs {
		files = append(files, must(os.ReadFile(r.jpegPath())))
	}
	corrupt := files[0][:len(files[0])*2/3]
	first := make([]image.Image, len(files))
	saved := make([][]byte, len(files))
	for i, f := range files {
		img, err := DecodeBytes(f)
		if err != nil {
			t.Fatalf("%s: %v", refs[i].Name, err)
		}
		first[i], saved[i] = img, bytes.Clone(pixelsOf(img))
	}
	check := func(i int) {
		if _, err := DecodeBytes(corrupt); err == nil {
			t.Errorf("the truncated file decoded")
		}
		img, err := DecodeBytes(files[i])
		if err != nil {
			t.Errorf("%s, again: %v", refs[i].Name, err)
			return
		}
		if !bytes.Equal(pixelsOf(img), saved[i]) {
			t.Errorf("%s: a second decoding differs from the first", refs[i].Name)
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		check(i)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range files {
				check((i + 7*g) % len(files))
			}
		}()
	}
	wg.Wait()
	for i, img := range first {
		if !bytes.Equal(pixelsOf(img), saved[i]) {
			t.Errorf("%s: the image returned first changed when later files were decoded", refs[i].Name)
		}
	}
}
