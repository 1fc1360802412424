package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// Adopt says how a file's bytes get into the store.
type Adopt int

const (
	// Copy writes a copy of the file into the store (zstd-compressed when
	// that pays). The store's bytes are independent of the file.
	Copy Adopt = iota
	// Link hashes the file and hard-links it into the store when store and
	// file share a file system, falling back to Copy otherwise; only when a
	// user asks for it (link = "hard"). Nothing is copied, but the store
	// shares the file's inode, so the file is made read-only (its write
	// bits are removed; exec bits and ownership stay): editing it in place
	// would change the stored bytes. If it is edited anyway, the next
	// ingest with the stat cache notices (size, mtime, ctime, inode and
	// mode are compared) and removes the stale blob, and every read
	// re-hashes. Tools that write a new file and rename it are safe. A
	// file reached through a symbolic link (a link to a file, or any file
	// under a linked directory) may lie outside the directory: it is
	// stored as Clone, never linked or chmodded.
	Link
	// Move captures a step's output made in a scratch directory of the
	// store (Store.Capture): files the directory exclusively owns are
	// renamed into the store, every other file (hard-linked, reached
	// through a symbolic link, on another mount) is reflinked or copied,
	// and a symbolic link that leads out of the directory is an error.
	Move
	// Clone stores an independent copy of the file: a reflink
	// (copy-on-write clone, no bytes copied) where the file system
	// supports it, else Copy. The default for sources. A source that an
	// earlier Link ingest shared with the store is copied out of the
	// store's inode when it is next ingested (Store.unshare).
	Clone
)

// IngestOptions controls how a directory on disk becomes a tree.
type IngestOptions struct {
	// Adopt says how file bytes get into the store; Copy by default.
	Adopt Adopt
	// Keep, if not nil, decides which paths are part of the tree. rel is
	// slash-separated and relative to the root. For a directory, returning
	// false prunes it; for a file, it drops the file.
	Keep func(rel string, isDir bool) bool
	// KeepEmptyDirs keeps directories that end up with no entries.
	KeepEmptyDirs bool
	// StatCache, if not nil, is consulted before hashing each file and
	// updated afterwards.
	StatCache *StatCache
	// HashOnly computes digests without writing blobs (for planning).
	HashOnly bool
	// VerifyStored checks, for every stat cache hit, that the blob is
	// still in the store. Without it a hit is trusted: the store drops
	// stat cache entries whenever it removes a blob (gc, corruption), so
	// a hit names a stored blob unless another process raced with that;
	// callers repairing a build after a missing blob set it.
	VerifyStored bool
	// Workers bounds the files hashed at once; 0 means one per CPU.
	Workers int
	// Progress, if not nil, is called as files are done.
	Progress func(done, total int64)
}

// IngestStats says what an ingest did.
type IngestStats struct {
	Files  int   // files in the tree
	Bytes  int64 // their total size
	Hashed int   // files actually read (stat cache misses)
	// Unshared counts sources that Clone or Copy found stored as the very
	// file (hard-linked by link = "hard" or a dsbuild before issue 11) and
	// replaced in the store by a copy.
	Unshared int
}

type walkedFile struct {
	rel  string
	abs  string
	info fs.FileInfo
	// viaLink: the file is a symbolic link, or lies in a directory reached
	// through one. Its target may be anywhere, outside the directory
	// ingested: Link copies it instead of linking or chmodding it, and
	// Clone and Copy never replace it (unshare).
	viaLink bool
}

// PutDir turns the directory root into a tree, storing every file (unless
// HashOnly) and returning the root digest. Symbolic links are followed
// (with Link, what they lead to is copied, not linked); a link cycle is an
// error naming the path. With Adopt Move it is Capture of
// root alone (links may not leave root; StatCache is not used).
func (s *Store) PutDir(ctx context.Context, root string, opt IngestOptions) (Digest, IngestStats, error) {
	if opt.Adopt == Move && !opt.HashOnly {
		return s.captureOne(ctx, root, opt)
	}
	var st IngestStats
	fi, err := os.Stat(root)
	if err != nil {
		return Digest{}, st, err
	}
	if !fi.IsDir() {
		return Digest{}, st, fmt.Errorf("%s is not a directory", root)
	}
	var files []walkedFile
	var dirs []string // every kept directory, rel, "" for root
	if err := walkDir(root, "", false, opt.Keep, &files, &dirs, []fs.FileInfo{fi}); err != nil {
		return Digest{}, st, err
	}
	digests := make([]Digest, len(files))
	err = s.hashFiles(ctx, files, digests, opt, &st)
	if st.Unshared > 0 {
		s.logf("cache: %d file(s) under %s were stored by hard link (link = \"hard\", or a dsbuild before reflinks); the store now keeps its own copies", st.Unshared, root)
	}
	if err != nil {
		return Digest{}, st, err
	}
	st.Files = len(files)
	for _, f := range files {
		st.Bytes += f.info.Size()
	}
	d, err := s.buildTree(files, digests, dirs, opt)
	return d, st, err
}

func walkDir(abs, rel string, viaLink bool, keep func(string, bool) bool, files *[]walkedFile, dirs *[]string, stack []fs.FileInfo) error {
	*dirs = append(*dirs, rel)
	ents, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if err := ValidName(name); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(abs, name), err)
		}
		childAbs := filepath.Join(abs, name)
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		linked := viaLink
		if info.Mode()&fs.ModeSymlink != 0 {
			linked = true
			info, err = os.Stat(childAbs)
			if err != nil {
				return fmt.Errorf("following symbolic link %s: %w", childAbs, err)
			}
		}
		switch {
		case info.IsDir():
			for _, up := range stack {
				if os.SameFile(up, info) {
					return fmt.Errorf("%s: symbolic link loop (it leads back to a parent directory)", childAbs)
				}
			}
			if keep != nil && !keep(childRel, true) {
				continue
			}
			if err := walkDir(childAbs, childRel, linked, keep, files, dirs, append(stack, info)); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if keep != nil && !keep(childRel, false) {
				continue
			}
			*files = append(*files, walkedFile{rel: childRel, abs: childAbs, info: info, viaLink: linked})
		default:
			return fmt.Errorf("%s: %s files cannot be stored; only regular files, directories and links to them", childAbs, info.Mode().Type())
		}
	}
	return nil
}

func (s *Store) hashFiles(ctx context.Context, files []walkedFile, out []Digest, opt IngestOptions, st *IngestStats) error {
	var done, hashed, unshared atomic.Int64
	total := int64(len(files))
	err := parallel(ctx, len(files), opt.Workers, func(i int) error {
		f := files[i]
		// Link hard-links only files reached without a symbolic link; the
		// others are copied (by reflink where possible).
		adopt := opt.Adopt
		if adopt == Link && f.viaLink {
			adopt = Clone
		}
		// A source with other hard links may be shared with the store by
		// an earlier link = "hard" ingest; Clone and Copy must not keep
		// it so.
		links, _, _ := ownership(f.info)
		shared := !opt.HashOnly && !f.viaLink && (adopt == Clone || adopt == Copy) && links > 1
		d, ok := opt.StatCache.lookup(f.rel, f.info)
		if ok && shared {
			copied, stale, err := s.unshare(f.abs, d)
			if err != nil {
				return fmt.Errorf("hashing %s: %w", f.abs, err)
			}
			if copied {
				unshared.Add(1)
			}
			ok = !stale
		}
		if ok && (opt.HashOnly || !opt.VerifyStored || s.Has(d)) {
			out[i] = d
		} else {
			var err error
			var n int64
			info := f.info
			switch {
			case opt.HashOnly:
				d, err = hashFile(f.abs)
			case adopt == Link:
				d, info, err = s.linkFile(f.abs, f.info)
			case adopt == Clone:
				d, n, err = s.cloneFile(f.abs, f.info)
			default:
				d, n, err = s.PutFile(f.abs)
			}
			if err == nil && (adopt == Clone || adopt == Copy) && !opt.HashOnly && n != f.info.Size() {
				err = fmt.Errorf("it changed while it was being stored (%d bytes, then %d); build again once it is written", f.info.Size(), n)
			}
			if err == nil && shared {
				s.forgetEditedLink(opt.StatCache, f.rel, f.abs, d)
				var copied, stale bool
				if copied, stale, err = s.unshare(f.abs, d); err == nil && stale {
					err = errors.New("it changed while it was being stored; build again once it is written")
				}
				if copied {
					unshared.Add(1)
				}
			}
			if err != nil {
				return fmt.Errorf("hashing %s: %w", f.abs, err)
			}
			hashed.Add(1)
			out[i] = d
			if adopt == Link && !opt.HashOnly {
				s.forgetEditedLink(opt.StatCache, f.rel, f.abs, d)
			}
			opt.StatCache.record(f.rel, info, d, adopt == Link && !opt.HashOnly)
		}
		if n := done.Add(1); opt.Progress != nil {
			opt.Progress(n, total)
		}
		return nil
	}, nil)
	st.Hashed = int(hashed.Load())
	st.Unshared = int(unshared.Load())
	return err
}

// linkFile hashes the file at p and hard-links it into the store, then
// removes the file's write bits (the inode is now also a blob, and blobs
// are read-only); if they cannot be removed, the link is undone and the
// file copied instead. It returns the file's identity after linking
// (linking and chmod change its ctime and mode), or an error if the file
// changed while it was being hashed.
func (s *Store) linkFile(p string, before fs.FileInfo) (Digest, fs.FileInfo, error) {
	if li, err := os.Lstat(p); err != nil || li.Mode()&fs.ModeSymlink != 0 {
		// A symbolic link's target may be anywhere: never link or chmod
		// it; store a copy.
		d, n, err := s.cloneFile(p, before)
		if err == nil && n != before.Size() {
			err = fmt.Errorf("%s changed while it was being stored; build again once it is written", p)
		}
		return d, before, err
	}
	d, err := hashFile(p)
	if err != nil {
		return d, nil, err
	}
	if s.Has(d) {
		return d, before, nil
	}
	blob := s.blobPath(d, false)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return d, nil, err
	}
	if err := os.Link(p, blob); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return d, before, nil // another build stored it meanwhile
		}
		// Another file system, or linking not allowed: copy instead.
		cd, _, err := s.PutFile(p)
		return cd, before, err
	}
	if before.Mode()&0o222 != 0 {
		if err := os.Chmod(blob, before.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)&^0o222); err != nil {
			os.Remove(blob)
			cd, _, err := s.PutFile(p)
			return cd, before, err
		}
	}
	after, err := os.Stat(p)
	if err != nil {
		os.Remove(blob)
		return d, nil, err
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		os.Remove(blob)
		return d, nil, fmt.Errorf("%s changed while it was being hashed; build again once it is written", p)
	}
	return d, after, nil
}

// forgetEditedLink removes the blob that the stat cache last recorded for a
// source file if that blob is the file itself (a hard link) and the file
// now holds other bytes: it was edited in place, so the blob no longer
// matches its name.
func (s *Store) forgetEditedLink(c *StatCache, rel, abs string, now Digest) {
	old, ok := c.digest(rel)
	if !ok || old == now {
		return
	}
	blob := s.blobPath(old, false)
	bi, err1 := os.Stat(blob)
	fi, err2 := os.Stat(abs)
	if err1 == nil && err2 == nil && os.SameFile(bi, fi) {
		s.logf("cache: %s was edited in place; its previous content (%s) was stored by hard link and is gone from the store", abs, old.Short())
		os.Remove(blob)
	}
}

func hashFile(p string) (Digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if _, err := io.CopyBuffer(h, f, *bp); err != nil {
		return Digest{}, err
	}
	var d Digest
	h.Sum(d[:0])
	return d, nil
}

// TreeFile is a file of a tree that PutFiles builds.
type TreeFile struct {
	Path   string // slash-separated, relative to the tree's root
	Digest Digest
	Size   int64
	Exec   bool
}

// PutFiles stores the tree that holds files (blobs of this store or of its
// remote: PutFiles reads none of them) and the directories dirs (slash
// paths, kept even when empty; a file's directories are implied). It is
// the tree PutDir with KeepEmptyDirs makes of a directory that holds those
// files and directories, without writing or reading them: an export that
// names its images by digest. Paths must be clean and relative, each
// element a valid tree name; a path given twice, or both as a file and as
// a directory, is an error.
func (s *Store) PutFiles(files []TreeFile, dirs []string) (Digest, error) {
	check := func(p string) error {
		if p == "" || path.Clean(p) != p || path.IsAbs(p) {
			return fmt.Errorf("tree: %q is not a clean relative path", p)
		}
		for _, el := range strings.Split(p, "/") {
			if err := ValidName(el); err != nil {
				return fmt.Errorf("tree: path %q: %w", p, err)
			}
		}
		return nil
	}
	isDir := map[string]bool{"": true}
	addDir := func(d string) {
		for ; d != "" && !isDir[d]; d = parentDir(d) {
			isDir[d] = true
		}
	}
	for _, d := range dirs {
		if err := check(d); err != nil {
			return Digest{}, err
		}
		addDir(d)
	}
	seen := make(map[string]bool, len(files))
	tf := make([]placedFile, len(files))
	for i, f := range files {
		if err := check(f.Path); err != nil {
			return Digest{}, err
		}
		if seen[f.Path] {
			return Digest{}, fmt.Errorf("tree: file %q given twice", f.Path)
		}
		if f.Size < 0 {
			return Digest{}, fmt.Errorf("tree: file %q has negative size %d", f.Path, f.Size)
		}
		seen[f.Path] = true
		addDir(parentDir(f.Path))
		tf[i] = placedFile{rel: f.Path, digest: f.Digest, size: f.Size, exec: f.Exec}
	}
	for p := range seen {
		if isDir[p] {
			return Digest{}, fmt.Errorf("tree: %q is both a file and a directory", p)
		}
	}
	all := make([]string, 0, len(isDir))
	for d := range isDir {
		all = append(all, d)
	}
	sort.Strings(all)
	return s.assembleTree(tf, all, IngestOptions{KeepEmptyDirs: true})
}

// parentDir is the directory of slash path rel, "" for the root.
func parentDir(rel string) string {
	if d := path.Dir(rel); d != "." {
		return d
	}
	return ""
}

// placedFile is a file as assembleTree places it.
type placedFile struct {
	rel    string
	digest Digest
	size   int64
	exec   bool
}

// buildTree assembles the Merkle tree bottom-up from the hashed files.
func (s *Store) buildTree(files []walkedFile, digests []Digest, dirs []string, opt IngestOptions) (Digest, error) {
	tf := make([]placedFile, len(files))
	for i, f := range files {
		tf[i] = placedFile{rel: f.rel, digest: digests[i], size: f.info.Size(), exec: f.info.Mode()&0o111 != 0}
	}
	return s.assembleTree(tf, dirs, opt)
}

// assembleTree stores the trees of dirs ("" the root; every file's
// directory among them), deepest first, and returns the root's digest.
func (s *Store) assembleTree(files []placedFile, dirs []string, opt IngestOptions) (Digest, error) {
	type node struct {
		entries []TreeEntry
		size    int64
	}
	nodes := make(map[string]*node, len(dirs))
	for _, d := range dirs {
		nodes[d] = &node{}
	}
	for _, f := range files {
		kind := File
		if f.exec {
			kind = Exec
		}
		n := nodes[parentDir(f.rel)]
		n.entries = append(n.entries, TreeEntry{Name: path.Base(f.rel), Kind: kind, Digest: f.digest, Size: f.size})
		n.size += f.size
	}
	// Deepest directories first, so children are done before parents.
	order := append([]string(nil), dirs...)
	sort.Slice(order, func(i, j int) bool {
		di, dj := depth(order[i]), depth(order[j])
		if di != dj {
			return di > dj
		}
		return order[i] < order[j]
	})
	var root Digest
	for _, dir := range order {
		n := nodes[dir]
		if dir != "" && len(n.entries) == 0 && !opt.KeepEmptyDirs {
			continue
		}
		b, err := EncodeTree(n.entries)
		if err != nil {
			return Digest{}, err
		}
		var d Digest
		if opt.HashOnly {
			d = Sum(b)
		} else if d, err = s.PutBytes(b); err != nil {
			return Digest{}, err
		}
		if dir == "" {
			root = d
			continue
		}
		p := nodes[parentDir(dir)]
		p.entries = append(p.entries, TreeEntry{Name: path.Base(dir), Kind: Dir, Digest: d, Size: n.size})
		p.size += n.size
	}
	return root, nil
}

func depth(rel string) int {
	if rel == "" {
		return 0
	}
	n := 1
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			n++
		}
	}
	return n
}

// Materialize writes tree d into dest (which must not exist or be empty).
// With readOnly, files are 0444 (0555 if executable) and directories 0555.
// Every blob is re-hashed as it is copied; a corrupt blob aborts with a
// *CorruptError.
func (s *Store) Materialize(ctx context.Context, d Digest, dest string, readOnly bool) error {
	type job struct {
		path string
		e    TreeEntry
	}
	var jobs []job
	var dirsMade []string
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	dirsMade = append(dirsMade, dest)
	err := s.WalkTree(d, func(p string, e TreeEntry) error {
		target := filepath.Join(dest, filepath.FromSlash(p))
		if e.Kind == Dir {
			dirsMade = append(dirsMade, target)
			return os.Mkdir(target, 0o755)
		}
		jobs = append(jobs, job{target, e})
		return nil
	})
	if err != nil {
		return err
	}
	// Two files with one corrupt blob: the first read removes it and the
	// second finds it missing. Report the corruption, which is what
	// happened.
	corruptFirst := func(a, b error) bool { return IsCorrupt(a) && !IsCorrupt(b) }
	if err := parallel(ctx, len(jobs), 0, func(i int) error {
		return s.writeFile(jobs[i].path, jobs[i].e, readOnly)
	}, corruptFirst); err != nil {
		return err
	}
	if readOnly {
		for i := len(dirsMade) - 1; i >= 0; i-- {
			if err := os.Chmod(dirsMade[i], 0o555); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) writeFile(target string, e TreeEntry, readOnly bool) error {
	perm := os.FileMode(0o644)
	if e.Kind == Exec {
		perm = 0o755
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := s.CopyBlob(f, e.Digest); err != nil {
		f.Close()
		os.Remove(target)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if readOnly {
		return os.Chmod(target, perm&^0o222)
	}
	return nil
}

// RemoveAll removes dir even where Materialize made it read-only.
func RemoveAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
