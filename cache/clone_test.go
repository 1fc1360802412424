//go:build unix

package cache_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"dsbuild/cache"
)

// linkCount returns the number of hard links of the file at p.
func linkCount(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

// appendTo edits the file at p in place (same inode), as `echo more >> p`
// does, whatever its permissions (tests run as root, where they would not
// stop it anyway).
func appendTo(t *testing.T, p, more string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(more); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// checkClean fails the test unless cache check finds no problem.
func checkClean(t *testing.T, s *cache.Store) {
	t.Helper()
	rep, err := s.Check(ctx, false)
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("store check = %v, problems %q; want a clean store", err, rep.Problems)
	}
}

// ingestWith runs PutDir with a stat cache of root, saved afterwards.
func ingestWith(t *testing.T, s *cache.Store, root string, adopt cache.Adopt) (cache.Digest, cache.IngestStats) {
	t.Helper()
	sc, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	d, st, err := s.PutDir(ctx, root, cache.IngestOptions{Adopt: adopt, StatCache: sc})
	if err != nil {
		t.Fatalf("PutDir(%s) = %v", root, err)
	}
	if err := sc.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	return d, st
}

// Clone (the default for sources) gives the same tree as Copy, never shares
// the source's inode, and an in-place edit of the source afterwards leaves
// every stored blob intact.
func TestPutDirCloneIndependent(t *testing.T) {
	files := map[string]string{
		"a.txt":     "alpha\n",
		"big.bin":   string(randomBytes(3, 300_000)), // reflinked where the file system can
		"sub/c.txt": string(make([]byte, 200_000)),   // compressible: copied compressed without reflink
	}
	want := func() cache.Digest {
		s, _ := newStore(t)
		root := filepath.Join(t.TempDir(), "src")
		writeFiles(t, root, files)
		d, _, err := s.PutDir(ctx, root, cache.IngestOptions{Adopt: cache.Copy})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}()
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, files)
	d, st := ingestWith(t, s, root, cache.Clone)
	if d != want || st.Hashed != 3 {
		t.Fatalf("PutDir(Clone) = %s (hashed %d), want %s (hashed 3)", d.Short(), st.Hashed, want.Short())
	}
	for name := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if n := linkCount(t, p); n != 1 {
			t.Errorf("%s has %d links after PutDir(Clone), want 1 (not shared with the store)", name, n)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode changed to %v by PutDir(Clone)", name, fi.Mode().Perm())
		}
		appendTo(t, p, "more\n")
	}
	checkClean(t, s)
	for name, content := range files {
		if got, err := s.ReadBlob(cache.Sum([]byte(content))); err != nil || string(got) != content {
			t.Errorf("stored %s after an in-place edit of the source: %d bytes, %v; want the original %d bytes", name, len(got), err, len(content))
		}
	}
	if err := s.Materialize(ctx, d, filepath.Join(t.TempDir(), "out"), false); err != nil {
		t.Errorf("Materialize of the first tree after the sources were edited: %v", err)
	}
	d2, _ := ingestWith(t, s, root, cache.Clone)
	if d2 == d {
		t.Errorf("PutDir after editing every file gave the same tree")
	}
	checkClean(t, s)
}

// link = "hard": the linked files lose their write bits (exec bits stay),
// since they are store objects now.
func TestLinkMakesSourcesReadOnly(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, map[string]string{"a.txt": "alpha\n", "run.sh": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(root, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	ingestWith(t, s, root, cache.Link)
	for name, want := range map[string]os.FileMode{"a.txt": 0o444, "run.sh": 0o555} {
		p := filepath.Join(root, name)
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != want || linkCount(t, p) != 2 {
			t.Errorf("%s after PutDir(Link): mode %v, %d links; want %v, 2 links", name, fi.Mode().Perm(), linkCount(t, p), want)
		}
	}
}

// link = "hard" never links or chmods a file outside the directory: a
// symbolic link's target is stored by copy.
func TestLinkCopiesSymlinkTargets(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside.txt")
	if err := os.WriteFile(outside, []byte("elsewhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "src")
	writeFiles(t, root, map[string]string{"a.txt": "alpha\n"})
	if err := os.Symlink(outside, filepath.Join(root, "l.txt")); err != nil {
		t.Fatal(err)
	}
	ingestWith(t, s, root, cache.Link)
	fi, _ := os.Stat(outside)
	if n := linkCount(t, outside); n != 1 || fi.Mode().Perm() != 0o644 {
		t.Errorf("symlink target after PutDir(Link): %d links, mode %v; want 1 link, 0644", n, fi.Mode().Perm())
	}
	if got, err := s.ReadBlob(cache.Sum([]byte("elsewhere\n"))); err != nil || string(got) != "elsewhere\n" {
		t.Errorf("ReadBlob(target) = %q, %v", got, err)
	}
}

// A hard-linked source edited in place is caught by the stat cache even
// when it was hashed within the racy window (the stat cache keeps the
// digest of a linked file, not its identity) and when only its ctime tells
// (same size, mtime put back): the stale blob is removed and the store stays
// clean.
func TestLinkedEditDetected(t *testing.T) {
	for _, tt := range []struct {
		name string
		old  bool // mtime out of the racy window when first stored
		edit func(t *testing.T, p string)
	}{
		{"racy append", false, func(t *testing.T, p string) { appendTo(t, p, "more\n") }},
		{"same size, mtime restored", true, func(t *testing.T, p string) {
			fi, _ := os.Stat(p)
			overwrite(t, p, []byte("FIRST\n"))
			if err := os.Chmod(p, fi.Mode().Perm()); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, log := newStore(t)
			root := filepath.Join(t.TempDir(), "src")
			writeFiles(t, root, map[string]string{"a.txt": "first\n", "b.txt": "other\n"})
			if tt.old {
				setPast(t, root, "a.txt", "b.txt")
			}
			first, _ := ingestWith(t, s, root, cache.Link)
			firstBlob := cache.Sum([]byte("first\n"))
			if !s.Has(firstBlob) {
				t.Fatal("a.txt not stored")
			}
			tt.edit(t, filepath.Join(root, "a.txt"))
			second, st := ingestWith(t, s, root, cache.Link)
			if second == first {
				t.Errorf("tree unchanged after editing a.txt in place")
			}
			if s.Has(firstBlob) {
				t.Errorf("stale blob %s (the edited file itself) is still in the store", firstBlob.Short())
			}
			if log.find("a.txt was edited in place") == "" {
				t.Errorf("no warning about the in-place edit; log %q", log.messages())
			}
			if tt.old && st.Hashed != 1 {
				t.Errorf("second ingest hashed %d files, want 1 (b.txt unchanged and remembered)", st.Hashed)
			}
			checkClean(t, s)
		})
	}
}

// Going back from link = "hard" to the default: the next ingest copies each
// linked file out of the store's inode (with the stat cache remembering
// it, or not), so that a later in-place edit no longer reaches the store.
func TestCloneUnsharesLinkedSources(t *testing.T) {
	for _, tt := range []struct {
		name      string
		old       bool // the stat cache remembers the files
		editFirst bool // a.txt edited in place while still linked
	}{
		{"remembered", true, false},
		{"not remembered", false, false},
		{"edited while linked", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, log := newStore(t)
			root := filepath.Join(t.TempDir(), "src")
			big := string(randomBytes(5, 100_000))
			writeFiles(t, root, map[string]string{"a.txt": "first\n", "big.bin": big})
			if tt.old {
				setPast(t, root, "a.txt", "big.bin")
			}
			first, _ := ingestWith(t, s, root, cache.Link)
			if linkCount(t, filepath.Join(root, "big.bin")) != 2 {
				t.Fatal("big.bin not hard-linked by PutDir(Link)")
			}
			content := "first\n"
			if tt.editFirst {
				appendTo(t, filepath.Join(root, "a.txt"), "more\n")
				content = "first\nmore\n"
			}
			d, st := ingestWith(t, s, root, cache.Clone)
			if !tt.editFirst && d != first {
				t.Errorf("PutDir(Clone) after PutDir(Link) = %s, want the same tree %s", d.Short(), first.Short())
			}
			wantUnshared := 2
			if tt.editFirst {
				wantUnshared = 1 // a.txt's blob was stale: removed, not copied
			}
			if st.Unshared != wantUnshared || log.find(fmt.Sprintf("cache: %d file(s) under %s were stored by hard link", wantUnshared, root)) == "" {
				t.Errorf("PutDir(Clone): Unshared = %d, want %d, with one warning; log %q", st.Unshared, wantUnshared, log.messages())
			}
			for _, name := range []string{"a.txt", "big.bin"} {
				if n := linkCount(t, filepath.Join(root, name)); n != 1 {
					t.Errorf("%s still has %d links after PutDir(Clone)", name, n)
				}
			}
			if tt.editFirst && (s.Has(cache.Sum([]byte("first\n"))) || log.find("a.txt was edited in place") == "") {
				t.Errorf("the stale blob of a.txt was not removed with a warning; log %q", log.messages())
			}
			checkClean(t, s)
			// Now an in-place edit leaves the store alone.
			appendTo(t, filepath.Join(root, "a.txt"), "again\n")
			appendTo(t, filepath.Join(root, "big.bin"), "again\n")
			checkClean(t, s)
			for _, c := range []string{content, big} {
				if got, err := s.ReadBlob(cache.Sum([]byte(c))); err != nil || string(got) != c {
					t.Errorf("stored blob after editing its unshared source: %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

// A stat cache entry kept only for its digest (a racy linked file) never
// counts as a hit, after a reload too.
func TestStatCacheLinkedRacyNeverHits(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, statFiles)
	ingestWith(t, s, root, cache.Link)
	time.Sleep(10 * time.Millisecond)
	for i := 0; i < 2; i++ { // the second round reloads what the first saved
		if _, st := ingestWith(t, s, root, cache.Link); st.Hashed != 3 {
			t.Errorf("round %d: PutDir(Link) of racy files hashed %d, want 3", i, st.Hashed)
		}
	}
}
