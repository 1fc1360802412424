package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Output is one named output digest of a step or an item.
type Output struct {
	Name   string
	Digest Digest
}

// ActionResult is what the action cache remembers for a step key.
type ActionResult struct {
	Outputs []Output // sorted by name
}

// Get returns the named output, or false.
func (r *ActionResult) Get(name string) (Digest, bool) {
	for _, o := range r.Outputs {
		if o.Name == name {
			return o.Digest, true
		}
	}
	return Digest{}, false
}

// MissError is a cache miss, with the reason when the entry existed but could
// not be used.
type MissError struct {
	Key    Digest // the entry's key (an ActionKey or a MemoKey) as a digest
	Reason string // empty when there simply is no entry
}

func (e *MissError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("no cache entry for %s", e.Key.Short())
	}
	return fmt.Sprintf("cache entry %s unusable: %s", e.Key.Short(), e.Reason)
}

// entry namespaces: the action cache and the item memo share a format.
const (
	nsAction = "ac"
	nsMemo   = "memo"
)

func (s *Store) entryPath(ns string, key Digest) string {
	h := key.Hex()
	return filepath.Join(s.dir, ns, h[:2], h)
}

// encodeEntry writes "dsbuild <ns> v1", the key, one "output <name> <digest>"
// line per output, and a final "check <digest>" of the lines before it.
func encodeEntry(ns string, key Digest, outs []Output) ([]byte, error) {
	sorted := append([]Output(nil), outs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	fmt.Fprintf(&b, "dsbuild %s v1\nkey %s\n", ns, key)
	for i, o := range sorted {
		if o.Name == "" || strings.IndexFunc(o.Name, unicode.IsSpace) >= 0 {
			return nil, fmt.Errorf("output name %q: must be non-empty without white space", o.Name)
		}
		if i > 0 && sorted[i-1].Name == o.Name {
			return nil, fmt.Errorf("duplicate output %q", o.Name)
		}
		fmt.Fprintf(&b, "output %s %s\n", o.Name, o.Digest)
	}
	fmt.Fprintf(&b, "check %s\n", Sum(b.Bytes()))
	return b.Bytes(), nil
}

func decodeEntry(ns string, key Digest, data []byte) ([]Output, error) {
	i := bytes.LastIndex(data, []byte("check "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return nil, errors.New("truncated")
	}
	want, err := ParseDigest(strings.TrimSpace(string(data[i+len("check "):])))
	if err != nil {
		return nil, err
	}
	if Sum(data[:i]) != want {
		return nil, errors.New("checksum mismatch")
	}
	lines := strings.Split(strings.TrimSuffix(string(data[:i]), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "dsbuild "+ns+" v1" || lines[1] != "key "+key.String() {
		return nil, errors.New("wrong header or key")
	}
	var outs []Output
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "output" {
			return nil, fmt.Errorf("malformed line %q", l)
		}
		d, err := ParseDigest(f[2])
		if err != nil {
			return nil, err
		}
		outs = append(outs, Output{f[1], d})
	}
	return outs, nil
}

func (s *Store) getEntry(ns string, key Digest) ([]Output, error) {
	var outs []Output
	err := s.readEntry(ns, key, func(data []byte) (err error) {
		outs, err = decodeAnyEntry(ns, key, data)
		return err
	})
	return outs, err
}

// readEntry reads the entry of key in ns and hands it to decode. A missing
// entry is a miss; one that decode rejects is corrupt: reported, removed,
// and a miss (decode may also return a *MissError of its own for an entry
// that is sound but not what it reads: it is left in place).
func (s *Store) readEntry(ns string, key Digest, decode func([]byte) error) error {
	p := s.entryPath(ns, key)
	data, err := readSmallFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &MissError{Key: key}
	}
	if err != nil {
		return fmt.Errorf("reading cache entry %s: %w", key.Short(), err)
	}
	if err := decode(data); err != nil {
		var miss *MissError
		if errors.As(err, &miss) {
			return err
		}
		s.logf("cache: %s entry %s is corrupt (%v): removing it", ns, key.Short(), err)
		os.Remove(p)
		return &MissError{Key: key, Reason: "corrupt entry: " + err.Error()}
	}
	return nil
}

func (s *Store) putEntry(ns string, key Digest, outs []Output) error {
	b, err := encodeEntry(ns, key, outs)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "tmp"), s.entryPath(ns, key), b, 0o644); err != nil {
		return fmt.Errorf("writing cache entry %s: %w", key.Short(), err)
	}
	return nil
}

// GetAction looks up a step key. A miss is a *MissError.
func (s *Store) GetAction(key ActionKey) (*ActionResult, error) {
	outs, err := s.getEntry(nsAction, Digest(key))
	if err != nil {
		return nil, err
	}
	return &ActionResult{Outputs: outs}, nil
}

// PutAction records a step's outputs under its key. Callers store the
// outputs' blobs first, so an entry never names something absent.
func (s *Store) PutAction(key ActionKey, r *ActionResult) error {
	return s.putEntry(nsAction, Digest(key), r.Outputs)
}

// GetMemo looks up an item key in the item memo. A miss is a *MissError.
func (s *Store) GetMemo(key MemoKey) ([]Output, error) { return s.getEntry(nsMemo, Digest(key)) }

// PutMemo records the outputs computed for one item under its item key.
func (s *Store) PutMemo(key MemoKey, outs []Output) error {
	return s.putEntry(nsMemo, Digest(key), outs)
}

// IsMiss reports whether err is a cache miss.
func IsMiss(err error) bool {
	var m *MissError
	return errors.As(err, &m)
}

// A memo record is an item's result kept in its memo entry itself (one
// file, not an entry and a blob), with the digests of the blobs it names:
//
//	dsbuild memo v2
//	key <key>
//	ref <digest>[ zst]  (sorted, one per blob the result names; zst: stored
//	                    compressed when the record was written)
//	record <data>       (one line: data holds no newline)
//	check <digest of the lines before>
//
// GC keeps the entry while every blob it refers to lives (as it keeps a
// v1 entry while its outputs live); Check reports refs that are missing.

const memoRecordHeader = "dsbuild memo v2"

// encodeMemoRecord writes a v2 memo entry.
// zst marks the refs stored compressed, so that a read checks one path.
func encodeMemoRecord(key Digest, record []byte, refs []Digest, zst map[Digest]bool) ([]byte, error) {
	if bytes.IndexByte(record, '\n') >= 0 {
		return nil, errors.New("memo record: the data holds a newline")
	}
	sorted := append([]Digest(nil), refs...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i][:], sorted[j][:]) < 0 })
	var b bytes.Buffer
	b.Grow(len(record) + 90*len(refs) + 200)
	fmt.Fprintf(&b, "%s\nkey %s\n", memoRecordHeader, key)
	for i, d := range sorted {
		if i > 0 && sorted[i-1] == d {
			continue
		}
		fmt.Fprintf(&b, "ref %s", d)
		if zst[d] {
			b.WriteString(" zst")
		}
		b.WriteByte('\n')
	}
	b.WriteString("record ")
	b.Write(record)
	b.WriteByte('\n')
	fmt.Fprintf(&b, "check %s\n", Sum(b.Bytes()))
	return b.Bytes(), nil
}

// decodeMemoRecord reads a v2 memo entry: its record and its refs (as
// outputs named "ref", or "ref-zst" for one stored compressed; GC and Check
// read their digests).
func decodeMemoRecord(key Digest, data []byte) ([]byte, []Output, error) {
	i := bytes.LastIndex(data, []byte("\ncheck "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return nil, nil, errors.New("truncated")
	}
	want, err := ParseDigest(strings.TrimSpace(string(data[i+len("\ncheck "):])))
	if err != nil {
		return nil, nil, err
	}
	body := data[:i+1]
	if Sum(body) != want {
		return nil, nil, errors.New("checksum mismatch")
	}
	head := memoRecordHeader + "\nkey " + key.String() + "\n"
	if !bytes.HasPrefix(body, []byte(head)) {
		return nil, nil, errors.New("wrong header or key")
	}
	rest := body[len(head):]
	var refs []Output
	for bytes.HasPrefix(rest, []byte("ref ")) {
		j := bytes.IndexByte(rest, '\n')
		line, name := rest[len("ref "):j], "ref"
		if l, ok := bytes.CutSuffix(line, []byte(" zst")); ok {
			line, name = l, "ref-zst"
		}
		d, err := ParseDigest(string(line))
		if err != nil {
			return nil, nil, err
		}
		refs = append(refs, Output{Name: name, Digest: d})
		rest = rest[j+1:]
	}
	if !bytes.HasPrefix(rest, []byte("record ")) || bytes.IndexByte(rest, '\n') != len(rest)-1 {
		return nil, nil, errors.New("malformed record")
	}
	return rest[len("record ") : len(rest)-1], refs, nil
}

// decodeAnyEntry reads an action entry, or a memo entry of either version
// (a v2 entry's refs as its outputs).
func decodeAnyEntry(ns string, key Digest, data []byte) ([]Output, error) {
	if ns == nsMemo && bytes.HasPrefix(data, []byte(memoRecordHeader+"\n")) {
		_, refs, err := decodeMemoRecord(key, data)
		return refs, err
	}
	return decodeEntry(ns, key, data)
}

// PutMemoRecord keeps an item's result, record (one line), in the item
// memo under key, with the blobs it names.
func (s *Store) PutMemoRecord(key MemoKey, record []byte, refs []Digest) error {
	zst := map[Digest]bool{}
	for _, d := range refs {
		if _, compressed, ok := s.stat(d); ok && compressed {
			zst[d] = true
		}
	}
	b, err := encodeMemoRecord(Digest(key), record, refs, zst)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "tmp"), s.entryPath(nsMemo, Digest(key)), b, 0o644); err != nil {
		return fmt.Errorf("writing memo record %s: %w", key.Short(), err)
	}
	return nil
}

// GetMemoRecord reads the record PutMemoRecord kept under key, if every
// blob it names is still stored (or, for a record ImportMemos took, known
// to be on the remote: fetched when read). A miss (no entry, a v1 entry, a corrupt
// one, which is removed, or a missing blob) is a *MissError.
func (s *Store) GetMemoRecord(key MemoKey) ([]byte, error) {
	var rec []byte
	var refs []Output
	err := s.readEntry(nsMemo, Digest(key), func(data []byte) (err error) {
		if !bytes.HasPrefix(data, []byte(memoRecordHeader+"\n")) {
			return &MissError{Key: Digest(key), Reason: "not a memo record"}
		}
		rec, refs, err = decodeMemoRecord(Digest(key), data)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		// One stat where the blob was when the record was written; the
		// other form too if it moved (a repair may store it anew).
		if _, err := os.Lstat(s.blobPath(r.Digest, r.Name == "ref-zst")); err == nil {
			continue
		}
		if !s.Has(r.Digest) && !s.onRemote(r.Digest) {
			return nil, &MissError{Key: Digest(key), Reason: "blob " + r.Digest.Short() + " is gone"}
		}
	}
	return rec, nil
}
