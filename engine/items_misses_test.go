package engine

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dsbuild/cache"
)

// missItem is an item whose result is its value in capitals, stored as a
// blob.
func missItem(s *cache.Store, name, value string, ran *int) Item[cache.Digest] {
	return Item[cache.Digest]{Name: name, Key: []string{"value " + value}, Run: func() (cache.Digest, error) {
		*ran++
		return s.PutBytes([]byte(strings.ToUpper(value)))
	}}
}

// Misses says which items Items would run, by recallItem's rules, without
// running, counting or memoizing anything; in a shard run only the
// shard's own items can miss, and in a counting run none.
func TestMissesAreTheItemsItemsWouldRun(t *testing.T) {
	t.Parallel()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	work := ItemWork[cache.Digest]{Scheme: "test miss v1", Refs: func(d cache.Digest) []cache.Digest { return []cache.Digest{d} }}
	pre := []string{"kind t v1"}
	rc := func() *RunContext {
		return &RunContext{Store: s, Jobs: 1, Preimage: pre, Key: StepKeyOf(pre), Logf: func(string, ...any) {}}
	}
	ran := 0
	items := func(vals ...string) []Item[cache.Digest] {
		var out []Item[cache.Digest]
		for _, v := range vals {
			out = append(out, missItem(s, v, v, &ran))
		}
		return out
	}
	check := func(what string, got, want []bool) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: misses %v, want %v", what, got, want)
		}
	}
	ctx := context.Background()

	// Nothing memoized: all miss; Misses runs nothing.
	check("empty memo", Misses(rc(), work, items("a", "b", "c")), []bool{true, true, true})
	if ran != 0 {
		t.Fatalf("Misses ran %d items", ran)
	}
	if _, err := Items(ctx, rc(), work, items("a", "c")); err != nil {
		t.Fatal(err)
	}
	check("a and c memoized", Misses(rc(), work, items("a", "b", "c")), []bool{false, true, false})

	// Items agrees: the misses are the items that run, counted as ran.
	r := rc()
	ran = 0
	res, err := Items(ctx, r, work, items("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.items.counts(); ran != 1 || res[1].Cached || c != (ItemCounts{Total: 3, Ran: 1, Cached: 2}) {
		t.Errorf("Items after Misses: %d ran, counts %+v", ran, c)
	}

	// Another salt (a parameter changed): all miss.
	other := &RunContext{Store: s, Preimage: []string{"kind t v1", "param x 1"}}
	check("other salt", Misses(other, work, items("a", "b")), []bool{true, true})
	// No memo (a bare run) or no key: the item always runs.
	check("bare run", Misses(BareRun(s, 1, nil), work, items("a")), []bool{true})
	unkeyed := items("a")
	unkeyed[0].Key = nil
	check("no key", Misses(rc(), work, unkeyed), []bool{true})

	// A record that names a lost blob misses, as in recallItem.
	h := res[2].Value.Hex()
	lost, _ := filepath.Glob(filepath.Join(s.Dir(), "blobs", h[:2], h+"*"))
	if len(lost) != 1 {
		t.Fatalf("blob files of %s: %q", h, lost)
	}
	if err := os.Remove(lost[0]); err != nil {
		t.Fatal(err)
	}
	check("c's blob lost", Misses(rc(), work, items("a", "b", "c")), []bool{false, false, true})
	// A record that does not decode as the work's result type misses.
	check("another type", Misses(rc(), ItemWork[int]{Scheme: work.Scheme}, []Item[int]{{Name: "a", Key: []string{"value a"}}}), []bool{true})

	// Shards: only the shard's own items (Items knows its 5 memoized
	// items, so each shard has a block of them: ordinals m with
	// m·2/5 = Index) can miss; a counting run has none.
	sharded := func(index, count int) *RunContext {
		r := rc()
		r.shard = &ShardRun{Index: index, Count: count}
		return r
	}
	all := items("p", "q", "r", "s", "t")
	check("shard 0 of 2", Misses(sharded(0, 2), work, all), []bool{true, true, true, false, false})
	check("shard 1 of 2", Misses(sharded(1, 2), work, all), []bool{false, false, false, true, true})
	check("counting run", Misses(sharded(0, 0), work, all), []bool{false, false, false, false, false})
}
