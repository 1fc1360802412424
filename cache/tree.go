package cache

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// EntryKind says what a tree entry names.
type EntryKind byte

const (
	File EntryKind = 'f' // a regular file
	Exec EntryKind = 'x' // a regular file with the executable bit
	Dir  EntryKind = 'd' // a subtree
)

// TreeEntry is one line of a tree: a name within its directory, what it is,
// and the digest and size of its content (for a subtree, the size is the
// total of the files below it).
type TreeEntry struct {
	Name   string
	Kind   EntryKind
	Digest Digest
	Size   int64
}

const treeHeader = "dsbuild tree v1\n"

// EncodeTree returns the canonical encoding of a directory: a header line,
// then one line "<kind> <hex digest> <size> <name>" per entry, sorted by
// name as bytes. The same listing always encodes to the same bytes. Names
// must be valid single path elements.
func EncodeTree(entries []TreeEntry) ([]byte, error) {
	sorted := append([]TreeEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	b.WriteString(treeHeader)
	for i, e := range sorted {
		if err := ValidName(e.Name); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Name == e.Name {
			return nil, fmt.Errorf("tree: duplicate name %q", e.Name)
		}
		if e.Kind != File && e.Kind != Exec && e.Kind != Dir {
			return nil, fmt.Errorf("tree: entry %q has unknown kind %q", e.Name, e.Kind)
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("tree: entry %q has negative size %d", e.Name, e.Size)
		}
		b.WriteByte(byte(e.Kind))
		b.WriteByte(' ')
		b.WriteString(e.Digest.Hex())
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(e.Size, 10))
		b.WriteByte(' ')
		b.WriteString(e.Name)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// ValidName reports whether name can be an entry of a tree: non-empty, not
// "." or "..", without '/', NUL or newline.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00\n\r") {
		return fmt.Errorf("file name %q cannot be stored: names must be non-empty, not . or .., and hold no '/', NUL or line break", name)
	}
	return nil
}

// DecodeTree parses a tree encoded by EncodeTree, rejecting anything that is
// not canonical.
func DecodeTree(data []byte) ([]TreeEntry, error) {
	if !bytes.HasPrefix(data, []byte(treeHeader)) {
		return nil, errors.New("not a tree (missing header)")
	}
	rest := data[len(treeHeader):]
	var out []TreeEntry
	for len(rest) > 0 {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, errors.New("tree: last line is not terminated")
		}
		line := string(rest[:nl])
		rest = rest[nl+1:]
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 || len(f[0]) != 1 {
			return nil, fmt.Errorf("tree: malformed line %q", line)
		}
		d, err := ParseDigest(f[1])
		if err != nil {
			return nil, fmt.Errorf("tree: %w", err)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 || f[1] != d.Hex() || f[2] != strconv.FormatInt(size, 10) {
			return nil, fmt.Errorf("tree: line %q is not canonical", line)
		}
		e := TreeEntry{Name: f[3], Kind: EntryKind(f[0][0]), Digest: d, Size: size}
		if e.Kind != File && e.Kind != Exec && e.Kind != Dir {
			return nil, fmt.Errorf("tree: unknown entry kind in line %q", line)
		}
		if err := ValidName(e.Name); err != nil {
			return nil, fmt.Errorf("tree: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].Name >= e.Name {
			return nil, fmt.Errorf("tree: entries not sorted or duplicated at %q", e.Name)
		}
		out = append(out, e)
	}
	return out, nil
}

// PutTree encodes and stores a tree, returning its digest.
func (s *Store) PutTree(entries []TreeEntry) (Digest, error) {
	b, err := EncodeTree(entries)
	if err != nil {
		return Digest{}, err
	}
	return s.PutBytes(b)
}

// ReadTree reads and decodes tree d, re-hashing it.
func (s *Store) ReadTree(d Digest) ([]TreeEntry, error) {
	b, err := s.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	entries, err := DecodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", d.Short(), err)
	}
	return entries, nil
}

// WalkTree calls fn for every entry below tree d, depth first in name
// order, with slash-separated paths relative to the tree. Subtrees are read
// (and re-hashed); file blobs are not.
func (s *Store) WalkTree(d Digest, fn func(path string, e TreeEntry) error) error {
	return s.walkTree(d, "", fn)
}

func (s *Store) walkTree(d Digest, prefix string, fn func(string, TreeEntry) error) error {
	entries, err := s.ReadTree(d)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := prefix + e.Name
		if err := fn(p, e); err != nil {
			return err
		}
		if e.Kind == Dir {
			if err := s.walkTree(e.Digest, p+"/", fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// TreeComplete checks that tree d and everything it names are present: the
// tree blobs are read and re-hashed, file blobs are checked for existence
// and, when kept raw, for their size (a stat, not a read). It is the check
// run on every cache hit; a blob of the wrong size is removed as corrupt.
func (s *Store) TreeComplete(d Digest) error {
	return s.WalkTree(d, func(p string, e TreeEntry) error {
		if e.Kind == Dir {
			return nil
		}
		path, size, compressed, ok := s.statSize(e.Digest)
		switch {
		case !ok:
			return fmt.Errorf("%s (%s) is missing from the store", p, e.Digest.Short())
		case !compressed && size != e.Size:
			return s.corrupt(e.Digest, path, fmt.Sprintf("%d bytes where %s needs %d", size, p, e.Size))
		}
		return nil
	})
}

// EmptyTree is the digest of the tree with no entries.
var EmptyTree = func() Digest { b, _ := EncodeTree(nil); return Sum(b) }()
