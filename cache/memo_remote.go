package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Item memos travel between stores in bundles: a distributed build runs a
// step's items in shards on several machines, and the machine that then
// runs the step in full takes their results from the memo instead of
// computing them again.
//
// A bundle is a remote action entry (under a key the caller chooses) with
// two outputs: "records", one blob that packs every item's memo record as
// this store keeps it, and "refs", a tree with an entry
// "r<7-digit ordinal>-<digest hex>" for each blob the records name (a
// file, or a directory for a tree), in the order the records name them,
// so that the bundle's closure manifest lists them and the packs that
// carry them (pack.go) keep them in item order. It travels like a step's
// result (UploadAction: blobs first, the entry last). The machine that
// takes it downloads the records blob and nothing else: the blobs the
// records name stay on the remote, fetched if and when something reads
// them (the step that assembles its output from the records needs only
// their digests).
//
// The records blob: the line "dsbuild memo bundle v1", then for each
// record the line "<memo key hex> <length>" followed by that many bytes.

// Bundle outputs.
const (
	bundleRecords = "records"
	bundleRefs    = "refs"
	bundleHeader  = "dsbuild memo bundle v1\n"
)

// UploadMemos sends the memo records of keys (this store's) and the blobs
// they name to the remote as one bundle under key.
func (s *Store) UploadMemos(ctx context.Context, key ActionKey, keys []MemoKey) error {
	var records bytes.Buffer
	records.WriteString(bundleHeader)
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
		fmt.Fprintf(&records, "%s %d\n", Digest(k).Hex(), len(raw))
		records.Write(raw)
		for _, r := range refs {
			if seen[r.Digest] {
				continue
			}
			seen[r.Digest] = true
			e, err := s.refEntry(r.Digest)
			if err != nil {
				return fmt.Errorf("memo %s: %w", k.Short(), err)
			}
			// Named in item order, so that the walk that packs them
			// (UploadAction) keeps a shard's items side by side.
			e.Name = fmt.Sprintf("r%07d-%s", len(entries), r.Digest.Hex())
			entries = append(entries, e)
		}
	}
	rd, err := s.PutBytes(records.Bytes())
	if err != nil {
		return err
	}
	tree, err := s.PutTree(entries)
	if err != nil {
		return err
	}
	// The items' outputs are new (the shard has just made them): sent
	// without an existence check, which over a bucket of a large dataset
	// costs more than the uploads.
	return s.uploadAction(ctx, key, []Output{{Name: bundleRecords, Digest: rd}, {Name: bundleRefs, Digest: tree}}, false)
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

// MemoImport counts what ImportMemos took.
type MemoImport struct {
	Records int // memo records taken
	// Skipped counts the records not taken because a blob they name is
	// not on the remote (their items run again), and Unusable the bundles
	// not taken at all (gone, corrupt, unreadable: their items run again).
	Skipped, Unusable int
}

// ImportMemos takes the bundles stored under keys on the remote into this
// store's memo: their records blobs are downloaded (verified), one
// existence check covers every blob all their records name, and each
// record whose blobs the remote holds is kept, its blobs fetchable on
// first read. A bundle or record that cannot be used is skipped with a
// warning (its items then run again); only a failure of this store, or
// an entry under key that is not a bundle, is an error.
func (s *Store) ImportMemos(ctx context.Context, keys []ActionKey) (MemoImport, error) {
	var res MemoImport
	l := s.remote
	if l == nil || l.down.Load() {
		return res, errRemoteDown
	}
	type bundle struct {
		key     ActionKey
		records Ref
	}
	var bundles []bundle
	var named []Ref // the blobs the records name, of all bundles
	for _, key := range keys {
		outs, refs, err := s.remoteEntry(ctx, key)
		if err != nil {
			res.Unusable++
			l.warn(fmt.Sprintf("memo bundle %s is not usable (%v): its items run again", key.Short(), err))
			continue
		}
		if len(outs) != 2 || outs[0].Name != bundleRecords || outs[1].Name != bundleRefs {
			return res, fmt.Errorf("memo bundle %s: not a bundle", key.Short())
		}
		b := bundle{key: key, records: Ref{Digest: outs[0].Digest, Size: -1}}
		for _, r := range refs {
			if r.Digest == b.records.Digest {
				b.records.Size = r.Size
			} else {
				named = append(named, r)
			}
		}
		bundles = append(bundles, b)
	}
	// The records blobs, now, many at a time (fetch verifies each).
	l.mu.Lock()
	for _, b := range bundles {
		l.sizes[b.records.Digest] = b.records.Size
	}
	l.mu.Unlock()
	parallel(ctx, len(bundles), l.opt.Workers, func(i int) error {
		s.fetch(bundles[i].records.Digest)
		return nil
	}, nil)
	missing, err := s.heldRemotely(ctx, named)
	if err != nil {
		res.Unusable += len(bundles)
		l.warn(fmt.Sprintf("memo bundles: the remote did not say which blobs it holds (%v): their items run again", err))
		return res, nil
	}
	gone := make(map[Digest]bool, len(missing))
	for _, r := range missing {
		gone[r.Digest] = true
	}
	for _, b := range bundles {
		raw, err := s.ReadBlob(b.records.Digest)
		if err != nil {
			res.Unusable++
			l.warn(fmt.Sprintf("memo bundle %s: its records are not readable (%v): its items run again", b.key.Short(), err))
			continue
		}
		n, skipped, err := s.takeRecords(raw, gone)
		res.Records += n
		res.Skipped += skipped
		if err != nil {
			var local *errLocal
			if errors.As(err, &local) {
				return res, local.err
			}
			res.Unusable++
			l.warn(fmt.Sprintf("memo bundle %s: %v: the rest of its items run again", b.key.Short(), err))
		}
	}
	if res.Skipped > 0 {
		l.warn(fmt.Sprintf("memo bundles: %d item result(s) name blobs the remote does not hold: those items run again", res.Skipped))
	}
	return res, nil
}

// takeRecords keeps the records a bundle's records blob packs, except
// those that name a blob in gone. A failure to write the memo is an
// *errLocal; any other error is the blob's (malformed).
func (s *Store) takeRecords(raw []byte, gone map[Digest]bool) (taken, skipped int, err error) {
	rest, ok := bytes.CutPrefix(raw, []byte(bundleHeader))
	if !ok {
		return 0, 0, errors.New("records: wrong header")
	}
	for len(rest) > 0 {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return taken, skipped, errors.New("records: truncated")
		}
		hexKey, num, ok := bytes.Cut(line, []byte(" "))
		mk, kerr := ParseDigest(string(hexKey))
		n, nerr := strconv.Atoi(string(num))
		if !ok || kerr != nil || nerr != nil || n < 0 || n > len(after) {
			return taken, skipped, fmt.Errorf("records: bad record line %q", line)
		}
		rec, refs, err := decodeMemoRecord(mk, after[:n])
		if err != nil {
			return taken, skipped, fmt.Errorf("records: record %s: %w", mk.Short(), err)
		}
		rest = after[n:]
		ds := make([]Digest, len(refs))
		usable := true
		for i, r := range refs {
			ds[i] = r.Digest
			usable = usable && !gone[r.Digest]
		}
		if !usable {
			skipped++
			continue
		}
		if s.hasMemoRecord(mk, rec, ds) {
			taken++ // this machine ran the shard: its record is here already
			continue
		}
		if err := s.PutMemoRecord(MemoKey(mk), rec, ds); err != nil {
			return taken, skipped, &errLocal{err}
		}
		taken++
	}
	return taken, skipped, nil
}

// hasMemoRecord reports whether this store keeps, under key, a record of
// the same bytes naming the same blobs: then there is nothing to write
// (a file write costs far more than this read).
func (s *Store) hasMemoRecord(key Digest, rec []byte, refs []Digest) bool {
	raw, err := readSmallFile(s.entryPath(nsMemo, key))
	if err != nil {
		return false
	}
	have, outs, err := decodeMemoRecord(key, raw)
	if err != nil || !bytes.Equal(have, rec) || len(outs) != len(refs) {
		return false
	}
	for i, o := range outs {
		if o.Digest != refs[i] {
			return false
		}
	}
	return true
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
	s.fetchMany(ctx, need)
}
