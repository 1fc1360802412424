package cache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// TreeFS is a read-only fs.FS over a stored tree. Every file read re-hashes
// the whole blob (a corrupt blob is a *CorruptError), and Digest gives a
// file's digest without reading it.
type TreeFS struct {
	s    *Store
	root Digest
	mu   sync.Mutex
	dirs map[Digest][]TreeEntry
}

// TreeFS returns a file system over tree d.
func (s *Store) TreeFS(d Digest) *TreeFS {
	return &TreeFS{s: s, root: d, dirs: map[Digest][]TreeEntry{}}
}

func (t *TreeFS) entries(d Digest) ([]TreeEntry, error) {
	t.mu.Lock()
	e, ok := t.dirs[d]
	t.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := t.s.ReadTree(d)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.dirs[d] = e
	t.mu.Unlock()
	return e, nil
}

// lookup resolves a slash path to its entry; the root is a Dir entry named ".".
func (t *TreeFS) lookup(op, name string) (TreeEntry, error) {
	if !fs.ValidPath(name) {
		err := fs.ErrInvalid
		if !utf8.ValidString(name) {
			// A stored tree may hold such names (a source's file names
			// are bytes); fs.FS paths are UTF-8.
			err = fmt.Errorf("%w: the name is not valid UTF-8", fs.ErrInvalid)
		}
		return TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	cur := TreeEntry{Name: ".", Kind: Dir, Digest: t.root}
	if name == "." {
		return cur, nil
	}
	for _, part := range strings.Split(name, "/") {
		if cur.Kind != Dir {
			return TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		entries, err := t.entries(cur.Digest)
		if err != nil {
			return TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		i := sort.Search(len(entries), func(i int) bool { return entries[i].Name >= part })
		if i == len(entries) || entries[i].Name != part {
			return TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		cur = entries[i]
	}
	return cur, nil
}

// Digest returns the digest and size of the file at name.
func (t *TreeFS) Digest(name string) (Digest, int64, error) {
	e, err := t.lookup("digest", name)
	if err != nil {
		return Digest{}, 0, err
	}
	if e.Kind == Dir {
		return Digest{}, 0, &fs.PathError{Op: "digest", Path: name, Err: errors.New("is a directory")}
	}
	return e.Digest, e.Size, nil
}

// Open opens a directory, or a file as a stream whose hash is checked as it
// is read: the read that reaches the end returns a *CorruptError instead of
// io.EOF if the bytes were not the blob's (so a reader that streams a large
// file never holds it whole, and never mistakes corrupt bytes for a
// complete file).
func (t *TreeFS) Open(name string) (fs.File, error) {
	e, err := t.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if e.Kind == Dir {
		entries, err := t.entries(e.Digest)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeDir{info: entryInfo{path.Base(name), e}, entries: entries}, nil
	}
	r, err := t.s.openVerified(e.Digest)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{info: entryInfo{path.Base(name), e}, r: r}, nil
}

// ReadFile implements fs.ReadFileFS.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	e, err := t.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if e.Kind == Dir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := t.s.ReadBlob(e.Digest)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir implements fs.ReadDirFS; entries come sorted by name.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := t.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if e.Kind != Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	entries, err := t.entries(e.Digest)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, len(entries))
	for i, c := range entries {
		out[i] = fs.FileInfoToDirEntry(entryInfo{c.Name, c})
	}
	return out, nil
}

// Stat implements fs.StatFS without reading file content.
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	e, err := t.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return entryInfo{path.Base(name), e}, nil
}

type entryInfo struct {
	name string
	e    TreeEntry
}

func (i entryInfo) Name() string { return i.name }
func (i entryInfo) Size() int64  { return i.e.Size }
func (i entryInfo) Mode() fs.FileMode {
	switch i.e.Kind {
	case Dir:
		return fs.ModeDir | 0o555
	case Exec:
		return 0o555
	}
	return 0o444
}
func (i entryInfo) ModTime() time.Time { return time.Time{} }
func (i entryInfo) IsDir() bool        { return i.e.Kind == Dir }
func (i entryInfo) Sys() any           { return i.e }

type treeFile struct {
	info entryInfo
	r    io.ReadCloser
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *treeFile) Close() error               { return f.r.Close() }

type treeDir struct {
	info    entryInfo
	entries []TreeEntry
	off     int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *treeDir) Close() error { return nil }
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(rest) > n {
		rest = rest[:n]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, c := range rest {
		out[i] = fs.FileInfoToDirEntry(entryInfo{c.Name, c})
	}
	return out, nil
}
