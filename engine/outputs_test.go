//go:build unix

package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// outputTree is a recipe directory with a source, beside a sibling
// directory and a store, all under one temporary directory.
type outputTree struct {
	root, recipe, source, sibling, store string
	rules                                *OutputRules
}

func newOutputTree(t *testing.T) *outputTree {
	t.Helper()
	root := t.TempDir()
	o := &outputTree{
		root:    root,
		recipe:  filepath.Join(root, "rec"),
		source:  filepath.Join(root, "rec", "data"),
		sibling: filepath.Join(root, "x"),
		store:   filepath.Join(root, "store"),
	}
	for _, f := range []string{
		filepath.Join(o.recipe, "main.hcl"),
		filepath.Join(o.source, "a.jpg"),
		filepath.Join(o.sibling, "keep.txt"),
		filepath.Join(o.store, "VERSION"),
	} {
		writeTestFile(t, f, "keep")
	}
	o.rules = &OutputRules{RecipeDir: o.recipe, Store: o.store, Claims: []Claim{{Path: o.source, By: "import.pool (path)"}}}
	return o
}

func writeTestFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, p, content string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != content {
		t.Errorf("%s: %q, %v; want %q", p, b, err, content)
	}
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), substr) {
		t.Errorf("error %v; want one containing %q", err, substr)
	}
}

func TestStepDirRefuses(t *testing.T) {
	o := newOutputTree(t)
	if err := os.Symlink(o.sibling, filepath.Join(o.recipe, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(o.source, filepath.Join(o.recipe, "insrc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(o.root, "gone"), filepath.Join(o.recipe, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(o.recipe, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(o.recipe, "file"), "keep")
	inStore := &OutputRules{RecipeDir: o.recipe, Store: filepath.Join(o.recipe, ".store")}
	for _, c := range []struct {
		rules *OutputRules
		rel   string
		want  string
	}{
		{o.rules, ".", "recipe directory itself"},
		{o.rules, "a/../.", "recipe directory itself"},
		{o.rules, "..", "leaves the recipe directory"},
		{o.rules, "../x", "leaves the recipe directory"},
		{o.rules, "a/../../x", "leaves the recipe directory"},
		{o.rules, o.sibling, "must be relative"},
		{o.rules, "", "empty"},
		{o.rules, "data", "overlaps " + o.source + ", used by import.pool (path)"},
		{o.rules, "data/pkg", "used by import.pool"},
		{o.rules, "link", "is a symbolic link"},
		{o.rules, "link/pkg", "outside the recipe directory through a symbolic link"},
		{o.rules, "insrc/pkg", "used by import.pool"},
		{o.rules, "dangling/pkg", "is a dangling symbolic link"},
		{o.rules, "dangling", "is a symbolic link"},
		{o.rules, "fifo", "not a directory (a named pipe)"},
		{o.rules, "file", "not a directory (a file)"},
		{inStore, ".store", "overlaps the store"},
		{inStore, ".store/tmp/x", "overlaps the store"},
	} {
		_, err := c.rules.StepDir(c.rel)
		if err == nil {
			t.Errorf("StepDir(%q) = nil; want an error containing %q", c.rel, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("StepDir(%q): %v; want %q", c.rel, err, c.want)
		}
	}
	if p, err := o.rules.StepDir("review/r/package"); err != nil || p != filepath.Join(o.recipe, "review/r/package") {
		t.Errorf("StepDir(review/r/package) = %q, %v", p, err)
	}
	wantFile(t, filepath.Join(o.sibling, "keep.txt"), "keep")
}

func TestUserPathsRefuse(t *testing.T) {
	o := newOutputTree(t)
	if err := os.Symlink(filepath.Join(o.sibling, "keep.txt"), filepath.Join(o.root, "page.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(o.sibling, filepath.Join(o.root, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(o.root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		dir  bool
		want string
	}{
		{o.recipe, true, "is the recipe directory"},
		{o.root, true, "holds the recipe directory"},
		{"/", true, "holds the recipe directory"},
		{o.source, true, "used by import.pool"},
		{filepath.Join(o.source, "out"), true, "used by import.pool"},
		{o.store, true, "overlaps the store"},
		{filepath.Join(o.store, "tmp", "out"), true, "overlaps the store"},
		{o.sibling, true, "is not empty"},
		{filepath.Join(o.root, "dirlink"), true, "is a symbolic link"},
		{filepath.Join(o.root, "page.html"), false, "is a symbolic link"},
		{"/dev/null", false, "not a regular file (a device)"},
		{filepath.Join(o.source, "a.jpg"), false, "used by import.pool"},
		{filepath.Join(o.store, "x.html"), false, "overlaps the store"},
		{o.sibling, false, "not a regular file (a directory)"},
	} {
		var err error
		if c.dir {
			_, err = o.rules.UserDir(c.path)
		} else {
			_, err = o.rules.UserFile(c.path)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dir %v, %s: %v; want %q", c.dir, c.path, err, c.want)
		}
	}
	for _, ok := range []string{filepath.Join(o.root, "empty"), filepath.Join(o.root, "new"), filepath.Join(o.recipe, "out")} {
		if _, err := o.rules.UserDir(ok); err != nil {
			t.Errorf("UserDir(%s): %v", ok, err)
		}
	}
	if _, err := o.rules.UserFile(filepath.Join(o.recipe, "page.html")); err != nil {
		t.Errorf("UserFile: %v", err)
	}
	wantFile(t, filepath.Join(o.sibling, "keep.txt"), "keep")
}

func TestCheckOutputFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	writeTestFile(t, target, "keep")
	link := filepath.Join(dir, "dsbuild.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	wantErr(t, CheckOutputFile(link), "is a symbolic link")
	wantErr(t, CheckOutputFile("/dev/null"), "a device")
	wantErr(t, CheckOutputFile(dir), "a directory")
	if err := CheckOutputFile(target); err != nil {
		t.Error(err)
	}
	if err := CheckOutputFile(filepath.Join(dir, "absent")); err != nil {
		t.Error(err)
	}
}

func fillWith(files map[string]string) func(string) error {
	return func(dir string) error {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 0 {
			return os.ErrExist // fill is given an empty directory
		}
		for name, content := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestReplaceDir(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "review", "r", "package")
	if err := ReplaceDir(dest, fillWith(map[string]string{"a/one.txt": "1"})); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(dest, "a", "one.txt"), "1")
	if !HasOutputMarker(dest) {
		t.Fatal("no marker in the new directory")
	}
	// dsbuild's own directory is replaced, whole.
	if err := ReplaceDir(dest, fillWith(map[string]string{"two.txt": "2"})); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(dest, "two.txt"), "2")
	if _, err := os.Stat(filepath.Join(dest, "a")); !os.IsNotExist(err) {
		t.Errorf("the old content is still there: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dest))
	if len(ents) != 1 {
		t.Errorf("left beside the package: %v", ents)
	}
	// An empty directory is replaced too.
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceDir(empty, fillWith(map[string]string{"x": "x"})); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(empty, "x"), "x")
	// A failing fill leaves the old directory as it was and nothing beside.
	if err := ReplaceDir(dest, func(string) error { return os.ErrInvalid }); err == nil {
		t.Fatal("fill's error was lost")
	}
	wantFile(t, filepath.Join(dest, "two.txt"), "2")
	if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
		t.Errorf("left beside the package after a failure: %v", ents)
	}
}

func TestReplaceDirRefusesForeign(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "target")
	writeTestFile(t, filepath.Join(target, "keep.txt"), "keep")
	foreign := filepath.Join(root, "foreign")
	writeTestFile(t, filepath.Join(foreign, "mine.txt"), "mine")
	fake := filepath.Join(root, "fake")
	writeTestFile(t, filepath.Join(fake, OutputMarker), "not dsbuild's text")
	writeTestFile(t, filepath.Join(fake, "mine.txt"), "mine")
	link := filepath.Join(root, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "file")
	writeTestFile(t, file, "keep")
	for _, c := range []struct{ dest, want string }{
		{foreign, "dsbuild did not make it"},
		{fake, "dsbuild did not make it"},
		{link, "is a symbolic link"},
		{file, "is not a directory"},
		{"/dev/null", "is not a directory (a device)"},
	} {
		called := false
		err := ReplaceDir(c.dest, func(string) error { called = true; return nil })
		wantErr(t, err, c.want)
		if called {
			t.Errorf("%s: fill ran before the check", c.dest)
		}
	}
	wantFile(t, filepath.Join(foreign, "mine.txt"), "mine")
	wantFile(t, filepath.Join(fake, "mine.txt"), "mine")
	wantFile(t, filepath.Join(target, "keep.txt"), "keep")
	wantFile(t, file, "keep")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
}

// A killed ReplaceDir leaves its new directory beside the destination; the
// next one removes it, but not a directory that a running ReplaceDir holds
// or one without dsbuild's marker.
func TestReplaceDirSweepsLeftovers(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "package")
	prefix := tempPrefix(dest)
	left := filepath.Join(root, prefix+"new-1")
	if err := os.Mkdir(left, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := writeMarker(left)
	if err != nil {
		t.Fatal(err)
	}
	unlock() // its writer is gone
	running := filepath.Join(root, prefix+"new-2")
	if err := os.Mkdir(running, 0o755); err != nil {
		t.Fatal(err)
	}
	unlockRunning, err := writeMarker(running)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockRunning()
	user := filepath.Join(root, prefix+"new-3")
	writeTestFile(t, filepath.Join(user, "mine.txt"), "mine")

	if err := ReplaceDir(dest, fillWith(map[string]string{"a": "a"})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the leftover is still there: %v", err)
	}
	if !HasOutputMarker(running) {
		t.Error("a directory that a running ReplaceDir holds was removed")
	}
	wantFile(t, filepath.Join(user, "mine.txt"), "mine")
}
