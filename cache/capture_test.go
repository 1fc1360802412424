//go:build linux

package cache_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"dsbuild/cache"
)

// userTree writes a user's directory, outside any store, with a large
// incompressible file, a small one and an executable script.
func userTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "user", "data")
	writeFiles(t, dir, map[string]string{
		"big.bin":     string(randomBytes(3, 200_000)),
		"small.txt":   "small\n",
		"sub/run.sh":  "#!/bin/sh\n",
		"sub/c.txt":   "c\n",
		"sub/d/e.txt": "e\n",
	})
	if err := os.Chmod(filepath.Join(dir, "sub", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fileStates describes every path under root without following links:
// type and mode, link count, inode, size, mtime, ctime (which chmod,
// rename and link all change) and the SHA-256 of regular files.
func fileStates(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := fmt.Sprintf("%v nlink=%d ino=%d size=%d mtime=%d ctime=%d.%d", fi.Mode(), st.Nlink, st.Ino, fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec, st.Ctim.Nsec)
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += fmt.Sprintf(" sha256=%x", sha256.Sum256(b))
		}
		out[p] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameStates(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s: %s is gone", what, p)
		} else if a != b {
			t.Errorf("%s: %s changed:\n  before %s\n  after  %s", what, p, b, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

// copyDigest is the tree of dir stored by plain copying.
func copyDigest(t *testing.T, dir string) cache.Digest {
	t.Helper()
	s, _ := newStore(t)
	d, _, err := s.PutDir(ctx, dir, cache.IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A hard link in an output to a user's file is stored by copying: the
// user's file keeps its mode, inode, link count and ctime, and the blob is
// not the user's inode.
func TestCaptureHardLinkIsCopied(t *testing.T) {
	for _, name := range []string{"big.bin", "small.txt"} {
		t.Run(name, func(t *testing.T) {
			s, _ := newStore(t)
			user := userTree(t)
			out, err := s.TempDir("out-")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(user, name), filepath.Join(out, name)); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, out, map[string]string{"own.txt": "made by the step\n"})
			before := fileStates(t, user)
			d, _, err := s.PutDir(ctx, out, cache.IngestOptions{KeepEmptyDirs: true, Adopt: cache.Move})
			if err != nil {
				t.Fatal(err)
			}
			sameStates(t, "user's directory", before, fileStates(t, user))
			content, err := os.ReadFile(filepath.Join(user, name))
			if err != nil {
				t.Fatal(err)
			}
			blob, _ := blobFile(t, s, cache.Sum(content))
			bi, err := os.Stat(blob)
			ui, err2 := os.Stat(filepath.Join(user, name))
			if err != nil || err2 != nil || os.SameFile(bi, ui) {
				t.Errorf("the blob of %s is the user's file (or missing): %v %v", name, err, err2)
			}
			if _, err := os.Stat(filepath.Join(out, "own.txt")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("own.txt, owned by the output, was not moved: %v", err)
			}
			// The tree is the output's content.
			want := t.TempDir()
			writeFiles(t, want, map[string]string{name: string(content), "own.txt": "made by the step\n"})
			if w := copyDigest(t, want); d != w {
				t.Errorf("tree %s, want %s", d.Short(), w.Short())
			}
			// Editing the user's file later does not change the store.
			if err := os.WriteFile(filepath.Join(user, name), []byte("edited\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, err := s.ReadBlob(cache.Sum(content)); err != nil || string(got) != string(content) {
				t.Errorf("stored %s after the user edited it: %d bytes, %v", name, len(got), err)
			}
		})
	}
}

// linkCase is an output whose links lead into the user's directory.
type linkCase struct {
	name string
	// make builds the output at out (which does not exist yet), linking
	// to the user's directory user; it returns the link Capture must
	// name and its target.
	make func(t *testing.T, out, user string) (link, target string)
	// want lays out, at dir, what the output stores when links are
	// followed.
	want func(t *testing.T, dir, user string)
}

var linkCases = []linkCase{
	{
		name: "link to a directory",
		make: func(t *testing.T, out, user string) (string, string) {
			writeFiles(t, out, map[string]string{"own.txt": "own\n"})
			return filepath.Join(out, "data"), symlink(t, user, filepath.Join(out, "data"))
		},
		want: func(t *testing.T, dir, user string) {
			writeFiles(t, dir, map[string]string{"own.txt": "own\n"})
			copyTree(t, user, filepath.Join(dir, "data"))
		},
	},
	{
		name: "link to a file",
		make: func(t *testing.T, out, user string) (string, string) {
			writeFiles(t, out, map[string]string{"own.txt": "own\n"})
			return filepath.Join(out, "big.bin"), symlink(t, filepath.Join(user, "big.bin"), filepath.Join(out, "big.bin"))
		},
		want: func(t *testing.T, dir, user string) {
			writeFiles(t, dir, map[string]string{"own.txt": "own\n"})
			copyTree(t, filepath.Join(user, "big.bin"), filepath.Join(dir, "big.bin"))
		},
	},
	{
		name: "relative link to a file",
		make: func(t *testing.T, out, user string) (string, string) {
			rel, err := filepath.Rel(out, filepath.Join(user, "sub", "run.sh"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(out, "run.sh"), symlink(t, rel, filepath.Join(out, "run.sh"))
		},
		want: func(t *testing.T, dir, user string) {
			copyTree(t, filepath.Join(user, "sub", "run.sh"), filepath.Join(dir, "run.sh"))
		},
	},
	{
		name: "the output itself is a link",
		make: func(t *testing.T, out, user string) (string, string) {
			return out, symlink(t, user, out)
		},
		want: func(t *testing.T, dir, user string) {
			copyTree(t, user, dir)
		},
	},
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return target
}

// copyTree copies the file or directory src to dst, with modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// By default a link that leads out of the output is refused, naming the
// link and its target, and nothing of the user's directory changes.
func TestCaptureRefusesLinksOut(t *testing.T) {
	for _, c := range linkCases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newStore(t)
			user := userTree(t)
			scratch, err := s.TempDir("exec-")
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(scratch, "out")
			link, target := c.make(t, out, user)
			before := fileStates(t, user)
			_, _, err = s.PutDir(ctx, out, cache.IngestOptions{KeepEmptyDirs: true, Adopt: cache.Move})
			var le *cache.LinkOutError
			if !errors.As(err, &le) {
				t.Fatalf("PutDir(Move) = %v, want a *cache.LinkOutError", err)
			}
			if le.Path != link || le.Target != target {
				t.Errorf("error names %s -> %s, want %s -> %s", le.Path, le.Target, link, target)
			}
			sameStates(t, "user's directory", before, fileStates(t, user))
		})
	}
}

// With FollowLinksOut the content behind the links is stored, by copying:
// the user's files are untouched and the tree is what a copy gives.
func TestCaptureFollowLinksOut(t *testing.T) {
	for _, c := range linkCases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newStore(t)
			user := userTree(t)
			scratch, err := s.TempDir("exec-")
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(scratch, "out")
			c.make(t, out, user)
			before := fileStates(t, user)
			ds, _, err := s.Capture(ctx, []string{out}, cache.CaptureOptions{Base: scratch, FollowLinksOut: true, KeepEmptyDirs: true})
			if err != nil {
				t.Fatal(err)
			}
			sameStates(t, "user's directory", before, fileStates(t, user))
			want := filepath.Join(t.TempDir(), "want")
			c.want(t, want, user)
			if w := copyDigest(t, want); ds[0] != w {
				t.Errorf("tree %s, want %s (a copy of the link targets)", ds[0].Short(), w.Short())
			}
			if err := s.Materialize(ctx, ds[0], filepath.Join(t.TempDir(), "check"), false); err != nil {
				t.Errorf("Materialize: %v", err)
			}
		})
	}
}

// Links that stay inside the scratch directory are followed without any
// option, across the outputs of one capture, whatever order the files are
// stored in: the files reached through links are copied before any file
// is moved.
func TestCaptureLinksWithinBase(t *testing.T) {
	for i := 0; i < 5; i++ {
		s, _ := newStore(t)
		scratch, err := s.TempDir("exec-")
		if err != nil {
			t.Fatal(err)
		}
		model := string(randomBytes(9, 100_000))
		writeFiles(t, scratch, map[string]string{"a/epoch3/model.bin": model, "inputs/x/in.txt": "input\n"})
		symlink(t, "epoch3", filepath.Join(scratch, "a", "latest"))
		symlink(t, "../a/epoch3/model.bin", filepath.Join(scratch, "b", "model.bin"))
		symlink(t, filepath.Join(scratch, "inputs", "x", "in.txt"), filepath.Join(scratch, "b", "in.txt"))
		ds, _, err := s.Capture(ctx, []string{filepath.Join(scratch, "b"), filepath.Join(scratch, "a")}, cache.CaptureOptions{Base: scratch, Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		wantA, wantB := t.TempDir(), t.TempDir()
		writeFiles(t, wantA, map[string]string{"epoch3/model.bin": model, "latest/model.bin": model})
		writeFiles(t, wantB, map[string]string{"model.bin": model, "in.txt": "input\n"})
		if w := copyDigest(t, wantB); ds[0] != w {
			t.Errorf("b: %s, want %s", ds[0].Short(), w.Short())
		}
		if w := copyDigest(t, wantA); ds[1] != w {
			t.Errorf("a: %s, want %s", ds[1].Short(), w.Short())
		}
		if _, err := os.Stat(filepath.Join(scratch, "inputs", "x", "in.txt")); err != nil {
			t.Errorf("the input reached through a link was moved: %v", err)
		}
	}
}

// A link that leads out of the output but stays inside Base is followed;
// the same link with Base unset (PutDir) is refused.
func TestCaptureBase(t *testing.T) {
	s, _ := newStore(t)
	scratch, err := s.TempDir("exec-")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, scratch, map[string]string{"inputs/x/in.txt": "input\n"})
	symlink(t, "../inputs/x", filepath.Join(scratch, "out", "x"))
	if _, _, err := s.Capture(ctx, []string{filepath.Join(scratch, "out")}, cache.CaptureOptions{Base: scratch}); err != nil {
		t.Errorf("Capture with Base: %v", err)
	}
	var le *cache.LinkOutError
	if _, _, err := s.PutDir(ctx, filepath.Join(scratch, "out"), cache.IngestOptions{Adopt: cache.Move}); !errors.As(err, &le) {
		t.Errorf("PutDir(Move) = %v, want a *cache.LinkOutError", err)
	}
}

// Roots that overlap: the files under both are copied, and both trees
// hold them.
func TestCaptureOverlappingRoots(t *testing.T) {
	s, _ := newStore(t)
	scratch, err := s.TempDir("exec-")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, scratch, map[string]string{"out/a.txt": "a\n", "out/sub/b.txt": "b\n"})
	ds, _, err := s.Capture(ctx, []string{filepath.Join(scratch, "out"), filepath.Join(scratch, "out", "sub")}, cache.CaptureOptions{Base: scratch})
	if err != nil {
		t.Fatal(err)
	}
	want := t.TempDir()
	writeFiles(t, want, map[string]string{"b.txt": "b\n"})
	if w := copyDigest(t, want); ds[1] != w {
		t.Errorf("out/sub: %s, want %s", ds[1].Short(), w.Short())
	}
	if _, err := os.Stat(filepath.Join(scratch, "out", "sub", "b.txt")); err != nil {
		t.Errorf("out/sub/b.txt, under both roots, was moved: %v", err)
	}
	if _, err := os.Stat(filepath.Join(scratch, "out", "a.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("out/a.txt, under one root, was not moved: %v", err)
	}
}
