package engine

import (
	"context"
	"errors"
	"fmt"
)

// Steps with equal keys run once per build. Two steps of one recipe can
// have the same key (the same kind, parameters and input digests under
// different addresses, such as an ablation that turns out identical to the
// step it ablates); when the dispatcher starts them at the same time, the
// second would not find the first's result in the action cache, which is
// written only when the first finishes, and would run it again.
//
// So the first step to reach a key (after computing it, before consulting
// the cache) owns the key's flight: it consults the cache and runs as
// usual, and settles the flight with its outcome. Every later step with
// that key takes the outcome instead: at once when the flight has settled,
// otherwise after waiting for it without holding a worker slot. A flight
// stays settled for the rest of the build, so the results do not depend
// on -j or on timing (which of the steps runs may):
//
//   - the owner ran or was cached: the later step is Cached with the
//     owner's outputs, checked as any cache hit (its reason "same key as
//     X, which ran in this build" when X ran);
//   - the owner failed: the later step fails too, with an error naming the
//     owner and its failure (the same key is the same computation, so
//     running it again would fail the same way or hide a flaky step);
//   - the owner waits (WaitingError): the later step waits for the same
//     thing.
//
// Only a step's first attempt takes part: the retries and upstream
// re-executions of a repair neither own nor wait for a flight, so a step
// never waits for a key it is computing itself. Planning (DryRun) takes no
// part either: it runs nothing, and reports each step on its own.

// flight is the single run of one key in a build.
type flight struct {
	owner *Step
	done  chan struct{} // closed when settled
	// Set before done is closed, read only after: a copy of the owner's
	// outcome, so later changes to its result (Duration) do not race.
	status Status
	err    error
}

// claim returns key's flight, and whether s owns it (then s must settle
// it). A flight is created by the first step to claim its key.
func (b *builder) claim(key StepKey, s *Step) (*flight, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.flights[key]; ok {
		return f, false
	}
	if b.flights == nil {
		b.flights = map[StepKey]*flight{}
	}
	f := &flight{owner: s, done: make(chan struct{})}
	b.flights[key] = f
	return f, true
}

// settle records the owner's outcome and releases the steps waiting for it.
// res is nil when the owner's execute is unwinding from a panic: settling
// must not panic again over it (which would hide the first panic's
// message), and the flight counts as failed.
func (f *flight) settle(res *StepResult) {
	if res == nil {
		f.status, f.err = Failed, fmt.Errorf("%s did not finish", f.owner.Addr)
	} else {
		f.status, f.err = res.Status, res.Err
	}
	close(f.done)
}

// follow gives s (whose key, preimage and reason res already holds) the
// outcome of f, waiting for it if it has not settled. While it waits it
// gives its worker slot back (park) and reports what it waits for. ok is
// false when the owner's cached result is not usable for s (other outputs
// than s declares, or incomplete in the store): then s goes on on its own.
func (b *builder) follow(ctx context.Context, s *Step, res *StepResult, f *flight) (*StepResult, bool) {
	select {
	case <-f.done:
	default:
		b.park(s)
		b.opt.Reporter.StepStatus(s, "waiting for "+f.owner.Addr+", which has the same key",
			map[string]any{"waiting_for": f.owner.Addr, "key": res.Key.String()})
		select {
		case <-f.done:
		case <-ctx.Done():
			res.Status = Failed
			res.Err = &StepError{Step: s, Err: fmt.Errorf("waiting for %s, which has the same key: %w", f.owner.Addr, ctx.Err())}
			return res, true
		}
	}
	switch f.status {
	case Ran, Cached:
		// The owner's action cache entry, checked like any cache hit: a
		// repair may have re-run the owner since it settled.
		outs, miss, remote := b.lookup(ctx, s, res.Key, nil)
		if miss != "" {
			return nil, false
		}
		res.Status, res.Outputs, res.Remote = Cached, outs, remote
		if f.status == Ran {
			res.Reason = "same key as " + f.owner.Addr + ", which ran in this build"
		}
	case Waiting:
		res.Status, res.Err = Waiting, f.err
		res.Reason = "same key as " + f.owner.Addr + ", which waits"
	default:
		cause := f.err
		var se *StepError
		if errors.As(cause, &se) && se.Step == f.owner {
			cause = se.Err
		}
		if cause == nil {
			cause = fmt.Errorf("it ended %s", f.status)
		}
		res.Status = Failed
		res.Err = &StepError{Step: s, Err: fmt.Errorf("same key as %s (%s), which failed in this build: %w",
			f.owner.Addr, rangeString(f.owner.DeclRange), cause)}
	}
	return res, true
}

// park tells the dispatcher that s waits for another step and does not
// need its worker slot any more.
func (b *builder) park(s *Step) {
	if b.parked != nil {
		b.parked <- s
	}
}
