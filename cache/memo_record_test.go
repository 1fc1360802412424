package cache_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

// A memo record lives in its entry: it reads back while the blobs it names
// are stored, a damaged entry is a miss (and is removed), and a gc keeps
// the entry exactly while those blobs live.
func TestMemoRecord(t *testing.T) {
	t.Parallel()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := s.PutBytes([]byte("image bytes"))
	ann, _ := s.PutBytes([]byte("annotation bytes"))
	tree, err := s.PutTree([]cache.TreeEntry{{Name: "a", Kind: cache.File, Digest: img, Size: 11}, {Name: "b", Kind: cache.File, Digest: ann, Size: 16}})
	if err != nil {
		t.Fatal(err)
	}
	key := cache.MemoKey(cache.Sum([]byte("item key")))
	rec := []byte(`{"value":"a record, check this"}`)
	if err := s.PutMemoRecord(key, rec, []cache.Digest{ann, img, ann}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMemoRecord(key)
	if err != nil || string(got) != string(rec) {
		t.Fatalf("GetMemoRecord = %q, %v", got, err)
	}
	if err := s.PutMemoRecord(key, []byte("two\nlines"), nil); err == nil {
		t.Error("a record with a newline was accepted")
	}
	if _, err := s.GetMemoRecord(cache.MemoKey(cache.Sum([]byte("other")))); !cache.IsMiss(err) {
		t.Errorf("an absent record: %v, want a miss", err)
	}

	// A gc with the tree as a root keeps the entry; without it, drops it.
	rep, err := s.GC(context.Background(), cache.GCOptions{Roots: []cache.Digest{tree}})
	if err != nil || rep.KeptMemos != 1 || rep.Memos != 0 {
		t.Fatalf("gc with the refs live: %+v, %v", rep, err)
	}
	if _, err := s.GetMemoRecord(key); err != nil {
		t.Fatalf("after a gc that keeps its refs: %v", err)
	}
	rep, err = s.GC(context.Background(), cache.GCOptions{})
	if err != nil || rep.Memos != 1 {
		t.Fatalf("gc without roots: %+v, %v", rep, err)
	}
	if _, err := s.GetMemoRecord(key); !cache.IsMiss(err) {
		t.Errorf("after a gc that drops its refs: %v, want a miss", err)
	}

	// A ref stored compressed is marked so (one stat to check it), and
	// still found if it is later stored raw.
	big, _ := s.PutBytes([]byte(strings.Repeat(`{"compressible": true}`, 100)))
	img, _ = s.PutBytes([]byte("image bytes")) // the gc above took it
	if err := s.PutMemoRecord(key, rec, []cache.Digest{img, big}); err != nil {
		t.Fatal(err)
	}
	kh0 := cache.Digest(key).Hex()
	raw0, _ := os.ReadFile(filepath.Join(s.Dir(), "memo", kh0[:2], kh0))
	if !strings.Contains(string(raw0), "ref "+big.String()+" zst\n") || !strings.Contains(string(raw0), "ref "+img.String()+"\n") {
		t.Errorf("refs not marked by how they are stored:\n%s", raw0)
	}
	if got, err := s.GetMemoRecord(key); err != nil || string(got) != string(rec) {
		t.Errorf("with a compressed ref: %q, %v", got, err)
	}

	// A record whose blob went missing is a miss; a damaged one is removed.
	img2, _ := s.PutBytes([]byte("another image"))
	if err := s.PutMemoRecord(key, rec, []cache.Digest{img2}); err != nil {
		t.Fatal(err)
	}
	h := img2.Hex()
	files, _ := filepath.Glob(filepath.Join(s.Dir(), "blobs", h[:2], h+"*"))
	for _, f := range files {
		os.Remove(f)
	}
	if _, err := s.GetMemoRecord(key); !cache.IsMiss(err) || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("a record naming a missing blob: %v", err)
	}
	if err := s.PutMemoRecord(key, rec, nil); err != nil {
		t.Fatal(err)
	}
	kh := cache.Digest(key).Hex()
	entry := filepath.Join(s.Dir(), "memo", kh[:2], kh)
	raw, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(entry, []byte(strings.Replace(string(raw), "check this", "check that", 1)), 0o644)
	if _, err := s.GetMemoRecord(key); !cache.IsMiss(err) || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("a damaged record: %v", err)
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("the damaged entry was not removed: %v", err)
	}
}
