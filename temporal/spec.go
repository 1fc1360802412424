// Package temporal runs a recipe's build on a Temporal cluster: one
// durable workflow per build walks the recipe's DAG and schedules each
// step as an activity on a task queue that dsbuild workers poll; the
// content stays in the shared remote store (cache.Remote), and Temporal
// carries only digests and keys.
//
// What it guarantees:
//
//   - The same results as a local build. A worker loads the same recipe
//     (its *.hcl files travel as a tree in the store), with the same
//     variable values and the client's source digests, and runs the step
//     through engine.Build: the step's key, and so its outputs, are the
//     ones a local build computes. The client writes the lockfile through
//     a local engine.Build that finds every step on the remote.
//   - Workers only serve steps they compute the same way. A task queue's
//     name carries a fingerprint of the step kinds' versions and the
//     platform (Fingerprint); a worker of another dsbuild polls other
//     queues, and a task that reaches it anyway is refused.
//   - No lost or wrong work. A step's result counts once it is on the
//     remote (blobs, then the entry); a worker that dies stops
//     heartbeating and its step is retried on another; the client can
//     die or detach and the workflow goes on; submitting the same build
//     twice attaches to the one workflow (its id is a hash of what the
//     build is: recipe, variables, sources, targets).
package temporal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"dsbuild/cache"
	"dsbuild/engine"
)

// Names registered with Temporal.
const (
	WorkflowName = "dsbuild.Build"
	// ShardsWorkflowName is the child workflow that runs one step's shards.
	ShardsWorkflowName = "dsbuild.Shards"
	ActivityName       = "dsbuild.RunStep"
	ShardActivity      = "dsbuild.RunShard"
	QueryProgress      = "progress"
	// SignalReview carries a review step's results (ReviewSignal): a build
	// that waits for them goes on by itself.
	SignalReview = "review-results"

	// Error types of failed activities that retrying cannot fix.
	ErrStepFailed = "StepFailed"
	ErrVersion    = "WorkerVersion"
	// ErrWrongRemote: the worker's remote is not the client's, and the
	// build's inputs are not on it.
	ErrWrongRemote = "WrongRemote"
)

// Shardable reports whether s can run in shards: its kind's Run hands its
// items to engine.Items or engine.StreamItems first (engine.Itemwise).
func Shardable(s *engine.Step) bool {
	_, ok := s.Kind.(engine.Itemwise)
	return ok
}

// Shard sizes. A step over items that must run is split when it has more
// items than its shard size: the step's shard_size, else DefaultShardSize.
// DefaultShardSize items are a few seconds of work at 1–5 ms an item (a
// small transform) and minutes at 50–100 ms (a photo through a model),
// while a shard's fixed cost (an activity, the recipe, one bundle) is tens
// of milliseconds. MaxShards bounds a step's shards (and so its share of
// the workflow's history): past DefaultShardSize × MaxShards items, shards
// grow instead.
const (
	DefaultShardSize = 1000
	MaxShards        = 256
)

// ShardCount is the number of shards for items items at size items a
// shard: ⌈items/size⌉, at most MaxShards; 1 means the step runs whole.
func ShardCount(items, size int) int {
	if size <= 0 || items <= size {
		return 1
	}
	return min((items+size-1)/size, MaxShards)
}

// DefaultQueue is the task queue of steps that do not need a GPU.
const DefaultQueue = "cpu"

// BuildSpec is the workflow's input: everything a worker needs, by digest.
type BuildSpec struct {
	ID          string     `json:"id"`               // the workflow id (BuildID)
	Fingerprint string     `json:"fingerprint"`      // the kinds and platform that compute these steps
	InputsKey   string     `json:"inputs_key"`       // the remote entry holding the recipe and the sources (hex)
	Remote      string     `json:"remote,omitempty"` // the client's remote, as it names it (cache.Store.RemoteName)
	Vars        VarValues  `json:"vars,omitempty"`
	Steps       []StepSpec `json:"steps"` // in topological order
	Heartbeat   Duration   `json:"heartbeat"`
	Jobs        int        `json:"jobs,omitempty"` // -j of each step on its worker (0: the worker's)
	Targets     []string   `json:"targets,omitempty"`
	Recipe      cache.Ref  `json:"-"` // the recipe tree (known to the client only)
	Sources     SourceMap  `json:"-"`
	_           struct{}   `json:"-"`
}

// VarValues are variable values as the lockfile encodes them.
type VarValues = map[string]json.RawMessage

// SourceMap holds source digests by step address and input name.
type SourceMap = map[string]map[string]cache.Digest

// Duration is a time.Duration that travels as seconds.
type Duration float64

// D is the duration.
func (d Duration) D() time.Duration { return time.Duration(float64(d) * float64(time.Second)) }

// StepSpec is one step of the DAG: its address, the steps it reads, and
// the queue it runs on.
type StepSpec struct {
	Addr  string   `json:"addr"`
	Deps  []string `json:"deps,omitempty"`
	Queue string   `json:"queue"`
	// Shards > 1 splits the step's items into that many shards, each an
	// activity of its own (ShardActivity), before the step runs in full
	// with their results (StepTask.Bundles).
	Shards int `json:"shards,omitempty"`
	// ShardSize > 0 (with Shards 0) lets the step's first activity split
	// it: a step that must run and has more items than ShardSize answers
	// StatusSplit with its item count, and runs in ShardCount shards.
	ShardSize int `json:"shard_size,omitempty"`
}

// StepTask is an activity's input.
type StepTask struct {
	Build       string    `json:"build"`
	Fingerprint string    `json:"fingerprint"`
	InputsKey   string    `json:"inputs_key"`
	Remote      string    `json:"remote,omitempty"` // BuildSpec.Remote
	Vars        VarValues `json:"vars,omitempty"`
	Addr        string    `json:"addr"`
	Jobs        int       `json:"jobs,omitempty"`
	// Reviews are the review results signalled so far, by step address
	// and input name (each on the remote under SourceKey): this step's
	// own, and its upstream reviews', whose keys depend on them.
	Reviews map[string]map[string]string `json:"reviews,omitempty"`
	// Shard and Shards name the shard a ShardActivity runs.
	Shard  int `json:"shard,omitempty"`
	Shards int `json:"shards,omitempty"`
	// Bundles are the memo bundles (remote entry keys, hex) of the step's
	// shards, which its full run takes into its memo first.
	Bundles []string `json:"bundles,omitempty"`
	// Split > 0: if the step must run and has more than Split items, do
	// not run it; answer StatusSplit with the item count (StepSpec.ShardSize).
	Split int `json:"split,omitempty"`
}

// ShardOutcome is what a shard activity returns: its memo bundle ("" when
// it memoized nothing) and its item counts.
type ShardOutcome struct {
	Bundle  string             `json:"bundle,omitempty"`
	Items   *engine.ItemCounts `json:"items,omitempty"`
	Cached  bool               `json:"cached,omitempty"` // the step was cached: nothing to shard
	Worker  string             `json:"worker,omitempty"`
	Seconds float64            `json:"seconds,omitempty"`
}

// BundleKey is the remote entry of shard index of count of the build's
// step addr.
func BundleKey(build, addr string, index, count int) cache.ActionKey {
	return cache.ActionKey(sha256.Sum256([]byte(fmt.Sprintf("dsbuild memo bundle v1\n%s\n%s\n%d/%d", build, addr, index, count))))
}

// ReviewSignal is SignalReview's payload: the step, and its results'
// digests by input name ("results"), each on the remote under SourceKey.
type ReviewSignal struct {
	Addr    string            `json:"addr"`
	Results map[string]string `json:"results"`
}

// SourceKey is the remote entry under which a source tree sent during a
// build (a review's results) is found: one output, "tree".
func SourceKey(d cache.Digest) cache.ActionKey {
	return cache.ActionKey(sha256.Sum256([]byte("dsbuild build source v1\n" + d.String())))
}

// Step statuses in outcomes and progress.
const (
	StatusPending = "pending"
	StatusRunning = "running"
	StatusRan     = "ran"
	StatusCached  = "cached"
	StatusFailed  = "failed"
	StatusWaiting = "waiting"
	StatusSkipped = "skipped"
	// StatusSplit is a step activity's answer that the step must run and
	// is large: its items (Items.Total) are to be run in shards first.
	// A step's outcome in the build never has it.
	StatusSplit = "split"
)

// StepOutcome is what became of one step.
type StepOutcome struct {
	Addr    string             `json:"addr"`
	Status  string             `json:"status"`
	Key     string             `json:"key,omitempty"`
	Outputs map[string]string  `json:"outputs,omitempty"`
	Worker  string             `json:"worker,omitempty"`
	Error   string             `json:"error,omitempty"`
	Seconds float64            `json:"seconds,omitempty"` // the step's run on its worker
	Items   *engine.ItemCounts `json:"items,omitempty"`
	Attempt int32              `json:"attempt,omitempty"`
}

// BuildOutcome is the workflow's result (and its progress query's
// answer while it runs): one outcome per step of the spec, in its order.
type BuildOutcome struct {
	Steps []StepOutcome `json:"steps"`
	// Reviews are the review results signalled during the build, by step
	// address: the client's final local build needs them to find the
	// same keys.
	Reviews map[string]map[string]string `json:"reviews,omitempty"`
}

// Quiet reports whether nothing runs and nothing can start until review
// results arrive: at least one step waits, and every other step is done
// or below a waiting one.
func (o BuildOutcome) Quiet() bool {
	waiting := false
	for _, s := range o.Steps {
		switch s.Status {
		case StatusRunning:
			return false
		case StatusWaiting:
			waiting = true
		}
	}
	return waiting
}

// Heartbeat is what a running step reports through its heartbeats.
type Heartbeat struct {
	Done   int64  `json:"done"`
	Total  int64  `json:"total"`
	Status string `json:"status,omitempty"`
}

// Fingerprint names what computes a step's key on this binary: every step
// kind with its version, and the platform line of platform-dependent
// kinds. Two binaries with the same fingerprint compute the same keys.
func Fingerprint(kinds engine.Kinds) string {
	var b strings.Builder
	b.WriteString("dsbuild worker protocol 1\n")
	for _, name := range kinds.Names() {
		fmt.Fprintf(&b, "kind %s %d\n", name, kinds[name].Version())
	}
	fmt.Fprintf(&b, "platform %s\n", engine.Platform())
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:6])
}

// TaskQueue is the Temporal task queue of a dsbuild queue (cpu, gpu…) for
// workers of fingerprint fp.
func TaskQueue(queue, fp string) string { return "dsbuild-" + queue + "-" + fp }

// WorkflowQueue is the task queue of the build workflows themselves.
func WorkflowQueue(fp string) string { return TaskQueue("workflow", fp) }

// BuildID derives the workflow id from what the build is, so that two
// clients submitting the same build attach to one workflow.
func BuildID(fp string, recipe cache.Digest, vars VarValues, sources SourceMap, targets []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "dsbuild build v1\nfingerprint %s\nrecipe %s\n", fp, recipe)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(h, "var %s %s\n", k, vars[k])
	}
	for _, addr := range slices.Sorted(maps.Keys(sources)) {
		for _, name := range slices.Sorted(maps.Keys(sources[addr])) {
			fmt.Fprintf(h, "source %s %s %s\n", addr, name, sources[addr][name])
		}
	}
	for _, t := range targets {
		fmt.Fprintf(h, "target %s\n", t)
	}
	return "dsbuild-build-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// InputsKey is the remote entry that carries a build's recipe tree and
// source trees (cache.Store.UploadAction with InputOutputs).
func InputsKey(buildID string) cache.ActionKey {
	return cache.ActionKey(sha256.Sum256([]byte("dsbuild build inputs v1\n" + buildID)))
}

// recipeOutput and sourceOutput name the inputs entry's outputs.
const recipeOutput = "recipe"

func sourceOutput(addr, name string) string { return "source/" + addr + "/" + name }

// InputOutputs lists the inputs entry's outputs: the recipe tree and every
// source tree.
func InputOutputs(recipe cache.Digest, sources SourceMap) []cache.Output {
	outs := []cache.Output{{Name: recipeOutput, Digest: recipe}}
	for _, addr := range slices.Sorted(maps.Keys(sources)) {
		for _, name := range slices.Sorted(maps.Keys(sources[addr])) {
			outs = append(outs, cache.Output{Name: sourceOutput(addr, name), Digest: sources[addr][name]})
		}
	}
	return outs
}

// splitInputs reads an inputs entry's outputs back.
func splitInputs(outs []cache.Output) (recipe cache.Digest, sources SourceMap, err error) {
	sources = SourceMap{}
	for _, o := range outs {
		if o.Name == recipeOutput {
			recipe = o.Digest
			continue
		}
		rest, ok := strings.CutPrefix(o.Name, "source/")
		i := strings.LastIndexByte(rest, '/')
		if !ok || i <= 0 {
			return cache.Digest{}, nil, fmt.Errorf("the build's inputs entry has an output %q", o.Name)
		}
		addr, name := rest[:i], rest[i+1:]
		if sources[addr] == nil {
			sources[addr] = map[string]cache.Digest{}
		}
		sources[addr][name] = o.Digest
	}
	if recipe.IsZero() {
		return cache.Digest{}, nil, fmt.Errorf("the build's inputs entry names no recipe")
	}
	return recipe, sources, nil
}
