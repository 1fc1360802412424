package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// CaptureOptions controls Capture.
type CaptureOptions struct {
	// Base is the directory that symbolic links in the captured
	// directories may lead into (a step's scratch directory); "" means
	// each captured directory itself. A link whose target, fully
	// resolved, is outside Base is a *LinkOutError unless FollowLinksOut.
	Base string
	// FollowLinksOut stores the content of links that lead out of Base
	// (copied; the target is only read).
	FollowLinksOut bool
	// Keep, if not nil, decides which paths are part of the tree, as in
	// IngestOptions.
	Keep func(rel string, isDir bool) bool
	// KeepEmptyDirs keeps directories that end up with no entries.
	KeepEmptyDirs bool
	// Workers bounds the files stored at once; 0 means one per CPU.
	Workers int
	// Progress, if not nil, is called as files are done.
	Progress func(done, total int64)
}

// LinkOutError reports a symbolic link, in a directory being captured, that
// leads out of the directory its links may point into.
type LinkOutError struct {
	Path   string // the link
	Target string // what it says, as readlink(2) returns it
	Base   string // the directory it leaves
}

func (e *LinkOutError) Error() string {
	return fmt.Sprintf("%s is a symbolic link to %s, outside %s; links out of a captured directory are not followed", e.Path, e.Target, e.Base)
}

// capturedFile is a file found by Capture; owned says that the capture
// may rename it into the store: a regular file with one link, reached
// without following a symbolic link, on the file system of its root.
type capturedFile struct {
	walkedFile
	owned bool
}

// Capture stores the directories roots (a step's outputs, written in a
// scratch directory of the store) as trees and returns their digests in
// order.
//
// A file that the directory exclusively owns (see capturedFile) is renamed
// into the store and made read-only; every other file — one with other
// hard links, one reached through a symbolic link, one on another file
// system — is reflinked or copied, and is never renamed, chmodded or
// linked. Symbolic links are followed only within Base (or anywhere with
// FollowLinksOut); a link that leads out is an error that names it. Files
// that are only copied are stored before any file is renamed, so a link to
// a file of the same capture never finds it gone.
func (s *Store) Capture(ctx context.Context, roots []string, opt CaptureOptions) ([]Digest, IngestStats, error) {
	var st IngestStats
	type walked struct {
		files []capturedFile
		dirs  []string
	}
	ws := make([]walked, len(roots))
	var all []*capturedFile
	for i, root := range roots {
		c := captureWalk{opt: opt, base: opt.Base}
		if c.base == "" {
			c.base = root
		}
		if err := c.walkRoot(root); err != nil {
			return nil, st, err
		}
		ws[i] = walked{c.files, c.dirs}
		for j := range ws[i].files {
			all = append(all, &ws[i].files[j])
		}
	}
	// A file under two roots (roots that overlap) is copied: moving it
	// for one would take it from the other.
	seen := make(map[string]int, len(all))
	for _, f := range all {
		seen[f.abs]++
	}
	for _, f := range all {
		if seen[f.abs] > 1 {
			f.owned = false
		}
	}
	// Copies first, then moves: see above. Two passes, since a pool of
	// workers given copies before moves would still start moving while
	// the last copies run.
	var copies, moves []*capturedFile
	for _, f := range all {
		if f.owned {
			moves = append(moves, f)
		} else {
			copies = append(copies, f)
		}
	}
	digests := make(map[*capturedFile]Digest, len(all))
	var done atomic.Int64
	total := int64(len(all))
	for _, pass := range [][]*capturedFile{copies, moves} {
		out := make([]Digest, len(pass))
		err := parallel(ctx, len(pass), opt.Workers, func(i int) error {
			f := pass[i]
			var d Digest
			var err error
			if f.owned {
				d, err = s.moveOwned(f)
			} else {
				d, err = s.putCopy(f.abs)
			}
			if err != nil {
				return fmt.Errorf("storing %s: %w", f.abs, err)
			}
			out[i] = d
			if opt.Progress != nil {
				opt.Progress(done.Add(1), total)
			}
			return nil
		}, nil)
		if err != nil {
			return nil, st, err
		}
		for i, f := range pass {
			digests[f] = out[i]
		}
	}
	iopt := IngestOptions{KeepEmptyDirs: opt.KeepEmptyDirs}
	ds := make([]Digest, len(roots))
	for i, w := range ws {
		files := make([]walkedFile, len(w.files))
		fd := make([]Digest, len(w.files))
		for j := range w.files {
			files[j] = w.files[j].walkedFile
			fd[j] = digests[&w.files[j]]
			st.Bytes += files[j].info.Size()
		}
		st.Files += len(files)
		d, err := s.buildTree(files, fd, w.dirs, iopt)
		if err != nil {
			return nil, st, err
		}
		ds[i] = d
	}
	st.Hashed = len(all)
	return ds, st, nil
}

// captureWalk lists one captured directory.
type captureWalk struct {
	opt      CaptureOptions
	base     string
	baseReal string // base with its links resolved, once needed
	rootDev  uint64
	files    []capturedFile
	dirs     []string
}

func (c *captureWalk) walkRoot(root string) error {
	li, err := os.Lstat(root)
	if err != nil {
		return err
	}
	owned := true
	fi := li
	if li.Mode()&fs.ModeSymlink != 0 {
		if fi, err = c.follow(root); err != nil {
			return err
		}
		owned = false
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	_, dev, ok := ownership(fi)
	if !ok {
		owned = false // no way to tell: copy everything
	}
	c.rootDev = dev
	return c.walk(root, "", owned, []fs.FileInfo{fi})
}

// follow checks the link at p against Base and returns what it leads to.
func (c *captureWalk) follow(p string) (fs.FileInfo, error) {
	target, err := os.Readlink(p)
	if err != nil {
		return nil, err
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is a symbolic link to %s, which does not exist", p, target)
		}
		return nil, fmt.Errorf("following symbolic link %s: %w", p, err)
	}
	if !c.opt.FollowLinksOut {
		if c.baseReal == "" {
			if c.baseReal, err = realBase(c.base); err != nil {
				return nil, err
			}
		}
		if !within(resolved, c.baseReal) {
			return nil, &LinkOutError{Path: p, Target: target, Base: c.base}
		}
	}
	return os.Stat(p)
}

// realBase returns dir with the links on its way resolved, but not dir
// itself if it is a link: nothing leads inside a link.
func realBase(dir string) (string, error) {
	li, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if li.Mode()&fs.ModeSymlink == 0 {
		return filepath.EvalSymlinks(dir)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(dir))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, filepath.Base(dir)), nil
}

// within reports whether p is dir or inside it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

func (c *captureWalk) walk(abs, rel string, owned bool, stack []fs.FileInfo) error {
	c.dirs = append(c.dirs, rel)
	ents, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		childAbs := filepath.Join(abs, name)
		if err := ValidName(name); err != nil {
			return fmt.Errorf("%s: %w", childAbs, err)
		}
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		info, err := e.Info() // lstat
		if err != nil {
			return err
		}
		childOwned := owned
		if info.Mode()&fs.ModeSymlink != 0 {
			if info, err = c.follow(childAbs); err != nil {
				return err
			}
			childOwned = false
		}
		switch {
		case info.IsDir():
			for _, up := range stack {
				if os.SameFile(up, info) {
					return fmt.Errorf("%s: symbolic link loop (it leads back to a parent directory)", childAbs)
				}
			}
			if c.opt.Keep != nil && !c.opt.Keep(childRel, true) {
				continue
			}
			if _, dev, ok := ownership(info); !ok || dev != c.rootDev {
				childOwned = false // a mount point: its files are not ours to rename
			}
			if err := c.walk(childAbs, childRel, childOwned, append(stack, info)); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if c.opt.Keep != nil && !c.opt.Keep(childRel, false) {
				continue
			}
			if childOwned {
				childOwned = exclusive(info, c.rootDev)
			}
			c.files = append(c.files, capturedFile{walkedFile{rel: childRel, abs: childAbs, info: info}, childOwned})
		default:
			return fmt.Errorf("%s: %s files cannot be stored; only regular files and directories", childAbs, info.Mode().Type())
		}
	}
	return nil
}

// exclusive reports whether the regular file fi (from lstat) has no other
// name and is on the device dev.
func exclusive(fi fs.FileInfo, dev uint64) bool {
	n, d, ok := ownership(fi)
	return ok && n == 1 && d == dev
}

// moveOwned stores the file f, found exclusively owned by the walk, by
// renaming it into the store. It checks again, on the open file, that the
// file is the one walked and still has a single name; if not, or if the
// rename fails (another mount), it copies instead. The file is made
// read-only only once it is in the store's tmp/.
func (s *Store) moveOwned(f *capturedFile) (Digest, error) {
	file, err := os.OpenFile(f.abs, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return Digest{}, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return Digest{}, err
	}
	_, dev, _ := ownership(f.info)
	if !fi.Mode().IsRegular() || !os.SameFile(fi, f.info) || !exclusive(fi, dev) {
		return s.putCopy(f.abs)
	}
	d, _, err := hashOpen(file)
	if err != nil || s.Has(d) {
		return d, err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "move-*")
	if err != nil {
		return d, err
	}
	tmpName := tmp.Name()
	tmp.Close()
	if err := os.Rename(f.abs, tmpName); err != nil {
		os.Remove(tmpName)
		return s.putCopy(f.abs)
	}
	if ti, err := os.Lstat(tmpName); err != nil || !os.SameFile(ti, fi) {
		// Not the file checked above: put it back, store a copy.
		if err := os.Rename(tmpName, f.abs); err != nil {
			return d, fmt.Errorf("%s changed while it was being stored", f.abs)
		}
		return s.putCopy(f.abs)
	}
	if err := file.Chmod(0o444); err != nil {
		return d, err
	}
	if after, err := file.Stat(); err != nil || after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		os.Remove(tmpName)
		return d, fmt.Errorf("%s changed while it was being stored", f.abs)
	}
	blob := s.blobPath(d, false)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return d, err
	}
	if err := os.Rename(tmpName, blob); err != nil {
		os.Remove(tmpName)
		return d, err
	}
	return d, nil
}

// putCopy stores the bytes of the file at p (following links) without
// changing it: a reflink of it where the file system can make one, a copy
// otherwise (Store.cloneFile).
func (s *Store) putCopy(p string) (Digest, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return Digest{}, err
	}
	if !fi.Mode().IsRegular() {
		return Digest{}, fmt.Errorf("%s is not a regular file", p)
	}
	d, n, err := s.cloneFile(p, fi)
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("%s changed while it was being stored", p)
	}
	return d, err
}

// captureOne is PutDir with Adopt Move.
func (s *Store) captureOne(ctx context.Context, root string, opt IngestOptions) (Digest, IngestStats, error) {
	ds, st, err := s.Capture(ctx, []string{root}, CaptureOptions{
		Keep: opt.Keep, KeepEmptyDirs: opt.KeepEmptyDirs, Workers: opt.Workers, Progress: opt.Progress,
	})
	if err != nil {
		return Digest{}, st, err
	}
	return ds[0], st, nil
}
