package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// EnvAddress names the Temporal frontend when --temporal does not.
const EnvAddress = "DSBUILD_TEMPORAL"

// Dial connects to the Temporal frontend at addr (host:port), namespace
// "default". The SDK's own log goes to logf at warning level and above.
func Dial(ctx context.Context, addr string, logf func(string, ...any)) (client.Client, error) {
	if addr == "" {
		return nil, fmt.Errorf("no Temporal server: name one with --temporal HOST:PORT or %s", EnvAddress)
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  addr,
		Namespace: "default",
		Logger:    tlog.NewStructuredLogger(slog.New(&logfHandler{logf: logf})),
	})
	if err != nil {
		return nil, fmt.Errorf("Temporal server %s: %w", addr, err)
	}
	return c, nil
}

// Serve runs w as a worker until ctx ends: it polls the build workflows'
// queue and, for each of queues, its steps' queue (for w's fingerprint),
// running up to slots steps at once.
func Serve(ctx context.Context, c client.Client, w *Worker, queues []string, slots int) error {
	fp := w.fingerprint()
	var ws []worker.Worker
	wf := worker.New(c, WorkflowQueue(fp), worker.Options{Identity: w.Name})
	wf.RegisterWorkflowWithOptions(BuildWorkflow, workflow.RegisterOptions{Name: WorkflowName})
	wf.RegisterWorkflowWithOptions(ShardsWorkflow, workflow.RegisterOptions{Name: ShardsWorkflowName})
	ws = append(ws, wf)
	for _, q := range queues {
		aw := worker.New(c, TaskQueue(q, fp), worker.Options{
			Identity:                           w.Name,
			MaxConcurrentActivityExecutionSize: max(slots, 1),
			// A killed step's context ends at once; a stopping worker
			// gives running steps a moment, then Temporal retries them.
			WorkerStopTimeout: 5 * time.Second,
		})
		aw.RegisterActivityWithOptions(w.RunStep, activity.RegisterOptions{Name: ActivityName})
		aw.RegisterActivityWithOptions(w.RunShard, activity.RegisterOptions{Name: ShardActivity})
		ws = append(ws, aw)
	}
	for i, x := range ws {
		if err := x.Start(); err != nil {
			for _, y := range ws[:i] {
				y.Stop()
			}
			return fmt.Errorf("worker %s: %w", w.Name, err)
		}
	}
	<-ctx.Done()
	for _, x := range ws {
		x.Stop()
	}
	return nil
}

// Start starts the build workflow of spec, or attaches to the one running
// with its id (another client submitted the same build). A finished
// workflow of that id is started again: its steps are cached by then.
func Start(ctx context.Context, c client.Client, spec BuildSpec) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       spec.ID,
		TaskQueue:                WorkflowQueue(spec.Fingerprint),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, WorkflowName, spec)
	if err != nil {
		return nil, fmt.Errorf("starting build %s: %w", spec.ID, err)
	}
	return run, nil
}

// Progress is a snapshot of a running build: every step's outcome so far,
// and the heartbeats of the running ones by address.
type Progress struct {
	Outcome    BuildOutcome
	Heartbeats map[string]Heartbeat
	Attempts   map[string]int32
	Workers    map[string]string
}

// Snapshot asks the workflow id for its progress.
func Snapshot(ctx context.Context, c client.Client, id string) (Progress, error) {
	p := Progress{Heartbeats: map[string]Heartbeat{}, Attempts: map[string]int32{}, Workers: map[string]string{}}
	v, err := c.QueryWorkflow(ctx, id, "", QueryProgress)
	if err != nil {
		return p, err
	}
	if err := v.Get(&p.Outcome); err != nil {
		return p, err
	}
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return p, err
	}
	pending := desc.GetPendingActivities()
	// A split step's shards run in a child workflow: their activities are
	// pending there.
	for _, ch := range desc.GetPendingChildren() {
		if cd, err := c.DescribeWorkflowExecution(ctx, ch.GetWorkflowId(), ch.GetRunId()); err == nil {
			pending = append(pending, cd.GetPendingActivities()...)
		}
	}
	dc := converter.GetDefaultDataConverter()
	for _, a := range pending {
		// A shard's activity is "ADDR#K": its progress adds to its step's.
		id, _, shard := strings.Cut(a.GetActivityId(), "#")
		var hb Heartbeat
		if d := a.GetHeartbeatDetails(); d != nil && len(d.GetPayloads()) > 0 {
			if err := dc.FromPayloads(d, &hb); err == nil {
				sum := p.Heartbeats[id]
				sum.Done, sum.Total = sum.Done+hb.Done, sum.Total+hb.Total
				if sum.Status == "" || !shard {
					sum.Status = hb.Status
				}
				p.Heartbeats[id] = sum
			}
		}
		p.Attempts[id] = max(p.Attempts[id], a.GetAttempt())
		if w := a.GetLastWorkerIdentity(); w != "" {
			if prev := p.Workers[id]; prev != "" && prev != w && shard {
				w = prev + ", " + w
			}
			p.Workers[id] = w
		}
	}
	return p, nil
}

// ErrQuiet is what Watch returns when stop said to stop watching a build
// that goes on (one waiting for reviews).
var ErrQuiet = errors.New("the build waits")

// Watch calls show with the build's progress every interval until the
// workflow ends, then returns its outcome; when show returns true, Watch
// returns at once with the last progress's outcome and ErrQuiet.
func Watch(ctx context.Context, c client.Client, run client.WorkflowRun, interval time.Duration, show func(Progress) bool) (BuildOutcome, error) {
	type result struct {
		out BuildOutcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		var out BuildOutcome
		err := run.Get(ctx, &out)
		done <- result{out, err}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case r := <-done:
			return r.out, r.err
		case <-ctx.Done():
			return BuildOutcome{}, ctx.Err()
		case <-t.C:
			if p, err := Snapshot(ctx, c, run.GetID()); err == nil && show(p) {
				return p.Outcome, ErrQuiet
			}
		}
	}
}

// ErrNotFound is returned (wrapped) by Attach for an unknown build id.
var ErrNotFound = errors.New("no such build")

// Attach returns the latest run of the build id.
func Attach(ctx context.Context, c client.Client, id string) (client.WorkflowRun, error) {
	if _, err := c.DescribeWorkflowExecution(ctx, id, ""); err != nil {
		return nil, fmt.Errorf("build %s: %w (%v)", id, ErrNotFound, err)
	}
	return c.GetWorkflow(ctx, id, ""), nil
}

// logfHandler sends the SDK's warnings and errors to logf.
type logfHandler struct {
	logf  func(string, ...any)
	attrs []slog.Attr
}

func (h *logfHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.logf != nil && l >= slog.LevelWarn
}
func (h *logfHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "Error" || a.Key == "error" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	h.logf("temporal: %s", msg)
	return nil
}
func (h *logfHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logfHandler{logf: h.logf, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}
func (h *logfHandler) WithGroup(string) slog.Handler { return h }

// SubmitReview sends a review step's results to the build id: the build,
// if it waits for them, goes on by itself. Each digest must be on the
// remote under SourceKey.
func SubmitReview(ctx context.Context, c client.Client, id string, sig ReviewSignal) error {
	if err := c.SignalWorkflow(ctx, id, "", SignalReview, sig); err != nil {
		return fmt.Errorf("build %s: sending %s's results: %w", id, sig.Addr, err)
	}
	return nil
}
