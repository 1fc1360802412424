package cache

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel is the store's own I/O parallelism (hashing and copying the
// files of a directory, checking blobs), not item work, which is the
// engine's (engine.Items). It calls fn(i) for every i in [0, n) on up to
// workers goroutines
// (one per CPU when workers ≤ 0). Once a call fails no new call starts;
// calls in flight finish. It returns the failure that prefer ranks first
// (prefer(a, b) reports whether a beats b; nil keeps the first to happen),
// or else ctx's error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error, prefer func(a, b error) bool) error {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	var next atomic.Int64
	var failed atomic.Bool
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil || (prefer != nil && prefer(err, first)) {
						first = err
					}
					mu.Unlock()
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
