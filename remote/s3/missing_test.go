package s3

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	"dsbuild/cache"
)

// fakeShard is a sorted listing served in pages of listPage keys, like
// ListObjectsV2, counting the pages (requests) that are read.
type fakeShard struct {
	objs  []object // sorted by key
	pages int
	fail  error // returned instead of the second page read, when set
}

func (f *fakeShard) list(startAfter string) iter.Seq2[object, error] {
	return func(yield func(object, error) bool) {
		i := sort.Search(len(f.objs), func(i int) bool { return f.objs[i].key > startAfter })
		for {
			if f.pages == 1 && f.fail != nil {
				yield(object{}, f.fail)
				return
			}
			f.pages++
			end := min(i+listPage, len(f.objs))
			for ; i < end; i++ {
				if !yield(f.objs[i], nil) {
					return
				}
			}
			if i == len(f.objs) {
				return
			}
		}
	}
}

// shardDigest returns a digest in shard "ab" made from n.
func shardDigest(n int) cache.Digest {
	d := cache.Sum(fmt.Appendf(nil, "%d", n))
	d[0] = 0xab
	return d
}

// bruteMissing is what Missing must answer, computed the plain way.
func bruteMissing(objs []object, refs []cache.Ref, prefix string) []cache.Ref {
	sizes := map[string]int64{}
	for _, o := range objs {
		sizes[o.key] = o.size
	}
	var out []cache.Ref
	for _, r := range refs {
		if s, ok := sizes[prefix+r.Digest.Hex()]; !ok || s != r.Size {
			out = append(out, r)
		}
	}
	return out
}

func sortRefs(rs []cache.Ref) []cache.Ref {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b cache.Ref) int {
		if c := slices.Compare(a.Digest[:], b.Digest[:]); c != 0 {
			return c
		}
		return int(a.Size - b.Size)
	})
	return rs
}

// makeShard fills a shard with n objects of size 10 (every third one 11),
// plus keys that are not blobs, and returns it with all the digests.
func makeShard(prefix string, n int) (*fakeShard, []cache.Digest) {
	f := &fakeShard{}
	var ds []cache.Digest
	for i := range n {
		d := shardDigest(i)
		ds = append(ds, d)
		size := int64(10)
		if i%3 == 0 {
			size = 11
		}
		f.objs = append(f.objs, object{prefix + d.Hex(), size})
		if i%7 == 0 { // junk beside a blob: a temporary name, a shorter key
			f.objs = append(f.objs, object{prefix + d.Hex() + ".tmp", 1}, object{prefix + d.Hex()[:40], 1})
		}
	}
	slices.SortFunc(f.objs, func(a, b object) int {
		if a.key < b.key {
			return -1
		}
		if a.key > b.key {
			return 1
		}
		return 0
	})
	return f, ds
}

func TestScanShardAnswers(t *testing.T) {
	const prefix = "team/cas/ab/"
	f, ds := makeShard(prefix, 5000)
	rng := rand.New(rand.NewPCG(1, 2))
	var refs []cache.Ref
	for _, i := range rng.Perm(len(ds))[:700] {
		refs = append(refs, cache.Ref{Digest: ds[i], Size: 10}) // wrong size for every third
	}
	for i := range 300 { // absent, interleaved with the present ones
		refs = append(refs, cache.Ref{Digest: shardDigest(100000 + i), Size: 10})
	}
	refs = append(refs,
		cache.Ref{Digest: ds[0], Size: 11}, cache.Ref{Digest: ds[0], Size: 10}, // one digest, two sizes
		cache.Ref{Digest: ds[len(ds)-1], Size: 99},
	)
	got, err := scanShard(prefix, refs, f.list)
	if err != nil {
		t.Fatal(err)
	}
	want := bruteMissing(f.objs, refs, prefix)
	if !slices.Equal(sortRefs(got), sortRefs(want)) {
		t.Errorf("scanShard found %d missing, want %d", len(got), len(want))
	}
	if len(want) < 450 {
		t.Fatalf("test data: only %d refs missing", len(want))
	}
	// Dense refs: reading the shard through costs its pages (7,143 keys:
	// 8), plus a restart where a round ends mid-page.
	t.Logf("%d pages", f.pages)
	if f.pages > 16 {
		t.Errorf("%d pages read for %d refs in a shard of %d keys", f.pages, len(refs), len(f.objs))
	}
}

// TestScanShardSparse: a few refs in a large shard cost a few requests,
// not a listing of the whole shard.
func TestScanShardSparse(t *testing.T) {
	const prefix = "cas/ab/"
	f, ds := makeShard(prefix, 60000) // about 69 pages
	var refs []cache.Ref
	for _, i := range []int{5, 17000, 17001, 40000, 59999} {
		refs = append(refs, cache.Ref{Digest: ds[i], Size: 10})
	}
	refs = append(refs, cache.Ref{Digest: shardDigest(-1), Size: 10})
	got, err := scanShard(prefix, refs, f.list)
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteMissing(f.objs, refs, prefix); !slices.Equal(sortRefs(got), sortRefs(want)) {
		t.Errorf("missing %v, want %v", got, want)
	}
	t.Logf("%d pages", f.pages)
	if f.pages > len(refs) {
		t.Errorf("%d pages read for %d refs", f.pages, len(refs))
	}
}

func TestScanShardEmptyAndError(t *testing.T) {
	refs := []cache.Ref{{Digest: shardDigest(1), Size: 1}, {Digest: shardDigest(2), Size: 0}}
	got, err := scanShard("cas/ab/", refs, (&fakeShard{}).list)
	if err != nil || len(got) != 2 {
		t.Errorf("empty shard: missing %v, %v; want both refs", got, err)
	}

	f, ds := makeShard("cas/ab/", 3000)
	f.fail = errors.New("connection reset")
	refs = nil
	for _, d := range ds {
		refs = append(refs, cache.Ref{Digest: d, Size: 10})
	}
	if _, err := scanShard("cas/ab/", refs, f.list); err == nil || err.Error() != "connection reset" {
		t.Errorf("a failing listing gave %v, want its error", err)
	}
}

// TestRunTasks: at most n at once, every result gathered, the first error
// returned and the tasks not yet started never run.
func TestRunTasks(t *testing.T) {
	var running, peak, ran atomic.Int32
	var tasks []func(context.Context) ([]int, error)
	for i := range 100 {
		tasks = append(tasks, func(ctx context.Context) ([]int, error) {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			defer running.Add(-1)
			ran.Add(1)
			return []int{i}, nil
		})
	}
	got, err := runTasks(context.Background(), 4, tasks)
	if err != nil || len(got) != 100 || peak.Load() > 4 {
		t.Errorf("runTasks: %d results, %v, peak %d", len(got), err, peak.Load())
	}

	ran.Store(0)
	boom := errors.New("boom")
	tasks[3] = func(context.Context) ([]int, error) { ran.Add(1); return nil, boom }
	for i := range tasks[4:] {
		next := tasks[4+i]
		tasks[4+i] = func(ctx context.Context) ([]int, error) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return next(ctx)
		}
	}
	if _, err := runTasks(context.Background(), 1, tasks); !errors.Is(err, boom) {
		t.Errorf("runTasks error %v, want boom", err)
	}
	if ran.Load() > 5 {
		t.Errorf("%d tasks ran after the failing fourth on one worker", ran.Load())
	}
}
