package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// countKind writes its value parameter into a one-file tree, like gen, but
// first calls the test's hook for that value (to hold a step until the test
// has seen what it waits for). "fail" as value makes it fail.
type countKind struct {
	runs *runs
	hook func(ctx context.Context, addr, value string) error
}

func (countKind) Name() string { return "count" }
func (countKind) Version() int { return 1 }
func (countKind) Schema() *engine.Schema {
	return &engine.Schema{
		Attrs:   []engine.AttrSpec{{Name: "value", Type: cty.String, Required: true}},
		Outputs: []string{"out"},
	}
}
func (k countKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	v := rc.Config.String("value")
	k.runs.add(rc.Step.Addr)
	if k.hook != nil {
		if err := k.hook(ctx, rc.Step.Addr, v); err != nil {
			return nil, err
		}
	}
	if v == "fail" {
		return nil, errors.New("asked to fail")
	}
	return fileTree(rc.Store, v)
}

// signal is closed once, by whichever event comes first.
type signal struct {
	once sync.Once
	ch   chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }
func (s *signal) fire()  { s.once.Do(func() { close(s.ch) }) }
func (s *signal) wait(ctx context.Context, what string) error {
	select {
	case <-s.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		return errors.New("timed out waiting for " + what)
	}
}

// statusReporter records the StepStatus events, and calls on for each.
type statusReporter struct {
	mu     sync.Mutex
	events []string // "addr: message"
	fields map[string]map[string]any
	on     func(addr string, fields map[string]any)
}

func (r *statusReporter) StepStarted(*engine.Step)                {}
func (r *statusReporter) StepProgress(*engine.Step, int64, int64) {}
func (r *statusReporter) StepFinished(*engine.StepResult)         {}
func (r *statusReporter) Warn(string)                             {}
func (r *statusReporter) StepStatus(s *engine.Step, msg string, fields map[string]any) {
	r.mu.Lock()
	r.events = append(r.events, s.Addr+": "+msg)
	if r.fields == nil {
		r.fields = map[string]map[string]any{}
	}
	r.fields[s.Addr] = fields
	r.mu.Unlock()
	if r.on != nil {
		r.on(s.Addr, fields)
	}
}

const twins = `
count "a" {
  value = "%s"
}
count "b" {
  value = "%s"
}
`

// twinsFixture builds count.a and count.b, which have the same key, with
// -j 2, holding the first one to run until the other has reported that
// it waits (or, before single-flight, until it runs too). It returns the
// step that ran and the one that waited for it.
func twinsFixture(t *testing.T, value string) (f *fixture, r *engine.Recipe, br *engine.BuildResult, rep *statusReporter) {
	t.Helper()
	f = newFixture(t, strings.ReplaceAll(twins, "%s", value))
	other := newSignal()
	rep = &statusReporter{on: func(string, map[string]any) { other.fire() }}
	var mu sync.Mutex
	ran := 0
	f.kinds = engine.NewKinds(countKind{runs: f.runs, hook: func(ctx context.Context, addr, v string) error {
		mu.Lock()
		ran++
		if ran == 2 {
			other.fire() // the twin runs too
		}
		mu.Unlock()
		return other.wait(ctx, "the step with the same key to start")
	}})
	r, br = f.build(engine.BuildOptions{Jobs: 2, Reporter: rep})
	return f, r, br, rep
}

// whoRan returns the twin whose Run was called and the other one.
func whoRan(t *testing.T, f *fixture) (owner, follower string) {
	t.Helper()
	a, b := f.runs.get("count.a"), f.runs.get("count.b")
	if a+b != 1 {
		t.Fatalf("count.a ran %d times and count.b %d times: steps with the same key must run once in a build", a, b)
	}
	if a == 1 {
		return "count.a", "count.b"
	}
	return "count.b", "count.a"
}

func TestSameKeyRunsOnce(t *testing.T) {
	f, r, br, rep := twinsFixture(t, "x")
	owner, follower := whoRan(t, f)
	o, w := status(t, r, br, owner), status(t, r, br, follower)
	if o.Status != engine.Ran {
		t.Fatalf("%s: %s (%v), want ran", owner, o.Status, o.Err)
	}
	if w.Status != engine.Cached || w.Err != nil {
		t.Fatalf("%s: %s (%v), want cached", follower, w.Status, w.Err)
	}
	if want := "same key as " + owner + ", which ran in this build"; w.Reason != want {
		t.Errorf("%s: reason %q, want %q", follower, w.Reason, want)
	}
	if w.Key != o.Key || w.Outputs["out"] != o.Outputs["out"] || len(w.Outputs) != 1 {
		t.Errorf("%s: key %s outputs %v, want %s's: %s %v", follower, w.Key.Short(), w.Outputs, owner, o.Key.Short(), o.Outputs)
	}
	if got := readTree(t, f.store, w.Outputs["out"]); got != "x" {
		t.Errorf("%s's output = %q, want %q", follower, got, "x")
	}
	rep.mu.Lock()
	events, fields := rep.events, rep.fields[follower]
	rep.mu.Unlock()
	wantEv := follower + ": waiting for " + owner + ", which has the same key"
	if len(events) != 1 || events[0] != wantEv {
		t.Errorf("status events %q, want [%q]", events, wantEv)
	}
	if fields["waiting_for"] != owner || fields["key"] != o.Key.String() {
		t.Errorf("status fields %v, want waiting_for %s and key %s", fields, owner, o.Key)
	}
	// The lockfile records both steps, with the same key and outputs.
	lock, err := engine.ReadLockfile(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	la, lb := lock.Steps["count.a"], lock.Steps["count.b"]
	if la == nil || lb == nil || la.Key != lb.Key || la.Outputs["out"] != lb.Outputs["out"] || la.Key != o.Key {
		t.Errorf("lockfile entries %+v and %+v, want both with key %s and the same outputs", la, lb, o.Key.Short())
	}
}

func TestSameKeyOwnerFails(t *testing.T) {
	f, r, br, _ := twinsFixture(t, "fail")
	owner, follower := whoRan(t, f)
	o, w := status(t, r, br, owner), status(t, r, br, follower)
	if o.Status != engine.Failed || !strings.Contains(o.Err.Error(), "asked to fail") {
		t.Fatalf("%s: %s (%v), want failed: asked to fail", owner, o.Status, o.Err)
	}
	if w.Status != engine.Failed {
		t.Fatalf("%s: %s, want failed", follower, w.Status)
	}
	msg := w.Err.Error()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(follower) + ` \(\S*main\.hcl:\d+\): same key as ` + regexp.QuoteMeta(owner) +
		` \(\S*main\.hcl:\d+\), which failed in this build: asked to fail$`)
	if !re.MatchString(msg) {
		t.Errorf("%s's error = %q, want it to name itself, %s and its failure", follower, msg, owner)
	}
	var se *engine.StepError
	if !errors.As(w.Err, &se) || se.Step.Addr != follower {
		t.Errorf("%s's error is not a StepError of its own: %#v", follower, w.Err)
	}
	if br.Counts[engine.Failed] != 2 {
		t.Errorf("counts %v, want 2 failed", br.Counts)
	}
}

// With -j 1 the second twin starts after the first has finished: it takes
// the first one's result, with the same reason as when it waited.
func TestSameKeyOneJob(t *testing.T) {
	f := newFixture(t, strings.ReplaceAll(twins, "%s", "x"))
	f.kinds = engine.NewKinds(countKind{runs: f.runs})
	rep := &statusReporter{}
	r, br := f.build(engine.BuildOptions{Jobs: 1, Reporter: rep})
	if n := f.runs.get("count.a") + f.runs.get("count.b"); n != 1 || f.runs.get("count.a") != 1 {
		t.Fatalf("count.a ran %d times, count.b %d times; want count.a once", f.runs.get("count.a"), f.runs.get("count.b"))
	}
	a, b := status(t, r, br, "count.a"), status(t, r, br, "count.b")
	if a.Status != engine.Ran || b.Status != engine.Cached {
		t.Fatalf("count.a %s, count.b %s; want ran, cached", a.Status, b.Status)
	}
	if want := "same key as count.a, which ran in this build"; b.Reason != want {
		t.Errorf("count.b: reason %q, want %q", b.Reason, want)
	}
	if b.Outputs["out"] != a.Outputs["out"] {
		t.Errorf("count.b outputs %v, want count.a's %v", b.Outputs, a.Outputs)
	}
	if len(rep.events) != 0 {
		t.Errorf("status events %q: nothing waited with -j 1", rep.events)
	}
	// A second build finds both in the cache, on their own.
	r, br = f.build(engine.BuildOptions{Jobs: 1})
	for _, addr := range []string{"count.a", "count.b"} {
		if res := status(t, r, br, addr); res.Status != engine.Cached || res.Reason != "" {
			t.Errorf("second build: %s %s (%q), want cached", addr, res.Status, res.Reason)
		}
	}
}

// A step that waits for its twin gives its worker slot back: with -j 2,
// an independent step runs while the twin runs (the twin holds until it
// has).
func TestSameKeyWaiterFreesItsSlot(t *testing.T) {
	f := newFixture(t, strings.ReplaceAll(twins, "%s", "x")+`
count "c" {
  value = "y"
}
`)
	cRan := newSignal()
	f.kinds = engine.NewKinds(countKind{runs: f.runs, hook: func(ctx context.Context, addr, v string) error {
		if v == "y" {
			cRan.fire()
			return nil
		}
		return cRan.wait(ctx, "count.c to run")
	}})
	r, br := f.build(engine.BuildOptions{Jobs: 2})
	for _, addr := range []string{"count.a", "count.b", "count.c"} {
		if res := status(t, r, br, addr); res.Status != engine.Ran && res.Status != engine.Cached {
			t.Errorf("%s: %s (%v), want ran or cached", addr, res.Status, res.Err)
		}
	}
	whoRan(t, f)
	if br.Counts[engine.Ran] != 2 || br.Counts[engine.Cached] != 1 {
		t.Errorf("counts %v, want 2 ran, 1 cached", br.Counts)
	}
}

// Cancelling the build releases a step that waits for its twin.
func TestSameKeyWaiterCancelled(t *testing.T) {
	f := newFixture(t, strings.ReplaceAll(twins, "%s", "x"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := &statusReporter{on: func(string, map[string]any) { cancel() }}
	f.kinds = engine.NewKinds(countKind{runs: f.runs, hook: func(ctx context.Context, addr, v string) error {
		<-ctx.Done() // the owner runs until the build is cancelled
		return ctx.Err()
	}})
	r, diags := engine.Load(f.dir, engine.LoadOptions{Kinds: f.kinds})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	doneCh := make(chan *engine.BuildResult)
	go func() {
		br, err := engine.Build(ctx, r, engine.BuildOptions{Store: f.store, Jobs: 2, Reporter: rep})
		if err != nil {
			t.Error(err)
		}
		doneCh <- br
	}()
	var br *engine.BuildResult
	select {
	case br = <-doneCh:
	case <-time.After(10 * time.Second):
		t.Fatal("the build did not end after it was cancelled")
	}
	owner, follower := whoRan(t, f)
	w := status(t, r, br, follower)
	// Woken by the cancellation or by the owner's cancelled run: either way
	// it fails with the cancellation and names the owner.
	if w.Status != engine.Failed || !errors.Is(w.Err, context.Canceled) || !strings.Contains(w.Err.Error(), owner) {
		t.Errorf("%s: %s (%v), want failed: cancelled while waiting for %s", follower, w.Status, w.Err, owner)
	}
}

// finishHook calls on as each step finishes.
type finishHook struct {
	statusReporter
	on func(r *engine.StepResult)
}

func (h *finishHook) StepFinished(r *engine.StepResult) { h.on(r) }

// The follower takes the owner's result only as a checked cache hit: when
// the owner's output is gone from the store by the time the follower
// starts, the follower runs itself (and restores it).
func TestSameKeyIncompleteOwnerOutputRunsAgain(t *testing.T) {
	f := newFixture(t, strings.ReplaceAll(twins, "%s", "x"))
	f.kinds = engine.NewKinds(countKind{runs: f.runs})
	blob := cache.Sum([]byte("x")).Hex()
	rep := &finishHook{on: func(r *engine.StepResult) {
		if r.Step.Addr != "count.a" {
			return
		}
		for _, p := range []string{blob, blob + ".zst"} {
			os.Remove(filepath.Join(f.store.Dir(), "blobs", blob[:2], p))
		}
	}}
	r, br := f.build(engine.BuildOptions{Jobs: 1, Reporter: rep})
	if f.runs.get("count.a") != 1 || f.runs.get("count.b") != 1 {
		t.Fatalf("count.a ran %d times, count.b %d times; want once each", f.runs.get("count.a"), f.runs.get("count.b"))
	}
	b := status(t, r, br, "count.b")
	if b.Status != engine.Ran {
		t.Fatalf("count.b: %s (%q, %v), want ran", b.Status, b.Reason, b.Err)
	}
	if got := readTree(t, f.store, b.Outputs["out"]); got != "x" {
		t.Errorf("count.b's output = %q, want %q", got, "x")
	}
}
