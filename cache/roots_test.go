package cache_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

func TestLockfiles(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	b := filepath.Join(dir, "b", "dsbuild.lock")
	a := filepath.Join(dir, "a", "dsbuild.lock")
	writeFiles(t, dir, map[string]string{"a/dsbuild.lock": "", "b/dsbuild.lock": ""})
	for _, p := range []string{b, a, b} {
		if err := s.RegisterLockfile(p); err != nil {
			t.Fatalf("s.RegisterLockfile(%s) = %v", p, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "roots")); len(ents) != 2 {
		t.Errorf("roots/ holds %d files after registering 2 lockfiles (one twice), want 2", len(ents))
	}
	got, err := s.Lockfiles()
	if err != nil || strings.Join(got, ",") != a+","+b {
		t.Errorf("s.Lockfiles() = %q, %v, want [%s %s]", got, err, a, b)
	}
	// A relative path is registered as absolute.
	t.Chdir(filepath.Join(dir, "a"))
	if err := s.RegisterLockfile("dsbuild.lock"); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "roots")); len(ents) != 2 {
		t.Errorf("registering ./dsbuild.lock again added a root: roots/ holds %d files, want 2", len(ents))
	}
	// A deleted lockfile is dropped, with its registration.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	got, err = s.Lockfiles()
	if err != nil || strings.Join(got, ",") != b {
		t.Errorf("s.Lockfiles() after deleting %s = %q, %v, want [%s]", a, got, err, b)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "roots")); len(ents) != 1 {
		t.Errorf("roots/ holds %d files after a lockfile was deleted, want 1", len(ents))
	}
}

func TestRecordBuild(t *testing.T) {
	s, _ := newStore(t)
	r1 := cache.BuildRecord{Actions: []cache.ActionKey{cache.ActionKey(cache.Sum([]byte("a")))}, Roots: []cache.Digest{cache.Sum([]byte("r"))}}
	r2 := cache.BuildRecord{Roots: []cache.Digest{cache.Sum([]byte("r2"))}}
	for _, r := range []cache.BuildRecord{r1, r1, r2, r1} {
		if err := s.RecordBuild(r); err != nil {
			t.Fatalf("s.RecordBuild = %v", err)
		}
	}
	// The repeated r1 added nothing; r1 after r2 is new.
	ents, _ := os.ReadDir(filepath.Join(s.Dir(), "builds"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "0000000001 0000000002 0000000003" {
		t.Errorf("builds/ = %s, want 0000000001 0000000002 0000000003", got)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(), "builds", "0000000001"))
	want := "dsbuild build v1\naction " + r1.Actions[0].String() + "\nroot " + r1.Roots[0].String() + "\n"
	if err != nil || string(b) != want {
		t.Errorf("build record 1 = %q, %v, want %q", b, err, want)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d entries after RecordBuild, want 0", len(ents))
	}
}
