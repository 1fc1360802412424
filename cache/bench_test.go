package cache

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func randomFiles(b *testing.B, n, size int) string {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkPutDir stores 64 MiB of incompressible files (64 × 1 MiB) into a
// fresh store on every iteration: hashing, writing and renaming.
func BenchmarkPutDir(b *testing.B) {
	src := randomFiles(b, 64, 1<<20)
	b.SetBytes(64 << 20)
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, _, err := s.PutDir(context.Background(), src, IngestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256 is the floor for BenchmarkPutDir on one core.
func BenchmarkSHA256(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		sha256.Sum256(buf)
	}
}
