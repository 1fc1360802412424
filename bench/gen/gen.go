// Package gen writes the inputs of dsbuild's benchmarks: recipes and source
// trees made from seeded generators, so every machine benchmarks the same
// bytes.
package gen

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NoopRecipe writes files source files split over shards, one files step per
// shard, and execs exec steps: the first of each chain reads a shard, the
// others read the previous step of their chain.
func NoopRecipe(dir string, files, shards, execs int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < files; i++ {
		p := filepath.Join(dir, "data", fmt.Sprintf("shard-%d", i%shards), fmt.Sprintf("d%02d", (i/shards)%50), fmt.Sprintf("f%05d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		b := make([]byte, 512+rng.IntN(3584))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	var hcl strings.Builder
	for s := 0; s < shards; s++ {
		fmt.Fprintf(&hcl, "files \"shard%d\" {\n  path = \"data/shard-%d\"\n}\n\n", s, s)
	}
	for e := 0; e < execs; e++ {
		in := fmt.Sprintf("files.shard%d", e%shards)
		cmd := "mkdir -p out && find inputs/in -type f | sort | head -n 3 > out/list && echo " + strconv.Itoa(e) + " >> out/list"
		if e >= shards {
			in = fmt.Sprintf("exec.s%03d.out", e-shards)
			cmd = "mkdir -p out && cat inputs/in/list > out/list && echo " + strconv.Itoa(e) + " >> out/list"
		}
		fmt.Fprintf(&hcl, "exec \"s%03d\" {\n  inputs  = { in = %s }\n  command = [\"sh\", \"-c\", %q]\n  outputs = [\"out\"]\n}\n\n", e, in, cmd)
	}
	return os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl.String()), 0o644)
}

// HashFiles writes n incompressible files of size bytes under dir/data and
// a recipe with one files step over them.
func HashFiles(dir string, n, size int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, size)
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "data", fmt.Sprintf("d%02d", i%16), fmt.Sprintf("img%04d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		for j := 0; j+8 <= len(b); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				b[j+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("files \"images\" {\n  path = \"data\"\n}\n"), 0o644)
}

// Images writes n JPEG images (image/jpeg, 320×240, quality 85; 20–29 KB,
// about 25 KB on average) under dir/data, perDir to a directory (dir/data/dNNN/imgNNNNN.jpg), and a
// recipe with one files step over them; it returns their total size in
// bytes. Each image is a smooth colour gradient whose direction and colours
// come from a generator seeded with the image's index, plus seeded noise,
// so sizes vary a little, like photographs, and every run of every machine
// writes the same bytes (for one Go version's JPEG encoder).
func Images(dir string, n, perDir int) (int64, error) {
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var buf bytes.Buffer
	var total int64
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(5, uint64(i)))
		var c0, c1 [3]float64
		for k := range c0 {
			c0[k], c1[k] = rng.Float64()*255, rng.Float64()*255
		}
		dx, dy := rng.Float64()*2-1, rng.Float64()*2-1
		amp := 22 + rng.IntN(12) // noise amplitude: the main driver of size
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				t := (dx*float64(x)/w + dy*float64(y)/h + 2) / 4 // in [0, 1]
				o := img.PixOffset(x, y)
				for k := 0; k < 3; k++ {
					v := c0[k] + (c1[k]-c0[k])*t + float64(rng.IntN(2*amp+1)-amp)
					img.Pix[o+k] = uint8(max(0, min(255, v)))
				}
				img.Pix[o+3] = 255
			}
		}
		buf.Reset()
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
			return 0, fmt.Errorf("encoding image %d: %w", i, err)
		}
		p := filepath.Join(dir, "data", fmt.Sprintf("d%03d", i/perDir), fmt.Sprintf("img%05d.jpg", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return 0, err
		}
		total += int64(buf.Len())
	}
	return total, os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("files \"images\" {\n  path = \"data\"\n}\n"), 0o644)
}
