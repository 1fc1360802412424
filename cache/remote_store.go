package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// How a store uses a remote (SetRemote):
//
//   - Lookups: the engine asks the local action cache first, then the
//     remote (RemoteAction). A remote entry names the step's outputs and
//     a closure manifest: one blob listing every blob the outputs reach,
//     with its size. The store downloads the manifest (metadata, a few
//     bytes per file), verifies it, and asks the remote in one batched
//     call whether it holds everything listed; only then is the step
//     cached. No output bytes move.
//   - Lazy reads: a blob missing here that a verified manifest listed is
//     fetched on first read (ReadBlob, TreeFS, CopyBlob), verified
//     against its digest before it enters the store, and kept. Bytes that
//     do not hash to their name are never stored: the blob counts as
//     missing, is never fetched again in this run, and any remote entry
//     whose closure names it is a miss, so the step that made it runs
//     here instead.
//   - Uploads (RemoteOptions.Upload): after a step runs, UploadAction
//     sends the blobs the remote lacks (one batched existence check), the
//     manifest, and the action entry last, so that no reader sees an entry
//     whose blobs are missing. Small blobs go in packs, which the manifest
//     locates and readers read by range (pack.go); the outputs an entry
//     names are always objects of their own.
//   - Failures: every call has a timeout and is retried with backoff; after
//     three calls in a row fail, the remote is given up for the rest of
//     the run (one warning) and the build goes on locally. A remote can
//     make a build slower, never wrong.

// RemoteOptions say how a store uses its remote.
type RemoteOptions struct {
	// Upload sends the results of the steps that run (UploadAction);
	// false leaves the remote read-only, as for CI jobs that only consume.
	Upload bool
	// Workers is the number of concurrent transfers; 0 means 16.
	Workers int
	// Timeout bounds one metadata call (0: 30 s); a transfer gets this
	// plus one second per MiB.
	Timeout time.Duration
	// Warn receives what the user should know: the remote given up, an
	// object that failed verification.
	Warn func(msg string)
	// Progress, if set, is called after each blob moved: up is true for
	// uploads; bytes is the blob's size.
	Progress func(up bool, bytes int64)
}

// RemoteStats counts what a store moved to and from its remote.
type RemoteStats struct {
	Downloads     int64 `json:"downloads"`      // blobs fetched: outputs' files and trees
	DownloadBytes int64 `json:"download_bytes"` // their uncompressed size
	Manifests     int64 `json:"manifests"`      // closure manifests fetched (metadata)
	ManifestBytes int64 `json:"manifest_bytes"`
	Uploads       int64 `json:"uploads"` // blobs sent
	UploadBytes   int64 `json:"upload_bytes"`
	Packs         int64 `json:"packs"`       // packs sent (their blobs count in Uploads)
	RangeReads    int64 `json:"range_reads"` // ranged reads of packs (their blobs count in Downloads)
	Rejected      int64 `json:"rejected"`    // objects that failed verification
	Down          bool  `json:"down"`        // the remote was given up during the run
	// LastError is the last call that failed after its retries ("" when
	// none did): why a result the remote holds could not be used.
	LastError string `json:"last_error,omitempty"`
}

// closureOutput is the name, in a remote action entry, of the closure
// manifest; step outputs never start with a dot.
const closureOutput = ".closure"

// Closure manifests: v1 lists "<digest> <size>" lines; v2 (written since
// packs) may add " <pack digest> <offset>" to a line, for a blob that lives
// inside a pack (pack.go). Both are read.
const (
	closureHeaderV1 = "dsbuild closure v1\n"
	closureHeader   = "dsbuild closure v2\n"
)

type remoteLink struct {
	r   Remote
	opt RemoteOptions

	mu sync.Mutex
	// sizes: blobs known to be on the remote (an existence check or an
	// upload of this link said so), and the manifests and bundle records
	// about to be read; fetch reads nothing else.
	sizes map[Digest]int64
	bad   map[Digest]string // blobs the remote served wrong, with why
	meta  map[Digest]bool   // closure manifests (counted apart)
	// closures are the closure manifests decoded last: a worker looks the
	// same entries up for every shard it runs.
	closures *Decoded[decodedClosure]
	// packed says where blobs live inside packs (from verified manifests
	// and this run's uploads).
	packed map[Digest]packLoc

	downloads, downloadBytes, manifests, manifestBytes atomic.Int64
	uploads, uploadBytes, rejected                     atomic.Int64
	packs, rangeReads                                  atomic.Int64
	failures                                           atomic.Int32 // calls in a row that failed
	down                                               atomic.Bool
	lastErr                                            atomic.Pointer[string]
}

// SetRemote makes r the store's remote (nil: none). Call it before use.
func (s *Store) SetRemote(r Remote, opt RemoteOptions) {
	if r == nil {
		s.remote = nil
		return
	}
	if opt.Workers <= 0 {
		opt.Workers = 16
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	s.remote = &remoteLink{r: r, opt: opt, sizes: map[Digest]int64{}, bad: map[Digest]string{}, meta: map[Digest]bool{}, packed: map[Digest]packLoc{},
		closures: &Decoded[decodedClosure]{MaxWeight: maxKeptClosure}}
}

// HasRemote reports whether the store has a remote it has not given up.
func (s *Store) HasRemote() bool { return s.remote != nil && !s.remote.down.Load() }

// RemoteUploads reports whether results go to the remote.
func (s *Store) RemoteUploads() bool { return s.HasRemote() && s.remote.opt.Upload }

// RemoteName names the remote for messages ("" when there is none).
func (s *Store) RemoteName() string {
	if s.remote == nil {
		return ""
	}
	return s.remote.r.String()
}

// RemoteStats returns what the store moved so far.
func (s *Store) RemoteStats() RemoteStats {
	l := s.remote
	if l == nil {
		return RemoteStats{}
	}
	return RemoteStats{
		Downloads: l.downloads.Load(), DownloadBytes: l.downloadBytes.Load(),
		Manifests: l.manifests.Load(), ManifestBytes: l.manifestBytes.Load(),
		Uploads: l.uploads.Load(), UploadBytes: l.uploadBytes.Load(),
		Packs: l.packs.Load(), RangeReads: l.rangeReads.Load(),
		Rejected: l.rejected.Load(), Down: l.down.Load(),
		LastError: deref(l.lastErr.Load()),
	}
}

var errRemoteDown = errors.New("the remote was given up for this run after repeated failures")

// call runs f with a timeout, retrying transient failures with backoff, and
// trips the breaker after three failed calls in a row. A miss, a
// verification failure and refused credentials are answers, not failures
// of the connection: they are neither retried nor counted.
func (l *remoteLink) call(ctx context.Context, op string, timeout time.Duration, f func(context.Context) error) error {
	if l.down.Load() {
		return errRemoteDown
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(100<<(2*(attempt-1))) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err = f(cctx)
		cancel()
		var wrong *errWrongContent
		var auth *RemoteAuthError
		var local *errLocal
		switch {
		case err == nil, errors.Is(err, ErrRemoteMiss), errors.As(err, &wrong), errors.As(err, &local):
			l.failures.Store(0)
			return err
		case errors.As(err, &auth), ctx.Err() != nil:
			return err
		}
	}
	err = fmt.Errorf("remote %s: %s: %w", l.r, op, err)
	msg := err.Error()
	l.lastErr.Store(&msg)
	if l.failures.Add(1) >= 3 && l.down.CompareAndSwap(false, true) {
		l.warn(msg + "; giving the remote up for the rest of this run and working locally")
	}
	return err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (l *remoteLink) warn(msg string) {
	if l.opt.Warn != nil {
		l.opt.Warn(msg)
	}
}

func (l *remoteLink) transferTimeout(size int64) time.Duration {
	return l.opt.Timeout + time.Duration(size>>20)*time.Second
}

// missing asks the remote which of refs it lacks, in one call (the backend
// batches), given a second per thousand refs beyond the call's timeout.
func (l *remoteLink) missing(ctx context.Context, refs []Ref) (missing []Ref, err error) {
	err = l.call(ctx, "existence check", l.opt.Timeout+time.Duration(len(refs)/1000)*time.Second, func(ctx context.Context) (err error) {
		missing, err = l.r.Missing(ctx, refs)
		return err
	})
	return missing, err
}

// known returns the size of d if this link knows the remote holds it (see
// remoteLink.sizes) and the remote has not served it wrong.
func (l *remoteLink) known(d Digest) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, bad := l.bad[d]; bad {
		return 0, false
	}
	n, ok := l.sizes[d]
	return n, ok
}

func (l *remoteLink) reject(d Digest, why string) {
	l.rejectAll([]Digest{d}, why)
}

// rejectAll marks ds bad for the run, with one warning for those not
// marked before (a pack that is gone or short loses many members at once).
func (l *remoteLink) rejectAll(ds []Digest, why string) {
	var fresh []Digest
	l.mu.Lock()
	for _, d := range ds {
		if _, seen := l.bad[d]; !seen {
			fresh = append(fresh, d)
		}
		l.bad[d] = why
	}
	l.mu.Unlock()
	switch len(fresh) {
	case 0:
	case 1:
		l.rejected.Add(1)
		l.warn(fmt.Sprintf("remote %s: blob %s is corrupt there (%s): not used; whatever made it runs here", l.r, fresh[0].Short(), why))
	default:
		l.rejected.Add(int64(len(fresh)))
		l.warn(fmt.Sprintf("remote %s: %d blobs (%s first) are corrupt there (%s): not used; whatever made them runs here", l.r, len(fresh), fresh[0].Short(), why))
	}
}

// fetch downloads blob d into the store if a verified manifest listed it,
// reporting whether it is now stored. Bytes that do not hash to d are not
// stored (the blob is marked bad for the run).
func (s *Store) fetch(d Digest) bool {
	l := s.remote
	if l == nil {
		return false
	}
	size, ok := l.known(d)
	if !ok {
		return false
	}
	loc, packed := l.packedAt(d)
	if packed && size == 0 {
		packed = false
	}
	err := l.call(context.Background(), "download "+d.Short(), l.transferTimeout(size), func(ctx context.Context) error {
		var rc io.ReadCloser
		var err error
		if packed {
			rc, err = l.readRange(ctx, loc.Pack, loc.Off, size)
		} else {
			rc, err = l.r.Get(ctx, Ref{d, size})
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		_, _, err = s.putReader(io.LimitReader(rc, size+1), size, &d)
		return err
	})
	var wrong *errWrongContent
	switch {
	case err == nil:
		l.mu.Lock()
		meta := l.meta[d]
		l.mu.Unlock()
		if meta {
			l.manifests.Add(1)
			l.manifestBytes.Add(size)
			return true
		}
		if packed {
			l.rangeReads.Add(1)
		}
		l.downloads.Add(1)
		l.downloadBytes.Add(size)
		if l.opt.Progress != nil {
			l.opt.Progress(false, size)
		}
		return true
	case errors.As(err, &wrong):
		why := "content hashes to " + wrong.got.Short()
		if wrong.n != size {
			why = fmt.Sprintf("%d bytes where %d were listed", wrong.n, size)
		}
		if packed {
			why += " in pack " + loc.Pack.Digest.Short()
		}
		l.reject(d, why)
	case errors.Is(err, ErrRemoteMiss):
		if packed {
			l.reject(d, "its pack "+loc.Pack.Digest.Short()+" is gone from the remote")
		} else {
			l.reject(d, "gone from the remote")
		}
	case errors.Is(err, errRemoteDown):
		// said once, when the remote was given up
	default:
		s.logf("cache: %v", err)
	}
	return false
}

// RemoteAction looks key up on the remote. The entry is used only when its
// closure manifest downloads and verifies, lists every output, and the
// remote holds every blob listed that this store lacks (one batched
// check), none of which this run found corrupt; the outputs (sorted by
// name) are returned and their blobs become fetchable on first read.
// Anything else is a *MissError saying why. Only the manifest is
// downloaded.
func (s *Store) RemoteAction(ctx context.Context, key ActionKey) ([]Output, error) {
	outs, _, err := s.remoteAction(ctx, key)
	return outs, err
}

// PullAction is RemoteAction followed by the download of everything the
// outputs reach, after which the step's entry is written to the local
// action cache: the store then holds the result as if it had built it.
func (s *Store) PullAction(ctx context.Context, key ActionKey) ([]Output, error) {
	outs, refs, err := s.remoteAction(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.Fetch(ctx, refs); err != nil {
		return nil, err
	}
	if err := s.PutAction(key, &ActionResult{Outputs: outs}); err != nil {
		return nil, err
	}
	return outs, nil
}

func (s *Store) remoteAction(ctx context.Context, key ActionKey) ([]Output, []Ref, error) {
	outs, refs, err := s.remoteEntry(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	missing, err := s.heldRemotely(ctx, refs)
	if err != nil {
		return nil, nil, &MissError{Key: Digest(key), Reason: err.Error()}
	}
	if len(missing) > 0 {
		return nil, nil, &MissError{Key: Digest(key), Reason: fmt.Sprintf("the remote lacks %d of the %d blobs it names (%s first)", len(missing), len(refs), missing[0].Digest.Short())}
	}
	return outs, refs, nil
}

// heldRemotely asks the remote, in one batched check, about those of refs
// this store lacks, confirms the ones it holds (fetchable on first read,
// not asked about again by Upload), and returns the ones it lacks.
//
// A blob known to live in a pack is not asked about: its pack is, and the
// blob is held when its pack is. A blob this link already confirmed is not
// asked about again, nor looked for here: a long-lived store (a worker's)
// looks the same input up for every shard it runs, and the cost must not
// grow with the input's size times the shards. Should the remote lose it
// meanwhile, reading it fails and marks it bad, and the next lookup of an
// entry that names it misses (remoteEntry).
func (s *Store) heldRemotely(ctx context.Context, refs []Ref) ([]Ref, error) {
	l := s.remote
	var ask []Ref
	asked := map[Digest]bool{}
	members := map[Digest][]Ref{} // by pack
	confirmed := l.confirmed(refs)
	for i, r := range refs {
		if confirmed[i] || asked[r.Digest] || s.Has(r.Digest) {
			continue
		}
		asked[r.Digest] = true
		if loc, ok := l.packedAt(r.Digest); ok {
			members[loc.Pack.Digest] = append(members[loc.Pack.Digest], r)
			r = loc.Pack
			if asked[r.Digest] {
				continue
			}
			asked[r.Digest] = true
		}
		ask = append(ask, r)
	}
	if len(ask) == 0 {
		return nil, nil
	}
	missing, err := l.missing(ctx, ask)
	if err != nil {
		return nil, err
	}
	gone := make(map[Digest]bool, len(missing))
	for _, r := range missing {
		gone[r.Digest] = true
	}
	var listed map[Digest]bool // refs, as a set: only once a pack is gone
	if len(missing) > 0 {
		listed = make(map[Digest]bool, len(refs))
		for _, r := range refs {
			listed[r.Digest] = true
		}
	}
	var held []Ref
	var lacked []Ref
	for _, r := range ask {
		if gone[r.Digest] {
			// A pack the caller did not ask about is not reported
			// itself; its members are.
			if _, isPack := members[r.Digest]; !isPack || listed[r.Digest] {
				lacked = append(lacked, r)
			}
			lacked = append(lacked, members[r.Digest]...)
			continue
		}
		held = append(held, r)
		held = append(held, members[r.Digest]...)
	}
	l.confirm(held)
	return lacked, nil
}

// confirmed reports, for each of refs, whether this link already knows the
// remote holds it (see remoteLink.sizes) and has not found it, or the pack
// it lives in, bad.
func (l *remoteLink) confirmed(refs []Ref) []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]bool, len(refs))
	for i, r := range refs {
		if _, ok := l.sizes[r.Digest]; !ok {
			continue
		}
		if _, bad := l.bad[r.Digest]; bad {
			continue
		}
		if loc, ok := l.packed[r.Digest]; ok {
			if _, bad := l.bad[loc.Pack.Digest]; bad {
				continue
			}
		}
		out[i] = true
	}
	return out
}

// confirm records refs as held by the remote (an existence check or an
// upload of this run said so): fetchable on first read, and not asked
// about again by Upload.
func (l *remoteLink) confirm(refs []Ref) {
	l.mu.Lock()
	for _, r := range refs {
		l.sizes[r.Digest] = r.Size
	}
	l.mu.Unlock()
}

// remoteEntry reads the remote entry under key and its closure manifest
// (downloaded and verified), checking that the manifest lists every
// output and nothing this run found corrupt. It does not ask whether the
// remote holds the blobs listed: remoteAction does, and ImportMemos asks
// for several entries at once.
func (s *Store) remoteEntry(ctx context.Context, key ActionKey) ([]Output, []Ref, error) {
	l := s.remote
	miss := func(why string) error { return &MissError{Key: Digest(key), Reason: why} }
	if l == nil || l.down.Load() {
		return nil, nil, miss("")
	}
	var entry []RemoteOutput
	err := l.call(ctx, "action lookup", l.opt.Timeout, func(ctx context.Context) (err error) {
		entry, err = l.r.GetAction(ctx, key)
		return err
	})
	if errors.Is(err, ErrRemoteMiss) {
		return nil, nil, miss("")
	}
	if err != nil {
		return nil, nil, miss(err.Error())
	}
	var outs []Output
	var manifest Ref
	for _, o := range entry {
		if o.Name == closureOutput {
			manifest = o.Ref
			continue
		}
		outs = append(outs, Output{Name: o.Name, Digest: o.Ref.Digest})
	}
	if manifest.Digest.IsZero() {
		return nil, nil, miss("the remote entry has no closure manifest")
	}
	sort.Slice(outs, func(i, j int) bool { return outs[i].Name < outs[j].Name })
	l.mu.Lock()
	if _, bad := l.bad[manifest.Digest]; !bad {
		l.sizes[manifest.Digest] = manifest.Size
		l.meta[manifest.Digest] = true
	}
	l.mu.Unlock()
	refs, locs, err := s.readClosure(manifest.Digest)
	if err != nil {
		return nil, nil, miss(err.Error())
	}
	unlisted := make(map[Digest]bool, len(outs))
	for _, o := range outs {
		unlisted[o.Digest] = true
	}
	l.mu.Lock()
	for _, r := range refs {
		delete(unlisted, r.Digest)
		if why, bad := l.bad[r.Digest]; bad {
			l.mu.Unlock()
			return nil, nil, miss("blob " + r.Digest.Short() + " on the remote is unusable (" + why + ")")
		}
	}
	l.mu.Unlock()
	for _, o := range outs {
		if unlisted[o.Digest] {
			return nil, nil, miss("its closure manifest does not list output " + o.Name)
		}
	}
	l.locate(locs)
	return outs, refs, nil
}

// decodedClosure is a closure manifest, decoded; its refs and locs are
// shared and never changed.
type decodedClosure struct {
	refs []Ref
	locs map[Digest]packLoc
}

// maxKeptClosure is the most blobs the kept decoded manifests list in all
// (about 120 bytes each, with their pack locations).
const maxKeptClosure = 2 << 20

// readClosure reads and decodes the closure manifest d, or takes it from
// the ones this link decoded last.
func (s *Store) readClosure(d Digest) ([]Ref, map[Digest]packLoc, error) {
	l := s.remote
	if c, ok := l.closures.Get(d); ok {
		return c.refs, c.locs, nil
	}
	raw, err := s.ReadBlob(d)
	if err != nil {
		return nil, nil, fmt.Errorf("its closure manifest could not be read: %w", err)
	}
	refs, locs, err := decodeClosure(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("its closure manifest is malformed: %w", err)
	}
	l.closures.Put(d, decodedClosure{refs, locs}, len(refs))
	return refs, locs, nil
}

// closure lists every blob that outs reach (trees and files, with their
// sizes), each once, in the order a walk of the outputs meets them (trees
// by name: what a dataset's readers read together sits together in packs);
// every tree must be stored here. An output that is not a tree (a tag's
// release record) reaches only itself.
func (s *Store) closure(outs []Output) ([]Ref, error) {
	seen := map[Digest]bool{}
	var refs []Ref
	add := func(d Digest, n int64) {
		if !seen[d] {
			seen[d] = true
			refs = append(refs, Ref{d, n})
		}
	}
	var walk func(d Digest) error
	walk = func(d Digest) error {
		if seen[d] {
			return nil
		}
		b, err := s.ReadBlob(d)
		if err != nil {
			return err
		}
		add(d, int64(len(b)))
		if !bytes.HasPrefix(b, []byte(treeHeader)) {
			return nil // a root that is a plain blob (a tag's release record)
		}
		entries, err := DecodeTree(b)
		if err != nil {
			return fmt.Errorf("tree %s: %w", d.Short(), err)
		}
		for _, e := range entries {
			if e.Kind == Dir {
				if err := walk(e.Digest); err != nil {
					return err
				}
			} else {
				add(e.Digest, e.Size)
			}
		}
		return nil
	}
	for _, o := range outs {
		if err := walk(o.Digest); err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
	}
	return refs, nil
}

// encodeClosure writes a v2 manifest of refs, sorted by digest; a blob
// with a place in locs gets it on its line, and every pack named must be
// among refs.
func encodeClosure(refs []Ref, locs map[Digest]packLoc) []byte {
	refs = slices.Clone(refs)
	sort.Slice(refs, func(i, j int) bool { return bytes.Compare(refs[i].Digest[:], refs[j].Digest[:]) < 0 })
	var b bytes.Buffer
	b.Grow(len(closureHeader) + 80*len(refs))
	b.WriteString(closureHeader)
	for _, r := range refs {
		b.WriteString(r.Digest.Hex())
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(r.Size, 10))
		if loc, ok := locs[r.Digest]; ok {
			b.WriteByte(' ')
			b.WriteString(loc.Pack.Digest.Hex())
			b.WriteByte(' ')
			b.WriteString(strconv.FormatInt(loc.Off, 10))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// decodeClosure reads a v1 or v2 manifest: every blob listed, and where
// those that live in packs are. A packed blob's pack must be listed as a
// blob of its own (not packed itself), and the blob must lie within the
// pack after its header.
func decodeClosure(b []byte) ([]Ref, map[Digest]packLoc, error) {
	rest, ok := bytes.CutPrefix(b, []byte(closureHeader))
	v2 := ok
	if !ok {
		if rest, ok = bytes.CutPrefix(b, []byte(closureHeaderV1)); !ok {
			return nil, nil, errors.New("wrong header")
		}
	}
	var refs []Ref
	type packRef struct {
		pack Digest
		off  int64
		line int
	}
	packedIn := map[Digest]packRef{}
	for len(rest) > 0 {
		line := len(refs) + 2
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, nil, errors.New("truncated")
		}
		fields := bytes.Split(rest[:i], []byte(" "))
		if len(fields) != 2 && (!v2 || len(fields) != 4) {
			if v2 {
				return nil, nil, fmt.Errorf("line %d: want <digest> <size> [<pack digest> <offset>]", line)
			}
			return nil, nil, fmt.Errorf("line %d: want <digest> <size>", line)
		}
		d, err := ParseDigest(string(fields[0]))
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		n, err := strconv.ParseInt(string(fields[1]), 10, 64)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("line %d: bad size %q", line, fields[1])
		}
		if len(fields) == 4 {
			pd, err := ParseDigest(string(fields[2]))
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: pack: %w", line, err)
			}
			off, err := strconv.ParseInt(string(fields[3]), 10, 64)
			if err != nil || off < int64(len(packHeader)) {
				return nil, nil, fmt.Errorf("line %d: bad pack offset %q", line, fields[3])
			}
			packedIn[d] = packRef{pd, off, line}
		}
		refs = append(refs, Ref{d, n})
		rest = rest[i+1:]
	}
	if len(packedIn) == 0 {
		return refs, nil, nil
	}
	sizes := make(map[Digest]int64, len(refs))
	for _, r := range refs {
		sizes[r.Digest] = r.Size
	}
	locs := make(map[Digest]packLoc, len(packedIn))
	for _, r := range refs { // in the manifest's order: the first bad line is reported
		d := r.Digest
		p, ok := packedIn[d]
		if !ok {
			continue
		}
		psize, listed := sizes[p.pack]
		if _, inPack := packedIn[p.pack]; !listed || inPack {
			return nil, nil, fmt.Errorf("line %d: pack %s is not listed as a blob of its own", p.line, p.pack.Short())
		}
		if p.off+sizes[d] > psize {
			return nil, nil, fmt.Errorf("line %d: %d bytes at offset %d do not fit in pack %s of %d bytes", p.line, sizes[d], p.off, p.pack.Short(), psize)
		}
		locs[d] = packLoc{Pack: Ref{p.pack, psize}, Off: p.off}
	}
	return refs, locs, nil
}

// UploadAction sends a step's result to the remote: the blobs its outputs
// reach that the remote lacks, the closure manifest, and then the action
// entry. Every blob is read (and verified) from this store; a blob that
// is missing or corrupt here fails the upload before the entry is
// written.
func (s *Store) UploadAction(ctx context.Context, key ActionKey, outs []Output) error {
	return s.uploadAction(ctx, key, outs, true)
}

// uploadAction is UploadAction; check false sends every blob without
// asking the remote first (for blobs that are new: see upload).
func (s *Store) uploadAction(ctx context.Context, key ActionKey, outs []Output, check bool) error {
	l := s.remote
	if l == nil || l.down.Load() {
		return errRemoteDown
	}
	refs, err := s.closure(outs)
	if err != nil {
		return err
	}
	// The outputs themselves are objects of their own, whatever their
	// size: the entry names them, and a REAPI server checks that the blobs
	// an action result names exist (bazel-remote answers NOT_FOUND for
	// the entry otherwise).
	isRoot := map[Digest]bool{}
	for _, o := range outs {
		isRoot[o.Digest] = true
	}
	if err := s.upload(ctx, refs, uploadOpts{check: check, pack: true, alone: isRoot}); err != nil {
		return err
	}
	// The manifest goes last among the blobs, naming the packs the blobs
	// live in (those sent just now, and those a manifest read this run
	// named).
	locs := map[Digest]packLoc{}
	listed := make(map[Digest]int64, len(refs))
	for _, r := range refs {
		listed[r.Digest] = r.Size
	}
	all := refs
	l.mu.Lock()
	for _, r := range refs {
		if isRoot[r.Digest] {
			continue
		}
		// A blob found corrupt in its pack was sent again on its own
		// (upload's repair): listed as such.
		loc, ok := l.packed[r.Digest]
		_, packBad := l.bad[loc.Pack.Digest]
		_, bad := l.bad[r.Digest]
		if !ok || packBad || bad {
			continue
		}
		if _, isRef := listed[loc.Pack.Digest]; !isRef {
			listed[loc.Pack.Digest] = loc.Pack.Size
			all = append(all, loc.Pack)
		}
		locs[r.Digest] = loc
	}
	l.mu.Unlock()
	manifest := encodeClosure(all, locs)
	md, err := s.PutBytes(manifest)
	if err != nil {
		return err
	}
	mref := Ref{md, int64(len(manifest))}
	// A new manifest, most likely: sent without asking.
	if err := s.upload(ctx, []Ref{mref}, uploadOpts{}); err != nil {
		return err
	}
	entry := make([]RemoteOutput, 0, len(outs)+1)
	entry = append(entry, RemoteOutput{Name: closureOutput, Ref: mref})
	for _, o := range outs {
		entry = append(entry, RemoteOutput{Name: o.Name, Ref: Ref{o.Digest, listed[o.Digest]}})
	}
	sort.Slice(entry, func(i, j int) bool { return entry[i].Name < entry[j].Name })
	return l.call(ctx, "writing the action entry", l.opt.Timeout, func(ctx context.Context) error {
		return l.r.PutAction(ctx, key, entry)
	})
}

// Replacer is what a Remote implements when it can overwrite an object
// unconditionally (S3): Upload uses it to repair a blob that this run
// found corrupt there, which a create-only Put would leave in place.
type Replacer interface {
	Replace(ctx context.Context, ref Ref, r io.Reader) error
}

// Upload sends those of refs the remote lacks (one batched existence
// check, which skips the blobs this run already knows the remote holds:
// checked or uploaded before), reading each from this store,
// RemoteOptions.Workers at a time.
// A ref whose object this run found corrupt, truncated or gone on the
// remote is sent again whatever the existence check says, replacing the
// object (Replacer), so the next machine finds it whole.
func (s *Store) Upload(ctx context.Context, refs []Ref) error {
	return s.upload(ctx, refs, uploadOpts{check: true})
}

// uploadOpts say how upload sends refs.
type uploadOpts struct {
	// check asks the remote which refs it lacks first. Without it, every
	// ref this run has not confirmed on the remote is sent: for blobs the
	// caller has just made, which the remote almost surely lacks. Puts
	// are create-only, so one the remote has after all costs a refused
	// request, as its check would have; a listing-based check over a full
	// bucket costs far more.
	check bool
	// pack sends the small blobs in packs (pack.go), in the order of refs;
	// the caller then writes a manifest that says where.
	pack bool
	// alone are refs that must be objects of their own: never packed, and
	// one this run knows inside a pack counts as not confirmed.
	alone map[Digest]bool
}

// upload is Upload, as opt says.
func (s *Store) upload(ctx context.Context, refs []Ref, opt uploadOpts) error {
	check, pack := opt.check, opt.pack
	l := s.remote
	if l == nil || l.down.Load() {
		return errRemoteDown
	}
	var ask []Ref
	repair := map[Digest]bool{}
	l.mu.Lock()
	for _, r := range refs {
		if _, bad := l.bad[r.Digest]; bad {
			repair[r.Digest] = true
		} else if n, ok := l.sizes[r.Digest]; !ok || n != r.Size || (opt.alone[r.Digest] && l.packed[r.Digest] != (packLoc{})) {
			// Not confirmed on the remote by this run (or only inside a
			// pack, for one that must stand alone): ask.
			ask = append(ask, r)
		}
	}
	l.mu.Unlock()
	var missing []Ref
	switch {
	case !check:
		missing = ask
	case len(ask) > 0:
		var err error
		if missing, err = l.missing(ctx, ask); err != nil {
			return err
		}
	}
	for _, r := range refs {
		if repair[r.Digest] {
			missing = append(missing, r)
		}
	}
	var packs [][]Ref
	if pack {
		var small, loose []Ref
		for _, r := range missing {
			if repair[r.Digest] || opt.alone[r.Digest] || r.Size == 0 || r.Size > packMaxMember {
				loose = append(loose, r)
			} else {
				small = append(small, r)
			}
		}
		if len(small) >= packMin {
			packs, missing = packGroups(small), loose
		}
	}
	return parallel(ctx, len(packs)+len(missing), l.opt.Workers, func(i int) error {
		if i < len(packs) {
			return s.uploadPack(ctx, packs[i])
		}
		r := missing[i-len(packs)]
		err := l.call(ctx, "upload "+r.Digest.Short(), l.transferTimeout(r.Size), func(ctx context.Context) error {
			rc, err := s.openVerified(r.Digest)
			if err != nil {
				return &errLocal{err}
			}
			defer rc.Close()
			if rp, ok := l.r.(Replacer); ok && repair[r.Digest] {
				return rp.Replace(ctx, r, rc)
			}
			return l.r.Put(ctx, r, rc)
		})
		var local *errLocal
		if errors.As(err, &local) {
			return local.err
		}
		if err != nil {
			return err
		}
		l.confirm([]Ref{r})
		l.uploads.Add(1)
		l.uploadBytes.Add(r.Size)
		if l.opt.Progress != nil {
			l.opt.Progress(true, r.Size)
		}
		return nil
	}, nil)
}

// errLocal marks a failure of the local store during an upload: not the
// remote's fault, so call returns it at once.
type errLocal struct{ err error }

func (e *errLocal) Error() string { return e.err.Error() }

// Fetch downloads those of refs not stored here, RemoteOptions.Workers at
// a time, verifying each; refs must come from a verified manifest
// (RemoteAction). It fails naming the first blob it could not get.
func (s *Store) Fetch(ctx context.Context, refs []Ref) error {
	if s.remote == nil {
		return errors.New("no remote")
	}
	var need []Ref
	for _, r := range refs {
		if !s.Has(r.Digest) {
			need = append(need, r)
		}
	}
	ds := make([]Digest, len(need))
	for i, r := range need {
		ds[i] = r.Digest
	}
	s.fetchMany(ctx, ds) // each call retried already
	for _, r := range need {
		if !s.Has(r.Digest) {
			return &NotFoundError{r.Digest}
		}
	}
	return ctx.Err()
}

// TagKey is the key of the remote entry that carries tag name: the hash of
// "dsbuild tag v1\n" and the name, which no step key equals (step keys
// hash a different header).
func TagKey(name string) ActionKey {
	return ActionKey(sha256.Sum256([]byte("dsbuild tag v1\n" + name)))
}

// tagOutputs names a tag's roots as entry outputs that sort in their order.
func tagOutputs(roots []Digest) []Output {
	outs := make([]Output, len(roots))
	for i, d := range roots {
		outs[i] = Output{Name: fmt.Sprintf("root%04d", i), Digest: d}
	}
	return outs
}

// UploadTag sends tag name to the remote like a step's result: every blob
// its roots reach, the closure manifest, then the entry under
// TagKey(name), which replaces the remote's tag of that name.
func (s *Store) UploadTag(ctx context.Context, name string) error {
	roots, err := s.Tag(name)
	if err != nil {
		return err
	}
	return s.UploadAction(ctx, TagKey(name), tagOutputs(roots))
}

// RemoteTag returns the roots of the remote's tag name, in order, once its
// closure is confirmed there (as RemoteAction); a *MissError when the
// remote has no usable tag of that name.
func (s *Store) RemoteTag(ctx context.Context, name string) ([]Digest, error) {
	outs, _, err := s.remoteAction(ctx, TagKey(name))
	if err != nil {
		return nil, err
	}
	return tagRoots(TagKey(name), outs)
}

// PullTag downloads everything the remote's tag name reaches, verifying
// every blob, and then sets the tag here to the remote's roots.
func (s *Store) PullTag(ctx context.Context, name string) ([]Digest, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	outs, refs, err := s.remoteAction(ctx, TagKey(name))
	if err != nil {
		return nil, err
	}
	if err := s.Fetch(ctx, refs); err != nil {
		return nil, err
	}
	roots, err := tagRoots(TagKey(name), outs)
	if err != nil {
		return nil, err
	}
	if err := s.SetTag(name, roots); err != nil {
		return nil, err
	}
	return roots, nil
}

// tagRoots reads a tag entry's outputs (sorted by name) back into roots;
// an entry that tagOutputs did not write is a miss.
func tagRoots(key ActionKey, outs []Output) ([]Digest, error) {
	roots := make([]Digest, len(outs))
	for i, o := range outs {
		if want := fmt.Sprintf("root%04d", i); o.Name != want {
			return nil, &MissError{Key: Digest(key), Reason: fmt.Sprintf("the remote's tag entry names output %q where %q belongs", o.Name, want)}
		}
		roots[i] = o.Digest
	}
	if len(roots) == 0 {
		return nil, &MissError{Key: Digest(key), Reason: "the remote's tag entry names no roots"}
	}
	return roots, nil
}
