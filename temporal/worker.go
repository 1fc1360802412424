package temporal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	tsdk "go.temporal.io/sdk/temporal"

	"dsbuild/cache"
	"dsbuild/engine"
)

// Worker runs steps for build workflows: the activity behind ActivityName.
type Worker struct {
	// Store is the worker's own store, with the build's remote attached
	// and uploads on: inputs come from it, results go to it.
	Store *cache.Store
	// Dir holds the recipes the worker loads (one directory per recipe
	// tree digest); the worker creates it and what is below.
	Dir    string
	Kinds  engine.Kinds
	Macros map[string]engine.Macro
	// Jobs is the -j of a step run here when the build does not set it.
	Jobs int
	// Name identifies the worker in outcomes and messages.
	Name string
	// Logf receives what the worker does (one line per step).
	Logf func(format string, args ...any)

	mu      sync.Mutex // serializes recipe materialization
	fpCache string
}

func (w *Worker) fingerprint() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fpCache == "" {
		w.fpCache = Fingerprint(w.Kinds)
	}
	return w.fpCache
}

// RunStep runs one step of a build: it loads the build's recipe from the
// store, builds the step with engine.Build (its upstream steps are on the
// remote already), makes sure the result is on the remote, and returns
// its key and outputs. A step that fails is a non-retryable error with
// the step's message; a failure of the worker's machinery (the remote, the
// disk) is a plain error, which Temporal retries, perhaps elsewhere.
// prepare is what every task starts with: the fingerprint check, the
// build's recipe loaded from the remote store with its variables, the
// source digests (the client's, and review results sent since), and the
// step.
func (w *Worker) prepare(ctx context.Context, t StepTask) (*engine.Recipe, *engine.Step, SourceMap, int, error) {
	if fp := w.fingerprint(); t.Fingerprint != fp {
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError(
			fmt.Sprintf("worker %s refuses %s: its step kinds or platform (fingerprint %s) differ from the build's (%s), so it would compute other keys; run a worker of the client's dsbuild version", w.Name, t.Addr, fp, t.Fingerprint),
			ErrVersion, nil)
	}
	if !w.Store.HasRemote() {
		return nil, nil, nil, 0, fmt.Errorf("worker %s has no remote store (it was given up); retrying", w.Name)
	}
	key, err := parseKey(t.InputsKey)
	if err != nil {
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError("bad inputs key "+t.InputsKey, "BadSpec", nil)
	}
	ins, err := w.Store.RemoteAction(ctx, key)
	if err != nil && t.Remote != "" && t.Remote != w.Store.RemoteName() {
		// Not a passing failure: this worker looks in another store
		// than the client wrote to, and would retry for ever.
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError(
			fmt.Sprintf("worker %s cannot run %s: the build's recipe and sources are not on its remote %s; the client put them on %s: start the worker with the client's remote (--remote or DSBUILD_REMOTE)", w.Name, t.Addr, w.Store.RemoteName(), t.Remote),
			ErrWrongRemote, nil)
	}
	if err != nil {
		return nil, nil, nil, 0, fmt.Errorf("worker %s: the build's recipe and sources are not on the remote %s: %w", w.Name, w.Store.RemoteName(), err)
	}
	recipeTree, sources, err := splitInputs(ins)
	if err != nil {
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError(err.Error(), "BadSpec", nil)
	}
	// Sources sent during the build: review results.
	for addr, m := range t.Reviews {
		for name, ds := range m {
			d, err := cache.ParseDigest(ds)
			if err != nil {
				return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError(fmt.Sprintf("review results %s of %s: %v", name, addr, err), "BadSpec", nil)
			}
			if _, err := w.Store.RemoteAction(ctx, SourceKey(d)); err != nil {
				return nil, nil, nil, 0, fmt.Errorf("worker %s: review results %s of %s (%s) are not on the remote %s: %w", w.Name, name, addr, d.Short(), w.Store.RemoteName(), err)
			}
			if sources[addr] == nil {
				sources[addr] = map[string]cache.Digest{}
			}
			sources[addr][name] = d
		}
	}
	dir, err := w.recipeDir(ctx, recipeTree)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	vars, err := engine.VarsFromJSON(t.Vars)
	if err != nil {
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError("variables: "+err.Error(), "BadSpec", nil)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: w.Kinds, Macros: w.Macros, Recorded: vars})
	if diags.HasErrors() {
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError("the recipe does not load on worker "+w.Name+": "+diags.Error(), ErrStepFailed, nil)
	}
	// A worker never reads its own disk for sources: a Sourced step the
	// client gave no digests for has none (a review without results).
	for _, s := range r.Steps {
		if _, ok := s.Kind.(engine.Sourced); ok && sources[s.Addr] == nil {
			sources[s.Addr] = map[string]cache.Digest{}
		}
	}
	step := r.Step(t.Addr)
	if step == nil {
		return nil, nil, nil, 0, tsdk.NewNonRetryableApplicationError("the recipe has no step "+t.Addr, "BadSpec", nil)
	}
	jobs := t.Jobs
	if jobs <= 0 {
		jobs = w.Jobs
	}
	return r, step, sources, jobs, nil
}

func (w *Worker) RunStep(ctx context.Context, t StepTask) (StepOutcome, error) {
	r, step, sources, jobs, err := w.prepare(ctx, t)
	if err != nil {
		return StepOutcome{}, err
	}
	// The shards' item results, into this store's memo: their records
	// only; the blobs they name stay on the remote (the step assembles its
	// output from their digests).
	if len(t.Bundles) > 0 {
		keys := make([]cache.ActionKey, len(t.Bundles))
		for i, b := range t.Bundles {
			if keys[i], err = parseKey(b); err != nil {
				return StepOutcome{}, tsdk.NewNonRetryableApplicationError("bad bundle key "+b, "BadSpec", nil)
			}
		}
		got, err := w.Store.ImportMemos(ctx, keys)
		if err != nil {
			return StepOutcome{}, fmt.Errorf("worker %s: %s: taking its shards' results: %w", w.Name, t.Addr, err)
		}
		w.logf("%s: %d item results from %d shards (%d to run again)", t.Addr, got.Records, len(keys), got.Skipped)
	}
	rep := newHeartbeats(ctx, step, w.logf)
	defer rep.stop()
	start := time.Now()
	w.logf("%s: %s (attempt %d)", t.Addr, "running", activity.GetInfo(ctx).Attempt)
	opt := engine.BuildOptions{
		Store: w.Store, Jobs: jobs, KeepGoing: false, Targets: []*engine.Step{step}, Reporter: rep, Sources: sources,
		// The recipe here is the worker's copy: a waiting review's
		// package is the client's to write.
		ScratchRecipe: true,
		// A step over items fetches what its items that run read
		// (Item.Reads); any other reads its inputs whole: all at once.
		Prefetch: !Shardable(step),
	}
	var br *engine.BuildResult
	if t.Split > 0 && Shardable(step) {
		// Count the items first (a step found cached is simply done).
		count := &engine.ShardRun{Step: step}
		opt.Shard = count
		if br, err = engine.Build(ctx, r, opt); err != nil {
			return StepOutcome{}, fmt.Errorf("worker %s: %s: %w", w.Name, t.Addr, err)
		}
		res := br.Result(step)
		if res != nil && res.Status == engine.Ran {
			if n := ShardCount(count.Total, t.Split); n > 1 {
				w.logf("%s: %d items: %d shards", t.Addr, count.Total, n)
				return StepOutcome{Addr: t.Addr, Status: StatusSplit, Worker: w.Name, Items: &engine.ItemCounts{Total: count.Total}}, nil
			}
			br = nil // small: run it whole, here
		}
		opt.Shard = nil
	}
	if br == nil {
		if br, err = engine.Build(ctx, r, opt); err != nil {
			return StepOutcome{}, fmt.Errorf("worker %s: %s: %w", w.Name, t.Addr, err)
		}
	}
	res := br.Result(step)
	if res == nil {
		return StepOutcome{}, fmt.Errorf("worker %s: %s was not built", w.Name, t.Addr)
	}
	out := StepOutcome{Addr: t.Addr, Worker: w.Name, Seconds: time.Since(start).Seconds(), Items: res.Items, Attempt: activity.GetInfo(ctx).Attempt}
	switch res.Status {
	case engine.Ran, engine.Cached:
	case engine.Waiting:
		out.Status = StatusWaiting
		if res.Err != nil {
			out.Error = res.Err.Error()
		}
		return out, nil
	default:
		return StepOutcome{}, w.failure(ctx, br, t.Addr)
	}
	out.Status, out.Key = StatusCached, res.Key.String()
	if res.Status == engine.Ran {
		out.Status = StatusRan
	}
	out.Outputs = map[string]string{}
	var outs []cache.Output
	for name, d := range res.Outputs {
		out.Outputs[name] = d.String()
		outs = append(outs, cache.Output{Name: name, Digest: d})
	}
	// The result counts once it is on the remote: a step found in this
	// worker's own store, or one whose upload failed during the build, is
	// sent now (only what the remote lacks moves). Failing here is the
	// worker's problem: retried.
	if !res.Remote {
		if err := w.Store.UploadAction(ctx, res.Key.ActionKey(), sortOutputs(outs)); err != nil {
			return StepOutcome{}, fmt.Errorf("worker %s: uploading %s: %w", w.Name, t.Addr, err)
		}
	}
	w.logf("%s: %s in %.1fs", t.Addr, out.Status, out.Seconds)
	return out, nil
}

// failure is the activity's error for a build of what (a step, or one of
// its shards) that did not succeed (failed, or skipped below a failure
// here): the step's own error when it has one. A cancelled activity, or
// a failure of the worker's machinery (the store), is retryable, perhaps
// elsewhere; the step's own failure is not.
func (w *Worker) failure(ctx context.Context, br *engine.BuildResult, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err := br.FirstError()
	if err == nil {
		return tsdk.NewNonRetryableApplicationError(fmt.Sprintf("%s did not build on worker %s", what, w.Name), ErrStepFailed, nil)
	}
	if cache.IsCorrupt(err) || cache.IsNotFound(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errors.New(err.Error())
	}
	return tsdk.NewNonRetryableApplicationError(err.Error(), ErrStepFailed, nil)
}

func sortOutputs(outs []cache.Output) []cache.Output {
	slices.SortFunc(outs, func(a, b cache.Output) int { return strings.Compare(a.Name, b.Name) })
	return outs
}

// recipeDir materializes the recipe tree d under Dir (once per digest:
// written to a temporary directory, then renamed into place).
func (w *Worker) recipeDir(ctx context.Context, d cache.Digest) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	dir := filepath.Join(w.Dir, "recipes", d.Hex())
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("worker %s: %w", w.Name, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return "", fmt.Errorf("worker %s: %w", w.Name, err)
	}
	if err := w.Store.Materialize(ctx, d, filepath.Join(tmp, "r"), false); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("worker %s: fetching the recipe %s: %w", w.Name, d.Short(), err)
	}
	if err := os.Rename(filepath.Join(tmp, "r"), dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("worker %s: %w", w.Name, err)
	}
	os.RemoveAll(tmp)
	return dir, nil
}

func (w *Worker) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}

// heartbeats is the engine.Reporter of a step run by a worker: it keeps
// the step's progress and sends it as the activity's heartbeat, at least
// every few seconds, so that Temporal notices a worker that died.
type heartbeats struct {
	ctx  context.Context
	step *engine.Step
	mu   sync.Mutex
	last Heartbeat
	done chan struct{}
	wg   sync.WaitGroup
	logf func(string, ...any)
}

func newHeartbeats(ctx context.Context, step *engine.Step, logf func(string, ...any)) *heartbeats {
	h := &heartbeats{ctx: ctx, step: step, done: make(chan struct{}), logf: logf}
	interval := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if interval <= 0 || interval > 10*time.Second {
		interval = 10 * time.Second
	}
	h.beat()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.beat()
			}
		}
	}()
	return h
}

func (h *heartbeats) beat() {
	h.mu.Lock()
	hb := h.last
	h.mu.Unlock()
	activity.RecordHeartbeat(h.ctx, hb)
}

func (h *heartbeats) stop() {
	close(h.done)
	h.wg.Wait()
}

func (h *heartbeats) StepStarted(*engine.Step) {}
func (h *heartbeats) StepProgress(s *engine.Step, done, total int64) {
	if s != h.step {
		return
	}
	h.mu.Lock()
	h.last.Done, h.last.Total = done, total
	h.mu.Unlock()
}
func (h *heartbeats) StepStatus(s *engine.Step, msg string, _ map[string]any) {
	if s != h.step {
		return
	}
	h.mu.Lock()
	h.last.Status = msg
	h.mu.Unlock()
}
func (h *heartbeats) StepFinished(*engine.StepResult) {}
func (h *heartbeats) Warn(string)                     {}

// parseKey reads a remote entry key written as hex.
func parseKey(h string) (cache.ActionKey, error) {
	var key cache.ActionKey
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != len(key) {
		return key, fmt.Errorf("bad key %q", h)
	}
	copy(key[:], raw)
	return key, nil
}

// RunShard runs one shard of a step's items (t.Shard of t.Shards): its
// upstream steps come from the remote, its items run here and are
// memoized, and their results go to the remote as one memo bundle, whose
// key it returns. A step already cached has nothing to shard.
func (w *Worker) RunShard(ctx context.Context, t StepTask) (ShardOutcome, error) {
	r, step, sources, jobs, err := w.prepare(ctx, t)
	if err != nil {
		return ShardOutcome{}, err
	}
	if t.Shards < 2 || t.Shard < 0 || t.Shard >= t.Shards {
		return ShardOutcome{}, tsdk.NewNonRetryableApplicationError(fmt.Sprintf("bad shard %d of %d", t.Shard, t.Shards), "BadSpec", nil)
	}
	rep := newHeartbeats(ctx, step, w.logf)
	defer rep.stop()
	w.logf("%s: shard %d/%d: running (attempt %d)", t.Addr, t.Shard+1, t.Shards, activity.GetInfo(ctx).Attempt)
	start := time.Now()
	sh := &engine.ShardRun{Step: step, Index: t.Shard, Count: t.Shards}
	br, err := engine.Build(ctx, r, engine.BuildOptions{
		Store: w.Store, Jobs: jobs, Targets: []*engine.Step{step}, Reporter: rep, Sources: sources, Shard: sh, ScratchRecipe: true,
	})
	if err != nil {
		return ShardOutcome{}, fmt.Errorf("worker %s: %s shard %d: %w", w.Name, t.Addr, t.Shard, err)
	}
	res := br.Result(step)
	out := ShardOutcome{Worker: w.Name}
	switch {
	case res == nil:
		return out, fmt.Errorf("worker %s: %s was not built", w.Name, t.Addr)
	case res.Status == engine.Cached:
		out.Cached = true
		return out, nil
	case res.Status != engine.Ran:
		return out, w.failure(ctx, br, fmt.Sprintf("%s shard %d", t.Addr, t.Shard))
	}
	out.Items = res.Items
	if len(sh.Keys) > 0 {
		keys := make([]cache.MemoKey, len(sh.Keys))
		for i, k := range sh.Keys {
			keys[i] = cache.MemoKey(k)
		}
		bk := BundleKey(t.Build, t.Addr, t.Shard, t.Shards)
		if err := w.Store.UploadMemos(ctx, bk, keys); err != nil {
			return out, fmt.Errorf("worker %s: %s shard %d: uploading its results: %w", w.Name, t.Addr, t.Shard, err)
		}
		out.Bundle = cache.Digest(bk).Hex()
	}
	out.Seconds = time.Since(start).Seconds()
	w.logf("%s: shard %d/%d: %d items in %.1fs", t.Addr, t.Shard+1, t.Shards, len(sh.Keys), out.Seconds)
	return out, nil
}
