package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"dsbuild/cache"
)

// Item work: a step that does the same work on many items (transform,
// import, preannotate) hands the items to the engine, which owns their
// memo, their workers and their counts:
//
//   - An item's key is the SHA-256 of its preimage: the line "dsbuild item
//     v1", the work's scheme ("scheme transform item v2"), the step's salt
//     (the digest of the step's preimage without its input lines, so that
//     an item whose own inputs did not change keeps its result when other
//     items change), "item <name>", then the item's own key lines (the
//     digests of what it reads). `dsbuild explain STEP --item NAME` prints
//     it.
//   - A memoized result is used when its record decodes and the work's
//     blobs it names (the work's Refs) are still stored; anything else is
//     a miss, and the item runs again.
//   - Misses run on one bounded pool of workers (the work's Workers, else
//     the build's -j, else one per CPU), reporting progress as items finish;
//     results come back in the order the items were given, whatever order
//     they finish in.
//   - Only results without an error are memoized. Errors are returned
//     naming their item ("item NAME: …") unless they name it themselves. An error the work
//     tolerates is the item's outcome (returned, not memoized: the item runs
//     again next build). Any other error fails the work: no item after it
//     starts, the items before it finish, and the error of the lowest item
//     fails the step — the same error whatever the scheduling.
//   - Failing to write a memo record (disk full, a read-only store) does not
//     fail the step: the result stands, the step warns once with the count
//     and the first error, and the next build runs those items again.
//   - The step's result counts the items that ran and those taken from the
//     memo (StepResult.Items); a build prints them per step.
//
// Items are memoized only where the run has a step key: a RunContext made
// by BareRun (the CLI's convert and stats) runs items without a memo.

// ShardRun runs one shard of a step's items (a distributed build splits
// a large step this way): Items and StreamItems run only the shard's
// items, memoize them, record their keys in Keys, and return ErrShardDone,
// which the step passes on, so that it stops without outputs. The step run
// in full afterwards finds those items in the memo: its outputs do not
// depend on how its items were sharded.
//
// Which items are the shard's: Items, which knows its M memoized items
// up front, gives shard Index the block of them whose ordinals m (in the
// order the step gives them) have m·Count/M = Index, so a shard's items
// sit side by side, as they do in the packs its inputs came in and its
// results go in (cache.Store's packs); StreamItems, which does not know M,
// gives it the items whose position is Index modulo Count.
//
// With Count 0 the run only counts: no item runs, and Total says how many
// memoized items the step has (how many a split would share out).
type ShardRun struct {
	Step         *Step
	Index, Count int

	mu    sync.Mutex
	Keys  []ItemKey // memoized by the shard, in item order
	Total int       // the step's memoized items, over all shards
}

// Itemwise is implemented by the kinds whose Run hands its work to Items or
// StreamItems before doing anything else that costs: their steps can run
// in shards (BuildOptions.Shard) and may set shard_size.
type Itemwise interface {
	Kind
	Itemwise()
}

// ErrShardDone ends a step run for one shard of its items.
var ErrShardDone = errors.New("engine: shard done")

// ItemKey is the key of one item's memoized result. It is not a step key
// (StepKey) or a content digest (cache.Digest), and cannot be passed for
// one; the item memo is keyed by it (cache.MemoKey).
type ItemKey cache.Digest

// itemKeyOf is the key of an item's preimage.
func itemKeyOf(preimage []string) ItemKey { return ItemKey(HashLines(preimage)) }

// String returns the key as "sha256:<64 hex digits>".
func (k ItemKey) String() string { return cache.Digest(k).String() }

// Short returns the first 12 hex digits, for messages meant for people.
func (k ItemKey) Short() string { return cache.Digest(k).Short() }

// IsZero reports whether k is the zero value: the item is not memoized.
func (k ItemKey) IsZero() bool { return k == ItemKey{} }

// memo is the item memo's key for the item.
func (k ItemKey) memo() cache.MemoKey { return cache.MemoKey(k) }

// ItemScheme is the first line of every item preimage; bump it when the
// preimage's layout changes.
const ItemScheme = "dsbuild item v1"

// Item is one unit of a step's item work.
type Item[T any] struct {
	// Name names the item in errors, in explain --item and in the item
	// index. Names need not be unique, but explain finds the first.
	Name string
	// Key holds the item's own key lines: the digests of everything it
	// reads beyond the step's parameters. nil: the item is not memoized and
	// runs every time.
	Key []string
	// Run computes the item's result. It must be deterministic and must not
	// depend on other items.
	Run func() (T, error)
	// Reads, if set, lists the blobs Run reads (its image, its
	// annotation). When the store's remote holds them, the items that are
	// not in the memo get them fetched ahead, many at a time, instead of
	// one blob per read.
	Reads []cache.Digest
}

// ItemWork describes how a step's items run.
type ItemWork[T any] struct {
	// Scheme names what the results mean and their version ("transform
	// item v2"); bump it when a result for the same key lines changes.
	Scheme string
	// Workers bounds the items run at once; ≤ 0: the build's -j, else one
	// per CPU.
	Workers int
	// Refs, if set, lists the blobs a result names (its images and
	// annotations). A memoized result is used only while they are all
	// stored, and a gc keeps its memo entry while they are live.
	Refs func(v T) []cache.Digest
	// Tolerate, if set, reports whether err is the item's own outcome
	// rather than the step's failure.
	Tolerate func(err error) bool
}

// ItemResult is the outcome of one item, in the order the items were
// given.
type ItemResult[T any] struct {
	Name   string
	Value  T
	Err    error // a tolerated error; Value is then T's zero value
	Cached bool  // taken from the memo
}

// ItemCounts are a step's item counts: how many items it had, how many
// ran and how many came from the memo. Items that are not memoized count
// as ran.
type ItemCounts struct {
	Total, Ran, Cached int
}

// itemTally is what a run's item work adds up to; Items may be called more
// than once per run.
type itemTally struct {
	ran, cached atomic.Int64
	used        atomic.Bool
}

func (t *itemTally) counts() (ItemCounts, bool) {
	if !t.used.Load() {
		return ItemCounts{}, false
	}
	r, c := int(t.ran.Load()), int(t.cached.Load())
	return ItemCounts{Total: r + c, Ran: r, Cached: c}, true
}

// BareRun is a RunContext outside a build, for work that uses a step's
// machinery without being a step (the CLI's convert): items run on jobs
// workers (one per CPU when 0) and are not memoized.
func BareRun(store *cache.Store, jobs int, progress func(done, total int64)) *RunContext {
	return &RunContext{Store: store, Jobs: jobs, Progress: progress, Logf: func(string, ...any) {}}
}

// itemRecord is what the memo keeps of an item: its preimage, for explain,
// and its result.
type itemRecord[T any] struct {
	Preimage []string `json:"preimage"`
	Value    T        `json:"value"`
}

// itemIndexEntry is one item of a step's item index.
type itemIndexEntry struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// itemIndexKey is the memo key under which the items of a step run with
// key step are listed.
func itemIndexKey(step StepKey) cache.MemoKey {
	return cache.MemoKey(HashLines([]string{"dsbuild item index v1", step.String()}))
}

// Items runs items with rc's memo and pool; see ItemWork and the rules at
// the top of this file.
func Items[T any](ctx context.Context, rc *RunContext, w ItemWork[T], items []Item[T]) ([]ItemResult[T], error) {
	memoized := -1 // counted for a shard run only
	if rc.shard != nil {
		memoized = memoizedItems(items)
	}
	return runItems(ctx, rc, w, int64(len(items)), memoized, &rc.items, func(emit func(Item[T]) error) error {
		for _, it := range items {
			if err := emit(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// StreamItems is Items for items that produce emits one by one (an
// importer reading its source), without holding them all: at most twice
// the workers wait to run. A failure of produce fails the work, unless an
// item failed first. Progress totals are unknown (0).
func StreamItems[T any](ctx context.Context, rc *RunContext, w ItemWork[T], produce func(emit func(Item[T]) error) error) ([]ItemResult[T], error) {
	return runItems(ctx, rc, w, 0, -1, &rc.items, produce)
}

// Misses reports, for each of items (in the order Items would be given
// them), whether Items with the same rc and w would run it rather than
// recall it: the item is not memoized (no Key, or a run without a memo),
// or its memo record is missing, no longer decodes or names a blob that
// is gone (recallItem's rules). In a shard run only the shard's own
// items can miss (those Items would run), and in a counting run (Count 0)
// none does. A step whose work for its items happens outside them in one
// batch (a user's command run once over the missing images) uses it to
// do that work for the misses only, then passes every item to Items,
// which recalls the others and counts the misses as ran. Misses neither
// runs, counts nor memoizes anything. (A record that disappears between
// Misses and Items, a gc's doing, makes that item run anyway.)
func Misses[T any](rc *RunContext, w ItemWork[T], items []Item[T]) []bool {
	out := make([]bool, len(items))
	memo := rc.Preimage != nil
	var salt string
	if memo {
		salt = rc.ItemSalt().String()
	}
	shard := rc.shard
	memoized := memoizedItems(items)
	ord := -1
	for i, it := range items {
		if it.Key != nil {
			ord++
		}
		if shard != nil && (shard.Count == 0 || it.Key == nil || !shard.owns(i, ord, memoized)) {
			continue // counting only, or another shard's: Items does not run it
		}
		if !memo || it.Key == nil {
			out[i] = true
			continue
		}
		_, ok := recallItem[T](rc.Store, itemKeyOf(itemPreimage(w.Scheme, salt, it)))
		out[i] = !ok
	}
	return out
}

// itemNamer is an error that names its item itself (dataset.ItemError):
// the engine does not name it again.
type itemNamer interface{ ItemName() string }

// errStopped is what emit returns once an item has failed.
var errStopped = errors.New("engine: item work stopped")

// memoizedItems counts the items with a Key: those a shard shares out.
func memoizedItems[T any](items []Item[T]) int {
	n := 0
	for _, it := range items {
		if it.Key != nil {
			n++
		}
	}
	return n
}

// owns reports whether the item at position pos, the ord-th memoized one,
// is the shard's (see ShardRun), memoized being the step's memoized items
// (-1: not known).
func (s *ShardRun) owns(pos, ord, memoized int) bool {
	if memoized > 0 {
		return int64(ord)*int64(s.Count)/int64(memoized) == int64(s.Index)
	}
	return pos%s.Count == s.Index
}

// runItems is Items and StreamItems; tally, if not nil, counts the items;
// memoized is the number of items with a Key, -1 when not known ahead
// (StreamItems).
func runItems[T any](ctx context.Context, rc *RunContext, w ItemWork[T], total int64, memoized int, tally *itemTally, produce func(emit func(Item[T]) error) error) ([]ItemResult[T], error) {
	workers := w.Workers
	if workers <= 0 {
		workers = rc.Jobs
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	memo := rc.Preimage != nil
	var salt string
	if memo {
		salt = rc.ItemSalt().String()
	}
	if tally != nil {
		tally.used.Store(true)
	}

	type job struct {
		seq int
		it  Item[T]
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job, 2*workers)
	var (
		mu        sync.Mutex
		results   []ItemResult[T]
		keys      []ItemKey // by seq; zero: not memoized
		failedAt  = -1
		failure   error
		done      atomic.Int64
		memoFails atomic.Int64
		memoErr   error
		wg        sync.WaitGroup
	)
	fail := func(seq int, err error) {
		mu.Lock()
		if failedAt < 0 || seq < failedAt {
			failedAt, failure = seq, err
		}
		mu.Unlock()
	}
	stopped := func(seq int) bool {
		mu.Lock()
		defer mu.Unlock()
		return failedAt >= 0 && seq > failedAt
	}
	memoFailed := func(err error) {
		if memoFails.Add(1) == 1 {
			mu.Lock()
			memoErr = err
			mu.Unlock()
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if stopped(j.seq) || ctx.Err() != nil {
					continue
				}
				res, key, err := runItem(rc.Store, w, memo, salt, j.it, memoFailed)
				if err != nil {
					fail(j.seq, err)
					continue
				}
				switch {
				case tally == nil:
				case res.Cached:
					tally.cached.Add(1)
				default:
					tally.ran.Add(1)
				}
				mu.Lock()
				results[j.seq], keys[j.seq] = res, key
				mu.Unlock()
				if rc.Progress != nil {
					rc.Progress(done.Add(1), total)
				}
			}
		}()
	}
	seq, pos, ord := 0, -1, -1
	shard := rc.shard
	send := func(j job) error {
		select {
		case queue <- j:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// With a remote, items go to the pool in batches whose reads (of the
	// items not in the memo) are fetched first, many blobs at a time.
	batch := 0
	if rc.Store != nil && rc.Store.HasRemote() {
		batch = max(4*workers, 32)
	}
	var pending []job
	flush := func() error {
		var reads []cache.Digest
		for _, j := range pending {
			if len(j.it.Reads) == 0 {
				continue
			}
			if memo && j.it.Key != nil {
				if _, err := rc.Store.GetMemoRecord(itemKeyOf(itemPreimage(w.Scheme, salt, j.it)).memo()); err == nil {
					continue
				}
			}
			reads = append(reads, j.it.Reads...)
		}
		rc.Store.FetchBlobs(ctx, reads)
		for _, j := range pending {
			if err := send(j); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	perr := produce(func(it Item[T]) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if shard != nil && it.Key != nil {
			shard.mu.Lock()
			shard.Total++
			shard.mu.Unlock()
		}
		pos++
		if it.Key != nil {
			ord++
		}
		if shard != nil && (shard.Count == 0 || it.Key == nil || !shard.owns(pos, ord, memoized)) {
			return nil // counting only, not memoized, or another shard's: nothing to share
		}
		mu.Lock()
		if failedAt >= 0 {
			mu.Unlock()
			return errStopped
		}
		results = append(results, ItemResult[T]{})
		keys = append(keys, ItemKey{})
		mu.Unlock()
		j := job{seq, it}
		seq++
		if batch == 0 {
			return send(j)
		}
		if pending = append(pending, j); len(pending) >= batch {
			return flush()
		}
		return nil
	})
	if perr == nil && len(pending) > 0 {
		perr = flush()
	}
	close(queue)
	wg.Wait()
	if failure != nil {
		return nil, failure
	}
	if perr != nil {
		return nil, perr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if shard != nil {
		shard.mu.Lock()
		for _, k := range keys {
			if !k.IsZero() {
				shard.Keys = append(shard.Keys, k)
			}
		}
		shard.mu.Unlock()
		if n := memoFails.Load(); n > 0 {
			return nil, fmt.Errorf("%d item result(s) of the shard could not be remembered: %v", n, memoErr)
		}
		return nil, ErrShardDone
	}
	if memo {
		if err := writeItemIndex(rc.Store, rc.Key, results, keys); err != nil && memoFails.Add(1) == 1 {
			memoErr = err
		}
	}
	if n := memoFails.Load(); n > 0 && rc.Logf != nil {
		rc.Logf("%d item result(s) could not be remembered (%v); the next build runs them again", n, memoErr)
	}
	return results, nil
}

// runItem recalls one item from the memo or runs it (and memoizes a
// success, reporting a failed write to memoFailed). A tolerated error is
// the result's; any other is returned, naming the item. The key is zero
// when the result is not memoized.
func runItem[T any](s *cache.Store, w ItemWork[T], memo bool, salt string, it Item[T], memoFailed func(error)) (ItemResult[T], ItemKey, error) {
	res := ItemResult[T]{Name: it.Name}
	var key ItemKey
	var pre []string
	if memo && it.Key != nil {
		pre = itemPreimage(w.Scheme, salt, it)
		key = itemKeyOf(pre)
		if v, ok := recallItem[T](s, key); ok {
			res.Value, res.Cached = v, true
			return res, key, nil
		}
	}
	v, err := it.Run()
	switch {
	case err == nil:
		res.Value = v
		if !key.IsZero() {
			var refs []cache.Digest
			if w.Refs != nil {
				refs = w.Refs(v)
			}
			if err := rememberItem(s, key, pre, v, refs); err != nil {
				memoFailed(err)
			}
		}
		return res, key, nil
	case w.Tolerate != nil && w.Tolerate(err):
		res.Err = err
		return res, ItemKey{}, nil
	}
	var named itemNamer
	if it.Name != "" && !(errors.As(err, &named) && named.ItemName() == it.Name) {
		err = fmt.Errorf("item %s: %w", it.Name, err)
	}
	return res, ItemKey{}, err
}

// itemPreimage is the preimage of an item's key.
func itemPreimage[T any](scheme, salt string, it Item[T]) []string {
	pre := make([]string, 0, 4+len(it.Key))
	pre = append(pre, ItemScheme, "scheme "+scheme, "salt "+salt, "item "+it.Name)
	return append(pre, it.Key...)
}

// recallItem reads the memoized result of key, if every blob it names is
// still stored (the store checks its refs).
func recallItem[T any](s *cache.Store, key ItemKey) (T, bool) {
	var zero T
	raw, err := s.GetMemoRecord(key.memo())
	if err != nil {
		return zero, false
	}
	var rec itemRecord[T]
	if json.Unmarshal(raw, &rec) != nil {
		return zero, false
	}
	return rec.Value, true
}

// rememberItem memoizes an item's result under key, in its memo entry,
// with the blobs it names.
func rememberItem[T any](s *cache.Store, key ItemKey, pre []string, v T, refs []cache.Digest) error {
	raw, err := json.Marshal(itemRecord[T]{Preimage: pre, Value: v})
	if err != nil {
		return err
	}
	return s.PutMemoRecord(key.memo(), raw, refs)
}

// writeItemIndex records the memoized items of the step run with key step
// (by name, then in the order given), for explain --item.
func writeItemIndex[T any](s *cache.Store, step StepKey, results []ItemResult[T], keys []ItemKey) error {
	if step.IsZero() {
		return nil
	}
	var idx []itemIndexEntry
	for i, k := range keys {
		if !k.IsZero() {
			idx = append(idx, itemIndexEntry{Name: results[i].Name, Key: k.String()})
		}
	}
	if len(idx) == 0 {
		return nil
	}
	sort.SliceStable(idx, func(i, j int) bool { return idx[i].Name < idx[j].Name })
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	d, err := s.PutBytes(raw)
	if err != nil {
		return err
	}
	return s.PutMemo(itemIndexKey(step), []cache.Output{{Name: "index", Digest: d}})
}

// ItemPreimage returns the key and the key preimage of the item named name
// as the run of the step with key step memoized it. It fails, saying why,
// when that run recorded no such item: the step has not run with this key
// on this store, the item is not memoized (it failed, or its work keeps no
// memo), or its record is gone.
func ItemPreimage(s *cache.Store, step StepKey, name string) ([]string, ItemKey, error) {
	outs, err := s.GetMemo(itemIndexKey(step))
	if err != nil || len(outs) != 1 {
		return nil, ItemKey{}, fmt.Errorf("no item of this step is memoized under its key %s: build the step first (its items are recorded when it runs, not when its result is taken from the cache)", step.Short())
	}
	raw, err := s.ReadBlob(outs[0].Digest)
	if err != nil {
		return nil, ItemKey{}, fmt.Errorf("the step's item index: %w", err)
	}
	var idx []itemIndexEntry
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, ItemKey{}, fmt.Errorf("the step's item index: %w", err)
	}
	i := sort.Search(len(idx), func(i int) bool { return idx[i].Name >= name })
	if i == len(idx) || idx[i].Name != name {
		var near []string
		for _, e := range idx {
			near = append(near, e.Name)
		}
		msg := fmt.Sprintf("the step has no memoized item %q.", name)
		if sg := Suggest(name, near); sg != "" {
			msg += sg
		} else {
			some := near[:min(5, len(near))]
			msg += fmt.Sprintf(" Its items (%d) begin: %s", len(near), strings.Join(some, ", "))
		}
		return nil, ItemKey{}, errors.New(msg)
	}
	d, err := cache.ParseDigest(idx[i].Key)
	if err != nil {
		return nil, ItemKey{}, fmt.Errorf("the step's item index: %w", err)
	}
	key := ItemKey(d)
	raw, err = s.GetMemoRecord(key.memo())
	if err != nil {
		return nil, key, fmt.Errorf("item %q: its memo record %s is gone or incomplete (a gc, or a failed write); build the step again", name, key.Short())
	}
	var rec struct {
		Preimage []string `json:"preimage"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, key, fmt.Errorf("item %q: its memo record: %w", name, err)
	}
	return rec.Preimage, key, nil
}

// ItemPlanner is implemented by kinds that can list their items and their
// key lines without running them (from their inputs), so that plan can
// estimate how many items a step that would run needs to run.
type ItemPlanner interface {
	PlanItems(ctx context.Context, rc *RunContext) (ItemPlan, error)
}

// ItemPlan is a step's item work without the work: its scheme and each
// item's name and key lines.
type ItemPlan struct {
	Scheme string
	Items  []ItemKeyLines
}

// ItemKeyLines are an item's name and key lines.
type ItemKeyLines struct {
	Name string
	Key  []string
}

// PlanOf is the plan of running items with w.
func PlanOf[T any](w ItemWork[T], items []Item[T]) ItemPlan {
	p := ItemPlan{Scheme: w.Scheme, Items: make([]ItemKeyLines, len(items))}
	for i, it := range items {
		p.Items[i] = ItemKeyLines{Name: it.Name, Key: it.Key}
	}
	return p
}

// estimateItems counts the items of p that rc's step would run and those
// its memo has (an estimate: a record that no longer decodes runs).
func estimateItems(rc *RunContext, p ItemPlan) ItemCounts {
	salt := rc.ItemSalt().String()
	c := ItemCounts{Total: len(p.Items)}
	for _, it := range p.Items {
		if it.Key != nil {
			key := itemKeyOf(itemPreimage(p.Scheme, salt, Item[struct{}]{Name: it.Name, Key: it.Key}))
			if _, err := rc.Store.GetMemoRecord(key.memo()); err == nil {
				c.Cached++
				continue
			}
		}
		c.Ran++
	}
	return c
}
