// Package gen writes the inputs of dsbuild's benchmarks: recipes and source
// trees made from seeded generators, so every machine benchmarks the same
// bytes.
package gen

import (
	"fmt"
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
