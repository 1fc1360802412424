package cache_test

import (
	"context"
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
	a, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetRemote(mem, cache.RemoteOptions{Upload: true})
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
	if err := a.UploadMemos(ctx, bundle, []cache.MemoKey{k1, k2}); err != nil {
		t.Fatal(err)
	}

	b, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.SetRemote(mem, cache.RemoteOptions{Upload: true})
	if _, err := b.GetMemoRecord(k1); !cache.IsMiss(err) {
		t.Fatalf("before the import: %v", err)
	}
	n, err := b.ImportMemos(ctx, bundle)
	if err != nil || n != 2 {
		t.Fatalf("ImportMemos: %d, %v", n, err)
	}
	rec, err := b.GetMemoRecord(k2)
	if err != nil || string(rec) != `{"value":"two"}` {
		t.Fatalf("record %q, %v", rec, err)
	}
	if !b.Has(d) || !b.Has(sub) {
		t.Fatal("the import did not download the blobs the records name")
	}
	got, err := b.ReadBlob(d)
	if err != nil || string(got) != string(img) {
		t.Fatalf("reading the image: %d bytes, %v", len(got), err)
	}

	// A record whose blob is not here counts it as stored while a remote
	// is known to hold it (a verified manifest listed it), and not once
	// the remote is gone.
	c, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRemote(mem, cache.RemoteOptions{})
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
	if _, err := b.ImportMemos(ctx, other); err == nil || !strings.Contains(err.Error(), "not a bundle") {
		t.Errorf("importing a step entry as a bundle: %v", err)
	}
}
