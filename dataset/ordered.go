package dataset

import (
	"context"
	"runtime"
	"sync"
)

// EmitOrdered runs work(0) … work(n-1) on their own goroutines and passes
// the results to emit in index order, whatever order the work finishes in.
// At most GOMAXPROCS results are queued beyond the one emit waits for, so
// at most GOMAXPROCS+1 pieces of work are in flight. It is the loop of an
// [Importer] whose items are independent and costly to read: the items
// come out in the same, deterministic order as a serial loop would give
// them.
//
// It stops at the first error of emit, which it returns, or when ctx is
// done, returning ctx.Err(). Either way no further work is started, the
// results not yet emitted are dropped, and it returns only after the work
// in flight has finished: no goroutine outlives the call.
func EmitOrdered(ctx context.Context, n int, work func(i int) *SourceItem, emit func(*SourceItem) error) error {
	return EmitOrderedN(ctx, 0, n, func(i int) (*SourceItem, error) { return work(i), nil }, emit)
}

// EmitOrderedN is [EmitOrdered] with workers in place of GOMAXPROCS (at
// most workers+1 pieces of work in flight; GOMAXPROCS if workers ≤ 0) and
// work that may fail: an error of work(i) stops the run as an error of
// emit would, when its turn comes (after the results of work(0) …
// work(i-1) have been emitted), and is returned.
func EmitOrderedN(ctx context.Context, workers, n int, work func(i int) (*SourceItem, error), emit func(*SourceItem) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		it  *SourceItem
		err error
	}
	// slots holds the results to come, in index order; its capacity bounds
	// the work in flight.
	slots := make(chan chan result, workers)
	var wg sync.WaitGroup
	go func() {
		defer close(slots)
		for i := 0; i < n; i++ {
			s := make(chan result, 1)
			select {
			case slots <- s:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ctx.Err() != nil {
					s <- result{}
					return
				}
				it, err := work(i)
				s <- result{it, err}
			}()
		}
	}()
	var err error
	for s := range slots {
		r := <-s
		if err != nil {
			continue // draining
		}
		if err = r.err; err != nil {
			cancel()
			continue
		}
		if err = ctx.Err(); err != nil {
			cancel()
			continue
		}
		if err = emit(r.it); err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return err
}
