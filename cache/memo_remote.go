package cache

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Item memos travel between stores in bundles: a distributed build runs a
// step's items in shards on several machines, and the machine that then
// runs the step in full takes their results from the memo instead of
// computing them again.
//
// A bundle is a tree with, for each memoized item, an entry "m-<key hex>"
// whose content is the item's memo record as this store keeps it, and for
// each blob a record names, an entry "r-<digest hex>" (a file, or a
// directory for a tree). It travels like a step's result: UploadAction
// under a key the caller chooses (blobs first, the entry last), and
// RemoteAction, which verifies the closure, on the way back.

// bundleOutput is the bundle entry's one output.
const bundleOutput = "memos"

// UploadMemos sends the memo records of keys (this store's) and the blobs
// they name to the remote as one bundle under key.
func (s *Store) UploadMemos(ctx context.Context, key ActionKey, keys []MemoKey) error {
	var entries []TreeEntry
	seen := map[Digest]bool{}
	for _, k := range keys {
		raw, err := readSmallFile(s.entryPath(nsMemo, Digest(k)))
		if err != nil {
			return fmt.Errorf("memo %s: %w", k.Short(), err)
		}
		_, refs, err := decodeMemoRecord(Digest(k), raw)
		if err != nil {
			return fmt.Errorf("memo %s: %w", k.Short(), err)
		}
		d, err := s.PutBytes(raw)
		if err != nil {
			return err
		}
		entries = append(entries, TreeEntry{Name: "m-" + Digest(k).Hex(), Kind: File, Digest: d, Size: int64(len(raw))})
		for _, r := range refs {
			if seen[r.Digest] {
				continue
			}
			seen[r.Digest] = true
			e, err := s.refEntry(r.Digest)
			if err != nil {
				return fmt.Errorf("memo %s: %w", k.Short(), err)
			}
			entries = append(entries, e)
		}
	}
	tree, err := s.PutTree(entries)
	if err != nil {
		return err
	}
	return s.UploadAction(ctx, key, []Output{{Name: bundleOutput, Digest: tree}})
}

// refEntry is the bundle entry of a blob a memo record names: a file of
// its size, or a directory when it is a tree (its size the total below).
func (s *Store) refEntry(d Digest) (TreeEntry, error) {
	name := "r-" + d.Hex()
	p, compressed, ok := s.stat(d)
	if !ok {
		return TreeEntry{}, fmt.Errorf("blob %s is not stored", d.Short())
	}
	if s.startsWithTreeHeader(p) {
		b, err := s.ReadBlob(d)
		if err != nil {
			return TreeEntry{}, err
		}
		ents, err := DecodeTree(b)
		if err != nil {
			return TreeEntry{}, err
		}
		var total int64
		for _, e := range ents {
			total += e.Size
		}
		return TreeEntry{Name: name, Kind: Dir, Digest: d, Size: total}, nil
	}
	if !compressed {
		// A raw blob's size is its file's.
		fi, err := os.Stat(p)
		if err != nil {
			return TreeEntry{}, err
		}
		return TreeEntry{Name: name, Kind: File, Digest: d, Size: fi.Size()}, nil
	}
	rc, err := s.openVerified(d)
	if err != nil {
		return TreeEntry{}, err
	}
	defer rc.Close()
	size, err := io.Copy(io.Discard, rc)
	if err != nil {
		return TreeEntry{}, err
	}
	return TreeEntry{Name: name, Kind: File, Digest: d, Size: size}, nil
}

// ImportMemos takes the bundle stored under key on the remote into this
// store's memo: the records and the blobs they name are downloaded
// (verified, in parallel) and the records kept. It returns the number of
// records taken. (A record whose blobs were not stored here would still
// count them as stored while the remote is known to hold them.)
func (s *Store) ImportMemos(ctx context.Context, key ActionKey) (int, error) {
	outs, refs, err := s.remoteAction(ctx, key)
	if err != nil {
		return 0, err
	}
	if len(outs) != 1 || outs[0].Name != bundleOutput {
		return 0, fmt.Errorf("memo bundle %s: not a bundle", key.Short())
	}
	// The step that takes the bundle reads its records, and assembles its
	// output from the blobs they name: all of it is downloaded now,
	// RemoteOptions.Workers at a time, rather than one blob per read.
	if err := s.Fetch(ctx, refs); err != nil {
		return 0, fmt.Errorf("memo bundle %s: %w", key.Short(), err)
	}
	b, err := s.ReadBlob(outs[0].Digest)
	if err != nil {
		return 0, fmt.Errorf("memo bundle %s: %w", key.Short(), err)
	}
	ents, err := DecodeTree(b)
	if err != nil {
		return 0, fmt.Errorf("memo bundle %s: %w", key.Short(), err)
	}
	n := 0
	for _, e := range ents {
		hexKey, ok := strings.CutPrefix(e.Name, "m-")
		if !ok {
			continue
		}
		mk, err := ParseDigest(hexKey)
		if err != nil {
			return n, fmt.Errorf("memo bundle %s: entry %s: %w", key.Short(), e.Name, err)
		}
		raw, err := s.ReadBlob(e.Digest)
		if err != nil {
			return n, fmt.Errorf("memo bundle %s: %w", key.Short(), err)
		}
		rec, refs, err := decodeMemoRecord(mk, raw)
		if err != nil {
			return n, fmt.Errorf("memo bundle %s: entry %s: %w", key.Short(), e.Name, err)
		}
		ds := make([]Digest, len(refs))
		for i, r := range refs {
			ds[i] = r.Digest
		}
		if err := s.PutMemoRecord(MemoKey(mk), rec, ds); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// onRemote reports whether the remote is known (from a verified closure
// manifest) to hold d, which can then be fetched when read.
func (s *Store) onRemote(d Digest) bool {
	if s.remote == nil || s.remote.down.Load() {
		return false
	}
	_, ok := s.remote.known(d)
	return ok
}

// Prefetch downloads everything the trees roots reach that this store
// lacks, RemoteOptions.Workers blobs at a time: for a machine that is about
// to read all of them (a worker running a step over a dataset on the
// remote), instead of one blob per read. The roots must be known to the
// remote (from a verified manifest) or stored here.
func (s *Store) Prefetch(ctx context.Context, roots []Digest) error {
	if s.remote == nil {
		return nil
	}
	outs := make([]Output, len(roots))
	for i, d := range roots {
		outs[i] = Output{Name: d.Hex(), Digest: d}
	}
	refs, err := s.closure(outs)
	if err != nil {
		return err
	}
	return s.Fetch(ctx, refs)
}

// FetchBlobs downloads those of ds that this store lacks and its remote is
// known to hold (from a verified manifest), RemoteOptions.Workers at a
// time. It is a hint: a blob it does not get is fetched when read, as
// usual, and a failure is not reported here.
func (s *Store) FetchBlobs(ctx context.Context, ds []Digest) {
	l := s.remote
	if l == nil || l.down.Load() || len(ds) == 0 {
		return
	}
	var need []Digest
	seen := map[Digest]bool{}
	for _, d := range ds {
		if seen[d] {
			continue
		}
		seen[d] = true
		if _, ok := l.known(d); ok && !s.Has(d) {
			need = append(need, d)
		}
	}
	parallel(ctx, len(need), l.opt.Workers, func(i int) error {
		s.fetch(need[i])
		return nil
	}, nil)
}
