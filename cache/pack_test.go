package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"dsbuild/cache"
	"dsbuild/remote/remotetest"
)

// packFixture is a store A that made a dataset of n small files (1,000
// bytes each, named in order) plus one large one, and uploaded it under a
// step key: the small files travel in packs.
type packFixture struct {
	mem      *remotetest.MemRemote
	a        *cache.Store
	key      cache.ActionKey
	root     cache.Digest
	files    []cache.Digest
	data     map[cache.Digest][]byte
	big      cache.Digest
	warnings *[]string
	mu       *sync.Mutex
}

func newPackFixture(t *testing.T, n int) *packFixture {
	t.Helper()
	f := &packFixture{mem: remotetest.Memory(), data: map[cache.Digest][]byte{}, mu: &sync.Mutex{}, warnings: new([]string)}
	f.a = f.store(t, true)
	var ents []cache.TreeEntry
	for i := range n {
		b := []byte(fmt.Sprintf("%04d", i) + strings.Repeat("x", 996))
		d, err := f.a.PutBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		f.files = append(f.files, d)
		f.data[d] = b
		ents = append(ents, cache.TreeEntry{Name: fmt.Sprintf("%04d.bin", i), Kind: cache.File, Digest: d, Size: int64(len(b))})
	}
	big := bytes.Repeat([]byte("a large image "), 40000) // over the pack member limit
	bd, err := f.a.PutBytes(big)
	if err != nil {
		t.Fatal(err)
	}
	f.big, f.data[bd] = bd, big
	ents = append(ents, cache.TreeEntry{Name: "zz-big.bin", Kind: cache.File, Digest: bd, Size: int64(len(big))})
	if f.root, err = f.a.PutTree(ents); err != nil {
		t.Fatal(err)
	}
	f.key = cache.ActionKey(cache.Sum([]byte("a step with many small outputs")))
	if err := f.a.UploadAction(context.Background(), f.key, []cache.Output{{Name: "dataset", Digest: f.root}}); err != nil {
		t.Fatal(err)
	}
	return f
}

// store opens an empty store on the fixture's remote.
func (f *packFixture) store(t *testing.T, upload bool) *cache.Store {
	t.Helper()
	return storeOn(t, f.mem, cache.RemoteOptions{Upload: upload, Warn: func(m string) {
		f.mu.Lock()
		*f.warnings = append(*f.warnings, m)
		f.mu.Unlock()
	}})
}

// took opens an empty read-only store that took the fixture's entry
// (RemoteAction): its blobs known on the remote, none downloaded.
func (f *packFixture) took(t *testing.T) *cache.Store {
	t.Helper()
	s := f.store(t, false)
	if _, err := s.RemoteAction(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	return s
}

// packs returns the packs the remote holds.
func (f *packFixture) packs(t *testing.T) []cache.Ref {
	t.Helper()
	var packs []cache.Ref
	for _, r := range f.mem.Refs() {
		rc, err := f.mem.Get(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 16)
		n, _ := io.ReadFull(rc, head)
		rc.Close()
		if string(head[:n]) == "dsbuild pack v1\n" {
			packs = append(packs, r)
		}
	}
	return packs
}

func (f *packFixture) checkRead(t *testing.T, s *cache.Store, d cache.Digest) {
	t.Helper()
	got, err := s.ReadBlob(d)
	if err != nil {
		t.Fatalf("reading %s: %v", d.Short(), err)
	}
	if !bytes.Equal(got, f.data[d]) {
		t.Fatalf("blob %s: wrong bytes", d.Short())
	}
}

// A store that looks the same entry up again (a worker, once per shard)
// asks the remote for the entry only: the blobs it confirmed the first
// time are not asked about, nor looked for locally, again. A blob found
// bad meanwhile is asked about (and the lookup misses when it is gone).
func TestRemoteActionAgainAsksOnlyTheEntry(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 60)
	s := f.took(t)
	before := f.mem.Stats()
	outs, err := s.RemoteAction(ctx, f.key)
	if err != nil || len(outs) != 1 || outs[0].Digest != f.root {
		t.Fatalf("second lookup: %v, %v", outs, err)
	}
	after := f.mem.Stats()
	if after.MissingCalls != before.MissingCalls || after.Gets != before.Gets || after.ActionGets != before.ActionGets+1 {
		t.Errorf("second lookup: %d existence checks, %d gets, %d entry gets; want 0, 0, 1",
			after.MissingCalls-before.MissingCalls, after.Gets-before.Gets, after.ActionGets-before.ActionGets)
	}

	// The large file goes from the remote, and reading it marks it bad:
	// the next lookup misses, naming it.
	if !f.mem.Delete(f.big) {
		t.Fatal("the remote did not hold the large file")
	}
	if _, err := s.ReadBlob(f.big); err == nil {
		t.Fatal("read a blob the remote no longer holds")
	}
	if _, err := s.RemoteAction(ctx, f.key); err == nil || !strings.Contains(err.Error(), f.big.Short()) {
		t.Fatalf("lookup after the loss: %v, want a miss naming %s", err, f.big.Short())
	}
}

// Small blobs travel in packs: a few objects on the remote instead of one
// per blob, one existence check that asks about the packs, and a member
// read lazily is the right bytes, verified.
func TestPackUploadAndLazyRead(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 60)
	if st := f.a.RemoteStats(); st.Packs != 1 || st.Uploads != 63 {
		t.Errorf("upload stats %+v: want 1 pack and 63 blobs (60 files in the pack; the tree, the large file and the manifest alone)", st)
	}
	// The pack, the tree (an output: always an object of its own), the
	// large file and the manifest.
	if got := len(f.mem.Refs()); got != 4 {
		t.Errorf("the remote holds %d objects, want 4", got)
	}
	if len(f.packs(t)) != 1 {
		t.Fatalf("want one pack on the remote")
	}

	b := f.store(t, false)
	before := f.mem.Stats()
	outs, err := b.RemoteAction(ctx, f.key)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Digest != f.root {
		t.Fatalf("outputs %v", outs)
	}
	if n := f.mem.Stats().MissingCalls - before.MissingCalls; n != 1 {
		t.Errorf("%d existence checks, want 1", n)
	}
	for _, d := range []cache.Digest{f.files[0], f.files[37], f.files[59], f.big} {
		f.checkRead(t, b, d)
	}
	if st := b.RemoteStats(); st.RangeReads != 3 || st.Downloads != 4 {
		t.Errorf("download stats %+v: want 4 blobs, the three members by ranged reads", st)
	}
}

// Fetching a pack's members side by side takes one ranged read; every
// fifth member (most of the bytes between them not wanted) takes one read
// each rather than reading the whole pack.
func TestPackFetchCoalesces(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 60)

	all := f.took(t)
	before := f.mem.Stats()
	all.FetchBlobs(ctx, f.files)
	if n := f.mem.Stats().Gets - before.Gets; n != 1 {
		t.Errorf("fetching 60 members side by side took %d reads, want 1", n)
	}
	for _, d := range f.files {
		if !all.Has(d) {
			t.Fatalf("member %s not fetched", d.Short())
		}
	}

	some := f.took(t)
	var fifth []cache.Digest
	for i := 0; i < len(f.files); i += 5 {
		fifth = append(fifth, f.files[i])
	}
	before = f.mem.Stats()
	some.FetchBlobs(ctx, fifth)
	st := f.mem.Stats()
	if n := st.Gets - before.Gets; n != int64(len(fifth)) {
		t.Errorf("fetching every fifth member took %d reads, want %d", n, len(fifth))
	}
	if read := st.GetBytes - before.GetBytes; read != int64(1000*len(fifth)) {
		t.Errorf("fetching every fifth member read %d bytes, want %d", read, 1000*len(fifth))
	}
	for _, d := range fifth {
		f.checkRead(t, some, d)
	}

	// Prefetch (a step about to read its whole input) reads the pack's
	// members in one request too.
	pre := f.took(t)
	before = f.mem.Stats()
	if err := pre.Prefetch(ctx, []cache.Digest{f.root}); err != nil {
		t.Fatal(err)
	}
	// The tree (one read), then its 60 members (one) and the large file.
	if n := f.mem.Stats().Gets - before.Gets; n != 3 {
		t.Errorf("prefetching the dataset took %d reads, want 3", n)
	}
}

// A machine that took an entry whose blobs are packed, and makes a result
// that names them (the full run of a sharded step), uploads only what is
// new: its manifest names the packs the old blobs live in, and a third
// machine reads them from there.
func TestPackLocationsCarryOver(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 40)
	b := f.store(t, true)
	if _, err := b.RemoteAction(ctx, f.key); err != nil {
		t.Fatal(err)
	}
	var ents []cache.TreeEntry
	for i, d := range f.files[:10] {
		ents = append(ents, cache.TreeEntry{Name: fmt.Sprintf("kept-%02d", i), Kind: cache.File, Digest: d, Size: 1000})
	}
	sub, err := b.PutTree(ents)
	if err != nil {
		t.Fatal(err)
	}
	key := cache.ActionKey(cache.Sum([]byte("a step below")))
	before := f.mem.Stats()
	if err := b.UploadAction(ctx, key, []cache.Output{{Name: "subset", Digest: sub}}); err != nil {
		t.Fatal(err)
	}
	st := f.mem.Stats()
	if n := st.Puts - before.Puts; n != 2 {
		t.Errorf("%d puts, want 2 (the new tree and the manifest)", n)
	}
	if n := st.Gets - before.Gets; n != 0 {
		t.Errorf("%d gets: the old blobs were downloaded to be uploaded again", n)
	}
	c := f.store(t, false)
	outs, err := c.RemoteAction(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Digest != sub {
		t.Fatalf("outputs %v", outs)
	}
	for _, d := range f.files[:10] {
		f.checkRead(t, c, d)
	}
}

// A member whose bytes in the pack are wrong is never stored: that blob
// is rejected (with a warning naming the pack), the others of the pack are
// fine. A pack that is gone makes every entry that names it a miss.
func TestPackCorruptAndLost(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 30)
	packs := f.packs(t)
	if len(packs) != 1 {
		t.Fatalf("%d packs, want 1", len(packs))
	}
	// Corrupt flips a byte in the middle of the pack: inside member 14 or
	// 15 (the tree comes after the 30 members).
	if !f.mem.Corrupt(packs[0].Digest) {
		t.Fatal("pack not held")
	}
	b := f.took(t)
	err := b.Fetch(ctx, []cache.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	var refs []cache.Ref
	for _, d := range f.files {
		refs = append(refs, cache.Ref{Digest: d, Size: 1000})
	}
	err = b.Fetch(ctx, refs)
	var nf *cache.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("fetching a pack with a corrupt member: %v, want a NotFoundError", err)
	}
	bad := 0
	for _, d := range f.files {
		if !b.Has(d) {
			bad++
			if nf.Digest != d {
				t.Errorf("the error names %s, not the corrupt member %s", nf.Digest.Short(), d.Short())
			}
		}
	}
	if bad != 1 {
		t.Errorf("%d members not stored, want exactly the corrupt one", bad)
	}
	if st := b.RemoteStats(); st.Rejected != 1 {
		t.Errorf("%d rejected, want 1", st.Rejected)
	}
	if w := strings.Join(*f.warnings, "\n"); !strings.Contains(w, "in pack "+packs[0].Digest.Short()) {
		t.Errorf("no warning names the pack:\n%s", w)
	}

	if !f.mem.Delete(packs[0].Digest) {
		t.Fatal("pack not held")
	}
	c := f.store(t, false)
	_, err = c.RemoteAction(ctx, f.key)
	if !cache.IsMiss(err) || !strings.Contains(err.Error(), "the remote lacks") {
		t.Errorf("an entry whose pack is gone: %v, want a miss saying the remote lacks blobs", err)
	}
}

// rangeless hides MemRemote's GetRange: a backend that can only read whole
// blobs.
type rangeless struct{ cache.Remote }

// Without ranged reads, a member is read by streaming its pack from the
// start; the bytes are the same.
func TestPackWithoutRangeReads(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 20)
	b := storeOn(t, rangeless{f.mem}, cache.RemoteOptions{})
	if _, err := b.RemoteAction(ctx, f.key); err != nil {
		t.Fatal(err)
	}
	f.checkRead(t, b, f.files[13])
	b.FetchBlobs(ctx, f.files)
	for _, d := range f.files {
		f.checkRead(t, b, d)
	}
}

// Items whose results sit in a pack that is gone run again; the bundles
// whose packs are whole are taken.
func TestPackedMemoBundlesPartlyLost(t *testing.T) {
	ctx := context.Background()
	f := &packFixture{mem: remotetest.Memory(), data: map[cache.Digest][]byte{}, mu: &sync.Mutex{}, warnings: new([]string)}
	a := f.store(t, true)
	var keys [2][]cache.MemoKey
	for shard := range 2 {
		for i := range 10 {
			name := fmt.Sprintf("item %d of shard %d", i, shard)
			d, err := a.PutBytes([]byte("the result of " + name))
			if err != nil {
				t.Fatal(err)
			}
			k := cache.MemoKey(cache.Sum([]byte(name)))
			if err := a.PutMemoRecord(k, []byte(`{"item":"`+name+`"}`), []cache.Digest{d}); err != nil {
				t.Fatal(err)
			}
			keys[shard] = append(keys[shard], k)
		}
	}
	b0 := cache.ActionKey(cache.Sum([]byte("bundle 0")))
	b1 := cache.ActionKey(cache.Sum([]byte("bundle 1")))
	if err := a.UploadMemos(ctx, b0, keys[0]); err != nil {
		t.Fatal(err)
	}
	packs0 := f.packs(t)
	if err := a.UploadMemos(ctx, b1, keys[1]); err != nil {
		t.Fatal(err)
	}
	if len(packs0) != 1 || len(f.packs(t)) != 2 {
		t.Fatalf("want one pack per bundle, got %d then %d", len(packs0), len(f.packs(t)))
	}
	// Bundle 0's pack holds its items' results (its records blob, an
	// output of the bundle's entry, is an object of its own).
	f.mem.Delete(packs0[0].Digest)
	b := f.store(t, false)
	got, err := b.ImportMemos(ctx, []cache.ActionKey{b0, b1})
	if err != nil {
		t.Fatal(err)
	}
	if want := (cache.MemoImport{Records: 10, Skipped: 10}); got != want {
		t.Errorf("ImportMemos = %+v, want %+v", got, want)
	}
	for i, k := range keys[1] {
		if _, err := b.GetMemoRecord(k); err != nil {
			t.Errorf("bundle 1, record %d: %v", i, err)
		}
	}
	for i, k := range keys[0] {
		if _, err := b.GetMemoRecord(k); !cache.IsMiss(err) {
			t.Errorf("bundle 0, record %d, whose pack is gone: %v", i, err)
		}
	}
}

// A pack that is shorter than its manifest says (a truncated object that
// the existence check still counts) gives the members it holds whole; the
// ones past its end are rejected, never stored.
func TestPackTruncated(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 30)
	packs := f.packs(t)
	if len(packs) != 1 || !f.mem.Truncate(packs[0].Digest) {
		t.Fatalf("want one pack to truncate, have %d", len(packs))
	}
	b := f.took(t)
	b.FetchBlobs(ctx, f.files)
	// Half the pack is 15,008 bytes: its 16-byte header, members 0 to 13
	// whole, member 14 cut.
	for i, d := range f.files {
		if got, want := b.Has(d), i < 14; got != want {
			t.Errorf("member %d stored: %v, want %v", i, got, want)
		}
	}
	if st := b.RemoteStats(); st.Rejected != 16 || st.Downloads != 14 {
		t.Errorf("stats %+v: want 14 downloads and 16 rejected", st)
	}
	// One warning for the 16.
	if len(*f.warnings) != 1 || !strings.Contains((*f.warnings)[0], "16 blobs") || !strings.Contains((*f.warnings)[0], "ends before them") {
		t.Errorf("want one warning saying the pack ends before 16 blobs, got:\n%s", strings.Join(*f.warnings, "\n"))
	}
}

// A pack that disappears after the existence check (a cache that evicts)
// loses its members for the run: nothing stored, one warning for all.
func TestPackGoneAfterCheck(t *testing.T) {
	ctx := context.Background()
	f := newPackFixture(t, 12)
	b := f.took(t)
	packs := f.packs(t)
	if len(packs) != 1 || !f.mem.Delete(packs[0].Digest) {
		t.Fatalf("want one pack to delete, have %d", len(packs))
	}
	b.FetchBlobs(ctx, f.files)
	for i, d := range f.files {
		if b.Has(d) {
			t.Errorf("member %d stored from a pack that is gone", i)
		}
	}
	if len(*f.warnings) != 1 || !strings.Contains((*f.warnings)[0], "12 blobs") || !strings.Contains((*f.warnings)[0], "is gone from the remote") {
		t.Errorf("want one warning for the 12 members, got:\n%s", strings.Join(*f.warnings, "\n"))
	}
	if _, err := b.ReadBlob(f.files[3]); err == nil {
		t.Errorf("a member of a lost pack read back")
	}
}

// An entry whose closure manifest does not list one of its outputs is a
// miss naming that output, however many blobs the manifest lists.
func TestRemoteEntryManifestMustListOutputs(t *testing.T) {
	ctx := context.Background()
	mem := remotetest.Memory()
	put := func(b []byte) cache.Ref {
		r := cache.Ref{Digest: cache.Sum(b), Size: int64(len(b))}
		mem.Plant(r, b)
		return r
	}
	listed := put([]byte("a listed blob"))
	out := put([]byte("an output no manifest lists"))
	manifest := put([]byte("dsbuild closure v2\n" + listed.Digest.Hex() + " " + fmt.Sprint(listed.Size) + "\n"))
	key := cache.ActionKey(cache.Sum([]byte("an entry with an unlisted output")))
	if err := mem.PutAction(ctx, key, []cache.RemoteOutput{{Name: "a", Ref: listed}, {Name: "b", Ref: out}, {Name: ".closure", Ref: manifest}}); err != nil {
		t.Fatal(err)
	}
	s := storeOn(t, mem, cache.RemoteOptions{})
	_, err := s.RemoteAction(ctx, key)
	if !cache.IsMiss(err) || !strings.Contains(err.Error(), "does not list output b") {
		t.Fatalf("lookup: %v, want a miss saying the manifest does not list output b", err)
	}
}
