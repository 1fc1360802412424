package cache

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// StatCache remembers the digest of each source file under one root
// directory together with the file's identity (size, mtime, inode, mode), so
// that an unchanged file is never read again. A nil *StatCache is valid and
// remembers nothing.
//
// A file modified within the same timestamp tick as it was hashed could
// look unchanged; as git does with "racily clean" entries, files whose mtime
// is within racyWindow of the moment the cache is saved are not trusted
// next time. (Not ctime: storing a source by hard link changes it, and the
// identity recorded is the one taken after linking.) A racy entry of a file
// stored by hard link is still saved, with an identity no file has (size
// -1): it never matches, but it keeps the digest the store holds as that
// very file, so that an in-place edit is noticed and the stale blob
// removed (see Store.forgetEditedLink).
type StatCache struct {
	path    string
	mu      sync.Mutex
	entries map[string]statEntry
	dirty   bool
}

const racyWindow = 2 * time.Second

type statEntry struct {
	id     fileID
	digest Digest
	// linked: the file was ingested by hard link (Link), so the blob
	// may be the file itself.
	linked bool
}

// untrusted is the identity saved for a racy entry of a linked file: no
// file has a negative size, so it never matches.
var untrusted = fileID{size: -1}

// fileID is what must be equal for a file to count as unchanged.
type fileID struct {
	size  int64
	mtime int64
	ino   uint64
	ctime int64
	mode  uint32
}

func (c *StatCache) lookup(rel string, fi fs.FileInfo) (Digest, bool) {
	if c == nil {
		return Digest{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[rel]
	c.mu.Unlock()
	if !ok || e.id != identify(fi) {
		return Digest{}, false
	}
	return e.digest, true
}

// digest returns the digest last recorded for rel, whatever its identity.
func (c *StatCache) digest(rel string) (Digest, bool) {
	if c == nil {
		return Digest{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[rel]
	return e.digest, ok
}

// record remembers that the file rel, with identity fi, holds d; linked
// says it was stored by hard link.
func (c *StatCache) record(rel string, fi fs.FileInfo, d Digest, linked bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.entries[rel] = statEntry{identify(fi), d, linked}
	c.dirty = true
	c.mu.Unlock()
}

// OpenStatCache loads the stat cache of the source directory root.
func (s *Store) OpenStatCache(root string) (*StatCache, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	c := &StatCache{
		path:    filepath.Join(s.dir, "stat", Sum([]byte(abs)).Hex()[:32]),
		entries: map[string]statEntry{},
	}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := c.parse(data); err != nil {
		// A damaged stat cache only costs re-hashing.
		s.logf("cache: ignoring stat cache %s: %v", c.path, err)
		c.entries = map[string]statEntry{}
	}
	return c, nil
}

const statHeader = "dsbuild stat v1"

func (c *StatCache) parse(data []byte) error {
	rest, ok := bytes.CutPrefix(data, []byte(statHeader+"\n"))
	if !ok {
		return errors.New("bad header")
	}
	// Lines: <hex> <size> <mtime> <ino> <ctime> <mode> <rel>. Parsed by
	// hand: a store may hold a stat cache line for every source file.
	for len(rest) > 0 {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return errors.New("truncated")
		}
		line := rest[:nl]
		rest = rest[nl+1:]
		var f [6][]byte
		for i := range f {
			sp := bytes.IndexByte(line, ' ')
			if sp < 0 {
				return fmt.Errorf("malformed line %q", line)
			}
			f[i], line = line[:sp], line[sp+1:]
		}
		var d Digest
		if len(f[0]) != 2*len(d) {
			return fmt.Errorf("malformed digest in %q", line)
		}
		if _, err := hex.Decode(d[:], f[0]); err != nil {
			return err
		}
		var id fileID
		var err error
		if id.size, err = strconv.ParseInt(string(f[1]), 10, 64); err != nil {
			return err
		}
		if id.mtime, err = strconv.ParseInt(string(f[2]), 10, 64); err != nil {
			return err
		}
		if id.ino, err = strconv.ParseUint(string(f[3]), 10, 64); err != nil {
			return err
		}
		if id.ctime, err = strconv.ParseInt(string(f[4]), 10, 64); err != nil {
			return err
		}
		mode, err := strconv.ParseUint(string(f[5]), 8, 32)
		if err != nil {
			return err
		}
		id.mode = uint32(mode)
		c.entries[string(line)] = statEntry{id: id, digest: d}
	}
	return nil
}

// Save writes the cache back if anything changed. Only the files seen in
// this walk are kept, so deleted files do not accumulate.
func (c *StatCache) Save(s *Store, seen func(rel string) bool) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cutoff := time.Now().Add(-racyWindow).UnixNano()
	keys := make([]string, 0, len(c.entries))
	for k, e := range c.entries {
		if seen != nil && !seen(k) {
			c.dirty = true
			continue
		}
		if e.id.mtime >= cutoff {
			c.dirty = true
			if !e.linked {
				continue
			}
		}
		keys = append(keys, k)
	}
	if !c.dirty {
		return nil
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(statHeader + "\n")
	for _, k := range keys {
		e := c.entries[k]
		if e.id.mtime >= cutoff {
			e.id = untrusted
		}
		fmt.Fprintf(&b, "%s %d %d %d %d %o %s\n", e.digest.Hex(), e.id.size, e.id.mtime, e.id.ino, e.id.ctime, e.id.mode, k)
	}
	c.dirty = false
	return writeFileAtomic(filepath.Join(s.dir, "tmp"), c.path, b.Bytes(), 0o644)
}
