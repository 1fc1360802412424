package cache_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/remote/remotetest"
)

// A memo bundle carries item results from store A to store B: B takes the
// records and the blobs they name, verified.
func TestMemoBundleTravels(t *testing.T) {
	ctx := context.Background()
	mem := remotetest.Memory()
	a := storeOn(t, mem, cache.RemoteOptions{Upload: true})
	img := []byte(strings.Repeat("transformed pixels ", 3000))
	d, err := a.PutBytes(img)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := a.PutTree([]cache.TreeEntry{{Name: "x.png", Kind: cache.File, Digest: d, Size: int64(len(img))}})
	if err != nil {
		t.Fatal(err)
	}
	k1 := cache.MemoKey(cache.Sum([]byte("item 1")))
	k2 := cache.MemoKey(cache.Sum([]byte("item 2")))
	if err := a.PutMemoRecord(k1, []byte(`{"value":"one"}`), []cache.Digest{d}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutMemoRecord(k2, []byte(`{"value":"two"}`), []cache.Digest{d, sub}); err != nil {
		t.Fatal(err)
	}
	bundle := cache.ActionKey(cache.Sum([]byte("shard 0 of step s")))
	up := mem.Stats()
	if err := a.UploadMemos(ctx, bundle, []cache.MemoKey{k1, k2}); err != nil {
		t.Fatal(err)
	}
	// A shard's outputs are new: sent without asking the remote first.
	if n := mem.Stats().MissingCalls - up.MissingCalls; n != 0 {
		t.Errorf("UploadMemos made %d existence checks, want none", n)
	}

	b := storeOn(t, mem, cache.RemoteOptions{Upload: true})
	if _, err := b.GetMemoRecord(k1); !cache.IsMiss(err) {
		t.Fatalf("before the import: %v", err)
	}
	before := mem.Stats()
	n, err := b.ImportMemos(ctx, []cache.ActionKey{bundle})
	if err != nil || n != (cache.MemoImport{Records: 2}) {
		t.Fatalf("ImportMemos: %+v, %v", n, err)
	}
	rec, err := b.GetMemoRecord(k2)
	if err != nil || string(rec) != `{"value":"two"}` {
		t.Fatalf("record %q, %v", rec, err)
	}
	// Only the records moved: the blobs they name stay on the remote
	// until something reads them.
	if b.Has(d) || b.Has(sub) {
		t.Fatal("the import downloaded the blobs the records name")
	}
	if got := mem.Stats().Gets - before.Gets; got != 2 {
		t.Errorf("the import made %d GETs, want 2 (the closure manifest and the records)", got)
	}
	got, err := b.ReadBlob(d)
	if err != nil || string(got) != string(img) {
		t.Fatalf("reading the image: %d bytes, %v", len(got), err)
	}

	// A record whose blob is not here counts it as stored while a remote
	// is known to hold it (a verified manifest listed it), and not once
	// the remote is gone.
	c := storeOn(t, mem, cache.RemoteOptions{})
	if err := c.PutMemoRecord(k1, []byte(`{"value":"one"}`), []cache.Digest{d}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMemoRecord(k1); !cache.IsMiss(err) {
		t.Fatalf("a record whose blob is nowhere known: %v", err)
	}
	if _, err := c.RemoteAction(ctx, bundle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMemoRecord(k1); err != nil {
		t.Fatalf("a record whose blob the remote holds: %v", err)
	}
	c.SetRemote(nil, cache.RemoteOptions{})
	if _, err := c.GetMemoRecord(k1); !cache.IsMiss(err) {
		t.Errorf("a record whose blob is neither here nor known on a remote: %v", err)
	}

	// A bundle under a key that holds something else is refused.
	other := cache.ActionKey(cache.Sum([]byte("a step")))
	if err := a.UploadAction(ctx, other, []cache.Output{{Name: "out", Digest: sub}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ImportMemos(ctx, []cache.ActionKey{other}); err == nil || !strings.Contains(err.Error(), "not a bundle") {
		t.Errorf("importing a step entry as a bundle: %v", err)
	}
}

// Bundles the remote cannot fully serve are taken as far as they can be:
// a record that names a blob the remote lost is skipped (its item runs
// again), a bundle that is gone or corrupt is skipped whole, and neither
// is an error; the others are taken, with one existence check for all.
func TestMemoBundlesPartlyLost(t *testing.T) {
	ctx := context.Background()
	mem := remotetest.Memory()
	a := storeOn(t, mem, cache.RemoteOptions{Upload: true})
	put := func(s string) cache.Digest {
		d, err := a.PutBytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	memo := func(name string, refs ...cache.Digest) cache.MemoKey {
		k := cache.MemoKey(cache.Sum([]byte(name)))
		if err := a.PutMemoRecord(k, []byte(`{"item":"`+name+`"}`), refs); err != nil {
			t.Fatal(err)
		}
		return k
	}
	kept, lost := put("kept image"), put("lost image")
	k1, k2, k3, k4 := memo("one", kept), memo("two", lost), memo("three", kept), memo("four", put("four's"))
	b1 := cache.ActionKey(cache.Sum([]byte("shard 0")))
	b2 := cache.ActionKey(cache.Sum([]byte("shard 1")))
	b3 := cache.ActionKey(cache.Sum([]byte("shard 2")))
	// Each bundle has fewer blobs than make a pack: the lost image is an
	// object of its own (TestPackedMemoBundlesPartlyLost loses packs).
	if err := a.UploadMemos(ctx, b1, []cache.MemoKey{k2}); err != nil {
		t.Fatal(err)
	}
	if err := a.UploadMemos(ctx, b2, []cache.MemoKey{k1, k3}); err != nil {
		t.Fatal(err)
	}
	if err := a.UploadMemos(ctx, b3, []cache.MemoKey{k4}); err != nil {
		t.Fatal(err)
	}
	if !mem.Delete(lost) {
		t.Fatal("the lost image was not uploaded")
	}
	// Shard 2's records blob is corrupt on the remote.
	outs, err := a.RemoteAction(ctx, b3)
	if err != nil {
		t.Fatal(err)
	}
	if !mem.Corrupt(outs[0].Digest) {
		t.Fatal("no records blob to corrupt")
	}

	b, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	b.SetRemote(mem, cache.RemoteOptions{Warn: func(m string) { warnings = append(warnings, m) }})
	missing := cache.ActionKey(cache.Sum([]byte("a shard that never finished")))
	before := mem.Stats()
	got, err := b.ImportMemos(ctx, []cache.ActionKey{b1, missing, b2, b3})
	if err != nil {
		t.Fatal(err)
	}
	if want := (cache.MemoImport{Records: 2, Skipped: 1, Unusable: 2}); got != want {
		t.Errorf("ImportMemos = %+v, want %+v", got, want)
	}
	if n := mem.Stats().MissingCalls - before.MissingCalls; n != 1 {
		t.Errorf("%d existence checks, want one for all the bundles", n)
	}
	for _, k := range []cache.MemoKey{k1, k3} {
		if _, err := b.GetMemoRecord(k); err != nil {
			t.Errorf("record %s: %v", k.Short(), err)
		}
	}
	for _, k := range []cache.MemoKey{k2, k4} {
		if _, err := b.GetMemoRecord(k); !cache.IsMiss(err) {
			t.Errorf("record %s, whose blob or bundle is lost: %v", k.Short(), err)
		}
	}
	all := strings.Join(warnings, "\n")
	for _, w := range []string{"1 item result(s) name blobs the remote does not hold", missing.Short(), b3.Short()} {
		if !strings.Contains(all, w) {
			t.Errorf("no warning says %q:\n%s", w, all)
		}
	}
}

// The machine that ran a shard and then runs the step in full takes its
// own bundle without writing its records again: they are there already
// (a file write per item is most of a worker's overhead).
func TestMemoBundleOwnRecordsNotRewritten(t *testing.T) {
	ctx := context.Background()
	mem := remotetest.Memory()
	a := storeOn(t, mem, cache.RemoteOptions{Upload: true})
	var keys []cache.MemoKey
	for i := range 8 {
		d, err := a.PutBytes([]byte(fmt.Sprintf("result %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		k := cache.MemoKey(cache.Sum([]byte(fmt.Sprintf("item %d", i))))
		if err := a.PutMemoRecord(k, []byte(fmt.Sprintf(`{"item":%d}`, i)), []cache.Digest{d}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	bk := cache.ActionKey(cache.Sum([]byte("own bundle")))
	if err := a.UploadMemos(ctx, bk, keys); err != nil {
		t.Fatal(err)
	}
	files := map[string]os.FileInfo{}
	err := filepath.WalkDir(a.Dir(), func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			files[p] = fi
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.ImportMemos(ctx, []cache.ActionKey{bk})
	if err != nil {
		t.Fatal(err)
	}
	if got != (cache.MemoImport{Records: 8}) {
		t.Errorf("ImportMemos = %+v, want 8 records", got)
	}
	for p, before := range files {
		after, err := os.Stat(p)
		if err != nil || !os.SameFile(before, after) {
			t.Errorf("%s was written again (%v)", p, err)
		}
	}
	for _, k := range keys {
		if _, err := a.GetMemoRecord(k); err != nil {
			t.Errorf("record %s: %v", k.Short(), err)
		}
	}
}

// storeOn opens an empty store on remote r.
func storeOn(t *testing.T, r cache.Remote, opt cache.RemoteOptions) *cache.Store {
	t.Helper()
	s, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetRemote(r, opt)
	return s
}
