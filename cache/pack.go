package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Packs: many small blobs travel to and from a remote as one object.
//
// A step of a large dataset makes thousands of small blobs (an image, an
// annotation, a mask per item); sent one object each, the requests cost
// more than the bytes. When UploadAction sends a result, the blobs the
// remote lacks that are at most packMaxMember bytes go into packs: one blob
// each, "dsbuild pack v1\n" followed by the members' bytes one after the
// other, closed at about packTarget bytes. The closure manifest written
// with the entry (closure v2) names, for each member, its pack and its
// offset there; the pack is listed as a blob of its own.
//
// A reader that takes the entry learns the members' places from the
// verified manifest: it asks the remote about the packs instead of the
// members (one existence check covers a pack's members), and reads a
// member with a ranged read of its pack (RangeReader), verifying the
// member's bytes against its digest as for any blob. Fetching many members
// of one pack reads them in few requests: members at most rangeGap bytes
// apart are read with one ranged read of at most rangeMax bytes.
//
// Packs are transport, not content: which blobs share a pack depends on
// what the remote lacked when they were sent, so two machines may store
// the same result in different packs (and manifests). Keys, outputs and
// lockfiles never depend on packs. Upload (the blobs alone, with no entry
// to describe them) never packs: whoever asks for those blobs asks by
// digest.

const (
	packHeader = "dsbuild pack v1\n"
	// packMaxMember is the largest blob that travels in a pack; a larger
	// one's request costs little beside its bytes.
	packMaxMember = 256 << 10
	// packTarget is the size at which a pack is closed: large enough that
	// a request carries many members, small enough to build in memory
	// (RemoteOptions.Workers packs at a time) and to retry whole.
	packTarget = 8 << 20
	// packMin is the fewest small blobs worth a pack; fewer travel alone.
	packMin = 4
	// rangeGap is the largest gap between two members of one pack that one
	// ranged read spans (reading the gap's bytes and dropping them costs
	// less than another request).
	rangeGap = 64 << 10
	// rangeMax bounds the bytes of one ranged read of a pack.
	rangeMax = 8 << 20
)

// packLoc is where a blob lives on the remote inside a pack.
type packLoc struct {
	Pack Ref
	Off  int64
}

// RangeReader is what a Remote implements when it can read part of a blob
// (S3's Range header, ByteStream's read_offset): the store
// then reads a pack's members without the rest of the pack. Without it, a
// member is read by streaming its pack from the start.
type RangeReader interface {
	// GetRange opens bytes [off, off+n) of the blob ref, 0 ≤ off, 1 ≤ n,
	// off+n ≤ ref.Size. A blob the remote does not hold is an error for
	// which errors.Is(err, ErrRemoteMiss) holds. The bytes are not
	// verified by the backend.
	GetRange(ctx context.Context, ref Ref, off, n int64) (io.ReadCloser, error)
}

// packedAt returns where d lives in a pack on the remote, if a verified
// manifest or this run's upload said so and the pack has not been found
// unusable.
func (l *remoteLink) packedAt(d Digest) (packLoc, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	loc, ok := l.packed[d]
	if !ok {
		return packLoc{}, false
	}
	if _, bad := l.bad[loc.Pack.Digest]; bad {
		return packLoc{}, false
	}
	return loc, true
}

// locate records where the members of a verified manifest live. A place
// already known is kept unless its pack was found unusable.
func (l *remoteLink) locate(locs map[Digest]packLoc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for d, loc := range locs {
		if old, ok := l.packed[d]; ok {
			if _, bad := l.bad[old.Pack.Digest]; !bad {
				continue
			}
		}
		l.packed[d] = loc
	}
}

// readRange opens bytes [off, off+n) of the remote blob ref.
func (l *remoteLink) readRange(ctx context.Context, ref Ref, off, n int64) (io.ReadCloser, error) {
	if rr, ok := l.r.(RangeReader); ok {
		return rr.GetRange(ctx, ref, off, n)
	}
	rc, err := l.r.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		rc.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("pack %s ends before byte %d: %w", ref.Digest.Short(), off, ErrRemoteMiss)
		}
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, n), rc}, nil
}

// packGroups splits refs (small blobs, in the order they should sit in
// their packs) into packs of about packTarget bytes.
func packGroups(refs []Ref) [][]Ref {
	var groups [][]Ref
	var cur []Ref
	size := int64(len(packHeader))
	for _, r := range refs {
		cur = append(cur, r)
		size += r.Size
		if size >= packTarget {
			groups = append(groups, cur)
			cur, size = nil, int64(len(packHeader))
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// uploadPack reads members from this store (verifying each), sends them as
// one pack, and records where each now lives.
func (s *Store) uploadPack(ctx context.Context, members []Ref) error {
	l := s.remote
	var buf bytes.Buffer
	total := int64(len(packHeader))
	for _, m := range members {
		total += m.Size
	}
	buf.Grow(int(total))
	buf.WriteString(packHeader)
	offs := make([]int64, len(members))
	for i, m := range members {
		offs[i] = int64(buf.Len())
		rc, err := s.openVerified(m.Digest)
		if err != nil {
			return err
		}
		n, err := io.Copy(&buf, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != m.Size {
			err = fmt.Errorf("blob %s has %d bytes here, not %d", m.Digest.Short(), n, m.Size)
		}
		if err != nil {
			return err
		}
	}
	data := buf.Bytes()
	pack := Ref{Digest(sha256.Sum256(data)), int64(len(data))}
	err := l.call(ctx, fmt.Sprintf("upload of pack %s (%d blobs)", pack.Digest.Short(), len(members)), l.transferTimeout(pack.Size), func(ctx context.Context) error {
		return l.r.Put(ctx, pack, bytes.NewReader(data))
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	for i, m := range members {
		l.packed[m.Digest] = packLoc{Pack: pack, Off: offs[i]}
	}
	l.mu.Unlock()
	l.confirm(members)
	l.confirm([]Ref{pack})
	l.packs.Add(1)
	l.uploads.Add(int64(len(members)))
	l.uploadBytes.Add(total - int64(len(packHeader)))
	if l.opt.Progress != nil {
		for _, m := range members {
			l.opt.Progress(true, m.Size)
		}
	}
	return nil
}

// rangeRead is one ranged read of a pack: members, sorted by offset, all
// within [off, off+n), useful bytes of them.
type rangeRead struct {
	pack           Ref
	off, n, useful int64
	members        []packMember
}

// takes reports whether the read should extend to member m (which starts
// at or after the read's start): when the gap before m is at most
// rangeGap, the read stays within rangeMax, and at most half the bytes
// read are dropped. So members side by side (a shard's items, in the
// order they were packed) come in one request, while a read for every
// twentieth member does not fetch the nineteen between.
func (r *rangeRead) takes(m packMember) bool {
	end := max(r.off+r.n, m.off+m.Size)
	span := end - r.off
	gap := m.off - (r.off + r.n)
	return gap <= rangeGap && span <= rangeMax && span <= 2*(r.useful+m.Size)
}

type packMember struct {
	Ref
	off int64
}

// planReads groups the packed blobs among ds by pack and into ranged
// reads; it returns the reads and the blobs that are not packed (or whose
// size is not known), in the order given.
func (l *remoteLink) planReads(ds []Digest) (reads []rangeRead, loose []Digest) {
	byPack := map[Digest][]packMember{}
	packs := map[Digest]Ref{}
	var order []Digest
	seen := map[Digest]bool{}
	l.mu.Lock()
	for _, d := range ds {
		if seen[d] {
			continue
		}
		seen[d] = true
		loc, ok := l.packed[d]
		size, sized := l.sizes[d]
		_, bad := l.bad[d]
		_, packBad := l.bad[loc.Pack.Digest]
		if !ok || !sized || bad || packBad || size == 0 {
			loose = append(loose, d)
			continue
		}
		if _, ok := packs[loc.Pack.Digest]; !ok {
			order = append(order, loc.Pack.Digest)
			packs[loc.Pack.Digest] = loc.Pack
		}
		byPack[loc.Pack.Digest] = append(byPack[loc.Pack.Digest], packMember{Ref{d, size}, loc.Off})
	}
	l.mu.Unlock()
	for _, pd := range order {
		ms := byPack[pd]
		sort.Slice(ms, func(i, j int) bool { return ms[i].off < ms[j].off })
		var cur *rangeRead
		for _, m := range ms {
			end := m.off + m.Size
			if cur == nil || !cur.takes(m) {
				reads = append(reads, rangeRead{pack: packs[pd], off: m.off})
				cur = &reads[len(reads)-1]
			}
			cur.members = append(cur.members, m)
			cur.useful += m.Size
			cur.n = max(cur.n, end-cur.off)
		}
	}
	return reads, loose
}

// fetchRange runs one ranged read and stores the members it carries, each
// verified against its digest; a member whose bytes are wrong (or that the
// pack does not reach) is marked bad for the run.
func (s *Store) fetchRange(ctx context.Context, rr rangeRead) {
	l := s.remote
	var data []byte
	op := fmt.Sprintf("ranged read of pack %s (%d blobs)", rr.pack.Digest.Short(), len(rr.members))
	err := l.call(ctx, op, l.transferTimeout(rr.n), func(ctx context.Context) error {
		rc, err := l.readRange(ctx, rr.pack, rr.off, rr.n)
		if err != nil {
			return err
		}
		defer rc.Close()
		data = make([]byte, rr.n)
		n, err := io.ReadFull(rc, data)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			// The stream ended cleanly, short: the pack is shorter than
			// listed, and what it has is checked. (A stream cut by the
			// network is another error, retried.)
			data = data[:n]
			return nil
		}
		return err
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrRemoteMiss):
		ds := make([]Digest, len(rr.members))
		for i, m := range rr.members {
			ds[i] = m.Digest
		}
		l.rejectAll(ds, "their pack "+rr.pack.Digest.Short()+" is gone from the remote")
		return
	case errors.Is(err, errRemoteDown):
		return // said once, when the remote was given up
	default:
		s.logf("cache: %v", err) // each member is tried again when read
		return
	}
	l.rangeReads.Add(1)
	var short []Digest
	defer func() {
		if len(short) > 0 {
			l.rejectAll(short, fmt.Sprintf("their pack %s ends before them", rr.pack.Digest.Short()))
		}
	}()
	for _, m := range rr.members {
		lo := m.off - rr.off
		if lo+m.Size > int64(len(data)) {
			short = append(short, m.Digest)
			continue
		}
		d := m.Digest
		_, _, err := s.putReader(bytes.NewReader(data[lo:lo+m.Size]), m.Size, &d)
		var wrong *errWrongContent
		switch {
		case err == nil:
			l.downloads.Add(1)
			l.downloadBytes.Add(m.Size)
			if l.opt.Progress != nil {
				l.opt.Progress(false, m.Size)
			}
		case errors.As(err, &wrong):
			l.reject(d, fmt.Sprintf("content hashes to %s in pack %s", wrong.got.Short(), rr.pack.Digest.Short()))
		default:
			s.logf("cache: storing blob %s: %v", d.Short(), err)
		}
	}
}

// fetchMany downloads those of ds this store lacks and the remote is known
// to hold: loose blobs one request each, packed ones by ranged reads of
// their packs, RemoteOptions.Workers requests at a time.
func (s *Store) fetchMany(ctx context.Context, ds []Digest) {
	l := s.remote
	reads, loose := l.planReads(ds)
	parallel(ctx, len(reads)+len(loose), l.opt.Workers, func(i int) error {
		if i < len(reads) {
			s.fetchRange(ctx, reads[i])
		} else {
			s.fetch(loose[i-len(reads)])
		}
		return nil
	}, nil)
}
