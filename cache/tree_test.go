package cache_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"dsbuild/cache"
)

const treeHeader = "dsbuild tree v1\n"

func TestEmptyTree(t *testing.T) {
	// sha256("dsbuild tree v1\n"): changing it invalidates every store.
	const want = "sha256:a01c52441326ff752931d6b5e2c8eb5acc9cb490717acfc462d79df7d7948d75"
	if got := cache.EmptyTree.String(); got != want {
		t.Errorf("EmptyTree = %s, want %s", got, want)
	}
	b, err := cache.EncodeTree(nil)
	if err != nil || string(b) != treeHeader {
		t.Errorf("EncodeTree(nil) = %q, %v, want %q, nil", b, err, treeHeader)
	}
	if b, _ := cache.EncodeTree([]cache.TreeEntry{}); cache.Sum(b) != cache.EmptyTree {
		t.Errorf("Sum(EncodeTree([]TreeEntry{})) = %v, want EmptyTree", cache.Sum(b))
	}
	entries, err := cache.DecodeTree([]byte(treeHeader))
	if err != nil || len(entries) != 0 {
		t.Errorf("DecodeTree(header only) = %v, %v, want no entries, nil", entries, err)
	}
}

func TestEncodeTreeCanonical(t *testing.T) {
	a, b := cache.Sum([]byte("a")), cache.Sum([]byte("bb"))
	entries := []cache.TreeEntry{
		{Name: "run", Kind: cache.Exec, Digest: b, Size: 2},
		{Name: "a.txt", Kind: cache.File, Digest: a, Size: 1},
		{Name: "sub", Kind: cache.Dir, Digest: cache.EmptyTree, Size: 0},
		{Name: "with space", Kind: cache.File, Digest: a, Size: 1},
	}
	want := treeHeader +
		"f " + a.Hex() + " 1 a.txt\n" +
		"x " + b.Hex() + " 2 run\n" +
		"d " + cache.EmptyTree.Hex() + " 0 sub\n" +
		"f " + a.Hex() + " 1 with space\n"
	got, err := cache.EncodeTree(entries)
	if err != nil || string(got) != want {
		t.Fatalf("EncodeTree(%v) =\n%s, %v\nwant\n%s", entries, got, err, want)
	}
	// Every rotation and the reverse encode the same bytes.
	for i := range entries {
		perm := append(append([]cache.TreeEntry(nil), entries[i:]...), entries[:i]...)
		if got, err := cache.EncodeTree(perm); err != nil || string(got) != want {
			t.Errorf("EncodeTree(rotation %d) = %q, %v, want %q", i, got, err, want)
		}
	}
	rev := make([]cache.TreeEntry, len(entries))
	for i, e := range entries {
		rev[len(entries)-1-i] = e
	}
	if got, _ := cache.EncodeTree(rev); string(got) != want {
		t.Errorf("EncodeTree(reversed) = %q, want %q", got, want)
	}
	// The input is not reordered in place.
	if entries[0].Name != "run" {
		t.Errorf("EncodeTree sorted its argument in place: entries[0] = %q, want %q", entries[0].Name, "run")
	}

	// Order is by bytes, not by locale or case.
	names := []string{"é", "a-", "a b", "a", "Z", "B", "_", "0"}
	var es []cache.TreeEntry
	for _, n := range names {
		es = append(es, cache.TreeEntry{Name: n, Kind: cache.File, Digest: a, Size: 1})
	}
	enc, err := cache.EncodeTree(es)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := cache.DecodeTree(enc)
	if err != nil {
		t.Fatalf("DecodeTree(EncodeTree(...)) = %v", err)
	}
	var order []string
	for _, e := range dec {
		order = append(order, e.Name)
	}
	if got, want := strings.Join(order, "|"), "0|B|Z|_|a|a b|a-|é"; got != want {
		t.Errorf("decoded order = %s, want %s", got, want)
	}
}

func TestEncodeTreeErrors(t *testing.T) {
	s, _ := newStore(t)
	d := cache.Sum([]byte("x"))
	f := func(name string) cache.TreeEntry {
		return cache.TreeEntry{Name: name, Kind: cache.File, Digest: d, Size: 1}
	}
	for _, tt := range []struct {
		name    string
		entries []cache.TreeEntry
		errSub  string
	}{
		{"duplicate", []cache.TreeEntry{f("a"), f("b"), f("a")}, `duplicate name "a"`},
		{"duplicate of other kind", []cache.TreeEntry{f("a"), {Name: "a", Kind: cache.Dir, Digest: cache.EmptyTree}}, "duplicate"},
		{"empty name", []cache.TreeEntry{f("")}, `""`},
		{"dot", []cache.TreeEntry{f(".")}, `"."`},
		{"dotdot", []cache.TreeEntry{f("..")}, `".."`},
		{"slash", []cache.TreeEntry{f("a/b")}, `"a/b"`},
		{"newline", []cache.TreeEntry{f("a\nb")}, `"a\nb"`},
		{"carriage return", []cache.TreeEntry{f("a\rb")}, `"a\rb"`},
		{"NUL", []cache.TreeEntry{f("a\x00b")}, `"a\x00b"`},
		{"unknown kind", []cache.TreeEntry{{Name: "a", Kind: 'l', Digest: d}}, "unknown kind"},
		{"zero kind", []cache.TreeEntry{{Name: "a", Digest: d}}, "unknown kind"},
	} {
		b, err := cache.EncodeTree(tt.entries)
		if err == nil || !strings.Contains(err.Error(), tt.errSub) {
			t.Errorf("%s: EncodeTree(%v) = %q, %v, want an error containing %q", tt.name, tt.entries, b, err, tt.errSub)
		}
		if d, err := s.PutTree(tt.entries); err == nil {
			t.Errorf("%s: s.PutTree(%v) = %v, nil, want an error", tt.name, tt.entries, d)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "a b", ".a", "..a", "a.", "é", "-", "a\tb", strings.Repeat("n", 255)} {
		if err := cache.ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "a/b", "/", "a\nb", "a\rb", "a\x00b", "a/"} {
		if err := cache.ValidName(name); err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", name)
		}
	}
}

func TestDecodeTreeRoundTrip(t *testing.T) {
	entries := []cache.TreeEntry{
		{Name: "a", Kind: cache.File, Digest: cache.Sum([]byte("a")), Size: 1},
		{Name: "b c", Kind: cache.Exec, Digest: cache.Sum([]byte("b")), Size: 1 << 40},
		{Name: "d", Kind: cache.Dir, Digest: cache.EmptyTree, Size: 0},
	}
	b, err := cache.EncodeTree(entries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cache.DecodeTree(b)
	if err != nil {
		t.Fatalf("DecodeTree(%q) = %v", b, err)
	}
	if fmt.Sprint(got) != fmt.Sprint(entries) {
		t.Errorf("DecodeTree(EncodeTree(x)) = %v, want %v", got, entries)
	}
}

func TestDecodeTreeRejects(t *testing.T) {
	h := cache.Sum([]byte("x")).Hex()
	for _, tt := range []struct{ name, data string }{
		{"empty", ""},
		{"no header", "f " + h + " 1 a\n"},
		{"other version", "dsbuild tree v2\n"},
		{"header without newline", "dsbuild tree v1"},
		{"unterminated line", treeHeader + "f " + h + " 1 a"},
		{"empty line", treeHeader + "\n"},
		{"three fields", treeHeader + "f " + h + " 1\n"},
		{"empty name", treeHeader + "f " + h + " 1 \n"},
		{"long kind", treeHeader + "ff " + h + " 1 a\n"},
		{"unknown kind", treeHeader + "l " + h + " 1 a\n"},
		{"short digest", treeHeader + "f " + h[:63] + " 1 a\n"},
		{"bad digest", treeHeader + "f " + h[:63] + "g 1 a\n"},
		{"double space", treeHeader + "f  " + h + " 1 a\n"},
		{"negative size", treeHeader + "f " + h + " -1 a\n"},
		{"size not a number", treeHeader + "f " + h + " x a\n"},
		{"size overflow", treeHeader + "f " + h + " 99999999999999999999 a\n"},
		{"dot name", treeHeader + "f " + h + " 1 .\n"},
		{"dotdot name", treeHeader + "f " + h + " 1 ..\n"},
		{"slash in name", treeHeader + "f " + h + " 1 a/b\n"},
		{"CR in name", treeHeader + "f " + h + " 1 a\r\n"},
		{"unsorted", treeHeader + "f " + h + " 1 b\nf " + h + " 1 a\n"},
		{"duplicate", treeHeader + "f " + h + " 1 a\nd " + h + " 1 a\n"},
		{"CRLF", strings.ReplaceAll(treeHeader+"f "+h+" 1 a\n", "\n", "\r\n")},
	} {
		if got, err := cache.DecodeTree([]byte(tt.data)); err == nil {
			t.Errorf("%s: DecodeTree(%q) = %v, nil, want an error", tt.name, tt.data, got)
		}
	}
}

// Regression: DecodeTree must reject every line that is not in canonical
// form ("sha256:" prefixes, upper-case hex, signed sizes or leading zeros),
// or one listing could have two tree digests.
func TestDecodeTreeRejectsNonCanonical(t *testing.T) {
	d := cache.Sum([]byte("x"))
	for _, tt := range []struct{ name, data string }{
		{"digest with prefix", treeHeader + "f " + d.String() + " 1 a\n"},
		{"upper-case digest", treeHeader + "f " + strings.ToUpper(d.Hex()) + " 1 a\n"},
		{"size with plus sign", treeHeader + "f " + d.Hex() + " +1 a\n"},
		{"size with leading zero", treeHeader + "f " + d.Hex() + " 01 a\n"},
	} {
		got, err := cache.DecodeTree([]byte(tt.data))
		if err == nil {
			canon, _ := cache.EncodeTree(got)
			t.Errorf("%s: DecodeTree(%q) = %v, nil; want an error (the canonical encoding is %q)", tt.name, tt.data, got, canon)
		}
	}
}

// Regression: EncodeTree must reject a negative Size, which DecodeTree
// rejects, or PutTree could store a tree that can never be read.
func TestEncodeTreeRejectsNegativeSize(t *testing.T) {
	entries := []cache.TreeEntry{{Name: "a", Kind: cache.File, Digest: cache.Sum([]byte("x")), Size: -1}}
	b, err := cache.EncodeTree(entries)
	if err == nil {
		_, derr := cache.DecodeTree(b)
		t.Errorf("EncodeTree(%v) = %q, nil; want an error (DecodeTree of it fails: %v)", entries, b, derr)
	}
}

// buildTestTree stores a small Merkle tree:
//
//	a.txt        "alpha"
//	run          "#!/bin/sh" (Exec)
//	sub/b.txt    "beta"
//	sub/deep/c   "gamma"
func buildTestTree(t *testing.T, s *cache.Store) (root cache.Digest, files map[string]cache.Digest) {
	t.Helper()
	files = map[string]cache.Digest{}
	put := func(name, content string) cache.TreeEntry {
		d, err := s.PutBytes([]byte(content))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = d
		return cache.TreeEntry{Name: name[strings.LastIndex(name, "/")+1:], Kind: cache.File, Digest: d, Size: int64(len(content))}
	}
	putTree := func(es ...cache.TreeEntry) cache.Digest {
		d, err := s.PutTree(es)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	c := put("sub/deep/c", "gamma")
	deep := putTree(c)
	b := put("sub/b.txt", "beta")
	sub := putTree(b, cache.TreeEntry{Name: "deep", Kind: cache.Dir, Digest: deep, Size: 5})
	a := put("a.txt", "alpha")
	run := put("run", "#!/bin/sh")
	run.Kind = cache.Exec
	root = putTree(run, cache.TreeEntry{Name: "sub", Kind: cache.Dir, Digest: sub, Size: 9}, a)
	files["sub/deep"] = deep
	files["sub"] = sub
	return root, files
}

func TestPutTreeReadTree(t *testing.T) {
	s, _ := newStore(t)
	root, files := buildTestTree(t, s)
	entries, err := s.ReadTree(root)
	if err != nil {
		t.Fatalf("s.ReadTree(root) = %v", err)
	}
	want := fmt.Sprint([]cache.TreeEntry{
		{Name: "a.txt", Kind: cache.File, Digest: files["a.txt"], Size: 5},
		{Name: "run", Kind: cache.Exec, Digest: files["run"], Size: 9},
		{Name: "sub", Kind: cache.Dir, Digest: files["sub"], Size: 9},
	})
	if got := fmt.Sprint(entries); got != want {
		t.Errorf("s.ReadTree(root) = %v, want %v", got, want)
	}
	// The tree blob is exactly the canonical encoding.
	raw, err := s.ReadBlob(root)
	if err != nil {
		t.Fatal(err)
	}
	if enc, _ := cache.EncodeTree(entries); string(raw) != string(enc) {
		t.Errorf("stored tree = %q, want %q", raw, enc)
	}

	// A blob that is not a tree.
	if _, err := s.ReadTree(files["a.txt"]); err == nil || cache.IsCorrupt(err) || !strings.Contains(err.Error(), "not a tree") {
		t.Errorf("s.ReadTree(file blob) = %v, want a not-a-tree error that is not IsCorrupt", err)
	}
	// A missing tree.
	var nf *cache.NotFoundError
	if _, err := s.ReadTree(cache.Sum([]byte("nothing"))); !errors.As(err, &nf) {
		t.Errorf("s.ReadTree(absent) = %v, want a *NotFoundError", err)
	}
	if d, err := s.PutTree(nil); err != nil || d != cache.EmptyTree || !s.Has(cache.EmptyTree) {
		t.Errorf("s.PutTree(nil) = %v, %v (Has=%v), want EmptyTree, nil, stored", d, err, s.Has(cache.EmptyTree))
	}
}

func TestWalkTree(t *testing.T) {
	s, _ := newStore(t)
	root, files := buildTestTree(t, s)
	var got []string
	err := s.WalkTree(root, func(p string, e cache.TreeEntry) error {
		if e.Digest != files[p] {
			t.Errorf("WalkTree: %s has digest %v, want %v", p, e.Digest.Short(), files[p].Short())
		}
		got = append(got, fmt.Sprintf("%s:%c:%d", p, e.Kind, e.Size))
		return nil
	})
	if err != nil {
		t.Fatalf("s.WalkTree(root) = %v", err)
	}
	want := "a.txt:f:5 run:x:9 sub:d:9 sub/b.txt:f:4 sub/deep:d:5 sub/deep/c:f:5"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("s.WalkTree(root) visited %s, want %s", g, want)
	}

	// fn's error stops the walk and is returned.
	stop := errors.New("stop")
	n := 0
	err = s.WalkTree(root, func(p string, e cache.TreeEntry) error {
		n++
		if p == "sub" {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("s.WalkTree with fn failing at sub = %v after %d calls, want %v after 3", err, n, stop)
	}

	if err := s.TreeComplete(root); err != nil {
		t.Errorf("s.TreeComplete(root) = %v, want nil", err)
	}
	// Remove a file blob: TreeComplete names its path.
	p, _ := blobFile(t, s, files["sub/deep/c"])
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := s.TreeComplete(root); err == nil || !strings.Contains(err.Error(), "sub/deep/c") || !strings.Contains(err.Error(), files["sub/deep/c"].Short()) {
		t.Errorf("s.TreeComplete(root) with sub/deep/c missing = %v, want an error naming sub/deep/c", err)
	}
	// Remove a subtree: the walk fails with NotFound.
	p, _ = blobFile(t, s, files["sub"])
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	var nf *cache.NotFoundError
	if err := s.TreeComplete(root); !errors.As(err, &nf) || nf.Digest != files["sub"] {
		t.Errorf("s.TreeComplete(root) with subtree missing = %v, want a *NotFoundError for %v", err, files["sub"].Short())
	}
}

func TestWalkTreeCorruptSubtree(t *testing.T) {
	s, log := newStore(t)
	root, files := buildTestTree(t, s)
	p, _ := blobFile(t, s, files["sub/deep"])
	b, _ := os.ReadFile(p)
	overwrite(t, p, []byte(strings.Replace(string(b), " 5 c\n", " 6 c\n", 1)))
	err := s.WalkTree(root, func(string, cache.TreeEntry) error { return nil })
	checkCorruptErr(t, "s.WalkTree(root)", s, log, files["sub/deep"], p, err)
}

// TreeComplete stats raw file blobs: one of the wrong size is corrupt.
func TestTreeCompleteSize(t *testing.T) {
	s, log := newStore(t)
	root, files := buildTestTree(t, s)
	c := files["sub/deep/c"]
	p, _ := blobFile(t, s, c)

	// Same size, other bytes: not caught by a stat.
	overwrite(t, p, []byte("GAMMA"))
	if err := s.TreeComplete(root); err != nil {
		t.Errorf("s.TreeComplete with a same-size damaged blob = %v, want nil (only sizes are checked)", err)
	}
	overwrite(t, p, []byte("gamma, longer"))
	err := s.TreeComplete(root)
	checkCorruptErr(t, "s.TreeComplete(root)", s, log, c, p, err)
	if !strings.Contains(err.Error(), c.Short()) {
		t.Errorf("s.TreeComplete error %q does not name %s", err, c.Short())
	}

	// Compressed blobs are not size-checked (their stored size differs).
	big := text(100 << 10)
	bd, err := s.PutBytes(big)
	if err != nil {
		t.Fatal(err)
	}
	if _, comp := blobFile(t, s, bd); !comp {
		t.Fatal("100 KiB of text stored raw, want .zst")
	}
	tr, err := s.PutTree([]cache.TreeEntry{{Name: "big", Kind: cache.File, Digest: bd, Size: int64(len(big))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TreeComplete(tr); err != nil {
		t.Errorf("s.TreeComplete(tree of a .zst blob) = %v, want nil", err)
	}
}
