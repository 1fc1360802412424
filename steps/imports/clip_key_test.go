package imports_test

import (
	"slices"
	"testing"

	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/steps/internal/steptest"
)

// The clipping rule is in the key of an import with clip = true, and only
// there: a result clipped by another rule (before dataset.ClipRule,
// rectangles became bitmaps) is never served, and steps without clip keep
// their keys (the committed lockfiles verify).
func TestImportKeyNamesTheClipRule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `import "plain" {
  format = "synthetic"
}
import "clipped" {
  format = "synthetic"
  clip   = true
}
`
	r := steptest.Load(t, dir, src)
	line := "clip " + dataset.ClipRule
	for addr, want := range map[string]bool{"import.plain": false, "import.clipped": true} {
		pre, err := engine.Preimage(r.Step(addr), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(pre, line); got != want {
			t.Errorf("%s: the key has the line %q: %v, want %v\n%q", addr, line, got, want, pre)
		}
	}
}
