package temporal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	tsdk "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dsbuild/cache"
	"dsbuild/engine"
)

// The workflow in Temporal's in-process test environment, with a fake
// activity: every step runs after its dependencies, on its queue; a failed
// step skips what is below it and nothing else; a waiting review holds
// what is below it until a signal brings its results.
func TestBuildWorkflowDAG(t *testing.T) {
	spec := BuildSpec{ID: "b", Fingerprint: "fp", InputsKey: "00", Steps: []StepSpec{
		{Addr: "import.a", Queue: "cpu"},
		{Addr: "import.b", Queue: "cpu"},
		{Addr: "train.m", Deps: []string{"import.a"}, Queue: "gpu"},
		{Addr: "exec.bad", Deps: []string{"import.b"}, Queue: "cpu"},
		{Addr: "exec.after_bad", Deps: []string{"exec.bad"}, Queue: "cpu"},
		{Addr: "review.r", Deps: []string{"train.m"}, Queue: "cpu"},
		{Addr: "merge.m", Deps: []string{"review.r", "import.b"}, Queue: "cpu"},
		{Addr: "export.e", Deps: []string{"train.m", "import.b"}, Queue: "cpu"},
	}}
	var mu sync.Mutex
	var order []string
	var reviewed, mergeSaw string
	queues := map[string]string{}
	run := func(ctx context.Context, task StepTask) (StepOutcome, error) {
		mu.Lock()
		if task.Addr == "merge.m" {
			mergeSaw = task.Reviews["review.r"]["results"]
		}
		order = append(order, task.Addr)
		queues[task.Addr] = activity.GetInfo(ctx).TaskQueue
		mu.Unlock()
		switch task.Addr {
		case "exec.bad":
			return StepOutcome{}, tsdk.NewNonRetryableApplicationError("exec.bad: exit status 1", ErrStepFailed, nil)
		case "review.r":
			if task.Reviews["review.r"]["results"] == "" {
				return StepOutcome{Status: StatusWaiting, Error: "waiting for reviews"}, nil
			}
			mu.Lock()
			reviewed = task.Reviews["review.r"]["results"]
			mu.Unlock()
		}
		return StepOutcome{Status: StatusRan, Key: "k-" + task.Addr, Worker: "w"}, nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(run, activity.RegisterOptions{Name: ActivityName})
	// An hour in (the test clock skips), the build is quiet, waiting for
	// review.r's results; the signal brings them and it goes on.
	var quiet BuildOutcome
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryProgress)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&quiet); err != nil {
			t.Errorf("query: %v", err)
		}
		env.SignalWorkflow(SignalReview, ReviewSignal{Addr: "review.r", Results: map[string]string{"results": "sha256:d1"}})
	}, time.Hour)
	env.ExecuteWorkflow(BuildWorkflow, spec)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var out BuildOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if !quiet.Quiet() {
		t.Errorf("before the review signal the build is not quiet: %+v", quiet.Steps)
	}
	if st := quiet.Steps[5].Status; st != StatusWaiting {
		t.Errorf("review.r is %s before its results", st)
	}
	if st := quiet.Steps[6].Status; st != StatusPending {
		t.Errorf("merge.m is %s before review.r's results, want pending", st)
	}
	if mergeSaw != "sha256:d1" {
		t.Errorf("merge.m, below review.r, got review results %q: it needs them for review.r's key", mergeSaw)
	}
	if reviewed != "sha256:d1" {
		t.Errorf("review.r ran again with results %q", reviewed)
	}
	if got := out.Reviews["review.r"]["results"]; got != "sha256:d1" {
		t.Errorf("the outcome records review results %q", got)
	}
	want := map[string]string{
		"import.a": StatusRan, "import.b": StatusRan, "train.m": StatusRan, "exec.bad": StatusFailed,
		"exec.after_bad": StatusSkipped, "review.r": StatusRan, "merge.m": StatusRan, "export.e": StatusRan,
	}
	for i, o := range out.Steps {
		if o.Addr != spec.Steps[i].Addr {
			t.Errorf("outcome %d is %s, want %s (the spec's order)", i, o.Addr, spec.Steps[i].Addr)
		}
		if o.Status != want[o.Addr] {
			t.Errorf("%s: %s, want %s (%s)", o.Addr, o.Status, want[o.Addr], o.Error)
		}
	}
	if got := out.Steps[3].Error; got != "exec.bad: exit status 1" {
		t.Errorf("the failure's message is %q, want the step's own", got)
	}
	if got := out.Steps[4].Error; got != "exec.bad failed" {
		t.Errorf("a skipped step says %q", got)
	}
	pos := map[string]int{}
	for i, a := range order {
		pos[a] = i
	}
	for _, s := range spec.Steps {
		if _, ran := pos[s.Addr]; !ran {
			continue
		}
		for _, d := range s.Deps {
			if pos[d] > pos[s.Addr] {
				t.Errorf("%s ran before its dependency %s: %v", s.Addr, d, order)
			}
		}
	}
	if n := strings.Count(strings.Join(order, " "), "review.r"); n != 2 {
		t.Errorf("review.r ran %d times, want 2 (waiting, then with its results): %v", n, order)
	}
	for _, skipped := range []string{"exec.after_bad"} {
		if _, ran := pos[skipped]; ran {
			t.Errorf("%s ran after its dependency failed or waited", skipped)
		}
	}
	if q := queues["train.m"]; q != TaskQueue("gpu", "fp") {
		t.Errorf("train.m ran on queue %q, want %q", q, TaskQueue("gpu", "fp"))
	}
	if q := queues["import.a"]; q != TaskQueue("cpu", "fp") {
		t.Errorf("import.a ran on queue %q", q)
	}
}

// A step with a shard size is asked first; one that answers StatusSplit
// with its item count runs in ShardCount shards, then in full with their
// bundles (in shard order), and the step below it waits for that; a step
// under its size runs at once; a failed shard fails its step, not the
// build.
func TestBuildWorkflowSplits(t *testing.T) {
	spec := BuildSpec{ID: "b", Fingerprint: "fp", InputsKey: "00", Steps: []StepSpec{
		{Addr: "import.big", Queue: "cpu", ShardSize: 1000},
		{Addr: "transform.t", Deps: []string{"import.big"}, Queue: "cpu", ShardSize: 1000},
		{Addr: "exec.after", Deps: []string{"transform.t"}, Queue: "cpu"},
		{Addr: "import.small", Queue: "cpu", ShardSize: 1000},
		{Addr: "transform.broken", Deps: []string{"import.small"}, Queue: "cpu", ShardSize: 10},
		{Addr: "exec.below_broken", Deps: []string{"transform.broken"}, Queue: "cpu"},
	}}
	items := map[string]int{"import.big": 2500, "transform.t": 2500, "import.small": 40, "transform.broken": 25}
	var mu sync.Mutex
	var calls []string
	bundles := map[string][]string{}
	splitAsked := map[string]int{}
	run := func(ctx context.Context, task StepTask) (StepOutcome, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, task.Addr)
		if task.Split > 0 {
			splitAsked[task.Addr] = task.Split
			if n := items[task.Addr]; n > task.Split {
				return StepOutcome{Status: StatusSplit, Items: &engine.ItemCounts{Total: n}}, nil
			}
		}
		bundles[task.Addr] = task.Bundles
		return StepOutcome{Status: StatusRan, Key: "k-" + task.Addr}, nil
	}
	shards := map[string][]int{}
	shard := func(ctx context.Context, task StepTask) (ShardOutcome, error) {
		mu.Lock()
		defer mu.Unlock()
		shards[task.Addr] = append(shards[task.Addr], task.Shard)
		if task.Addr == "transform.broken" && task.Shard == 1 {
			return ShardOutcome{}, tsdk.NewNonRetryableApplicationError("item 7: bad polygon", ErrStepFailed, nil)
		}
		if task.Shards != ShardCount(items[task.Addr], 1000) && task.Addr != "transform.broken" {
			t.Errorf("%s shard %d of %d", task.Addr, task.Shard, task.Shards)
		}
		return ShardOutcome{Bundle: fmt.Sprintf("%s-%d", task.Addr, task.Shard)}, nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(run, activity.RegisterOptions{Name: ActivityName})
	env.RegisterActivityWithOptions(shard, activity.RegisterOptions{Name: ShardActivity})
	env.RegisterWorkflowWithOptions(ShardsWorkflow, workflow.RegisterOptions{Name: ShardsWorkflowName})
	env.ExecuteWorkflow(BuildWorkflow, spec)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var out BuildOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, o := range out.Steps {
		status[o.Addr] = o.Status
	}
	want := map[string]string{"import.big": StatusRan, "transform.t": StatusRan, "exec.after": StatusRan,
		"import.small": StatusRan, "transform.broken": StatusFailed, "exec.below_broken": StatusSkipped}
	for a, st := range want {
		if status[a] != st {
			t.Errorf("%s: %s, want %s", a, status[a], st)
		}
	}
	for _, o := range out.Steps {
		if o.Addr == "transform.broken" && o.Error != "item 7: bad polygon" {
			t.Errorf("transform.broken's error %q, want the shard's", o.Error)
		}
	}
	if got := slices.Sorted(slices.Values(shards["transform.t"])); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("transform.t ran shards %v, want 0 1 2 (2,500 items at 1,000 a shard)", got)
	}
	if want := []string{"transform.t-0", "transform.t-1", "transform.t-2"}; !slices.Equal(bundles["transform.t"], want) {
		t.Errorf("transform.t's full run got bundles %v, want %v", bundles["transform.t"], want)
	}
	if len(shards["import.small"]) != 0 || bundles["import.small"] != nil {
		t.Errorf("import.small (40 items) was split: shards %v, bundles %v", shards["import.small"], bundles["import.small"])
	}
	if splitAsked["exec.after"] != 0 || splitAsked["transform.broken"] != 10 {
		t.Errorf("split sizes asked: %v", splitAsked)
	}
	// The plan call, then the full run: twice per split step, once per
	// step that ran whole.
	count := map[string]int{}
	for _, c := range calls {
		count[c]++
	}
	if count["transform.t"] != 2 || count["import.small"] != 1 || count["exec.after"] != 1 {
		t.Errorf("step activities per step: %v", count)
	}
}

func TestShardCount(t *testing.T) {
	for _, c := range []struct{ items, size, want int }{
		{0, 1000, 1}, {1000, 1000, 1}, {1001, 1000, 2}, {20_000, 1000, 20},
		{1_000_000, 1000, MaxShards}, {50, 0, 1}, {50, 10, 5},
	} {
		if got := ShardCount(c.items, c.size); got != c.want {
			t.Errorf("ShardCount(%d, %d) = %d, want %d", c.items, c.size, got, c.want)
		}
	}
}

// A spec naming a dependency it does not have fails at once, saying so.
func TestBuildWorkflowBadSpec(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(func(context.Context, StepTask) (StepOutcome, error) { return StepOutcome{}, nil }, activity.RegisterOptions{Name: ActivityName})
	env.ExecuteWorkflow(BuildWorkflow, BuildSpec{Steps: []StepSpec{{Addr: "a.b", Deps: []string{"x.y"}, Queue: "cpu"}}})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "a.b depends on x.y, which the build does not have") {
		t.Fatalf("error %v", err)
	}
}

func TestFingerprintAndIDs(t *testing.T) {
	if a, b := TaskQueue("cpu", "abc"), TaskQueue("gpu", "abc"); a == b || !strings.Contains(a, "abc") {
		t.Errorf("queues %q %q", a, b)
	}
	k1 := InputsKey("dsbuild-build-1")
	if k1 == InputsKey("dsbuild-build-2") {
		t.Error("two builds share an inputs key")
	}
}

type fakeKind struct{ v int }

func (fakeKind) Name() string           { return "fake" }
func (k fakeKind) Version() int         { return k.v }
func (fakeKind) Schema() *engine.Schema { return &engine.Schema{} }
func (fakeKind) Run(context.Context, *engine.RunContext) (map[string]cache.Digest, error) {
	return nil, nil
}

// A kind's version is in the fingerprint; a worker refuses a step of
// another fingerprint, before it touches anything, with an error that
// Temporal does not retry and that says why.
func TestWorkerRefusesOtherVersions(t *testing.T) {
	v1, v2 := engine.NewKinds(fakeKind{1}), engine.NewKinds(fakeKind{2})
	if Fingerprint(v1) == Fingerprint(v2) {
		t.Fatal("two kind versions share a fingerprint")
	}
	if Fingerprint(v1) != Fingerprint(engine.NewKinds(fakeKind{1})) {
		t.Fatal("the fingerprint is not a function of the kinds")
	}
	w := &Worker{Kinds: v2, Name: "w-old"}
	_, err := w.RunStep(context.Background(), StepTask{Addr: "fake.x", Fingerprint: Fingerprint(v1)})
	var app *tsdk.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrVersion || !app.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, ErrVersion)
	}
	if !strings.Contains(err.Error(), "worker w-old refuses fake.x: its step kinds or platform") {
		t.Errorf("message: %v", err)
	}
}
