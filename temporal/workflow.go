package temporal

import (
	"errors"
	"fmt"
	"time"

	tsdk "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// BuildWorkflow walks the DAG of spec: every step whose dependencies are
// done is scheduled as an activity on its queue, and when it completes
// the steps that waited for it become ready. A step that fails skips the
// steps below it; the others go on, as with --keep-going. A step that
// waits for review results (a review step without them) holds the steps
// below it, and the workflow waits, as long as it takes, for a
// SignalReview that brings them; then the step runs again with them and
// the build goes on by itself. The outcome lists every step in the
// spec's order; the progress query returns it while the build runs.
//
// It is deterministic, as Temporal requires: it iterates slices in order,
// takes no clock and no randomness, and reacts to completions through a
// selector.
func BuildWorkflow(ctx workflow.Context, spec BuildSpec) (BuildOutcome, error) {
	n := len(spec.Steps)
	out := BuildOutcome{Steps: make([]StepOutcome, n)}
	index := make(map[string]int, n)
	for i, s := range spec.Steps {
		index[s.Addr] = i
		out.Steps[i] = StepOutcome{Addr: s.Addr, Status: StatusPending}
	}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (BuildOutcome, error) { return out, nil }); err != nil {
		return out, err
	}
	waiting := make([]int, n)      // dependencies not yet done
	dependents := make([][]int, n) // steps that read step i
	for i, s := range spec.Steps {
		for _, d := range s.Deps {
			j, ok := index[d]
			if !ok {
				return out, tsdk.NewNonRetryableApplicationError("step "+s.Addr+" depends on "+d+", which the build does not have", "BadSpec", nil)
			}
			waiting[i]++
			dependents[j] = append(dependents[j], i)
		}
	}
	heartbeat := spec.Heartbeat.D()
	if heartbeat <= 0 {
		heartbeat = 30 * time.Second
	}
	sel := workflow.NewSelector(ctx)
	running := 0
	// Review results signalled so far, by step; a waiting step runs again
	// with them. again marks a running step to run once more when it ends
	// (results arrived while it ran).
	reviews := map[string]map[string]string{}
	again := make([]bool, n)
	waitingNow := 0
	var skip func(i int, why string)
	skip = func(i int, why string) {
		for _, k := range dependents[i] {
			if out.Steps[k].Status == StatusPending {
				out.Steps[k].Status, out.Steps[k].Error = StatusSkipped, why
				skip(k, why)
			}
		}
	}
	options := func(s StepSpec, id string) workflow.Context {
		return workflow.WithActivityOptions(ctx, stepActivity(s.Queue, spec.Fingerprint, id, heartbeat))
	}
	splits := make([]int, n) // shard runs so far, by step: the child's id
	// task is step s's task, with the review results so far.
	task := func(s StepSpec) StepTask {
		return StepTask{Build: spec.ID, Fingerprint: spec.Fingerprint, InputsKey: spec.InputsKey, Remote: spec.Remote, Vars: spec.Vars, Addr: s.Addr, Jobs: spec.Jobs,
			Reviews: copyReviews(reviews)}
	}
	var schedule func(i int)
	var runShards func(i, count int)
	var runFull func(i int, bundles []string, split int)
	// schedule starts step i: its shards first when it has them (or when
	// its first run says it is large), then (runFull) the step itself.
	schedule = func(i int) {
		s := spec.Steps[i]
		if out.Steps[i].Status == StatusWaiting {
			waitingNow--
		}
		out.Steps[i] = StepOutcome{Addr: s.Addr, Status: StatusRunning}
		if s.Shards > 1 {
			runShards(i, s.Shards)
			return
		}
		runFull(i, nil, s.ShardSize)
	}
	// runShards runs step i's shards in a child workflow (ShardsWorkflow),
	// so that a build's history grows by a few events per split step
	// however many shards it has; then the step in full with their bundles.
	runShards = func(i, count int) {
		s := spec.Steps[i]
		splits[i]++
		st := ShardsTask{Step: task(s), Count: count, Queue: s.Queue, Heartbeat: Duration(heartbeat.Seconds())}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s/%s/shards-%d", spec.ID, s.Addr, splits[i]),
			TaskQueue:  WorkflowQueue(spec.Fingerprint),
		})
		running++
		sel.AddFuture(workflow.ExecuteChildWorkflow(cctx, ShardsWorkflowName, st), func(f workflow.Future) {
			running--
			var bundles []string
			if err := f.Get(ctx, &bundles); err != nil {
				out.Steps[i].Status, out.Steps[i].Error = StatusFailed, activityMessage(err)
				skip(i, s.Addr+" failed")
				return
			}
			runFull(i, bundles, 0)
		})
	}
	runFull = func(i int, bundles []string, split int) {
		s := spec.Steps[i]
		t := task(s)
		t.Bundles, t.Split = bundles, split
		running++
		sel.AddFuture(workflow.ExecuteActivity(options(s, s.Addr), ActivityName, t), func(f workflow.Future) {
			running--
			var res StepOutcome
			if err := f.Get(ctx, &res); err != nil {
				out.Steps[i].Status, out.Steps[i].Error = StatusFailed, activityMessage(err)
				skip(i, s.Addr+" failed")
				return
			}
			if res.Status == StatusSplit {
				total := 0
				if res.Items != nil {
					total = res.Items.Total
				}
				if n := ShardCount(total, split); n > 1 {
					runShards(i, n)
				} else {
					runFull(i, nil, 0)
				}
				return
			}
			res.Addr = s.Addr
			out.Steps[i] = res
			if res.Status == StatusWaiting {
				if again[i] {
					again[i] = false
					schedule(i)
					return
				}
				// The steps below wait too, until a review signal
				// brings its results.
				waitingNow++
				return
			}
			for _, k := range dependents[i] {
				waiting[k]--
				if waiting[k] == 0 && out.Steps[k].Status == StatusPending {
					schedule(k)
				}
			}
		})
	}
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalReview), func(c workflow.ReceiveChannel, _ bool) {
		var sig ReviewSignal
		c.Receive(ctx, &sig)
		i, ok := index[sig.Addr]
		if !ok || len(sig.Results) == 0 || sameSources(reviews[sig.Addr], sig.Results) {
			return
		}
		reviews[sig.Addr] = sig.Results
		if out.Reviews == nil {
			out.Reviews = map[string]map[string]string{}
		}
		out.Reviews[sig.Addr] = sig.Results
		switch out.Steps[i].Status {
		case StatusWaiting:
			schedule(i)
		case StatusRunning:
			again[i] = true
		}
		// pending: the results go with it when it is scheduled; done:
		// the build has used other results, and keeps them.
	})
	for i := range spec.Steps {
		if waiting[i] == 0 {
			schedule(i)
		}
	}
	// A build whose only steps left wait for reviews waits for their
	// signal, for as long as the reviews take.
	for running > 0 || waitingNow > 0 {
		sel.Select(ctx)
	}
	return out, nil
}

// stepActivity is the options of a step's or a shard's activity.
func stepActivity(queue, fingerprint, id string, heartbeat time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:  TaskQueue(queue, fingerprint),
		ActivityID: id, // progress finds a running step's heartbeats by it
		// A step may wait for a worker of its queue for as long as it
		// takes (a GPU worker that is not up yet).
		ScheduleToStartTimeout: 0,
		StartToCloseTimeout:    30 * 24 * time.Hour,
		HeartbeatTimeout:       heartbeat,
		RetryPolicy: &tsdk.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{ErrStepFailed, ErrVersion},
		},
	}
}

// ShardsTask is the input of ShardsWorkflow: the step's task (without its
// shard), how many shards, and where they run.
type ShardsTask struct {
	Step      StepTask `json:"step"`
	Count     int      `json:"count"`
	Queue     string   `json:"queue"`
	Heartbeat Duration `json:"heartbeat"`
}

// ShardsWorkflow runs the Count shards of one step as activities
// (ShardActivity, activity ids "ADDR#K") and returns their memo bundles in
// shard order, leaving out shards that memoized nothing. The first shard
// that fails (after its retries) fails it, with that shard's message,
// once every shard has ended. BuildWorkflow runs it as a child workflow,
// so that the shards' events are in its history, not the build's.
func ShardsWorkflow(ctx workflow.Context, t ShardsTask) ([]string, error) {
	futures := make([]workflow.Future, t.Count)
	for k := range t.Count {
		task := t.Step
		task.Shard, task.Shards = k, t.Count
		actx := workflow.WithActivityOptions(ctx, stepActivity(t.Queue, task.Fingerprint, fmt.Sprintf("%s#%d", task.Addr, k), t.Heartbeat.D()))
		futures[k] = workflow.ExecuteActivity(actx, ShardActivity, task)
	}
	var failed error
	var bundles []string
	for _, f := range futures {
		var res ShardOutcome
		if err := f.Get(ctx, &res); err != nil {
			if failed == nil {
				failed = err
			}
			continue
		}
		if res.Bundle != "" {
			bundles = append(bundles, res.Bundle)
		}
	}
	if failed != nil {
		var app *tsdk.ApplicationError
		if errors.As(failed, &app) {
			return nil, tsdk.NewNonRetryableApplicationError(app.Message(), app.Type(), nil)
		}
		return nil, failed
	}
	return bundles, nil
}

// copyReviews copies the reviews so far into a task (a map shared with a
// scheduled activity must not change under it).
func copyReviews(m map[string]map[string]string) map[string]map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]map[string]string, len(m))
	for addr, r := range m {
		out[addr] = r
	}
	return out
}

func sameSources(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// activityMessage is the step's own error message when the activity
// failed with one (an ApplicationError), else the error as Temporal
// words it.
func activityMessage(err error) string {
	var app *tsdk.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
