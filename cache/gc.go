package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// GCOptions says what garbage collection must keep besides the store's own
// roots (tags and the last KeepBuilds build records).
type GCOptions struct {
	DryRun     bool
	KeepBuilds int         // build records to keep; older ones are dropped
	Roots      []Digest    // trees to keep
	Actions    []ActionKey // step keys whose action cache entries are kept
	// LockfileRoots reads a registered lockfile (see RegisterLockfile) and
	// returns the trees and step keys it names. GC calls it for every
	// registered lockfile that exists, after taking the exclusive lock, so
	// that a build that finished while GC waited is seen with its results.
	// An error stops the collection: a lockfile that cannot be read might
	// name anything.
	LockfileRoots func(path string) (roots []Digest, actions []ActionKey, err error)
}

// GCReport says what a collection removed (or, in a dry run, would remove).
type GCReport struct {
	Blobs, KeptBlobs     int
	Bytes, KeptBytes     int64
	Actions, KeptActions int
	Memos, KeptMemos     int
	Builds               int // build records dropped
	TempFiles            int // leftovers of killed builds and verifies
	Lockfiles            int // registered lockfiles read for roots
}

// storedBlob is one blob file found in the store.
type storedBlob struct {
	d    Digest
	path string
	size int64
}

func (s *Store) listBlobs() ([]storedBlob, []string, error) {
	var out []storedBlob
	var strays []string
	root := filepath.Join(s.dir, "blobs")
	shards, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	for _, sh := range shards {
		ents, err := os.ReadDir(filepath.Join(root, sh.Name()))
		if err != nil {
			strays = append(strays, filepath.Join(root, sh.Name()))
			continue
		}
		for _, e := range ents {
			p := filepath.Join(root, sh.Name(), e.Name())
			d, err := ParseDigest(strings.TrimSuffix(e.Name(), ".zst"))
			if err != nil || !strings.HasPrefix(d.Hex(), sh.Name()) {
				strays = append(strays, p)
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, storedBlob{d, p, info.Size()})
		}
	}
	return out, strays, nil
}

func listEntries(dir string) ([]storedBlob, error) {
	var out []storedBlob
	shards, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, sh := range shards {
		ents, _ := os.ReadDir(filepath.Join(dir, sh.Name()))
		for _, e := range ents {
			p := filepath.Join(dir, sh.Name(), e.Name())
			d, err := ParseDigest(e.Name())
			if err != nil {
				out = append(out, storedBlob{path: p})
				continue
			}
			out = append(out, storedBlob{d: d, path: p})
		}
	}
	return out, nil
}

// mark adds d and, if it is a tree, everything below it to live. It reads
// only the first bytes of blobs that are not trees, and removes nothing
// (a dry run must not change the store): a corrupt tree marks no children.
func (s *Store) mark(d Digest, live map[Digest]bool) {
	if live[d] {
		return
	}
	live[d] = true
	p, _, ok := s.stat(d)
	if !ok || !s.startsWithTreeHeader(p) {
		return
	}
	b, err := s.readBlobNoRemove(d, p)
	if err != nil {
		s.logf("cache: gc: tree %s is unreadable (%v); what it names is kept only if reachable otherwise", d.Short(), err)
		return
	}
	entries, err := DecodeTree(b)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Kind == Dir {
			s.mark(e.Digest, live)
		} else {
			live[e.Digest] = true
		}
	}
}

// peekEntry decodes an action or memo entry without the read path's removal
// of corrupt entries.
func peekEntry(ns string, e storedBlob) ([]Output, error) {
	if e.d.IsZero() {
		return nil, fmt.Errorf("%s: not an entry name", e.path)
	}
	data, err := os.ReadFile(e.path)
	if err != nil {
		return nil, err
	}
	return decodeAnyEntry(ns, e.d, data)
}

// startsWithTreeHeader reads the first bytes of the blob file at p.
func (s *Store) startsWithTreeHeader(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(p, ".zst") {
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	}
	head := make([]byte, len(treeHeader))
	if _, err := io.ReadFull(r, head); err != nil {
		return false
	}
	return string(head) == treeHeader
}

// GC removes everything no root reaches: blobs, action cache entries not
// named by a kept build or a root, memo entries whose outputs are gone,
// build records beyond the last KeepBuilds, and everything in tmp/. It
// takes the store's exclusive lock before it reads any root, waiting for
// running builds (and verifies, whose temporary stores live in tmp/) to
// finish: a build records its results as roots before it releases its
// shared lock, so nothing a build reported can be collected, and whatever
// is in tmp/ once the lock is held belongs to no live process.
func (s *Store) GC(ctx context.Context, opt GCOptions) (GCReport, error) {
	var rep GCReport
	unlock, err := s.LockExclusive()
	if err != nil {
		return rep, err
	}
	defer unlock()

	roots := append([]Digest(nil), opt.Roots...)
	keepActions := map[ActionKey]bool{}
	for _, a := range opt.Actions {
		keepActions[a] = true
	}
	if opt.LockfileRoots != nil {
		locks, err := s.Lockfiles()
		if err != nil {
			return rep, err
		}
		for _, p := range locks {
			r, a, err := opt.LockfileRoots(p)
			if err != nil {
				return rep, fmt.Errorf("gc: reading lockfile %s: %w (fix or delete it, then run gc again; nothing was removed)", p, err)
			}
			roots = append(roots, r...)
			for _, k := range a {
				keepActions[k] = true
			}
		}
		rep.Lockfiles = len(locks)
	}
	seqs, err := s.buildSeqs()
	if err != nil {
		return rep, err
	}
	for i, n := range seqs {
		p := filepath.Join(s.dir, "builds", fmt.Sprintf("%010d", n))
		if i < len(seqs)-opt.KeepBuilds {
			rep.Builds++
			if !opt.DryRun {
				os.Remove(p)
			}
			continue
		}
		r, err := readBuildRecord(p)
		if err != nil {
			return rep, err
		}
		roots = append(roots, r.Roots...)
		for _, a := range r.Actions {
			keepActions[a] = true
		}
	}
	tags, err := s.tagRoots()
	if err != nil {
		return rep, err
	}
	roots = append(roots, tags...)

	live := map[Digest]bool{}
	acs, err := listEntries(filepath.Join(s.dir, nsAction))
	if err != nil {
		return rep, err
	}
	readable := map[Digest]bool{} // kept action entries that parse
	for _, e := range acs {
		if !keepActions[ActionKey(e.d)] {
			continue
		}
		if outs, err := peekEntry(nsAction, e); err == nil {
			readable[e.d] = true
			for _, o := range outs {
				roots = append(roots, o.Digest)
			}
		}
	}
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		s.mark(r, live)
	}

	for _, e := range acs {
		if readable[e.d] {
			rep.KeptActions++
			continue
		}
		rep.Actions++
		if !opt.DryRun {
			os.Remove(e.path)
		}
	}
	memos, err := listEntries(filepath.Join(s.dir, nsMemo))
	if err != nil {
		return rep, err
	}
	for _, e := range memos {
		keep := false
		if !e.d.IsZero() {
			if outs, err := peekEntry(nsMemo, e); err == nil {
				keep = true
				for _, o := range outs {
					keep = keep && live[o.Digest]
				}
			}
		}
		if keep {
			rep.KeptMemos++
			continue
		}
		rep.Memos++
		if !opt.DryRun {
			os.Remove(e.path)
		}
	}
	blobs, strays, err := s.listBlobs()
	if err != nil {
		return rep, err
	}
	for _, b := range blobs {
		if live[b.d] {
			rep.KeptBlobs++
			rep.KeptBytes += b.size
			continue
		}
		rep.Blobs++
		rep.Bytes += b.size
		if !opt.DryRun {
			os.Remove(b.path)
		}
	}
	tmps, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	rep.TempFiles = len(tmps) + len(strays)
	if !opt.DryRun {
		for _, t := range tmps {
			RemoveAll(filepath.Join(s.dir, "tmp", t.Name()))
		}
		for _, p := range strays {
			RemoveAll(p)
		}
		if err := s.pruneStatCaches(live); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// pruneStatCaches drops stat cache entries whose blobs were collected.
func (s *Store) pruneStatCaches(live map[Digest]bool) error {
	dir := filepath.Join(s.dir, "stat")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		c := &StatCache{path: filepath.Join(dir, e.Name()), entries: map[string]statEntry{}}
		data, err := os.ReadFile(c.path)
		if err != nil || c.parse(data) != nil {
			os.Remove(c.path)
			continue
		}
		if err := c.Save(s, func(rel string) bool { return live[c.entries[rel].digest] }); err != nil {
			return err
		}
	}
	return nil
}

// CheckReport is the result of verifying the whole store.
type CheckReport struct {
	Blobs     int
	Bytes     int64
	Actions   int
	Memos     int
	TempFiles int      // leftovers of killed builds: harmless, removed by gc
	Problems  []string // corrupt or unreadable objects: each names the object and what is wrong
	// Missing lists trees and entries that name absent blobs: after gc,
	// a removed corrupt blob or an in-place edit of a hard-linked source.
	// Nothing wrong can be served from them; a build re-runs the steps
	// that need them, and gc drops them once nothing reaches them.
	Missing []string
	// VersionRestored says that a damaged VERSION file was rewritten:
	// repairing, with every object intact.
	VersionRestored bool
}

// Check re-hashes every blob, parses every tree and cache entry and checks
// that everything they name is present. With repair, corrupt objects are
// removed (their producers rebuild them); without it, they are only
// reported.
//
// A damaged VERSION file (a store opened with OpenForCheck) is a problem
// too. Repairing restores it only when every object is intact, which shows
// that the store is of this layout; otherwise nothing is removed or
// rewritten, since objects of an unknown layout are not corrupt ones.
func (s *Store) Check(ctx context.Context, repair bool) (CheckReport, error) {
	rep, err := s.check(ctx, repair && !s.damagedVersion)
	if err != nil || !s.damagedVersion {
		return rep, err
	}
	intact := len(rep.Problems) == 0
	p := fmt.Sprintf("VERSION: damaged: it holds %q, not %q", s.badVersion, strings.TrimSpace(layoutVersion))
	switch {
	case repair && intact:
		if err := writeFileAtomic(filepath.Join(s.dir, "tmp"), filepath.Join(s.dir, "VERSION"), []byte(layoutVersion), 0o644); err != nil {
			return rep, fmt.Errorf("restoring %s: %w", filepath.Join(s.dir, "VERSION"), err)
		}
		s.damagedVersion = false
		rep.VersionRestored = true
		p += "; restored, since every object reads as this layout"
	case repair:
		p += fmt.Sprintf("; not restored and nothing removed: %d object(s) do not read as this layout, so the store may be of another one (move it aside and use another --cache directory)", len(rep.Problems))
	case intact:
		p += "; every object is intact: dsbuild cache check --repair restores it"
	}
	rep.Problems = append(rep.Problems, p)
	return rep, nil
}

func (s *Store) check(ctx context.Context, repair bool) (CheckReport, error) {
	var rep CheckReport
	unlock, err := s.LockShared()
	if err != nil {
		return rep, err
	}
	defer unlock()
	blobs, strays, err := s.listBlobs()
	if err != nil {
		return rep, err
	}
	for _, p := range strays {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not a blob name", p))
	}
	var mu sync.Mutex
	problem := func(format string, args ...any) {
		mu.Lock()
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	missing := func(format string, args ...any) {
		rep.Missing = append(rep.Missing, fmt.Sprintf(format, args...))
	}
	var trees []Digest
	quiet := &Store{dir: s.dir, logf: func(string, ...any) {}}
	parallel(ctx, len(blobs), 0, func(i int) error {
		b := blobs[i]
		data, err := quiet.readBlobNoRemove(b.d, b.path)
		if err != nil {
			problem("blob %s: %v", b.d, err)
			if repair {
				os.Remove(b.path)
			}
			return nil
		}
		if bytes.HasPrefix(data, []byte(treeHeader)) {
			mu.Lock()
			trees = append(trees, b.d)
			mu.Unlock()
		}
		return nil
	}, nil)
	// Workers finish in any order: report in a fixed one.
	sort.Slice(trees, func(i, j int) bool { return trees[i].Hex() < trees[j].Hex() })
	sort.Strings(rep.Problems)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Blobs = len(blobs)
	for _, b := range blobs {
		rep.Bytes += b.size
	}
	for _, t := range trees {
		entries, err := quiet.ReadTree(t)
		if err != nil {
			problem("tree %s: %v", t, err)
			continue
		}
		for _, e := range entries {
			if !quiet.Has(e.Digest) {
				missing("tree %s: entry %q names %s, which is missing", t, e.Name, e.Digest.Short())
			}
		}
	}
	for _, ns := range []string{nsAction, nsMemo} {
		ents, err := listEntries(filepath.Join(s.dir, ns))
		if err != nil {
			return rep, err
		}
		for _, e := range ents {
			if ns == nsAction {
				rep.Actions++
			} else {
				rep.Memos++
			}
			if e.d.IsZero() {
				problem("%s: not an entry name", e.path)
				continue
			}
			data, err := os.ReadFile(e.path)
			if err == nil {
				var outs []Output
				outs, err = decodeAnyEntry(ns, e.d, data)
				for _, o := range outs {
					if !quiet.Has(o.Digest) {
						missing("%s entry %s: output %s names %s, which is missing", ns, e.d.Short(), o.Name, o.Digest.Short())
					}
				}
			}
			if err != nil {
				problem("%s entry %s: %v", ns, e.d.Short(), err)
				if repair {
					os.Remove(e.path)
				}
			}
		}
	}
	tmps, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	rep.TempFiles = len(tmps)
	if repair && len(rep.Problems) > 0 {
		s.dropStatCaches() // they may name removed blobs
	}
	return rep, nil
}

// readBlobNoRemove re-hashes a blob without the read path's removal.
func (s *Store) readBlobNoRemove(d Digest, p string) ([]byte, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	data := raw
	if strings.HasSuffix(p, ".zst") {
		if data, err = zstdDecoder().DecodeAll(raw, nil); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
	}
	if got := Sum(data); got != d {
		return nil, fmt.Errorf("content hashes to %s", got.Short())
	}
	return data, nil
}
