package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// load loads the fixture's recipe as a separate process would.
func (f *fixture) load(opt engine.LoadOptions) *engine.Recipe {
	f.t.Helper()
	opt.Kinds = f.kinds
	r, diags := engine.Load(f.dir, opt)
	if diags.HasErrors() {
		f.t.Fatalf("Load: %v", diags)
	}
	return r
}

// record builds targets of r as dsbuild build does: the results are
// recorded (lockfile merged, registered, build record) before Build lets
// go of the store.
func (f *fixture) record(r *engine.Recipe, opt engine.BuildOptions, targets ...string) *engine.BuildResult {
	f.t.Helper()
	if opt.Store == nil {
		opt.Store = f.store
	}
	for _, a := range targets {
		opt.Targets = append(opt.Targets, r.Step(a))
	}
	store := opt.Store
	if opt.Record == nil {
		opt.Record = func(br *engine.BuildResult) error { return engine.RecordBuild(store, r, br) }
	}
	br, err := engine.Build(context.Background(), r, opt)
	if err != nil {
		f.t.Errorf("Build: %v", err)
	}
	return br
}

// lockfileRoots reads a registered lockfile for gc, as dsbuild gc does.
func lockfileRoots(p string) ([]cache.Digest, []cache.ActionKey, error) {
	lf, err := engine.ReadLockfile(filepath.Dir(p))
	if err != nil {
		return nil, nil, err
	}
	roots, actions := lf.Roots()
	return roots, actions, nil
}

// gcKind is gen whose Run starts a gc of the store (which must wait for
// the build) and gives it time to block on the store's lock.
type gcKind struct {
	genKind
	gcDone chan error
}

func (gcKind) Name() string { return "gcgen" }
func (k gcKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	go func() {
		_, err := rc.Store.GC(context.Background(), cache.GCOptions{KeepBuilds: 0, LockfileRoots: lockfileRoots})
		k.gcDone <- err
	}()
	time.Sleep(100 * time.Millisecond)
	return k.genKind.Run(ctx, rc)
}

// Issue 11, item 5: a gc started during a build waits for it and then finds
// its results among its roots, even when the build is slow to record them.
// Before, gc read the lockfiles before taking the lock and a build recorded
// its results after releasing it: the outputs were collected, the build
// exited 0 and checkout failed.
func TestGCDuringBuildKeepsResults(t *testing.T) {
	t.Parallel() // it waits
	f := newFixture(t, `
gcgen "a" {
  value = "kept"
}
lower "b" {
  from = gcgen.a
}
`)
	gcDone := make(chan error, 1)
	f.kinds = engine.NewKinds(gcKind{genKind{f.runs}, gcDone}, lowerKind{runs: f.runs})
	r := f.load(engine.LoadOptions{})
	br := f.record(r, engine.BuildOptions{Record: func(br *engine.BuildResult) error {
		// A slow record: a gc that could run now would collect everything
		// (no build records are kept, the lockfile does not exist yet).
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-gcDone:
			t.Errorf("gc finished (%v) before the build recorded its results", err)
		default:
		}
		return engine.RecordBuild(f.store, r, br)
	}})
	if br.Counts[engine.Ran] != 2 {
		t.Fatalf("build: %v, want 2 ran", br.Counts)
	}
	select {
	case err := <-gcDone:
		if err != nil {
			t.Fatalf("gc: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gc still blocked 10 s after the build")
	}
	lf, err := engine.ReadLockfile(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"gcgen.a", "lower.b"} {
		e, ok := lf.Steps[addr]
		if !ok {
			t.Fatalf("%s is not in the lockfile", addr)
		}
		if err := f.store.TreeComplete(e.Outputs["out"]); err != nil {
			t.Errorf("%s's output after a concurrent gc: %v, want it kept", addr, err)
		}
		if _, err := f.store.GetAction(cache.ActionKey(e.Key)); err != nil {
			t.Errorf("%s's action entry after a concurrent gc: %v, want it kept", addr, err)
		}
	}
	if got := readTree(t, f.store, lf.Steps["lower.b"].Outputs["out"]); got != "kept" {
		t.Errorf("lower.b = %q, want kept", got)
	}
}

// A failing Record fails Build, with the result.
func TestBuildRecordError(t *testing.T) {
	f := newFixture(t, `gen "a" {
  value = "x"
}`)
	r := f.load(engine.LoadOptions{})
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: f.store,
		Record: func(*engine.BuildResult) error { return errors.New("disk full") }})
	if err == nil || !strings.Contains(err.Error(), "recording the build: disk full") || br == nil || br.Counts[engine.Ran] != 1 {
		t.Errorf("Build with a failing Record = %v, %v; want the result and the error", br, err)
	}
	// A plan records nothing.
	_, err = engine.Build(context.Background(), r, engine.BuildOptions{Store: f.store, DryRun: true,
		Record: func(*engine.BuildResult) error { return errors.New("called") }})
	if err != nil {
		t.Errorf("a DryRun called Record: %v", err)
	}
}

// Issue 11, item 6: builds of different targets of one recipe at the same
// time all end up in the lockfile. Every build is inside its step when the
// others start (a barrier), so each read the lockfile before any wrote it:
// before, the last writer won and the other entries were lost.
func TestConcurrentBuildsMergeLockfile(t *testing.T) {
	const n = 4
	var hcl strings.Builder
	for i := range n {
		fmt.Fprintf(&hcl, "gen \"g%d\" {\n  value = \"v%d\"\n}\nlower \"l%d\" {\n  from = gen.g%d\n}\n", i, i, i, i)
	}
	f := newFixture(t, hcl.String())
	f.kinds = engine.NewKinds(genKind{f.runs}, lowerKind{runs: f.runs, barrier: newBarrier(n)})
	var wg sync.WaitGroup
	for i := range n {
		// Each build has its own Recipe and Store, as separate processes do.
		r := f.load(engine.LoadOptions{})
		store, err := cache.Open(f.store.Dir(), t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := f.record(r, engine.BuildOptions{Store: store}, fmt.Sprintf("lower.l%d", i))
			if br != nil && br.Counts[engine.Ran] != 2 {
				t.Errorf("build of lower.l%d: %v, want 2 ran", i, br.Counts)
			}
		}()
	}
	wg.Wait()
	lf, err := engine.ReadLockfile(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(lf.Steps) != 2*n {
		var got []string
		for a := range lf.Steps {
			got = append(got, a)
		}
		t.Errorf("lockfile after %d concurrent builds has %d entries %v, want %d", n, len(lf.Steps), got, 2*n)
	}
	// The lock file beside it was made by dsbuild and stays; no temporary
	// file is left.
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".dsbuild.lock.lock dsbuild.lock main.hcl" {
		t.Errorf("recipe directory holds %v, want the lock file, the lockfile and main.hcl", names)
	}
}

// A symlink where the lockfile or its lock file goes is refused, not
// followed or replaced.
func TestLockfileRefusesSymlinks(t *testing.T) {
	for _, name := range []string{engine.LockfileName, engine.LockfileLockName} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, `gen "a" {
  value = "x"
}`)
			target := filepath.Join(t.TempDir(), "target")
			if err := os.WriteFile(target, []byte("user data\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(f.dir, name)); err != nil {
				t.Fatal(err)
			}
			r := f.load(engine.LoadOptions{})
			_, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: f.store,
				Record: func(br *engine.BuildResult) error { return engine.RecordBuild(f.store, r, br) }})
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("build with a symlink at %s = %v, want an error naming it", name, err)
			}
			if b, _ := os.ReadFile(target); string(b) != "user data\n" {
				t.Errorf("the symlink's target now holds %q", b)
			}
			if fi, err := os.Lstat(filepath.Join(f.dir, name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the symlink at %s was replaced", name)
			}
		})
	}
}

const varRecipe = `
variable "v" {
  default = "Hello"
}
variable "n" {
  type    = number
  default = 1
}
gen "a" {
  value = "${var.v}-${var.n}"
}
lower "b" {
  from = gen.a
}
`

// Issue 11, item 7: the lockfile records the values -var gave the build;
// loading with them recorded gives the keys that were built, and -var
// still overrides them.
func TestLockfileRecordsVars(t *testing.T) {
	f := newFixture(t, varRecipe)
	r := f.load(engine.LoadOptions{Vars: []string{"v=World", "n=2"}})
	f.record(r, engine.BuildOptions{})
	data, err := os.ReadFile(filepath.Join(f.dir, engine.LockfileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\"vars\": {\n    \"n\": 2,\n    \"v\": \"World\"\n  },") {
		t.Errorf("lockfile does not record the variables:\n%s", data)
	}
	lf, err := engine.ReadLockfile(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := lf.VarValues()
	if err != nil {
		t.Fatal(err)
	}
	r2 := f.load(engine.LoadOptions{Recorded: rec})
	if strings.Join(r2.RecordedVars, ",") != "n,v" {
		t.Errorf("RecordedVars = %v, want [n v]", r2.RecordedVars)
	}
	outs, err := engine.ResolveLocked(context.Background(), r2, lf, f.store, r2.Step("lower.b"), "rec")
	if err != nil {
		t.Fatalf("ResolveLocked with the recorded values: %v", err)
	}
	if got := readTree(t, f.store, outs["out"]); got != "world-2" {
		t.Errorf("lower.b = %q, want world-2", got)
	}
	// -var overrides a recorded value; the other stays recorded.
	r3 := f.load(engine.LoadOptions{Recorded: rec, Vars: []string{"v=Hello"}})
	if strings.Join(r3.RecordedVars, ",") != "n" || !r3.Vars["v"].RawEquals(cty.StringVal("Hello")) {
		t.Errorf("with -var v=Hello: RecordedVars %v, v = %#v", r3.RecordedVars, r3.Vars["v"])
	}
	// Without them the recipe state is another one: stale.
	r4 := f.load(engine.LoadOptions{})
	_, err = engine.ResolveLocked(context.Background(), r4, lf, f.store, r4.Step("gen.a"), "rec")
	var se *engine.StaleError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `stale: the lockfile's entry for gen.a was built from another recipe state (param value changed: "World-2" → "Hello-1")`) {
		t.Errorf("ResolveLocked with the defaults = %v, want stale", err)
	}
	// A plain build records no variables, and the lockfile has no vars.
	f.record(r4, engine.BuildOptions{})
	data, _ = os.ReadFile(filepath.Join(f.dir, engine.LockfileName))
	if strings.Contains(string(data), `"vars"`) {
		t.Errorf("a build without -var left vars in the lockfile:\n%s", data)
	}
	// A recorded value the recipe cannot take now is ignored, with a
	// warning, not an error.
	_, diags := engine.Load(f.dir, engine.LoadOptions{Kinds: f.kinds, Recorded: map[string]cty.Value{"n": cty.StringVal("many"), "gone": cty.True}})
	if diags.HasErrors() || len(diags) != 1 || !strings.Contains(diags[0].Detail, `"n" recorded in dsbuild.lock is not a number`) {
		t.Errorf("Load with a recorded value of the wrong type: %v, want one warning", diags)
	}
}

// Issue 11, item 7: ResolveLocked checks the lockfile's entry against the
// recipe and the store and never returns what a stale or edited entry
// names.
func TestResolveLocked(t *testing.T) {
	f := newFixture(t, chain)
	r := f.load(engine.LoadOptions{})
	f.record(r, engine.BuildOptions{})
	lf, err := engine.ReadLockfile(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(lf *engine.Lockfile, addr string) (map[string]cache.Digest, error) {
		r := f.load(engine.LoadOptions{})
		return engine.ResolveLocked(context.Background(), r, lf, f.store, r.Step(addr), "rec")
	}
	outs, err := resolve(lf, "lower.final")
	if err != nil || outs["out"] != lf.Steps["lower.final"].Outputs["out"] {
		t.Fatalf("ResolveLocked of a fresh entry = %v, %v", outs, err)
	}

	// An entry edited to name another step's output.
	edited, _ := engine.ReadLockfile(f.dir)
	edited.Steps["gen.a"].Outputs["out"] = lf.Steps["gen.b"].Outputs["out"]
	if _, err := resolve(edited, "gen.a"); err == nil || !strings.Contains(err.Error(), "names output out "+lf.Steps["gen.b"].Outputs["out"].Short()+", but the store records") {
		t.Errorf("ResolveLocked of an edited output = %v, want an error", err)
	}
	// An entry copied from another step: another key.
	edited, _ = engine.ReadLockfile(f.dir)
	edited.Steps["gen.a"] = edited.Steps["gen.b"]
	var se *engine.StaleError
	if _, err := resolve(edited, "gen.a"); !errors.As(err, &se) {
		t.Errorf("ResolveLocked of another step's entry = %v, want a StaleError", err)
	}
	// Not in the lockfile.
	delete(edited.Steps, "gen.a")
	if _, err := resolve(edited, "gen.a"); err == nil || !strings.Contains(err.Error(), "gen.a is not in dsbuild.lock: build it first") {
		t.Errorf("ResolveLocked of a missing entry = %v", err)
	}

	// The recipe changed and was not built: every entry downstream is
	// stale, and says what changed.
	f.write(strings.Replace(chain, `"World"`, `"Moon"`, 1))
	_, err = resolve(lf, "lower.final")
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `stale: the lockfile's entry for lower.final was built from another recipe state (upstream gen.b: param value changed: "World" → "Moon")`) || !strings.Contains(err.Error(), "run dsbuild build rec lower.final, or name a tag or digest") {
		t.Errorf("ResolveLocked after a recipe change = %v, want stale", err)
	}
	if _, err := resolve(lf, "gen.a"); err != nil {
		t.Errorf("ResolveLocked of an unchanged step = %v", err)
	}

	// The outputs are gone from the store (a fresh store, say).
	f.write(chain)
	other, err := cache.Open(filepath.Join(t.TempDir(), "other"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	r = f.load(engine.LoadOptions{})
	if _, err := engine.ResolveLocked(context.Background(), r, lf, other, r.Step("gen.a"), "rec"); err == nil || !strings.Contains(err.Error(), "gen.a: its outputs are not in the store") {
		t.Errorf("ResolveLocked in an empty store = %v", err)
	}
	if _, err := engine.ResolveLocked(context.Background(), r, lf, other, r.Step("lower.norm"), "rec"); err == nil || !strings.Contains(err.Error(), "lower.norm cannot be checked against dsbuild.lock: an upstream step is not in the store") {
		t.Errorf("ResolveLocked in an empty store, upstream missing = %v", err)
	}
}
