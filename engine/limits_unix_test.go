//go:build unix

package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"dsbuild/engine"
	"dsbuild/steps"
)

// TestRecipeFIFO: a *.hcl that is a FIFO is refused, not opened (an open
// would wait for a writer forever).
func TestRecipeFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.hcl"), []byte("files \"src\" {\n  path = \"data\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "b.hcl"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	diags := loadNoPanic(t, dir, engine.LoadOptions{Kinds: steps.Kinds()})
	if len(diags) != 1 || diags[0].Summary != "Cannot read recipe file" || !strings.Contains(diags[0].Detail, "not a regular file") ||
		diags[0].Subject == nil || filepath.Base(diags[0].Subject.Filename) != "b.hcl" {
		t.Fatalf("got %v, want one \"Cannot read recipe file\" for b.hcl saying it is not a regular file", diags)
	}
}
