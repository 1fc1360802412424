package s3

import (
	"cmp"
	"context"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"dsbuild/cache"
)

const (
	// missingWorkers bounds the requests Missing has in flight at once.
	missingWorkers = 16
	// listMinRefs is the number of refs in one shard (cas/<xx>/) from which
	// Missing lists the shard instead of sending one HEAD per ref.
	//
	// A LIST page answers up to listPage keys in one request, a HEAD one.
	// But a page is up to listPage times the bytes of a HEAD's answer
	// (about 300 bytes per key), costs the server a directory scan, and on
	// AWS is priced like a PUT, about 12 HEADs. With fewer than 8 refs in a
	// shard, the HEADs, 16 at a time, take about as long as a listing and
	// cost less; from 8, a listing saves requests and time. Refs spread
	// evenly over the 256 shards, so a call with fewer than about 1,000
	// refs mostly sends HEADs and one with more than about 3,000 lists
	// nearly every shard it touches.
	listMinRefs = 8
	// listPage is the page size of a listing (the S3 maximum).
	listPage = 1000
)

// Missing returns those of refs that the bucket does not hold, in the order
// given (each once). An object counts only when its size is the ref's: a
// truncated or padded upload is missing. Refs are grouped by shard; a shard
// with listMinRefs or more is listed (ListObjectsV2), the others are asked
// one HEAD each, with at most missingWorkers requests in flight.
//
// Listing needs s3:ListBucket; on AWS, so does a HEAD of a key that does
// not exist (without it S3 answers 403, which is reported as refused
// credentials).
func (r *Remote) Missing(ctx context.Context, refs []cache.Ref) ([]cache.Ref, error) {
	shards := map[string][]cache.Ref{}
	var order []cache.Ref
	seen := map[cache.Ref]bool{}
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		order = append(order, ref)
		p := r.shardPrefix(ref.Digest)
		shards[p] = append(shards[p], ref)
	}

	var tasks []func(context.Context) ([]cache.Ref, error)
	for _, p := range slices.Sorted(maps.Keys(shards)) {
		s := shards[p]
		if len(s) >= listMinRefs {
			tasks = append(tasks, func(ctx context.Context) ([]cache.Ref, error) {
				return r.listShard(ctx, p, s)
			})
			continue
		}
		for _, ref := range s {
			tasks = append(tasks, func(ctx context.Context) ([]cache.Ref, error) {
				return r.head(ctx, ref)
			})
		}
	}

	missing, err := runTasks(ctx, missingWorkers, tasks)
	if err != nil {
		return nil, err
	}
	is := map[cache.Ref]bool{}
	for _, m := range missing {
		is[m] = true
	}
	var out []cache.Ref
	for _, ref := range order {
		if is[ref] {
			out = append(out, ref)
		}
	}
	return out, nil
}

// runTasks runs tasks, n at a time, and gathers what they return; the first
// error cancels the others and no task starts after it.
func runTasks[T any](ctx context.Context, n int, tasks []func(context.Context) ([]T, error)) ([]T, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	var mu sync.Mutex
	var out []T
	for _, t := range tasks {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			got, err := t(gctx)
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, got...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return out, err
	}
	return out, ctx.Err()
}

// head asks for one object: it is missing when absent or of another size.
func (r *Remote) head(ctx context.Context, ref cache.Ref) ([]cache.Ref, error) {
	key := r.blobKey(ref.Digest)
	info, err := r.client.StatObject(ctx, r.bucket, key, minio.StatObjectOptions{})
	switch {
	case err == nil && info.Size == ref.Size:
		return nil, nil
	case err == nil || isNoSuchKey(err):
		return []cache.Ref{ref}, nil
	}
	return nil, r.wrap("stat", key, err)
}

// listShard lists the shard under prefix for refs, which all fall in it.
func (r *Remote) listShard(ctx context.Context, prefix string, refs []cache.Ref) ([]cache.Ref, error) {
	fetchOwner := false
	missing, err := scanShard(prefix, refs, func(startAfter string) iter.Seq2[object, error] {
		return func(yield func(object, error) bool) {
			for o := range r.client.ListObjectsIter(ctx, r.bucket, minio.ListObjectsOptions{
				Prefix:     prefix,
				StartAfter: startAfter,
				Recursive:  true,
				MaxKeys:    listPage,
				FetchOwner: &fetchOwner,
			}) {
				if !yield(object{o.Key, o.Size}, o.Err) || o.Err != nil {
					return
				}
			}
		}
	})
	if err != nil {
		return nil, r.wrap("list", prefix, err)
	}
	return missing, nil
}

// object is one key of a listing, with its size.
type object struct {
	key  string
	size int64
}

// scanShard resolves refs (all in the shard whose keys start with prefix)
// against a listing of the shard: list(startAfter) yields the objects
// after startAfter in key order, fetching pages as it is read, or an error.
//
// The listing is read in rounds of at most listPage keys, each starting
// just before the first ref not yet resolved, so that no round lists keys
// below it: every round resolves at least one ref, and a shard costs at
// most as many listing requests as it has refs (far fewer when refs are
// dense), however many objects it holds.
func scanShard(prefix string, refs []cache.Ref, list func(startAfter string) iter.Seq2[object, error]) ([]cache.Ref, error) {
	type want struct {
		key string
		ref cache.Ref
	}
	ws := make([]want, len(refs))
	for i, ref := range refs {
		ws[i] = want{prefix + ref.Digest.Hex(), ref}
	}
	slices.SortFunc(ws, func(a, b want) int {
		return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.ref.Size, b.ref.Size))
	})

	var missing []cache.Ref
	i := 0
	last := ""
	for i < len(ws) {
		// Just before ws[i].key: its first 63 hex digits sort before it.
		startAfter := max(ws[i].key[:len(ws[i].key)-1], last)
		n, ended := 0, true
		for o, err := range list(startAfter) {
			if err != nil {
				return nil, err
			}
			for i < len(ws) && ws[i].key < o.key {
				missing = append(missing, ws[i].ref)
				i++
			}
			for i < len(ws) && ws[i].key == o.key {
				if ws[i].ref.Size != o.size {
					missing = append(missing, ws[i].ref)
				}
				i++
			}
			last, n = o.key, n+1
			if i == len(ws) || n == listPage {
				ended = false
				break
			}
		}
		if ended {
			// The listing ended: nothing at or after ws[i] exists.
			for ; i < len(ws); i++ {
				missing = append(missing, ws[i].ref)
			}
		}
	}
	return missing, nil
}
