package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
	"go.temporal.io/sdk/client"

	"dsbuild/cache"
	rv "dsbuild/dataset/review"
	"dsbuild/engine"
	"dsbuild/steps"
	"dsbuild/steps/review"
	"dsbuild/temporal"
)

const workerLong = `Worker runs the steps of distributed builds (dsbuild build --executor
temporal) for a Temporal cluster: it polls the task queues named by --queue
(cpu by default; gpu for steps with device = "cuda"), and for each step it
fetches the build's recipe and inputs from the remote store, runs the step,
uploads the result, and returns its digests. It is the same dsbuild binary,
with its own store (--cache) and the build's remote (--remote or
DSBUILD_REMOTE, uploads on).

A worker only serves builds whose client has its step kinds and platform:
its queues' names carry a fingerprint of them, and it refuses a step of
another fingerprint with an error that says so. A worker that dies stops
heartbeating; Temporal then gives its steps to another worker. Stop a
worker with Ctrl-C (SIGINT or SIGTERM).`

func newWorkerCmd(g *globalFlags) *cobra.Command {
	var addr, dir, name string
	var queues []string
	var slots, jobs int
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the steps of distributed builds for a Temporal cluster",
		Long:  workerLong,
		Example: `  dsbuild worker --temporal 127.0.0.1:7233 --remote s3://team/dsbuild
  dsbuild worker --temporal temporal.internal:7233 --queue gpu -j 8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if addr == "" {
				addr = os.Getenv(temporal.EnvAddress)
			}
			logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, "dsbuild worker: "+f+"\n", a...) }
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, nil)
			if err != nil {
				return err
			}
			if !store.RemoteUploads() {
				return fmt.Errorf("a worker needs a remote store it can write to: --remote URL or %s (and not --remote-upload=false)", "DSBUILD_REMOTE")
			}
			if dir == "" {
				sd, err := g.storeDir()
				if err != nil {
					return err
				}
				dir = filepath.Join(filepath.Dir(sd), filepath.Base(sd)+"-worker")
			}
			if name == "" {
				host, _ := os.Hostname()
				name = fmt.Sprintf("%s-%d", host, os.Getpid())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := temporal.Dial(ctx, addr, logf)
			if err != nil {
				return err
			}
			defer c.Close()
			w := &temporal.Worker{Store: store, Dir: dir, Kinds: steps.Kinds(), Macros: steps.Macros(), Jobs: jobs, Name: name, Logf: logf}
			fp := temporal.Fingerprint(w.Kinds)
			logf("%s polling %v at %s (fingerprint %s, remote %s, %d step(s) at once)", name, queues, addr, fp, store.RemoteName(), slots)
			return temporal.Serve(ctx, c, w, queues, slots)
		},
	}
	cmd.Flags().StringVar(&addr, "temporal", "", "the Temporal frontend, HOST:PORT (default $"+temporal.EnvAddress+")")
	cmd.Flags().StringArrayVar(&queues, "queue", []string{temporal.DefaultQueue}, "task queue to serve: cpu, gpu or a name steps choose with queue = \"…\" (repeatable)")
	cmd.Flags().IntVar(&slots, "slots", 1, "steps to run at once")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", defaultJobs(), "items a step works on at once")
	cmd.Flags().StringVar(&dir, "work-dir", "", "where the worker keeps the recipes it loads (default: beside the store)")
	cmd.Flags().StringVar(&name, "name", "", "the worker's name in progress and errors (default HOST-PID)")
	return cmd
}

// temporalOptions are build's flags for --executor temporal.
type temporalOptions struct {
	addr      string
	detach    bool
	heartbeat time.Duration
	shards    int
}

// queueOf is the task queue a step runs on: its queue attribute if it has
// one, else gpu for a step that asks for a GPU (device = "cuda"), else cpu.
func queueOf(s *engine.Step) string {
	if s.Queue != "" {
		return s.Queue
	}
	if v, ok := s.Config.Params["device"]; ok && v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() == "cuda" {
		return "gpu"
	}
	return temporal.DefaultQueue
}

// buildOnTemporal runs a build as a Temporal workflow: it puts the recipe
// and the sources into the remote store, starts (or attaches to) the
// workflow, shows its progress, and when it is done writes the lockfile
// through a local build that finds every step on the remote.
func buildOnTemporal(ctx context.Context, g *globalFlags, opt temporalOptions, r *engine.Recipe, targets []*engine.Step, lock *engine.Lockfile, rep reporter, store *cache.Store, jobs int) (*engine.BuildResult, error) {
	if !store.RemoteUploads() {
		return nil, fmt.Errorf("--executor temporal needs a remote store that workers share and this machine can write to: --remote URL, %s or a remote block (and not --remote-upload=false)", "DSBUILD_REMOTE")
	}
	if opt.addr == "" {
		opt.addr = os.Getenv(temporal.EnvAddress)
	}
	if opt.shards < 0 {
		return nil, fmt.Errorf("--shards %d: give a number of shards (1: never split), or 0 to let each step's item count and shard_size decide", opt.shards)
	}
	sub, err := prepareBuild(ctx, r, targets, store)
	if err != nil {
		return nil, err
	}
	fp, id, recipeTree, sources, vars, names := sub.fp, sub.id, sub.recipe, sub.sources, sub.vars, sub.targets
	if err := store.UploadAction(ctx, temporal.InputsKey(id), temporal.InputOutputs(recipeTree, sources)); err != nil {
		return nil, fmt.Errorf("putting the recipe and its sources on the remote %s: %w", store.RemoteName(), err)
	}
	spec := temporal.BuildSpec{ID: id, Fingerprint: fp, InputsKey: cache.Digest(temporal.InputsKey(id)).Hex(), Remote: store.RemoteName(), Vars: vars,
		Heartbeat: temporal.Duration(opt.heartbeat.Seconds()), Jobs: jobs, Targets: names}
	order := engine.Order(r, targets)
	for _, s := range order {
		ss := temporal.StepSpec{Addr: s.Addr, Queue: queueOf(s)}
		if temporal.Shardable(s) {
			switch {
			case opt.shards > 1:
				ss.Shards = opt.shards
			case opt.shards == 0 && s.ShardSize > 0:
				ss.ShardSize = s.ShardSize
			case opt.shards == 0:
				ss.ShardSize = temporal.DefaultShardSize
			}
		}
		for _, d := range s.Deps {
			ss.Deps = append(ss.Deps, d.Addr)
		}
		spec.Steps = append(spec.Steps, ss)
	}
	c, err := temporal.Dial(ctx, opt.addr, func(f string, a ...any) { rep.Warn(fmt.Sprintf(f, a...)) })
	if err != nil {
		return nil, err
	}
	defer c.Close()
	run, err := temporal.Start(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	for _, addr := range slices.Sorted(maps.Keys(sub.reviews)) {
		if err := submitReview(ctx, c, store, id, addr, sub.reviews[addr]); err != nil {
			return nil, err
		}
	}
	if opt.detach {
		fmt.Fprintf(os.Stderr, "dsbuild: build %s submitted to %s; follow it with: dsbuild status --temporal %s %s\n", id, opt.addr, opt.addr, id)
		return nil, errDetached
	}
	fmt.Fprintf(os.Stderr, "dsbuild: build %s on %s (workers of fingerprint %s)\n", id, opt.addr, fp)
	shower := newOutcomeShower(r, rep)
	out, err := temporal.Watch(ctx, c, run, 300*time.Millisecond, func(p temporal.Progress) bool {
		shower.show(p)
		return p.Outcome.Quiet()
	})
	quiet := errors.Is(err, temporal.ErrQuiet)
	if err != nil && !quiet {
		return nil, fmt.Errorf("build %s: %w", id, err)
	}
	// The sources the workers used: the build's, and the reviews the
	// workflow received.
	all := temporal.SourceMap{}
	for addr, m := range sources {
		all[addr] = m
	}
	for addr, m := range out.Reviews {
		all[addr] = map[string]cache.Digest{}
		for name, ds := range m {
			d, err := cache.ParseDigest(ds)
			if err != nil {
				return nil, fmt.Errorf("build %s: review results of %s: %w", id, addr, err)
			}
			all[addr][name] = d
		}
	}
	if quiet {
		// Waiting for reviews: the review packages are written here,
		// where the reviewers are, by a local build of the waiting steps
		// (their inputs are on the remote); the workflow waits on.
		return waitForReviews(ctx, r, out, rep, store, jobs, all, shower, id, opt.addr)
	}
	shower.finish(out)
	br := outcomeResult(r, order, out)
	br.Remote = store.RemoteName()
	if br.Counts[engine.Failed] > 0 || br.Counts[engine.Skipped] > 0 || br.Counts[engine.Waiting] > 0 {
		br.Transfer = store.RemoteStats()
		return br, nil
	}
	// Every step is on the remote: a local build finds them all there and
	// writes the lockfile. A step it has to run was computed with another
	// key by the workers: said, and run here, so the lockfile is right.
	local, err := engine.Build(ctx, r, engine.BuildOptions{
		Store: store, Jobs: jobs, Targets: targets, Reporter: quietReporter{rep}, Lock: lock, Sources: all,
		Record: func(lbr *engine.BuildResult) error { return engine.RecordBuild(store, r, lbr) },
	})
	if err != nil {
		return nil, err
	}
	for _, lr := range local.Steps {
		if lr.Status == engine.Ran {
			rep.Warn(fmt.Sprintf("%s: this machine computed key %s, which the workers did not build; it ran here (are the workers' dsbuild and platform this one's?)", lr.Step.Addr, lr.Key.Short()))
		}
		if lr.Status == engine.Failed {
			return local, lr.Err
		}
	}
	br.Transfer = store.RemoteStats()
	return br, nil
}

// preparedBuild is what identifies a distributed build: the workers'
// fingerprint, the recipe tree, the sources, the variables, the targets,
// and the build id derived from them.
type preparedBuild struct {
	fp, id  string
	recipe  cache.Digest
	sources temporal.SourceMap
	reviews temporal.SourceMap // review results found here, sent once the build runs
	vars    temporal.VarValues
	targets []string
}

// prepareBuild stores the recipe's *.hcl files as a tree and its sources
// (as a build would), and derives the build's id.
func prepareBuild(ctx context.Context, r *engine.Recipe, targets []*engine.Step, store *cache.Store) (*preparedBuild, error) {
	p := &preparedBuild{fp: temporal.Fingerprint(steps.Kinds())}
	var entries []cache.TreeEntry
	for _, rel := range r.Sources {
		data, err := os.ReadFile(filepath.Join(r.Dir, rel))
		if err != nil {
			return nil, err
		}
		d, err := store.PutBytes(data)
		if err != nil {
			return nil, err
		}
		entries = append(entries, cache.TreeEntry{Name: rel, Kind: cache.File, Digest: d, Size: int64(len(data))})
	}
	var err error
	if p.recipe, err = store.PutTree(entries); err != nil {
		return nil, err
	}
	if p.sources, err = engine.StoreSources(ctx, r, store, targets); err != nil {
		return nil, err
	}
	// A review's results are not part of what the build is: they arrive
	// while it runs (SignalReview), and the build waits for them.
	p.reviews = temporal.SourceMap{}
	for _, s := range engine.Order(r, targets) {
		if s.KindName == "review" {
			if src, ok := p.sources[s.Addr]; ok {
				p.reviews[s.Addr] = src
				delete(p.sources, s.Addr)
			}
		}
	}
	if p.vars, err = engine.VarsJSON(r.Vars); err != nil {
		return nil, err
	}
	for _, t := range targets {
		p.targets = append(p.targets, t.Addr)
	}
	p.id = temporal.BuildID(p.fp, p.recipe, p.vars, p.sources, p.targets)
	return p, nil
}

// submitReview puts a review step's results on the remote (under
// temporal.SourceKey) and signals them to the build id.
func submitReview(ctx context.Context, c client.Client, store *cache.Store, id, addr string, results map[string]cache.Digest) error {
	sig := temporal.ReviewSignal{Addr: addr, Results: map[string]string{}}
	for _, name := range slices.Sorted(maps.Keys(results)) {
		d := results[name]
		if err := store.UploadAction(ctx, temporal.SourceKey(d), []cache.Output{{Name: "tree", Digest: d}}); err != nil {
			return fmt.Errorf("sending %s's results to the remote %s: %w", addr, store.RemoteName(), err)
		}
		sig.Results[name] = d.String()
	}
	return temporal.SubmitReview(ctx, c, id, sig)
}

// waitForReviews ends the client's part of a build that waits for review
// results: every waiting review step is built here (which writes its
// package for the reviewers and waits), and the build ends with exit 2,
// while the workflow waits on for dsbuild review submit.
func waitForReviews(ctx context.Context, r *engine.Recipe, out temporal.BuildOutcome, rep reporter, store *cache.Store, jobs int, sources temporal.SourceMap, shower *outcomeShower, id, addr string) (*engine.BuildResult, error) {
	var waiting []*engine.Step
	for _, so := range out.Steps {
		if so.Status == temporal.StatusWaiting {
			if s := r.Step(so.Addr); s != nil {
				waiting = append(waiting, s)
			}
		}
	}
	local, err := engine.Build(ctx, r, engine.BuildOptions{Store: store, Jobs: jobs, Targets: waiting, Reporter: quietReporter{rep}, Sources: sources, KeepGoing: true})
	if err != nil {
		return nil, err
	}
	for i, so := range out.Steps {
		if so.Status != temporal.StatusWaiting {
			continue
		}
		if lr := local.Result(r.Step(so.Addr)); lr != nil && lr.Err != nil {
			out.Steps[i].Error = lr.Err.Error()
		}
	}
	shower.finish(out)
	rep.Warn(fmt.Sprintf("build %s waits for review results; it goes on by itself once they are sent: put the reviewers' export where the message above says and run dsbuild review submit RECIPE STEP (--temporal %s)", id, addr))
	return outcomeResult(r, nil, out), nil
}

// errDetached ends a build submitted with --detach (exit 0).
var errDetached = fmt.Errorf("detached")

// outcomeResult turns a workflow's outcome into the BuildResult the
// reporter summarizes.
func outcomeResult(r *engine.Recipe, order []*engine.Step, out temporal.BuildOutcome) *engine.BuildResult {
	br := &engine.BuildResult{Counts: map[engine.Status]int{}}
	for _, o := range out.Steps {
		s := r.Step(o.Addr)
		if s == nil {
			continue
		}
		res := outcomeStep(s, o)
		br.Steps = append(br.Steps, res)
		br.Counts[res.Status]++
	}
	return br
}

func outcomeStep(s *engine.Step, o temporal.StepOutcome) *engine.StepResult {
	res := &engine.StepResult{Step: s, Duration: time.Duration(o.Seconds * float64(time.Second)), Items: o.Items}
	switch o.Status {
	case temporal.StatusRan:
		res.Status = engine.Ran
	case temporal.StatusCached:
		res.Status, res.Remote = engine.Cached, true
	case temporal.StatusWaiting:
		res.Status = engine.Waiting
		if o.Error != "" {
			res.Err = errors.New(o.Error)
		}
	case temporal.StatusSkipped:
		res.Status, res.Reason = engine.Skipped, o.Error
	case temporal.StatusPending:
		// Below a step that waits for review results.
		res.Status, res.Reason = engine.Skipped, "waits for an upstream review"
	default:
		res.Status, res.Err = engine.Failed, &engine.StepError{Step: s, Err: fmt.Errorf("%s", o.Error)}
	}
	if o.Worker != "" {
		res.Reason = "on worker " + o.Worker
		if o.Attempt > 1 {
			res.Reason += fmt.Sprintf(", attempt %d", o.Attempt)
		}
	}
	if k, err := cache.ParseDigest(o.Key); err == nil {
		res.Key = engine.StepKey(k)
	}
	return res
}

// outcomeShower turns progress snapshots into reporter events: a step's
// start, its heartbeats' progress, its end.
type outcomeShower struct {
	r       *engine.Recipe
	rep     reporter
	started map[string]bool
	ended   map[string]bool
}

func newOutcomeShower(r *engine.Recipe, rep reporter) *outcomeShower {
	return &outcomeShower{r: r, rep: rep, started: map[string]bool{}, ended: map[string]bool{}}
}

func (o *outcomeShower) show(p temporal.Progress) {
	for _, so := range p.Outcome.Steps {
		o.step(so, p, false)
	}
}

func (o *outcomeShower) finish(out temporal.BuildOutcome) {
	for _, so := range out.Steps {
		o.step(so, temporal.Progress{}, true)
	}
}

// step reports one step's news. A waiting step is reported only at the
// end (final): its message is the client's, who writes the package.
func (o *outcomeShower) step(so temporal.StepOutcome, p temporal.Progress, final bool) {
	s := o.r.Step(so.Addr)
	if s == nil || o.ended[so.Addr] || (so.Status == temporal.StatusPending && !final) || (so.Status == temporal.StatusWaiting && !final) {
		return
	}
	if !o.started[so.Addr] {
		o.started[so.Addr] = true
		o.rep.StepStarted(s)
	}
	if so.Status == temporal.StatusRunning {
		if hb, ok := p.Heartbeats[so.Addr]; ok {
			if hb.Total > 0 {
				o.rep.StepProgress(s, hb.Done, hb.Total)
			}
			msg := hb.Status
			if w := p.Workers[so.Addr]; w != "" {
				msg = "on " + w + " " + msg
			}
			o.rep.StepStatus(s, msg, map[string]any{"worker": p.Workers[so.Addr], "attempt": p.Attempts[so.Addr]})
		}
		return
	}
	o.ended[so.Addr] = true
	o.rep.StepFinished(outcomeStep(s, so))
}

// quietReporter passes on only warnings: the local build that writes the
// lockfile after a distributed one is not news.
type quietReporter struct{ rep reporter }

func (quietReporter) StepStarted(*engine.Step)                        {}
func (quietReporter) StepProgress(*engine.Step, int64, int64)         {}
func (quietReporter) StepStatus(*engine.Step, string, map[string]any) {}
func (quietReporter) StepFinished(*engine.StepResult)                 {}
func (q quietReporter) Warn(msg string)                               { q.rep.Warn(msg) }

func newStatusCmd(g *globalFlags) *cobra.Command {
	var addr string
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "status BUILD | [RECIPE] [TARGET...]",
		Short: "Follow a distributed build (dsbuild build --executor temporal) until it ends",
		Long: `Status attaches to a distributed build (dsbuild build --executor temporal),
shows each step's state as it changes, and when the build ends prints what
became of every step. Name the build by its id (dsbuild-build-…, which build
prints), or as build was given it: the recipe, its targets and -var values
(the id is derived from them). To write the lockfile, run the same dsbuild
build --executor temporal again: it attaches to the build if it still runs,
and finds every step on the remote if it is done.`,
		Example: `  dsbuild status dsbuild-build-3b8c15527c652d20687db6a0
  dsbuild status recipes/person`,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 && strings.HasPrefix(args[0], "dsbuild-build-") {
				id = args[0]
			} else {
				dir, names := splitRecipeArgs(args)
				r, targets, _, err := loadTargets(dir, names, rf, false)
				if err != nil {
					return err
				}
				store, err := g.openLocalStore(func(f string, a ...any) { warnf(f, a...) })
				if err != nil {
					return err
				}
				p, err := prepareBuild(cmd.Context(), r, targets, store)
				if err != nil {
					return err
				}
				id = p.id
			}
			args = []string{id}
			if addr == "" {
				addr = os.Getenv(temporal.EnvAddress)
			}
			c, err := temporal.Dial(cmd.Context(), addr, func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			defer c.Close()
			run, err := temporal.Attach(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			seen := map[string]string{}
			print := func(out temporal.BuildOutcome) {
				for _, so := range out.Steps {
					if seen[so.Addr] == so.Status {
						continue
					}
					seen[so.Addr] = so.Status
					line := fmt.Sprintf("%-8s %s", so.Status, so.Addr)
					if so.Worker != "" {
						line += " (on " + so.Worker + ")"
					}
					if so.Error != "" {
						line += ": " + so.Error
					}
					fmt.Fprintln(cmd.OutOrStdout(), line)
				}
			}
			out, err := temporal.Watch(cmd.Context(), c, run, 500*time.Millisecond, func(p temporal.Progress) bool {
				print(p.Outcome)
				return p.Outcome.Quiet()
			})
			if errors.Is(err, temporal.ErrQuiet) {
				fmt.Fprintf(cmd.OutOrStdout(), "build %s waits for review results (dsbuild review submit)\n", args[0])
				return &exitCodeError{code: exitWaiting, err: fmt.Errorf("waiting for review results")}
			}
			if err != nil {
				return fmt.Errorf("build %s: %w", args[0], err)
			}
			print(out)
			counts := map[string]int{}
			for _, so := range out.Steps {
				counts[so.Status]++
			}
			var parts []string
			for _, st := range []string{temporal.StatusRan, temporal.StatusCached, temporal.StatusFailed, temporal.StatusWaiting, temporal.StatusSkipped} {
				if counts[st] > 0 || st == temporal.StatusRan || st == temporal.StatusCached {
					parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "build %s done: %d steps: %s\n", args[0], len(out.Steps), strings.Join(parts, ", "))
			if counts[temporal.StatusFailed] > 0 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%d step(s) failed", counts[temporal.StatusFailed])}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "temporal", "", "the Temporal frontend, HOST:PORT (default $"+temporal.EnvAddress+")")
	rf.register(cmd)
	return cmd
}

func newReviewSubmitCmd(g *globalFlags) *cobra.Command {
	var addr, build string
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "submit RECIPE STEP [DIR]",
		Short: "Send a review's results to a distributed build that waits for them",
		Long: `Submit sends the reviewers' results for review step STEP to the distributed
build of RECIPE (dsbuild build --executor temporal) that waits for them: the
results directory (DIR, default the step's results directory, where a local
build reads them) is stored, uploaded to the remote store, and signalled to
the build, which then runs the review and everything below it by itself.

The build is the one of the whole recipe with these -var values, or the one
--build names (for a build of some targets: its id, which build prints).
Run dsbuild build --executor temporal RECIPE again afterwards to follow it
and write the lockfile.`,
		Example: `  dsbuild review submit recipes/person review.person_round1
  dsbuild review submit --build dsbuild-build-3b8c15527c652d20687db6a0 recipes/person review.person_round1 ~/exports/round1`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if addr == "" {
				addr = os.Getenv(temporal.EnvAddress)
			}
			r, err := loadRecipe(args[0], rf)
			if err != nil {
				return err
			}
			step := r.Step(args[1])
			if step == nil || step.KindName != "review" {
				return fmt.Errorf("%s: no review step %s in %s", args[1], args[1], args[0])
			}
			_, rel := review.Dirs(step)
			if len(args) == 3 {
				abs, err := filepath.Abs(args[2])
				if err != nil {
					return err
				}
				if rel, err = filepath.Rel(r.Dir, abs); err != nil {
					return err
				}
			}
			if !rv.HasResults(filepath.Join(r.Dir, rel)) {
				return fmt.Errorf("%s: no review results there (a Supervisely, CVAT or Label Studio export; see the package's README.txt)", filepath.Join(r.Dir, rel))
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, ofRecipe(r))
			if err != nil {
				return err
			}
			if !store.RemoteUploads() {
				return fmt.Errorf("submit needs the build's remote store, writable: --remote URL, DSBUILD_REMOTE or a remote block")
			}
			if build == "" {
				p, err := prepareBuild(cmd.Context(), r, nil, store)
				if err != nil {
					return err
				}
				build = p.id
			}
			rc := &engine.RunContext{Step: step, Config: step.Config, Store: store, RecipeDir: r.Dir, Recipe: r, Inputs: map[string]cache.Digest{},
				Progress: func(int64, int64) {}, Status: func(string, map[string]any) {}, Logf: func(string, ...any) {}}
			d, err := engine.HashSource(cmd.Context(), rc, rel, nil, cache.Copy)
			if err != nil {
				return err
			}
			c, err := temporal.Dial(cmd.Context(), addr, func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			defer c.Close()
			if err := submitReview(cmd.Context(), c, store, build, step.Addr, map[string]cache.Digest{"results": d}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: results %s sent to build %s; it goes on by itself\n", step.Addr, d.Short(), build)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "temporal", "", "the Temporal frontend, HOST:PORT (default $"+temporal.EnvAddress+")")
	cmd.Flags().StringVar(&build, "build", "", "the build's id (default: the build of the whole recipe)")
	rf.register(cmd)
	return cmd
}
