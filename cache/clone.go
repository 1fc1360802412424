package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// errCloneUnsupported means the file system cannot reflink this source into
// the store (no FICLONE, another file system, or not Linux): copy instead,
// this file and every other one on its device.
var errCloneUnsupported = errors.New("reflink not supported")

// errCloneRefused means this one file could not be reflinked (a swap file,
// say): copy it instead.
var errCloneRefused = errors.New("reflink refused")

// noClone remembers, per store directory and source device, that a reflink
// failed as unsupported, so that a large source tree on such a file system
// costs one failed ioctl, not one per file.
var noClone sync.Map // cloneDev → struct{}

type cloneDev struct {
	store string
	dev   uint64
}

// minClone is the size below which files are copied (and compressed when
// that pays) rather than reflinked: copying them is cheap, and a reflink
// shares whole blocks anyway.
const minClone = sampleSize

// cloneFile stores the file at p as an independent copy: a reflink
// (copy-on-write clone, FICLONE) where the file system supports it, which
// shares the data blocks until either side is written, else a byte copy
// through PutFile (zstd-compressed when that pays). Either way the blob is
// its own inode, so editing the source later never changes it. It returns
// the digest and size of the bytes stored: those of the clone, which only
// the store can write, so they are consistent even if the source is being
// written meanwhile.
func (s *Store) cloneFile(p string, info fs.FileInfo) (Digest, int64, error) {
	_, dev, _ := ownership(info)
	key := cloneDev{s.dir, dev}
	if info.Size() < minClone {
		return s.PutFile(p)
	}
	if _, ok := noClone.Load(key); ok {
		return s.PutFile(p)
	}
	src, err := os.Open(p)
	if err != nil {
		return Digest{}, 0, err
	}
	defer src.Close()
	tmp, err := s.reflinkTemp(src)
	if errors.Is(err, errCloneUnsupported) {
		noClone.Store(key, struct{}{})
	}
	if errors.Is(err, errCloneUnsupported) || errors.Is(err, errCloneRefused) {
		fi, err := src.Stat()
		if err != nil {
			return Digest{}, 0, err
		}
		return s.PutReader(src, fi.Size())
	}
	if err != nil {
		return Digest{}, 0, err
	}
	return s.adoptTemp(tmp)
}

// reflinkTemp clones src into a new read-only temporary file of the store,
// open at offset 0. An error wrapping errCloneUnsupported or
// errCloneRefused means nothing was made and src was not read.
func (s *Store) reflinkTemp(src *os.File) (*os.File, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "clone-*")
	if err != nil {
		return nil, err
	}
	if err := reflink(tmp, src); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

// copyTemp copies src, from its current offset, into a new read-only
// temporary file of the store, raw (never compressed), by reflink where
// possible. The result is open at offset 0.
func (s *Store) copyTemp(src *os.File) (*os.File, error) {
	tmp, err := s.reflinkTemp(src)
	if err == nil || !(errors.Is(err, errCloneUnsupported) || errors.Is(err, errCloneRefused)) {
		return tmp, err
	}
	tmp, err = os.CreateTemp(filepath.Join(s.dir, "tmp"), "copy-*")
	if err != nil {
		return nil, err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	_, err = io.CopyBuffer(tmp, src, *bp)
	if err == nil {
		err = tmp.Chmod(0o444)
	}
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

// hashOpen hashes f from its current offset to the end.
func hashOpen(f *os.File) (Digest, int64, error) {
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(h, f, *bp)
	var d Digest
	h.Sum(d[:0])
	return d, n, err
}

// adoptTemp hashes the temporary file tmp (open at offset 0), closes it and
// renames it to its raw blob name; if that blob is already stored, tmp is
// removed instead.
func (s *Store) adoptTemp(tmp *os.File) (Digest, int64, error) {
	d, n, err := hashOpen(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return Digest{}, 0, err
	}
	if s.Has(d) {
		os.Remove(tmp.Name())
		return d, n, nil
	}
	blob := s.blobPath(d, false)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		os.Remove(tmp.Name())
		return d, 0, err
	}
	if err := os.Rename(tmp.Name(), blob); err != nil {
		os.Remove(tmp.Name())
		return d, 0, err
	}
	return d, n, nil
}

// unshare makes sure that the raw blob d, if it is the source file at p
// itself (stored by hard link, link = "hard", by an earlier build), becomes
// an independent copy, so that the source can no longer change it. It is
// called for sources ingested by Clone or Copy whose link count says they
// may be shared. copied reports that the blob was p and is now a copy;
// stale, that the shared blob no longer held d's bytes (the source was
// edited in place): it was removed, and the caller must store the file's
// current content.
func (s *Store) unshare(p string, d Digest) (copied, stale bool, err error) {
	blob := s.blobPath(d, false)
	bi, err := os.Lstat(blob)
	if err != nil {
		return false, false, nil // not stored raw: not a link of p
	}
	fi, err := os.Stat(p)
	if err != nil || !os.SameFile(bi, fi) {
		return false, false, nil
	}
	src, err := os.Open(blob)
	if err != nil {
		return false, false, err
	}
	defer src.Close()
	tmp, err := s.copyTemp(src)
	if err != nil {
		return false, false, fmt.Errorf("copying %s out of its hard link with the store: %w", p, err)
	}
	got, _, err := hashOpen(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil || got != d {
		os.Remove(tmp.Name())
		if err != nil {
			return false, false, err
		}
		s.logf("cache: %s was edited in place; its previous content (%s) was stored by hard link and is gone from the store", p, d.Short())
		if err := os.Remove(blob); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, true, err
		}
		return false, true, nil
	}
	// Rename over the link: readers see the link or the copy, never
	// nothing.
	if err := os.Rename(tmp.Name(), blob); err != nil {
		os.Remove(tmp.Name())
		return false, false, err
	}
	return true, false, nil
}
