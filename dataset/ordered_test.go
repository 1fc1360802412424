package dataset

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestEmitOrderedOrder: work that finishes in random order is emitted in
// index order, every item once, on any number of workers.
func TestEmitOrderedOrder(t *testing.T) {
	const n = 200
	delays := make([]time.Duration, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range delays {
		delays[i] = time.Duration(rng.IntN(2000)) * time.Microsecond
	}
	work := func(i int) *SourceItem {
		time.Sleep(delays[i])
		return &SourceItem{Name: strconv.Itoa(i)}
	}
	check := func(t *testing.T, got []string) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("%d items emitted, want %d", len(got), n)
		}
		for i, name := range got {
			if name != strconv.Itoa(i) {
				t.Fatalf("item %d is %s, want %d", i, name, i)
			}
		}
	}
	var got []string
	err := EmitOrdered(context.Background(), n, work, func(it *SourceItem) error {
		got = append(got, it.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check(t, got)
	for _, workers := range []int{1, 3, 16} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			var inFlight, most atomic.Int32
			var got []string
			err := EmitOrderedN(context.Background(), workers, n, func(i int) (*SourceItem, error) {
				k := inFlight.Add(1)
				for m := most.Load(); k > m && !most.CompareAndSwap(m, k); m = most.Load() {
				}
				defer inFlight.Add(-1)
				return work(i), nil
			}, func(it *SourceItem) error {
				got = append(got, it.Name)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			check(t, got)
			// The slot channel holds workers results; the one being
			// waited on is taken off it.
			if m := most.Load(); int(m) > workers+1 {
				t.Errorf("%d pieces of work in flight, want at most %d", m, workers+1)
			}
		})
	}
	// No work: no emit, no error.
	if err := EmitOrdered(context.Background(), 0, work, func(*SourceItem) error {
		t.Error("emit called")
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// TestEmitOrderedEmitError: the first emit error stops the run and is
// returned; no work is running or started after the return.
func TestEmitOrderedEmitError(t *testing.T) {
	const n = 1000
	stop := errors.New("stop")
	var running, started atomic.Int32
	emitted := 0
	err := EmitOrdered(context.Background(), n, func(i int) *SourceItem {
		started.Add(1)
		running.Add(1)
		defer running.Add(-1)
		time.Sleep(100 * time.Microsecond)
		return &SourceItem{Name: strconv.Itoa(i)}
	}, func(it *SourceItem) error {
		if it.Name != strconv.Itoa(emitted) {
			t.Errorf("item %s emitted as number %d", it.Name, emitted)
		}
		emitted++
		if emitted == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || emitted != 5 {
		t.Fatalf("EmitOrdered returned %v after %d items, want %v after 5", err, emitted, stop)
	}
	if r := running.Load(); r != 0 {
		t.Errorf("%d pieces of work still running after the return", r)
	}
	s := started.Load()
	time.Sleep(10 * time.Millisecond)
	if s2 := started.Load(); s2 != s || s >= n {
		t.Errorf("work started: %d at the return, %d later, of %d", s, s2, n)
	}
}

// TestEmitOrderedWorkError: a work error is returned when its turn comes,
// after the items before it.
func TestEmitOrderedWorkError(t *testing.T) {
	bad := errors.New("bad")
	var got []string
	err := EmitOrderedN(context.Background(), 4, 50, func(i int) (*SourceItem, error) {
		if i == 7 {
			return nil, bad
		}
		time.Sleep(time.Duration(50-i) * 20 * time.Microsecond)
		return &SourceItem{Name: strconv.Itoa(i)}, nil
	}, func(it *SourceItem) error {
		got = append(got, it.Name)
		return nil
	})
	if !errors.Is(err, bad) || len(got) != 7 || got[6] != "6" {
		t.Errorf("EmitOrderedN returned %v after %v, want %v after items 0 to 6", err, got, bad)
	}
}

// TestEmitOrderedCancel: a cancelled context stops the run with its error,
// before it starts and in the middle.
func TestEmitOrderedCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started atomic.Int32
	work := func(i int) *SourceItem {
		started.Add(1)
		return &SourceItem{Name: strconv.Itoa(i)}
	}
	err := EmitOrdered(ctx, 100, work, func(*SourceItem) error {
		t.Error("emit called after the context was cancelled")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: %v", err)
	}
	if s := started.Load(); s != 0 {
		t.Errorf("cancelled before: %d pieces of work ran", s)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	emitted := 0
	err = EmitOrdered(ctx, 1000, func(i int) *SourceItem {
		time.Sleep(50 * time.Microsecond)
		return &SourceItem{Name: strconv.Itoa(i)}
	}, func(it *SourceItem) error {
		emitted++
		if emitted == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || emitted != 3 {
		t.Errorf("cancelled in the middle: %v after %d items, want %v after 3", err, emitted, context.Canceled)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	err = EmitOrdered(dctx, 1<<20, func(i int) *SourceItem {
		time.Sleep(100 * time.Microsecond)
		return &SourceItem{}
	}, func(*SourceItem) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
}
