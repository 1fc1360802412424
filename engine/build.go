package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"dsbuild/cache"
)

// Status is what became of a step in a build.
type Status string

const (
	Ran     Status = "ran"     // the step ran and its outputs were stored
	Cached  Status = "cached"  // the action cache had its outputs
	Failed  Status = "failed"  // the step failed
	Waiting Status = "waiting" // the step waits for an input that does not exist yet
	Skipped Status = "skipped" // not run: an upstream step failed or waits, or the build stopped
	WillRun Status = "runs"    // planning only: the step would run
)

// StepResult is the outcome of one step.
type StepResult struct {
	Step     *Step
	Status   Status
	Key      StepKey // zero when the inputs were not known
	Preimage []string
	Outputs  map[string]cache.Digest
	Err      error
	// Reason says why a step runs (or would run): the preimage line that
	// changed since the lockfile, "new step", "not in the store", or the
	// upstream step it waits for.
	Reason   string
	Duration time.Duration
	// Items counts the step's items (ran, and taken from the item memo)
	// when it ran item work (Items, StreamItems), or, planning, estimates
	// them for a step that would run and can plan its items (ItemPlanner);
	// nil otherwise.
	Items *ItemCounts
	// Remote: the step is cached because the store's remote holds its
	// result (checked, not downloaded); its outputs are fetched when read.
	Remote bool
}

// Reporter receives build events; methods may be called from several
// goroutines at once.
type Reporter interface {
	StepStarted(s *Step)
	StepProgress(s *Step, done, total int64)
	// StepStatus is a step's own account of where it is ("epoch 2/10
	// loss 0.41"), with the same facts as fields for machine readers.
	StepStatus(s *Step, msg string, fields map[string]any)
	StepFinished(r *StepResult)
	Warn(msg string)
}

// BuildOptions configures Build.
type BuildOptions struct {
	Store     *cache.Store
	Jobs      int     // steps run at once; 0 means one per CPU
	KeepGoing bool    // go on with independent steps after a failure
	Targets   []*Step // build these and their dependencies; nil means all
	Reporter  Reporter
	Lock      *Lockfile // the previous lockfile, for reasons; may be nil
	DryRun    bool      // plan: compute keys and consult the cache, run nothing
	// Sources, if not nil, gives the source digests of Sourced steps by
	// step address (StoreSources computed them, perhaps on another
	// machine): such a step takes them instead of reading its directory,
	// so a worker that lacks the recipe's data can run it. A Sourced step
	// missing from the map reads its directory as usual.
	Sources map[string]map[string]cache.Digest
	// Prefetch downloads, before a step runs, everything its inputs reach
	// that the store lacks, many blobs at a time (a worker whose inputs
	// are on the remote), rather than one blob per read.
	Prefetch bool
	// Shard, if not nil, runs only one shard of its step's items
	// (ShardRun): the step is built as far as its Run, which stops with
	// ErrShardDone; its result is then Ran with no outputs, nothing is
	// committed for it, and Shard.Keys lists the items the shard
	// memoized. A step found in the cache is not run at all.
	Shard *ShardRun
	// ScratchRecipe says the recipe directory is a scratch copy (a worker
	// of a distributed build): steps write nothing meant for people into
	// it (RunContext.ScratchRecipe; a review step's package), since the
	// client writes that into the real recipe.
	ScratchRecipe bool
	// Record, if not nil, is called once with the result of a build (not
	// of a DryRun) while Build still holds the store's shared lock. It
	// makes the results reachable (RecordBuild), so that a gc, which
	// takes the exclusive lock before it reads its roots, finds them.
	Record func(*BuildResult) error
}

// BuildResult is the outcome of a build.
type BuildResult struct {
	Steps  []*StepResult // in build order (a topological order)
	Counts map[Status]int
	// Remote names the store's remote ("" when none) and Transfer says
	// what moved to and from it during the build.
	Remote   string
	Transfer cache.RemoteStats
}

// Result returns the result of step s, or nil.
func (br *BuildResult) Result(s *Step) *StepResult {
	for _, r := range br.Steps {
		if r.Step == s {
			return r
		}
	}
	return nil
}

// FirstError returns the first failure in build order, or nil.
func (br *BuildResult) FirstError() error {
	for _, r := range br.Steps {
		if r.Status == Failed {
			return r.Err
		}
	}
	return nil
}

type builder struct {
	opt     BuildOptions
	recipe  *Recipe
	mu      sync.Mutex
	results map[*Step]*StepResult
	flights map[StepKey]*flight // by key; see flight.go
	// parked receives a step that waits for another step's flight and
	// gives its worker slot back; nil outside Build's dispatcher.
	parked chan *Step
}

// Order returns the steps needed for targets (all steps if nil) in a
// deterministic topological order: each step after its dependencies, ties
// broken by address.
func Order(r *Recipe, targets []*Step) []*Step {
	need := map[*Step]bool{}
	var mark func(s *Step)
	mark = func(s *Step) {
		if need[s] {
			return
		}
		need[s] = true
		for _, d := range s.Deps {
			mark(d)
		}
	}
	if targets == nil {
		targets = r.Steps
	}
	for _, t := range targets {
		mark(t)
	}
	pending := map[*Step]int{}
	dependents := map[*Step][]*Step{}
	var ready []*Step
	for _, s := range r.Steps {
		if !need[s] {
			continue
		}
		pending[s] = len(s.Deps)
		for _, d := range s.Deps {
			dependents[d] = append(dependents[d], s)
		}
		if len(s.Deps) == 0 {
			ready = append(ready, s)
		}
	}
	var out []*Step
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return ready[i].Addr < ready[j].Addr })
		s := ready[0]
		ready = ready[1:]
		out = append(out, s)
		for _, d := range dependents[s] {
			pending[d]--
			if pending[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return out
}

// Build runs the steps of r (or of opt.Targets and their dependencies). It
// stops starting new steps after the first failure unless KeepGoing; steps
// already running finish and keep their results. The error is non-nil only
// when the build could not be attempted, or when opt.Record failed (then
// the result is returned too); step failures are in the result.
//
// Build holds the store's shared lock from before the first step until
// after opt.Record, so a gc never runs between a step storing its outputs
// and the build recording them as roots.
func Build(ctx context.Context, r *Recipe, opt BuildOptions) (*BuildResult, error) {
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.NumCPU()
	}
	if opt.Reporter == nil {
		opt.Reporter = nopReporter{}
	}
	unlock, err := opt.Store.LockShared()
	if err != nil {
		return nil, err
	}
	defer unlock()

	b := &builder{opt: opt, recipe: r, results: map[*Step]*StepResult{}}
	order := Order(r, opt.Targets)
	pos := map[*Step]int{}
	dependents := map[*Step][]*Step{}
	pending := map[*Step]int{}
	var ready []*Step
	for i, s := range order {
		pos[s] = i
		pending[s] = len(s.Deps)
		for _, d := range s.Deps {
			dependents[d] = append(dependents[d], s)
		}
		if len(s.Deps) == 0 {
			ready = append(ready, s)
		}
	}
	done := make(chan *StepResult)
	b.parked = make(chan *Step)
	// running counts the steps that hold one of the -j worker slots,
	// inflight the goroutines not yet done: a step that waits for another
	// step with its key (flight.go) gives its slot back but is in flight.
	running, inflight, finished := 0, 0, 0
	parked := map[*Step]bool{}
	stopping := false
	var skip func(s *Step, why string)
	skip = func(s *Step, why string) {
		if _, ok := b.results[s]; ok {
			return
		}
		res := &StepResult{Step: s, Status: Skipped, Reason: why}
		b.results[s] = res
		finished++
		opt.Reporter.StepFinished(res)
		for _, d := range dependents[s] {
			skip(d, why)
		}
	}
	for finished < len(order) {
		sort.Slice(ready, func(i, j int) bool { return pos[ready[i]] < pos[ready[j]] })
		for running < opt.Jobs && len(ready) > 0 && !stopping && ctx.Err() == nil {
			s := ready[0]
			ready = ready[1:]
			running++
			inflight++
			go func() { done <- b.step(ctx, s) }()
		}
		if inflight == 0 {
			break
		}
		var res *StepResult
		select {
		case s := <-b.parked:
			parked[s] = true
			running--
			continue
		case res = <-done:
		}
		inflight--
		if parked[res.Step] {
			delete(parked, res.Step)
		} else {
			running--
		}
		finished++
		b.mu.Lock()
		b.results[res.Step] = res
		b.mu.Unlock()
		opt.Reporter.StepFinished(res)
		switch res.Status {
		case Ran, Cached, WillRun:
			for _, d := range dependents[res.Step] {
				pending[d]--
				if pending[d] == 0 {
					ready = append(ready, d)
				}
			}
		case Failed:
			if !opt.KeepGoing {
				stopping = true
			}
			for _, d := range dependents[res.Step] {
				skip(d, "upstream step "+res.Step.Addr+" failed")
			}
		case Waiting:
			for _, d := range dependents[res.Step] {
				skip(d, "waiting on "+res.Step.Addr)
			}
		}
	}
	why := "the build stopped after a failure"
	if ctx.Err() != nil {
		why = "the build was cancelled"
	}
	for _, s := range order {
		skip(s, why)
	}
	br := &BuildResult{Counts: map[Status]int{}, Remote: opt.Store.RemoteName(), Transfer: opt.Store.RemoteStats()}
	for _, s := range order {
		res := b.results[s]
		br.Steps = append(br.Steps, res)
		br.Counts[res.Status]++
	}
	if opt.Record != nil && !opt.DryRun {
		if err := opt.Record(br); err != nil {
			return br, fmt.Errorf("recording the build: %w", err)
		}
	}
	return br, nil
}

// inputsOf collects the digests of s's inputs from finished upstream steps.
// ok is false when an upstream output is not known (planning).
func (b *builder) inputsOf(s *Step) (map[string]cache.Digest, string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ins := map[string]cache.Digest{}
	for _, in := range s.Config.Inputs {
		r := b.results[in.From]
		d, ok := r.Outputs[in.Output]
		if !ok {
			return nil, fmt.Sprintf("input %s comes from %s, which runs first", in.Name, in.From.Addr), false
		}
		ins[in.Name] = d
	}
	return ins, "", true
}

func (b *builder) step(ctx context.Context, s *Step) *StepResult {
	start := time.Now()
	b.opt.Reporter.StepStarted(s)
	res := b.execute(ctx, s, 0)
	res.Duration = time.Since(start)
	return res
}

// execute works out s's key, consults the cache and runs s if needed. On a
// first attempt (not a retry or a repair) it takes part in the key's flight
// (flight.go): the first step with the key goes on, the others take its
// outcome.
func (b *builder) execute(ctx context.Context, s *Step, attempt int) (out *StepResult) {
	res := &StepResult{Step: s}
	fail := func(err error) *StepResult {
		res.Status = Failed
		res.Err = &StepError{Step: s, Err: err}
		return res
	}
	inputs, why, known := b.inputsOf(s)
	if !known {
		res.Status, res.Reason = WillRun, why
		return res
	}
	rc := &RunContext{
		Step: s, Config: s.Config, Store: b.opt.Store, RecipeDir: b.recipe.Dir, Recipe: b.recipe, Inputs: inputs, DryRun: b.opt.DryRun, ScratchRecipe: b.opt.ScratchRecipe,
		Repairing: attempt >= 2,
		Jobs:      b.opt.Jobs,
		Progress:  func(done, total int64) { b.opt.Reporter.StepProgress(s, done, total) },
		Status:    func(msg string, fields map[string]any) { b.opt.Reporter.StepStatus(s, msg, fields) },
		Logf:      func(format string, args ...any) { b.opt.Reporter.Warn(s.Addr + ": " + fmt.Sprintf(format, args...)) },
	}
	// fresh holds trees that Sources just stored: complete by construction,
	// so the cache hit below need not check them again.
	fresh := map[cache.Digest]bool{}
	if src, ok := s.Kind.(Sourced); ok {
		extra, given := b.opt.Sources[s.Addr]
		if !given {
			var err error
			if extra, err = src.Sources(ctx, rc); err != nil {
				return fail(err)
			}
		}
		for k, v := range extra {
			inputs[k] = v
			if !b.opt.DryRun {
				fresh[v] = true
			}
		}
	}
	pre, err := Preimage(s, inputs)
	if err != nil {
		return fail(err)
	}
	res.Preimage, res.Key = pre, StepKeyOf(pre)
	rc.Key, rc.Preimage = res.Key, pre
	res.Reason = b.reason(s, pre)

	if attempt == 0 && !b.opt.DryRun {
		f, owner := b.claim(res.Key, s)
		if !owner {
			if r, ok := b.follow(ctx, s, res, f); ok {
				return r
			}
		} else {
			defer func() { f.settle(out) }()
		}
	}

	if outs, miss, remote := b.lookup(ctx, s, res.Key, fresh); miss == "" {
		res.Status, res.Outputs, res.Remote = Cached, outs, remote
		return res
	} else if res.Reason == "" {
		res.Reason = miss
	}
	if b.opt.DryRun {
		res.Status = WillRun
		if p, ok := s.Kind.(ItemPlanner); ok {
			// An estimate: a plan that cannot be made says nothing.
			if plan, err := p.PlanItems(ctx, rc); err == nil {
				c := estimateItems(rc, plan)
				res.Items = &c
			}
		}
		return res
	}
	if sh := b.opt.Shard; sh != nil && sh.Step == s {
		rc.shard = sh
	}
	if b.opt.Prefetch && b.opt.Store.HasRemote() {
		var roots []cache.Digest
		for _, in := range s.Config.Inputs {
			roots = append(roots, inputs[in.Name])
		}
		if err := b.opt.Store.Prefetch(ctx, roots); err != nil {
			// Reads fetch what they need one by one instead.
			b.opt.Reporter.Warn(fmt.Sprintf("%s: prefetching its inputs: %v", s.Addr, err))
		}
	}
	outs, err := s.Kind.Run(ctx, rc)
	if c, ok := rc.items.counts(); ok && (err == nil || rc.shard != nil) {
		res.Items = &c
	}
	if rc.shard != nil && (err == nil || errors.Is(err, ErrShardDone)) {
		// One shard's items are memoized; the step's outputs are the
		// full run's. (A step that did its work without Items has none.)
		res.Status = Ran
		return res
	}
	if err != nil {
		var w *WaitingError
		if errors.As(err, &w) {
			res.Status, res.Err = Waiting, err
			return res
		}
		if (cache.IsCorrupt(err) || cache.IsNotFound(err)) && attempt < 2 {
			// An input blob was corrupt and has been removed: rebuild
			// the upstream steps whose outputs are now incomplete, then
			// try again with their (re-derived) outputs.
			b.opt.Reporter.Warn(fmt.Sprintf("%s: %v; rebuilding its inputs", s.Addr, err))
			if rerr := b.repair(ctx, s); rerr != nil {
				return fail(fmt.Errorf("%w; repairing it failed: %v", err, rerr))
			}
			return b.execute(ctx, s, attempt+1)
		}
		return fail(err)
	}
	if err := checkOutputs(s, outs); err != nil {
		return fail(err)
	}
	ar := &cache.ActionResult{}
	for _, name := range s.Outputs {
		ar.Outputs = append(ar.Outputs, cache.Output{Name: name, Digest: outs[name]})
	}
	if err := b.opt.Store.PutAction(res.Key.action(), ar); err != nil {
		return fail(err)
	}
	if b.opt.Store.RemoteUploads() {
		// Blobs first, the entry last; a failed upload costs the next
		// machine a rebuild, never this build its result.
		if err := b.opt.Store.UploadAction(ctx, res.Key.action(), ar.Outputs); err != nil {
			b.opt.Reporter.Warn(fmt.Sprintf("%s: its result was not uploaded to remote %s: %v", s.Addr, b.opt.Store.RemoteName(), err))
		}
	}
	res.Status, res.Outputs = Ran, outs
	return res
}

// repair re-executes every upstream step of s whose outputs are no longer
// complete in the store, deepest first.
func (b *builder) repair(ctx context.Context, s *Step) error {
	for _, d := range s.Deps {
		b.mu.Lock()
		prev := b.results[d]
		b.mu.Unlock()
		complete := true
		for _, o := range keys(prev.Outputs) {
			if b.opt.Store.TreeComplete(prev.Outputs[o]) != nil {
				complete = false
			}
		}
		if complete {
			continue
		}
		if err := b.repair(ctx, d); err != nil {
			return err
		}
		res := b.execute(ctx, d, 2)
		if res.Status != Ran && res.Status != Cached {
			if res.Err != nil {
				return res.Err
			}
			return fmt.Errorf("%s: %s", d.Addr, res.Status)
		}
		b.mu.Lock()
		b.results[d] = res
		b.mu.Unlock()
		if !res.Remote {
			// It ran, or re-storing its sources while keying it repaired
			// its entry; a result found intact on the remote was not.
			res.Reason = "repaired: its stored output was corrupt or missing"
			b.opt.Reporter.Warn(fmt.Sprintf("%s: rebuilt (its stored output was corrupt or missing)", d.Addr))
		}
	}
	return nil
}

// lookup consults the local action cache, then the store's remote (remote
// is true for a hit there); the miss reason is "" on a hit, else the
// local one.
func (b *builder) lookup(ctx context.Context, s *Step, key StepKey, fresh map[cache.Digest]bool) (outs map[string]cache.Digest, miss string, remote bool) {
	outs, miss = b.lookupLocal(s, key, fresh)
	if miss == "" || !b.opt.Store.HasRemote() {
		return outs, miss, false
	}
	routs, err := b.opt.Store.RemoteAction(ctx, key.action())
	if err != nil {
		var m *cache.MissError
		if errors.As(err, &m) && m.Reason != "" {
			b.opt.Reporter.Warn(fmt.Sprintf("%s: the remote's result is not used: %s", s.Addr, m.Reason))
		}
		return nil, miss, false
	}
	outs = map[string]cache.Digest{}
	for _, o := range routs {
		outs[o.Name] = o.Digest
	}
	if checkOutputs(s, outs) != nil {
		return nil, miss, false
	}
	return outs, "", true
}

// lookupLocal consults the local action cache.
func (b *builder) lookupLocal(s *Step, key StepKey, fresh map[cache.Digest]bool) (map[string]cache.Digest, string) {
	ar, err := b.opt.Store.GetAction(key.action())
	if err != nil {
		var m *cache.MissError
		if errors.As(err, &m) && m.Reason != "" {
			return nil, "cache entry unusable: " + m.Reason
		}
		return nil, "not in the store"
	}
	outs := map[string]cache.Digest{}
	for _, o := range ar.Outputs {
		outs[o.Name] = o.Digest
	}
	if checkOutputs(s, outs) != nil {
		return nil, "cached result has other outputs than the step declares"
	}
	for _, name := range s.Outputs {
		if fresh[outs[name]] {
			continue
		}
		if err := b.opt.Store.TreeComplete(outs[name]); err != nil {
			b.opt.Reporter.Warn(fmt.Sprintf("%s: cached output %s is incomplete (%v); running the step again", s.Addr, name, err))
			return nil, "cached output incomplete"
		}
	}
	return outs, ""
}

func checkOutputs(s *Step, outs map[string]cache.Digest) error {
	for _, name := range s.Outputs {
		if _, ok := outs[name]; !ok {
			return fmt.Errorf("produced no output %q", name)
		}
	}
	if len(outs) != len(s.Outputs) {
		return fmt.Errorf("produced %d outputs, declared %d", len(outs), len(s.Outputs))
	}
	return nil
}

// reason explains why s's key differs from the lockfile's, or "".
func (b *builder) reason(s *Step, pre []string) string {
	if b.opt.Lock == nil {
		return ""
	}
	old, ok := b.opt.Lock.Steps[s.Addr]
	if !ok {
		return "new step (not in " + LockfileName + ")"
	}
	if old.Key == StepKeyOf(pre) {
		return ""
	}
	if d := diffPreimage(old.Preimage, pre); d != "" {
		return d
	}
	return "key differs from " + LockfileName
}

type nopReporter struct{}

func (nopReporter) StepStarted(*Step)                        {}
func (nopReporter) StepProgress(*Step, int64, int64)         {}
func (nopReporter) StepStatus(*Step, string, map[string]any) {}
func (nopReporter) StepFinished(*StepResult)                 {}
func (nopReporter) Warn(string)                              {}

// UpdateLockfile records the results of steps that ran or were cached, drops
// entries of steps no longer in the recipe, keeps the entries of other
// steps (failed or not built) as they were, and records the variable values
// the build was given (r.Vars).
func UpdateLockfile(lf *Lockfile, r *Recipe, br *BuildResult) error {
	for addr := range lf.Steps {
		if r.Step(addr) == nil {
			delete(lf.Steps, addr)
		}
	}
	for _, res := range br.Steps {
		if res.Status != Ran && res.Status != Cached {
			continue
		}
		lf.Steps[res.Step.Addr] = &LockStep{Key: res.Key, Outputs: res.Outputs, Preimage: res.Preimage, Nondeterministic: res.Step.Nondeterministic}
	}
	return lf.setVars(r.Vars)
}

// RecordBuild makes a build's results reachable for gc: it merges them into
// the recipe's lockfile (MergeLockfile), registers the lockfile as a root
// of the store and appends a build record. Call it while the store's shared
// lock is held, as BuildOptions.Record.
func RecordBuild(store *cache.Store, r *Recipe, br *BuildResult) error {
	var rec cache.BuildRecord
	for _, res := range br.Steps {
		if res.Status != Ran && res.Status != Cached {
			continue
		}
		rec.Actions = append(rec.Actions, res.Key.action())
		for _, o := range keys(res.Outputs) {
			rec.Roots = append(rec.Roots, res.Outputs[o])
		}
	}
	// The build record first: it keeps the results even if the lockfile
	// cannot be written.
	if err := store.RecordBuild(rec); err != nil {
		return err
	}
	if _, err := MergeLockfile(r, br); err != nil {
		return err
	}
	return store.RegisterLockfile(filepath.Join(r.Dir, LockfileName))
}

// StoreSources hashes and stores the sources of every Sourced step that
// targets need (all steps when nil), as a build would, and returns their
// digests by step address: what BuildOptions.Sources takes on a machine
// that lacks the recipe's directories.
func StoreSources(ctx context.Context, r *Recipe, store *cache.Store, targets []*Step) (map[string]map[string]cache.Digest, error) {
	out := map[string]map[string]cache.Digest{}
	for _, s := range Order(r, targets) {
		src, ok := s.Kind.(Sourced)
		if !ok {
			continue
		}
		rc := &RunContext{Step: s, Config: s.Config, Store: store, RecipeDir: r.Dir, Recipe: r, Inputs: map[string]cache.Digest{},
			Progress: func(int64, int64) {}, Status: func(string, map[string]any) {}, Logf: func(string, ...any) {}}
		ds, err := src.Sources(ctx, rc)
		if err != nil {
			return nil, &StepError{Step: s, Err: err}
		}
		if len(ds) > 0 {
			out[s.Addr] = ds
		}
	}
	return out, nil
}
