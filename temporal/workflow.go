package temporal

import (
	"errors"
	"time"

	tsdk "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// BuildWorkflow walks the DAG of spec: every step whose dependencies are
// done is scheduled as an activity on its queue, and when it completes
// the steps that waited for it become ready. A step that fails (or
// waits for a review) skips the steps below it; the others go on, as with
// --keep-going. The outcome lists every step in the spec's order; the
// progress query returns it while the build runs.
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
	var skip func(i int, why string)
	skip = func(i int, why string) {
		for _, k := range dependents[i] {
			if out.Steps[k].Status == StatusPending {
				out.Steps[k].Status, out.Steps[k].Error = StatusSkipped, why
				skip(k, why)
			}
		}
	}
	var schedule func(i int)
	schedule = func(i int) {
		s := spec.Steps[i]
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue:  TaskQueue(s.Queue, spec.Fingerprint),
			ActivityID: s.Addr, // progress finds a running step's heartbeats by it
			// A step may wait for a worker of its queue for as long as
			// it takes (a GPU worker that is not up yet).
			ScheduleToStartTimeout: 0,
			StartToCloseTimeout:    30 * 24 * time.Hour,
			HeartbeatTimeout:       heartbeat,
			RetryPolicy: &tsdk.RetryPolicy{
				InitialInterval:        time.Second,
				BackoffCoefficient:     2,
				MaximumInterval:        time.Minute,
				NonRetryableErrorTypes: []string{ErrStepFailed, ErrVersion},
			},
		})
		task := StepTask{Build: spec.ID, Fingerprint: spec.Fingerprint, InputsKey: spec.InputsKey, Vars: spec.Vars, Addr: s.Addr, Jobs: spec.Jobs}
		out.Steps[i].Status = StatusRunning
		running++
		sel.AddFuture(workflow.ExecuteActivity(actx, ActivityName, task), func(f workflow.Future) {
			running--
			var res StepOutcome
			if err := f.Get(ctx, &res); err != nil {
				out.Steps[i].Status, out.Steps[i].Error = StatusFailed, activityMessage(err)
				skip(i, s.Addr+" failed")
				return
			}
			res.Addr = s.Addr
			out.Steps[i] = res
			if res.Status == StatusWaiting {
				skip(i, s.Addr+" waits for input")
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
	for i := range spec.Steps {
		if waiting[i] == 0 {
			schedule(i)
		}
	}
	for running > 0 {
		sel.Select(ctx)
	}
	return out, nil
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
