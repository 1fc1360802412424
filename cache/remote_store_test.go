package cache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"dsbuild/cache"
	"dsbuild/remote/remotetest"
)

// remoteFixture is a store A that built a two-file tree and uploaded it
// under a step key, and an empty store B on the same remote.
type remoteFixture struct {
	mem        *remotetest.MemRemote
	a, b       *cache.Store
	key        cache.ActionKey
	root       cache.Digest
	big, small cache.Digest
	warnings   *[]string
}

func newRemoteFixture(t *testing.T) *remoteFixture {
	t.Helper()
	mem := remotetest.Memory()
	var mu sync.Mutex
	var warnings []string
	warn := func(msg string) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }
	a, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetRemote(mem, cache.RemoteOptions{Upload: true, Warn: warn})
	big := []byte(strings.Repeat("pixels ", 40000))
	small := []byte("a small annotation")
	bd, err := a.PutBytes(big)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := a.PutBytes(small)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := a.PutTree([]cache.TreeEntry{{Name: "img.png", Kind: cache.File, Digest: bd, Size: int64(len(big))}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := a.PutTree([]cache.TreeEntry{
		{Name: "ann.json", Kind: cache.File, Digest: sd, Size: int64(len(small))},
		{Name: "images", Kind: cache.Dir, Digest: sub, Size: int64(len(big))},
	})
	if err != nil {
		t.Fatal(err)
	}
	key := cache.ActionKey(cache.Sum([]byte("a step key")))
	if err := a.UploadAction(context.Background(), key, []cache.Output{{Name: "dataset", Digest: root}}); err != nil {
		t.Fatal(err)
	}
	b, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.SetRemote(mem, cache.RemoteOptions{Upload: true, Warn: warn})
	return &remoteFixture{mem: mem, a: a, b: b, key: key, root: root, big: bd, small: sd, warnings: &warnings}
}

// A hit on the remote moves only the manifest; reads fetch and verify.
func TestRemoteHitIsLazy(t *testing.T) {
	f := newRemoteFixture(t)
	before := f.mem.Stats()
	outs, err := f.b.RemoteAction(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Name != "dataset" || outs[0].Digest != f.root {
		t.Fatalf("outputs %v, want dataset=%s", outs, f.root.Short())
	}
	st := f.b.RemoteStats()
	if st.Downloads != 0 || st.Manifests != 1 {
		t.Fatalf("a lookup downloaded %d blobs and %d manifests, want 0 and 1", st.Downloads, st.Manifests)
	}
	if got := f.mem.Stats().Gets - before.Gets; got != 1 {
		t.Fatalf("the lookup made %d Get calls, want 1 (the manifest)", got)
	}
	if f.b.Has(f.big) || f.b.Has(f.root) {
		t.Fatal("a lookup stored output blobs")
	}
	data, err := f.b.ReadBlob(f.big)
	if err != nil {
		t.Fatalf("lazy read: %v", err)
	}
	if len(data) != 280000 || !f.b.Has(f.big) {
		t.Fatalf("lazy read gave %d bytes, stored %v", len(data), f.b.Has(f.big))
	}
	if st := f.b.RemoteStats(); st.Downloads != 1 || st.DownloadBytes != 280000 {
		t.Fatalf("after one read: %d downloads, %d bytes; want 1, 280000", st.Downloads, st.DownloadBytes)
	}
	// A blob no manifest listed is not fetched.
	if _, err := f.b.ReadBlob(cache.Sum([]byte("unlisted"))); !cache.IsNotFound(err) {
		t.Fatalf("unlisted blob: %v, want not found", err)
	}
}

// A corrupt object is never stored, and the entry naming it turns into a
// miss for the rest of the run.
func TestRemoteCorruptObjectRejected(t *testing.T) {
	for _, fault := range []string{"corrupt", "truncate"} {
		t.Run(fault, func(t *testing.T) {
			f := newRemoteFixture(t)
			if _, err := f.b.RemoteAction(context.Background(), f.key); err != nil {
				t.Fatal(err)
			}
			if fault == "corrupt" {
				f.mem.Corrupt(f.big)
			} else {
				f.mem.Truncate(f.big)
			}
			if _, err := f.b.ReadBlob(f.big); !cache.IsNotFound(err) {
				t.Fatalf("reading a %sed object: %v, want not found", fault, err)
			}
			if f.b.Has(f.big) {
				t.Fatalf("the %sed bytes were stored", fault)
			}
			if st := f.b.RemoteStats(); st.Rejected != 1 {
				t.Fatalf("rejected %d, want 1", st.Rejected)
			}
			_, err := f.b.RemoteAction(context.Background(), f.key)
			var miss *cache.MissError
			if !errors.As(err, &miss) || !strings.Contains(miss.Reason, "unusable") {
				t.Fatalf("lookup after the rejection: %v, want a miss naming the unusable blob", err)
			}
			if len(*f.warnings) == 0 || !strings.Contains((*f.warnings)[0], "is corrupt there") {
				t.Fatalf("warnings %q", *f.warnings)
			}
		})
	}
}

// An entry whose blobs are gone is a miss that says so.
func TestRemoteMissingBlobIsMiss(t *testing.T) {
	f := newRemoteFixture(t)
	f.mem.Delete(f.small)
	_, err := f.b.RemoteAction(context.Background(), f.key)
	var miss *cache.MissError
	if !errors.As(err, &miss) || !strings.Contains(miss.Reason, "lacks 1 of") {
		t.Fatalf("lookup: %v, want a miss saying the remote lacks a blob", err)
	}
}

// An upload that fails midway writes no entry: no reader ever sees an
// entry whose blobs are missing.
func TestRemoteUploadFailsBeforeEntry(t *testing.T) {
	f := newRemoteFixture(t)
	c, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRemote(f.mem, cache.RemoteOptions{Upload: true})
	d, err := c.PutBytes([]byte(strings.Repeat("new bytes ", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.PutTree([]cache.TreeEntry{{Name: "f", Kind: cache.File, Digest: d, Size: 10000}})
	if err != nil {
		t.Fatal(err)
	}
	f.mem.BeforeCall(func(op string) error {
		if op == remotetest.OpPut {
			return errors.New("connection reset by peer")
		}
		return nil
	})
	key := cache.ActionKey(cache.Sum([]byte("another step")))
	if err := c.UploadAction(context.Background(), key, []cache.Output{{Name: "out", Digest: root}}); err == nil {
		t.Fatal("an upload whose blob puts fail succeeded")
	}
	f.mem.BeforeCall(nil)
	if _, err := f.mem.GetAction(context.Background(), key); !errors.Is(err, cache.ErrRemoteMiss) {
		t.Fatalf("the entry was written after a failed upload: %v", err)
	}
}

// A remote that keeps failing is given up, once, and lookups stop asking.
func TestRemoteBreaker(t *testing.T) {
	f := newRemoteFixture(t)
	f.mem.SetDown(true)
	for i := 0; i < 3; i++ {
		if _, err := f.b.RemoteAction(context.Background(), f.key); err == nil {
			t.Fatal("a lookup on a down remote hit")
		}
	}
	if f.b.HasRemote() {
		t.Fatal("the remote is still in use after three failed calls")
	}
	calls := f.mem.Stats().ActionGets
	if _, err := f.b.RemoteAction(context.Background(), f.key); err == nil {
		t.Fatal("a lookup after the breaker opened hit")
	}
	if f.mem.Stats().ActionGets != calls {
		t.Fatal("a lookup after the breaker opened still called the remote")
	}
	n := 0
	for _, w := range *f.warnings {
		if strings.Contains(w, "giving the remote up") {
			n++
		}
	}
	if n != 1 || !f.b.RemoteStats().Down {
		t.Fatalf("%d give-up warnings (want 1), down=%v", n, f.b.RemoteStats().Down)
	}
}
