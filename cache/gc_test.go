//go:build unix

package cache_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"dsbuild/cache"
)

// snapshot lists every file under the store but the lock file, with sizes.
func snapshot(t *testing.T, s *cache.Store) string {
	t.Helper()
	files := listFiles(t, s.Dir())
	delete(files, "lock")
	var lines []string
	for p, n := range files {
		lines = append(lines, fmt.Sprintf("%s %d", p, n))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func mustPut(t *testing.T, s *cache.Store, data string) cache.Digest {
	t.Helper()
	d, err := s.PutBytes([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func blobSize(t *testing.T, s *cache.Store, d cache.Digest) int64 {
	t.Helper()
	p, _ := blobFile(t, s, d)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// gcFixture is a store holding:
//
//   - tree: a PutDir tree kept through GCOptions.Roots
//   - unrooted: a blob nothing names
//   - actKept / outKept: an action entry kept through GCOptions.Actions, and its output
//   - actDropped / outDropped: an action entry not kept, and its output
//   - actBuild / outBuild: an action entry named by the last build record
//   - rootBuild: a root of the last build record
//   - rootOld: a root of an older build record, beyond KeepBuilds = 1
//   - memoKept (output outKept) and memoDropped (output outDropped)
//   - a stray temporary file and a temporary directory in tmp/
type gcFixture struct {
	s                                     *cache.Store
	log                                   *logRecorder
	tree                                  cache.Digest
	treeBlobs                             []cache.Digest
	unrooted, outKept, outDropped         cache.Digest
	outBuild, rootBuild, rootOld          cache.Digest
	actKept, actDropped, actBuild, actOld cache.ActionKey
	memoKept, memoDropped                 cache.MemoKey
	opt                                   cache.GCOptions
	dead                                  []cache.Digest // blobs GC must remove
}

func newGCFixture(t *testing.T) *gcFixture {
	t.Helper()
	s, log := newStore(t)
	f := &gcFixture{s: s, log: log}
	src := makeSource(t)
	var err error
	f.tree, _, err = s.PutDir(ctx, src, cache.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.WalkTree(f.tree, func(p string, e cache.TreeEntry) error {
		f.treeBlobs = append(f.treeBlobs, e.Digest)
		return nil
	})
	f.treeBlobs = append(f.treeBlobs, f.tree)

	f.unrooted = mustPut(t, s, "nobody names me")
	f.outKept = mustPut(t, s, "output of the kept action")
	f.outDropped = mustPut(t, s, "output of the dropped action")
	f.outBuild = mustPut(t, s, "output of the last build's action")
	f.rootBuild = mustPut(t, s, "root of the last build")
	f.rootOld = mustPut(t, s, "root of an old build")

	f.actKept = cache.ActionKey(cache.Sum([]byte("kept action")))
	f.actDropped = cache.ActionKey(cache.Sum([]byte("dropped action")))
	f.actBuild = cache.ActionKey(cache.Sum([]byte("last build's action")))
	f.actOld = cache.ActionKey(cache.Sum([]byte("old build's action")))
	for key, out := range map[cache.ActionKey]cache.Digest{f.actKept: f.outKept, f.actDropped: f.outDropped, f.actBuild: f.outBuild, f.actOld: f.outDropped} {
		if err := s.PutAction(key, &cache.ActionResult{Outputs: []cache.Output{{Name: "out", Digest: out}}}); err != nil {
			t.Fatal(err)
		}
	}
	f.memoKept = cache.MemoKey(cache.Sum([]byte("kept item")))
	f.memoDropped = cache.MemoKey(cache.Sum([]byte("dropped item")))
	if err := s.PutMemo(f.memoKept, []cache.Output{{Name: "o", Digest: f.outKept}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMemo(f.memoDropped, []cache.Output{{Name: "o", Digest: f.outKept}, {Name: "p", Digest: f.outDropped}}); err != nil {
		t.Fatal(err)
	}

	for _, r := range []cache.BuildRecord{
		{Actions: []cache.ActionKey{f.actOld}, Roots: []cache.Digest{f.rootOld}},
		{Roots: []cache.Digest{f.rootOld, f.unrooted}},
		{Actions: []cache.ActionKey{f.actBuild}, Roots: []cache.Digest{f.rootBuild}},
	} {
		if err := s.RecordBuild(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "tmp", "blob-123"), []byte("left by a killed build"), 0o444); err != nil {
		t.Fatal(err)
	}
	td, err := s.TempDir("job-*")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, td, map[string]string{"sub/f": "scratch"})
	if err := os.Chmod(filepath.Join(td, "sub"), 0o555); err != nil { // as Materialize(readOnly) leaves it
		t.Fatal(err)
	}
	f.opt = cache.GCOptions{KeepBuilds: 1, Roots: []cache.Digest{f.tree}, Actions: []cache.ActionKey{f.actKept}}
	f.dead = []cache.Digest{f.unrooted, f.outDropped, f.rootOld}
	return f
}

func (f *gcFixture) wantReport(t *testing.T) cache.GCReport {
	var deadBytes, allBytes int64
	for _, d := range f.dead {
		deadBytes += blobSize(t, f.s, d)
	}
	files := listFiles(t, filepath.Join(f.s.Dir(), "blobs"))
	for _, n := range files {
		allBytes += n
	}
	return cache.GCReport{
		Blobs: len(f.dead), KeptBlobs: len(files) - len(f.dead),
		Bytes: deadBytes, KeptBytes: allBytes - deadBytes,
		Actions: 2, KeptActions: 2, // actDropped and actOld go; actKept and actBuild stay
		Memos: 1, KeptMemos: 1,
		Builds:    2,
		TempFiles: 2,
	}
}

func TestGC(t *testing.T) {
	f := newGCFixture(t)
	s := f.s
	want := f.wantReport(t)
	if want.KeptBlobs != len(f.treeBlobs)-1+3 { // link.txt and a.txt share a blob; + outKept, outBuild, rootBuild
		t.Fatalf("fixture: %d blobs kept, want %d", want.KeptBlobs, len(f.treeBlobs)-1+3)
	}

	// A dry run reports and removes nothing.
	before := snapshot(t, s)
	dry := f.opt
	dry.DryRun = true
	rep, err := s.GC(ctx, dry)
	if err != nil {
		t.Fatalf("s.GC(DryRun) = %v", err)
	}
	if rep != want {
		t.Errorf("s.GC(DryRun) = %+v, want %+v", rep, want)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("s.GC(DryRun) changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	rep, err = s.GC(ctx, f.opt)
	if err != nil {
		t.Fatalf("s.GC = %v", err)
	}
	if rep != want {
		t.Errorf("s.GC = %+v, want %+v", rep, want)
	}
	for _, d := range f.dead {
		if s.Has(d) {
			t.Errorf("after GC, s.Has(%v) = true, want it collected", d.Short())
		}
	}
	for _, d := range append(f.treeBlobs, f.outKept, f.outBuild, f.rootBuild) {
		if !s.Has(d) {
			t.Errorf("after GC, s.Has(%v) = false, want it kept", d.Short())
		}
	}
	if n := len(listFiles(t, filepath.Join(s.Dir(), "blobs"))); n != want.KeptBlobs {
		t.Errorf("after GC, blobs/ holds %d files, want %d", n, want.KeptBlobs)
	}
	if err := s.TreeComplete(f.tree); err != nil {
		t.Errorf("after GC, s.TreeComplete(rooted tree) = %v", err)
	}
	for key, kept := range map[cache.ActionKey]bool{f.actKept: true, f.actBuild: true, f.actDropped: false, f.actOld: false} {
		_, err := s.GetAction(key)
		if kept && err != nil || !kept && !cache.IsMiss(err) {
			t.Errorf("after GC, s.GetAction(%v) = %v, want kept=%v", key.Short(), err, kept)
		}
	}
	if _, err := s.GetMemo(f.memoKept); err != nil {
		t.Errorf("after GC, s.GetMemo(kept) = %v, want a hit", err)
	}
	if _, err := s.GetMemo(f.memoDropped); !cache.IsMiss(err) {
		t.Errorf("after GC, s.GetMemo(dropped) = %v, want a miss", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "builds")); len(ents) != 1 || ents[0].Name() != "0000000003" {
		t.Errorf("after GC, builds/ = %v, want only 0000000003", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("after GC, tmp/ holds %d entries, want 0", len(ents))
	}
	if msgs := f.log.messages(); len(msgs) != 0 {
		t.Errorf("GC of a healthy store logged %q, want nothing", msgs)
	}

	chk, err := s.Check(ctx, false)
	if err != nil || len(chk.Problems) != 0 || len(chk.Missing) != 0 {
		t.Errorf("s.Check after GC = %v, Problems %q, Missing %q, want none", err, chk.Problems, chk.Missing)
	}
	if chk.Blobs != want.KeptBlobs || chk.Bytes != want.KeptBytes || chk.Actions != 2 || chk.Memos != 1 || chk.TempFiles != 0 {
		t.Errorf("s.Check after GC = %+v, want %d blobs of %d bytes, 2 actions, 1 memo, 0 temp files", chk, want.KeptBlobs, want.KeptBytes)
	}

	// A second collection finds nothing more.
	rep, err = s.GC(ctx, f.opt)
	wantAgain := cache.GCReport{KeptBlobs: want.KeptBlobs, KeptBytes: want.KeptBytes, KeptActions: 2, KeptMemos: 1}
	if err != nil || rep != wantAgain {
		t.Errorf("second s.GC = %+v, %v, want %+v", rep, err, wantAgain)
	}

	// Without roots, everything goes but what the last build names.
	rep, err = s.GC(ctx, cache.GCOptions{KeepBuilds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.KeptBlobs != 2 || rep.KeptActions != 1 || rep.Actions != 1 || rep.Memos != 1 {
		t.Errorf("s.GC without roots = %+v, want 2 blobs kept (outBuild, rootBuild), 1 action kept and 1 dropped, 1 memo dropped", rep)
	}
	if !s.Has(f.outBuild) || !s.Has(f.rootBuild) || s.Has(f.tree) {
		t.Errorf("after s.GC without roots: Has(outBuild)=%v Has(rootBuild)=%v Has(tree)=%v, want true true false", s.Has(f.outBuild), s.Has(f.rootBuild), s.Has(f.tree))
	}
}

func TestGCTagsAndKeepBuilds(t *testing.T) {
	f := newGCFixture(t)
	s := f.s
	if err := s.SetTag("release-1", []cache.Digest{f.unrooted, f.rootOld}); err != nil {
		t.Fatal(err)
	}
	// KeepBuilds larger than the number of records keeps them all.
	opt := f.opt
	opt.KeepBuilds = 10
	rep, err := s.GC(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Kept now: the tag's roots and actOld's output (outDropped).
	if rep.Blobs != 0 || rep.Builds != 0 || rep.Actions != 1 || rep.KeptActions != 3 || rep.Memos != 0 || rep.KeptMemos != 2 {
		t.Errorf("s.GC with a tag and all builds kept = %+v, want no blob and no build dropped, 1 action dropped, 3 kept, both memos kept", rep)
	}
	for _, d := range []cache.Digest{f.unrooted, f.rootOld, f.outDropped} {
		if !s.Has(d) {
			t.Errorf("s.Has(%v) = false, want it kept by a tag or a build record", d.Short())
		}
	}
	// Moving the tag releases them; KeepBuilds 0 drops every record.
	if err := s.SetTag("release-1", nil); err != nil {
		t.Fatal(err)
	}
	rep, err = s.GC(ctx, cache.GCOptions{Roots: []cache.Digest{f.tree}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Builds != 3 || rep.KeptBlobs != len(f.treeBlobs)-1 {
		t.Errorf("s.GC(KeepBuilds 0) = %+v, want 3 builds dropped and only the tree's %d blobs kept", rep, len(f.treeBlobs)-1)
	}
	if err := s.SetTag("a/b", nil); err == nil {
		t.Errorf("s.SetTag(%q) = nil, want an error", "a/b")
	}
}

func TestGCStrays(t *testing.T) {
	s, _ := newStore(t)
	d := mustPut(t, s, "kept")
	shard := filepath.Join(s.Dir(), "blobs", d.Hex()[:2])
	writeFiles(t, s.Dir(), map[string]string{
		"blobs/" + d.Hex()[:2] + "/not-a-digest": "x",
		"blobs/ff/" + cache.Sum(nil).Hex():       "wrong shard", // e3b0... is not in ff/
		"ac/00/not-a-key":                        "x",
	})
	rep, err := s.GC(ctx, cache.GCOptions{Roots: []cache.Digest{d}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TempFiles != 2 || rep.Actions != 1 || rep.KeptBlobs != 1 || rep.Blobs != 0 {
		t.Errorf("s.GC with strays = %+v, want 2 strays counted as temp files, 1 bad action entry, 1 blob kept", rep)
	}
	if got := listFiles(t, filepath.Join(s.Dir(), "blobs")); len(got) != 1 {
		t.Errorf("blobs/ after GC = %v, want only the kept blob in %s", got, shard)
	}
	if got := listFiles(t, filepath.Join(s.Dir(), "ac")); len(got) != 0 {
		t.Errorf("ac/ after GC = %v, want empty", got)
	}
}

// GC drops stat cache entries whose blobs it collected.
func TestGCPrunesStatCaches(t *testing.T) {
	s, _ := newStore(t)
	statDir := filepath.Join(s.Dir(), "stat")
	keep := mustPut(t, s, "kept\n")
	gone := cache.Sum([]byte("gone\n"))
	// An entry line is "<hex> <size> <mtime> <ino> <ctime> <mode> <path>";
	// the times are old, outside the racy window.
	content := "dsbuild stat v1\n" +
		keep.Hex() + " 5 1000000000 1 1000000000 644 kept.txt\n" +
		gone.Hex() + " 5 1000000000 2 1000000000 644 gone.txt\n"
	writeFiles(t, statDir, map[string]string{"0123456789abcdef0123456789abcdef": content, "garbage": "not a stat cache"})
	if _, err := s.GC(ctx, cache.GCOptions{Roots: []cache.Digest{keep}, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if got := statCacheFiles(t, s); len(got) != 2 {
		t.Errorf("stat/ after a dry-run GC holds %d files, want both left", len(got))
	}
	if _, err := s.GC(ctx, cache.GCOptions{Roots: []cache.Digest{keep}}); err != nil {
		t.Fatal(err)
	}
	want := "dsbuild stat v1\n" + keep.Hex() + " 5 1000000000 1 1000000000 644 kept.txt\n"
	if got := statCacheFiles(t, s); len(got) != 1 || got[0] != want {
		t.Errorf("stat/ after GC = %q, want [%q] (the damaged one removed, the collected entry dropped)", got, want)
	}
}

func TestCheck(t *testing.T) {
	s, _ := newStore(t)
	src := makeSource(t)
	tree, _, err := s.PutDir(ctx, src, cache.IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	out := mustPut(t, s, "an output")
	key := cache.ActionKey(cache.Sum([]byte("step")))
	if err := s.PutAction(key, &cache.ActionResult{Outputs: []cache.Output{{Name: "tree", Digest: tree}, {Name: "out", Digest: out}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMemo(cache.MemoKey(cache.Sum([]byte("item"))), []cache.Output{{Name: "o", Digest: out}}); err != nil {
		t.Fatal(err)
	}

	rep, err := s.Check(ctx, false)
	blobs := listFiles(t, filepath.Join(s.Dir(), "blobs"))
	var bytes int64
	for _, n := range blobs {
		bytes += n
	}
	want := cache.CheckReport{Blobs: len(blobs), Bytes: bytes, Actions: 1, Memos: 1}
	if err != nil || fmt.Sprint(rep) != fmt.Sprint(want) {
		t.Fatalf("s.Check(clean store) = %+v, %v, want %+v, nil", rep, err, want)
	}

	// A damaged file blob: reported, named, left in place without repair.
	y := cache.Sum([]byte(srcFiles["sub/y.txt"]))
	p, _ := blobFile(t, s, y)
	overwrite(t, p, []byte("WHY\n"))
	rep, err = s.Check(ctx, false)
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], y.String()) || !strings.Contains(rep.Problems[0], "hashes to") {
		t.Errorf("s.Check(false) with a damaged blob = %q, %v, want one problem naming %v", rep.Problems, err, y)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("s.Check(false) removed the damaged blob (%v), want it left", err)
	}

	if len(rep.Missing) != 0 {
		t.Errorf("s.Check(false) with a damaged blob: Missing = %q, want none (the blob is still there)", rep.Missing)
	}

	// With repair, it is removed, and so the tree naming it is incomplete.
	rep, err = s.Check(ctx, true)
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], y.String()) {
		t.Errorf("s.Check(true) with a damaged blob: Problems = %q, %v, want one problem naming %v", rep.Problems, err, y)
	}
	if len(rep.Missing) != 1 || !strings.Contains(rep.Missing[0], `"y.txt"`) || !strings.Contains(rep.Missing[0], y.Short()) {
		t.Errorf("s.Check(true) with a damaged blob: Missing = %q, want the tree entry y.txt naming %s", rep.Missing, y.Short())
	}
	if s.Has(y) {
		t.Errorf("after s.Check(true), s.Has(damaged) = true, want it removed")
	}
	rep, _ = s.Check(ctx, false)
	if len(rep.Problems) != 0 || len(rep.Missing) != 1 || !strings.Contains(rep.Missing[0], `"y.txt"`) || !strings.Contains(rep.Missing[0], "missing") {
		t.Errorf("s.Check after the repair: Problems %q, Missing %q, want no problem and the tree entry y.txt missing", rep.Problems, rep.Missing)
	}
	if _, _, err := s.PutDir(ctx, src, cache.IngestOptions{}); err != nil {
		t.Fatal(err)
	}

	// An action entry naming a missing blob.
	p, _ = blobFile(t, s, out)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	rep, _ = s.Check(ctx, false)
	var acMissing, memoMissing bool
	for _, m := range rep.Missing {
		acMissing = acMissing || strings.HasPrefix(m, "ac entry "+key.Short()) && strings.Contains(m, out.Short()) && strings.Contains(m, "missing")
		memoMissing = memoMissing || strings.HasPrefix(m, "memo entry") && strings.Contains(m, out.Short())
	}
	if len(rep.Problems) != 0 || len(rep.Missing) != 2 || !acMissing || !memoMissing {
		t.Errorf("s.Check with an action output missing: Problems %q, Missing %q, want no problem, and the ac entry and the memo entry missing %s", rep.Problems, rep.Missing, out.Short())
	}
	mustPut(t, s, "an output")

	// A damaged action entry: reported; removed with repair.
	ap := entryFile(s, "ac", key)
	b, _ := os.ReadFile(ap)
	if err := os.WriteFile(ap, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	rep, _ = s.Check(ctx, false)
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], key.Short()) {
		t.Errorf("s.Check with a truncated action entry = %q, want one problem naming %s", rep.Problems, key.Short())
	}
	if _, err := os.Stat(ap); err != nil {
		t.Errorf("s.Check(false) removed the damaged entry: %v", err)
	}
	s.Check(ctx, true)
	if _, err := os.Stat(ap); !os.IsNotExist(err) {
		t.Errorf("after s.Check(true), the damaged entry exists (%v), want it removed", err)
	}

	// A damaged tree blob.
	tp, _ := blobFile(t, s, tree)
	tb, _ := os.ReadFile(tp)
	overwrite(t, tp, []byte(strings.Replace(string(tb), "a.txt", "b.txt", 1)))
	rep, _ = s.Check(ctx, false)
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], tree.String()) {
		t.Errorf("s.Check with a damaged tree = %q, want one problem naming %v", rep.Problems, tree)
	}

	// Strays and temporary files.
	overwrite(t, tp, tb)
	writeFiles(t, s.Dir(), map[string]string{"blobs/00/junk": "x", "tmp/w-1": "x", "memo/00/junk": "x"})
	rep, _ = s.Check(ctx, false)
	if len(rep.Problems) != 2 || !strings.Contains(strings.Join(rep.Problems, "\n"), filepath.Join("blobs", "00", "junk")+": not a blob name") ||
		!strings.Contains(strings.Join(rep.Problems, "\n"), filepath.Join("memo", "00", "junk")+": not an entry name") || rep.TempFiles != 1 {
		t.Errorf("s.Check with strays = %+v, want 2 problems naming blobs/00/junk and memo/00/junk, 1 temp file", rep)
	}
}

// Check with repair drops the stat caches, whose entries may name the
// blobs it removed.
func TestCheckRepairDropsStatCaches(t *testing.T) {
	s, _ := newStore(t)
	root := filepath.Join(t.TempDir(), "src")
	writeFiles(t, root, statFiles)
	sc, err := s.OpenStatCache(root)
	if err != nil {
		t.Fatal(err)
	}
	putDirStats(t, s, root, cache.IngestOptions{StatCache: sc})
	if err := sc.Save(s, nil); err != nil {
		t.Fatal(err)
	}
	if rep, _ := s.Check(ctx, true); len(rep.Problems) != 0 || len(statCacheFiles(t, s)) != 1 {
		t.Errorf("s.Check(true) of a clean store: problems %q, %d stat caches, want none and the stat cache kept", rep.Problems, len(statCacheFiles(t, s)))
	}
	p, _ := blobFile(t, s, cache.Sum([]byte(statFiles["a"])))
	overwrite(t, p, []byte("ONE\n"))
	if rep, _ := s.Check(ctx, true); len(rep.Problems) != 1 || len(rep.Missing) != 1 {
		t.Errorf("s.Check(true) with a damaged blob: Problems %q, Missing %q, want the blob, then the tree entry naming it", rep.Problems, rep.Missing)
	}
	if n := len(statCacheFiles(t, s)); n != 0 {
		t.Errorf("after s.Check(true) removed a blob, stat/ holds %d files, want 0", n)
	}
}
