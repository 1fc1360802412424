package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// The per-item behaviour of every step (memo, order, errors, counts) is
// tested here, once; step packages test only their own item function.

func newStore(t *testing.T) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stepRun is the RunContext of a step run with preimage pre.
func stepRun(s *cache.Store, jobs int, pre ...string) *engine.RunContext {
	return &engine.RunContext{Store: s, Jobs: jobs, Preimage: pre, Key: engine.StepKeyOf(pre), Logf: func(string, ...any) {}}
}

// upper is an item whose result is its value in capitals, stored as a
// blob; ran counts its runs.
func upper(name, value string, s *cache.Store, ran *atomic.Int64) engine.Item[cache.Digest] {
	return engine.Item[cache.Digest]{Name: name, Key: []string{"value " + value}, Run: func() (cache.Digest, error) {
		ran.Add(1)
		return s.PutBytes([]byte(strings.ToUpper(value)))
	}}
}

var upperWork = engine.ItemWork[cache.Digest]{Scheme: "test upper v1", Refs: func(d cache.Digest) []cache.Digest { return []cache.Digest{d} }}

func TestItemsMemoizeByKeyNotBySalt(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var ran atomic.Int64
	items := func(vals ...string) []engine.Item[cache.Digest] {
		var out []engine.Item[cache.Digest]
		for i, v := range vals {
			out = append(out, upper(fmt.Sprintf("i%d", i), v, s, &ran))
		}
		return out
	}
	ctx := context.Background()
	first, err := engine.Items(ctx, stepRun(s, 2, "kind t v1", "input a 1"), upperWork, items("a", "b", "c"))
	if err != nil || ran.Load() != 3 {
		t.Fatalf("first run: %v, %d ran", err, ran.Load())
	}
	// Another input line (the step's inputs changed), one item changed:
	// only that item runs; the others come from the memo, with the same
	// results.
	again, err := engine.Items(ctx, stepRun(s, 2, "kind t v1", "input a 2"), upperWork, items("a", "B", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 4 {
		t.Errorf("second run ran %d items, want 1", ran.Load()-3)
	}
	for i, want := range []bool{true, false, true} {
		if again[i].Cached != want {
			t.Errorf("item %d cached = %v, want %v", i, again[i].Cached, want)
		}
	}
	if again[0].Value != first[0].Value || again[2].Value != first[2].Value {
		t.Error("memoized results differ from the first run's")
	}
	// Another parameter line (the salt): every item runs again.
	if _, err := engine.Items(ctx, stepRun(s, 2, "kind t v1", "param p 1"), upperWork, items("a", "B", "c")); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 7 {
		t.Errorf("a new salt ran %d items, want 3", ran.Load()-4)
	}
}

func TestItemsKeepTheOrderGiven(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var vals []string
	for i := range 200 {
		vals = append(vals, fmt.Sprintf("v%03d", (i*37)%200))
	}
	var want []cache.Digest
	for _, workers := range []int{1, 3, 8} {
		var ran atomic.Int64
		var items []engine.Item[cache.Digest]
		for i, v := range vals {
			items = append(items, upper(fmt.Sprint(i), v, s, &ran))
		}
		// No memo (a bare run), so every item runs on every pool size.
		res, err := engine.Items(context.Background(), engine.BareRun(s, workers, nil), upperWork, items)
		if err != nil {
			t.Fatal(err)
		}
		var got []cache.Digest
		for i, r := range res {
			if r.Name != fmt.Sprint(i) || r.Cached {
				t.Fatalf("workers %d: result %d is %q (cached %v)", workers, i, r.Name, r.Cached)
			}
			got = append(got, r.Value)
		}
		if ran.Load() != 200 {
			t.Errorf("workers %d: a bare run ran %d of 200 items", workers, ran.Load())
		}
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("workers %d: results differ from 1 worker's", workers)
		}
	}
}

func TestItemsFailWithTheLowestFailingItem(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for round := range 20 {
		var items []engine.Item[int]
		var started sync.Map
		for i := range 50 {
			items = append(items, engine.Item[int]{Name: fmt.Sprintf("n%02d", i), Run: func() (int, error) {
				started.Store(i, true)
				if i == 17 || i == 31 || i == 45 {
					return 0, fmt.Errorf("bad %d", i)
				}
				return i, nil
			}})
		}
		_, err := engine.Items(context.Background(), engine.BareRun(s, 4, nil), engine.ItemWork[int]{Scheme: "t"}, items)
		if err == nil || err.Error() != "item n17: bad 17" {
			t.Fatalf("round %d: err = %v, want item n17's", round, err)
		}
		for i := range 17 {
			if _, ok := started.Load(i); !ok {
				t.Fatalf("round %d: item %d, before the failure, did not run", round, i)
			}
		}
	}
}

func TestItemsTolerateErrorsWithoutMemoizingThem(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	bad := errors.New("unreadable")
	var ran atomic.Int64
	work := engine.ItemWork[string]{Scheme: "t", Tolerate: func(err error) bool { return errors.Is(err, bad) }}
	items := []engine.Item[string]{
		{Name: "ok", Key: []string{"x"}, Run: func() (string, error) { ran.Add(1); return "fine", nil }},
		{Name: "broken", Key: []string{"y"}, Run: func() (string, error) { ran.Add(1); return "", bad }},
	}
	rc := stepRun(s, 2, "kind t v1")
	for pass := range 2 {
		res, err := engine.Items(context.Background(), rc, work, items)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Value != "fine" || res[0].Err != nil || !errors.Is(res[1].Err, bad) || res[1].Cached {
			t.Fatalf("pass %d: results %+v", pass, res)
		}
	}
	if ran.Load() != 3 { // ok once, broken twice
		t.Errorf("%d runs, want 3 (the tolerated failure runs again, the success does not)", ran.Load())
	}
}

func TestItemsRunAgainWhenTheResultIsIncomplete(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var ran atomic.Int64
	rc := stepRun(s, 1, "kind t v1")
	items := []engine.Item[cache.Digest]{upper("a", "gone", s, &ran)}
	res, err := engine.Items(context.Background(), rc, upperWork, items)
	if err != nil {
		t.Fatal(err)
	}
	h := res[0].Value.Hex()
	lost, _ := filepath.Glob(filepath.Join(s.Dir(), "blobs", h[:2], h+"*"))
	if len(lost) != 1 {
		t.Fatalf("blob files of %s: %q", h, lost)
	}
	if err := os.Remove(lost[0]); err != nil {
		t.Fatal(err)
	}
	res, err = engine.Items(context.Background(), rc, upperWork, items)
	if err != nil || res[0].Cached || ran.Load() != 2 || !s.Has(res[0].Value) {
		t.Fatalf("after losing its blob: %v, cached %v, %d runs", err, res[0].Cached, ran.Load())
	}
}

func TestItemsMemoWriteFailureWarnsOnceAndGoesOn(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	// The memo directory is a file: every memo write fails (even as root).
	memo := filepath.Join(s.Dir(), "memo")
	if err := os.RemoveAll(memo); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(memo, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	rc := stepRun(s, 2, "kind t v1")
	rc.Logf = func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }
	var ran atomic.Int64
	items := []engine.Item[cache.Digest]{upper("a", "a", s, &ran), upper("b", "b", s, &ran)}
	res, err := engine.Items(context.Background(), rc, upperWork, items)
	if err != nil {
		t.Fatalf("a failed memo write failed the work: %v", err)
	}
	if got, _ := s.ReadBlob(res[1].Value); string(got) != "B" {
		t.Errorf("result b = %q", got)
	}
	// Two items and the index could not be written: one warning.
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "3 item result(s) could not be remembered") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestStreamItemsStopsTheProducerAfterAFailure(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	emitted := 0
	_, err := engine.StreamItems(context.Background(), engine.BareRun(s, 1, nil), engine.ItemWork[int]{Scheme: "t"}, func(emit func(engine.Item[int]) error) error {
		for i := range 1000 {
			err := emit(engine.Item[int]{Name: fmt.Sprint(i), Run: func() (int, error) {
				if i == 3 {
					return 0, errors.New("boom")
				}
				return i, nil
			}})
			if err != nil {
				return err
			}
			emitted++
		}
		return nil
	})
	if err == nil || err.Error() != "item 3: boom" {
		t.Fatalf("err = %v", err)
	}
	if emitted > 10 { // at most the queue (2 per worker) and the workers beyond item 3
		t.Errorf("the producer emitted %d items after item 3 failed", emitted)
	}
	perr := errors.New("source unreadable")
	_, err = engine.StreamItems(context.Background(), engine.BareRun(s, 1, nil), engine.ItemWork[int]{Scheme: "t"}, func(emit func(engine.Item[int]) error) error {
		return perr
	})
	if !errors.Is(err, perr) {
		t.Errorf("a producer's failure: err = %v", err)
	}
}

func TestItemPreimageExplainsAMemoizedItem(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var ran atomic.Int64
	rc := stepRun(s, 1, "kind t v1", "param p \"x\"", "input a 1")
	if _, err := engine.Items(context.Background(), rc, upperWork, []engine.Item[cache.Digest]{upper("cat.jpg", "meow", s, &ran), upper("dog.jpg", "woof", s, &ran)}); err != nil {
		t.Fatal(err)
	}
	pre, key, err := engine.ItemPreimage(s, rc.Key, "dog.jpg")
	if err != nil {
		t.Fatal(err)
	}
	salt := engine.HashLines([]string{"kind t v1", "param p \"x\""})
	want := []string{"dsbuild item v1", "scheme test upper v1", "salt " + salt.String(), "item dog.jpg", "value woof"}
	if !reflect.DeepEqual(pre, want) {
		t.Errorf("preimage = %q, want %q", pre, want)
	}
	if cache.Digest(key) != engine.HashLines(want) {
		t.Error("the key is not the hash of the preimage")
	}
	if _, _, err := engine.ItemPreimage(s, rc.Key, "dog.jpeg"); err == nil || !strings.Contains(err.Error(), `"dog.jpg"`) {
		t.Errorf("a misspelt item: %v (want a suggestion)", err)
	}
	if _, _, err := engine.ItemPreimage(s, engine.StepKeyOf([]string{"other"}), "dog.jpg"); err == nil || !strings.Contains(err.Error(), "build the step first") {
		t.Errorf("a step that never ran: %v", err)
	}
}

// itemsKind upper-cases each string of its items parameter, one item each.
type itemsKind struct{ ran *atomic.Int64 }

func (itemsKind) Name() string { return "items" }
func (itemsKind) Version() int { return 1 }
func (itemsKind) Schema() *engine.Schema {
	return &engine.Schema{
		Attrs:   []engine.AttrSpec{{Name: "items", Type: cty.List(cty.String), Required: true}, {Name: "tag", Type: cty.String}},
		Outputs: []string{"out"},
	}
}
func (k itemsKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	var items []engine.Item[cache.Digest]
	for _, v := range rc.Config.StringList("items") {
		items = append(items, upper(v, v, rc.Store, k.ran))
	}
	// As if the list were an input (input lines are not in the salt): the
	// item keys do not depend on the rest of the list, so an item added
	// keeps the others.
	rc.Preimage = []string{"kind items v1", "tag " + rc.Config.String("tag")}
	res, err := engine.Items(ctx, rc, upperWork, items)
	if err != nil {
		return nil, err
	}
	var text []string
	for _, r := range res {
		b, _ := rc.Store.ReadBlob(r.Value)
		text = append(text, string(b))
	}
	return fileTree(rc.Store, strings.Join(text, " "))
}

func TestBuildCountsItems(t *testing.T) {
	t.Parallel()
	var ran atomic.Int64
	f := newFixture(t, `items "x" { items = ["a", "b", "c"] }`)
	f.kinds = engine.NewKinds(itemsKind{&ran})
	r, br := f.build(engine.BuildOptions{})
	if got := status(t, r, br, "items.x").Items; got == nil || *got != (engine.ItemCounts{Total: 3, Ran: 3}) {
		t.Fatalf("first build: items %+v", got)
	}
	f.write(`items "x" { items = ["a", "b", "c", "d"] }`)
	r, br = f.build(engine.BuildOptions{})
	res := status(t, r, br, "items.x")
	if res.Items == nil || *res.Items != (engine.ItemCounts{Total: 4, Ran: 1, Cached: 3}) {
		t.Fatalf("after adding one: items %+v", res.Items)
	}
	if got := readTree(t, f.store, res.Outputs["out"]); got != "A B C D" {
		t.Errorf("output %q", got)
	}
	// Cached at the step level: no item work, no counts.
	r, br = f.build(engine.BuildOptions{})
	if res := status(t, r, br, "items.x"); res.Status != engine.Cached || res.Items != nil {
		t.Errorf("third build: %s, items %+v", res.Status, res.Items)
	}
}

// A step's items run in shards (as a distributed build runs them, each
// shard perhaps elsewhere) are memoized; the full run then runs none of
// them again, and its output is the output of a run without shards.
func TestShardsFillTheMemoAndChangeNothing(t *testing.T) {
	t.Parallel()
	var ran atomic.Int64
	f := newFixture(t, `items "x" { items = ["a", "b", "c", "d", "e", "f", "g"] }`)
	f.kinds = engine.NewKinds(itemsKind{&ran})
	r, diags := engine.Load(f.dir, engine.LoadOptions{Kinds: f.kinds})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	step := r.Step("items.x")
	var all []engine.ItemKey
	for i := range 3 {
		sh := &engine.ShardRun{Step: step, Index: i, Count: 3}
		br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: f.store, Shard: sh})
		if err != nil {
			t.Fatal(err)
		}
		res := br.Result(step)
		if res.Status != engine.Ran || len(res.Outputs) != 0 {
			t.Fatalf("shard %d: %s, outputs %v, err %v", i, res.Status, res.Outputs, res.Err)
		}
		want := []int{3, 2, 2}[i] // blocks: items 0–2, 3–4, 5–6
		if len(sh.Keys) != want || res.Items == nil || res.Items.Ran != want {
			t.Fatalf("shard %d: %d keys, items %+v; want %d", i, len(sh.Keys), res.Items, want)
		}
		all = append(all, sh.Keys...)
		if _, err := f.store.GetAction(res.Key.ActionKey()); err == nil {
			t.Fatalf("shard %d committed an entry for the step", i)
		}
	}
	if ran.Load() != 7 {
		t.Fatalf("the shards ran %d items, want 7 (each once)", ran.Load())
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: f.store})
	if err != nil {
		t.Fatal(err)
	}
	res := br.Result(step)
	if res.Status != engine.Ran || res.Items == nil || *res.Items != (engine.ItemCounts{Total: 7, Cached: 7}) {
		t.Fatalf("full run: %s, items %+v", res.Status, res.Items)
	}
	if ran.Load() != 7 {
		t.Errorf("the full run ran items again: %d runs in all", ran.Load())
	}
	if got := readTree(t, f.store, res.Outputs["out"]); got != "A B C D E F G" {
		t.Errorf("output %q", got)
	}
	// Without shards, on another store: the same output digest.
	plain := newFixture(t, `items "x" { items = ["a", "b", "c", "d", "e", "f", "g"] }`)
	plain.kinds = engine.NewKinds(itemsKind{&atomic.Int64{}})
	pr, pbr := plain.build(engine.BuildOptions{})
	if d := status(t, pr, pbr, "items.x").Outputs["out"]; d != res.Outputs["out"] {
		t.Errorf("sharded output %s, plain %s", res.Outputs["out"].Short(), d.Short())
	}
}
