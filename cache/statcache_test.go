//go:build unix

package cache_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dsbuild/cache"
)

var statFiles = map[string]string{"a": "one\n", "b/c": "two\n", "b/d": "three\n"}

func putDirStats(t *testing.T, s *cache.Store, root string, opt cache.IngestOptions) (cache.Digest, cache.IngestStats) {
	t.Helper()
	d, st, err := s.PutDir(ctx, root, opt)
	if err != nil {
		t.Fatalf("s.PutDir(%s) = %v", root, err)
	}
	return d, st
}

// statCacheFiles returns the contents of the files in the store's stat/.
func statCacheFiles(t *testing.T, s *cache.Store) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(s.Dir(), "stat", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// Within one process, the same *StatCache remembers every file hashed.
func TestStatCacheInMemory(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, statFiles)
	sc, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatalf("s.OpenStatCache(%s) = %v", root, err)
	}
	opt := cache.IngestOptions{StatCache: sc}

	d1, st := putDirStats(t, s, root, opt)
	if st.Hashed != 3 || st.Files != 3 {
		t.Errorf("first PutDir with an empty stat cache: stats = %+v, want 3 files hashed", st)
	}
	d, st := putDirStats(t, s, root, opt)
	if d != d1 || st.Hashed != 0 || st.Files != 3 || st.Bytes != 14 {
		t.Errorf("PutDir of the unchanged tree = %v, %+v, want %v, {Files:3 Bytes:14 Hashed:0}", d.Short(), st, d1.Short())
	}

	// New content and mtime: exactly that file is hashed again.
	past := time.Now().Add(-time.Hour)
	p := filepath.Join(root, "b", "c")
	if err := os.WriteFile(p, []byte("TWO, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
	ref, _ := newStore(t)
	want, _ := putDirStats(t, ref, root, cache.IngestOptions{HashOnly: true})
	d2, st := putDirStats(t, s, root, opt)
	if d2 != want || d2 == d1 || st.Hashed != 1 {
		t.Errorf("PutDir after changing b/c = %v, Hashed %d, want %v (not %v), Hashed 1", d2.Short(), st.Hashed, want.Short(), d1.Short())
	}

	// Only the mtime changes: hashed again, same digest.
	if err := os.Chtimes(filepath.Join(root, "b", "d"), past, past.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	d, st = putDirStats(t, s, root, opt)
	if d != d2 || st.Hashed != 1 {
		t.Errorf("PutDir after touching b/d = %v, Hashed %d, want %v, Hashed 1", d.Short(), st.Hashed, d2.Short())
	}

	// Same size, content changed, mtime put back: the inode change time
	// still gives it away.
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("TWO, LONGER\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	d3, st := putDirStats(t, s, root, opt)
	want, _ = putDirStats(t, ref, root, cache.IngestOptions{HashOnly: true})
	if d3 != want || d3 == d2 || st.Hashed != 1 {
		t.Errorf("PutDir after rewriting b/c with its old size and mtime = %v, Hashed %d, want %v, Hashed 1", d3.Short(), st.Hashed, want.Short())
	}

	// A stat cache hit is trusted without looking for the blob (the store
	// drops stat caches when it removes blobs) ...
	a := cache.Sum([]byte("one\n"))
	p, _ = blobFile(t, s, a)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	d, st = putDirStats(t, s, root, opt)
	if d != d3 || st.Hashed != 0 || s.Has(a) {
		t.Errorf("PutDir with a's blob removed behind the store's back = %v, Hashed %d, Has(a) %v, want %v, Hashed 0, Has false", d.Short(), st.Hashed, s.Has(a), d3.Short())
	}
	// ... unless VerifyStored asks for it: then the blob is stored again.
	opt.VerifyStored = true
	d, st = putDirStats(t, s, root, opt)
	if d != d3 || st.Hashed != 1 || !s.Has(a) {
		t.Errorf("PutDir(VerifyStored) with a's blob removed = %v, Hashed %d, Has(a) %v, want %v, Hashed 1, Has true", d.Short(), st.Hashed, s.Has(a), d3.Short())
	}
	if err := s.TreeComplete(d); err != nil {
		t.Errorf("s.TreeComplete = %v", err)
	}
	d, st = putDirStats(t, s, root, opt)
	if d != d3 || st.Hashed != 0 {
		t.Errorf("PutDir(VerifyStored) with every blob present = %v, Hashed %d, want %v, Hashed 0", d.Short(), st.Hashed, d3.Short())
	}
	// HashOnly never looks at the store.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	opt.HashOnly = true
	d, st = putDirStats(t, s, root, opt)
	if d != d3 || st.Hashed != 0 {
		t.Errorf("HashOnly PutDir(VerifyStored) with a's blob removed = %v, Hashed %d, want %v, Hashed 0", d.Short(), st.Hashed, d3.Short())
	}
}

// setPast sets the mtimes of the named files under root an hour back, out
// of the stat cache's racy window.
func setPast(t *testing.T, root string, names ...string) {
	t.Helper()
	past := time.Now().Add(-time.Hour)
	for _, name := range names {
		if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(name)), past, past); err != nil {
			t.Fatal(err)
		}
	}
}

// Files modified within the racy window of the save are not remembered.
func TestStatCacheRacyNotSaved(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, statFiles)
	sc, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
	if err := sc.Save(s, nil); err != nil {
		t.Fatalf("sc.Save = %v", err)
	}
	if got := statCacheFiles(t, s); len(got) != 1 || got[0] != "dsbuild stat v1\n" {
		t.Errorf("stat/ after saving just-written files = %q, want one file with only the header", got)
	}
	sc2, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc2}); st.Hashed != 3 {
		t.Errorf("PutDir with a reloaded stat cache of racy files: Hashed = %d, want 3", st.Hashed)
	}

	// Once the mtimes are old, the same files are saved.
	setPast(t, root, "a", "b/c", "b/d")
	if _, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc2}); st.Hashed != 3 {
		t.Errorf("PutDir after changing every mtime: Hashed = %d, want 3", st.Hashed)
	}
	if err := sc2.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	if got := statCacheFiles(t, s); len(got) != 1 || strings.Count(got[0], "\n") != 4 {
		t.Errorf("stat/ after saving files with old mtimes = %q, want the header and 3 entries", got)
	}
	sc3, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc3}); st.Hashed != 0 {
		t.Errorf("PutDir with a reloaded stat cache of old files: Hashed = %d, want 0", st.Hashed)
	}

	// A nil stat cache saves nothing.
	var nilCache *cache.StatCache
	if err := nilCache.Save(s, nil); err != nil {
		t.Errorf("(*StatCache)(nil).Save = %v, want nil", err)
	}
}

// The stat cache survives a save and reload.
func TestStatCacheSaveReload(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, statFiles)
	setPast(t, root, "a", "b/c", "b/d")

	sc, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	d1, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
	if st.Hashed != 3 {
		t.Fatalf("first PutDir: Hashed = %d, want 3", st.Hashed)
	}
	if err := sc.Save(s, nil); err != nil {
		t.Fatalf("sc.Save = %v", err)
	}
	files := statCacheFiles(t, s)
	if len(files) != 1 || strings.Count(files[0], "\n") != 4 || !strings.HasPrefix(files[0], "dsbuild stat v1\n") {
		t.Fatalf("stat/ after Save = %q, want one file with a header and 3 entries", files)
	}
	// Lines are "<hex> <size> <mtime> <ino> <ctime> <mode> <path>".
	saved := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(files[0], "\n"), "\n")[1:] {
		if f := strings.SplitN(line, " ", 7); len(f) == 7 {
			saved[f[6]] = f[0] + " " + f[1]
		}
	}
	for name, content := range statFiles {
		if got, want := saved[name], fmt.Sprintf("%s %d", cache.Sum([]byte(content)).Hex(), len(content)); got != want {
			t.Errorf("saved stat cache entry for %s = %q, want %q", name, got, want)
		}
	}
	// Saving again with nothing changed does not rewrite it.
	statDir := filepath.Join(s.Dir(), "stat")
	ents, _ := os.ReadDir(statDir)
	before, _ := os.Stat(filepath.Join(statDir, ents[0].Name()))
	if err := sc.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(statDir, ents[0].Name()))
	if !os.SameFile(before, after) {
		t.Errorf("sc.Save with nothing changed rewrote the stat cache")
	}

	reload := func() *cache.StatCache {
		t.Helper()
		sc, err := s.OpenStatCache(root)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	sc = reload()
	d, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
	if d != d1 || st.Hashed != 0 {
		t.Errorf("PutDir of the unchanged tree with the reloaded stat cache = %v, Hashed %d, want %v, Hashed 0", d.Short(), st.Hashed, d1.Short())
	}

	// Change b/c (content and mtime): exactly it is hashed again, and the
	// new identity is saved.
	writeFiles(t, root, map[string]string{"b/c": "TWO\n"})
	setPast(t, root, "b/c")
	d2, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
	if d2 == d1 || st.Hashed != 1 {
		t.Errorf("PutDir after changing b/c = %v, Hashed %d, want a new digest, Hashed 1", d2.Short(), st.Hashed)
	}
	if err := sc.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	sc = reload()
	if d, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc}); d != d2 || st.Hashed != 0 {
		t.Errorf("PutDir after reloading = %v, Hashed %d, want %v, Hashed 0", d.Short(), st.Hashed, d2.Short())
	}

	// Touch b/d now: hashed again, same digest, and not saved (racy).
	now := time.Now()
	if err := os.Chtimes(filepath.Join(root, "b", "d"), now, now); err != nil {
		t.Fatal(err)
	}
	if d, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc}); d != d2 || st.Hashed != 1 {
		t.Errorf("PutDir after touching b/d = %v, Hashed %d, want %v, Hashed 1", d.Short(), st.Hashed, d2.Short())
	}
	if err := sc.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	sc = reload()
	if d, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc}); d != d2 || st.Hashed != 1 {
		t.Errorf("PutDir after reloading = %v, Hashed %d, want %v, Hashed 1 (b/d is within the racy window)", d.Short(), st.Hashed, d2.Short())
	}

	// Save keeps only the paths seen.
	if err := sc.Save(s, func(rel string) bool { return rel != "a" }); err != nil {
		t.Fatal(err)
	}
	files = statCacheFiles(t, s)
	if len(files) != 1 || strings.Contains(files[0], " a\n") || !strings.Contains(files[0], " b/c\n") {
		t.Errorf("stat cache after Save dropping a = %q, want b/c but not a", files)
	}
	sc = reload()
	if _, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc}); st.Hashed != 2 {
		t.Errorf("PutDir after dropping a: Hashed = %d, want 2 (a and the racy b/d)", st.Hashed)
	}

	// Another root has its own stat cache.
	other := filepath.Join(t.TempDir(), "other")
	writeFiles(t, other, statFiles)
	sco, err := s.OpenStatCache(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, st := putDirStats(t, s, other, cache.IngestOptions{StatCache: sco}); st.Hashed != 3 {
		t.Errorf("PutDir of another root with its stat cache: Hashed = %d, want 3", st.Hashed)
	}
}

func TestStatCacheDamaged(t *testing.T) {
	for _, tt := range []struct{ name, content string }{
		{"bad header", "dsbuild stat v0\n"},
		{"short line", "dsbuild stat v1\nabc 1 2\n"},
		{"bad digest", "dsbuild stat v1\nzz 1 2 3 4 644 a\n"},
		{"bad number", "dsbuild stat v1\n" + cache.Sum(nil).Hex() + " x 2 3 4 644 a\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, log := newStore(t)
			root := filepath.Join(t.TempDir(), "src")
			writeFiles(t, root, statFiles)
			sc, err := s.OpenStatCache(root)
			if err != nil {
				t.Fatal(err)
			}
			putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
			if err := sc.Save(s, nil); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(filepath.Join(s.Dir(), "stat"))
			if len(ents) != 1 {
				t.Fatalf("stat/ holds %d files, want 1", len(ents))
			}
			p := filepath.Join(s.Dir(), "stat", ents[0].Name())
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			sc, err = s.OpenStatCache(root)
			if err != nil {
				t.Fatalf("s.OpenStatCache with a damaged file = %v, want it ignored", err)
			}
			if log.find("ignoring stat cache", p) == "" {
				t.Errorf("log = %q, want a message about ignoring %s", log.messages(), p)
			}
			if _, st := putDirStats(t, s, root, cache.IngestOptions{StatCache: sc}); st.Hashed != 3 {
				t.Errorf("PutDir with a damaged stat cache: Hashed = %d, want 3", st.Hashed)
			}
		})
	}
}

// Removing a corrupt blob drops every stat cache, whose entries may name it.
func TestStatCacheDroppedOnCorruption(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, statFiles)
	sc, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
	if err := sc.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	if got := statCacheFiles(t, s); len(got) != 1 {
		t.Fatalf("stat/ after Save holds %d files, want 1", len(got))
	}
	d := cache.Sum([]byte(statFiles["b/c"]))
	p, _ := blobFile(t, s, d)
	overwrite(t, p, []byte("TWO\n"))
	if _, err := s.ReadBlob(d); !cache.IsCorrupt(err) {
		t.Fatalf("s.ReadBlob(damaged) = %v, want a corrupt-blob error", err)
	}
	if got := statCacheFiles(t, s); len(got) != 0 {
		t.Errorf("stat/ after a corrupt read holds %d files, want none", len(got))
	}
}
