package steps_test

import (
	"context"
	"path/filepath"
	"testing"

	"dsbuild/bench/gen"
	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/steps"
)

// BenchmarkNoopRebuild loads and builds, with everything cached, the
// 200-step recipe over 10,000 source files that bench/run.sh times as a
// whole command. Each iteration is what "dsbuild build" does after start-up.
func BenchmarkNoopRebuild(b *testing.B) {
	dir := b.TempDir()
	if err := gen.NoopRecipe(dir, 10_000, 10, 190); err != nil {
		b.Fatal(err)
	}
	store, err := cache.Open(filepath.Join(b.TempDir(), "store"), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	build := func() *engine.BuildResult {
		r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds()})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store})
		if err != nil {
			b.Fatal(err)
		}
		return br
	}
	if br := build(); br.Counts[engine.Ran] != 200 {
		b.Fatalf("first build: %v", br.Counts)
	}
	b.ResetTimer()
	for b.Loop() {
		if br := build(); br.Counts[engine.Cached] != 200 {
			b.Fatalf("no-op build: %v", br.Counts)
		}
	}
}
